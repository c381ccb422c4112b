// Store: every Redis key feedcrawl reads or writes goes through this class (docs/REDIS.md lists
// them). It wraps a RedisClient and a key prefix (default "fc:"). One Store per thread.
//
// Keys (P = prefix):
//   P feed:next_id            STRING  counter for feed ids
//   P feed:ids                HASH    url -> feed id
//   P feeds                   ZSET    feed id (member, decimal) scored by id: the feed list
//   P feeds:version           STRING  counter: incremented with every change of the feed registry
//   P feed:<id>               HASH    feed state (fields of FeedRecord, see below)
//   P items:<id>              HASH    item key -> item JSON (ItemToJson), or an LZ4 frame of it
//                                     (common/item_codec.h)
//   P items:<id>:order        ZSET    item key -> item time (published, else updated, else first
//                                     seen, ms)
//   P items:<id>:staged:<token><n>  HASH  a feed's first items on their way to P items:<id>:
//                                     lives for one store call (renamed or deleted), at most an
//                                     hour
//   P stats                   HASH    live numbers written by the coordinator
//   P stats:hosts             HASH    host -> JSON numbers of the busiest and slowest hosts
//   P stream:items            STREAM  new items: feed id and a JSON array of their keys per entry
//                                     (JSON in P items:<feed>), capped
//   P worker:<role>:<id>      HASH    one live fetcher or processor's numbers, with a TTL
//   P workers                 ZSET    "<role>:<id>" scored by when its hash expires (ms)
//   P coordinator:epoch       STRING  incremented by each coordinator start
//   P run                     HASH    the current or last --once run: id, state, started_ms,
//                                     finished_ms and its counters (RunRecord)
// The schedule is the coordinator's, rebuilt from the records' next_due_ms at each start.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/item_codec.h"
#include "common/redis.h"
#include "common/status.h"

