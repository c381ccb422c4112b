#include "cli/local_cluster.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "cli/file_util.h"

namespace feedcrawl::cli {
namespace {

// Fetcher n's results socket; the last fetcher's is the longest name in the socket folder.
std::string ResultsSocketName(int n) { return "results-" + std::to_string(n) + ".sock"; }

// The flags every role takes alike.
void AddRoleFlags(const ClusterOptions& options, std::vector<std::string>& args) {
  args.insert(args.end(), {"--log-level", options.log_level, "--log-format", options.log_format,
                           "--cpu-scheduling", options.cpu_scheduling});
}

template <typename T>
void AddIfSet(const char* flag, const std::optional<T>& value, std::vector<std::string>& args) {
  if (value) args.insert(args.end(), {flag, std::to_string(*value)});
}

Status ExitedError(const std::string& what, const std::string& log_path) {
  std::string message = what + " (log: " + log_path + ")";
  std::string tail = TailOfFile(log_path, 5);
  if (!tail.empty()) message += "\n" + tail;
  return Status::Unavailable(message);
}

}  // namespace

ClusterEndpoints MakeEndpoints(const std::string& socket_dir, int fetchers) {
  ClusterEndpoints endpoints;
  endpoints.control = "ipc://" + socket_dir + "/control.sock";
  for (int n = 1; n <= fetchers; ++n) {
    endpoints.results.push_back("ipc://" + socket_dir + "/" + ResultsSocketName(n));
  }
  return endpoints;
}

std::vector<std::string> CoordinatorArgs(const ClusterOptions& options,
                                         const ClusterEndpoints& endpoints) {
  std::vector<std::string> args = {options.bin_dir + "/feedcrawl-coordinator",
                                   "--redis", options.redis_url,
                                   "--prefix", options.prefix,
                                   "--control-bind", endpoints.control,
                                   "--no-results-forwarder",
                                   "--host-concurrency", std::to_string(options.host_concurrency),
                                   "--host-interval-ms", std::to_string(options.host_interval_ms),
                                   "--fetch-timeout-ms", std::to_string(options.fetch_timeout_ms),
                                   "--max-body-bytes", std::to_string(options.max_body_bytes)};
  if (options.once) args.push_back("--once");
  AddIfSet("--connect-timeout-ms", options.connect_timeout_ms, args);
  AddIfSet("--max-redirects", options.max_redirects, args);
  const ScheduleOptions& schedule = options.schedule;
  AddIfSet("--default-interval-ms", schedule.default_interval_ms, args);
  AddIfSet("--min-interval-ms", schedule.min_interval_ms, args);
  AddIfSet("--max-interval-ms", schedule.max_interval_ms, args);
  AddIfSet("--retry-base-ms", schedule.retry_base_ms, args);
  AddIfSet("--max-backoff-ms", schedule.max_backoff_ms, args);
  AddIfSet("--pause-after-failures", schedule.pause_after_failures, args);
  AddIfSet("--max-attempts", schedule.max_attempts, args);
  AddRoleFlags(options, args);
  return args;
}

std::vector<std::string> FetcherArgs(const ClusterOptions& options,
                                     const ClusterEndpoints& endpoints, int n) {
  std::vector<std::string> args = {options.bin_dir + "/feedcrawl-fetcher",
                                   "--control", endpoints.control,
                                   "--results-bind", endpoints.results.at(n - 1),
                                   "--concurrency", std::to_string(options.concurrency),
                                   "--id", "fetcher-" + std::to_string(n)};
  if (options.allow_private_networks) args.push_back("--allow-private-networks");
  if (!options.user_agent.empty()) args.insert(args.end(), {"--user-agent", options.user_agent});
  if (!options.proxy.empty()) args.insert(args.end(), {"--proxy", options.proxy});
  AddRoleFlags(options, args);
  return args;
}

std::vector<std::string> ProcessorArgs(const ClusterOptions& options,
                                       const ClusterEndpoints& endpoints, int n) {
  std::vector<std::string> args = {options.bin_dir + "/feedcrawl-processor",
                                   "--control", endpoints.control,
                                   "--redis", options.redis_url,
                                   "--prefix", options.prefix,
                                   "--id", "processor-" + std::to_string(n)};
  for (const std::string& results : endpoints.results) {
    args.insert(args.end(), {"--results", results});
  }
  AddIfSet("--stream-maxlen", options.stream_maxlen, args);
  if (options.item_compression != kItemCompressionNone) {
    args.insert(args.end(), {"--item-compression", options.item_compression});
  }
  AddRoleFlags(options, args);
  return args;
}

StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(const ClusterOptions& options,
                                                            const DataDir& dir,
                                                            MessageSink messages) {
  for (const char* role : {"feedcrawl-coordinator", "feedcrawl-fetcher", "feedcrawl-processor"}) {
    std::string path = options.bin_dir + "/" + role;
    if (::access(path.c_str(), X_OK) != 0) {
      return Status::NotFound(std::string(role) + " not found in " + options.bin_dir +
                              " (it is installed next to feedcrawl)");
    }
  }
  Status status = dir.Prepare();
  if (!status.ok()) return status;

  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  StatusOr<std::unique_ptr<SocketDir>> socket_dir =
      SocketDir::Choose(dir.RunDir(), ResultsSocketName(std::max(options.fetchers, 1)));
  if (!socket_dir.ok()) return socket_dir.status();
  cluster->socket_dir_ = std::move(*socket_dir);
  cluster->endpoints_ = MakeEndpoints(cluster->socket_dir_->path(), options.fetchers);
  cluster->once_ = options.once;
  cluster->messages_ = std::move(messages);
  // We hold the data dir's lock, so socket files here are leftovers of a killed run.
  ::unlink(cluster->endpoints_.control.substr(std::strlen("ipc://")).c_str());
  for (const std::string& results : cluster->endpoints_.results) {
    ::unlink(results.substr(std::strlen("ipc://")).c_str());
  }

  auto add_slot = [&](const std::string& role, int n, std::vector<std::string> argv) {
    Slot slot;
    slot.role = role;
    slot.n = n;
    slot.argv = std::move(argv);
    slot.log_path = dir.LogPath(role, n);
    cluster->slots_.push_back(std::move(slot));
  };
  add_slot("coordinator", 1, CoordinatorArgs(options, cluster->endpoints_));
  for (int n = 1; n <= options.processors; ++n) {
    add_slot("processor", n, ProcessorArgs(options, cluster->endpoints_, n));
  }
  for (int n = 1; n <= options.fetchers; ++n) {
    add_slot("fetcher", n, FetcherArgs(options, cluster->endpoints_, n));
  }

  // The fetchers before the processors: they bind the results endpoints the processors connect
  // to, and the first jobs wait for a fetcher, not for a processor. The slots (and the usage
  // rows) keep the order above.
  for (const char* role : {"coordinator", "fetcher", "processor"}) {
    for (Slot& slot : cluster->slots_) {
      if (slot.role != role) continue;
      status = cluster->Launch(slot, /*fresh_log=*/true);
      if (!status.ok()) {
        cluster->Stop();
        return status;
      }
    }
  }
  return cluster;
}

LocalCluster::~LocalCluster() { Stop(); }

std::vector<RoleUsage> LocalCluster::Usage() const {
  std::vector<RoleUsage> roles;
  for (const Slot& slot : slots_) {
    auto role = std::find_if(roles.begin(), roles.end(),
                             [&slot](const RoleUsage& r) { return r.role == slot.role; });
    if (role == roles.end()) role = roles.insert(roles.end(), RoleUsage{slot.role, 0, {}});
    role->processes += slot.reaped;
    role->usage.Add(slot.reaped_usage);
    if (slot.process != nullptr && slot.process->exited()) {
      role->processes += 1;
      role->usage.Add(slot.process->usage());
    }
  }
  return roles;
}

std::string LocalCluster::CoordinatorLog() const {
  return slots_.empty() ? "" : slots_.front().log_path;
}

Status LocalCluster::Launch(Slot& slot, bool fresh_log) {
  SpawnOptions spawn;
  spawn.argv = slot.argv;
  spawn.log_path = slot.log_path;
  spawn.truncate_log = fresh_log;
  StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(spawn);
  if (!process.ok()) return process.status();
  if (slot.process != nullptr && slot.process->exited()) {
    slot.reaped += 1;
    slot.reaped_usage.Add(slot.process->usage());
  }
  slot.process = std::move(*process);
  return Status::Ok();
}

StatusOr<LocalCluster::State> LocalCluster::Supervise() {
  if (stopped_) return State::kFinished;
  for (Slot& slot : slots_) {
    if (slot.process == nullptr || !slot.process->Poll()) continue;
    if (slot.role == "coordinator") {
      if (once_ && slot.process->exit_code() == 0) return State::kFinished;
      return ExitedError("the coordinator " + slot.process->DescribeExit(), slot.log_path);
    }
    std::string exit = slot.process->DescribeExit();
    if (slot.restarts >= kMaxRestarts) {
      return ExitedError(slot.Name() + " " + exit + " and was restarted " +
                             std::to_string(kMaxRestarts) + " times already; giving up",
                         slot.log_path);
    }
    ++slot.restarts;
    if (messages_) {
      messages_(slot.Name() + " " + exit + "; restarting (" + std::to_string(slot.restarts) + "/" +
                std::to_string(kMaxRestarts) + "), log: " + slot.log_path);
    }
    Status status = Launch(slot, /*fresh_log=*/false);
    if (!status.ok()) return status;
  }
  return State::kRunning;
}

void LocalCluster::StopRoles(std::initializer_list<const char*> roles, int64_t deadline,
                             const std::function<bool()>& hurry) {
  auto selected = [&roles](const Slot& slot) {
    for (const char* role : roles) {
      if (slot.role == role) return slot.process != nullptr;
    }
    return false;
  };
  for (Slot& slot : slots_) {
    if (selected(slot)) slot.process->Signal(SIGTERM);
  }
  while (true) {
    bool running = false;
    for (Slot& slot : slots_) {
      if (selected(slot) && !slot.process->Poll()) running = true;
    }
    if (!running || MonotonicMs() >= deadline || (hurry && hurry())) return;
    // A child's exit cuts the wait short (SIGCHLD, when InstallChildExitWakeup ran: poll is
    // never restarted after a signal, where sleep_for would sleep out the rest).
    ::poll(nullptr, 0, 20);
  }
}

void LocalCluster::Stop(const std::function<bool()>& hurry) {
  if (stopped_) return;
  stopped_ = true;
  int64_t deadline = MonotonicMs() + kStopTimeoutMs;
  bool run_over = false;
  for (Slot& slot : slots_) {
    if (slot.role == "coordinator" && slot.process != nullptr && slot.process->Poll()) {
      run_over = once_ && slot.process->exit_code() == 0;
    }
  }
  if (run_over) {
    StopRoles({"fetcher", "processor"}, deadline, hurry);
  } else {
    StopRoles({"fetcher"}, deadline, hurry);
    StopRoles({"processor"}, deadline, hurry);
  }
  StopRoles({"coordinator"}, deadline, hurry);
  for (Slot& slot : slots_) {
    if (slot.process == nullptr || slot.process->Poll()) continue;
    if (messages_) messages_(slot.Name() + " did not stop in time; killing it");
    slot.process->Signal(SIGKILL);
    slot.process->WaitUntil(MonotonicMs() + 5000);
  }
}

}  // namespace feedcrawl::cli
