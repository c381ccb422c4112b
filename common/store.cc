#include "common/store.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/feed_model.h"
#include "common/utf8.h"

namespace feedcrawl {

namespace {

// Commands per pipeline round trip: large enough to amortise latency over 100k feeds, small
// enough that neither side buffers more than a few megabytes.
constexpr size_t kBatch = 1000;

// Feeds per call of the save script: large enough to spread the fixed cost of a call (saving
// the changed fields of a 304 took 15.5 µs of server CPU per feed with one feed per call and
// 8-12 µs with 128), small enough to hold the server for no more than a millisecond or two.
constexpr size_t kSavesPerCall = 128;

// How long a staging hash (the JSON of a feed's first store, see kStoreItemsScript) outlives a
// call whose script never ran: a processor killed between the two. Far beyond any pipeline's
// delay; its only cost is the memory of such a call.
constexpr char kStagingTtlMs[] = "3600000";

// Item keys per stream entry: the blocks of 1,000 keys of kStoreItemsScript (2,000 arguments),
// and the arrays the store writes for a first store.
constexpr size_t kKeysPerStreamEntry = 1000;

// ARGV[1] prefix, ARGV[2] now (ms), ARGV[3..] URLs. Returns {added, id per URL...}. Running
// atomically on the server makes the url -> id claim race-free between concurrent importers.
// New ids are taken with one INCRBY and the shared keys written with one variadic command each,
// so a new feed costs a single HSET of its own.
constexpr char kAddFeedsScript[] = R"lua(
local p = ARGV[1]
local now = ARGV[2]
local n = #ARGV - 2
local ids_key = p .. 'feed:ids'
local existing = redis.call('HMGET', ids_key, unpack(ARGV, 3))
local created = {}
local count = 0
for i = 1, n do
  local url = ARGV[i + 2]
  if not existing[i] and not created[url] then
    count = count + 1
    created[url] = count
  end
end
if count > 0 then
  local first = redis.call('INCRBY', p .. 'feed:next_id', count) - count + 1
  local id_pairs, feed_members = {}, {}
  for url, offset in pairs(created) do
    local id = first + offset - 1
    created[url] = id
    id_pairs[#id_pairs + 1] = url
    id_pairs[#id_pairs + 1] = id
    feed_members[#feed_members + 1] = id
    feed_members[#feed_members + 1] = id
    redis.call('HSET', p .. 'feed:' .. id, 'id', id, 'url', url, 'status', 'active',
               'added_ms', now, 'next_due_ms', now)
  end
  redis.call('HSET', ids_key, unpack(id_pairs))
  redis.call('ZADD', p .. 'feeds', unpack(feed_members))
  redis.call('INCR', p .. 'feeds:version')
end
local out = {count}
for i = 1, n do
  out[i + 1] = existing[i] and tonumber(existing[i]) or created[ARGV[i + 2]]
end
return out
)lua";

// Saves the states of many feeds in one call. KEYS: feeds, run. ARGV[1] the prefix of the feed
// hashes (P feed:), ARGV[2] the run id ('0': not in a run), ARGV[3] the number of feeds, then
// for each feed: id, c, n, c pairs counter, increment, n pairs field, value (next_due_ms among
// them when it changed). Returns one integer per feed: 0 (feed gone, nothing written), 1
// (written; nothing counted: no run, or this run had counted it already), 2 (written and
// counted), -1 (its record is not a hash, nothing written).
// A feed is counted when P run is this run and its record's run_id marker is not; the marker
// (a field of the record) is written with the state, so a batch repeated after a lost reply adds
// nothing. Every read comes first, then the counters (the first write: an out-of-memory refusal
// stops the script before anything is written), then the records, so a failing call either
// writes nothing or writes and counts every feed it reports. The counters of the whole batch go
// in one HINCRBY each, formatted with %.0f: Redis would pass a sum of 1e17 or more (bytes) to
// HINCRBY in exponent notation, which it refuses.
constexpr char kSaveFeedsScript[] = R"lua(
local feed_prefix, run = ARGV[1], ARGV[2]
local in_run = run ~= '0' and redis.call('HGET', KEYS[2], 'id') == run
local out, writes, totals = {}, {}, {}
local i = 4
for f = 1, tonumber(ARGV[3]) do
  local first_counter = i + 3
  local first_field = first_counter + 2 * tonumber(ARGV[i + 1])
  local next_feed = first_field + 2 * tonumber(ARGV[i + 2])
  if not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    out[f] = 0
  else
    local key = feed_prefix .. ARGV[i]
    local marker = redis.pcall('HGET', key, 'run_id')
    if type(marker) == 'table' and marker.err then
      out[f] = -1
    else
      out[f] = 1
      if in_run and marker ~= run then
        for c = first_counter, first_field - 1, 2 do
          totals[ARGV[c]] = (totals[ARGV[c]] or 0) + tonumber(ARGV[c + 1])
        end
        out[f] = 2
      end
      writes[#writes + 1] = {key, first_field, next_feed - 1}
    end
  end
  i = next_feed
end
for name, increment in pairs(totals) do
  redis.call('HINCRBY', KEYS[2], name, string.format('%.0f', increment))
end
for _, w in ipairs(writes) do
  if w[3] > w[2] then redis.call('HSET', w[1], unpack(ARGV, w[2], w[3])) end
end
return out
)lua";

// KEYS: run. ARGV: run id, state, finished_ms. Returns 0 when P run is another run.
constexpr char kEndRunScript[] = R"lua(
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'finished_ms', ARGV[3])
return 1
)lua";

// The item JSON goes in plain commands (an HSETNX per item, or one HSET of a staging hash for a
// feed's first store), pipelined ahead of this script, so that Redis copies it once from the
// request into the hash: passed to a script, every argument becomes a Lua string first, which
// Redis's Lua hashes byte by byte (~10 % of the server's CPU in a first crawl of 36 KB feeds)
// and the script's HSETNX copies back out. The script then decides which keys are new by the
// order set, so a key counts once however often its JSON was offered, and only a key whose JSON
// is in the hash gets its order entry: an order entry always names a stored item, and JSON
// stored by a call whose script never ran (a processor killed in between) is adopted by the next
// call that offers the key.
// KEYS: items:<id>, items:<id>:order, stream:items, and (a feed's first store) the staging hash
// the call's HSET wrote. ARGV[1] stream cap (0: no stream), ARGV[2] feed id, ARGV[3] the number A
// of key arrays that follow (a first store's; 0 otherwise), ARGV[4..3+A] those arrays, then time_ms
// and key for each item (the order ZADD takes them in). Returns {new items, items stored
// afterwards}.
// A staging hash holds all of a first store's JSON, written by one HSET rather than an HSETNX per
// item. When the feed has no items hash and no order set yet, it is renamed to be the items hash
// (a rename moves the hash, it copies no JSON) and every key is new: the store has dropped
// repeated keys and written the stream's arrays of keys itself, one per 1,000 keys, so the
// script hands its arguments to ZADD and XADD as they are, without a Lua value per key. That took
// Redis's instructions for a first store of 20 items from 852,000 (an HSETNX per item) to
// 651,000, and then to 504,000. When the feed has items after all (the caller guessed wrong: a
// repeated job, a feed stored before it had a digest), the JSON is copied into the items hash
// field by field with HSETNX, through Lua, so nothing stored is overwritten, the staging hash is
// deleted, and the keys are decided as for any other call. The staging hash's TTL (set by the
// call) removes it if the script never runs. A staging hash that is gone when the script runs
// (expired or evicted) fails the call without writing anything; the caller stores the items again.
// Other calls go in blocks of 1,000 keys (unpack() is bounded by Lua's C stack), each with a
// ZSCORE per key to find the keys the order set lacks (ZMSCORE would save 2 % of the
// instructions, but the store works without it, with servers before Redis 6.2), one ZADD of the
// new ones' order entries and one stream entry listing them: fields feed (the id) and keys (a JSON
// array of item keys, in the order the call gave them). Only new items go to the stream, in the
// same script, so a consumer sees each item once even when a job is repeated. An entry names
// items without their JSON, which stays in the hash (with the JSON in both, Redis copied, kept and
// appended to its file every item twice). One entry per block rather than per item took Redis's
// instructions for a call of 20 new items from 1,165,000 to 838,000: each XADD was a command of
// its own, to run through Lua and to append to the file. cjson writes "/" as "\/", which JSON
// allows (the store's own arrays do not); turning it back with gsub cost another 98,000.
// The stream is trimmed once per call, after its entries are added, rather than by a MAXLEN on
// every XADD, which made Redis check the trim and rewrite the command for the append-only file
// each time; the script runs atomically, so no reader sees the stream between the adds and the
// trim. XTRIM gets the cap as the caller's string. MAXLEN ~ lets Redis trim whole macro nodes:
// cheap, slightly over cap.
constexpr char kStoreItemsScript[] = R"lua(
local cap = tonumber(ARGV[1])
local first_item = 4 + tonumber(ARGV[3])
local added = 0
if KEYS[4] then
  if redis.call('EXISTS', KEYS[1], KEYS[2]) == 0 then
    local moved = redis.pcall('RENAME', KEYS[4], KEYS[1])
    if moved.err then
      return redis.error_reply('ERR the staged items of feed ' .. ARGV[2] .. ' are gone')
    end
    redis.call('PERSIST', KEYS[1])
    for first = first_item, #ARGV, 2000 do
      local last = math.min(first + 1999, #ARGV)
      added = added + redis.call('ZADD', KEYS[2], unpack(ARGV, first, last))
    end
    if cap > 0 and added > 0 then
      for a = 4, first_item - 1 do
        redis.call('XADD', KEYS[3], '*', 'feed', ARGV[2], 'keys', ARGV[a])
      end
      redis.call('XTRIM', KEYS[3], 'MAXLEN', '~', ARGV[1])
    end
    return {added, added}
  end
  if redis.call('EXISTS', KEYS[4]) == 0 then
    return redis.error_reply('ERR the staged items of feed ' .. ARGV[2] .. ' are gone')
  end
  for i = first_item + 1, #ARGV, 2 do
    local json = redis.call('HGET', KEYS[4], ARGV[i])
    if json then redis.call('HSETNX', KEYS[1], ARGV[i], json) end
  end
  redis.call('DEL', KEYS[4])
end
local seen = {}
for first = first_item, #ARGV, 2000 do
  local order, keys = {}, {}
  for i = first, math.min(first + 1998, #ARGV - 1), 2 do
    local key = ARGV[i + 1]
    if not seen[key] and not redis.call('ZSCORE', KEYS[2], key)
        and redis.call('HEXISTS', KEYS[1], key) == 1 then
      seen[key] = true
      order[#order + 1] = ARGV[i]
      order[#order + 1] = key
      keys[#keys + 1] = key
    end
  end
  if #keys > 0 then
    redis.call('ZADD', KEYS[2], unpack(order))
    if cap > 0 then
      redis.call('XADD', KEYS[3], '*', 'feed', ARGV[2], 'keys', cjson.encode(keys))
    end
    added = added + #keys
  end
end
if added > 0 and cap > 0 then redis.call('XTRIM', KEYS[3], 'MAXLEN', '~', ARGV[1]) end
return {added, redis.call('ZCARD', KEYS[2])}
)lua";

// A first store's items as kStoreItemsScript takes them: the first of each key, in the order
// given. None when a key is not well-formed UTF-8: the store's JSON writer would replace what is
// not, and the stream would name a key the hash does not have, so such a call goes as any other
// (its keys' arrays written by the script).
std::vector<const StoredItem*> FirstStoreItems(const std::vector<StoredItem>& items) {
  std::vector<const StoredItem*> distinct;
  distinct.reserve(items.size());
  std::unordered_set<std::string_view> seen;
  seen.reserve(items.size());
  for (const StoredItem& item : items) {
    if (!IsValidUtf8(item.key)) return {};
    if (seen.insert(item.key).second) distinct.push_back(&item);
  }
  return distinct;
}

Status ErrorReply(const std::string& what, const RedisReply& reply) {
  return Status::Internal(what + ": Redis replied " + reply.str);
}

// Values in feed hashes are written by this file, but an operator may edit them by hand; a field
// that does not parse reads as zero rather than making the whole feed list unreadable.
int64_t ToInt64(const std::string& text) {
  if (text.empty()) return 0;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') return 0;
  return v;
}

uint64_t ToUint64(const std::string& text) {
  const int64_t v = ToInt64(text);
  return v < 0 ? 0 : static_cast<uint64_t>(v);
}

bool ParseId(const std::string& text, uint64_t* id) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *id = v;
  return v != 0;
}

// Scores come back as text formatted from a double.
int64_t ScoreToMs(const std::string& text) {
  const double v = std::strtod(text.c_str(), nullptr);
  return std::isfinite(v) ? static_cast<int64_t>(std::llround(v)) : 0;
}

// How each field of P feed:<id> is written: its name, and its value as text. A number is
// formatted into `buffer` (at least kFieldBuffer bytes); text fields are viewed in place, so a
// save compares a state with the stored one without building either as strings.
constexpr size_t kFieldBuffer = 24;
using FieldWriter = std::string_view (*)(const FeedRecord&, char* buffer);
struct FeedField {
  const char* name;
  FieldWriter write;
};

template <typename Number>
std::string_view FormatNumber(Number value, char* buffer) {
  const std::to_chars_result end = std::to_chars(buffer, buffer + kFieldBuffer, value);
  return std::string_view(buffer, static_cast<size_t>(end.ptr - buffer));
}

#define FC_TEXT_FIELD(field) \
  { #field, [](const FeedRecord& f, char*) { return std::string_view(f.field); } }
#define FC_NUMBER_FIELD(field) \
  { #field, [](const FeedRecord& f, char* b) { return FormatNumber(f.field, b); } }
constexpr FeedField kFeedFields[] = {
    FC_NUMBER_FIELD(id),
    FC_TEXT_FIELD(url),
    FC_TEXT_FIELD(title),
    FC_TEXT_FIELD(status),
    FC_TEXT_FIELD(etag),
    FC_TEXT_FIELD(last_modified),
    FC_NUMBER_FIELD(added_ms),
    FC_NUMBER_FIELD(next_due_ms),
    FC_NUMBER_FIELD(last_fetch_ms),
    FC_NUMBER_FIELD(last_ok_ms),
    FC_NUMBER_FIELD(last_status),
    FC_TEXT_FIELD(last_outcome),
    FC_TEXT_FIELD(last_error),
    FC_NUMBER_FIELD(consecutive_failures),
    FC_NUMBER_FIELD(fetches),
    FC_NUMBER_FIELD(failures),
    FC_NUMBER_FIELD(items_total),
    FC_NUMBER_FIELD(items_new_last),
    FC_NUMBER_FIELD(interval_ms),
    FC_NUMBER_FIELD(transient_failures),
    FC_NUMBER_FIELD(permanent_failures),
    FC_NUMBER_FIELD(ttl_minutes),
    FC_NUMBER_FIELD(skip_hours),
    FC_NUMBER_FIELD(skip_days),
    FC_TEXT_FIELD(redirect_url),
    FC_NUMBER_FIELD(redirect_seen),
    FC_NUMBER_FIELD(redirect_since_ms),
    FC_NUMBER_FIELD(run_id),
    FC_TEXT_FIELD(body_digest),
};
#undef FC_TEXT_FIELD
#undef FC_NUMBER_FIELD

// How each field of P feed:<id> is read into a FeedRecord. The coordinator reads a record for
// every dispatch and every feed at start, so the fields go straight from the reply to the record
// (a map of the hash first cost two allocations per field).
using FieldReader = void (*)(FeedRecord&, const std::string&);

const std::unordered_map<std::string_view, FieldReader>& FeedFieldReaders() {
  static const auto* readers = new std::unordered_map<std::string_view, FieldReader>{
      {"url", [](FeedRecord& f, const std::string& v) { f.url = v; }},
      {"title", [](FeedRecord& f, const std::string& v) { f.title = v; }},
      {"status", [](FeedRecord& f, const std::string& v) { f.status = v; }},
      {"etag", [](FeedRecord& f, const std::string& v) { f.etag = v; }},
      {"last_modified", [](FeedRecord& f, const std::string& v) { f.last_modified = v; }},
      {"added_ms", [](FeedRecord& f, const std::string& v) { f.added_ms = ToInt64(v); }},
      {"next_due_ms", [](FeedRecord& f, const std::string& v) { f.next_due_ms = ToInt64(v); }},
      {"last_fetch_ms", [](FeedRecord& f, const std::string& v) { f.last_fetch_ms = ToInt64(v); }},
      {"last_ok_ms", [](FeedRecord& f, const std::string& v) { f.last_ok_ms = ToInt64(v); }},
      {"last_status",
       [](FeedRecord& f, const std::string& v) { f.last_status = static_cast<int>(ToInt64(v)); }},
      {"last_outcome", [](FeedRecord& f, const std::string& v) { f.last_outcome = v; }},
      {"last_error", [](FeedRecord& f, const std::string& v) { f.last_error = v; }},
      {"consecutive_failures",
       [](FeedRecord& f, const std::string& v) {
         f.consecutive_failures = static_cast<uint32_t>(ToUint64(v));
       }},
      {"fetches", [](FeedRecord& f, const std::string& v) { f.fetches = ToUint64(v); }},
      {"failures", [](FeedRecord& f, const std::string& v) { f.failures = ToUint64(v); }},
      {"items_total", [](FeedRecord& f, const std::string& v) { f.items_total = ToUint64(v); }},
      {"items_new_last",
       [](FeedRecord& f, const std::string& v) { f.items_new_last = ToUint64(v); }},
      {"interval_ms", [](FeedRecord& f, const std::string& v) { f.interval_ms = ToInt64(v); }},
      {"transient_failures",
       [](FeedRecord& f, const std::string& v) { f.transient_failures = ToUint64(v); }},
      {"permanent_failures",
       [](FeedRecord& f, const std::string& v) { f.permanent_failures = ToUint64(v); }},
      {"ttl_minutes",
       [](FeedRecord& f, const std::string& v) { f.ttl_minutes = static_cast<int>(ToInt64(v)); }},
      {"skip_hours",
       [](FeedRecord& f, const std::string& v) {
         f.skip_hours = static_cast<uint32_t>(ToUint64(v));
       }},
      {"skip_days",
       [](FeedRecord& f, const std::string& v) {
         f.skip_days = static_cast<uint32_t>(ToUint64(v));
       }},
      {"redirect_url", [](FeedRecord& f, const std::string& v) { f.redirect_url = v; }},
      {"redirect_seen",
       [](FeedRecord& f, const std::string& v) {
         f.redirect_seen = static_cast<uint32_t>(ToUint64(v));
       }},
      {"redirect_since_ms",
       [](FeedRecord& f, const std::string& v) { f.redirect_since_ms = ToInt64(v); }},
      {"run_id", [](FeedRecord& f, const std::string& v) { f.run_id = ToUint64(v); }},
      {"body_digest", [](FeedRecord& f, const std::string& v) { f.body_digest = v; }},
  };
  return *readers;
}

// `reply` is an HGETALL answer (field, value, field, value...). The id comes from the key, so a
// hash without an id field still reads correctly; missing fields keep FeedRecord's defaults.
FeedRecord FeedFromHash(uint64_t id, const RedisReply& reply) {
  const auto& readers = FeedFieldReaders();
  FeedRecord f;
  f.id = id;
  // Fields feedcrawl does not know (written by hand or by a newer version) are left alone.
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    auto reader = readers.find(reply.elements[i].str);
    if (reader != readers.end()) reader->second(f, reply.elements[i + 1].str);
  }
  return f;
}

// Sends commands in pipelined batches of kBatch; replies come back in order. Error replies are
// returned as replies, for the caller to judge.
StatusOr<std::vector<RedisReply>> BatchedPipeline(RedisClient& redis,
                                                  std::vector<std::vector<std::string>> commands) {
  std::vector<RedisReply> all;
  all.reserve(commands.size());
  for (size_t start = 0; start < commands.size(); start += kBatch) {
    const size_t end = std::min(commands.size(), start + kBatch);
    std::vector<std::vector<std::string>> batch(std::make_move_iterator(commands.begin() + start),
                                                std::make_move_iterator(commands.begin() + end));
    StatusOr<std::vector<RedisReply>> replies = redis.Pipeline(batch);
    if (!replies.ok()) return replies.status();
    for (auto& r : *replies) all.push_back(std::move(r));
  }
  return all;
}

}  // namespace

Store::Store(std::unique_ptr<RedisClient> redis, std::string prefix)
    : redis_(std::move(redis)), prefix_(std::move(prefix)) {
  // Staging hashes are named by this token (96 random bits) and a counter, so that two calls, of
  // this store or of another process's, do not write the same one.
  std::random_device random;
  char token[40];
  const int n = std::snprintf(token, sizeof(token), "%08x%08x%08x-", random(), random(), random());
  staging_token_.assign(token, static_cast<size_t>(n));
}

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& redis_url,
                                             const std::string& prefix) {
  StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect(redis_url);
  if (!client.ok()) return client.status();
  return std::make_unique<Store>(std::move(*client), prefix);
}

StatusOr<RedisReply> Store::RunScript(const char* body, std::string* sha, size_t num_keys,
                                      const std::vector<std::string>& argv) {
  if (sha->empty()) {
    StatusOr<RedisReply> loaded = redis_->Command({"SCRIPT", "LOAD", body});
    if (!loaded.ok()) return loaded.status();
    if (loaded->IsError()) return ErrorReply("SCRIPT LOAD", *loaded);
    *sha = loaded->str;
  }
  std::vector<std::string> command;
  command.reserve(argv.size() + 3);
  command.push_back("EVALSHA");
  command.push_back(*sha);
  command.push_back(std::to_string(num_keys));
  command.insert(command.end(), argv.begin(), argv.end());
  StatusOr<RedisReply> reply = redis_->Command(command);
  if (!reply.ok()) return reply;
  if (reply->IsError() && reply->str.rfind("NOSCRIPT", 0) == 0) {
    // The server restarted (or SCRIPT FLUSH ran). EVAL runs the script and caches it again
    // under the same SHA1, so later calls go back to EVALSHA.
    command[0] = "EVAL";
    command[1] = body;
    reply = redis_->Command(command);
    if (!reply.ok()) return reply;
  }
  if (reply->IsError()) return ErrorReply("script", *reply);
  return reply;
}

StatusOr<AddFeedsResult> Store::AddFeeds(const std::vector<std::string>& urls, int64_t now_ms) {
  AddFeedsResult result;
  result.ids.reserve(urls.size());
  for (const auto& url : urls) {
    if (url.empty()) return Status::InvalidArgument("empty feed URL");
  }
  const std::string now = std::to_string(now_ms);
  for (size_t start = 0; start < urls.size(); start += kBatch) {
    const size_t end = std::min(urls.size(), start + kBatch);
    // The URLs known already are looked up with a plain HMGET, and only the others go to the
    // script, which looks them up again (an import running at the same time may have added
    // them since) and adds those still missing. Re-importing a list (every `feedcrawl run`
    // does) then costs Redis a hash lookup per URL rather than a trip through Lua: 10,000 known
    // URLs took the server 12-14 ms through the script, 2.4-3.5 ms this way.
    std::vector<std::string> lookup;
    lookup.reserve(end - start + 2);
    lookup.push_back("HMGET");
    lookup.push_back(Key("feed:ids"));
    lookup.insert(lookup.end(), urls.begin() + start, urls.begin() + end);
    StatusOr<RedisReply> known = redis_->Command(lookup);
    if (!known.ok()) return known.status();
    if (known->IsError()) return ErrorReply("look up feeds", *known);
    if (known->elements.size() != end - start) {
      return Status::Internal("look up feeds: unexpected reply from Redis");
    }
    std::vector<size_t> missing;  // positions in the batch the script decides
    std::vector<std::string> argv = {prefix_, now};
    for (size_t i = start; i < end; ++i) {
      uint64_t id = 0;
      if (ParseId(known->elements[i - start].str, &id)) {
        result.ids.push_back(id);
        continue;
      }
      result.ids.push_back(0);
      missing.push_back(result.ids.size() - 1);
      argv.push_back(urls[i]);
    }
    if (missing.empty()) continue;
    StatusOr<RedisReply> reply = RunScript(kAddFeedsScript, &add_feeds_sha_, 0, argv);
    if (!reply.ok()) return reply.status();
    if (reply->elements.size() != missing.size() + 1) {
      return Status::Internal("add feeds: unexpected reply from Redis");
    }
    result.added += static_cast<size_t>(reply->elements[0].integer);
    for (size_t i = 0; i < missing.size(); ++i) {
      result.ids[missing[i]] = static_cast<uint64_t>(reply->elements[i + 1].integer);
    }
  }
  return result;
}

StatusOr<uint64_t> Store::FeedsVersion() {
  StatusOr<RedisReply> reply = redis_->Command({"GET", Key("feeds:version")});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ErrorReply("GET feeds:version", *reply);
  if (reply->type == RedisReply::Type::kNil) return uint64_t{0};
  uint64_t version = 0;
  const std::string& text = reply->str;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size()) {
    return Status::Internal("feeds:version is not a counter: " + text);
  }
  return version;
}

Status Store::RemoveFeed(const std::string& url) {
  StatusOr<std::optional<uint64_t>> found = FindFeedId(url);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return Status::NotFound("no feed with URL " + url);
  const std::string id = std::to_string(**found);
  // One transaction, so no reader sees a feed that is half gone. UNLINK frees a large item
  // hash in the background instead of stalling the server.
  StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline({
      {"MULTI"},
      {"UNLINK", Key("feed:" + id), Key("items:" + id), Key("items:" + id + ":order")},
      {"HDEL", Key("feed:ids"), url},
      {"ZREM", Key("feeds"), id},
      {"INCR", Key("feeds:version")},
      {"EXEC"},
  });
  if (!replies.ok()) return replies.status();
  const RedisReply& exec = replies->back();
  if (exec.type != RedisReply::Type::kArray) return ErrorReply("remove feed", exec);
  for (const auto& r : exec.elements) {
    if (r.IsError()) return ErrorReply("remove feed", r);
  }
  return Status::Ok();
}

StatusOr<std::vector<FeedRecord>> Store::LoadFeeds() {
  // In batches, each reply made a record before the next batch is read: a million records held
  // their replies too, 5 GB, when every feed was read in one go.
  std::vector<FeedRecord> feeds;
  Status read = ForEachFeed([&feeds](FeedRecord&& feed) { feeds.push_back(std::move(feed)); });
  if (!read.ok()) return read;
  return feeds;
}

Status Store::ForEachFeed(const std::function<void(FeedRecord&&)>& visit,
                          const std::vector<std::string>& fields) {
  StatusOr<std::vector<uint64_t>> ids = FeedIds();
  if (!ids.ok()) return ids.status();
  return ReadFeeds(ids->data(), ids->size(), visit, fields);
}

StatusOr<std::vector<uint64_t>> Store::FeedIds() {
  StatusOr<RedisReply> members = redis_->Command({"ZRANGE", Key("feeds"), "0", "-1"});
  if (!members.ok()) return members.status();
  if (members->IsError()) return ErrorReply("load feeds", *members);
  std::vector<uint64_t> ids;
  ids.reserve(members->elements.size());
  for (const auto& m : members->elements) {
    uint64_t id = 0;
    if (ParseId(m.str, &id)) ids.push_back(id);  // others were not written by feedcrawl
  }
  return ids;
}

Status Store::ReadFeeds(const uint64_t* ids, size_t count,
                        const std::function<void(FeedRecord&&)>& visit,
                        const std::vector<std::string>& fields) {
  const auto& readers = FeedFieldReaders();
  std::vector<FieldReader> field_readers;
  for (const std::string& field : fields) {
    auto reader = readers.find(field);
    if (reader == readers.end()) return Status::InvalidArgument("no feed field " + field);
    field_readers.push_back(reader->second);
  }
  for (size_t start = 0; start < count; start += kBatch) {
    const size_t end = std::min(count, start + kBatch);
    std::vector<std::vector<std::string>> commands;
    commands.reserve(end - start);
    for (size_t i = start; i < end; ++i) {
      std::vector<std::string> command = {fields.empty() ? "HGETALL" : "HMGET",
                                          Key("feed:" + std::to_string(ids[i]))};
      command.insert(command.end(), fields.begin(), fields.end());
      commands.push_back(std::move(command));
    }
    StatusOr<std::vector<RedisReply>> hashes = redis_->Pipeline(commands);
    if (!hashes.ok()) return hashes.status();
    for (size_t i = start; i < end; ++i) {
      const RedisReply& h = (*hashes)[i - start];
      if (h.IsError()) return ErrorReply("load feed " + std::to_string(ids[i]), h);
      if (fields.empty()) {
        if (h.elements.empty()) continue;  // removed between the two reads
        visit(FeedFromHash(ids[i], h));
        continue;
      }
      // HMGET answers nil for each field of a hash that is gone.
      FeedRecord feed;
      feed.id = ids[i];
      bool found = false;
      for (size_t f = 0; f < field_readers.size() && f < h.elements.size(); ++f) {
        if (h.elements[f].IsNil()) continue;
        field_readers[f](feed, h.elements[f].str);
        found = true;
      }
      if (found) visit(std::move(feed));
    }
  }
  return Status::Ok();
}

StatusOr<std::optional<FeedRecord>> Store::GetFeed(uint64_t id) {
  StatusOr<RedisReply> h = redis_->Command({"HGETALL", Key("feed:" + std::to_string(id))});
  if (!h.ok()) return h.status();
  if (h->IsError()) return ErrorReply("get feed", *h);
  if (h->elements.empty()) return std::optional<FeedRecord>();
  return std::optional<FeedRecord>(FeedFromHash(id, *h));
}

StatusOr<std::optional<uint64_t>> Store::FindFeedId(const std::string& url) {
  StatusOr<RedisReply> r = redis_->Command({"HGET", Key("feed:ids"), url});
  if (!r.ok()) return r.status();
  if (r->IsError()) return ErrorReply("find feed", *r);
  uint64_t id = 0;
  if (r->IsNil() || !ParseId(r->str, &id)) return std::optional<uint64_t>();
  return std::optional<uint64_t>(id);
}

StatusOr<std::vector<std::optional<FeedRecord>>> Store::GetFeeds(
    const std::vector<uint64_t>& ids) {
  std::vector<std::vector<std::string>> commands;
  commands.reserve(ids.size());
  for (uint64_t id : ids) commands.push_back({"HGETALL", Key("feed:" + std::to_string(id))});
  StatusOr<std::vector<RedisReply>> hashes = BatchedPipeline(*redis_, std::move(commands));
  if (!hashes.ok()) return hashes.status();
  std::vector<std::optional<FeedRecord>> feeds(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const RedisReply& h = (*hashes)[i];
    if (h.IsError()) return ErrorReply("get feed " + std::to_string(ids[i]), h);
    if (!h.elements.empty()) feeds[i] = FeedFromHash(ids[i], h);
  }
  return feeds;
}

Status Store::SaveFeed(const FeedRecord& feed) {
  FeedSave save;
  save.feed = feed;
  StatusOr<std::vector<FeedSaveResult>> results = SaveFeeds({std::move(save)});
  if (!results.ok()) return results.status();
  return results->front().status;
}

bool IsScheduled(const FeedRecord& feed) {
  return feed.status == "active" || feed.status == "paused";
}

Status Store::SetFeedStatus(const std::string& url, const std::string& status, int64_t now_ms) {
  if (status != "active" && status != "paused" && status != "disabled") {
    return Status::InvalidArgument("unknown feed status '" + status + "'");
  }
  auto id = FindFeedId(url);
  if (!id.ok()) return id.status();
  if (!id->has_value()) return Status::NotFound("no feed " + url);
  const std::string key = Key("feed:" + std::to_string(**id));
  std::vector<std::vector<std::string>> commands = {{"HSET", key, "status", status}};
  if (status == "active") {
    commands[0].insert(commands[0].end(),
                       {"consecutive_failures", "0", "next_due_ms", std::to_string(now_ms)});
  }
  // After the change, in order on the connection: a coordinator that sees the new version
  // reads the new status.
  commands.push_back({"INCR", Key("feeds:version")});
  auto replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ErrorReply("set feed status", reply);
  }
  return Status::Ok();
}

Status Store::UpdateFeedUrl(uint64_t id, const std::string& old_url, const std::string& new_url) {
  const std::string feed_id = std::to_string(id);
  // One script so a concurrent `feeds add` of new_url cannot slip in between check and move.
  static constexpr char kScript[] = R"lua(
local owner = redis.call('HGET', KEYS[1], ARGV[2])
if owner and owner ~= ARGV[3] then return 0 end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[3] then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], 'url', ARGV[2])
redis.call('INCR', KEYS[3])
return 1
)lua";
  auto reply = redis_->Command({"EVAL", kScript, "3", Key("feed:ids"), Key("feed:" + feed_id),
                                Key("feeds:version"), old_url, new_url, feed_id});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ErrorReply("update feed url", *reply);
  if (reply->integer == 0) return Status::AlreadyExists(new_url + " is already another feed");
  return Status::Ok();
}

