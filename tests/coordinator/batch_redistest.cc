// Batched store round trips of the coordinator, against a real redis-server. First the store's
// batch calls (GetFeeds, SaveFeeds) on their own; then a coordinator over real ZeroMQ sockets,
// with the test playing fetchers and processor and a FakeClock driving time: more feeds than one
// dispatch batch, feeds removed or unreadable when taken, a fetcher gone when its jobs are sent,
// and the job latency published in P stats, the metrics and P run.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "common/messages.h"
#include "common/metrics.h"
#include "common/store.h"
#include "coordinator/coordinator.h"
#include "coordinator/latency_histogram.h"
#include "tests/coordinator/control_peer.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

namespace v1 = feedcrawl::v1;
using testing::RedisServer;

std::vector<std::string> Urls(int n, int hosts = 3) {
  std::vector<std::string> urls;
  for (int i = 0; i < n; ++i) {
    urls.push_back("http://h" + std::to_string(i % hosts) + ".test/" + std::to_string(i));
  }
  return urls;
}

class StoreBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
    ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds(Urls(5), 1000));
    ids_ = added.ids;
  }

  // A report's save as the coordinator builds it: the state derived from the record read at
  // dispatch, with that record given as stored.
  FeedSave SaveFromStored(uint64_t id) {
    FeedSave save;
    StatusOr<std::optional<FeedRecord>> stored = store_->GetFeed(id);
    EXPECT_TRUE(stored.ok() && stored->has_value()) << id;
    if (stored.ok() && stored->has_value()) save.stored = save.feed = **stored;
    return save;
  }

  RedisReply Raw(const std::vector<std::string>& argv) {
    StatusOr<RedisReply> r = store_->redis().Command(argv);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RedisReply{};
  }

  RedisServer redis_;
  std::unique_ptr<Store> store_;
  std::vector<uint64_t> ids_;
};

TEST_F(StoreBatchTest, GetFeedsReadsEveryRecordInOrderAndNulloptForGoneOnes) {
  ASSERT_OK(store_->RemoveFeed("http://h1.test/1"));
  std::vector<uint64_t> wanted = {ids_[4], ids_[1], 999, ids_[0]};
  ASSERT_OK_AND_ASSIGN(auto feeds, store_->GetFeeds(wanted));
  ASSERT_EQ(feeds.size(), 4u);
  ASSERT_TRUE(feeds[0].has_value());
  EXPECT_EQ(feeds[0]->id, ids_[4]);
  EXPECT_EQ(feeds[0]->url, "http://h1.test/4");
  EXPECT_FALSE(feeds[1].has_value()) << "removed feed";
  EXPECT_FALSE(feeds[2].has_value()) << "unknown id";
  ASSERT_TRUE(feeds[3].has_value());
  EXPECT_EQ(feeds[3]->url, "http://h0.test/0");
  ASSERT_OK_AND_ASSIGN(auto none, store_->GetFeeds({}));
  EXPECT_TRUE(none.empty());
}

TEST_F(StoreBatchTest, SaveFeedsWritesEachStateAndReportsRemovedFeeds) {
  ASSERT_OK_AND_ASSIGN(auto feeds, store_->GetFeeds(ids_));
  std::vector<FeedSave> saves;
  for (auto& feed : feeds) {
    FeedSave save;
    save.feed = *feed;
    save.feed.etag = "\"e" + std::to_string(feed->id) + "\"";
    save.feed.next_due_ms = 5000 + static_cast<int64_t>(feed->id);
    saves.push_back(std::move(save));
  }
  ASSERT_OK(store_->RemoveFeed("http://h2.test/2"));
  ASSERT_OK_AND_ASSIGN(auto results, store_->SaveFeeds(saves));
  ASSERT_EQ(results.size(), saves.size());
  for (size_t i = 0; i < saves.size(); ++i) {
    const uint64_t id = saves[i].feed.id;
    ASSERT_OK_AND_ASSIGN(auto stored, store_->GetFeed(id));
    if (id == ids_[2]) {
      EXPECT_TRUE(results[i].status.IsNotFound()) << results[i].status.ToString();
      EXPECT_FALSE(stored.has_value()) << "a late write brought a removed feed back";
      continue;
    }
    EXPECT_OK(results[i].status);
    EXPECT_FALSE(results[i].counted);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->etag, saves[i].feed.etag);
    EXPECT_EQ(stored->next_due_ms, saves[i].feed.next_due_ms);
  }
}

