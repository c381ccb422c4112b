// Subprocess: runs a real program for a test (redis-server, the role executables, the CLI) and
// makes sure it never outlives the test. The child gets its own process group and
// PR_SET_PDEATHSIG(SIGKILL), so even a crashed test binary leaves nothing running; the
// destructor kills the group (SIGKILL) and reaps the child.
//
// A Subprocess belongs to one thread. The death signal is tied to the thread that started the
// child: start long-lived children from the test's main thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tests/support/test_env.h"

namespace feedcrawl::testing {

// How a child ended: an exit code, or the signal that killed it.
struct ExitStatus {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the terminating signal, 0 when the process exited by itself

  bool Exited() const { return signal == 0; }
  bool Success() const { return signal == 0 && exit_code == 0; }
  std::string ToString() const;  // "exit 0", "signal 9 (Killed)"
};

struct SubprocessOptions {
  // Added to the inherited environment, replacing variables of the same name.
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> unset_env;
  // Read the child's stdout with ReadLine/ReadAll. Read it, or a chatty child blocks once the
  // pipe (64 KiB) is full. When false, stdout is inherited.
  bool capture_stdout = false;
  // With capture_stdout, stderr goes into the same pipe.
  bool merge_stderr = false;
  // Otherwise stderr is appended to this file when set, inherited when empty.
  std::string stderr_path;
  std::string working_dir;  // empty: the test's own
};

class Subprocess {
 public:
  // Starts `program` (a path, or a name looked up in PATH) with `args` as argv[1..]. stdin is
  // /dev/null. NotFound when the program does not exist or cannot be executed.
  static StatusOr<std::unique_ptr<Subprocess>> Start(const std::string& program,
                                                     const std::vector<std::string>& args,
                                                     const SubprocessOptions& options = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t Pid() const { return pid_; }

  // Sends `sig` to the child only (not its group). NotFound once it has been reaped.
  Status Signal(int sig);

  // The next line of captured stdout, without its newline (a last line without one is
  // returned at end of output). WouldBlock when no full line arrives within timeout_ms;
  // NotFound at end of output. timeout_ms < 0 waits forever.
  StatusOr<std::string> ReadLine(int timeout_ms);
  // Everything left on captured stdout up to end of output (the child closed it, usually by
  // exiting). WouldBlock if the output has not ended within timeout_ms.
  StatusOr<std::string> ReadAll(int timeout_ms);

  // Waits for the child to exit and reaps it. WouldBlock when it is still running after
  // timeout_ms (it keeps running). timeout_ms < 0 waits forever. Repeatable once exited.
  StatusOr<ExitStatus> Wait(int timeout_ms);
  // True while the child has not exited (reaps it if it has).
  bool Running();

 private:
  Subprocess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  // Reads what is available into buffer_, waiting up to timeout_ms. False on timeout.
  bool Fill(int timeout_ms);

  pid_t pid_;
  int stdout_fd_;  // -1 when not captured
  bool eof_ = false;
  std::string buffer_;
  std::optional<ExitStatus> exit_;
};

// The absolute path of `program`: as given when it contains a slash, else the first executable
// match in PATH. NotFound with a message naming PATH otherwise.
StatusOr<std::string> FindExecutable(const std::string& program);

}  // namespace feedcrawl::testing