StatusOr<StoreItemsResult> Store::StoreItems(uint64_t feed_id,
                                             const std::vector<StoredItem>& items, StoreHint hint) {
  if (redis_->pending_replies() > 0) {
    return Status::Internal("store items: earlier calls are still pending");
  }
  for (int attempt = 0;; ++attempt) {
    Status sent = SendStoreItems(feed_id, items, hint);
    if (sent.code() == StatusCode::kInvalidArgument) return sent;
    StatusOr<StoreItemsResult> result =
        sent.ok() ? ReceiveStoreItems() : StatusOr<StoreItemsResult>(sent);
    // Again after a broken connection, and again if the server behind the new connection forgot
    // the script (a restart does both): storing the same items again adds nothing.
    if (result.ok() || attempt == 2) return result;
  }
}

Status Store::SendStoreItems(uint64_t feed_id, const std::vector<StoredItem>& items,
                             StoreHint hint) {
  for (const auto& item : items) {
    if (item.key.empty()) return Status::InvalidArgument("item without a key");
  }
  if (Status s = LoadStoreItemsScriptWhenIdle(); !s.ok()) return s;
  const std::string id = std::to_string(feed_id);
  const std::string items_key = Key("items:" + id);
  const std::string order_key = items_key + ":order";
  const std::string stream_key = Key("stream:items");
  const std::string cap = std::to_string(item_stream_max_len_);
  size_t appended = 0;
  std::string staging_key;
  const std::vector<std::string_view> values = StoredValues(items);
  // The items the script is given: for a first store, without repeated keys (the first of a
  // repeated key is the one an HSETNX per item would keep), with the stream's arrays of their
  // keys, one per 1,000; otherwise every item, which the script checks key by key.
  std::vector<const StoredItem*> sent;
  std::vector<std::string> key_arrays;
  if (hint == StoreHint::kNoneStored) sent = FirstStoreItems(items);
  if (!sent.empty()) {
    // One HSET of every item into a staging hash of this call's own, which the script makes the
    // items hash (or copies from, without overwriting, if the feed has items after all).
    staging_key = items_key + ":staged:" + staging_token_ + std::to_string(++staged_calls_);
    std::vector<std::string_view> hset;
    hset.reserve(2 + 2 * sent.size());
    hset.insert(hset.end(), {"HSET", staging_key});
    for (const StoredItem* item : sent) {
      hset.insert(hset.end(), {item->key, values[static_cast<size_t>(item - items.data())]});
    }
    if (Status s = redis_->Append(hset); !s.ok()) return DropAppended(appended, s);
    ++appended;
    if (Status s = redis_->Append({"PEXPIRE", staging_key, kStagingTtlMs}); !s.ok()) {
      return DropAppended(appended, s);
    }
    ++appended;
    for (size_t first = 0; first < sent.size(); first += kKeysPerStreamEntry) {
      std::string& array = key_arrays.emplace_back("[");
      const size_t end = std::min(sent.size(), first + kKeysPerStreamEntry);
      for (size_t i = first; i < end; ++i) {
        if (i > first) array.push_back(',');
        AppendJsonString(sent[i]->key, &array);
      }
      array.push_back(']');
    }
  } else {
    // One HSETNX per item: there is no variadic form that leaves existing fields alone. The JSON
    // is not copied here: each command is formatted straight from the item into the
    // connection's buffer, and the call is written out in one go.
    sent.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (Status s = redis_->Append({"HSETNX", items_key, items[i].key, values[i]}); !s.ok()) {
        return DropAppended(appended, s);
      }
      ++appended;
      sent.push_back(&items[i]);
    }
  }
  std::vector<std::string> times(sent.size());
  const std::string arrays = std::to_string(key_arrays.size());
  std::vector<std::string_view> argv;
  argv.reserve(9 + key_arrays.size() + sent.size() * 2);
  // The script's text goes along once the server has said it forgot the script (or before its
  // SHA1 is known): EVAL caches it again under the same SHA1 for the EVALSHA calls that follow.
  if (store_items_sha_.empty() || store_items_text_next_) {
    argv.insert(argv.end(), {"EVAL", kStoreItemsScript});
    store_items_text_next_ = false;
  } else {
    argv.insert(argv.end(), {"EVALSHA", store_items_sha_});
  }
  if (staging_key.empty()) {
    argv.insert(argv.end(), {"3", items_key, order_key, stream_key, cap, id, arrays});
  } else {
    argv.insert(argv.end(), {"4", items_key, order_key, stream_key, staging_key, cap, id, arrays});
  }
  argv.insert(argv.end(), key_arrays.begin(), key_arrays.end());
  for (size_t i = 0; i < sent.size(); ++i) {
    times[i] = std::to_string(sent[i]->time_ms);
    argv.insert(argv.end(), {times[i], sent[i]->key});
  }
  if (Status s = redis_->Append(argv); !s.ok()) return DropAppended(appended, s);
  ++appended;
  if (Status s = redis_->Flush(); !s.ok()) return DropAppended(appended, s);
  pending_calls_.push_back(appended);
  return Status::Ok();
}

