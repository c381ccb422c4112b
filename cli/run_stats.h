// RunStats: the coordinator's P stats hash (Store::ReadStats) read into typed fields, for the
// progress line and the end-of-run summary. A missing or unreadable field reads as 0. Plain value
// type; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace feedcrawl::cli {

struct RunStats {
  // False when the hash has no run_* counters (a coordinator in continuous mode may write only
  // its totals); LiveView then derives what it can from the totals.
  bool has_run_counts = true;
  int64_t updated_ms = 0;
  uint64_t feeds_total = 0;
  uint64_t feeds_never_fetched = 0;  // active feeds no job of which was reported yet
  uint64_t due_now = 0;
  uint64_t in_flight = 0;
  uint64_t waiting_host = 0;
  uint64_t fetchers_live = 0;
  uint64_t processors_live = 0;
  bool run_once = false;
  uint64_t run_feeds = 0;
  uint64_t run_done = 0;
  uint64_t run_ok = 0;
  uint64_t run_not_modified = 0;
  uint64_t run_failed = 0;
  std::map<std::string, uint64_t> run_failed_by_reason;  // from run_failed_<reason>
  uint64_t run_items_new = 0;
  uint64_t run_items_parsed = 0;
  uint64_t run_bytes = 0;
  int64_t run_started_ms = 0;
  int64_t run_elapsed_ms = 0;
  bool run_complete = false;
  uint64_t items_total = 0;
  uint64_t fetches_total = 0;
  uint64_t errors_total = 0;
};

RunStats RunStatsFromMap(const std::map<std::string, std::string>& fields);

// What to show for `current`: itself when it has run counters; otherwise run_done, run_failed
// and run_items_new are the growth of fetches_total, errors_total and items_total since
// `baseline` (the first numbers seen), over `elapsed_ms`.
RunStats LiveView(const RunStats& current, const RunStats& baseline, int64_t elapsed_ms);

}  // namespace feedcrawl::cli