namespace feedcrawl {

// The state of one feed, as kept in P feed:<id>. Field names in Redis are the member names
// without the trailing underscore convention, e.g. "last_status".
struct FeedRecord {
  uint64_t id = 0;
  std::string url;
  std::string title;
  // active: fetched on its schedule. paused: failed too often, probed at a long interval and
  // active again after a success. disabled: never fetched (410 Gone) until resumed.
  std::string status = "active";
  std::string etag;
  std::string last_modified;
  int64_t added_ms = 0;
  int64_t next_due_ms = 0;
  int64_t last_fetch_ms = 0;       // when the last job was reported
  int64_t last_ok_ms = 0;          // last 200/304
  int last_status = 0;             // last HTTP status (0 when none)
  std::string last_outcome;        // OutcomeName() of the last report
  std::string last_error;
  uint32_t consecutive_failures = 0;
  uint64_t fetches = 0;
  uint64_t failures = 0;
  uint64_t items_total = 0;
  uint64_t items_new_last = 0;     // new items in the last successful fetch
  int64_t interval_ms = 0;         // scheduler's current interval (0: default)
  // Failures by kind (totals): transient ones (timeouts, 5xx, 429, network) are retried with
  // backoff; permanent ones (404, 410, parse errors, blocked) say the feed itself is wrong.
  uint64_t transient_failures = 0;
  uint64_t permanent_failures = 0;
  // The feed's own hints, kept from its last parsed body because a 304 does not repeat them.
  int ttl_minutes = 0;             // RSS <ttl>
  uint32_t skip_hours = 0;         // RSS <skipHours>, bit h = UTC hour h
  uint32_t skip_days = 0;          // RSS <skipDays>, bit 0 Monday ... bit 6 Sunday
  // A permanent redirect not yet confirmed: its target, how many fetches in a row saw it, and
  // since when.
  std::string redirect_url;
  uint32_t redirect_seen = 0;
  int64_t redirect_since_ms = 0;
  // The --once run that last reported this feed (0: none). Written by SaveFeedInRun in the same
  // script as the state that report produced, so "reported in run R" and that state are one write.
  uint64_t run_id = 0;
  // Digest of the last body whose items were stored (FetchJob.body_digest).
  std::string body_digest;
};

// True for a feed a (continuous) coordinator keeps in its schedule: active, or paused, which is
// probed at a long interval. Disabled feeds wait for `feeds resume`.
bool IsScheduled(const FeedRecord& feed);

// The --once run (P run). A coordinator started with --once resumes a run whose state is
// "running" (it was killed) and starts a new one otherwise. Counters are named fields of the hash
// ("feeds", "done", "ok", "failed", "failed_<reason>", "items_new", ...); the store only keeps and
// increments them, their meaning is the coordinator's.
struct RunRecord {
  uint64_t id = 0;
  std::string state = "running";  // running, finished, or abandoned (a continuous coordinator)
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::map<std::string, uint64_t> counters;
};

// One feed's state for Store::SaveFeeds: written like SaveFeed when run_id is 0, like
// SaveFeedInRun (with `counters`) otherwise.
struct FeedSave {
  FeedRecord feed;
  uint64_t run_id = 0;
  std::map<std::string, int64_t> counters;
  // The record as Redis held it when `feed` was derived from it (read at dispatch, a field the
  // hash lacked at its zero value). Given, only the fields that differ from it are written: less
  // for Redis to do and to keep, and a field someone else changed meanwhile (an operator's pause)
  // is kept. Unset, every field is written.
  std::optional<FeedRecord> stored;
};

struct FeedSaveResult {
  // Ok; NotFound when the feed is no longer in P feeds (nothing written); or the error Redis
  // gave for this feed's script alone.
  Status status;
  bool counted = false;  // run saves: the counters were added by this call
};

struct AddFeedsResult {
  std::vector<uint64_t> ids;       // one per input URL, in order
  size_t added = 0;                // how many were new
};

// An item ready to store: its key, its JSON text and its time for ordering.
struct StoredItem {
  std::string key;
  std::string json;
  int64_t time_ms = 0;
};

// What the caller knows of a feed's stored items. kNoneStored (its first successful crawl, as
// far as the caller knows) sends the JSON in one HSET to a staging hash that becomes the feed's
// items hash, and the script's arguments ready for ZADD and XADD: 40 % less work for Redis than
// an HSETNX per item. A wrong guess costs a copy on the server, never an overwritten item: the
// result is the same either way.
enum class StoreHint { kMaybeStored, kNoneStored };

struct StoreItemsResult {
  uint32_t new_items = 0;          // items that were not stored before
  uint64_t total_items = 0;        // items stored for the feed afterwards
};

// Which of a feed's items are stored already (by key), and how many the feed has.
struct KnownItems {
  std::vector<bool> known;   // one per item asked about, in order
  uint64_t total_items = 0;  // items stored for the feed
};

struct ItemQuery {
  std::optional<uint64_t> feed_id; // all feeds when unset
  std::optional<int64_t> since_ms; // items whose time is at or after this
  size_t limit = 0;                // 0: no limit
};

// One worker's hash (P worker:<role>:<id>): role is "fetcher" or "processor".
struct WorkerHash {
  std::string role;
  std::string id;
  std::map<std::string, std::string> fields;
};

struct ItemRow {
  uint64_t feed_id = 0;
  std::string feed_url;
  std::string json;                // the item's JSON, decompressed if stored as a frame
  int64_t time_ms = 0;
};

class Store {
 public:
  Store(std::unique_ptr<RedisClient> redis, std::string prefix = "fc:");
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& redis_url,
                                               const std::string& prefix = "fc:");

  const std::string& prefix() const { return prefix_; }
  RedisClient& redis() { return *redis_; }