TEST_F(StoreBatchTest, RunSavesCountOncePerFeedAndSurviveAForgottenScript) {
  RunRecord run;
  run.id = 7;
  run.counters = {{"feeds", 5}};
  ASSERT_OK(store_->WriteRun(run));
  ASSERT_OK_AND_ASSIGN(auto feeds, store_->GetFeeds(ids_));
  std::vector<FeedSave> saves;
  for (size_t i = 0; i < feeds.size(); ++i) {
    FeedSave save;
    save.feed = *feeds[i];
    // Three feeds in the run, two plain saves (a continuous coordinator's), in one batch.
    if (i < 3) {
      save.run_id = 7;
      save.counters = {{"done", 1}, {"ok", 1}};
    }
    saves.push_back(std::move(save));
  }
  ASSERT_OK_AND_ASSIGN(auto first, store_->SaveFeeds(saves));
  for (size_t i = 0; i < saves.size(); ++i) {
    EXPECT_OK(first[i].status);
    EXPECT_EQ(first[i].counted, i < 3) << i;
  }
  // The server forgets its scripts (as after a restart); the batch is repeated, as after a lost
  // reply: written again, counted no more.
  ASSERT_OK_AND_ASSIGN(auto flushed, store_->redis().Command({"SCRIPT", "FLUSH"}));
  ASSERT_FALSE(flushed.IsError());
  ASSERT_OK_AND_ASSIGN(auto second, store_->SaveFeeds(saves));
  for (size_t i = 0; i < saves.size(); ++i) {
    EXPECT_OK(second[i].status);
    EXPECT_FALSE(second[i].counted) << i;
  }
  ASSERT_OK_AND_ASSIGN(auto stored_run, store_->GetRun());
  ASSERT_TRUE(stored_run.has_value());
  EXPECT_EQ(stored_run->counters["done"], 3u);
  EXPECT_EQ(stored_run->counters["ok"], 3u);
  for (size_t i = 0; i < saves.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(auto stored, store_->GetFeed(saves[i].feed.id));
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->run_id, i < 3 ? 7u : 0u) << i;
  }
}

TEST_F(StoreBatchTest, ASaveFromTheStoredRecordWritesOnlyWhatChangedAndKeepsOtherEdits) {
  // A feed fetched once: its hash holds every field.
  ASSERT_OK_AND_ASSIGN(auto first, store_->GetFeed(ids_[0]));
  ASSERT_TRUE(first.has_value());
  first->last_fetch_ms = 2000;
  first->fetches = 1;
  first->title = "Feed title";
  ASSERT_OK(store_->SaveFeed(*first));
  // The coordinator reads it at dispatch and derives the report's state from it.
  FeedSave save = SaveFromStored(ids_[0]);
  save.feed.last_fetch_ms = 3000;
  save.feed.fetches = 2;
  save.feed.next_due_ms = 9000;
  // Meanwhile an operator pauses the feed and someone edits its title by hand.
  const std::string key = "fc:feed:" + std::to_string(ids_[0]);
  ASSERT_OK_AND_ASSIGN(auto edited,
                       store_->redis().Command({"HSET", key, "status", "paused", "title", "x"}));
  ASSERT_FALSE(edited.IsError());
  ASSERT_OK_AND_ASSIGN(auto results, store_->SaveFeeds({save}));
  ASSERT_OK(results[0].status);
  ASSERT_OK_AND_ASSIGN(auto after, store_->GetFeed(ids_[0]));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->last_fetch_ms, 3000);
  EXPECT_EQ(after->fetches, 2u);
  EXPECT_EQ(after->next_due_ms, 9000);
  EXPECT_EQ(after->status, "paused") << "the save wrote a field it did not change";
  EXPECT_EQ(after->title, "x");
  // Without the stored record the whole state is written, the edits included.
  save.stored.reset();
  ASSERT_OK_AND_ASSIGN(results, store_->SaveFeeds({save}));
  ASSERT_OK(results[0].status);
  ASSERT_OK_AND_ASSIGN(after, store_->GetFeed(ids_[0]));
  EXPECT_EQ(after->status, "active");
  EXPECT_EQ(after->title, "Feed title");
}

