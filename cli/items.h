// `feedcrawl items [--feed URL] [--since TIME] [--limit N]`: stored items as JSON Lines, one
// item per line in Store::QueryItems order (oldest first, feed by feed): the item's stored JSON plus
// "feed_url". Not thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>

#include "cli/store_session.h"
#include "common/store.h"

namespace feedcrawl::cli {

struct ItemsOptions {
  StoreOptions store;
  std::string feed_url;   // empty: every feed
  std::string since;      // TIME (cli/time_spec.h); empty: no bound
  size_t limit = 0;       // 0: no limit
};

int ItemsCommand(const ItemsOptions& options, std::ostream& out, std::ostream& err);

// The output line for one row (without the newline); nullopt when the stored JSON is not an
// object.
std::optional<std::string> ItemRowToJsonLine(const ItemRow& row);

}  // namespace feedcrawl::cli