  // Feeds. AddFeeds is idempotent per URL (an existing URL keeps its id and state). New feeds
  // are due at once.
  StatusOr<AddFeedsResult> AddFeeds(const std::vector<std::string>& urls, int64_t now_ms);
  // Removes the feed, its state and its items. NotFound if unknown.
  Status RemoveFeed(const std::string& url);
  // The registry's version (P feeds:version): every change a running coordinator must pick up
  // (feeds added or removed, a status set, a URL moved) increments it together with the change,
  // so a coordinator reads the feed records again only when it moved. 0 before any change.
  StatusOr<uint64_t> FeedsVersion();
  StatusOr<std::vector<FeedRecord>> LoadFeeds();
  // Calls `visit` with every feed, reading them in batches, so memory stays bounded however many
  // feeds there are (LoadFeeds holds them all at once). Stops at the first Redis error. With
  // `fields`, only those are read (HMGET instead of HGETALL) and the others keep FeedRecord's
  // defaults: the coordinator's loads need 5 of the 29.
  Status ForEachFeed(const std::function<void(FeedRecord&&)>& visit,
                     const std::vector<std::string>& fields = {});
  // ForEachFeed in steps, for a reader that works between them: the ids of every feed (P feeds,
  // in id order), then the records of any part of them, read as ForEachFeed reads them (a feed
  // removed since the ids were read is skipped).
  StatusOr<std::vector<uint64_t>> FeedIds();
  Status ReadFeeds(const uint64_t* ids, size_t count,
                   const std::function<void(FeedRecord&&)>& visit,
                   const std::vector<std::string>& fields = {});
  StatusOr<std::optional<FeedRecord>> GetFeed(uint64_t id);
  // GetFeed for many feeds in one pipelined round trip: one entry per id, in order, nullopt for
  // a feed that is gone. Fails as a whole (nothing read) on a connection error.
  StatusOr<std::vector<std::optional<FeedRecord>>> GetFeeds(const std::vector<uint64_t>& ids);
  StatusOr<std::optional<uint64_t>> FindFeedId(const std::string& url);
  // Writes the whole record (P feed:<id>) in one round trip.
  // NotFound (and nothing written) when the feed is no longer in P feeds, e.g. it was removed
  // while its job was in flight: a late write must not bring a removed feed back.
  Status SaveFeed(const FeedRecord& feed);
  // Sets the status of the feed registered under `url` (active, paused or disabled). Making a
  // feed active (an operator's resume) also clears its failure streak and makes it due at
  // now_ms; a running coordinator adopts the change on its next feed reload. NotFound for an
  // unknown URL, InvalidArgument for another status.
  Status SetFeedStatus(const std::string& url, const std::string& status, int64_t now_ms);
  // Moves feed `id` to `new_url` (a confirmed permanent redirect): the URL index follows, the id,
  // state and items stay. AlreadyExists (and nothing changed) when new_url is another feed's.
  Status UpdateFeedUrl(uint64_t id, const std::string& old_url, const std::string& new_url);

