// `feedcrawl feeds import|add|list|remove`: managing the registered feeds in the store. Each
// command writes its results to `out` and errors to `err`, and returns an exit code
// (cli/exit_codes.h). Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "cli/store_session.h"
#include "common/status.h"
#include "common/store.h"

namespace feedcrawl::cli {

int FeedsImportCommand(const StoreOptions& options, const std::string& file, std::ostream& out,
                       std::ostream& err);
int FeedsAddCommand(const StoreOptions& options, const std::vector<std::string>& urls,
                    std::ostream& out, std::ostream& err);
// What `feeds list` prints, and which feeds.
struct FeedsListOptions {
  bool json = false;  // one JSON object per line (JSON Lines) instead of a table
  // Only the feeds that are failing (a failure streak, paused or disabled), the longest streak
  // first, so the last errors worth reading come on top.
  bool failing = false;
  // Only the feeds a continuous coordinator schedules (IsScheduled: active or paused), the
  // soonest due first (the lower id first among equals): what it starts next, hosts'
  // politeness allowing.
  // The table then shows when each is due instead of the last error.
  bool due = false;
  size_t limit = 0;  // at most this many feeds, the first in the order above (0: all)
};

int FeedsListCommand(const StoreOptions& options, const FeedsListOptions& list, std::ostream& out,
                     std::ostream& err);

// Keeps the feeds `list` selects, in its order (the lower id first among equals), at most
// `list.limit` of them.
void SelectListedFeeds(const FeedsListOptions& list, std::vector<FeedRecord>& feeds);

// Passes each feed `list` selects, whole, to `visit`, in the listed order. Memory stays small
// however many feeds there are: the plain list reads records in the store's order, in batches;
// --due and --failing read three fields of every feed, keep a small key for each selected one
// (only the first `list.limit` with a limit), then read those whole in batches. A feed whose
// state changes between the two reads shows its new state, and is left out if it no longer
// belongs to the list; with a limit the chosen ones are also placed again by their new state.
Status ForEachSelectedFeed(Store& store, const FeedsListOptions& list,
                           const std::function<void(const FeedRecord&)>& visit);

// True for a feed `feeds list --failing` shows.
bool IsFailing(const FeedRecord& feed);
int FeedsRemoveCommand(const StoreOptions& options, const std::vector<std::string>& urls,
                       std::ostream& out, std::ostream& err);
// Makes paused or disabled feeds active again and due now; the running coordinator picks the
// change up at its next reload.
int FeedsResumeCommand(const StoreOptions& options, const std::vector<std::string>& urls,
                       std::ostream& out, std::ostream& err);

// Store::AddFeeds in bounded batches, so a list of a million feeds is not one giant round trip.
StatusOr<AddFeedsResult> AddFeedsInBatches(Store& store, const std::vector<std::string>& urls,
                                           int64_t now_ms);

// One feed as `feeds list --json` prints it.
nlohmann::json FeedRecordToJson(const FeedRecord& feed);

// The `feeds list` table, printed as feeds are added: URL, STATUS, OUTCOME, HTTP, ITEMS, LAST
// ERROR; with `due`, URL, STATUS, OUTCOME, DUE (from `now_ms`: "in 4m 10s", "now", "12.5 s
// ago") and NEXT DUE (RFC 3339). Columns are two spaces apart, the counts right-aligned. They
// are sized over the first `sizing_rows` lines (the header among them), held until then; later
// lines print at once, a cell wider than its column pushing the rest of its line right, so a
// table of a million feeds holds `sizing_rows` lines, not a million. Finish() prints the lines
// still held.
class FeedTable {
 public:
  FeedTable(std::ostream& out, bool due, int64_t now_ms, size_t sizing_rows);
  void Add(const FeedRecord& feed);
  void Finish();

 private:
  void Row(std::vector<std::string> cells);
  void Print(const std::vector<std::string>& cells);

  std::ostream& out_;
  const bool due_;
  const int64_t now_ms_;
  const size_t sizing_rows_;
  std::vector<std::vector<std::string>> held_;
  std::vector<size_t> widths_;
  bool sized_ = false;
};

// The lines `feeds list` sizes its table over.
constexpr size_t kFeedTableSizingRows = 1000;

// When a feed is due, seen from `now_ms`, as the DUE column prints it.
std::string FormatDueIn(int64_t due_ms, int64_t now_ms);

}  // namespace feedcrawl::cli
