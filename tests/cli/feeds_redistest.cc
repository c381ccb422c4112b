// `feedcrawl feeds ...` against a real redis-server, running the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cli/data_dir.h"
#include "cli/feeds.h"
#include "common/clock.h"
#include "common/feed_model.h"
#include "common/store.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl::cli {
namespace {

using testing::CliResult;
using testing::RunFeedcrawl;

constexpr char kPrefix[] = "clitest:";

class FeedsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(redis_.Start()); }

  // feedcrawl <args> --redis <url> --prefix <prefix>
  CliResult Feedcrawl(std::vector<std::string> args) {
    args.insert(args.end(), {"--redis", redis_.Url(), "--prefix", kPrefix});
    StatusOr<CliResult> result = RunFeedcrawl(args);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : CliResult{};
  }

  std::vector<nlohmann::json> ListJson() {
    CliResult list = Feedcrawl({"feeds", "list", "--json"});
    EXPECT_EQ(list.exit.exit_code, 0) << list.err;
    std::vector<nlohmann::json> feeds;
    for (const std::string& line : list.Lines()) feeds.push_back(nlohmann::json::parse(line));
    return feeds;
  }

  std::vector<std::string> ListedUrls() {
    std::vector<std::string> urls;
    for (const nlohmann::json& feed : ListJson()) urls.push_back(feed.at("url"));
    std::sort(urls.begin(), urls.end());
    return urls;
  }

  feedcrawl::testing::RedisServer redis_;
  feedcrawl::testing::TempDir dir_;
};

TEST_F(FeedsCommandTest, ImportAddListRemove) {
  ASSERT_OK(feedcrawl::testing::WriteFile(dir_.File("feeds.txt"),
                                          "# news\n"
                                          "https://a.test/feed.xml\n"
                                          "\n"
                                          "  https://b.test/rss  # trailing\n"
                                          "https://c.test/atom\n"));
  CliResult imported = Feedcrawl({"feeds", "import", dir_.File("feeds.txt")});
  ASSERT_EQ(imported.exit.exit_code, 0) << imported.err;
  EXPECT_NE(imported.out.find("Imported 3 feeds"), std::string::npos) << imported.out;
  EXPECT_NE(imported.out.find("(3 new)"), std::string::npos) << imported.out;

  // Importing again is idempotent.
  CliResult again = Feedcrawl({"feeds", "import", dir_.File("feeds.txt")});
  ASSERT_EQ(again.exit.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("(0 new)"), std::string::npos) << again.out;

  CliResult added = Feedcrawl({"feeds", "add", "https://d.test/feed", "https://a.test/feed.xml"});
  ASSERT_EQ(added.exit.exit_code, 0) << added.err;
  EXPECT_NE(added.out.find("(1 new)"), std::string::npos) << added.out;

  EXPECT_EQ(ListedUrls(), (std::vector<std::string>{"https://a.test/feed.xml", "https://b.test/rss",
                                                    "https://c.test/atom", "https://d.test/feed"}));
  for (const nlohmann::json& feed : ListJson()) {
    EXPECT_EQ(feed.at("status"), "active");
    EXPECT_EQ(feed.at("items"), 0);
    EXPECT_TRUE(feed.at("last_outcome").is_null());
    EXPECT_TRUE(feed.at("last_error").is_null());
  }

  CliResult table = Feedcrawl({"feeds", "list"});
  ASSERT_EQ(table.exit.exit_code, 0) << table.err;
  std::vector<std::string> rows = table.Lines();
  ASSERT_EQ(rows.size(), 5u) << table.out;
  EXPECT_EQ(rows[0].rfind("URL", 0), 0u) << rows[0];
  EXPECT_NE(rows[0].find("LAST ERROR"), std::string::npos);

  CliResult removed = Feedcrawl({"feeds", "remove", "https://b.test/rss"});
  ASSERT_EQ(removed.exit.exit_code, 0) << removed.err;
  EXPECT_EQ(ListedUrls(), (std::vector<std::string>{"https://a.test/feed.xml",
                                                    "https://c.test/atom", "https://d.test/feed"}));

  // The store agrees with what the command printed.
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis_.Url(), kPrefix));
  ASSERT_OK_AND_ASSIGN(auto gone, store->FindFeedId("https://b.test/rss"));
  EXPECT_FALSE(gone.has_value());
  ASSERT_OK_AND_ASSIGN(auto kept, store->FindFeedId("https://c.test/atom"));
  EXPECT_TRUE(kept.has_value());
}

