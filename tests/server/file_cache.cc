#include "tests/server/file_cache.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/server/compression.h"

namespace feedcrawl::testserver {
namespace {

std::string ContentHash(const std::string& content) {
  // FNV-1a over the bytes, twice with different offsets: 128 bits make collisions between the
  // versions of one feed practically impossible, which is all a validator needs.
  uint64_t a = 14695981039346656037ull;
  uint64_t b = 1099511628211ull * 31;
  for (unsigned char c : content) {
    a = (a ^ c) * 1099511628211ull;
    b = (b ^ c) * 1099511628211ull + 0x9e3779b97f4a7c15ull;
  }
  char text[40];
  std::snprintf(text, sizeof(text), "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return text;
}

StatusOr<std::string> ReadWholeFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + file);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Status::Unavailable("cannot read " + file);
  return out.str();
}

}  // namespace

FileEntry::FileEntry(std::string content, time_t mtime)
    : content_(std::move(content)), mtime_(mtime), etag_("\"" + ContentHash(content_) + "\"") {}

std::shared_ptr<const std::string> FileEntry::Gzipped() const {
  std::call_once(gzip_once_, [this] {
    StatusOr<std::string> gz = GzipCompress(content_);
    if (gz.ok()) gzipped_ = std::make_shared<const std::string>(std::move(gz).value());
  });
  return gzipped_;
}

FileCache::FileCache(std::string root, size_t max_cached_bytes)
    : root_(std::move(root)), max_cached_bytes_(max_cached_bytes) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

StatusOr<std::shared_ptr<const FileEntry>> FileCache::Get(const std::string& path) {
  if (!IsSafeUrlPath(path)) return Status::InvalidArgument("path not allowed: " + path);
  const std::string file = root_ + path;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::NotFound("no such file: " + path);
  }
  const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  {
    std::shared_lock lock(mutex_);
    auto it = slots_.find(path);
    if (it != slots_.end() && it->second.mtime_ns == mtime_ns && it->second.size == st.st_size &&
        it->second.inode == st.st_ino) {
      return it->second.entry;
    }
  }
  StatusOr<std::string> content = ReadWholeFile(file);
  if (!content.ok()) return content.status();
  auto entry = std::make_shared<const FileEntry>(std::move(content).value(), st.st_mtim.tv_sec);

  // A writer may still be rewriting the file in place; its next write changes mtime or size and
  // the following request reloads, so caching this version is harmless.
  std::unique_lock lock(mutex_);
  Slot& slot = slots_[path];
  size_t old_size = slot.entry ? slot.entry->content().size() : 0;
  size_t new_total = cached_bytes_ - old_size + entry->content().size();
  if (new_total > max_cached_bytes_) {
    // Over budget: serve this version without keeping it.
    cached_bytes_ -= old_size;
    slots_.erase(path);
    return entry;
  }
  cached_bytes_ = new_total;
  slot.mtime_ns = mtime_ns;
  slot.size = st.st_size;
  slot.inode = st.st_ino;
  slot.entry = entry;
  return entry;
}

bool IsSafeUrlPath(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  if (path.find('\0') != std::string::npos || path.find('\\') != std::string::npos) return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string HttpDate(time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char text[64];
  std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

bool ParseHttpDate(const std::string& text, time_t* t) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char weekday[4] = {};
  char month[4] = {};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", weekday, &day, month, &year,
                  &hour, &minute, &second, &consumed) != 7 ||
      static_cast<size_t>(consumed) != text.size()) {
    return false;
  }
  struct tm tm {};
  tm.tm_mon = -1;
  for (int i = 0; i < 12; ++i) {
    if (std::strcmp(month, kMonths[i]) == 0) tm.tm_mon = i;
  }
  if (tm.tm_mon < 0) return false;
  tm.tm_mday = day;
  tm.tm_year = year - 1900;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  *t = timegm(&tm);
  return true;
}

}  // namespace feedcrawl::testserver
