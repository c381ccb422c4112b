// The summary `feedcrawl run` prints when it ends:
//
//   Crawled 500 feeds in 3.2 s (156 feeds/s)
//     ok            480
//     not modified    0
//     failed         20   (http_4xx 5, http_5xx 5, timeout 5, parse_error 3, too_large 2)
//     items         9,600 new, 9,600 stored in total
//     processes     coordinator  1  0.64 s CPU  15.6 MiB peak
//                   processor    2  2.80 s CPU  14.8 MiB peak
//                   fetcher      1  1.72 s CPU  32.8 MiB peak
//                   feedcrawl    1  0.05 s CPU   9.3 MiB peak
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "cli/local_cluster.h"
#include "cli/run_stats.h"

namespace feedcrawl::cli {

// `completed` false (interrupted) heads the summary with what was done so far instead. The text
// ends with a newline.
std::string FormatSummary(const RunStats& stats, bool completed);

// The "processes" rows: per role, how many processes ran, their CPU time summed and the largest
// peak resident set of any one of them. Empty for no roles; ends with a newline otherwise.
std::string FormatProcessUsage(const std::vector<RoleUsage>& roles);

// "http_4xx 5, timeout 5, parse_error 3": reasons by count, most frequent first, ties by name.
std::string FormatFailureReasons(const RunStats& stats);

}  // namespace feedcrawl::cli
