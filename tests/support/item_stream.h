// P stream:items read as a consumer reads it: every entry from the oldest kept, each entry's keys
// field parsed as the JSON array it is. Use from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/redis.h"
#include "common/status.h"

namespace feedcrawl::testing {

// One entry: the feed whose new items it names, and their keys.
struct StreamEntry {
  std::string id;
  uint64_t feed = 0;
  std::vector<std::string> keys;
};

// Every entry, oldest first. An entry without the fields feed and keys, or whose keys are not a
// non-empty JSON array of strings, is an error: a consumer could not read it.
StatusOr<std::vector<StreamEntry>> ReadItemStream(RedisClient& redis, const std::string& prefix);

// One item named by the stream: its feed id and item key.
using StreamedItem = std::pair<uint64_t, std::string>;

// The items the entries name, in stream order (entry by entry, each entry's keys in order).
std::vector<StreamedItem> StreamedItems(const std::vector<StreamEntry>& entries);

}  // namespace feedcrawl::testing
