#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "cli/format.h"

namespace feedcrawl::cli {
namespace {

std::string Counts(const RunStats& stats, double feeds_per_second) {
  // Without run counters only failures are known, not how the rest split into ok and 304.
  std::string outcomes = stats.has_run_counts ? "ok " + FormatCount(stats.run_ok) + "  304 " +
                                                    FormatCount(stats.run_not_modified) + "  "
                                              : "";
  return outcomes + "failed " + FormatCount(stats.run_failed) + "  items +" +
         FormatCount(stats.run_items_new) + "  " + FormatRate(feeds_per_second) + " feeds/s";
}

std::string Queue(const RunStats& stats) {
  return "due " + FormatCount(stats.due_now) + "  in flight " + FormatCount(stats.in_flight);
}

}  // namespace

std::string RenderProgressBar(uint64_t done, uint64_t total, int width) {
  if (width < 1) width = 1;
  int filled = 0;
  if (total > 0) {
    uint64_t capped = std::min(done, total);
    filled = static_cast<int>(capped * static_cast<uint64_t>(width) / total);
  }
  return "[" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.') + "]";
}

std::string RenderTtyLine(const RunStats& stats, double feeds_per_second) {
  if (stats.run_once) {
    return RenderProgressBar(stats.run_done, stats.run_feeds, 20) + " " +
           FormatCount(stats.run_done) + "/" + FormatCount(stats.run_feeds) + " feeds  " +
           Counts(stats, feeds_per_second);
  }
  return "live  " + FormatCount(stats.run_done) + " fetched  " + Counts(stats, feeds_per_second) +
         "  " + Queue(stats);
}

std::string RenderPlainLine(const RunStats& stats, double feeds_per_second) {
  if (stats.run_once) {
    uint64_t percent = stats.run_feeds == 0 ? 0 : std::min(stats.run_done, stats.run_feeds) *
                                                      100 / stats.run_feeds;
    return "progress: " + FormatCount(stats.run_done) + "/" + FormatCount(stats.run_feeds) +
           " feeds (" + std::to_string(percent) + "%)  " + Counts(stats, feeds_per_second);
  }
  return "progress: " + FormatCount(stats.run_done) + " fetched  " +
         Counts(stats, feeds_per_second) + "  " + Queue(stats) + "  feeds " +
         FormatCount(stats.feeds_total);
}

double RateMeter::Update(const RunStats& stats, int64_t monotonic_ms) {
  if (stats.run_once) {
    if (stats.run_elapsed_ms <= 0) return 0;
    return static_cast<double>(stats.run_done) * 1000.0 / static_cast<double>(stats.run_elapsed_ms);
  }
  // A counter that went back means a new run; older samples no longer compare.
  if (!samples_.empty() && stats.run_done < samples_.back().second) samples_.clear();
  samples_.emplace_back(monotonic_ms, stats.run_done);
  while (samples_.size() > 2 && monotonic_ms - samples_.front().first > window_ms_) {
    samples_.pop_front();
  }
  int64_t span_ms = monotonic_ms - samples_.front().first;
  if (span_ms <= 0) return 0;
  return static_cast<double>(stats.run_done - samples_.front().second) * 1000.0 /
         static_cast<double>(span_ms);
}

ProgressDisplay::ProgressDisplay(std::FILE* out, bool tty, bool enabled, int64_t plain_interval_ms)
    : out_(out), tty_(tty), enabled_(enabled), plain_interval_ms_(plain_interval_ms) {}

void ProgressDisplay::Update(const RunStats& stats, int64_t monotonic_ms) {
  double rate = rate_.Update(stats, monotonic_ms);
  if (!enabled_) return;
  if (tty_) {
    std::string line = RenderTtyLine(stats, rate);
    size_t width = static_cast<size_t>(TerminalWidth());
    // A line wider than the terminal would wrap and \r could no longer redraw it.
    if (width > 1 && line.size() >= width) line.resize(width - 1);
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    std::fflush(out_);
    line_ = line;
    return;
  }
  if (last_plain_ms_ >= 0 && monotonic_ms - last_plain_ms_ < plain_interval_ms_) return;
  last_plain_ms_ = monotonic_ms;
  std::fprintf(out_, "%s\n", RenderPlainLine(stats, rate).c_str());
  std::fflush(out_);
}

void ProgressDisplay::Message(const std::string& text) {
  Clear();
  std::fprintf(out_, "%s\n", text.c_str());
  if (!line_.empty()) std::fprintf(out_, "%s", line_.c_str());
  std::fflush(out_);
}

void ProgressDisplay::Finish() {
  Clear();
  line_.clear();
  std::fflush(out_);
}

void ProgressDisplay::Clear() {
  if (tty_ && !line_.empty()) std::fprintf(out_, "\r\x1b[K");
}

int ProgressDisplay::TerminalWidth() const {
  struct winsize size {};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 0;
}

}  // namespace feedcrawl::cli