TEST_F(StoreBatchTest, TheFirstSaveWritesWhatTheFetchSetAndAFieldBackAtZeroIsWritten) {
  const std::string key = "fc:feed:" + std::to_string(ids_[1]);
  auto field_count = [&] { return Raw({"HLEN", key}).integer; };
  auto has = [&](const char* field) { return Raw({"HEXISTS", key, field}).integer == 1; };
  const int64_t imported = field_count();
  // A first fetch that failed: what it set is written, what it left at zero is not.
  FeedSave failed = SaveFromStored(ids_[1]);
  failed.feed.last_fetch_ms = 3000;
  failed.feed.next_due_ms = 9000;
  failed.feed.last_status = 503;
  failed.feed.last_outcome = "http_error";
  failed.feed.last_error = "HTTP 503";
  failed.feed.consecutive_failures = 1;
  failed.feed.fetches = 1;
  failed.feed.failures = 1;
  failed.feed.transient_failures = 1;
  ASSERT_OK_AND_ASSIGN(auto results, store_->SaveFeeds({failed}));
  ASSERT_OK(results[0].status);
  EXPECT_EQ(field_count(), imported + 8) << "the import's fields and the eight the fetch set";
  for (const char* zero : {"title", "etag", "last_ok_ms", "items_total", "permanent_failures",
                           "redirect_url", "body_digest", "run_id"}) {
    EXPECT_FALSE(has(zero)) << zero;
  }
  ASSERT_OK_AND_ASSIGN(auto after_failure, store_->GetFeed(ids_[1]));
  ASSERT_TRUE(after_failure.has_value());
  EXPECT_EQ(after_failure->url, failed.feed.url);
  EXPECT_EQ(after_failure->status, "active");
  EXPECT_EQ(after_failure->last_error, "HTTP 503");
  EXPECT_EQ(after_failure->consecutive_failures, 1u);
  EXPECT_EQ(after_failure->items_total, 0u);
  EXPECT_TRUE(after_failure->etag.empty());
  // The next fetch succeeds: the streak and the error go back to zero, and those zeros are
  // written, since the hash holds other values now.
  FeedSave ok = SaveFromStored(ids_[1]);
  ok.feed.last_fetch_ms = 4000;
  ok.feed.last_ok_ms = 4000;
  ok.feed.last_status = 200;
  ok.feed.last_outcome = "ok";
  ok.feed.last_error.clear();
  ok.feed.consecutive_failures = 0;
  ok.feed.fetches = 2;
  ok.feed.items_total = 20;
  ok.feed.title = "Feed title";
  ASSERT_OK_AND_ASSIGN(results, store_->SaveFeeds({ok}));
  ASSERT_OK(results[0].status);
  EXPECT_TRUE(has("last_error")) << "an error back at empty must overwrite the old one";
  EXPECT_EQ(Raw({"HGET", key, "consecutive_failures"}).str, "0");
  EXPECT_EQ(Raw({"HGET", key, "last_error"}).str, "");
  EXPECT_EQ(Raw({"HGET", key, "failures"}).str, "1");
  EXPECT_FALSE(has("etag"));
  ASSERT_OK_AND_ASSIGN(auto after_ok, store_->GetFeed(ids_[1]));
  ASSERT_TRUE(after_ok.has_value());
  EXPECT_EQ(after_ok->consecutive_failures, 0u);
  EXPECT_TRUE(after_ok->last_error.empty());
  EXPECT_EQ(after_ok->items_total, 20u);
  EXPECT_EQ(after_ok->title, "Feed title");
  EXPECT_EQ(after_ok->transient_failures, 1u);
}

TEST_F(StoreBatchTest, ManyRunSavesSumTheirCountersOnceAcrossScriptCalls) {
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds(Urls(300, 7), 1000));
  RunRecord run;
  run.id = 9;
  ASSERT_OK(store_->WriteRun(run));
  ASSERT_OK_AND_ASSIGN(auto feeds, store_->GetFeeds(added.ids));
  std::vector<FeedSave> saves;
  // 300 feeds are three calls of the script; a call's 128 x 1e15 bytes is a sum Redis would
  // pass to HINCRBY as 1.28e+17 if it were left to format the number.
  for (auto& feed : feeds) {
    FeedSave save;
    save.stored = *feed;
    save.feed = *feed;
    save.feed.last_fetch_ms = 4000;
    save.run_id = 9;
    save.counters = {{"done", 1}, {"bytes", 1'000'000'000'000'000}};
    saves.push_back(std::move(save));
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSERT_OK_AND_ASSIGN(auto results, store_->SaveFeeds(saves));
    ASSERT_EQ(results.size(), saves.size());
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_OK(results[i].status);
      EXPECT_EQ(results[i].counted, attempt == 0) << i;
    }
    ASSERT_OK_AND_ASSIGN(auto stored_run, store_->GetRun());
    ASSERT_TRUE(stored_run.has_value());
    EXPECT_EQ(stored_run->counters["done"], 300u);
    EXPECT_EQ(stored_run->counters["bytes"], 300'000'000'000'000'000u);
  }
  for (uint64_t id : added.ids) {
    ASSERT_OK_AND_ASSIGN(auto stored, store_->GetFeed(id));
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->run_id, 9u);
    EXPECT_EQ(stored->last_fetch_ms, 4000);
  }
}