std::vector<std::string_view> Store::StoredValues(const std::vector<StoredItem>& items) {
  std::vector<std::string_view> values;
  values.reserve(items.size());
  if (item_compression_ == ItemCompression::kNone) {
    for (const StoredItem& item : items) values.emplace_back(item.json);
    return values;
  }
  // Every frame goes into one buffer first and is viewed only once all are there, as the buffer
  // may move while it grows.
  encoded_items_.clear();
  std::vector<size_t> ends;
  ends.reserve(items.size());
  for (const StoredItem& item : items) {
    AppendStoredItem(item_compression_, item.json, &encoded_items_);
    ends.push_back(encoded_items_.size());
  }
  size_t begin = 0;
  for (size_t end : ends) {
    values.emplace_back(encoded_items_.data() + begin, end - begin);
    begin = end;
  }
  return values;
}

Status Store::DropAppended(size_t appended, Status failure) {
  // Each command appended took a reply slot, which the failure left lost: read them off so that
  // the next reply is the next call's, and the failed call took none.
  for (; appended > 0; --appended) (void)redis_->Receive();
  return failure;
}

StatusOr<StoreItemsResult> Store::ReceiveStoreItems() {
  if (pending_calls_.empty()) return Status::Internal("store items: no call is pending");
  const size_t writes = pending_calls_.front() - 1;
  pending_calls_.pop_front();
  // Every reply of the call is read whatever came before, so that the next reply is the next
  // call's. The first failure wins: a lost connection, then an error reply.
  Status failed = Status::Ok();
  for (size_t i = 0; i < writes; ++i) {
    StatusOr<RedisReply> written = redis_->Receive();
    if (!failed.ok()) continue;
    if (!written.ok()) {
      failed = written.status();
    } else if (written->IsError()) {
      failed = ErrorReply("store items", *written);
    }
  }
  StatusOr<RedisReply> reply = redis_->Receive();
  if (reply.ok() && reply->IsError() && reply->str.rfind("NOSCRIPT", 0) == 0) {
    // The server restarted (or SCRIPT FLUSH ran): the next call carries the text, whatever else
    // failed in this one. The SHA1 stays what it was, the text's.
    store_items_text_next_ = true;
    if (failed.ok()) return Status::Unavailable("store items: the server did not know the script");
  }
  if (!failed.ok()) return failed;
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ErrorReply("store items", *reply);
  if (reply->elements.size() != 2) return Status::Internal("store items: unexpected reply");
  StoreItemsResult result;
  result.new_items = static_cast<uint32_t>(reply->elements[0].integer);
  result.total_items = static_cast<uint64_t>(reply->elements[1].integer);
  return result;
}

