// End to end through real processes: the test feed server, a private redis-server and
// `feedcrawl run --once` with its coordinator, 2 fetchers and 2 processors. 500 generated feeds
// (RSS 2.0, Atom 1.0, RSS 1.0; items with and without guids; non-ASCII text) plus feeds that
// fail in every way a server can fail. Every stored item is compared with the generator's ground
// truth field by field, a second run must cost only 304s, and a third, after every feed gained two
// items, must store just those.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "common/feed_model.h"
#include "common/store.h"
#include "tests/gen/feed_generator.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/truth_check.h"
#include "tests/support/subprocess.h"

namespace feedcrawl {
namespace {

using testing::RedisServer;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

constexpr size_t kFeeds = 500;

struct ProcessRow {
  int processes = 0;
  double cpu_s = 0;
  double peak_mib = 0;
};

// The summary's "processes" rows by role: "<role> <n>  <cpu> s CPU  <peak> MiB peak", after the
// "processes" label on the first row.
std::map<std::string, ProcessRow> ProcessRows(const std::string& summary) {
  std::map<std::string, ProcessRow> rows;
  std::istringstream lines(summary);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::vector<std::string> words;
    for (std::string word; fields >> word;) words.push_back(word);
    const size_t n = words.size();
    if (n < 8 || words[n - 1] != "peak" || words[n - 2] != "MiB" || words[n - 4] != "CPU" ||
        words[n - 5] != "s") {
      continue;
    }
    rows[words[n - 8]] = {std::stoi(words[n - 7]), std::stod(words[n - 6]),
                          std::stod(words[n - 3])};
  }
  return rows;
}

// Broken feeds: the path, what the server does, and what the crawl must record.
struct Fault {
  std::string path;
  nlohmann::json spec;
  std::string outcome;
  int status;
};

const std::vector<Fault>& Faults() {
  static const std::vector<Fault> faults = {
      {"/bad/missing.xml", {{"status", 404}}, "http_error", 404},
      {"/bad/error.xml", {{"status", 500}}, "http_error", 500},
      {"/bad/slow.xml", {{"delay_ms", 8000}}, "timeout", 0},
      {"/bad/garbage.xml", {{"garbage", true}}, "parse_error", 200},
      {"/bad/huge.xml", {{"oversize_bytes", 3 << 20}}, "too_large", 200},
  };
  return faults;
}

// The generated feeds, as they read `advance` updates after the first crawl.
GenOptions FeedSet(size_t advance) {
  GenOptions options;
  options.feeds = kFeeds;
  options.items_per_feed = 12;
  options.item_bytes = 600;
  options.seed = 42;
  options.advance = advance;
  return options;
}

class CrawlE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto truth = GenerateFeeds(FeedSet(/*advance=*/0), www_.path());
    ASSERT_OK(truth.status());
    truth_ = std::move(*truth);

    ASSERT_EQ(::mkdir((www_.path() + "/bad").c_str(), 0755), 0);
    nlohmann::json faults = nlohmann::json::object();
    for (const Fault& f : Faults()) {
      faults[f.path] = f.spec;
      // The fault replaces the response, but the path must exist for a plain file server.
      ASSERT_OK(testing::WriteFile(www_.path() + f.path, "<rss version=\"2.0\"></rss>"));
    }
    ASSERT_OK(testing::WriteFile(work_.File("faults.json"), faults.dump()));

    SubprocessOptions server_options;
    server_options.capture_stdout = true;
    auto server = Subprocess::Start(
        std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl-testserver",
        {"--root", www_.path(), "--faults", work_.File("faults.json"), "--port", "0",
         "--threads", "96"},
        server_options);
    ASSERT_OK(server.status());
    server_ = std::move(*server);
    auto line = server_->ReadLine(10'000);
    ASSERT_OK(line.status());
    const std::string marker = "listening on ";
    ASSERT_EQ(line->rfind(marker, 0), 0u) << *line;
    base_url_ = line->substr(marker.size());

    ASSERT_OK(redis_.Start());
    std::string list = "# generated feeds\n";
    for (const auto& feed : truth_) list += base_url_ + "/" + feed.path + "\n";
    for (const Fault& f : Faults()) list += base_url_ + f.path + "\n";
    ASSERT_OK(testing::WriteFile(work_.File("feeds.txt"), list));
  }