TEST_F(StoreBatchTest, ARecordThatIsNotAHashFailsAloneAndTheRestAreSavedAndCounted) {
  RunRecord run;
  run.id = 4;
  ASSERT_OK(store_->WriteRun(run));
  ASSERT_OK_AND_ASSIGN(auto feeds, store_->GetFeeds(ids_));
  const std::string broken = "fc:feed:" + std::to_string(ids_[2]);
  ASSERT_OK_AND_ASSIGN(auto replaced, store_->redis().Pipeline(
                                          {{"DEL", broken}, {"SET", broken, "not a record"}}));
  std::vector<FeedSave> saves;
  for (auto& feed : feeds) {
    FeedSave save;
    save.feed = *feed;
    save.feed.etag = "\"v2\"";
    save.run_id = 4;
    save.counters = {{"done", 1}};
    saves.push_back(std::move(save));
  }
  ASSERT_OK_AND_ASSIGN(auto results, store_->SaveFeeds(saves));
  for (size_t i = 0; i < saves.size(); ++i) {
    if (i == 2) {
      EXPECT_FALSE(results[i].status.ok());
      EXPECT_NE(results[i].status.ToString().find("not a hash"), std::string::npos)
          << results[i].status.ToString();
      EXPECT_FALSE(results[i].counted);
      continue;
    }
    EXPECT_OK(results[i].status);
    EXPECT_TRUE(results[i].counted) << i;
    ASSERT_OK_AND_ASSIGN(auto stored, store_->GetFeed(ids_[i]));
    EXPECT_EQ(stored->etag, "\"v2\"");
  }
  ASSERT_OK_AND_ASSIGN(auto stored_run, store_->GetRun());
  EXPECT_EQ(stored_run->counters["done"], 4u);
  ASSERT_OK_AND_ASSIGN(auto value, store_->redis().Command({"GET", broken}));
  EXPECT_EQ(value.str, "not a record");
}

TEST_F(StoreBatchTest, ForEachFeedReadsEveryFeedOrOnlyTheFieldsAsked) {
  FeedSave save = SaveFromStored(ids_[3]);
  save.feed.last_fetch_ms = 3000;
  save.feed.next_due_ms = 7000;
  save.feed.items_total = 12;
  save.feed.title = "Three";
  ASSERT_OK_AND_ASSIGN(auto saved, store_->SaveFeeds({save}));
  ASSERT_OK(saved[0].status);
  ASSERT_OK(store_->RemoveFeed("http://h1.test/1"));
  std::map<uint64_t, FeedRecord> whole, some;
  ASSERT_OK(store_->ForEachFeed([&](FeedRecord&& f) { whole[f.id] = std::move(f); }));
  ASSERT_OK(store_->ForEachFeed([&](FeedRecord&& f) { some[f.id] = std::move(f); },
                                {"url", "next_due_ms", "items_total"}));
  for (const auto* read : {&whole, &some}) {
    ASSERT_EQ(read->size(), 4u);
    EXPECT_EQ(read->count(ids_[1]), 0u) << "a removed feed was read";
    const FeedRecord& three = read->at(ids_[3]);
    EXPECT_EQ(three.url, "http://h0.test/3");
    EXPECT_EQ(three.next_due_ms, 7000);
    EXPECT_EQ(three.items_total, 12u);
  }
  EXPECT_EQ(whole.at(ids_[3]).title, "Three");
  EXPECT_EQ(whole.at(ids_[3]).last_fetch_ms, 3000);
  EXPECT_EQ(some.at(ids_[3]).title, "") << "a field not asked for was read";
  EXPECT_EQ(some.at(ids_[3]).last_fetch_ms, 0);
  Status unknown = store_->ForEachFeed([](FeedRecord&&) {}, {"url", "colour"});
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument) << unknown.ToString();
}