  // Items. Stores each item whose key is new for the feed, leaves existing ones untouched, in
  // one round trip (an HSETNX per item, or one HSET of a staging hash under kNoneStored, then a
  // server-side script that records which keys were new). Idempotent: storing the same items
  // twice adds nothing. Of a key repeated in `items`, the first is the one stored.
  StatusOr<StoreItemsResult> StoreItems(uint64_t feed_id, const std::vector<StoredItem>& items,
                                        StoreHint hint = StoreHint::kMaybeStored);
  // StoreItems in two halves, so that the caller can work (parse the next feed) while Redis
  // stores this one: SendStoreItems writes the call out and returns at once; ReceiveStoreItems
  // waits for and returns the result of the oldest call sent, so each Send is answered by one
  // Receive, in order. A failed Receive (connection lost, script unknown to the server) leaves
  // that call's items stored or not: repeat them with StoreItems, which is idempotent, after
  // every pending call has been received. No other method may be called while calls are
  // pending (they fail with Internal).
  Status SendStoreItems(uint64_t feed_id, const std::vector<StoredItem>& items,
                        StoreHint hint = StoreHint::kMaybeStored);
  StatusOr<StoreItemsResult> ReceiveStoreItems();
  // Item and known-items calls sent and not yet received.
  size_t pending_store_items() const;
  // Which of the items' keys the feed has stored (P items:<id>:order, which the item script
  // writes with the hash), so that a feed that changed by a few items sends only those. It reads
  // no JSON. Send/Receive pipeline like SendStoreItems/ReceiveStoreItems, on the same connection
  // and in the same order; FindKnownItems waits for its answer. `stored_hint` is how many items
  // the caller believes the feed has stored: up to kWholeOrderSetMax, the whole order set is read
  // (ZRANGE) and the keys looked up here, which costs Redis a fraction of asking for each key's
  // score (ZMSCORE, then ZCARD), the question for a larger set or without a hint. In a compact
  // set (a listpack) Redis finds each key by a scan. Either way the answer is the same.
  Status SendKnownItems(uint64_t feed_id, const std::vector<StoredItem>& items,
                        std::optional<uint64_t> stored_hint = std::nullopt);
  StatusOr<KnownItems> ReceiveKnownItems();
  StatusOr<KnownItems> FindKnownItems(uint64_t feed_id, const std::vector<StoredItem>& items,
                                      std::optional<uint64_t> stored_hint = std::nullopt);
  // The most items a feed may be believed to have stored for SendKnownItems to read its whole
  // order set: Redis's zset-max-listpack-entries default, the sets it keeps compact.
  static constexpr uint64_t kWholeOrderSetMax = 128;
  // Rows come oldest first within a feed (ties by item key); across feeds, feed by feed in id
  // order. `limit` therefore keeps the oldest matching items; use since_ms to page forward.
  StatusOr<std::vector<ItemRow>> QueryItems(const ItemQuery& query);
  // The same rows passed to `visit` as they are read, 200 feeds per round trip: memory holds one
  // such group's items, however many the query matches. An error can come after some rows.
  Status ForEachItem(const ItemQuery& query, const std::function<void(ItemRow&&)>& visit);

  // Stats: the coordinator replaces the whole hash; readers get it as a map.
  Status WriteStats(const std::map<std::string, std::string>& stats);
  StatusOr<std::map<std::string, std::string>> ReadStats();

  // The Stream of new items (P stream:items): StoreItems appends one entry per call that stored
  // new items (per 1,000 of them), naming them, capped at about max_len entries (XTRIM MAXLEN ~
  // after each call); 0 (the default of a Store) turns the stream off. The processor turns it on
  // with kDefaultItemStreamMaxLen unless told otherwise.
  static constexpr uint64_t kDefaultItemStreamMaxLen = 100'000;
  void set_item_stream_max_len(uint64_t max_len) { item_stream_max_len_ = max_len; }

  // The form StoreItems gives new items' values (common/item_codec.h): their JSON text (kNone,
  // the default) or an LZ4 frame of it. Readers take either, so a store may switch at any time;
  // QueryItems always returns JSON.
  void set_item_compression(ItemCompression compression) { item_compression_ = compression; }

  // Host numbers (P stats:hosts): replaced whole, like P stats. Values are small JSON objects.
  Status WriteHostStats(const std::map<std::string, std::string>& hosts);
  StatusOr<std::map<std::string, std::string>> ReadHostStats();

  // Worker hashes: each is written whole with a TTL of ttl_ms, so a worker that dies without a
  // word disappears by itself; P workers indexes the live ones without a SCAN. One round trip.
  Status WriteWorkers(const std::vector<WorkerHash>& workers, int64_t ttl_ms, int64_t now_ms);
  // Every worker whose hash has not expired at now_ms, ordered by role then id.
  StatusOr<std::vector<WorkerHash>> ReadWorkers(int64_t now_ms);
  // Removes a worker's hash at once (a clean shutdown).
  Status DeleteWorker(const std::string& role, const std::string& id);

