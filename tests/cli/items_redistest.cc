// `feedcrawl items` against a real redis-server, running the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/feed_model.h"
#include "common/store.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl::cli {
namespace {

using testing::CliResult;
using testing::RunFeedcrawl;

constexpr char kPrefix[] = "items:";
constexpr char kFeedA[] = "https://a.test/feed";
constexpr char kFeedB[] = "https://b.test/feed";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StoredItem MakeItem(const std::string& key, const std::string& title, int64_t time_ms) {
  Item item;
  item.key = key;
  item.title = title;
  item.link = "https://example.test/" + key;
  item.published_ms = time_ms;
  return StoredItem{key, ItemToJson(item).dump(), time_ms};
}

class ItemsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url(), kPrefix));
    ASSERT_OK_AND_ASSIGN(AddFeedsResult feeds, store_->AddFeeds({kFeedA, kFeedB}, now_));
    ASSERT_OK(store_->StoreItems(feeds.ids[0],
                                 {MakeItem("a-old", "A old", old_), MakeItem("a-new", "A new",
                                                                              recent_)}));
    ASSERT_OK(store_->StoreItems(feeds.ids[1], {MakeItem("b-old", "B old", old_)}));
  }

  CliResult Items(std::vector<std::string> args) {
    args.insert(args.begin(), "items");
    args.insert(args.end(), {"--redis", redis_.Url(), "--prefix", kPrefix});
    StatusOr<CliResult> result = RunFeedcrawl(args);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : CliResult{};
  }

  // The item keys printed, each checked to be a JSON object naming its feed.
  std::multiset<std::string> Keys(const CliResult& result) {
    std::multiset<std::string> keys;
    for (const std::string& line : result.Lines()) {
      nlohmann::json item = nlohmann::json::parse(line);
      EXPECT_TRUE(item.is_object()) << line;
      std::string key = item.at("key");
      EXPECT_EQ(item.at("feed_url"), key[0] == 'a' ? kFeedA : kFeedB) << line;
      keys.insert(key);
    }
    return keys;
  }

  const int64_t now_ = NowMs();
  const int64_t old_ = now_ - 3 * 86'400'000LL;   // three days ago
  const int64_t recent_ = now_ - 3'600'000;       // an hour ago
  feedcrawl::testing::RedisServer redis_;
  std::unique_ptr<Store> store_;
};

TEST_F(ItemsCommandTest, PrintsEveryItemAsJsonLinesWithItsFeedUrl) {
  CliResult all = Items({});
  ASSERT_EQ(all.exit.exit_code, 0) << all.err;
  EXPECT_EQ(Keys(all), (std::multiset<std::string>{"a-old", "a-new", "b-old"}));
  nlohmann::json first = nlohmann::json::parse(all.Lines().at(0));
  EXPECT_TRUE(first.contains("title"));
  EXPECT_TRUE(first.contains("link"));
  EXPECT_TRUE(first.contains("published"));
}

TEST_F(ItemsCommandTest, FiltersByFeed) {
  CliResult b = Items({"--feed", kFeedB});
  ASSERT_EQ(b.exit.exit_code, 0) << b.err;
  EXPECT_EQ(Keys(b), (std::multiset<std::string>{"b-old"}));

  CliResult unknown = Items({"--feed", "https://unknown.test/feed"});
  EXPECT_EQ(unknown.exit.exit_code, 1);
  EXPECT_NE(unknown.err.find("no such feed"), std::string::npos) << unknown.err;
}

TEST_F(ItemsCommandTest, FiltersBySinceAsDurationOrTimestamp) {
  CliResult last_two_hours = Items({"--since", "2h"});
  ASSERT_EQ(last_two_hours.exit.exit_code, 0) << last_two_hours.err;
  EXPECT_EQ(Keys(last_two_hours), (std::multiset<std::string>{"a-new"}));

  CliResult last_week = Items({"--since", "1w"});
  EXPECT_EQ(Keys(last_week), (std::multiset<std::string>{"a-old", "a-new", "b-old"}));

  CliResult since_timestamp = Items({"--since", FormatRfc3339(recent_ - 1000)});
  ASSERT_EQ(since_timestamp.exit.exit_code, 0) << since_timestamp.err;
  EXPECT_EQ(Keys(since_timestamp), (std::multiset<std::string>{"a-new"}));

  CliResult bad = Items({"--since", "yesterday"});
  EXPECT_EQ(bad.exit.exit_code, 2);
  EXPECT_NE(bad.err.find("invalid time"), std::string::npos) << bad.err;
}

TEST_F(ItemsCommandTest, Limits) {
  CliResult one = Items({"--limit", "1"});
  ASSERT_EQ(one.exit.exit_code, 0) << one.err;
  EXPECT_EQ(one.Lines().size(), 1u) << one.out;

  CliResult a_one = Items({"--feed", kFeedA, "--limit", "1"});
  EXPECT_EQ(a_one.Lines().size(), 1u) << a_one.out;

  CliResult unlimited = Items({"--limit", "0"});
  EXPECT_EQ(unlimited.Lines().size(), 3u) << unlimited.out;
}

TEST_F(ItemsCommandTest, EmptyStorePrintsNothing) {
  // A prefix with no feeds and no items.
  ASSERT_OK_AND_ASSIGN(CliResult none,
                       RunFeedcrawl({"items", "--redis", redis_.Url(), "--prefix", "empty:"}));
  ASSERT_EQ(none.exit.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
}

}  // namespace
}  // namespace feedcrawl::cli
