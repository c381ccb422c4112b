// ChildProcess: a program the feedcrawl command starts and supervises (redis-server and the role
// executables). Each child runs in its own process group, so a terminal's Ctrl-C reaches only the
// command, which then stops its children in order; and each child gets SIGTERM when the command
// dies (PR_SET_PDEATHSIG), so none outlives it. Its stdin is /dev/null and its stdout and stderr
// go to a log file. A ChildProcess belongs to the thread that spawned it (the death signal is tied
// to that thread).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace feedcrawl::cli {

// What a process used, as the kernel counted it when the process was reaped (wait4).
struct ResourceUsage {
  int64_t cpu_us = 0;       // user + system CPU time, every thread
  int64_t peak_rss_kb = 0;  // largest resident set it reached

  // Several processes taken together: their CPU time summed, the largest peak of any one.
  void Add(const ResourceUsage& other) {
    cpu_us += other.cpu_us;
    peak_rss_kb = std::max(peak_rss_kb, other.peak_rss_kb);
  }
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in PATH
  std::string log_path;           // stdout and stderr; empty keeps the command's own
  bool truncate_log = false;      // start the log afresh instead of appending
  // NAME=value entries for the child's environment, over the command's own (which it inherits).
  std::vector<std::string> env;
};

class ChildProcess {
 public:
  // Starts the program. NotFound when it does not exist or cannot be executed (the exec error is
  // reported back from the child, so this never "succeeds" for a missing program).
  static StatusOr<std::unique_ptr<ChildProcess>> Spawn(const SpawnOptions& options);
  // A child still running is killed (SIGKILL) and reaped: a last resort, callers Stop first.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }

  // Reaps the child if it has exited, without blocking. True once it has exited.
  bool Poll();
  bool exited() const { return exited_; }
  // Valid once exited(): the exit status, or -1 when a signal ended it.
  int exit_code() const { return exit_code_; }
  int term_signal() const { return term_signal_; }
  // Valid once exited(): what the child used. Zeros when something else reaped it.
  const ResourceUsage& usage() const { return usage_; }
  // "exited with status 1" / "killed by signal 9 (Killed)".
  std::string DescribeExit() const;

  void Signal(int signal_number);
  // Waits until the child exits or the monotonic deadline passes. True if it exited.
  bool WaitUntil(int64_t deadline_monotonic_ms);
  // SIGTERM, wait up to timeout_ms, then SIGKILL and reap.
  void Stop(int64_t timeout_ms);

 private:
  ChildProcess(pid_t pid, std::string name, std::string log_path)
      : pid_(pid), name_(std::move(name)), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::string name_;
  std::string log_path_;
  bool exited_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
  ResourceUsage usage_;
};

// What this process has used so far.
ResourceUsage OwnUsage();

// The full path of `name` in PATH ("" when absent); a name with a '/' is returned if executable.
std::string FindExecutable(const std::string& name);

// The directory holding the running executable (from /proc/self/exe).
std::string SelfExecutableDir();

// Monotonic milliseconds, for deadlines.
int64_t MonotonicMs();

}  // namespace feedcrawl::cli
