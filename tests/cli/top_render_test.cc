// The screen of `feedcrawl top` and the JSON of `feedcrawl status`, from a fixed ClusterView.
#include <gtest/gtest.h>

#include "cli/cluster_view.h"
#include "cli/feeds.h"
#include "cli/top.h"

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

}  // namespace
}  // namespace feedcrawl::cli