size_t Store::pending_store_items() const { return pending_calls_.size(); }

Status Store::LoadStoreItemsScriptWhenIdle() {
  // A command of its own needs a connection with no reply pending. The first call of a store is
  // such a moment, whether it asks for known items or stores, so the SHA1 is known before any
  // call is pipelined behind another.
  if (redis_->pending_replies() != 0) return Status::Ok();
  return LoadScript(kStoreItemsScript, &store_items_sha_);
}

Status Store::SendKnownItems(uint64_t feed_id, const std::vector<StoredItem>& items,
                             std::optional<uint64_t> stored_hint) {
  if (items.empty()) return Status::InvalidArgument("known items: no items");
  if (Status s = LoadStoreItemsScriptWhenIdle(); !s.ok()) return s;
  const std::string order_key = Key("items:" + std::to_string(feed_id) + ":order");
  if (stored_hint.has_value() && *stored_hint <= kWholeOrderSetMax) {
    if (Status s = redis_->Append({"ZRANGE", order_key, "0", "-1"}); !s.ok()) return s;
    if (Status s = redis_->Flush(); !s.ok()) return DropAppended(1, s);
    std::vector<std::string> keys;
    keys.reserve(items.size());
    for (const auto& item : items) keys.push_back(item.key);
    whole_set_keys_.push_back(std::move(keys));
    pending_calls_.push_back(1);
    return Status::Ok();
  }
  std::vector<std::string_view> argv;
  argv.reserve(2 + items.size());
  argv.insert(argv.end(), {"ZMSCORE", order_key});
  for (const auto& item : items) argv.push_back(item.key);
  if (Status s = redis_->Append(argv); !s.ok()) return s;
  if (Status s = redis_->Append({"ZCARD", order_key}); !s.ok()) return DropAppended(1, s);
  if (Status s = redis_->Flush(); !s.ok()) return DropAppended(2, s);
  pending_calls_.push_back(2);
  return Status::Ok();
}

