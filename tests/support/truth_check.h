// Ground-truth checks for end-to-end tests: the items stored for a generated feed must be exactly
// the generator's items (tests/gen/feed_generator.h), each once, every field equal. Failures are
// recorded as GoogleTest failures of the calling test. Use from the test's thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/feed_model.h"
#include "common/store.h"

namespace feedcrawl::testing {

// Compares the items stored for `feed_id` with `expected`: the same number, no key twice, and
// every expected item present with equal fields. Items with a key are found by it; items without
// one (no guid, id or link) by title, and their stored key must be a content hash ("h:...").
// Returns the keys stored for the feed, for checks against other views (the item stream).
std::vector<std::string> ExpectStoredItemsMatch(Store& store, uint64_t feed_id,
                                                const std::vector<Item>& expected);

}  // namespace feedcrawl::testing
