// The Redis item store: Store::StoreItems with batches of 20 items of ~1.7 KB JSON (one feed of
// ~35 KB), against a private redis-server on a unix socket that the benchmark starts and stops.
// "new" stores items never seen (a first crawl); "existing" stores the same batch again (a
// changed feed whose items are already known), which must write nothing. "pipelined" keeps
// several calls in flight on the connection, as the processor does. SaveFeeds is the
// coordinator's side: the feed states of one flush of 512 reports of a --once run; ForEachFeed
// its load of every feed at start and at each reload.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/redis_cpu.h"
#include "common/store.h"
#include "tests/support/redis_server.h"

namespace feedcrawl {
namespace {

constexpr size_t kItemsPerBatch = 20;
constexpr size_t kItemJsonBytes = 1700;
// The server is emptied this often so that long runs do not grow it without bound.
constexpr int64_t kFlushEveryBatches = 4000;

std::vector<StoredItem> Batch(uint64_t feed_id) {
  std::vector<StoredItem> items;
  items.reserve(kItemsPerBatch);
  for (size_t i = 0; i < kItemsPerBatch; ++i) {
    StoredItem item;
    item.key = "https://h" + std::to_string(feed_id % 10'000) + ".example.org/posts/" +
               std::to_string(feed_id) + "-" + std::to_string(i);
    item.json = R"({"key":")" + item.key + R"(","title":"Заметка №)" + std::to_string(i) +
                R"( — notes","link":")" + item.key + R"(","content":")";
    item.json.append(kItemJsonBytes - item.json.size() - 2, 'x');
    item.json += "\"}";
    item.time_ms = 1'700'000'000'000 + static_cast<int64_t>(i) * 60'000;
    items.push_back(std::move(item));
  }
  return items;
}

class RedisFixture {
 public:
  // Starts the server on first use; it is stopped when the process exits.
  static RedisFixture& Get() {
    static RedisFixture fixture;
    return fixture;
  }
  bool ok() const { return store_ != nullptr; }
  const std::string& error() const { return error_; }
  Store& store() { return *store_; }
  Status Flush() { return store_->redis().Command({"FLUSHALL"}).status(); }

 private:
  RedisFixture() {
    IgnoreSigpipeForGood();  // as every role does: no signal-mask calls around each command
    Status s = server_.Start();
    if (!s.ok()) {
      error_ = s.ToString();
      return;
    }
    auto store = Store::Open(server_.Url());
    if (!store.ok()) {
      error_ = store.status().ToString();
      return;
    }
    store_ = std::move(*store);
  }
  testing::RedisServer server_;
  std::unique_ptr<Store> store_;
  std::string error_;
};

// Empties the server for a benchmark; false (and the benchmark skipped) when there is none.
bool Emptied(RedisFixture& redis, benchmark::State& state) {
  Status s = redis.ok() ? redis.Flush() : Status::Unavailable(redis.error());
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  return s.ok();
}

// The server's CPU time over the timed part of a benchmark: Pause() before and Resume() after
// untimed work (emptying the server), Total() at the end.
class ServerCpu {
 public:
  explicit ServerCpu(Store& store) : store_(store), since_(ServerCpuSeconds(store.redis())) {}
  void Pause() { total_ += ServerCpuSeconds(store_.redis()) - since_; }
  void Resume() { since_ = ServerCpuSeconds(store_.redis()); }
  double Total() {
    Pause();
    return total_;
  }

 private:
  Store& store_;
  double since_;
  double total_ = 0;
};

// The server's CPU per stored batch (one feed's items), as the counter server_us_per_feed.
void SetServerCpu(benchmark::State& state, double seconds) {
  if (seconds >= 0 && state.iterations() > 0) {
    state.counters["server_us_per_feed"] =
        seconds * 1e6 / static_cast<double>(state.iterations());
  }
}

void BM_StoreItems(benchmark::State& state) {
  const bool existing = state.range(0) != 0;
  RedisFixture& redis = RedisFixture::Get();
  if (!Emptied(redis, state)) return;
  // Batches are built ahead so the loop times the store, not the JSON text.
  constexpr uint64_t kDistinctBatches = 512;
  std::vector<std::vector<StoredItem>> batches;
  for (uint64_t feed = 1; feed <= kDistinctBatches; ++feed) batches.push_back(Batch(feed));
  uint64_t feed = 0;
  int64_t since_flush = 0;
  ServerCpu server(redis.store());
  for (auto _ : state) {
    ++feed;
    const std::vector<StoredItem>& batch = batches[feed % kDistinctBatches];
    // New items need a new feed id every time; existing ones reuse a small set of feeds.
    const uint64_t feed_id = existing ? 1 + feed % 8 : feed;
    StatusOr<StoreItemsResult> result = redis.store().StoreItems(feed_id, batch);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      break;
    }
    if (++since_flush == kFlushEveryBatches && !existing) {
      state.PauseTiming();
      server.Pause();
      (void)redis.Flush();
      server.Resume();
      since_flush = 0;
      state.ResumeTiming();
    }
  }
  SetServerCpu(state, server.Total());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kItemsPerBatch));
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(kItemsPerBatch * kItemJsonBytes));
}
BENCHMARK(BM_StoreItems)->ArgName("existing")->Arg(0)->Arg(1)->UseRealTime();

