// LocalCluster: the coordinator, fetchers and processors that `feedcrawl run` starts on this
// machine as child processes, wired over ipc:// sockets in the data dir and logging to
// logs/<role>-<n>.log. It restarts a fetcher or processor that dies (up to kMaxRestarts per slot)
// and treats a dying coordinator as fatal. The command line of each role is built by pure
// functions so it can be checked without starting anything. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/child_process.h"
#include "cli/data_dir.h"
#include "common/cpu_scheduling.h"
#include "common/item_codec.h"
#include "common/status.h"

namespace feedcrawl::cli {

// Scheduling settings handed to the coordinator only when set (the coordinator's defaults
// otherwise; docs/SCHEDULING.md explains them).
struct ScheduleOptions {
  std::optional<int64_t> default_interval_ms;
  std::optional<int64_t> min_interval_ms;
  std::optional<int64_t> max_interval_ms;
  std::optional<int64_t> retry_base_ms;
  std::optional<int64_t> max_backoff_ms;
  std::optional<int> pause_after_failures;
  std::optional<int> max_attempts;
};

struct ClusterOptions {
  std::string bin_dir;             // where the feedcrawl-* role executables are
  std::string redis_url;
  std::string prefix = "fc:";
  bool once = false;
  int fetchers = 1;
  int processors = 1;
  int concurrency = 256;           // transfers per fetcher
  int host_concurrency = 2;
  int host_interval_ms = 250;
  int fetch_timeout_ms = 30'000;
  int64_t max_body_bytes = 10LL << 20;
  std::optional<int> connect_timeout_ms;  // the coordinator's default when unset
  std::optional<int> max_redirects;
  std::string user_agent;          // the fetcher's default when empty
  std::string proxy;               // libcurl proxy URL for every fetch; empty: none
  std::optional<uint64_t> stream_maxlen;  // P stream:items cap (0: none); the processor's default when unset
  std::string item_compression = kItemCompressionNone;  // the processors' --item-compression
  bool allow_private_networks = false;
  ScheduleOptions schedule;
  std::string log_level = "warn";
  std::string log_format = "text";
  std::string cpu_scheduling = kCpuSchedulingBatch;  // the roles' --cpu-scheduling
};

// On one machine the data plane is direct: fetcher n binds results[n - 1] and every processor
// connects to all of them, so bodies do not pass through the coordinator's forwarder.
struct ClusterEndpoints {
  std::string control;               // coordinator ROUTER
  std::vector<std::string> results;  // one per fetcher: its bound results PUSH
};

// ipc:// endpoints in `socket_dir` for `fetchers` fetchers.
ClusterEndpoints MakeEndpoints(const std::string& socket_dir, int fetchers);

std::vector<std::string> CoordinatorArgs(const ClusterOptions& options,
                                         const ClusterEndpoints& endpoints);
std::vector<std::string> FetcherArgs(const ClusterOptions& options,
                                     const ClusterEndpoints& endpoints, int n);
std::vector<std::string> ProcessorArgs(const ClusterOptions& options,
                                       const ClusterEndpoints& endpoints, int n);

// What the processes of one role used over a run (restarted ones included).
struct RoleUsage {
  std::string role;     // coordinator, processor, fetcher
  int processes = 0;    // processes that ran and were reaped
  ResourceUsage usage;  // CPU summed, peak resident set the largest of any one process
};

class LocalCluster {
 public:
  static constexpr int kMaxRestarts = 5;
  static constexpr int64_t kStopTimeoutMs = 10'000;

  using MessageSink = std::function<void(const std::string&)>;

  // Starts the coordinator, then the fetchers, then the processors. `messages` receives a line
  // for every restart. Fails (having stopped what it started) when an executable is missing.
  static StatusOr<std::unique_ptr<LocalCluster>> Start(const ClusterOptions& options,
                                                       const DataDir& dir, MessageSink messages);
  ~LocalCluster();  // Stop() if not done yet

  enum class State { kRunning, kFinished };
  // Reaps exited children and restarts workers. kFinished once the coordinator has exited 0 in
  // --once mode. Unavailable (with the log to read) when the coordinator dies otherwise or a
  // worker slot exceeded kMaxRestarts.
  StatusOr<State> Supervise();

  // Stops the fetchers first (no new results), then the processors (they finish what they
  // hold), then the coordinator, each with SIGTERM; whatever still runs after kStopTimeoutMs in
  // all, or as soon as `hurry` returns true, gets SIGKILL. After a finished --once run (the
  // coordinator exited 0, so every result was reported) fetchers and processors hold nothing and
  // are stopped together.
  void Stop(const std::function<bool()>& hurry = {});

  // By role in start order, every process reaped so far: complete after Stop().
  std::vector<RoleUsage> Usage() const;

  const ClusterEndpoints& endpoints() const { return endpoints_; }
  std::string CoordinatorLog() const;

 private:
  struct Slot {
    std::string role;              // coordinator, fetcher, processor
    int n = 0;
    std::vector<std::string> argv;
    std::string log_path;
    std::unique_ptr<ChildProcess> process;
    int restarts = 0;
    int reaped = 0;        // earlier processes of this slot, and their usage
    ResourceUsage reaped_usage;
    std::string Name() const { return role + "-" + std::to_string(n); }
  };

  LocalCluster() = default;
  Status Launch(Slot& slot, bool fresh_log);
  void StopRoles(std::initializer_list<const char*> roles, int64_t deadline,
                 const std::function<bool()>& hurry);

  std::unique_ptr<SocketDir> socket_dir_;
  ClusterEndpoints endpoints_;
  bool once_ = false;
  MessageSink messages_;
  std::vector<Slot> slots_;        // slots_[0] is the coordinator
  bool stopped_ = false;
};

}  // namespace feedcrawl::cli
