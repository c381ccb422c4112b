#include "cli/run_stats.h"

#include <cerrno>
#include <cstdlib>

namespace feedcrawl::cli {
namespace {

constexpr char kFailedPrefix[] = "run_failed_";

int64_t ToInt(const std::string& text) {
  if (text.empty()) return 0;
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') return 0;
  return value;
}

uint64_t ToCount(const std::string& text) {
  int64_t value = ToInt(text);
  return value > 0 ? static_cast<uint64_t>(value) : 0;
}

}  // namespace

RunStats RunStatsFromMap(const std::map<std::string, std::string>& fields) {
  auto get = [&fields](const char* name) -> const std::string& {
    static const std::string kEmpty;
    auto it = fields.find(name);
    return it == fields.end() ? kEmpty : it->second;
  };
  RunStats stats;
  stats.has_run_counts = fields.count("run_done") > 0;
  stats.updated_ms = ToInt(get("updated_ms"));
  stats.feeds_total = ToCount(get("feeds_total"));
  stats.feeds_never_fetched = ToCount(get("feeds_never_fetched"));
  stats.due_now = ToCount(get("due_now"));
  stats.in_flight = ToCount(get("in_flight"));
  stats.waiting_host = ToCount(get("waiting_host"));
  stats.fetchers_live = ToCount(get("fetchers_live"));
  stats.processors_live = ToCount(get("processors_live"));
  stats.run_once = ToInt(get("run_once")) != 0;
  stats.run_feeds = ToCount(get("run_feeds"));
  stats.run_done = ToCount(get("run_done"));
  stats.run_ok = ToCount(get("run_ok"));
  stats.run_not_modified = ToCount(get("run_not_modified"));
  stats.run_failed = ToCount(get("run_failed"));
  stats.run_items_new = ToCount(get("run_items_new"));
  stats.run_items_parsed = ToCount(get("run_items_parsed"));
  stats.run_bytes = ToCount(get("run_bytes"));
  stats.run_started_ms = ToInt(get("run_started_ms"));
  stats.run_elapsed_ms = ToInt(get("run_elapsed_ms"));
  stats.run_complete = ToInt(get("run_complete")) != 0;
  stats.items_total = ToCount(get("items_total"));
  stats.fetches_total = ToCount(get("fetches_total"));
  stats.errors_total = ToCount(get("errors_total"));
  for (const auto& [name, value] : fields) {
    if (name.size() > sizeof(kFailedPrefix) - 1 && name.compare(0, sizeof(kFailedPrefix) - 1,
                                                                 kFailedPrefix) == 0) {
      uint64_t count = ToCount(value);
      if (count > 0) stats.run_failed_by_reason[name.substr(sizeof(kFailedPrefix) - 1)] = count;
    }
  }
  return stats;
}

RunStats LiveView(const RunStats& current, const RunStats& baseline, int64_t elapsed_ms) {
  if (current.has_run_counts) return current;
  auto growth = [](uint64_t now, uint64_t before) { return now > before ? now - before : 0; };
  RunStats view = current;
  view.run_done = growth(current.fetches_total, baseline.fetches_total);
  view.run_failed = growth(current.errors_total, baseline.errors_total);
  view.run_items_new = growth(current.items_total, baseline.items_total);
  view.run_elapsed_ms = elapsed_ms;
  return view;
}

}  // namespace feedcrawl::cli