// New items through SendStoreItems / ReceiveStoreItems with up to `depth` calls in flight, as
// the processor does: the client formats the next call while Redis runs the previous ones.
// first_store:1 sends them as a feed's first store (StoreHint::kNoneStored: one HSET of a
// staging hash), as the processor does when the job carries no body digest.
void BM_StoreItemsPipelined(benchmark::State& state) {
  const size_t depth = static_cast<size_t>(state.range(0));
  const StoreHint hint = state.range(1) != 0 ? StoreHint::kNoneStored : StoreHint::kMaybeStored;
  RedisFixture& redis = RedisFixture::Get();
  if (!Emptied(redis, state)) return;
  constexpr uint64_t kDistinctBatches = 512;
  std::vector<std::vector<StoredItem>> batches;
  for (uint64_t feed = 1; feed <= kDistinctBatches; ++feed) batches.push_back(Batch(feed));
  uint64_t feed = 0;
  int64_t since_flush = 0;
  Store& store = redis.store();
  ServerCpu server(store);
  auto receive = [&state, &store]() {
    StatusOr<StoreItemsResult> result = store.ReceiveStoreItems();
    if (!result.ok()) state.SkipWithError(result.status().ToString().c_str());
    return result.ok();
  };
  for (auto _ : state) {
    ++feed;
    if (Status s = store.SendStoreItems(feed, batches[feed % kDistinctBatches], hint); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    if (store.pending_store_items() >= depth && !receive()) break;
    if (++since_flush == kFlushEveryBatches) {
      state.PauseTiming();
      while (store.pending_store_items() > 0 && receive()) {
      }
      server.Pause();
      (void)redis.Flush();
      server.Resume();
      since_flush = 0;
      state.ResumeTiming();
    }
  }
  while (store.pending_store_items() > 0 && receive()) {
  }
  SetServerCpu(state, server.Total());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kItemsPerBatch));
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(kItemsPerBatch * kItemJsonBytes));
}
BENCHMARK(BM_StoreItemsPipelined)
    ->ArgNames({"depth", "first_store"})
    ->Args({1, 0})
    ->Args({8, 0})
    ->Args({8, 1})
    ->UseRealTime();

// A registered feed's state after a successful fetch.
FeedRecord Crawled(FeedRecord feed) {
  feed.title = "Feed number " + std::to_string(feed.id);
  feed.etag = "W/\"" + std::to_string(feed.id * 7919) + "\"";
  feed.last_modified = "Tue, 01 Dec 2026 10:00:00 GMT";
  feed.last_fetch_ms = feed.last_ok_ms = 1'700'000'000'000;
  feed.last_status = 200;
  feed.last_outcome = "ok";
  feed.fetches = 40;
  feed.items_total = 20;
  feed.interval_ms = 3'600'000;
  feed.body_digest = std::string(32, 'a');
  return feed;
}

// Registers `urls` and returns a save per feed whose state is Crawled(). Without `stored` the
// saves write every field (the fixtures of feeds fetched before); with it each carries the record
// as read after the import, as the coordinator saves a feed's first report.
StatusOr<std::vector<FeedSave>> CrawledSaves(Store& store, const std::vector<std::string>& urls,
                                             bool stored = false) {
  StatusOr<AddFeedsResult> added = store.AddFeeds(urls, 1'700'000'000'000);
  if (!added.ok()) return added.status();
  StatusOr<std::vector<std::optional<FeedRecord>>> records = store.GetFeeds(added->ids);
  if (!records.ok()) return records.status();
  std::vector<FeedSave> saves(records->size());
  for (size_t i = 0; i < saves.size(); ++i) {
    if (!(*records)[i]) return Status::Internal("a feed just registered is gone");
    saves[i].feed = Crawled(*(*records)[i]);
    if (stored) saves[i].stored = std::move((*records)[i]);
  }
  return saves;
}