StatusOr<KnownItems> Store::ReceiveKnownItems() {
  if (pending_calls_.empty()) return Status::Internal("known items: no call is pending");
  const size_t replies = pending_calls_.front();
  pending_calls_.pop_front();
  if (replies == 1) {
    const std::vector<std::string> keys = std::move(whole_set_keys_.front());
    whole_set_keys_.pop_front();
    StatusOr<RedisReply> members = redis_->Receive();
    if (!members.ok()) return members.status();
    if (members->IsError()) return ErrorReply("known items", *members);
    std::unordered_set<std::string_view> stored;
    stored.reserve(members->elements.size());
    for (const RedisReply& member : members->elements) stored.insert(member.str);
    KnownItems known;
    known.known.reserve(keys.size());
    for (const std::string& key : keys) known.known.push_back(stored.count(key) != 0);
    known.total_items = members->elements.size();
    return known;
  }
  // Both replies are read whatever the first one was, so that the next reply is the next call's.
  StatusOr<RedisReply> scores = redis_->Receive();
  StatusOr<RedisReply> count = redis_->Receive();
  if (!scores.ok()) return scores.status();
  if (!count.ok()) return count.status();
  if (scores->IsError()) return ErrorReply("known items", *scores);
  if (count->IsError()) return ErrorReply("known items", *count);
  KnownItems known;
  known.known.reserve(scores->elements.size());
  for (const RedisReply& score : scores->elements) {
    known.known.push_back(!score.IsNil());
  }
  known.total_items = static_cast<uint64_t>(count->integer);
  return known;
}

