#include "cli/store_session.h"

namespace feedcrawl::cli {

StatusOr<std::unique_ptr<StoreSession>> StoreSession::Open(const StoreOptions& options) {
  std::unique_ptr<StoreSession> session(new StoreSession());
  std::string url = options.redis_url;
  if (url.empty()) {
    DataDir dir(options.data_dir);
    Status status = dir.Prepare();
    if (!status.ok()) return status;
    StatusOr<std::unique_ptr<DataDirLock>> lock = DataDirLock::Acquire(dir);
    if (lock.ok()) {
      session->lock_ = std::move(*lock);
      StatusOr<std::unique_ptr<LocalRedis>> redis = LocalRedis::Start(dir);
      if (!redis.ok()) return redis.status();
      session->redis_ = std::move(*redis);
      url = session->redis_->url();
    } else if (lock.status().code() == StatusCode::kAlreadyExists) {
      // A run (or another command) owns the dir: share its server rather than refuse.
      StatusOr<std::string> running = RunningRedisUrl(dir);
      if (!running.ok()) {
        // It is starting up, or it runs against a --redis server we cannot know.
        return Status::Unavailable(lock.status().message() +
                                   " without a redis-server of its own running; try again, or "
                                   "pass the --redis URL it uses");
      }
      url = *running;
    } else {
      return lock.status();
    }
  }
  StatusOr<std::unique_ptr<Store>> store = Store::Open(url, options.prefix);
  if (!store.ok()) {
    return Status(store.status().code(),
                  "cannot connect to Redis at " + url + ": " + store.status().message());
  }
  session->store_ = std::move(*store);
  return session;
}

StoreSession::~StoreSession() {
  store_.reset();
  redis_.reset();
  lock_.reset();
}

}  // namespace feedcrawl::cli