// `count` feed URLs from number `first` on, spread over 97 hosts.
std::vector<std::string> FeedUrls(size_t first, size_t count) {
  std::vector<std::string> urls;
  urls.reserve(count);
  for (size_t i = first; i < first + count; ++i) {
    urls.push_back("https://h" + std::to_string(i % 97) + ".example.org/feed/" +
                   std::to_string(i) + ".xml");
  }
  return urls;
}

// One flush of the coordinator's reports: 512 feed states of a --once run, each a 304's (fetch
// time, due time, counters, outcome), with their run counters. changed_only 1 gives the records
// read at dispatch, so only the fields a 304 changes are written, as the coordinator does;
// 0 writes every field. Each iteration is a new run, so every save is counted.
void BM_SaveFeeds(benchmark::State& state) {
  const bool changed_only = state.range(0) != 0;
  constexpr size_t kReports = 512;
  RedisFixture& redis = RedisFixture::Get();
  if (!Emptied(redis, state)) return;
  Store& store = redis.store();
  // Feeds crawled before, their records written whole.
  StatusOr<std::vector<FeedSave>> crawled = CrawledSaves(store, FeedUrls(0, kReports));
  if (!crawled.ok()) {
    state.SkipWithError(crawled.status().ToString().c_str());
    return;
  }
  std::vector<FeedSave> saves = std::move(*crawled);
  if (StatusOr<std::vector<FeedSaveResult>> r = store.SaveFeeds(saves); !r.ok()) {
    state.SkipWithError(r.status().ToString().c_str());
    return;
  }
  uint64_t run_id = 0;
  const double cpu_before = ServerCpuSeconds(store.redis());
  for (auto _ : state) {
    state.PauseTiming();
    RunRecord run;
    run.id = ++run_id;
    Status written = store.WriteRun(run);
    for (FeedSave& save : saves) {
      save.stored.reset();
      if (changed_only) save.stored = save.feed;
      save.feed.last_fetch_ms += 3'600'000;
      save.feed.next_due_ms = save.feed.last_fetch_ms + 3'600'000;
      save.feed.last_status = 304;
      save.feed.last_outcome = "not_modified";
      save.feed.items_new_last = 0;
      ++save.feed.fetches;
      save.run_id = run.id;
      save.counters = {{"done", 1}, {"not_modified", 1}, {"run_job_latency_bucket_5", 1}};
    }
    state.ResumeTiming();
    StatusOr<std::vector<FeedSaveResult>> results = store.SaveFeeds(saves);
    if (!written.ok() || !results.ok()) {
      state.SkipWithError((written.ok() ? results.status() : written).ToString().c_str());
      break;
    }
    for (FeedSave& save : saves) save.feed.run_id = run.id;
  }
  const double cpu_after = ServerCpuSeconds(store.redis());
  const double feeds = static_cast<double>(state.iterations() * kReports);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kReports));
  if (cpu_before >= 0 && cpu_after >= 0 && feeds > 0) {
    // Includes the untimed WriteRun of each iteration (one small command per 512 feeds).
    state.counters["server_us_per_feed"] = (cpu_after - cpu_before) * 1e6 / feeds;
  }
}
BENCHMARK(BM_SaveFeeds)->ArgName("changed_only")->Arg(0)->Arg(1)->UseRealTime();

