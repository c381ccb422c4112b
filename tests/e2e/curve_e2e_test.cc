// A secured cluster end to end, through the real executables: every key made by
// `feedcrawl keygen`, a coordinator with CURVE and an allow-list of two fetchers and one
// processor, and an intruding fetcher whose key is not on the list (started first, so it would
// be the first to get work if it were let in). The --once crawl of 200 generated feeds must
// complete through the admitted workers with every item equal to the generator's ground truth;
// the intruder must never appear among the workers, and the coordinator must count its refusals.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/feed_model.h"
#include "common/store.h"
#include "tests/gen/feed_generator.h"
#include "tests/support/crawl_cluster.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/truth_check.h"

namespace feedcrawl {
namespace {

using testing::CrawlCluster;
using testing::RedisServer;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;
using testing::TestFeedServer;

constexpr size_t kFeeds = 200;
constexpr size_t kItemsPerFeed = 6;

class CurveE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GenOptions gen;
    gen.feeds = kFeeds;
    gen.items_per_feed = kItemsPerFeed;
    gen.item_bytes = 300;
    gen.seed = 27;
    ASSERT_OK_AND_ASSIGN(truth_, GenerateFeeds(gen, www_.path()));
    ASSERT_OK_AND_ASSIGN(
        server_, TestFeedServer::Start(FEEDCRAWL_BIN_DIR, www_.path(), {"--threads", "32"}));
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
    std::vector<std::string> urls;
    for (const GeneratedFeed& feed : truth_) urls.push_back(server_->base_url() + "/" + feed.path);
    ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store_->AddFeeds(urls, 1));
    ASSERT_EQ(added.added, kFeeds);
    ids_ = added.ids;
    ASSERT_OK_AND_ASSIGN(auto endpoints, testing::FreeCoordinatorEndpoints());
    cluster_ =
        std::make_unique<CrawlCluster>(FEEDCRAWL_BIN_DIR, redis_.Url(), endpoints, logs_.path());
  }

  // `feedcrawl keygen --out keys/name`; returns the prefix of the two files.
  std::string Keygen(const std::string& name) {
    const std::string prefix = keys_.File(name);
    SubprocessOptions options;
    options.capture_stdout = true;
    auto keygen = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl",
                                    {"keygen", "--out", prefix}, options);
    EXPECT_OK(keygen.status());
    if (!keygen.ok()) return prefix;
    auto output = (*keygen)->ReadAll(10'000);
    auto exit = (*keygen)->Wait(10'000);
    EXPECT_TRUE(exit.ok() && exit->Success()) << (output.ok() ? *output : "");
    return prefix;
  }

  // A worker's flags: its keys and, for fetchers, few enough transfers for the feed server's
  // threads.
  std::vector<std::string> FetcherFlags(const std::string& prefix, const std::string& coordinator) {
    std::vector<std::string> flags = ProcessorFlags(prefix, coordinator);
    flags.insert(flags.end(), {"--concurrency", "8"});
    return flags;
  }
  std::vector<std::string> ProcessorFlags(const std::string& prefix,
                                          const std::string& coordinator) {
    return {"--curve-secret-key-file", prefix + ".key_secret", "--curve-server-key-file",
            coordinator + ".key"};
  }

  TempDir www_;
  TempDir logs_;
  TempDir keys_;
  RedisServer redis_;
  std::vector<GeneratedFeed> truth_;
  std::vector<uint64_t> ids_;
  std::unique_ptr<TestFeedServer> server_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<CrawlCluster> cluster_;
};

