#include "cli/summary.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cli/format.h"
#include "cli/run_stats.h"

namespace feedcrawl::cli {
namespace {

RunStats ExampleRun() {
  RunStats stats;
  stats.run_once = true;
  stats.run_feeds = 500;
  stats.run_done = 500;
  stats.run_ok = 480;
  stats.run_not_modified = 0;
  stats.run_failed = 20;
  stats.run_failed_by_reason = {{"too_large", 2}, {"timeout", 5}, {"http_5xx", 5},
                                {"parse_error", 3}, {"http_4xx", 5}};
  stats.run_items_new = 9600;
  stats.items_total = 9600;
  stats.run_elapsed_ms = 3200;
  stats.run_complete = true;
  return stats;
}

TEST(FormatTest, Counts) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(88000), "88,000");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
}

TEST(FormatTest, Durations) {
  EXPECT_EQ(FormatDuration(0), "0.0 s");
  EXPECT_EQ(FormatDuration(3240), "3.2 s");
  EXPECT_EQ(FormatDuration(59'960), "1m 00s");
  EXPECT_EQ(FormatDuration(125'000), "2m 05s");
  EXPECT_EQ(FormatDuration(3'720'000), "1h 02m");
}

TEST(FormatTest, Rates) {
  EXPECT_EQ(FormatRate(0), "0");
  EXPECT_EQ(FormatRate(0.5), "0.5");
  EXPECT_EQ(FormatRate(156.25), "156");
  EXPECT_EQ(FormatRate(2950.4), "2,950");
}

TEST(FormatTest, FixedDecimalsAndPadding) {
  EXPECT_EQ(FormatFixed(2.806, 2), "2.81");
  EXPECT_EQ(FormatFixed(15.599, 1), "15.6");
  EXPECT_EQ(FormatFixed(0, 2), "0.00");
  EXPECT_EQ(PadRight("ab", 4), "ab  ");
  EXPECT_EQ(PadLeft("ab", 4), "  ab");
  EXPECT_EQ(PadRight("abcdef", 4), "abcdef");
  EXPECT_EQ(PadLeft("abcdef", 4), "abcdef");
}

TEST(SummaryTest, MatchesTheDocumentedLayout) {
  EXPECT_EQ(FormatSummary(ExampleRun(), true),
            "Crawled 500 feeds in 3.2 s (156 feeds/s)\n"
            "  ok            480\n"
            "  not modified    0\n"
            "  failed         20   (http_4xx 5, http_5xx 5, timeout 5, parse_error 3, "
            "too_large 2)\n"
            "  items         9,600 new, 9,600 stored in total\n");
}

TEST(SummaryTest, NoReasonsWithoutFailures) {
  RunStats stats = ExampleRun();
  stats.run_ok = 500;
  stats.run_failed = 0;
  stats.run_failed_by_reason.clear();
  std::string summary = FormatSummary(stats, true);
  EXPECT_NE(summary.find("  failed          0\n"), std::string::npos) << summary;
  EXPECT_EQ(summary.find('('), summary.find("(156"));  // only the headline has parentheses
}

TEST(SummaryTest, InterruptedRunSaysHowFarItGot) {
  RunStats stats = ExampleRun();
  stats.run_done = 120;
  stats.run_ok = 110;
  stats.run_failed = 10;
  stats.run_failed_by_reason = {{"timeout", 10}};
  stats.run_complete = false;
  std::string summary = FormatSummary(stats, false);
  EXPECT_EQ(summary.substr(0, summary.find('\n')),
            "Stopped after 3.2 s: crawled 120 of 500 feeds (38 feeds/s)");
  EXPECT_NE(summary.find("(timeout 10)"), std::string::npos) << summary;
}

TEST(SummaryTest, WideCountsStayAligned) {
  RunStats stats = ExampleRun();
  stats.run_ok = 1'234'567;
  std::string summary = FormatSummary(stats, true);
  EXPECT_NE(summary.find("  ok            1,234,567\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("  not modified          0\n"), std::string::npos) << summary;
}

TEST(SummaryTest, ProcessRowsAreAlignedByColumn) {
  std::vector<RoleUsage> roles = {{"coordinator", 1, {640'000, 15'974}},
                                  {"processor", 12, {12'806'000, 15'155}},
                                  {"feedcrawl", 1, {50'000, 9'523}}};
  EXPECT_EQ(FormatProcessUsage(roles),
            "  processes     coordinator   1   0.64 s CPU  15.6 MiB peak\n"
            "                processor    12  12.81 s CPU  14.8 MiB peak\n"
            "                feedcrawl     1   0.05 s CPU   9.3 MiB peak\n");
  EXPECT_EQ(FormatProcessUsage({}), "");
}

TEST(RunStatsTest, ReadsFieldsAndFailureReasons) {
  std::map<std::string, std::string> fields = {
      {"updated_ms", "1700000000123"}, {"run_once", "1"},        {"run_feeds", "10"},
      {"run_done", "7"},               {"run_ok", "5"},          {"run_failed", "2"},
      {"run_failed_timeout", "1"},     {"run_failed_http_4xx", "1"},
      {"run_failed_blocked", "0"},     {"run_complete", "0"},    {"items_total", "42"},
      {"run_items_new", "oops"},       {"run_elapsed_ms", "-5"}};
  RunStats stats = RunStatsFromMap(fields);
  EXPECT_EQ(stats.updated_ms, 1'700'000'000'123);
  EXPECT_TRUE(stats.run_once);
  EXPECT_EQ(stats.run_feeds, 10u);
  EXPECT_EQ(stats.run_done, 7u);
  EXPECT_EQ(stats.run_failed, 2u);
  EXPECT_EQ(stats.items_total, 42u);
  EXPECT_EQ(stats.run_items_new, 0u);     // unreadable reads as 0
  EXPECT_EQ(stats.run_elapsed_ms, -5);
  EXPECT_FALSE(stats.run_complete);
  EXPECT_EQ(stats.run_failed_by_reason,
            (std::map<std::string, uint64_t>{{"http_4xx", 1}, {"timeout", 1}}));
}

TEST(RunStatsTest, LiveViewDerivesCountsFromTotalsWhenRunCountersAreMissing) {
  RunStats baseline = RunStatsFromMap({{"fetches_total", "10"}, {"errors_total", "2"},
                                       {"items_total", "100"}});
  EXPECT_FALSE(baseline.has_run_counts);
  RunStats now = RunStatsFromMap({{"fetches_total", "25"}, {"errors_total", "5"},
                                  {"items_total", "160"}, {"feeds_total", "40"}});
  RunStats view = LiveView(now, baseline, 4000);
  EXPECT_EQ(view.run_done, 15u);
  EXPECT_EQ(view.run_failed, 3u);
  EXPECT_EQ(view.run_items_new, 60u);
  EXPECT_EQ(view.run_elapsed_ms, 4000);
  EXPECT_EQ(view.items_total, 160u);
  EXPECT_EQ(view.feeds_total, 40u);

  std::string summary = FormatSummary(view, false);
  EXPECT_EQ(summary,
            "Stopped after 4.0 s: crawled 15 feeds (3.8 feeds/s)\n"
            "  failed        3\n"
            "  items         60 new, 160 stored in total\n");
}

TEST(RunStatsTest, LiveViewKeepsRunCountersWhenPresent) {
  RunStats with_counts = RunStatsFromMap({{"run_done", "7"}, {"fetches_total", "99"}});
  EXPECT_TRUE(with_counts.has_run_counts);
  EXPECT_EQ(LiveView(with_counts, RunStats{}, 1000).run_done, 7u);
}

}  // namespace
}  // namespace feedcrawl::cli
