// The summary `feedcrawl run` prints when it ends:
//
//   Crawled 500 feeds in 3.2 s (156 feeds/s)
//     ok            480
//     not modified    0
//     failed         20   (http_4xx 5, http_5xx 5, timeout 5, parse_error 3, too_large 2)
//     items         9,600 new, 9,600 stored in total
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "cli/run_stats.h"

namespace feedcrawl::cli {

// `completed` false (interrupted) heads the summary with what was done so far instead. The text
// ends with a newline.
std::string FormatSummary(const RunStats& stats, bool completed);

// "http_4xx 5, timeout 5, parse_error 3": reasons by count, most frequent first, ties by name.
std::string FormatFailureReasons(const RunStats& stats);

}  // namespace feedcrawl::cli
