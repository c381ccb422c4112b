// LocalRedis: the redis-server a local feedcrawl starts for its data dir when no --redis is
// given. It listens only on a Unix socket (port 0), keeps an append-only file in the data dir so
// the next command finds the same feeds and items, and logs to logs/redis.log. The caller holds
// the data dir's lock. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/child_process.h"
#include "cli/data_dir.h"
#include "common/redis.h"
#include "common/status.h"

namespace feedcrawl::cli {

// The memory pages the server runs on.
enum class RedisPages {
  // Redis's own setting: 4 KB pages (it turns transparent huge pages off for itself).
  kDefault,
  // 2 MB pages: the server keeps transparent huge pages (--disable-thp no) and its allocator asks
  // for them (jemalloc's thp:always, added to any MALLOC_CONF the command runs with). Faster on
  // machines where every fresh page fault is dear, such as some virtual machines; a rewrite of
  // the append-only file then copies a whole 2 MB page for each page written during it
  // (docs/REDIS.md, "Memory pages").
  kHuge,
};

// The storage settings of every redis-server feedcrawl starts or ships, as command-line
// arguments: the one LocalRedis starts, the benchmark's (scripts/bench) and docker-compose.yml's.
//   --appendonly yes: persistence is the append-only file alone (RDB snapshots would only
//     duplicate it).
//   --auto-aof-rewrite-min-size 1gb: items are never overwritten, so rewriting the file while a
//     crawl fills it (Redis's default starts at 64 MB and again at every doubling) reclaims
//     little; it took a third of the server's CPU in a first crawl (docs/PERFORMANCE.md).
//   --zset-max-listpack-value 256: a feed's order set (P items:<id>:order) holds its item keys,
//     URLs more often than not; Redis keeps a sorted set compact only while every member is at
//     most 64 bytes, and one longer key made it a skiplist of ~200 bytes an item. At 256 the
//     order set of a feed of 20 items took 1,584 bytes, not 3,984 (docs/REDIS.md).
//   --rdbcompression no: a rewrite of the append-only file writes the data set as an RDB base,
//     and Redis would run LZF over every value of more than 20 bytes: item JSON, and LZ4 frames
//     that do not shrink. Without it a rewrite costs its child half the CPU with frames and a
//     fifth less with JSON; the base is then about the size of the incremental file it replaces,
//     which the disk must hold anyway (docs/REDIS.md, "The append-only file").
const std::vector<std::string>& CrawlRedisSettings();

class LocalRedis {
 public:
  // Starts redis-server (from PATH) and waits until it answers PING, for up to timeout_ms (a big
  // append-only file takes a while to load). NotFound when redis-server is not installed;
  // Unavailable, with the tail of its log, when it exits or never answers.
  static StatusOr<std::unique_ptr<LocalRedis>> Start(const DataDir& dir,
                                                     RedisPages pages = RedisPages::kDefault,
                                                     int64_t timeout_ms = 120'000);
  // Stops the server if it still runs.
  ~LocalRedis();
  LocalRedis(const LocalRedis&) = delete;
  LocalRedis& operator=(const LocalRedis&) = delete;

  // unix:///.../redis.sock, for RedisClient and the children's --redis.
  const std::string& url() const { return url_; }
  ChildProcess& process() { return *process_; }

  // Holds the server's automatic rewrites of its append-only file (hold), or gives them back to
  // the rule the server had before the hold (its auto-aof-rewrite-percentage). A first crawl
  // writes items that are never overwritten, so rewriting the file while it grows reclaims
  // almost nothing and costs a fork and a copy of the whole data set each time the file
  // doubles: `feedcrawl run` holds them while feeds never fetched remain, and the server
  // rewrites the file once, when they are done. Setting what is already set sends nothing. The
  // setting is the running server's only: a restarted server has Redis's rule again.
  Status HoldAofRewrites(bool hold);
  bool aof_rewrites_held() const { return held_percentage_.has_value(); }

  // Waits while the server rewrites its append-only file (or has one scheduled), polling every
  // 100 ms, until it is done or give_up() says so. A rewrite cut short by a stop is lost, and the
  // next start begins it again: runs shorter than a rewrite would never finish one. True when
  // no rewrite was running, or it finished; false when given up or the server did not answer.
  bool WaitForAofRewrite(const std::function<bool()>& give_up);

  // SIGTERM (redis-server then flushes the append-only file), SIGKILL after timeout_ms.
  void Stop(int64_t timeout_ms = 30'000);

 private:
  LocalRedis() = default;
  Status Connect();                             // client_, once
  std::unique_ptr<RedisClient> client_;         // connected at the first use
  std::optional<std::string> held_percentage_;  // the setting a hold replaced
  std::unique_ptr<SocketDir> socket_dir_;
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
  std::string url_file_;
};

// False when this machine gives no process transparent huge pages (its setting in
// /sys/kernel/mm/transparent_hugepage/enabled is "never"), so RedisPages::kHuge has no effect;
// true otherwise, and when the setting cannot be read.
bool TransparentHugePagesAvailable();

// The URL of the redis-server a process holding `dir` runs, from run/redis.url; NotFound if none.
StatusOr<std::string> RunningRedisUrl(const DataDir& dir);

}  // namespace feedcrawl::cli
