#include "cli/items.h"

#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "cli/time_spec.h"
#include "common/clock.h"

namespace feedcrawl::cli {

std::optional<std::string> ItemRowToJsonLine(const ItemRow& row) {
  nlohmann::json item = nlohmann::json::parse(row.json, nullptr, /*allow_exceptions=*/false);
  if (!item.is_object()) return std::nullopt;
  item["feed_url"] = row.feed_url;
  return item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int ItemsCommand(const ItemsOptions& options, std::ostream& out, std::ostream& err) {
  ItemQuery query;
  query.limit = options.limit;
  if (!options.since.empty()) {
    StatusOr<int64_t> since = ParseTimeSpec(options.since, SystemClock::Instance().NowMs());
    if (!since.ok()) {
      err << "feedcrawl: error: --since: " << since.status().message() << "\n";
      return kExitUsage;
    }
    query.since_ms = *since;
  }

  StatusOr<std::unique_ptr<StoreSession>> session = StoreSession::Open(options.store);
  if (!session.ok()) {
    err << "feedcrawl: error: " << session.status().message() << "\n";
    return kExitFailure;
  }
  Store& store = (*session)->store();
  if (!options.feed_url.empty()) {
    StatusOr<std::optional<uint64_t>> id = store.FindFeedId(options.feed_url);
    if (!id.ok()) {
      err << "feedcrawl: error: " << id.status().message() << "\n";
      return kExitFailure;
    }
    if (!id->has_value()) {
      err << "feedcrawl: error: no such feed: " << options.feed_url << "\n";
      return kExitFailure;
    }
    query.feed_id = **id;
  }

  // Each item is printed as it is read, so an export of millions holds a group of feeds' items
  // at a time.
  size_t unreadable = 0;
  Status read = store.ForEachItem(query, [&](ItemRow&& row) {
    std::optional<std::string> line = ItemRowToJsonLine(row);
    if (!line) {
      ++unreadable;
      return;
    }
    out << *line << "\n";
  });
  if (!read.ok()) {
    err << "feedcrawl: error: querying items: " << read.message() << "\n";
    return kExitFailure;
  }
  if (unreadable > 0) {
    err << "feedcrawl: warning: skipped " << unreadable << " stored item(s) that are not JSON "
        << "objects (or LZ4 frames of one)\n";
  }
  out.flush();
  return out ? kExitOk : kExitFailure;
}

}  // namespace feedcrawl::cli
