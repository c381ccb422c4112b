// Once-mode runs survive a coordinator crash. First the store's side against a real
// redis-server: P run, and the run marker written with a feed's state so a report counts once.
// Then real processes: a --once coordinator is SIGKILLed mid-run and started again; the second
// one resumes the run, fetches none of the feeds the first already reported (the test feed
// server counts requests per path), ends the run with the right numbers, and the next --once
// starts a new run that fetches everything again.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <set>
#include <thread>

#include "common/store.h"
#include "coordinator/coordinator.h"
#include "tests/gen/feed_generator.h"
#include "tests/support/crawl_cluster.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

using testing::CrawlCluster;
using testing::RedisServer;
using testing::Subprocess;
using testing::TempDir;
using testing::TestFeedServer;

class StoreRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
    ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds({"http://a.test/feed"}, 1000));
    ASSERT_OK_AND_ASSIGN(auto feed, store_->GetFeed(added.ids[0]));
    ASSERT_TRUE(feed.has_value());
    feed_ = *feed;
  }

  RedisServer redis_;
  std::unique_ptr<Store> store_;
  FeedRecord feed_;
};

TEST_F(StoreRunTest, NoRunUntilOneIsWritten) {
  ASSERT_OK_AND_ASSIGN(auto run, store_->GetRun());
  EXPECT_FALSE(run.has_value());
  RunRecord record;
  record.id = 7;
  record.started_ms = 1234;
  record.counters = {{"feeds", 10}, {"done", 3}, {"failed_timeout", 1}};
  ASSERT_OK(store_->WriteRun(record));
  ASSERT_OK_AND_ASSIGN(run, store_->GetRun());
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->id, 7u);
  EXPECT_EQ(run->state, "running");
  EXPECT_EQ(run->started_ms, 1234);
  EXPECT_EQ(run->counters, record.counters);

  // WriteRun replaces the whole hash: counters it no longer has disappear.
  record.counters = {{"feeds", 10}};
  ASSERT_OK(store_->WriteRun(record));
  ASSERT_OK_AND_ASSIGN(run, store_->GetRun());
  EXPECT_EQ(run->counters, record.counters);
}

TEST_F(StoreRunTest, AReportCountsOnceInItsRunHoweverOftenItIsWritten) {
  RunRecord run;
  run.id = 5;
  ASSERT_OK(store_->WriteRun(run));
  feed_.etag = "\"e1\"";
  ASSERT_OK_AND_ASSIGN(bool counted, store_->SaveFeedInRun(feed_, 5, {{"done", 1}, {"ok", 1}}));
  EXPECT_TRUE(counted);
  // A retry after a lost reply: the state is written again, the counters are not.
  feed_.etag = "\"e2\"";
  ASSERT_OK_AND_ASSIGN(counted, store_->SaveFeedInRun(feed_, 5, {{"done", 1}, {"ok", 1}}));
  EXPECT_FALSE(counted);

  ASSERT_OK_AND_ASSIGN(auto stored_run, store_->GetRun());
  EXPECT_EQ(stored_run->counters["done"], 1u);
  EXPECT_EQ(stored_run->counters["ok"], 1u);
  ASSERT_OK_AND_ASSIGN(auto feed, store_->GetFeed(feed_.id));
  EXPECT_EQ(feed->run_id, 5u);
  EXPECT_EQ(feed->etag, "\"e2\"");

  // A plain SaveFeed (continuous mode) keeps the marker it read.
  feed->title = "t";
  ASSERT_OK(store_->SaveFeed(*feed));
  ASSERT_OK_AND_ASSIGN(feed, store_->GetFeed(feed_.id));
  EXPECT_EQ(feed->run_id, 5u);

  // The next run counts the feed again.
  run.id = 6;
  ASSERT_OK(store_->WriteRun(run));
  ASSERT_OK_AND_ASSIGN(counted, store_->SaveFeedInRun(*feed, 6, {{"done", 1}}));
  EXPECT_TRUE(counted);
  ASSERT_OK_AND_ASSIGN(stored_run, store_->GetRun());
  EXPECT_EQ(stored_run->counters["done"], 1u);
}

TEST_F(StoreRunTest, ReportsOfAnotherRunAreStoredButNotCounted) {
  RunRecord run;
  run.id = 9;
  ASSERT_OK(store_->WriteRun(run));
  ASSERT_OK_AND_ASSIGN(bool counted, store_->SaveFeedInRun(feed_, 8, {{"done", 1}}));
  EXPECT_FALSE(counted);
  ASSERT_OK_AND_ASSIGN(auto stored_run, store_->GetRun());
  EXPECT_EQ(stored_run->counters.count("done"), 0u);
  ASSERT_OK_AND_ASSIGN(auto feed, store_->GetFeed(feed_.id));
  EXPECT_EQ(feed->run_id, 8u);
}

