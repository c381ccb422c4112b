#include "cli/top.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/signals.h"
#include "common/clock.h"

namespace feedcrawl::cli {
namespace {

constexpr size_t kHostRows = 5;
constexpr size_t kWorkerRows = 12;
constexpr char kErrorsPrefix[] = "errors_";
constexpr char kTotalSuffix[] = "_total";

std::string Count(const ClusterView& view, const char* field) {
  return FormatCount(static_cast<uint64_t>(std::max<int64_t>(0, view.Number(field))));
}

std::string FieldOr(const WorkerHash& worker, const char* field, const char* fallback) {
  auto it = worker.fields.find(field);
  return it == worker.fields.end() ? fallback : it->second;
}

// "http_4xx 5, timeout 3": every errors_<class>_total field, largest first.
std::string ErrorClasses(const ClusterView& view) {
  std::vector<std::pair<int64_t, std::string>> classes;
  const std::string prefix = kErrorsPrefix, suffix = kTotalSuffix;
  for (const auto& [field, text] : view.stats) {
    if (field.size() <= prefix.size() + suffix.size() || field.rfind(prefix, 0) != 0 ||
        field.compare(field.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string name =
        field.substr(prefix.size(), field.size() - prefix.size() - suffix.size());
    classes.emplace_back(view.Number(field), name);
  }
  std::sort(classes.begin(), classes.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string text;
  for (const auto& [count, name] : classes) {
    if (!text.empty()) text += ", ";
    text += name + " " + FormatCount(static_cast<uint64_t>(count));
  }
  return text.empty() ? "none" : text;
}

}  // namespace

std::string RenderTop(const ClusterView& view, int width) {
  std::vector<std::string> lines;
  std::string title = "feedcrawl top";
  if (view.stats.empty()) {
    lines.push_back(title + "   no numbers yet: is a coordinator running on this store?");
  } else {
    lines.push_back(title + "   updated " + FormatDuration(view.AgeMs()) + " ago   epoch " +
                    Count(view, "epoch") + "   up " + FormatDuration(view.Number("run_elapsed_ms")));
  }
  lines.push_back("");
  lines.push_back("feeds       total " + Count(view, "feeds_total") + "   never fetched " +
                  Count(view, "feeds_never_fetched") + "   due " +
                  Count(view, "due_now") + "   dispatchable " + Count(view, "dispatchable") +
                  "   waiting on hosts " + Count(view, "waiting_host") + "   paused " +
                  Count(view, "feeds_paused") + "   disabled " + Count(view, "feeds_disabled"));
  lines.push_back("pipeline    in flight " + Count(view, "in_flight") + " (fetching " +
                  Count(view, "fetching") + ", backlog to processors " +
                  Count(view, "backlog_results") + ")   credit " + Count(view, "credit_total") +
                  " of " + Count(view, "capacity_total"));
  lines.push_back("workers     fetchers " + Count(view, "fetchers_live") + "   processors " +
                  Count(view, "processors_live") + "   transfers " +
                  Count(view, "transfers_active"));
  lines.push_back("totals      fetches " + Count(view, "fetches_total") + "   ok " +
                  Count(view, "ok_total") + "   304 " + Count(view, "not_modified_total") +
                  "   errors " + Count(view, "errors_total") + "   items " +
                  Count(view, "items_total") + " (" + Count(view, "items_new_total") + " new)");
  lines.push_back("per minute  fetches " + Count(view, "fetches_per_min") + "   304 " +
                  Count(view, "not_modified_per_min") + "   errors " +
                  Count(view, "errors_per_min") + "   items " + Count(view, "items_per_min"));
  lines.push_back("errors      " + ErrorClasses(view));
  lines.push_back("");

  lines.push_back(PadRight("WORKER", 32) + PadRight("ROLE", 11) + PadLeft("ACTIVE", 7) +
                  PadLeft("CREDIT", 8) + PadLeft("PROCESSED", 11) + PadLeft("ERRORS", 8));
  size_t shown = 0;
  for (const WorkerHash& worker : view.workers) {
    if (shown++ == kWorkerRows) {
      lines.push_back("... " + std::to_string(view.workers.size() - kWorkerRows) + " more");
      break;
    }
    lines.push_back(PadRight(worker.id, 32) + PadRight(worker.role, 11) +
                    PadLeft(FieldOr(worker, "active", "-"), 7) +
                    PadLeft(FieldOr(worker, "credit", "-"), 8) +
                    PadLeft(FieldOr(worker, "processed", "0"), 11) +
                    PadLeft(FieldOr(worker, "errors", "0"), 8));
  }
  lines.push_back("");

  const std::vector<HostView> busiest = view.Busiest(kHostRows);
  const std::vector<HostView> slowest = view.Slowest(kHostRows);
  lines.push_back(PadRight("BUSIEST HOSTS", 32) + PadLeft("FETCHES", 9) + PadLeft("ERRORS", 8) +
                  "   " + PadRight("SLOWEST HOSTS", 32) + PadLeft("AVG MS", 8) +
                  PadLeft("MAX MS", 8));
  for (size_t i = 0; i < std::max(busiest.size(), slowest.size()); ++i) {
    std::string line;
    if (i < busiest.size()) {
      line = PadRight(busiest[i].host, 32) + PadLeft(FormatCount(busiest[i].fetches), 9) +
             PadLeft(FormatCount(busiest[i].errors), 8);
    } else {
      line = std::string(49, ' ');
    }
    if (i < slowest.size()) {
      line += "   " + PadRight(slowest[i].host, 32) +
              PadLeft(std::to_string(slowest[i].avg_ms), 8) +
              PadLeft(std::to_string(slowest[i].max_ms), 8);
    }
    lines.push_back(line);
  }
  lines.push_back("");
  lines.push_back("q: quit");

  std::string screen;
  const size_t columns = static_cast<size_t>(std::max(width, 20));
  for (std::string& line : lines) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (line.size() > columns) line.resize(columns);
    screen += line + "\n";
  }
  return screen;
}

namespace {

// Raw, unechoed input while the view runs; the terminal is restored however the loop ends.
class RawTerminal {
 public:
  RawTerminal() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

int TerminalWidth() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 120;
}

// Waits up to timeout_ms for input; true when `q` was typed or input ended.
bool QuitRequested(int timeout_ms) {
  pollfd fd{STDIN_FILENO, POLLIN, 0};
  if (::poll(&fd, 1, timeout_ms) <= 0) return false;
  char buffer[64];
  const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
  if (n == 0) return true;  // end of input: nobody is left to press q
  for (ssize_t i = 0; i < n; ++i) {
    if (buffer[i] == 'q' || buffer[i] == 'Q') return true;
  }
  return false;
}

}  // namespace

int TopCommand(const StoreOptions& options, int interval_ms, std::ostream& out,
               std::ostream& err) {
  auto session = StoreSession::Open(options);
  if (!session.ok()) {
    err << "feedcrawl: error: " << session.status().message() << "\n";
    return kExitFailure;
  }
  InstallStopSignalHandlers();
  RawTerminal raw;
  // The alternate screen keeps the user's scrollback intact; the cursor is hidden meanwhile.
  out << "\x1b[?1049h\x1b[?25l";
  std::string last_error;
  while (StopSignalCount() == 0) {
    auto view = ReadClusterView((*session)->store(), SystemClock::Instance().NowMs());
    std::string screen;
    if (view.ok()) {
      screen = RenderTop(*view, TerminalWidth());
    } else {
      screen = "feedcrawl top   cannot read the store: " + view.status().message() + "\n";
    }
    std::string frame = "\x1b[H\x1b[2J";
    for (char c : screen) {
      if (c == '\n') frame += "\r";  // raw mode may leave output post-processing off
      frame += c;
    }
    out << frame << std::flush;
    if (QuitRequested(interval_ms)) break;
  }
  out << "\x1b[?25h\x1b[?1049l" << std::flush;
  return StopSignalCount() > 0 ? 128 + std::max(1, LastStopSignal()) : kExitOk;
}

}  // namespace feedcrawl::cli
