// Parsing of the TIME argument of `feedcrawl items --since TIME`: an RFC 3339 timestamp
// ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00"), a UTC date ("2024-05-01"), or a
// duration ago ("30s", "15m", "2h", "3d", "1w", "1h30m"). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace feedcrawl::cli {

// Milliseconds since the Unix epoch that TIME denotes, counting durations back from `now_ms`.
// InvalidArgument with an explanation when TIME is neither form.
StatusOr<int64_t> ParseTimeSpec(std::string_view text, int64_t now_ms);

// Milliseconds since the epoch of an RFC 3339 timestamp or a YYYY-MM-DD date (midnight UTC).
StatusOr<int64_t> ParseRfc3339(std::string_view text);

// A duration such as "2h" or "1h30m" in milliseconds.
StatusOr<int64_t> ParseDuration(std::string_view text);

}  // namespace feedcrawl::cli