TEST_F(StoreRunTest, RemovedFeedIsNeitherWrittenNorCounted) {
  RunRecord run;
  run.id = 3;
  ASSERT_OK(store_->WriteRun(run));
  ASSERT_OK(store_->RemoveFeed(feed_.url));
  auto counted = store_->SaveFeedInRun(feed_, 3, {{"done", 1}});
  EXPECT_TRUE(counted.status().IsNotFound()) << counted.status().ToString();
  ASSERT_OK_AND_ASSIGN(auto feed, store_->GetFeed(feed_.id));
  EXPECT_FALSE(feed.has_value());
  ASSERT_OK_AND_ASSIGN(auto stored_run, store_->GetRun());
  EXPECT_EQ(stored_run->counters.count("done"), 0u);
}

TEST_F(StoreRunTest, OnlyTheCurrentRunCanBeEnded) {
  RunRecord run;
  run.id = 4;
  ASSERT_OK(store_->WriteRun(run));
  EXPECT_TRUE(store_->EndRun(3, "finished", 100).IsNotFound());
  ASSERT_OK(store_->EndRun(4, "finished", 100));
  ASSERT_OK_AND_ASSIGN(auto stored_run, store_->GetRun());
  EXPECT_EQ(stored_run->state, "finished");
  EXPECT_EQ(stored_run->finished_ms, 100);
}

TEST_F(StoreRunTest, ContinuousCoordinatorAbandonsAnUnfinishedRun) {
  RunRecord run;
  run.id = 2;
  ASSERT_OK(store_->WriteRun(run));
  CoordinatorOptions options;
  options.control_bind = options.results_in_bind = options.results_out_bind = "tcp://127.0.0.1:*";
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis_.Url()));
  Coordinator coordinator(options, std::move(store), SystemClock::Instance());
  ASSERT_OK(coordinator.Start());
  ASSERT_OK_AND_ASSIGN(auto stored_run, store_->GetRun());
  EXPECT_EQ(stored_run->state, "abandoned");
  EXPECT_GT(stored_run->finished_ms, 0);
}

// Real processes from here on.
constexpr size_t kFeeds = 60;
constexpr size_t kItemsPerFeed = 5;

class RunResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GenOptions gen;
    gen.feeds = kFeeds;
    gen.items_per_feed = kItemsPerFeed;
    gen.item_bytes = 300;
    gen.seed = 7;
    ASSERT_OK_AND_ASSIGN(truth_, GenerateFeeds(gen, www_.path()));
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(
        server_, TestFeedServer::Start(FEEDCRAWL_BIN_DIR, www_.path(), {"--threads", "16"}));
    std::vector<std::string> urls;
    // Each request waits a little, so the run lasts long enough to be cut in the middle.
    for (const auto& feed : truth_)
      urls.push_back(server_->base_url() + "/" + feed.path + "?delay_ms=100");
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
    ASSERT_OK(store_->AddFeeds(urls, 1).status());
    ASSERT_OK_AND_ASSIGN(auto endpoints, testing::FreeCoordinatorEndpoints());
    cluster_ =
        std::make_unique<CrawlCluster>(FEEDCRAWL_BIN_DIR, redis_.Url(), endpoints, logs_.path());
  }

  std::unique_ptr<Subprocess> StartCoordinator() {
    auto coordinator = cluster_->StartCoordinator(
        {"--once", "--host-concurrency", "0", "--host-interval-ms", "0", "--fetch-timeout-ms",
         "5000", "--lease-grace-ms", "5000", "--worker-timeout-ms", "3000", "--jitter", "0"});
    EXPECT_OK(coordinator.status());
    return coordinator.ok() ? std::move(*coordinator) : nullptr;
  }

  uint64_t StatsNumber(const std::string& name) {
    auto stats = store_->ReadStats();
    if (!stats.ok() || !stats->count(name)) return 0;
    return std::stoull(stats->at(name));
  }

  // The feeds whose record says they were reported in run `run_id`, by URL path.
  std::set<std::string> ReportedIn(uint64_t run_id) {
    std::set<std::string> paths;
    auto feeds = store_->LoadFeeds();
    EXPECT_OK(feeds.status());
    if (!feeds.ok()) return paths;
    for (const FeedRecord& feed : *feeds) {
      if (feed.run_id != run_id) continue;
      const std::string rest = feed.url.substr(server_->base_url().size());
      paths.insert(rest.substr(0, rest.find('?')));
    }
    return paths;
  }

  TempDir www_;
  TempDir logs_;
  RedisServer redis_;
  std::vector<GeneratedFeed> truth_;
  std::unique_ptr<TestFeedServer> server_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<CrawlCluster> cluster_;
};

