#include "cli/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "cli/run_stats.h"

namespace feedcrawl::cli {
namespace {

RunStats OnceRun() {
  RunStats stats;
  stats.run_once = true;
  stats.run_feeds = 10'000;
  stats.run_done = 4'512;
  stats.run_ok = 4'400;
  stats.run_not_modified = 0;
  stats.run_failed = 112;
  stats.run_items_new = 88'000;
  stats.run_elapsed_ms = 1'530;
  return stats;
}

// Everything written to a FILE*, read back.
class CapturedFile {
 public:
  CapturedFile() : file_(std::tmpfile()) {}
  ~CapturedFile() { std::fclose(file_); }
  std::FILE* get() { return file_; }
  std::string Contents() {
    std::fflush(file_);
    std::rewind(file_);
    std::string text;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file_)) > 0) text.append(buffer, n);
    return text;
  }

 private:
  std::FILE* file_;
};

TEST(ProgressTest, Bar) {
  EXPECT_EQ(RenderProgressBar(4512, 10000, 20), "[#########...........]");
  EXPECT_EQ(RenderProgressBar(0, 10000, 20), "[....................]");
  EXPECT_EQ(RenderProgressBar(10000, 10000, 20), "[####################]");
  EXPECT_EQ(RenderProgressBar(12000, 10000, 10), "[##########]");  // never overflows
  EXPECT_EQ(RenderProgressBar(5, 0, 4), "[....]");                 // nothing to do yet
}

TEST(ProgressTest, TtyLineMatchesTheDocumentedLayout) {
  EXPECT_EQ(RenderTtyLine(OnceRun(), 2950.0),
            "[#########...........] 4,512/10,000 feeds  ok 4,400  304 0  failed 112  "
            "items +88,000  2,950 feeds/s");
}

TEST(ProgressTest, ContinuousModeShowsTheQueueInsteadOfABar) {
  RunStats stats = OnceRun();
  stats.run_once = false;
  stats.due_now = 12;
  stats.in_flight = 256;
  std::string line = RenderTtyLine(stats, 3.5);
  EXPECT_EQ(line.find('['), std::string::npos) << line;
  EXPECT_NE(line.find("4,512 fetched"), std::string::npos) << line;
  EXPECT_NE(line.find("due 12  in flight 256"), std::string::npos) << line;
  EXPECT_NE(line.find("3.5 feeds/s"), std::string::npos) << line;
}

TEST(ProgressTest, WithoutRunCountersOnlyFailuresAreShown) {
  RunStats stats = OnceRun();
  stats.run_once = false;
  stats.has_run_counts = false;
  std::string line = RenderTtyLine(stats, 1.0);
  EXPECT_EQ(line.find("ok "), std::string::npos) << line;
  EXPECT_EQ(line.find("304"), std::string::npos) << line;
  EXPECT_NE(line.find("failed 112  items +88,000"), std::string::npos) << line;
}

TEST(ProgressTest, PlainLineHasPercentAndNoControlCharacters) {
  std::string line = RenderPlainLine(OnceRun(), 2950.0);
  EXPECT_EQ(line,
            "progress: 4,512/10,000 feeds (45%)  ok 4,400  304 0  failed 112  items +88,000  "
            "2,950 feeds/s");
}

TEST(ProgressTest, RateIsTheRunAverageInOnceMode) {
  RateMeter meter;
  EXPECT_NEAR(meter.Update(OnceRun(), 0), 4512 / 1.53, 0.01);
  RunStats fresh = OnceRun();
  fresh.run_elapsed_ms = 0;
  EXPECT_EQ(meter.Update(fresh, 0), 0);
}

TEST(ProgressTest, RateFollowsRecentSamplesInContinuousMode) {
  RateMeter meter(/*window_ms=*/1000);
  RunStats stats;
  stats.run_done = 0;
  EXPECT_EQ(meter.Update(stats, 0), 0);
  stats.run_done = 100;
  EXPECT_NEAR(meter.Update(stats, 500), 200.0, 0.01);
  stats.run_done = 200;
  EXPECT_NEAR(meter.Update(stats, 1000), 200.0, 0.01);
  // The load drops: after the window only recent samples count.
  stats.run_done = 210;
  meter.Update(stats, 2000);
  stats.run_done = 220;
  EXPECT_NEAR(meter.Update(stats, 3000), 10.0, 0.01);
}

TEST(ProgressTest, PlainDisplayPrintsAtMostEveryInterval) {
  CapturedFile out;
  ProgressDisplay display(out.get(), /*tty=*/false, /*enabled=*/true, /*plain_interval_ms=*/2000);
  display.Update(OnceRun(), 0);
  display.Update(OnceRun(), 250);
  display.Update(OnceRun(), 1999);
  display.Update(OnceRun(), 2000);
  display.Finish();
  std::string text = out.Contents();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(ProgressTest, TtyDisplayRedrawsOneLineAndKeepsItUnderMessages) {
  CapturedFile out;
  ProgressDisplay display(out.get(), /*tty=*/true, /*enabled=*/true);
  display.Update(OnceRun(), 0);
  display.Message("fetcher-1 exited; restarting");
  display.Finish();
  std::string text = out.Contents();
  std::string line = RenderTtyLine(OnceRun(), 4512 / 1.53);
  EXPECT_EQ(text, "\r" + line + "\x1b[K" + "\r\x1b[K" + "fetcher-1 exited; restarting\n" + line +
                      "\r\x1b[K");
}

TEST(ProgressTest, DisabledDisplayPrintsOnlyMessages) {
  CapturedFile out;
  ProgressDisplay display(out.get(), /*tty=*/true, /*enabled=*/false);
  display.Update(OnceRun(), 0);
  display.Message("hello");
  display.Finish();
  EXPECT_EQ(out.Contents(), "hello\n");
}

}  // namespace
}  // namespace feedcrawl::cli
