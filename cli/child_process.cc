#include "cli/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string_view>

namespace feedcrawl::cli {
namespace {

ResourceUsage UsageOf(const struct rusage& usage) {
  auto us = [](const struct timeval& t) {
    return static_cast<int64_t>(t.tv_sec) * 1'000'000 + static_cast<int64_t>(t.tv_usec);
  };
  // Linux counts ru_maxrss in kilobytes.
  return ResourceUsage{us(usage.ru_utime) + us(usage.ru_stime),
                       static_cast<int64_t>(usage.ru_maxrss)};
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(const char* path, char* const* argv, char* const* envp, int log_fd,
                            int status_fd, pid_t parent) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The parent may have died between fork and prctl; then nobody would ever signal us.
  if (::getppid() != parent) ::_exit(127);

  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored signals stay ignored across exec; the children expect the defaults.
  for (int signal_number : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
    ::signal(signal_number, SIG_DFL);
  }

  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  if (log_fd >= 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
  }
  ::execve(path, argv, envp);
  int error = errno;
  ssize_t ignored = ::write(status_fd, &error, sizeof(error));
  (void)ignored;
  ::_exit(127);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ResourceUsage OwnUsage() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return UsageOf(usage);
}

std::string FindExecutable(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string directory = path.substr(start, end - start);
    if (directory.empty()) directory = ".";
    std::string candidate = directory + "/" + name;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return "";
}

std::string SelfExecutableDir() {
  char buffer[4096];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) return ".";
  std::string path(buffer, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("no program to start");
  std::string path = FindExecutable(options.argv[0]);
  if (path.empty()) {
    return Status::NotFound(options.argv[0] + ": program not found" +
                            (options.argv[0].find('/') == std::string::npos ? " in PATH" : ""));
  }

  int log_fd = -1;
  if (!options.log_path.empty()) {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options.truncate_log ? O_TRUNC : O_APPEND);
    log_fd = ::open(options.log_path.c_str(), flags, 0600);
    if (log_fd < 0) {
      return Status::Internal("cannot open log " + options.log_path + ": " + std::strerror(errno));
    }
    // O_TRUNC without O_APPEND would make later writers overwrite each other; reopen to append.
    if (options.truncate_log) {
      ::close(log_fd);
      log_fd = ::open(options.log_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      if (log_fd < 0) {
        return Status::Internal("cannot open log " + options.log_path + ": " +
                                std::strerror(errno));
      }
    }
  }

  // The child reports a failed exec through this pipe; a successful exec closes it (CLOEXEC).
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    if (log_fd >= 0) ::close(log_fd);
    return Status::Internal(std::string("pipe: ") + std::strerror(errno));
  }

  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view inherited(*entry);
    const std::string_view name = inherited.substr(0, inherited.find('='));
    bool replaced = false;
    for (const std::string& set : options.env) {
      replaced = replaced || (set.size() > name.size() && set.compare(0, name.size(), name) == 0 &&
                              set[name.size()] == '=');
    }
    if (!replaced) environment.emplace_back(inherited);
  }
  environment.insert(environment.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  envp.reserve(environment.size() + 1);
  for (std::string& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    if (log_fd >= 0) ::close(log_fd);
    return Status::Internal(std::string("fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    ::close(status_pipe[0]);
    ExecChild(path.c_str(), argv.data(), envp.data(), log_fd, status_pipe[1], parent);
  }

  // Both sides set the group so it is in place whichever runs first.
  ::setpgid(pid, pid);
  ::close(status_pipe[1]);
  if (log_fd >= 0) ::close(log_fd);
  int exec_error = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &exec_error, sizeof(exec_error));
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);

  std::unique_ptr<ChildProcess> child(new ChildProcess(pid, BaseName(path), options.log_path));
  if (n == static_cast<ssize_t>(sizeof(exec_error))) {
    child->WaitUntil(MonotonicMs() + 5000);
    return Status::NotFound("cannot execute " + path + ": " + std::strerror(exec_error));
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (!exited_ && !Poll()) {
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

bool ChildProcess::Poll() {
  if (exited_) return true;
  int status = 0;
  struct rusage usage {};
  pid_t result = ::wait4(pid_, &status, WNOHANG, &usage);
  if (result == 0) return false;
  if (result < 0) {
    if (errno == EINTR) return false;
    // ECHILD: someone else reaped it; it is gone either way.
    exited_ = true;
    return true;
  }
  exited_ = true;
  usage_ = UsageOf(usage);
  if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    term_signal_ = WTERMSIG(status);
  }
  return true;
}

std::string ChildProcess::DescribeExit() const {
  if (!exited_) return "still running";
  if (term_signal_ != 0) {
    return "killed by signal " + std::to_string(term_signal_) + " (" + ::strsignal(term_signal_) +
           ")";
  }
  if (exit_code_ < 0) return "exited";
  return "exited with status " + std::to_string(exit_code_);
}

void ChildProcess::Signal(int signal_number) {
  if (!exited_) ::kill(pid_, signal_number);
}

bool ChildProcess::WaitUntil(int64_t deadline_monotonic_ms) {
  while (!Poll()) {
    if (MonotonicMs() >= deadline_monotonic_ms) return false;
    // A child's exit cuts the wait short when the caller took SIGCHLD (poll is never restarted
    // after a signal, where sleep_for would sleep out the rest).
    ::poll(nullptr, 0, 10);
  }
  return true;
}

void ChildProcess::Stop(int64_t timeout_ms) {
  if (Poll()) return;
  Signal(SIGTERM);
  if (WaitUntil(MonotonicMs() + timeout_ms)) return;
  Signal(SIGKILL);
  WaitUntil(MonotonicMs() + 5000);
}

}  // namespace feedcrawl::cli
