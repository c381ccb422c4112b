// StoreSession: the Store a one-shot command (feeds, items) works on, and the Redis behind it.
// With --redis the command connects there. Without, it uses the data dir's Redis: the one a
// running `feedcrawl run` owns, or else a redis-server started just for this command and stopped
// when the session ends. Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "cli/data_dir.h"
#include "cli/local_redis.h"
#include "common/status.h"
#include "common/store.h"

namespace feedcrawl::cli {

// Options shared by every command that reads or writes the store.
struct StoreOptions {
  std::string redis_url;              // empty: the data dir's own redis-server
  std::string data_dir = ".feedcrawl";
  std::string prefix = "fc:";
};

class StoreSession {
 public:
  static StatusOr<std::unique_ptr<StoreSession>> Open(const StoreOptions& options);
  ~StoreSession();

  Store& store() { return *store_; }

 private:
  StoreSession() = default;
  // Destroyed in reverse order: the store disconnects, then redis stops, then the lock goes.
  std::unique_ptr<DataDirLock> lock_;
  std::unique_ptr<LocalRedis> redis_;
  std::unique_ptr<Store> store_;
};

}  // namespace feedcrawl::cli