TEST_F(StoreBatchTest, BatchCallsFailWholeWhenRedisIsDown) {
  ASSERT_OK(redis_.Stop());
  EXPECT_FALSE(store_->GetFeeds(ids_).ok());
  FeedSave save;
  save.feed.id = ids_[0];
  save.feed.url = "http://h0.test/0";
  EXPECT_FALSE(store_->SaveFeeds({save}).ok());
  save.feed.id = 0;
  ASSERT_OK(redis_.Start());
  EXPECT_EQ(store_->SaveFeeds({save}).status().code(), StatusCode::kInvalidArgument);
}

using Peer = testing::ControlPeer;

// A processor's report of a successful job with 2 items.
void Report(testing::ControlPeer& processor, const v1::FetchJob& job) {
  v1::Envelope envelope;
  v1::JobReport* report = envelope.mutable_report();
  report->set_job_id(job.job_id());
  report->set_feed_id(job.feed_id());
  report->set_outcome(v1::OUTCOME_OK);
  report->set_http_status(200);
  report->set_etag("\"r" + std::to_string(job.feed_id()) + "\"");
  report->set_new_items(2);
  report->set_total_items(2);
  processor.Send(envelope);
}

class CoordinatorBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
  }
  void TearDown() override {
    if (coordinator_) coordinator_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<uint64_t> AddFeeds(int n) {
    auto added = store_->AddFeeds(Urls(n), clock_.NowMs());
    EXPECT_OK(added.status());
    return added.ok() ? added->ids : std::vector<uint64_t>{};
  }
  void StartCoordinator(CoordinatorOptions options) {
    options.control_bind = "tcp://127.0.0.1:*";
    options.results_in_bind = "tcp://127.0.0.1:*";
    options.results_out_bind = "tcp://127.0.0.1:*";
    options.politeness = {0, 0};
    options.stats_interval_ms = 100;
    options.metrics = &metrics_;
    auto store = Store::Open(redis_.Url());
    ASSERT_OK(store.status());
    coordinator_ = std::make_unique<Coordinator>(options, std::move(*store), clock_);
    ASSERT_OK(coordinator_->Start());
    thread_ = std::thread([this] { run_status_ = coordinator_->Run(); });
  }
  std::map<std::string, std::string> Stats() {
    auto stats = store_->ReadStats();
    EXPECT_OK(stats.status());
    return stats.ok() ? *stats : std::map<std::string, std::string>{};
  }

  RedisServer redis_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  MetricsSnapshot metrics_;
  WireContext context_;
  std::unique_ptr<Coordinator> coordinator_;
  std::thread thread_;
  Status run_status_;
};

TEST_F(CoordinatorBatchTest, MoreFeedsThanABatchAreEachDispatchedOnceAndTheirLatencyPublished) {
  const int kFeeds = static_cast<int>(Coordinator::kDispatchBatch) * 2 + 100;
  AddFeeds(kFeeds);
  CoordinatorOptions options;
  options.once = true;
  StartCoordinator(options);
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  Peer processor(context_, "p1", coordinator_->control_endpoint());
  processor.Hello(v1::ROLE_PROCESSOR, 0);
  fetcher.Hello(v1::ROLE_FETCHER, 5000);

  std::vector<v1::FetchJob> jobs = fetcher.Jobs(kFeeds);
  ASSERT_EQ(jobs.size(), size_t(kFeeds));
  std::set<uint64_t> feeds;
  for (const auto& job : jobs) feeds.insert(job.feed_id());
  EXPECT_EQ(feeds.size(), size_t(kFeeds)) << "a feed was dispatched twice";

  // Every job takes 250 ms from dispatch to report (the coordinator's clock moves only here).
  clock_.AdvanceMs(250);
  for (const auto& job : jobs) Report(processor, job);
  thread_.join();
  EXPECT_OK(run_status_);

  auto stats = Stats();
  EXPECT_EQ(stats["run_done"], std::to_string(kFeeds));
  EXPECT_EQ(stats["run_ok"], std::to_string(kFeeds));
  EXPECT_EQ(stats["run_complete"], "1");
  for (const char* field : {"job_latency_p50_ms", "job_latency_p90_ms", "job_latency_p99_ms",
                            "job_latency_max_ms", "run_job_latency_p50_ms",
                            "run_job_latency_p99_ms", "run_job_latency_max_ms"}) {
    EXPECT_EQ(stats[field], "250") << field;
  }
  std::set<std::string> exported;
  for (const Metric& metric : metrics_.Get()) exported.insert(metric.name);
  EXPECT_TRUE(exported.count("coordinator_job_latency_p99_ms"));
  EXPECT_TRUE(exported.count("coordinator_run_job_latency_p50_ms"));

  // Every report's state was written, and the run's latencies are in P run by bucket.
  const std::vector<uint64_t> reported(feeds.begin(), feeds.end());
  ASSERT_OK_AND_ASSIGN(auto records, store_->GetFeeds(reported));
  for (const auto& record : records) {
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->etag, "\"r" + std::to_string(record->id) + "\"");
    EXPECT_EQ(record->fetches, 1u);
  }
  ASSERT_OK_AND_ASSIGN(auto run, store_->GetRun());
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->counters["done"], uint64_t(kFeeds));
  const std::string bucket =
      "job_latency_bucket_" + std::to_string(LatencyHistogram::BucketOf(250));
  EXPECT_EQ(run->counters[bucket], uint64_t(kFeeds));
}