TEST_F(FeedsCommandTest, ListShowsTheLastOutcomeAndError) {
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis_.Url(), kPrefix));
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store->AddFeeds({"https://broken.test/feed"}, 1000));
  ASSERT_OK_AND_ASSIGN(auto feed, store->GetFeed(added.ids.at(0)));
  ASSERT_TRUE(feed.has_value());
  feed->last_outcome = "http_error";
  feed->last_status = 404;
  feed->last_error = "HTTP 404 Not Found";
  feed->failures = 1;
  ASSERT_OK(store->SaveFeed(*feed));

  std::vector<nlohmann::json> feeds = ListJson();
  ASSERT_EQ(feeds.size(), 1u);
  EXPECT_EQ(feeds[0].at("last_outcome"), "http_error");
  EXPECT_EQ(feeds[0].at("last_status"), 404);
  EXPECT_EQ(feeds[0].at("last_error"), "HTTP 404 Not Found");
  EXPECT_EQ(feeds[0].at("failures"), 1);

  CliResult table = Feedcrawl({"feeds", "list"});
  EXPECT_NE(table.out.find("http_error"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("404"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("HTTP 404 Not Found"), std::string::npos) << table.out;
}

TEST_F(FeedsCommandTest, ImportsNestedOpml) {
  ASSERT_OK(feedcrawl::testing::WriteFile(
      dir_.File("subscriptions.opml"),
      "<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><head/><body>"
      "<outline text=\"Tech\"><outline text=\"A\" xmlUrl=\"https://a.test/feed\"/>"
      "<outline text=\"Deep\"><outline text=\"B\" xmlUrl=\"https://b.test/feed\"/></outline>"
      "</outline></body></opml>\n"));
  CliResult imported = Feedcrawl({"feeds", "import", dir_.File("subscriptions.opml")});
  ASSERT_EQ(imported.exit.exit_code, 0) << imported.err;
  EXPECT_EQ(ListedUrls(), (std::vector<std::string>{"https://a.test/feed", "https://b.test/feed"}));
}

TEST_F(FeedsCommandTest, BadInputIsAUsageErrorAndChangesNothing) {
  ASSERT_OK(feedcrawl::testing::WriteFile(dir_.File("bad.txt"),
                                          "https://a.test/feed\nnot a url\n"));
  CliResult bad_list = Feedcrawl({"feeds", "import", dir_.File("bad.txt")});
  EXPECT_EQ(bad_list.exit.exit_code, 2);
  EXPECT_NE(bad_list.err.find("line 2"), std::string::npos) << bad_list.err;

  ASSERT_OK(feedcrawl::testing::WriteFile(dir_.File("bad.opml"), "<opml><body><outline>"));
  CliResult bad_opml = Feedcrawl({"feeds", "import", dir_.File("bad.opml")});
  EXPECT_EQ(bad_opml.exit.exit_code, 2);
  EXPECT_NE(bad_opml.err.find("invalid OPML"), std::string::npos) << bad_opml.err;

  CliResult bad_url = Feedcrawl({"feeds", "add", "ftp://a.test/feed"});
  EXPECT_EQ(bad_url.exit.exit_code, 2);

  CliResult missing = Feedcrawl({"feeds", "import", dir_.File("absent.txt")});
  EXPECT_EQ(missing.exit.exit_code, 1);
  EXPECT_NE(missing.err.find("absent.txt"), std::string::npos) << missing.err;

  EXPECT_TRUE(ListedUrls().empty());
}

TEST_F(FeedsCommandTest, RemovingAnUnknownFeedFails) {
  CliResult removed = Feedcrawl({"feeds", "remove", "https://nobody.test/feed"});
  EXPECT_EQ(removed.exit.exit_code, 1);
  EXPECT_NE(removed.err.find("no such feed"), std::string::npos) << removed.err;
}

TEST_F(FeedsCommandTest, ResumeMakesAPausedFeedActiveAndDueNow) {
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis_.Url(), kPrefix));
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store->AddFeeds({"https://gone.test/feed"}, 1000));
  ASSERT_OK_AND_ASSIGN(auto feed, store->GetFeed(added.ids.at(0)));
  ASSERT_TRUE(feed.has_value());
  feed->status = "disabled";
  feed->consecutive_failures = 12;
  feed->next_due_ms = 4'000'000'000'000;
  ASSERT_OK(store->SaveFeed(*feed));

  CliResult resumed = Feedcrawl({"feeds", "resume", "https://gone.test/feed"});
  ASSERT_EQ(resumed.exit.exit_code, 0) << resumed.err;
  ASSERT_OK_AND_ASSIGN(auto after, store->GetFeed(added.ids.at(0)));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, "active");
  EXPECT_EQ(after->consecutive_failures, 0u);
  EXPECT_LT(after->next_due_ms, feed->next_due_ms);

  CliResult unknown = Feedcrawl({"feeds", "resume", "https://nobody.test/feed"});
  EXPECT_EQ(unknown.exit.exit_code, 1);
  EXPECT_NE(unknown.err.find("no such feed"), std::string::npos) << unknown.err;
}