StatusOr<KnownItems> Store::FindKnownItems(uint64_t feed_id,
                                           const std::vector<StoredItem>& items,
                                           std::optional<uint64_t> stored_hint) {
  if (redis_->pending_replies() != 0) {
    return Status::Internal("known items: earlier calls are still pending");
  }
  if (Status s = SendKnownItems(feed_id, items, stored_hint); !s.ok()) return s;
  return ReceiveKnownItems();
}

StatusOr<std::vector<ItemRow>> Store::QueryItems(const ItemQuery& query) {
  std::vector<ItemRow> rows;
  Status read = ForEachItem(query, [&rows](ItemRow&& row) { rows.push_back(std::move(row)); });
  if (!read.ok()) return read;
  return rows;
}

Status Store::ForEachItem(const ItemQuery& query, const std::function<void(ItemRow&&)>& visit) {
  std::vector<uint64_t> feed_ids;
  if (query.feed_id.has_value()) {
    feed_ids.push_back(*query.feed_id);
  } else {
    StatusOr<RedisReply> members = redis_->Command({"ZRANGE", Key("feeds"), "0", "-1"});
    if (!members.ok()) return members.status();
    if (members->IsError()) return ErrorReply("query items", *members);
    for (const auto& m : members->elements) {
      uint64_t id = 0;
      if (ParseId(m.str, &id)) feed_ids.push_back(id);
    }
  }
  const std::string min_score =
      query.since_ms.has_value() ? std::to_string(*query.since_ms) : std::string("-inf");
  size_t visited = 0;
  auto remaining = [&]() { return query.limit == 0 ? SIZE_MAX : query.limit - visited; };

  // Feeds go in groups: one round trip fetches the matching keys (and the URL) of a whole
  // group, a second fetches their JSON.
  constexpr size_t kFeedsPerRound = 200;
  for (size_t start = 0; start < feed_ids.size() && remaining() > 0; start += kFeedsPerRound) {
    const size_t end = std::min(feed_ids.size(), start + kFeedsPerRound);
    std::vector<std::vector<std::string>> commands;
    for (size_t i = start; i < end; ++i) {
      const std::string id = std::to_string(feed_ids[i]);
      std::vector<std::string> range = {"ZRANGEBYSCORE", Key("items:" + id + ":order"), min_score,
                                        "+inf", "WITHSCORES"};
      if (query.limit != 0) {
        range.insert(range.end(), {"LIMIT", "0", std::to_string(remaining())});
      }
      commands.push_back(std::move(range));
      commands.push_back({"HGET", Key("feed:" + id), "url"});
    }
    StatusOr<std::vector<RedisReply>> ranges = redis_->Pipeline(commands);
    if (!ranges.ok()) return ranges.status();

    struct Pending {
      uint64_t feed_id;
      const std::string* url;
      std::vector<const std::string*> keys;
      std::vector<int64_t> times;
    };
    std::vector<Pending> pending;
    size_t budget = remaining();
    for (size_t i = start; i < end && budget > 0; ++i) {
      const RedisReply& range = (*ranges)[(i - start) * 2];
      const RedisReply& url = (*ranges)[(i - start) * 2 + 1];
      if (range.IsError()) return ErrorReply("query items", range);
      if (range.elements.empty()) continue;
      Pending p{feed_ids[i], &url.str, {}, {}};
      for (size_t e = 0; e + 1 < range.elements.size() && budget > 0; e += 2, --budget) {
        p.keys.push_back(&range.elements[e].str);
        p.times.push_back(ScoreToMs(range.elements[e + 1].str));
      }
      pending.push_back(std::move(p));
    }

    std::vector<std::vector<std::string>> gets;
    for (const auto& p : pending) {
      const std::string hash = Key("items:" + std::to_string(p.feed_id));
      for (size_t k = 0; k < p.keys.size(); k += kBatch) {
        std::vector<std::string> hmget = {"HMGET", hash};
        for (size_t j = k; j < std::min(p.keys.size(), k + kBatch); ++j) {
          hmget.push_back(*p.keys[j]);
        }
        gets.push_back(std::move(hmget));
      }
    }
    StatusOr<std::vector<RedisReply>> values = BatchedPipeline(*redis_, std::move(gets));
    if (!values.ok()) return values.status();
    size_t next = 0;
    for (const auto& p : pending) {
      for (size_t k = 0; k < p.keys.size(); k += kBatch) {
        RedisReply& got = (*values)[next++];
        if (got.IsError()) return ErrorReply("query items", got);
        for (size_t j = 0; j < got.elements.size(); ++j) {
          // An order entry without its JSON can only be left by a hand edit; skip it.
          if (got.elements[j].IsNil()) continue;
          ItemRow row;
          row.feed_id = p.feed_id;
          row.feed_url = *p.url;
          if (IsCompressedItem(got.elements[j].str)) {
            // A frame that does not decode leaves the JSON empty, which readers report as an
            // unreadable item rather than failing the whole query.
            StatusOr<std::string> json = DecodeStoredItem(got.elements[j].str);
            if (json.ok()) row.json = std::move(*json);
          } else {
            row.json = std::move(got.elements[j].str);
          }
          row.time_ms = p.times[k + j];
          visit(std::move(row));
          ++visited;
        }
      }
    }
  }
  return Status::Ok();
}