  // Runs `feedcrawl run --once` over the list and returns the stats it left in Redis.
  // `extra` goes before the feed list.
  std::map<std::string, std::string> RunOnce(const std::vector<std::string>& extra = {}) {
    SubprocessOptions options;
    options.capture_stdout = true;
    options.stderr_path = work_.File("run.stderr");
    std::vector<std::string> args = {
        "run", "--once", "--redis", redis_.Url(), "--data-dir", work_.File("data"),
        "--fetchers", "2", "--processors", "2", "--allow-private-networks",
        "--host-concurrency", "0", "--host-interval-ms", "0", "--fetch-timeout-ms", "3000",
        "--concurrency", "32", "--max-body-bytes", std::to_string(1 << 20), "--no-progress"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(work_.File("feeds.txt"));
    auto run = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl", args, options);
    EXPECT_OK(run.status());
    if (!run.ok()) return {};
    auto output = (*run)->ReadAll(180'000);
    auto exit = (*run)->Wait(5'000);
    EXPECT_OK(exit.status());
    EXPECT_TRUE(exit.ok() && exit->Success())
        << (exit.ok() ? exit->ToString() : "") << "\n" << (output.ok() ? *output : "")
        << "\n" << testing::ReadFile(work_.File("run.stderr")).value();
    summary_ = output.ok() ? *output : "";
    auto store = Store::Open(redis_.Url());
    EXPECT_OK(store.status());
    auto stats = (*store)->ReadStats();
    EXPECT_OK(stats.status());
    return stats.ok() ? *stats : std::map<std::string, std::string>{};
  }

  // Checks a generated feed's stored items against its truth, with the items it retired since
  // the first crawl when `with_retired`, and returns its id (0 when it is not registered).
  uint64_t ExpectFeedStored(Store& store, const GeneratedFeed& feed, bool with_retired) {
    StatusOr<std::optional<uint64_t>> id = store.FindFeedId(base_url_ + "/" + feed.path);
    EXPECT_OK(id.status());
    if (!id.ok() || !id->has_value()) {
      ADD_FAILURE() << feed.path << " is not registered";
      return 0;
    }
    std::vector<Item> expected = feed.items;
    if (with_retired) {
      expected.insert(expected.end(), feed.retired_items.begin(), feed.retired_items.end());
    }
    testing::ExpectStoredItemsMatch(store, **id, expected);
    return **id;
  }

  TempDir www_;
  TempDir work_;
  RedisServer redis_;
  std::unique_ptr<Subprocess> server_;
  std::string base_url_;
  std::vector<GeneratedFeed> truth_;
  std::string summary_;
};

TEST_F(CrawlE2eTest, EveryItemStoredExactlyOnceAndSecondRunIsAllNotModified) {
  auto stats = RunOnce();
  const size_t total_feeds = kFeeds + Faults().size();
  EXPECT_EQ(stats["run_complete"], "1");
  EXPECT_EQ(stats["run_done"], std::to_string(total_feeds));
  EXPECT_EQ(stats["run_ok"], std::to_string(kFeeds));
  EXPECT_EQ(stats["run_failed"], std::to_string(Faults().size()));
  EXPECT_NE(summary_.find("505 feeds"), std::string::npos) << summary_;
  // What each role used, as the kernel counted it: every process that ran, none missed.
  std::map<std::string, ProcessRow> rows = ProcessRows(summary_);
  EXPECT_EQ(rows["coordinator"].processes, 1) << summary_;
  EXPECT_EQ(rows["fetcher"].processes, 2) << summary_;
  EXPECT_EQ(rows["processor"].processes, 2) << summary_;
  EXPECT_EQ(rows["feedcrawl"].processes, 1) << summary_;
  EXPECT_EQ(rows.size(), 4u) << summary_;  // Redis is the test's, not the command's
  for (const auto& [role, row] : rows) {
    // Parsing 500 feeds takes the processors well over 10 ms; every process maps megabytes.
    if (role == "processor") {
      EXPECT_GT(row.cpu_s, 0.01) << summary_;
    }
    EXPECT_GT(row.peak_mib, 1.0) << role << "\n" << summary_;
  }

  auto store = Store::Open(redis_.Url());
  ASSERT_OK(store.status());
  size_t expected_items = 0;
  for (const GeneratedFeed& feed : truth_) {
    SCOPED_TRACE(feed.path + " (" + feed.format + ")");
    ExpectFeedStored(**store, feed, /*with_retired=*/false);
    expected_items += feed.items.size();
  }
  EXPECT_EQ(stats["run_items_new"], std::to_string(expected_items));

  for (const Fault& fault : Faults()) {
    SCOPED_TRACE(fault.path);
    auto id = (*store)->FindFeedId(base_url_ + fault.path);
    ASSERT_OK(id.status());
    ASSERT_TRUE(id->has_value());
    auto feed = (*store)->GetFeed(**id);
    ASSERT_OK(feed.status());
    ASSERT_TRUE(feed->has_value());
    EXPECT_EQ((*feed)->last_outcome, fault.outcome);
    if (fault.status != 0) {
      EXPECT_EQ((*feed)->last_status, fault.status);
    }
    EXPECT_FALSE((*feed)->last_error.empty());
    EXPECT_EQ((*feed)->consecutive_failures, 1u);
  }

  // Second pass: validators were stored, so every generated feed answers 304 and nothing is new.
  auto second = RunOnce();
  EXPECT_EQ(second["run_complete"], "1");
  EXPECT_EQ(second["run_not_modified"], std::to_string(kFeeds));
  EXPECT_EQ(second["run_items_new"], "0");
  EXPECT_EQ(second["run_failed"], std::to_string(Faults().size()));
  EXPECT_EQ(second["items_total"], std::to_string(expected_items));

  // Third pass: every feed moved on by two items (two new on top, the two oldest gone). The
  // processors ask which items are stored and send only the new ones; the store then holds the
  // items of both versions, each once.
  ASSERT_OK_AND_ASSIGN(std::vector<GeneratedFeed> later_truth,
                       GenerateFeeds(FeedSet(/*advance=*/2), www_.path()));
  auto third = RunOnce();
  EXPECT_EQ(third["run_complete"], "1");
  EXPECT_EQ(third["run_ok"], std::to_string(kFeeds));
  EXPECT_EQ(third["run_items_new"], std::to_string(2 * kFeeds));
  EXPECT_EQ(third["items_total"], std::to_string(expected_items + 2 * kFeeds));
  for (const GeneratedFeed& feed : later_truth) {
    SCOPED_TRACE(feed.path + " (" + feed.format + "), third pass");
    ExpectFeedStored(**store, feed, /*with_retired=*/true);
  }
}

// Items stored as LZ4 frames (--item-compression lz4) read back field by field as the truth,
// through the store and through `feedcrawl items`; a later crawl storing text adds to the same
// hashes, and both forms read side by side.
TEST_F(CrawlE2eTest, CompressedItemsReadBackExactlyBesideTextOnes) {
  auto stats = RunOnce({"--item-compression", "lz4"});
  EXPECT_EQ(stats["run_ok"], std::to_string(kFeeds));
  auto store = Store::Open(redis_.Url());
  ASSERT_OK(store.status());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisClient> raw, redis_.Connect());
  size_t expected_items = 0;
  for (const GeneratedFeed& feed : truth_) {
    SCOPED_TRACE(feed.path + " (" + feed.format + ")");
    const uint64_t id = ExpectFeedStored(**store, feed, /*with_retired=*/false);
    expected_items += feed.items.size();
    if (feed.items.empty()) continue;
    ASSERT_OK_AND_ASSIGN(RedisReply stored,
                         raw->Command({"HGET", "fc:items:" + std::to_string(id),
                                       feed.items.front().key}));
    EXPECT_TRUE(IsCompressedItem(stored.str)) << stored.str.substr(0, 40);
  }
  EXPECT_EQ(stats["run_items_new"], std::to_string(expected_items));

  // Every feed gains two items, stored as text this time.
  ASSERT_OK_AND_ASSIGN(std::vector<GeneratedFeed> later_truth,
                       GenerateFeeds(FeedSet(/*advance=*/2), www_.path()));
  auto third = RunOnce();
  EXPECT_EQ(third["run_items_new"], std::to_string(2 * kFeeds));
  size_t text_items = 0;
  for (const GeneratedFeed& feed : later_truth) {
    SCOPED_TRACE(feed.path + " (" + feed.format + "), stored as text");
    const uint64_t id = ExpectFeedStored(**store, feed, /*with_retired=*/true);
    ASSERT_OK_AND_ASSIGN(RedisReply values,
                         raw->Command({"HVALS", "fc:items:" + std::to_string(id)}));
    for (const RedisReply& value : values.elements) {
      if (!IsCompressedItem(value.str)) ++text_items;
    }
  }
  EXPECT_EQ(text_items, 2 * kFeeds);

  // `feedcrawl items` prints every item, compressed or not, as one JSON line each.
  SubprocessOptions options;
  options.capture_stdout = true;
  options.stderr_path = work_.File("items.stderr");
  ASSERT_OK_AND_ASSIGN(auto items, Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl",
                                                     {"items", "--redis", redis_.Url()}, options));
  ASSERT_OK_AND_ASSIGN(std::string lines, items->ReadAll(60'000));
  ASSERT_OK_AND_ASSIGN(auto exit, items->Wait(5'000));
  EXPECT_TRUE(exit.Success()) << testing::ReadFile(work_.File("items.stderr")).value();
  size_t printed = 0;
  std::istringstream stream(lines);
  for (std::string line; std::getline(stream, line);) {
    ASSERT_TRUE(nlohmann::json::parse(line, nullptr, false).is_object()) << line.substr(0, 80);
    ++printed;
  }
  EXPECT_EQ(printed, expected_items + 2 * kFeeds);
  EXPECT_EQ(testing::ReadFile(work_.File("items.stderr")).value(), "");
}

}  // namespace
}  // namespace feedcrawl
