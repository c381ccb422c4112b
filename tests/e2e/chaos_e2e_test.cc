// The acceptance test of the crawler's reliability: a --once crawl of 2,000 generated feeds
// (RSS 2.0, Atom 1.0, RSS 1.0; items with and without guids; non-ASCII text) through the real
// executables, during which, each at a point of progress read from Redis: a fetcher is SIGKILLed
// (and started again under its id),
// a processor is SIGKILLed (and replaced), the coordinator is SIGKILLed and started again on the
// same endpoints, two fetchers join, one leaves with SIGTERM (and must exit 0 within a bound),
// and redis-server (AOF on) is restarted. The test feed server delays every answer, so the crawl
// is still running when each event happens.
//
// It runs once through each data plane: the coordinator's results forwarder (clusters), and
// fetchers binding their own results sockets with processors connected to each (`feedcrawl run`).
//
// Then: the coordinator exits 0 with the run complete; every feed was reported ok; the stored
// items equal the generator's ground truth field by field; and nothing is duplicated: per feed
// the count equals the truth, and the item stream holds exactly one entry per item.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/feed_model.h"
#include "common/store.h"
#include "tests/gen/feed_generator.h"
#include "tests/support/crawl_cluster.h"
#include "tests/support/item_stream.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/truth_check.h"

namespace feedcrawl {
namespace {

using testing::CrawlCluster;
using testing::RedisServer;
using testing::Subprocess;
using testing::TempDir;
using testing::TestFeedServer;

constexpr size_t kFeeds = 2000;
constexpr size_t kItemsPerFeed = 6;
// Every answer waits this long, and each fetcher runs kConcurrency transfers: the crawl takes
// about half a minute, long enough for every event to land in the middle of it.
constexpr int kDelayMs = 150;
constexpr int kConcurrency = 8;
// A fetcher told to stop must be gone within this (its drain is 2 s).
constexpr int kStopBoundMs = 15'000;

enum class DataPlane { kForwarder, kDirect };

void PrintTo(DataPlane plane, std::ostream* out) {
  *out << (plane == DataPlane::kDirect ? "direct" : "forwarder");
}

class ChaosE2eTest : public ::testing::TestWithParam<DataPlane> {
 protected:
  void SetUp() override {
    GenOptions gen;
    gen.feeds = kFeeds;
    gen.items_per_feed = kItemsPerFeed;
    gen.item_bytes = 300;
    gen.seed = 2024;
    ASSERT_OK_AND_ASSIGN(truth_, GenerateFeeds(gen, www_.path()));
    ASSERT_OK_AND_ASSIGN(
        server_, TestFeedServer::Start(FEEDCRAWL_BIN_DIR, www_.path(), {"--threads", "64"}));
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
    std::vector<std::string> urls;
    for (const GeneratedFeed& feed : truth_) {
      urls.push_back(server_->base_url() + "/" + feed.path +
                     "?delay_ms=" + std::to_string(kDelayMs));
    }
    ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds(urls, 1));
    ASSERT_EQ(added.added, kFeeds);
    ids_ = added.ids;
    ASSERT_OK_AND_ASSIGN(auto endpoints, testing::FreeCoordinatorEndpoints());
    cluster_ =
        std::make_unique<CrawlCluster>(FEEDCRAWL_BIN_DIR, redis_.Url(), endpoints, logs_.path());
    if (GetParam() == DataPlane::kDirect) cluster_->UseDirectDataPlane({"f1", "f2", "f3", "f4"});
  }

  std::unique_ptr<Subprocess> StartCoordinator() {
    auto coordinator = cluster_->StartCoordinator(
        {"--once", "--host-concurrency", "0", "--host-interval-ms", "0", "--fetch-timeout-ms",
         "5000", "--lease-grace-ms", "5000", "--worker-timeout-ms", "3000", "--max-attempts", "5"});
    EXPECT_OK(coordinator.status());
    return coordinator.ok() ? std::move(*coordinator) : nullptr;
  }
  std::unique_ptr<Subprocess> StartFetcher(const std::string& id) {
    auto fetcher = cluster_->StartFetcher(
        id, {"--concurrency", std::to_string(kConcurrency), "--drain-ms", "2000"});
    EXPECT_OK(fetcher.status());
    return fetcher.ok() ? std::move(*fetcher) : nullptr;
  }
  std::unique_ptr<Subprocess> StartProcessor(const std::string& id) {
    auto processor = cluster_->StartProcessor(id, {"--stream-maxlen", "1000000"});
    EXPECT_OK(processor.status());
    return processor.ok() ? std::move(*processor) : nullptr;
  }

