// Store: every Redis key feedcrawl reads or writes goes through this class (docs/REDIS.md lists
// them). It wraps a RedisClient and a key prefix (default "fc:"). One Store per thread.
//
// Keys (P = prefix):
//   P feed:next_id            STRING  counter for feed ids
//   P feed:ids                HASH    url -> feed id
//   P feeds                   ZSET    feed id (member, decimal) scored by id: the feed list
//   P feed:<id>               HASH    feed state (fields of FeedRecord, see below)
//   P schedule                ZSET    feed id -> next due time (ms)
//   P items:<id>              HASH    item key -> item JSON (ItemToJson)
//   P items:<id>:order        ZSET    item key -> item time (published, else updated, else first
//                                     seen, ms)
//   P stats                   HASH    live numbers written by the coordinator
//   P coordinator:epoch       STRING  incremented by each coordinator start
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/redis.h"
#include "common/status.h"

namespace feedcrawl {

// The state of one feed, as kept in P feed:<id>. Field names in Redis are the member names
// without the trailing underscore convention, e.g. "last_status".
struct FeedRecord {
  uint64_t id = 0;
  std::string url;
  std::string title;
  std::string status = "active";   // active, paused, disabled
  std::string etag;
  std::string last_modified;
  int64_t added_ms = 0;
  int64_t next_due_ms = 0;
  int64_t last_fetch_ms = 0;       // when the last job was reported
  int64_t last_ok_ms = 0;          // last 200/304
  int last_status = 0;             // last HTTP status (0 when none)
  std::string last_outcome;        // OutcomeName() of the last report
  std::string last_error;
  uint32_t consecutive_failures = 0;
  uint64_t fetches = 0;
  uint64_t failures = 0;
  uint64_t items_total = 0;
  uint64_t items_new_last = 0;     // new items in the last successful fetch
  int64_t interval_ms = 0;         // scheduler's current interval (0: default)
};

struct AddFeedsResult {
  std::vector<uint64_t> ids;       // one per input URL, in order
  size_t added = 0;                // how many were new
};

// An item ready to store: its key, its JSON text and its time for ordering.
struct StoredItem {
  std::string key;
  std::string json;
  int64_t time_ms = 0;
};

struct StoreItemsResult {
  uint32_t new_items = 0;          // items that were not stored before
  uint64_t total_items = 0;        // items stored for the feed afterwards
};

struct ItemQuery {
  std::optional<uint64_t> feed_id; // all feeds when unset
  std::optional<int64_t> since_ms; // items whose time is at or after this
  size_t limit = 0;                // 0: no limit
};

struct ItemRow {
  uint64_t feed_id = 0;
  std::string feed_url;
  std::string json;                // as stored
  int64_t time_ms = 0;
};

class Store {
 public:
  Store(std::unique_ptr<RedisClient> redis, std::string prefix = "fc:");
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& redis_url,
                                               const std::string& prefix = "fc:");

  const std::string& prefix() const { return prefix_; }
  RedisClient& redis() { return *redis_; }

  // Feeds. AddFeeds is idempotent per URL (an existing URL keeps its id and state). New feeds
  // are due at once.
  StatusOr<AddFeedsResult> AddFeeds(const std::vector<std::string>& urls, int64_t now_ms);
  // Removes the feed, its state, its schedule entry and its items. NotFound if unknown.
  Status RemoveFeed(const std::string& url);
  StatusOr<std::vector<FeedRecord>> LoadFeeds();
  StatusOr<std::optional<FeedRecord>> GetFeed(uint64_t id);
  StatusOr<std::optional<uint64_t>> FindFeedId(const std::string& url);
  // Writes the whole record (P feed:<id>) and its schedule entry in one round trip.
  // NotFound (and nothing written) when the feed is no longer in P feeds, e.g. it was removed
  // while its job was in flight: a late write must not bring a removed feed back.
  Status SaveFeed(const FeedRecord& feed);

  // Items. Stores each item whose key is new for the feed, leaves existing ones untouched, in
  // one round trip (server-side script). Idempotent: storing the same items twice adds nothing.
  StatusOr<StoreItemsResult> StoreItems(uint64_t feed_id, const std::vector<StoredItem>& items);
  // Rows come oldest first within a feed (ties by item key); across feeds, feed by feed in id
  // order. `limit` therefore keeps the oldest matching items; use since_ms to page forward.
  StatusOr<std::vector<ItemRow>> QueryItems(const ItemQuery& query);

  // Stats: the coordinator replaces the whole hash; readers get it as a map.
  Status WriteStats(const std::map<std::string, std::string>& stats);
  StatusOr<std::map<std::string, std::string>> ReadStats();

  // Increments and returns the coordinator epoch (makes job ids unique across restarts).
  StatusOr<uint64_t> NextCoordinatorEpoch();

 private:
  std::string Key(const std::string& suffix) const { return prefix_ + suffix; }
  // Runs a Lua script by its SHA1, loading it on first use and again after the server forgot it
  // (NOSCRIPT after a restart). `argv` holds the num_keys keys, then the arguments.
  StatusOr<RedisReply> RunScript(const char* body, std::string* sha, size_t num_keys,
                                 const std::vector<std::string>& argv);
  std::unique_ptr<RedisClient> redis_;
  std::string prefix_;
  std::string store_items_sha_;
  std::string add_feeds_sha_;
  std::string save_feed_sha_;
};

}  // namespace feedcrawl
