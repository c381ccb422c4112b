// The screen of `feedcrawl top` and the JSON of `feedcrawl status`, from a fixed ClusterView; the
// feeds `feedcrawl feeds list` selects and its due times, from fixed records.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cluster_view.h"
#include "cli/feeds.h"
#include "cli/top.h"
#include "common/feed_model.h"

namespace feedcrawl::cli {
namespace {

ClusterView SampleView() {
  ClusterView view;
  view.now_ms = 1'000'000;
  view.stats = {{"updated_ms", "999500"},   {"feeds_total", "12000"},
                {"due_now", "40"},          {"dispatchable", "10"},
                {"waiting_host", "30"},     {"in_flight", "25"},
                {"fetching", "20"},         {"backlog_results", "5"},
                {"errors_http_4xx_total", "7"}, {"errors_timeout_total", "9"},
                {"epoch", "3"},             {"feeds_never_fetched", "4500"}};
  view.workers = {{"fetcher", "host-a-1", {{"active", "4"}, {"credit", "12"}, {"processed", "900"}}},
                  {"processor", "host-b-2", {{"processed", "880"}, {"errors", "2"}}}};
  view.hosts = {{"a.example", 50, 1, 120, 400}, {"b.example", 900, 0, 30, 80},
                {"c.example", 3, 3, 9000, 15000}};
  return view;
}

TEST(TopRenderTest, ShowsQueuesWorkersAndHosts) {
  const std::string screen = RenderTop(SampleView(), 160);
  EXPECT_NE(screen.find("updated 0.5 s ago"), std::string::npos) << screen;
  EXPECT_NE(screen.find("total 12,000"), std::string::npos) << screen;
  EXPECT_NE(screen.find("never fetched 4,500"), std::string::npos) << screen;
  EXPECT_NE(screen.find("dispatchable 10"), std::string::npos) << screen;
  EXPECT_NE(screen.find("waiting on hosts 30"), std::string::npos) << screen;
  EXPECT_NE(screen.find("backlog to processors 5"), std::string::npos) << screen;
  EXPECT_NE(screen.find("timeout 9, http_4xx 7"), std::string::npos) << screen;
  EXPECT_NE(screen.find("host-a-1"), std::string::npos) << screen;
  // The busiest host comes first on the left; the slowest first on the right.
  const size_t busiest = screen.find("b.example");
  const size_t next = screen.find("a.example");
  ASSERT_NE(busiest, std::string::npos);
  EXPECT_LT(busiest, next);
  const size_t slow_header = screen.find("SLOWEST HOSTS");
  const size_t first_row = screen.find('\n', slow_header) + 1;
  const std::string row = screen.substr(first_row, screen.find('\n', first_row) - first_row);
  EXPECT_NE(row.find("c.example"), std::string::npos) << row;
  EXPECT_EQ(screen.find('\x1b'), std::string::npos) << "control codes are added by the loop";
}

TEST(TopRenderTest, CutsLinesToTheWidth) {
  const std::string screen = RenderTop(SampleView(), 40);
  size_t start = 0;
  while (start < screen.size()) {
    const size_t end = screen.find('\n', start);
    EXPECT_LE(end - start, 40u) << screen.substr(start, end - start);
    start = end + 1;
  }
}

TEST(TopRenderTest, SaysSoWhenNoCoordinatorWroteNumbers) {
  ClusterView empty;
  EXPECT_NE(RenderTop(empty, 120).find("no numbers yet"), std::string::npos);
  EXPECT_EQ(empty.AgeMs(), -1);
}

TEST(StatusJsonTest, NumbersAreNumbers) {
  nlohmann::json json = ClusterViewToJson(SampleView());
  EXPECT_EQ(json["stats"]["in_flight"], 25);
  EXPECT_EQ(json["age_ms"], 500);
  EXPECT_EQ(json["hosts"][0]["host"], "b.example");
  EXPECT_EQ(json["workers"][0]["role"], "fetcher");
  EXPECT_EQ(json["workers"][0]["credit"], 12);
}

TEST(FailingFeedsTest, StreaksPausedAndDisabledAreFailing) {
  FeedRecord healthy;
  EXPECT_FALSE(IsFailing(healthy));
  FeedRecord streak;
  streak.consecutive_failures = 2;
  EXPECT_TRUE(IsFailing(streak));
  FeedRecord paused;
  paused.status = "paused";
  EXPECT_TRUE(IsFailing(paused));
  FeedRecord disabled;
  disabled.status = "disabled";
  EXPECT_TRUE(IsFailing(disabled));
}

FeedRecord ListedFeed(uint64_t id, const std::string& status, int64_t next_due_ms,
                      uint32_t consecutive_failures = 0) {
  FeedRecord feed;
  feed.id = id;
  feed.url = "https://f" + std::to_string(id) + ".test/feed";
  feed.status = status;
  feed.next_due_ms = next_due_ms;
  feed.consecutive_failures = consecutive_failures;
  return feed;
}

std::vector<uint64_t> Ids(const std::vector<FeedRecord>& feeds) {
  std::vector<uint64_t> ids;
  for (const FeedRecord& feed : feeds) ids.push_back(feed.id);
  return ids;
}

// The lines of printed text, without their line feeds.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// In the store's order, by id.
std::vector<FeedRecord> StoredFeeds() {
  return {ListedFeed(1, "active", 300), ListedFeed(2, "disabled", 100, 12),
          ListedFeed(3, "paused", 200, 10), ListedFeed(4, "active", 300, 1),
          ListedFeed(5, "active", 50)};
}

TEST(ListedFeedsTest, DueKeepsScheduledFeedsSoonestFirstThenByLowerId) {
  FeedsListOptions due;
  due.due = true;
  std::vector<FeedRecord> feeds = StoredFeeds();
  SelectListedFeeds(due, feeds);
  EXPECT_EQ(Ids(feeds), (std::vector<uint64_t>{5, 3, 1, 4}));

  due.limit = 2;
  feeds = StoredFeeds();
  SelectListedFeeds(due, feeds);
  EXPECT_EQ(Ids(feeds), (std::vector<uint64_t>{5, 3}));

  due.limit = 10;
  feeds = StoredFeeds();
  SelectListedFeeds(due, feeds);
  EXPECT_EQ(Ids(feeds), (std::vector<uint64_t>{5, 3, 1, 4}));
}

TEST(ListedFeedsTest, LimitTakesTheFirstInTheListedOrder) {
  FeedsListOptions all;
  std::vector<FeedRecord> feeds = StoredFeeds();
  SelectListedFeeds(all, feeds);
  EXPECT_EQ(Ids(feeds), (std::vector<uint64_t>{1, 2, 3, 4, 5}));

  all.limit = 3;
  feeds = StoredFeeds();
  SelectListedFeeds(all, feeds);
  EXPECT_EQ(Ids(feeds), (std::vector<uint64_t>{1, 2, 3}));

  FeedsListOptions failing;
  failing.failing = true;
  failing.limit = 2;
  feeds = StoredFeeds();
  SelectListedFeeds(failing, feeds);
  EXPECT_EQ(Ids(feeds), (std::vector<uint64_t>{2, 3}));
}

TEST(ListedFeedsTest, TableColumnsAreSizedOverTheFirstLinesThenPrintedAsTheyCome) {
  FeedRecord short_url = ListedFeed(1, "active", 0);
  short_url.url = "https://a.test/";
  short_url.last_outcome = "ok";
  short_url.last_status = 200;
  short_url.items_total = 1234;
  FeedRecord long_url = short_url;
  long_url.url = "https://a-much-longer-host.test/feed.xml";
  long_url.items_total = 5;

  std::ostringstream out;
  FeedTable table(out, /*due=*/false, 0, /*sizing_rows=*/3);  // the header and two feeds
  table.Add(short_url);
  EXPECT_EQ(out.str(), "") << "the sizing lines are held";
  table.Add(short_url);  // the window is full: the three lines print
  EXPECT_EQ(Lines(out.str()).size(), 3u) << out.str();
  table.Add(long_url);
  EXPECT_EQ(Lines(out.str()).size(), 4u) << "a line after the window prints at once";
  table.Finish();
  const std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  // Sized over "URL" and "https://a.test/": STATUS starts two spaces after the longer.
  EXPECT_EQ(lines[0], "URL              STATUS  OUTCOME  HTTP  ITEMS  LAST ERROR");
  EXPECT_EQ(lines[1], "https://a.test/  active  ok        200  1,234  -");
  EXPECT_EQ(lines[2], lines[1]);
  // A later, longer URL is kept whole and pushes its line; the counts stay right-aligned.
  EXPECT_EQ(lines[3], "https://a-much-longer-host.test/feed.xml  active  ok        200      5  -");
}

TEST(ListedFeedsTest, DueTimesReadFromNow) {
  const int64_t now = 1'700'000'000'000;
  EXPECT_EQ(FormatDueIn(now + 250'000, now), "in 4m 10s");
  EXPECT_EQ(FormatDueIn(now - 12'500, now), "12.5 s ago");
  EXPECT_EQ(FormatDueIn(now + 400, now), "now");
  EXPECT_EQ(FormatDueIn(now - 400, now), "now");

  std::ostringstream out;
  FeedTable due_table(out, /*due=*/true, now, kFeedTableSizingRows);
  due_table.Add(ListedFeed(7, "active", now + 250'000));
  due_table.Add(ListedFeed(8, "active", 0));
  due_table.Finish();
  const std::string table = out.str();
  const std::vector<std::string> lines = Lines(table);
  ASSERT_EQ(lines.size(), 3u) << table;
  EXPECT_EQ(lines[0].rfind("URL", 0), 0u) << table;
  EXPECT_NE(lines[0].find("DUE"), std::string::npos) << table;
  EXPECT_NE(lines[0].find("NEXT DUE"), std::string::npos) << table;
  EXPECT_NE(lines[1].find("in 4m 10s"), std::string::npos) << table;
  EXPECT_NE(lines[1].find(FormatRfc3339(now + 250'000)), std::string::npos) << table;
  // A record without a due time is due at once.
  EXPECT_NE(lines[2].find("now"), std::string::npos) << table;
}

}  // namespace
}  // namespace feedcrawl::cli