  // Feeds reported in the run, as the coordinator last published them (0 while unknown, e.g.
  // while Redis restarts). The counter is kept in P run, so it carries over a coordinator restart.
  uint64_t Done() {
    auto stats = store_->ReadStats();
    if (!stats.ok()) return 0;
    auto it = stats->find("run_done");
    return it == stats->end() ? 0 : std::stoull(it->second);
  }

  // Waits until `done` feeds are reported, then checks the crawl is still going, so the event
  // that follows happens during it.
  void AwaitProgress(uint64_t done, Subprocess& coordinator, const std::string& event) {
    SCOPED_TRACE(event);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (Done() < done && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(coordinator.Running()) << "the coordinator ended before: " << event << "\n"
                                         << cluster_->Logs();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(Done(), done) << "no progress before: " << event << "\n" << cluster_->Logs();
    ASSERT_LT(Done(), kFeeds) << "the crawl was over before: " << event;
    ASSERT_TRUE(coordinator.Running()) << "the coordinator ended before: " << event;
    events_.push_back(event + " at " + std::to_string(Done()));
  }

  // Every item P stream:items names, as (feed id, item key).
  std::multiset<std::pair<uint64_t, std::string>> StreamEntries() {
    StatusOr<std::vector<testing::StreamEntry>> entries =
        testing::ReadItemStream(store_->redis(), store_->prefix());
    EXPECT_OK(entries.status());
    if (!entries.ok()) return {};
    const std::vector<testing::StreamedItem> items = testing::StreamedItems(*entries);
    return {items.begin(), items.end()};
  }

  TempDir www_;
  TempDir logs_;
  RedisServer redis_;
  std::vector<GeneratedFeed> truth_;
  std::vector<uint64_t> ids_;
  std::unique_ptr<TestFeedServer> server_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<CrawlCluster> cluster_;
  std::vector<std::string> events_;
};

TEST_P(ChaosE2eTest, CrawlThroughKillsRestartsAndScalingLosesAndDuplicatesNothing) {
  std::unique_ptr<Subprocess> coordinator = StartCoordinator();
  std::unique_ptr<Subprocess> f1 = StartFetcher("f1");
  std::unique_ptr<Subprocess> f2 = StartFetcher("f2");
  std::unique_ptr<Subprocess> p1 = StartProcessor("p1");
  std::unique_ptr<Subprocess> p2 = StartProcessor("p2");
  ASSERT_TRUE(coordinator && f1 && f2 && p1 && p2);

  // Started again under the same id, as `feedcrawl run` restarts a fetcher: with the direct
  // data plane it binds the socket file its killed predecessor left behind.
  ASSERT_NO_FATAL_FAILURE(AwaitProgress(100, *coordinator, "SIGKILL and restart fetcher f1"));
  ASSERT_OK(f1->Signal(SIGKILL));
  ASSERT_OK(f1->Wait(10'000).status());
  f1 = StartFetcher("f1");
  ASSERT_TRUE(f1);

  ASSERT_NO_FATAL_FAILURE(AwaitProgress(250, *coordinator, "SIGKILL processor p1"));
  ASSERT_OK(p1->Signal(SIGKILL));
  std::unique_ptr<Subprocess> p3 = StartProcessor("p3");
  ASSERT_TRUE(p3);

  ASSERT_NO_FATAL_FAILURE(AwaitProgress(450, *coordinator, "SIGKILL and restart coordinator"));
  ASSERT_OK(coordinator->Signal(SIGKILL));
  ASSERT_OK(coordinator->Wait(10'000).status());
  coordinator = StartCoordinator();
  ASSERT_TRUE(coordinator);

  ASSERT_NO_FATAL_FAILURE(AwaitProgress(650, *coordinator, "add fetchers f3 and f4"));
  std::unique_ptr<Subprocess> f3 = StartFetcher("f3");
  std::unique_ptr<Subprocess> f4 = StartFetcher("f4");
  ASSERT_TRUE(f3 && f4);

  ASSERT_NO_FATAL_FAILURE(AwaitProgress(850, *coordinator, "SIGTERM fetcher f2"));
  ASSERT_OK(f2->Signal(SIGTERM));
  auto f2_exit = f2->Wait(kStopBoundMs);
  ASSERT_TRUE(f2_exit.ok()) << "fetcher f2 did not stop within " << kStopBoundMs << " ms";
  EXPECT_TRUE(f2_exit->Success()) << f2_exit->ToString() << "\n" << cluster_->Logs();

  ASSERT_NO_FATAL_FAILURE(AwaitProgress(1050, *coordinator, "restart redis-server"));
  ASSERT_OK(redis_.Restart());

  auto exit = coordinator->Wait(120'000);
  ASSERT_TRUE(exit.ok()) << "the run did not end\n" << cluster_->Logs();
  ASSERT_TRUE(exit->Success()) << exit->ToString() << "\n" << cluster_->Logs();
  std::string history;
  for (const std::string& event : events_) history += event + "; ";
  SCOPED_TRACE("events: " + history);
  RecordProperty("events", history);
  // The restarted fetcher started (its results socket bound) and stayed up.
  EXPECT_TRUE(f1->Running()) << cluster_->Logs();
  std::printf("events (feeds reported when each happened): %s\n", history.c_str());

  // The run: complete, every feed reported ok in it.
  ASSERT_OK_AND_ASSIGN(auto stats, store_->ReadStats());
  EXPECT_EQ(stats["run_complete"], "1");
  EXPECT_EQ(stats["run_resumes"], "1");
  EXPECT_EQ(stats["run_done"], std::to_string(kFeeds));
  EXPECT_EQ(stats["run_ok"], std::to_string(kFeeds));
  EXPECT_EQ(stats["run_failed"], "0");
  ASSERT_OK_AND_ASSIGN(auto run, store_->GetRun());
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->state, "finished");
  EXPECT_EQ(run->counters["done"], kFeeds);

  // The items: exactly the ground truth, field by field, each once.
  size_t expected_items = 0;
  std::multiset<std::pair<uint64_t, std::string>> stored_keys;
  for (size_t i = 0; i < truth_.size(); ++i) {
    const GeneratedFeed& feed = truth_[i];
    SCOPED_TRACE(feed.path + " (" + feed.format + ")");
    ASSERT_OK_AND_ASSIGN(auto record, store_->GetFeed(ids_[i]));
    ASSERT_TRUE(record.has_value());
    EXPECT_EQ(record->last_outcome, "ok");
    EXPECT_EQ(record->run_id, run->id);
    EXPECT_EQ(record->items_total, feed.items.size());
    for (std::string& key : testing::ExpectStoredItemsMatch(*store_, ids_[i], feed.items)) {
      stored_keys.emplace(ids_[i], std::move(key));
    }
    expected_items += feed.items.size();
  }
  EXPECT_EQ(expected_items, kFeeds * kItemsPerFeed);
  EXPECT_EQ(stats["items_total"], std::to_string(expected_items));

  // The stream: one entry per stored item, none twice, none missing.
  std::multiset<std::pair<uint64_t, std::string>> streamed = StreamEntries();
  EXPECT_EQ(streamed.size(), expected_items);
  EXPECT_TRUE(streamed == stored_keys) << "the item stream differs from the stored items";
}

INSTANTIATE_TEST_SUITE_P(DataPlanes, ChaosE2eTest,
                         ::testing::Values(DataPlane::kForwarder, DataPlane::kDirect),
                         [](const ::testing::TestParamInfo<DataPlane>& info) {
                           return info.param == DataPlane::kDirect ? "Direct" : "Forwarder";
                         });

}  // namespace
}  // namespace feedcrawl
