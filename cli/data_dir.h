// The data dir of a local feedcrawl (./.feedcrawl by default): where `feedcrawl run` keeps its
// redis-server's data, the children's logs and its sockets, guarded by a lock file so only one
// run uses it at a time. Layout:
//   lock          flock(2)ed by the process that owns the dir
//   redis/        redis-server's dir (append-only file)
//   logs/         <role>-<n>.log for every child, redis.log
//   run/          Unix sockets; redis.url names the socket of the redis-server now running
// Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace feedcrawl::cli {

class DataDir {
 public:
  // `path` is made absolute, so child processes and socket names do not depend on the cwd.
  explicit DataDir(const std::string& path);

  const std::string& root() const { return root_; }
  std::string LockPath() const { return root_ + "/lock"; }
  std::string RedisDir() const { return root_ + "/redis"; }
  std::string LogsDir() const { return root_ + "/logs"; }
  std::string RunDir() const { return root_ + "/run"; }
  std::string RedisUrlFile() const { return RunDir() + "/redis.url"; }
  std::string LogPath(const std::string& role, int n) const;

  // Creates the directories.
  Status Prepare() const;

 private:
  std::string root_;
};

// An exclusive lock on a data dir, held until destroyed (or until the process ends, so a crashed
// run never leaves a stale lock).
class DataDirLock {
 public:
  // AlreadyExists when another process holds it.
  static StatusOr<std::unique_ptr<DataDirLock>> Acquire(const DataDir& dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

// A directory for Unix sockets. Socket paths are limited to about 100 bytes, so a deep data dir
// gets a short private directory under /tmp instead, removed again on destruction.
class SocketDir {
 public:
  // `preferred` when "<preferred>/<longest_name>" fits in kMaxSocketPath, else a new /tmp dir.
  static StatusOr<std::unique_ptr<SocketDir>> Choose(const std::string& preferred,
                                                     const std::string& longest_name);
  ~SocketDir();
  SocketDir(const SocketDir&) = delete;
  SocketDir& operator=(const SocketDir&) = delete;

  const std::string& path() const { return path_; }
  bool is_temporary() const { return temporary_; }

  static constexpr size_t kMaxSocketPath = 100;

 private:
  SocketDir(std::string path, bool temporary) : path_(std::move(path)), temporary_(temporary) {}
  std::string path_;
  bool temporary_;
};

}  // namespace feedcrawl::cli