TEST_F(CurveE2eTest, OnlyAllowedWorkersJoinAndTheCrawlCompletesThroughThem) {
  const std::string coordinator_keys = Keygen("coordinator");
  const std::string f1_keys = Keygen("fetcher-1"), f2_keys = Keygen("fetcher-2");
  const std::string p1_keys = Keygen("processor-1"), intruder_keys = Keygen("intruder");
  // The allow-list is the admitted workers' public key files, one after the other.
  std::string allowed;
  for (const std::string& prefix : {f1_keys, f2_keys, p1_keys}) {
    ASSERT_OK_AND_ASSIGN(std::string text, testing::ReadFile(prefix + ".key"));
    allowed += text;
  }
  ASSERT_OK(testing::WriteFile(keys_.File("allowed"), allowed));

  // The feed server holds every fetch until all admitted workers are listed, so that the run
  // cannot end before the last of them has joined.
  ASSERT_OK(server_->Pause());
  ASSERT_OK_AND_ASSIGN(
      auto coordinator,
      cluster_->StartCoordinator({"--once", "--host-concurrency", "0", "--host-interval-ms", "0",
                                  "--curve-secret-key-file", coordinator_keys + ".key_secret",
                                  "--curve-allow-keys-file", keys_.File("allowed")}));
  ASSERT_OK_AND_ASSIGN(
      auto intruder,
      cluster_->StartFetcher("intruder", FetcherFlags(intruder_keys, coordinator_keys)));
  ASSERT_OK_AND_ASSIGN(auto f1,
                       cluster_->StartFetcher("f1", FetcherFlags(f1_keys, coordinator_keys)));
  ASSERT_OK_AND_ASSIGN(auto f2,
                       cluster_->StartFetcher("f2", FetcherFlags(f2_keys, coordinator_keys)));
  // --buffer: how many results p1 takes ahead, which it publishes as its capacity.
  std::vector<std::string> p1_flags = ProcessorFlags(p1_keys, coordinator_keys);
  p1_flags.insert(p1_flags.end(), {"--buffer", "7"});
  ASSERT_OK_AND_ASSIGN(auto p1, cluster_->StartProcessor("p1", p1_flags));

  const std::set<std::string> admitted = {"fetcher:f1", "fetcher:f2", "processor:p1"};
  std::set<std::string> joined;
  std::string p1_capacity;
  for (int i = 0; i < 300 && joined != admitted; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_OK_AND_ASSIGN(auto listed, store_->ReadWorkers(SystemClock::Instance().NowMs()));
    joined.clear();
    for (const WorkerHash& worker : listed) {
      joined.insert(worker.role + ":" + worker.id);
      if (worker.role == "processor") p1_capacity = worker.fields.at("capacity");
    }
  }
  ASSERT_OK(server_->Resume());
  ASSERT_EQ(joined, admitted) << "the workers listed while the feeds were held\n"
                              << cluster_->Logs();
  EXPECT_EQ(p1_capacity, "7");

  auto exit = coordinator->Wait(120'000);
  ASSERT_TRUE(exit.ok()) << "the run did not end\n" << cluster_->Logs();
  ASSERT_TRUE(exit->Success()) << exit->ToString() << "\n" << cluster_->Logs();
  EXPECT_TRUE(intruder->Running()) << "a refused worker keeps trying; it must not crash\n"
                                   << cluster_->Logs();

  // Refused and counted; never among the workers, while every admitted one is.
  ASSERT_OK_AND_ASSIGN(auto stats, store_->ReadStats());
  ASSERT_TRUE(stats.count("zap_refused_total")) << "the coordinator publishes no refusal count";
  EXPECT_GT(std::stoull(stats["zap_refused_total"]), 0u) << cluster_->Logs();
  ASSERT_OK_AND_ASSIGN(auto workers, store_->ReadWorkers(SystemClock::Instance().NowMs()));
  std::set<std::string> ids;
  for (const WorkerHash& worker : workers) ids.insert(worker.role + ":" + worker.id);
  EXPECT_EQ(ids.count("fetcher:intruder"), 0u);
  EXPECT_EQ(ids.count("fetcher:f1"), 1u);
  EXPECT_EQ(ids.count("fetcher:f2"), 1u);
  EXPECT_EQ(ids.count("processor:p1"), 1u);

  // The crawl, complete and exact.
  EXPECT_EQ(stats["run_complete"], "1");
  EXPECT_EQ(stats["run_done"], std::to_string(kFeeds));
  EXPECT_EQ(stats["run_ok"], std::to_string(kFeeds)) << nlohmann::json(stats).dump(1);
  size_t expected_items = 0;
  for (size_t i = 0; i < truth_.size(); ++i) {
    const GeneratedFeed& feed = truth_[i];
    SCOPED_TRACE(feed.path + " (" + feed.format + ")");
    testing::ExpectStoredItemsMatch(*store_, ids_[i], feed.items);
    expected_items += feed.items.size();
  }
  EXPECT_EQ(expected_items, kFeeds * kItemsPerFeed);
  EXPECT_EQ(stats["items_total"], std::to_string(expected_items));

  // The coordinator logged the refused key (by its first characters only).
  ASSERT_OK_AND_ASSIGN(std::string intruder_public, testing::ReadFile(intruder_keys + ".key"));
  const std::string key_line = intruder_public.substr(intruder_public.find('\n') + 1, 8);
  EXPECT_NE(cluster_->Logs(1 << 20).find("key " + key_line + "..."), std::string::npos)
      << cluster_->Logs();

  for (Subprocess* worker : {intruder.get(), f1.get(), f2.get(), p1.get()}) {
    ASSERT_OK(worker->Signal(SIGTERM));
    EXPECT_OK(worker->Wait(30'000).status());
  }
}

}  // namespace
}  // namespace feedcrawl