TEST_F(FeedsCommandTest, DueListsScheduledFeedsSoonestFirst) {
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis_.Url(), kPrefix));
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added,
                       store->AddFeeds({"https://later.test/feed", "https://off.test/feed",
                                        "https://probed.test/feed", "https://soon.test/feed"},
                                       1000));
  const int64_t now = SystemClock::Instance().NowMs();
  // later: in an hour; off: disabled, due first but never started; probed: paused, in a
  // week; soon: ten minutes ago, not started yet.
  const std::vector<std::pair<std::string, int64_t>> states = {
      {"active", now + 3'600'000}, {"disabled", now - 7'200'000},
      {"paused", now + 7 * 86'400'000LL}, {"active", now - 600'000}};
  for (size_t i = 0; i < states.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(auto feed, store->GetFeed(added.ids.at(i)));
    ASSERT_TRUE(feed.has_value());
    feed->status = states[i].first;
    feed->next_due_ms = states[i].second;
    ASSERT_OK(store->SaveFeed(*feed));
  }

  CliResult json = Feedcrawl({"feeds", "list", "--due", "--json"});
  ASSERT_EQ(json.exit.exit_code, 0) << json.err;
  std::vector<std::string> urls;
  for (const std::string& line : json.Lines()) urls.push_back(nlohmann::json::parse(line)["url"]);
  EXPECT_EQ(urls, (std::vector<std::string>{"https://soon.test/feed", "https://later.test/feed",
                                            "https://probed.test/feed"}));

  CliResult first = Feedcrawl({"feeds", "list", "--due", "--json", "--limit", "1"});
  ASSERT_EQ(first.Lines().size(), 1u) << first.out;
  EXPECT_EQ(nlohmann::json::parse(first.Lines()[0])["next_due"], FormatRfc3339(now - 600'000));

  CliResult table = Feedcrawl({"feeds", "list", "--due"});
  ASSERT_EQ(table.exit.exit_code, 0) << table.err;
  std::vector<std::string> rows = table.Lines();
  ASSERT_EQ(rows.size(), 4u) << table.out;
  EXPECT_NE(rows[0].find("NEXT DUE"), std::string::npos) << table.out;
  EXPECT_NE(rows[1].find("https://soon.test/feed"), std::string::npos) << table.out;
  EXPECT_NE(rows[1].find(" ago"), std::string::npos) << table.out;
  EXPECT_NE(rows[2].find("in 1h 00m"), std::string::npos) << table.out;
  EXPECT_NE(rows[3].find("paused"), std::string::npos) << table.out;

  CliResult failing = Feedcrawl({"feeds", "list", "--failing", "--json", "--limit", "1"});
  ASSERT_EQ(failing.Lines().size(), 1u) << failing.out;
  EXPECT_EQ(nlohmann::json::parse(failing.Lines()[0])["url"], "https://off.test/feed");

  // The whole list keeps every feed, in the store's order.
  EXPECT_EQ(Feedcrawl({"feeds", "list", "--limit", "2"}).Lines().size(), 3u);
  CliResult two = Feedcrawl({"feeds", "list", "--json", "--limit", "2"});
  ASSERT_EQ(two.Lines().size(), 2u) << two.out;
  EXPECT_EQ(nlohmann::json::parse(two.Lines()[0])["url"], "https://later.test/feed");
  EXPECT_EQ(nlohmann::json::parse(two.Lines()[1])["url"], "https://off.test/feed");
  EXPECT_EQ(ListJson().size(), 4u);
  EXPECT_EQ(Feedcrawl({"feeds", "list", "--due", "--failing"}).exit.exit_code, 2);
}

// Over more feeds than --limit keeps in memory at once, the candidates are cut back as the
// records are read; the feeds listed are still the first of the whole list, ties by id.
TEST_F(FeedsCommandTest, ListsOverManyFeedsFollowTheWholeListsOrder) {
  constexpr size_t kFeeds = 5000;
  constexpr size_t kLimit = 25;
  std::vector<std::string> urls;
  for (size_t i = 0; i < kFeeds; ++i) urls.push_back("https://f" + std::to_string(i) + ".test/");
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis_.Url(), kPrefix));
  ASSERT_OK_AND_ASSIGN(AddFeedsResult added, store->AddFeeds(urls, 1000));
  // Due times that repeat (five feeds each), some feeds paused or disabled, some with a streak.
  std::vector<FeedRecord> states;
  std::vector<std::vector<std::string>> writes;
  for (size_t i = 0; i < kFeeds; ++i) {
    FeedRecord feed;
    feed.id = added.ids[i];
    feed.url = urls[i];
    feed.next_due_ms = 1'000'000 + static_cast<int64_t>((i * 7919) % 1000) * 1000;
    feed.status = i % 17 == 0 ? "disabled" : i % 23 == 0 ? "paused" : "active";
    feed.consecutive_failures = i % 11 == 0 ? static_cast<uint32_t>(i % 7) + 1 : 0;
    writes.push_back({"HSET", std::string(kPrefix) + "feed:" + std::to_string(feed.id),
                      "status", feed.status, "next_due_ms", std::to_string(feed.next_due_ms),
                      "consecutive_failures", std::to_string(feed.consecutive_failures)});
    states.push_back(feed);
  }
  ASSERT_OK(store->redis().Pipeline(writes).status());

  // The first `count` (0: all) of the feeds `keep` selects, in the order `before` gives them
  // (stable: ids ascending among equals).
  auto first_urls = [&](bool (*keep)(const FeedRecord&),
                        bool (*before)(const FeedRecord&, const FeedRecord&), size_t count) {
    std::vector<FeedRecord> kept;
    for (const FeedRecord& feed : states) {
      if (keep(feed)) kept.push_back(feed);
    }
    std::stable_sort(kept.begin(), kept.end(), before);
    if (count > 0) kept.resize(std::min(count, kept.size()));
    std::vector<std::string> first;
    for (const FeedRecord& feed : kept) first.push_back(feed.url);
    return first;
  };
  auto listed_urls = [&](const std::string& mode, size_t limit) {
    std::vector<std::string> args = {"feeds", "list", mode, "--json"};
    if (limit > 0) args.insert(args.end(), {"--limit", std::to_string(limit)});
    CliResult list = Feedcrawl(args);
    EXPECT_EQ(list.exit.exit_code, 0) << list.err;
    std::vector<std::string> listed;
    for (const std::string& line : list.Lines()) {
      listed.push_back(nlohmann::json::parse(line)["url"]);
    }
    return listed;
  };
  auto sooner = [](const FeedRecord& a, const FeedRecord& b) {
    return a.next_due_ms < b.next_due_ms;
  };
  auto longer_streak = [](const FeedRecord& a, const FeedRecord& b) {
    return a.consecutive_failures > b.consecutive_failures;
  };

  EXPECT_EQ(listed_urls("--due", kLimit), first_urls(IsScheduled, sooner, kLimit));
  EXPECT_EQ(listed_urls("--failing", kLimit), first_urls(IsFailing, longer_streak, kLimit));
  // Without a limit every selected feed comes, in the same order.
  EXPECT_EQ(listed_urls("--due", 0), first_urls(IsScheduled, sooner, 0));
  EXPECT_EQ(listed_urls("--failing", 0), first_urls(IsFailing, longer_streak, 0));

  // The plain table, printed as it is read: its columns are sized over its first 1,000 rows
  // (the header and feeds f0-f998, whose URLs have at most 18 characters), and a later URL
  // longer than that pushes the rest of its line right instead of being cut.
  CliResult table = Feedcrawl({"feeds", "list"});
  ASSERT_EQ(table.exit.exit_code, 0) << table.err;
  std::vector<std::string> lines = table.Lines();
  ASSERT_EQ(lines.size(), kFeeds + 1);
  EXPECT_EQ(lines[0].find("STATUS"), 20u) << lines[0];
  for (size_t i = 0; i < kFeeds; ++i) {
    const std::string& line = lines[i + 1];
    ASSERT_EQ(line.rfind(urls[i], 0), 0u) << line;
    const size_t status_at = std::max<size_t>(20, urls[i].size() + 2);
    ASSERT_EQ(line.find_first_not_of(' ', urls[i].size()), status_at) << line;
    ASSERT_EQ(line.compare(status_at, states[i].status.size(), states[i].status), 0) << line;
  }
}

TEST(FeedsCommandErrorsTest, UnreachableRedisIsAFailure) {
  feedcrawl::testing::TempDir dir;
  StatusOr<CliResult> result = RunFeedcrawl(
      {"feeds", "list", "--redis", "unix://" + dir.File("no-such.sock")});
  ASSERT_OK(result);
  EXPECT_EQ(result->exit.exit_code, 1);
  EXPECT_NE(result->err.find("cannot connect to Redis"), std::string::npos) << result->err;
}

TEST(FeedsCommandErrorsTest, UsageErrorsExitWithTwo) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{}, {"no-such-command"}, {"feeds"}, {"feeds", "add"},
        {"items", "--limit", "-1"}, {"run", "--fetchers", "0"},
        {"run", "--item-compression", "zstd"}}) {
    ASSERT_OK_AND_ASSIGN(CliResult result, RunFeedcrawl(args));
    EXPECT_EQ(result.exit.exit_code, 2) << ::testing::PrintToString(args) << result.err;
  }
}