// The first reports of 512 feeds just imported, as one flush of a --once run: each record read
// as the coordinator reads it at dispatch, then saved with the state a successful first fetch
// gives it (Crawled(), fetched once). stored 1 passes that record, so only the fields the fetch
// set are written, as the coordinator does; 0 writes every field. Counters: the server's CPU per
// feed state, and the bytes Redis keeps per record afterwards (MEMORY USAGE, averaged).
void BM_FirstSaves(benchmark::State& state) {
  const bool with_stored = state.range(0) != 0;
  constexpr size_t kReports = 512;
  RedisFixture& redis = RedisFixture::Get();
  if (!Emptied(redis, state)) return;
  Store& store = redis.store();
  RunRecord run;
  run.id = 1;
  if (Status s = store.WriteRun(run); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  ServerCpu cpu(store);
  std::vector<FeedSave> saves;
  size_t imported = 0;
  for (auto _ : state) {
    state.PauseTiming();
    cpu.Pause();
    StatusOr<std::vector<FeedSave>> first =
        CrawledSaves(store, FeedUrls(imported, kReports), with_stored);
    imported += kReports;
    if (!first.ok()) {
      state.SkipWithError(first.status().ToString().c_str());
      break;
    }
    saves = std::move(*first);
    for (FeedSave& save : saves) {
      save.feed.fetches = 1;
      save.feed.next_due_ms = save.feed.last_fetch_ms + 3'600'000;
      save.run_id = run.id;
      save.counters = {{"done", 1}, {"ok", 1}, {"items_new", 20}, {"bytes", 36'000}};
    }
    cpu.Resume();
    state.ResumeTiming();
    StatusOr<std::vector<FeedSaveResult>> results = store.SaveFeeds(saves);
    if (!results.ok()) {
      state.SkipWithError(results.status().ToString().c_str());
      break;
    }
  }
  const double seconds = cpu.Total();
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kReports));
  if (seconds >= 0 && state.iterations() > 0) {
    state.counters["server_us_per_feed"] =
        seconds * 1e6 / static_cast<double>(state.iterations() * kReports);
  }
  int64_t bytes = 0, sampled = 0;
  for (size_t i = 0; i < saves.size() && i < 64; ++i) {
    StatusOr<RedisReply> usage = store.redis().Command(
        {"MEMORY", "USAGE", "fc:feed:" + std::to_string(saves[i].feed.id)});
    if (!usage.ok() || usage->IsError()) continue;
    bytes += usage->integer;
    ++sampled;
  }
  if (sampled > 0) state.counters["record_bytes"] = static_cast<double>(bytes) / sampled;
}
BENCHMARK(BM_FirstSaves)->ArgName("stored")->Arg(0)->Arg(1)->UseRealTime();

// The coordinator's load of every feed (at start, and at each reload of a continuous
// coordinator): `feeds` feeds crawled before (29 fields each), read whole (fields 0) or only the
// five fields the coordinator loads (fields 1). The loop holds the coordinator for this long.
void BM_ForEachFeed(benchmark::State& state) {
  const bool some_fields = state.range(0) != 0;
  const size_t feeds = static_cast<size_t>(state.range(1));
  constexpr size_t kChunk = 10'000;
  RedisFixture& redis = RedisFixture::Get();
  if (!Emptied(redis, state)) return;
  Store& store = redis.store();
  // Registered and saved once, in chunks, so the client never holds every record.
  for (size_t first = 0; first < feeds; first += kChunk) {
    std::vector<std::string> urls;
    for (size_t i = first; i < std::min(feeds, first + kChunk); ++i) {
      urls.push_back("https://h" + std::to_string(i / 3) + ".example.org/feed/" +
                     std::to_string(i) + ".xml");
    }
    StatusOr<std::vector<FeedSave>> saves = CrawledSaves(store, urls);
    StatusOr<std::vector<FeedSaveResult>> saved =
        saves.ok() ? store.SaveFeeds(*saves) : saves.status();
    if (!saved.ok()) {
      state.SkipWithError(saved.status().ToString().c_str());
      return;
    }
  }
  const std::vector<std::string> fields =
      some_fields ? std::vector<std::string>{"url", "status", "next_due_ms", "run_id", "items_total"}
                  : std::vector<std::string>{};
  for (auto _ : state) {
    uint64_t seen = 0;
    Status s = store.ForEachFeed([&seen](FeedRecord&& feed) { seen += feed.id != 0; }, fields);
    if (!s.ok() || seen != feeds) {
      state.SkipWithError(s.ok() ? "a feed was not read" : s.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(feeds));
  (void)redis.Flush();
}
// The 1,000,000-feed cases take about a minute each to set up and ~1 GB of Redis memory;
// --benchmark_filter='ForEachFeed/.*/feeds:100000/' leaves them out.
BENCHMARK(BM_ForEachFeed)
    ->ArgNames({"fields", "feeds"})
    ->Args({0, 100'000})
    ->Args({1, 100'000})
    ->Args({0, 1'000'000})
    ->Args({1, 1'000'000})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace feedcrawl

BENCHMARK_MAIN();
