#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

extern char** environ;

namespace feedcrawl::testing {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Milliseconds left until `deadline`; -1 (forever) when there is no deadline.
int RemainingMs(std::optional<SteadyClock::time_point> deadline) {
  if (!deadline) return -1;
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - SteadyClock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::optional<SteadyClock::time_point> DeadlineAfter(int timeout_ms) {
  if (timeout_ms < 0) return std::nullopt;
  return SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
}

ExitStatus FromWaitStatus(int status) {
  ExitStatus out;
  if (WIFEXITED(status)) {
    out.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
  }
  return out;
}

std::vector<std::string> BuildEnvironment(const SubprocessOptions& options) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& name : options.unset_env) vars.erase(name);
  for (const auto& [name, value] : options.env) vars[name] = value;
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: only async-signal-safe calls until execve.
[[noreturn]] void ExecChild(pid_t parent, const char* path, char* const* argv, char* const* envp,
                            int stdout_fd, bool merge_stderr, int stderr_fd, const char* cwd,
                            int error_fd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The parent may have died before prctl took effect.
  if (getppid() != parent) _exit(127);

  // Signal state survives exec: undo whatever the test binary blocked or ignored.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) signal(sig, SIG_DFL);

  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  if (stdout_fd >= 0) {
    dup2(stdout_fd, STDOUT_FILENO);
    if (merge_stderr) dup2(stdout_fd, STDERR_FILENO);
  }
  if (stderr_fd >= 0) dup2(stderr_fd, STDERR_FILENO);
  int error = 0;
  if (cwd != nullptr && chdir(cwd) != 0) {
    error = errno;
  } else {
    execve(path, argv, envp);
    error = errno;
  }
  ssize_t ignored = write(error_fd, &error, sizeof(error));
  (void)ignored;
  _exit(127);
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (signal != 0) return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit " + std::to_string(exit_code);
}

StatusOr<std::string> FindExecutable(const std::string& program) {
  if (program.empty()) return Status::InvalidArgument("empty program name");
  if (program.find('/') != std::string::npos) {
    if (access(program.c_str(), X_OK) != 0) {
      return Status::NotFound(program + " is not an executable file: " + std::strerror(errno));
    }
    return program;
  }
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env != nullptr ? path_env : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = end > start ? path.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return Status::NotFound(program + " was not found in PATH (" + path + ")");
}

StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const std::string& program,
                                                        const std::vector<std::string>& args,
                                                        const SubprocessOptions& options) {
  StatusOr<std::string> path = FindExecutable(program);
  if (!path.ok()) return path.status();

  // Everything the child needs is built before fork: after fork, a multi-threaded parent's
  // child may only make async-signal-safe calls.
  std::vector<std::string> argv_strings;
  argv_strings.push_back(program);
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<std::string> env_strings = BuildEnvironment(options);
  std::vector<char*> envp = CStrings(env_strings);

  int out_pipe[2] = {-1, -1};
  if (options.capture_stdout && pipe2(out_pipe, O_CLOEXEC) != 0) {
    return Status::ResourceExhausted(std::string("pipe: ") + std::strerror(errno));
  }
  int stderr_fd = -1;
  if (!(options.capture_stdout && options.merge_stderr) && !options.stderr_path.empty()) {
    stderr_fd = open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (stderr_fd < 0) {
      const int error = errno;
      if (out_pipe[0] >= 0) close(out_pipe[0]), close(out_pipe[1]);
      return Status::InvalidArgument("cannot open " + options.stderr_path + ": " +
                                     std::strerror(error));
    }
  }
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    if (out_pipe[0] >= 0) close(out_pipe[0]), close(out_pipe[1]);
    if (stderr_fd >= 0) close(stderr_fd);
    return Status::ResourceExhausted(std::string("pipe: ") + std::strerror(error));
  }

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    ExecChild(parent, path->c_str(), argv.data(), envp.data(), out_pipe[1], options.merge_stderr,
              stderr_fd, options.working_dir.empty() ? nullptr : options.working_dir.c_str(),
              error_pipe[1]);
  }
  const int fork_error = errno;
  close(error_pipe[1]);
  if (out_pipe[1] >= 0) close(out_pipe[1]);
  if (stderr_fd >= 0) close(stderr_fd);
  if (pid < 0) {
    close(error_pipe[0]);
    if (out_pipe[0] >= 0) close(out_pipe[0]);
    return Status::ResourceExhausted(std::string("fork: ") + std::strerror(fork_error));
  }
  // Also set the group from the parent, so a kill of the group right after Start cannot miss.
  setpgid(pid, pid);

  // The error pipe closes on a successful exec (O_CLOEXEC); otherwise it carries errno.
  int exec_error = 0;
  ssize_t n;
  do {
    n = read(error_pipe[0], &exec_error, sizeof(exec_error));
  } while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  std::unique_ptr<Subprocess> child(new Subprocess(pid, out_pipe[0]));
  if (n > 0) {
    child->Wait(-1);
    return Status::NotFound("cannot execute " + *path + ": " + std::strerror(exec_error));
  }
  return child;
}

Subprocess::~Subprocess() {
  if (!exit_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

Status Subprocess::Signal(int sig) {
  if (exit_ || !Running())
    return Status::NotFound("process " + std::to_string(pid_) + " has exited");
  if (kill(pid_, sig) != 0) {
    return Status::Internal("kill " + std::to_string(pid_) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

bool Subprocess::Fill(int timeout_ms) {
  pollfd p{stdout_fd_, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return false;
  char chunk[4096];
  ssize_t n;
  do {
    n = read(stdout_fd_, chunk, sizeof(chunk));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    eof_ = true;
  } else {
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

StatusOr<std::string> Subprocess::ReadLine(int timeout_ms) {
  if (stdout_fd_ < 0) return Status::InvalidArgument("stdout is not captured");
  const auto deadline = DeadlineAfter(timeout_ms);
  while (true) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (eof_) {
      if (buffer_.empty()) return Status::NotFound("end of output");
      return std::exchange(buffer_, std::string());
    }
    if (!Fill(RemainingMs(deadline))) {
      return Status::WouldBlock("no complete line within " + std::to_string(timeout_ms) + " ms");
    }
  }
}

StatusOr<std::string> Subprocess::ReadAll(int timeout_ms) {
  if (stdout_fd_ < 0) return Status::InvalidArgument("stdout is not captured");
  const auto deadline = DeadlineAfter(timeout_ms);
  while (!eof_) {
    if (!Fill(RemainingMs(deadline))) {
      return Status::WouldBlock("output did not end within " + std::to_string(timeout_ms) + " ms");
    }
  }
  return std::exchange(buffer_, std::string());
}

StatusOr<ExitStatus> Subprocess::Wait(int timeout_ms) {
  if (exit_) return *exit_;
  const auto deadline = DeadlineAfter(timeout_ms);
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, deadline ? WNOHANG : 0);
    if (r == pid_) {
      exit_ = FromWaitStatus(status);
      return *exit_;
    }
    if (r < 0 && errno != EINTR) {
      return Status::Internal("waitpid " + std::to_string(pid_) + ": " + std::strerror(errno));
    }
    if (r == 0 && RemainingMs(deadline) == 0) {
      return Status::WouldBlock("process " + std::to_string(pid_) + " still running after " +
                                std::to_string(timeout_ms) + " ms");
    }
    if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool Subprocess::Running() {
  if (exit_) return false;
  return !Wait(0).ok();
}

}  // namespace feedcrawl::testing
