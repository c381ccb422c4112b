// Progress display for `feedcrawl run`: renders the coordinator's live numbers as one redrawn
// line with a bar on a terminal, or as a plain line every two seconds otherwise, and prints
// occasional messages (a restarted worker) without garbling that line. The Render* functions are
// pure; a ProgressDisplay belongs to one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <utility>

#include "cli/run_stats.h"

namespace feedcrawl::cli {

// "[#########...........]": `width` cells filled in proportion to done/total.
std::string RenderProgressBar(uint64_t done, uint64_t total, int width);

// The terminal line. In a --once run:
//   [#########...........] 4,512/10,000 feeds  ok 4,400  304 0  failed 112  items +88,000  2,950 feeds/s
// In continuous mode (no end to show), a live line with the queue instead of a bar.
std::string RenderTtyLine(const RunStats& stats, double feeds_per_second);

// The same numbers for logs and pipes, without a bar or control characters.
std::string RenderPlainLine(const RunStats& stats, double feeds_per_second);

// Feeds per second: the run's average in --once mode; in continuous mode the rate over the last
// few seconds of samples, so it follows the live load.
class RateMeter {
 public:
  explicit RateMeter(int64_t window_ms = 5000) : window_ms_(window_ms) {}
  double Update(const RunStats& stats, int64_t monotonic_ms);

 private:
  int64_t window_ms_;
  std::deque<std::pair<int64_t, uint64_t>> samples_;  // (monotonic ms, run_done)
};

class ProgressDisplay {
 public:
  // `tty` selects the redrawn line; `enabled` false prints messages only.
  ProgressDisplay(std::FILE* out, bool tty, bool enabled, int64_t plain_interval_ms = 2000);

  void Update(const RunStats& stats, int64_t monotonic_ms);
  // Prints a line of its own above the progress line.
  void Message(const std::string& text);
  // Removes the progress line so what follows starts on a clean line.
  void Finish();

 private:
  void Clear();
  int TerminalWidth() const;

  std::FILE* out_;
  bool tty_;
  bool enabled_;
  int64_t plain_interval_ms_;
  int64_t last_plain_ms_ = -1;
  RateMeter rate_;
  std::string line_;  // what the terminal shows now ("" when nothing)
};

}  // namespace feedcrawl::cli