Status Store::WriteStats(const std::map<std::string, std::string>& stats) {
  // DEL and HSET inside MULTI/EXEC: the hash is replaced exactly (no stale fields) and
  // atomically, so a reader never sees it empty or half written.
  std::vector<std::string> hset = {"HSET", Key("stats")};
  for (const auto& [name, value] : stats) {
    hset.push_back(name);
    hset.push_back(value);
  }
  std::vector<std::vector<std::string>> commands = {{"MULTI"}, {"DEL", Key("stats")}};
  if (!stats.empty()) commands.push_back(std::move(hset));
  commands.push_back({"EXEC"});
  StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (r.IsError()) return ErrorReply("write stats", r);
  }
  if (replies->back().type != RedisReply::Type::kArray) {
    return ErrorReply("write stats", replies->back());
  }
  return Status::Ok();
}

StatusOr<std::map<std::string, std::string>> Store::ReadStats() {
  StatusOr<RedisReply> h = redis_->Command({"HGETALL", Key("stats")});
  if (!h.ok()) return h.status();
  if (h->IsError()) return ErrorReply("read stats", *h);
  std::map<std::string, std::string> stats;
  for (size_t i = 0; i + 1 < h->elements.size(); i += 2) {
    stats[h->elements[i].str] = h->elements[i + 1].str;
  }
  return stats;
}

Status Store::WriteHostStats(const std::map<std::string, std::string>& hosts) {
  std::vector<std::vector<std::string>> commands = {{"MULTI"}, {"DEL", Key("stats:hosts")}};
  if (!hosts.empty()) {
    std::vector<std::string> hset = {"HSET", Key("stats:hosts")};
    for (const auto& [host, value] : hosts) {
      hset.push_back(host);
      hset.push_back(value);
    }
    commands.push_back(std::move(hset));
  }
  commands.push_back({"EXEC"});
  StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (r.IsError()) return ErrorReply("write host stats", r);
  }
  return Status::Ok();
}

StatusOr<std::map<std::string, std::string>> Store::ReadHostStats() {
  StatusOr<RedisReply> h = redis_->Command({"HGETALL", Key("stats:hosts")});
  if (!h.ok()) return h.status();
  if (h->IsError()) return ErrorReply("read host stats", *h);
  std::map<std::string, std::string> hosts;
  for (size_t i = 0; i + 1 < h->elements.size(); i += 2) {
    hosts[h->elements[i].str] = h->elements[i + 1].str;
  }
  return hosts;
}

Status Store::WriteWorkers(const std::vector<WorkerHash>& workers, int64_t ttl_ms,
                           int64_t now_ms) {
  std::vector<std::vector<std::string>> commands;
  const std::string expires = std::to_string(now_ms + ttl_ms);
  for (const WorkerHash& worker : workers) {
    const std::string member = worker.role + ":" + worker.id;
    const std::string key = Key("worker:" + member);
    std::vector<std::string> hset = {"HSET", key, "role", worker.role, "id", worker.id};
    for (const auto& [field, value] : worker.fields) {
      hset.push_back(field);
      hset.push_back(value);
    }
    commands.push_back(std::move(hset));
    commands.push_back({"PEXPIRE", key, std::to_string(ttl_ms)});
    commands.push_back({"ZADD", Key("workers"), expires, member});
  }
  // Index entries of workers that died are dropped here, by whoever writes next.
  commands.push_back({"ZREMRANGEBYSCORE", Key("workers"), "-inf", "(" + std::to_string(now_ms)});
  StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (r.IsError()) return ErrorReply("write workers", r);
  }
  return Status::Ok();
}

StatusOr<std::vector<WorkerHash>> Store::ReadWorkers(int64_t now_ms) {
  StatusOr<RedisReply> members =
      redis_->Command({"ZRANGEBYSCORE", Key("workers"), std::to_string(now_ms), "+inf"});
  if (!members.ok()) return members.status();
  if (members->IsError()) return ErrorReply("read workers", *members);
  std::vector<std::string> names;
  for (const auto& m : members->elements) names.push_back(m.str);
  std::sort(names.begin(), names.end());
  std::vector<std::vector<std::string>> commands;
  for (const std::string& name : names) commands.push_back({"HGETALL", Key("worker:" + name)});
  std::vector<WorkerHash> workers;
  if (commands.empty()) return workers;
  StatusOr<std::vector<RedisReply>> hashes = redis_->Pipeline(commands);
  if (!hashes.ok()) return hashes.status();
  for (size_t i = 0; i < names.size(); ++i) {
    const RedisReply& h = (*hashes)[i];
    if (h.IsError()) return ErrorReply("read worker " + names[i], h);
    if (h.elements.empty()) continue;  // expired between the two reads
    WorkerHash worker;
    const size_t colon = names[i].find(':');
    worker.role = names[i].substr(0, colon);
    worker.id = colon == std::string::npos ? "" : names[i].substr(colon + 1);
    for (size_t e = 0; e + 1 < h.elements.size(); e += 2) {
      if (h.elements[e].str == "role" || h.elements[e].str == "id") continue;
      worker.fields[h.elements[e].str] = h.elements[e + 1].str;
    }
    workers.push_back(std::move(worker));
  }
  return workers;
}

Status Store::DeleteWorker(const std::string& role, const std::string& id) {
  const std::string member = role + ":" + id;
  StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(
      {{"DEL", Key("worker:" + member)}, {"ZREM", Key("workers"), member}});
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (r.IsError()) return ErrorReply("delete worker", r);
  }
  return Status::Ok();
}

StatusOr<uint64_t> Store::NextCoordinatorEpoch() {
  StatusOr<RedisReply> r = redis_->Command({"INCR", Key("coordinator:epoch")});
  if (!r.ok()) return r.status();
  if (r->IsError()) return ErrorReply("coordinator epoch", *r);
  return static_cast<uint64_t>(r->integer);
}

Status Store::RemoveRetiredKeys() {
  StatusOr<RedisReply> r = redis_->Command({"UNLINK", Key("schedule")});
  if (!r.ok()) return r.status();
  if (r->IsError()) return ErrorReply("remove retired keys", *r);
  return Status::Ok();
}

