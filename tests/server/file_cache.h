// The files the test feed server serves, read from a root folder and kept in memory up to a byte
// budget. Every lookup stats the file, so a feed rewritten on disk is served fresh at once.
// Thread-safe.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "common/status.h"

namespace feedcrawl::testserver {

// One version of a file. Immutable except for the lazily built gzip form.
class FileEntry {
 public:
  FileEntry(std::string content, time_t mtime);

  const std::string& content() const { return content_; }
  time_t mtime() const { return mtime_; }
  // Strong validator of this content, quoted: "\"1f2e...\"".
  const std::string& etag() const { return etag_; }
  // The gzip form, compressed on first use; null if compression failed.
  std::shared_ptr<const std::string> Gzipped() const;

 private:
  std::string content_;
  time_t mtime_;
  std::string etag_;
  mutable std::once_flag gzip_once_;
  mutable std::shared_ptr<const std::string> gzipped_;
};

class FileCache {
 public:
  FileCache(std::string root, size_t max_cached_bytes);

  // The file at URL path `path` ("/f/00001.xml") under the root. InvalidArgument for a path that
  // would leave the root, NotFound when there is no regular file there.
  StatusOr<std::shared_ptr<const FileEntry>> Get(const std::string& path);

 private:
  struct Slot {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    std::shared_ptr<const FileEntry> entry;
  };

  std::string root_;
  size_t max_cached_bytes_;
  std::shared_mutex mutex_;
  std::map<std::string, Slot> slots_;  // guarded by mutex_
  size_t cached_bytes_ = 0;            // guarded by mutex_
};

// True when `path` is absolute, has no "." or ".." segment and no NUL byte.
bool IsSafeUrlPath(const std::string& path);

// HTTP date (IMF-fixdate, RFC 7231): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string HttpDate(time_t t);
// Parses IMF-fixdate; returns false for anything else.
bool ParseHttpDate(const std::string& text, time_t* t);

}  // namespace feedcrawl::testserver
