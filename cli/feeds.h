// `feedcrawl feeds import|add|list|remove`: managing the registered feeds in the store. Each
// command writes its results to `out` and errors to `err`, and returns an exit code
// (cli/exit_codes.h). Not thread-safe.
#pragma once

#include <cstdint>
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
// A table, or with `json` one JSON object per line (JSON Lines).
int FeedsListCommand(const StoreOptions& options, bool json, std::ostream& out, std::ostream& err);
// With `failing`, only the feeds that are failing (a failure streak, paused or disabled), the
// longest streak first, so the last errors worth reading come on top.
int FeedsListCommand(const StoreOptions& options, bool json, bool failing, std::ostream& out,
                     std::ostream& err);

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

// The `feeds list` table: URL, STATUS, OUTCOME, HTTP, ITEMS, LAST ERROR.
std::string FormatFeedTable(const std::vector<FeedRecord>& feeds);

}  // namespace feedcrawl::cli