StatusOr<std::optional<RunRecord>> Store::GetRun() {
  StatusOr<RedisReply> h = redis_->Command({"HGETALL", Key("run")});
  if (!h.ok()) return h.status();
  if (h->IsError()) return ErrorReply("get run", *h);
  if (h->elements.empty()) return std::optional<RunRecord>();
  RunRecord run;
  for (size_t i = 0; i + 1 < h->elements.size(); i += 2) {
    const std::string& name = h->elements[i].str;
    const std::string& value = h->elements[i + 1].str;
    if (name == "id") {
      run.id = ToUint64(value);
    } else if (name == "state") {
      run.state = value;
    } else if (name == "started_ms") {
      run.started_ms = ToInt64(value);
    } else if (name == "finished_ms") {
      run.finished_ms = ToInt64(value);
    } else {
      run.counters[name] = ToUint64(value);
    }
  }
  return std::optional<RunRecord>(std::move(run));
}

Status Store::WriteRun(const RunRecord& run) {
  if (run.id == 0) return Status::InvalidArgument("run without an id");
  std::vector<std::string> hset = {"HSET", Key("run"), "id", std::to_string(run.id), "state",
                                   run.state, "started_ms", std::to_string(run.started_ms),
                                   "finished_ms", std::to_string(run.finished_ms)};
  for (const auto& [name, value] : run.counters) {
    hset.push_back(name);
    hset.push_back(std::to_string(value));
  }
  StatusOr<std::vector<RedisReply>> replies =
      redis_->Pipeline({{"MULTI"}, {"DEL", Key("run")}, std::move(hset), {"EXEC"}});
  if (!replies.ok()) return replies.status();
  for (const auto& r : *replies) {
    if (r.IsError()) return ErrorReply("write run", r);
  }
  if (replies->back().type != RedisReply::Type::kArray) {
    return ErrorReply("write run", replies->back());
  }
  return Status::Ok();
}

Status Store::EndRun(uint64_t run_id, const std::string& state, int64_t now_ms) {
  const std::vector<std::string> argv = {Key("run"), std::to_string(run_id), state,
                                         std::to_string(now_ms)};
  StatusOr<RedisReply> reply = RunScript(kEndRunScript, &end_run_sha_, 1, argv);
  if (!reply.ok()) return reply.status();
  if (reply->integer == 0) {
    return Status::NotFound("run " + std::to_string(run_id) + " is not the current run");
  }
  return Status::Ok();
}

StatusOr<bool> Store::SaveFeedInRun(const FeedRecord& feed, uint64_t run_id,
                                    const std::map<std::string, int64_t>& counters) {
  if (run_id == 0) return Status::InvalidArgument("run id 0");
  FeedSave save;
  save.feed = feed;
  save.run_id = run_id;
  save.counters = counters;
  StatusOr<std::vector<FeedSaveResult>> results = SaveFeeds({std::move(save)});
  if (!results.ok()) return results.status();
  if (!results->front().status.ok()) return results->front().status;
  return results->front().counted;
}

Status Store::LoadScript(const char* body, std::string* sha) {
  if (!sha->empty()) return Status::Ok();
  StatusOr<RedisReply> loaded = redis_->Command({"SCRIPT", "LOAD", body});
  if (!loaded.ok()) return loaded.status();
  if (loaded->IsError()) return ErrorReply("SCRIPT LOAD", *loaded);
  *sha = loaded->str;
  return Status::Ok();
}

void Store::AppendSaveArgs(const FeedSave& save, std::vector<std::string>* argv) const {
  argv->push_back(std::to_string(save.feed.id));
  const size_t counters = save.run_id != 0 ? save.counters.size() : 0;
  argv->push_back(std::to_string(counters));
  const size_t field_count_at = argv->size();
  argv->emplace_back();  // the number of fields, known once they are written
  if (counters > 0) {
    for (const auto& [name, increment] : save.counters) {
      argv->push_back(name);
      argv->push_back(std::to_string(increment));
    }
  }
  // Only the fields this state changes are written. A field the hash lacks was read as its zero
  // value, so a field still at zero stays absent: the first report of a feed writes what its
  // fetch set (about half the fields of a feed fetched without trouble), not all 29.
  const FeedRecord* stored = save.stored ? &*save.stored : nullptr;
  char value_buffer[kFieldBuffer];
  char stored_buffer[kFieldBuffer];
  size_t fields = 0;
  for (const FeedField& field : kFeedFields) {
    std::string_view value = field.write(save.feed, value_buffer);
    // The run's marker goes with the state it marks.
    if (save.run_id != 0 && std::string_view(field.name) == "run_id") {
      value = FormatNumber(save.run_id, value_buffer);
    }
    if (stored != nullptr && value == field.write(*stored, stored_buffer)) continue;
    argv->emplace_back(field.name);
    argv->emplace_back(value);
    ++fields;
  }
  (*argv)[field_count_at] = std::to_string(fields);
}

StatusOr<std::vector<FeedSaveResult>> Store::SaveFeeds(const std::vector<FeedSave>& saves) {
  std::vector<FeedSaveResult> results(saves.size());
  for (const FeedSave& save : saves) {
    if (save.feed.id == 0) return Status::InvalidArgument("feed without an id");
  }
  if (saves.empty()) return results;
  if (Status s = LoadScript(kSaveFeedsScript, &save_feeds_sha_); !s.ok()) return s;
  // One script call per run of consecutive saves with the same run id, at most kSavesPerCall
  // feeds each.
  struct Call {
    size_t begin, end;
  };
  std::vector<Call> calls;
  for (size_t i = 0; i < saves.size(); ++i) {
    if (calls.empty() || calls.back().end - calls.back().begin == kSavesPerCall ||
        saves[calls.back().begin].run_id != saves[i].run_id) {
      calls.push_back(Call{i, i});
    }
    calls.back().end = i + 1;
  }
  // The script as an EVALSHA command, or as EVAL with its text once the server forgot it.
  auto command = [&](const Call& call, bool with_text) {
    std::vector<std::string> argv = {with_text ? "EVAL" : "EVALSHA",
                                     with_text ? kSaveFeedsScript : save_feeds_sha_,
                                     "2",
                                     Key("feeds"),
                                     Key("run"),
                                     Key("feed:"),
                                     std::to_string(saves[call.begin].run_id),
                                     std::to_string(call.end - call.begin)};
    for (size_t i = call.begin; i < call.end; ++i) AppendSaveArgs(saves[i], &argv);
    return argv;
  };
  // A second round only for calls the server did not know the script of (it restarted since
  // the script was loaded): NOSCRIPT means that call did not run, so nothing is written twice.
  for (int round = 0; round < 2 && !calls.empty(); ++round) {
    std::vector<std::vector<std::string>> commands;
    commands.reserve(calls.size());
    for (const Call& call : calls) commands.push_back(command(call, round == 1));
    StatusOr<std::vector<RedisReply>> replies = BatchedPipeline(*redis_, std::move(commands));
    if (!replies.ok()) return replies.status();
    std::vector<Call> unknown;
    for (size_t k = 0; k < calls.size(); ++k) {
      const Call& call = calls[k];
      const RedisReply& reply = (*replies)[k];
      if (reply.IsError() && reply.str.rfind("NOSCRIPT", 0) == 0 && round == 0) {
        unknown.push_back(call);
        continue;
      }
      Status call_error;
      if (reply.IsError()) {
        call_error = ErrorReply("save feeds", reply);
      } else if (reply.elements.size() != call.end - call.begin) {
        call_error = Status::Internal("save feeds: the script answered for " +
                                      std::to_string(reply.elements.size()) + " feeds of " +
                                      std::to_string(call.end - call.begin));
      }
      for (size_t i = call.begin; i < call.end; ++i) {
        const std::string id = std::to_string(saves[i].feed.id);
        const int64_t outcome = call_error.ok() ? reply.elements[i - call.begin].integer : 1;
        if (!call_error.ok()) {
          results[i].status = call_error;
        } else if (outcome == 0) {
          results[i].status = Status::NotFound("feed " + id + " is not in the store");
        } else if (outcome < 0) {
          results[i].status =
              Status::Internal("save feed " + id + ": " + Key("feed:" + id) + " is not a hash");
        } else {
          results[i].counted = outcome == 2;
        }
      }
    }
    calls = std::move(unknown);
  }
  return results;
}

}  // namespace feedcrawl