  // Increments and returns the coordinator epoch (makes job ids unique across restarts).
  StatusOr<uint64_t> NextCoordinatorEpoch();
  // Removes the keys that databases written by earlier versions hold and nothing maintains any
  // more: P schedule, a sorted set of every feed's next due time that each report updated
  // (docs/REDIS.md, "Keys"). UNLINK frees a large one in the background.
  Status RemoveRetiredKeys();

  // The --once run (P run); nullopt when no run was ever started.
  StatusOr<std::optional<RunRecord>> GetRun();
  // Replaces P run whole and atomically (a new run, or a resumed one with its feed count).
  Status WriteRun(const RunRecord& run);
  // Sets the state (finished, abandoned) and finished_ms of run `run_id`. NotFound, and nothing
  // changed, when P run holds another run.
  Status EndRun(uint64_t run_id, const std::string& state, int64_t now_ms);
  // SaveFeed for a report of run `run_id`: writes the record with run_id set and adds `counters`
  // to P run, in one script. The counters are added only when the feed was not yet marked with
  // this run and P run is this run, so a retried write never counts twice.
  // Returns whether they were added; NotFound (nothing written) like SaveFeed.
  StatusOr<bool> SaveFeedInRun(const FeedRecord& feed, uint64_t run_id,
                               const std::map<std::string, int64_t>& counters);
  // SaveFeed / SaveFeedInRun for many feeds in one pipelined round trip: one script call saves
  // up to 128 feeds of the same run (removed feeds and run counting behave exactly as alone).
  // Returns one result per save, in order. A failed call (connection lost) may have written any
  // of them: repeating the saves is safe, a run's counters are still added once per feed.
  StatusOr<std::vector<FeedSaveResult>> SaveFeeds(const std::vector<FeedSave>& saves);

 private:
  std::string Key(const std::string& suffix) const { return prefix_ + suffix; }
  // Appends one feed's part of the save script's arguments: id, next_due_ms, the counter and
  // field counts, the counters (run saves), the fields to write.
  void AppendSaveArgs(const FeedSave& save, std::vector<std::string>* argv) const;
  // What SendStoreItems writes for each item's value, in order: its JSON, or the frame of it in
  // encoded_items_ under compression (valid until the next call).
  std::vector<std::string_view> StoredValues(const std::vector<StoredItem>& items);
  // After a failed Append or Flush: reads off the `appended` replies the failure left lost, so
  // that the failed call takes no reply slot, and returns `failure`.
  Status DropAppended(size_t appended, Status failure);
  // Loads the item script and keeps its SHA1 when nothing is pending and it is not known yet.
  Status LoadStoreItemsScriptWhenIdle();
  // Loads a script once and keeps its SHA1 in *sha.
  Status LoadScript(const char* body, std::string* sha);
  // Runs a Lua script by its SHA1, loading it on first use and again after the server forgot it
  // (NOSCRIPT after a restart). `argv` holds the num_keys keys, then the arguments.
  StatusOr<RedisReply> RunScript(const char* body, std::string* sha, size_t num_keys,
                                 const std::vector<std::string>& argv);
  std::unique_ptr<RedisClient> redis_;
  std::string prefix_;
  std::string store_items_sha_;
  // The server answered NOSCRIPT: the next item call sends the script's text (EVAL).
  bool store_items_text_next_ = false;
  // Names this store's staging hashes: a random token, then a count of the calls.
  std::string staging_token_;
  uint64_t staged_calls_ = 0;
  // Replies owed to each item or known-items call still pending, oldest first.
  std::deque<size_t> pending_calls_;
  // The keys of each pending known-items call that reads the whole order set, oldest first
  // (such a call owes one reply; one asking for scores owes two).
  std::deque<std::vector<std::string>> whole_set_keys_;
  uint64_t item_stream_max_len_ = 0;
  ItemCompression item_compression_ = ItemCompression::kNone;
  // Under compression, the frames of one SendStoreItems call, end to end; it keeps its capacity
  // from call to call.
  std::string encoded_items_;
  std::string add_feeds_sha_;
  std::string save_feeds_sha_;
  std::string end_run_sha_;
};

}  // namespace feedcrawl