TEST_F(CoordinatorBatchTest, FeedsRemovedBeforeTheirBatchIsReadAreSkippedAndCounted) {
  std::vector<uint64_t> ids = AddFeeds(10);
  CoordinatorOptions options;
  options.once = true;
  StartCoordinator(options);
  // Removed after the coordinator loaded them, before any fetcher offered credit.
  for (int i : {1, 4, 7}) ASSERT_OK(store_->RemoveFeed(Urls(10)[i]));
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  Peer processor(context_, "p1", coordinator_->control_endpoint());
  processor.Hello(v1::ROLE_PROCESSOR, 0);
  fetcher.Hello(v1::ROLE_FETCHER, 100);
  std::vector<v1::FetchJob> jobs = fetcher.Jobs(7);
  ASSERT_EQ(jobs.size(), 7u);
  for (const auto& job : jobs) {
    EXPECT_NE(job.feed_id(), ids[1]);
    EXPECT_NE(job.feed_id(), ids[4]);
    EXPECT_NE(job.feed_id(), ids[7]);
  }
  for (const auto& job : jobs) Report(processor, job);
  thread_.join();
  EXPECT_OK(run_status_);
  auto stats = Stats();
  EXPECT_EQ(stats["run_done"], "10") << "removed feeds must still end the run";
  EXPECT_EQ(stats["run_ok"], "7");
  ASSERT_OK_AND_ASSIGN(auto gone, store_->GetFeed(ids[4]));
  EXPECT_FALSE(gone.has_value()) << "a removed feed came back";
}

TEST_F(CoordinatorBatchTest, FeedsTakenWhileRedisIsDownAreDispatchedOnceItIsBack) {
  AddFeeds(6);
  CoordinatorOptions options;
  options.once = true;
  options.worker_timeout_ms = 60'000;  // the fetcher stays live across the clock jump
  StartCoordinator(options);
  ASSERT_OK(redis_.Stop());
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 10);
  EXPECT_TRUE(fetcher.Jobs(0, 500, 1000).empty()) << "dispatched without reading the records";
  ASSERT_OK(redis_.Start());
  // The feeds wait out the store's retry delay, then go out, each once.
  clock_.AdvanceMs(6'000);
  std::vector<v1::FetchJob> jobs = fetcher.Jobs(6);
  std::set<uint64_t> feeds;
  for (const auto& job : jobs) feeds.insert(job.feed_id());
  EXPECT_EQ(jobs.size(), 6u);
  EXPECT_EQ(feeds.size(), 6u);
}

TEST_F(CoordinatorBatchTest, JobsForAFetcherThatLeftGoToTheNextFetcher) {
  CoordinatorOptions options;
  options.reload_interval_ms = 1'000;
  options.worker_timeout_ms = 60'000;
  StartCoordinator(options);
  {
    // A fetcher offers credit while nothing is due, then disappears without a Goodbye.
    Peer gone(context_, "gone", coordinator_->control_endpoint());
    gone.Hello(v1::ROLE_FETCHER, 50);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Feeds arrive; the coordinator picks them up at its next reload and tries the gone fetcher.
  std::vector<uint64_t> ids = AddFeeds(20);
  clock_.AdvanceMs(1'500);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  Peer fetcher(context_, "f2", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 100);
  std::vector<v1::FetchJob> jobs = fetcher.Jobs(20);
  std::set<uint64_t> feeds;
  for (const auto& job : jobs) feeds.insert(job.feed_id());
  EXPECT_EQ(jobs.size(), 20u) << "feeds taken for the gone fetcher were not given back";
  EXPECT_EQ(feeds, std::set<uint64_t>(ids.begin(), ids.end()));
}

}  // namespace
}  // namespace feedcrawl