TEST_F(RunResumeTest, KilledOnceCoordinatorIsResumedWithoutFetchingReportedFeedsAgain) {
  std::unique_ptr<Subprocess> first = StartCoordinator();
  ASSERT_NE(first, nullptr);
  ASSERT_OK_AND_ASSIGN(auto fetcher, cluster_->StartFetcher("f1", {"--concurrency", "2"}));
  ASSERT_OK_AND_ASSIGN(auto processor, cluster_->StartProcessor("p1", {}));

  // Cut the run when about a third of it is reported.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (StatsNumber("run_done") < kFeeds / 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(StatsNumber("run_done"), kFeeds / 3) << cluster_->Logs();
  ASSERT_OK(first->Signal(SIGKILL));
  ASSERT_OK(first->Wait(10'000).status());

  ASSERT_OK_AND_ASSIGN(auto run, store_->GetRun());
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->state, "running");
  const uint64_t run_id = run->id;
  const std::set<std::string> reported = ReportedIn(run_id);
  ASSERT_LT(reported.size(), kFeeds) << "the run ended before it could be cut";
  // The marker and the counters are written together: the run counted exactly these feeds.
  EXPECT_EQ(run->counters["done"], reported.size());
  ASSERT_OK_AND_ASSIGN(nlohmann::json before, server_->Stats());

  std::unique_ptr<Subprocess> second = StartCoordinator();
  ASSERT_NE(second, nullptr);
  ASSERT_OK_AND_ASSIGN(auto exit, second->Wait(90'000));
  ASSERT_TRUE(exit.Success()) << exit.ToString() << "\n" << cluster_->Logs();

  ASSERT_OK_AND_ASSIGN(nlohmann::json after, server_->Stats());
  for (const GeneratedFeed& feed : truth_) {
    const std::string path = "/" + feed.path;
    const uint64_t requests = TestFeedServer::RequestsFor(after, path);
    EXPECT_GE(requests, 1u) << path << " was never fetched";
    if (reported.count(path)) {
      EXPECT_EQ(requests, TestFeedServer::RequestsFor(before, path))
          << path << " was reported before the crash and fetched again";
    }
  }
  EXPECT_EQ(ReportedIn(run_id).size(), kFeeds);
  ASSERT_OK_AND_ASSIGN(run, store_->GetRun());
  EXPECT_EQ(run->id, run_id);
  EXPECT_EQ(run->state, "finished");
  EXPECT_GT(run->finished_ms, 0);

  auto stats = store_->ReadStats();
  ASSERT_OK(stats.status());
  EXPECT_EQ((*stats)["run_complete"], "1");
  EXPECT_EQ((*stats)["run_id"], std::to_string(run_id));
  EXPECT_EQ((*stats)["run_resumes"], "1");
  EXPECT_EQ((*stats)["run_feeds"], std::to_string(kFeeds));
  EXPECT_EQ((*stats)["run_done"], std::to_string(kFeeds));
  EXPECT_EQ((*stats)["run_ok"], std::to_string(kFeeds));
  EXPECT_EQ((*stats)["run_failed"], "0");
  // Items stored by jobs the crash cut off still count once, when their feed is reported.
  EXPECT_EQ((*stats)["run_items_new"], std::to_string(kFeeds * kItemsPerFeed));
  EXPECT_EQ((*stats)["run_items_parsed"], std::to_string(kFeeds * kItemsPerFeed));
  EXPECT_EQ((*stats)["items_total"], std::to_string(kFeeds * kItemsPerFeed));

  // The run is over: the next --once is a new run over every feed, all answered with 304.
  std::unique_ptr<Subprocess> third = StartCoordinator();
  ASSERT_NE(third, nullptr);
  ASSERT_OK_AND_ASSIGN(exit, third->Wait(90'000));
  ASSERT_TRUE(exit.Success()) << exit.ToString() << "\n" << cluster_->Logs();
  stats = store_->ReadStats();
  ASSERT_OK(stats.status());
  EXPECT_NE((*stats)["run_id"], std::to_string(run_id));
  EXPECT_EQ((*stats)["run_resumes"], "0");
  EXPECT_EQ((*stats)["run_done"], std::to_string(kFeeds));
  EXPECT_EQ((*stats)["run_not_modified"], std::to_string(kFeeds));
  EXPECT_EQ((*stats)["run_items_new"], "0");
}

}  // namespace
}  // namespace feedcrawl