// Without --redis the command runs the data dir's own redis-server, whose append-only file keeps
// the feeds for the next command.
TEST(FeedsDataDirTest, OwnRedisServerKeepsFeedsBetweenCommands) {
  feedcrawl::testing::TempDir dir;
  std::string data_dir = dir.File("data");
  ASSERT_OK_AND_ASSIGN(CliResult added,
                       RunFeedcrawl({"feeds", "add", "https://a.test/feed", "--data-dir",
                                     data_dir}));
  ASSERT_EQ(added.exit.exit_code, 0) << added.err;

  ASSERT_OK_AND_ASSIGN(CliResult listed,
                       RunFeedcrawl({"feeds", "list", "--json", "--data-dir", data_dir}));
  ASSERT_EQ(listed.exit.exit_code, 0) << listed.err;
  ASSERT_EQ(listed.Lines().size(), 1u) << listed.out;
  EXPECT_EQ(nlohmann::json::parse(listed.Lines()[0]).at("url"), "https://a.test/feed");

  // The server was stopped after each command and left no socket address behind.
  DataDir layout(data_dir);
  EXPECT_FALSE(feedcrawl::testing::ReadFile(layout.RedisUrlFile()).ok());
}

// While another process owns the data dir (a run), commands use its redis-server, and a second
// run is refused.
TEST(FeedsDataDirTest, SharesTheServerOfTheProcessHoldingTheDataDir) {
  feedcrawl::testing::RedisServer redis;
  ASSERT_OK(redis.Start());
  feedcrawl::testing::TempDir dir;
  DataDir layout(dir.File("data"));
  ASSERT_OK(layout.Prepare());
  ASSERT_OK_AND_ASSIGN(auto lock, DataDirLock::Acquire(layout));
  ASSERT_OK(feedcrawl::testing::WriteFile(layout.RedisUrlFile(), redis.Url() + "\n"));

  ASSERT_OK_AND_ASSIGN(CliResult added,
                       RunFeedcrawl({"feeds", "add", "https://shared.test/feed", "--data-dir",
                                     layout.root()}));
  ASSERT_EQ(added.exit.exit_code, 0) << added.err;
  ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis.Url()));
  ASSERT_OK_AND_ASSIGN(auto id, store->FindFeedId("https://shared.test/feed"));
  EXPECT_TRUE(id.has_value());

  ASSERT_OK_AND_ASSIGN(CliResult run,
                       RunFeedcrawl({"run", "--once", "--no-progress", "--data-dir",
                                     layout.root()}));
  EXPECT_EQ(run.exit.exit_code, 1);
  EXPECT_NE(run.err.find("another feedcrawl process is using"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace feedcrawl::cli
