#include "cli/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <system_error>

#include "cli/file_util.h"

namespace feedcrawl::cli {

DataDir::DataDir(const std::string& path) : root_(AbsolutePath(path)) {}

std::string DataDir::LogPath(const std::string& role, int n) const {
  return LogsDir() + "/" + role + "-" + std::to_string(n) + ".log";
}

Status DataDir::Prepare() const {
  for (const std::string& directory : {root_, RedisDir(), LogsDir(), RunDir()}) {
    Status status = MakeDirectories(directory);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const DataDir& dir) {
  std::string path = dir.LockPath();
  // CLOEXEC keeps the lock out of children: it must end with this process.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Status::AlreadyExists("another feedcrawl process is using " + dir.root() +
                                   " (it holds " + path + ")");
    }
    return Status::Internal("cannot lock " + path + ": " + std::strerror(error));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    ssize_t ignored = ::pwrite(fd, pid.data(), pid.size(), 0);
    (void)ignored;  // the pid is informational only
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() { ::close(fd_); }

StatusOr<std::unique_ptr<SocketDir>> SocketDir::Choose(const std::string& preferred,
                                                       const std::string& longest_name) {
  if (preferred.size() + 1 + longest_name.size() <= kMaxSocketPath) {
    Status status = MakeDirectories(preferred);
    if (!status.ok()) return status;
    return std::unique_ptr<SocketDir>(new SocketDir(preferred, false));
  }
  char templ[] = "/tmp/feedcrawl-XXXXXX";
  if (::mkdtemp(templ) == nullptr) {
    return Status::Internal(std::string("cannot create a socket directory in /tmp: ") +
                            std::strerror(errno));
  }
  return std::unique_ptr<SocketDir>(new SocketDir(templ, true));
}

SocketDir::~SocketDir() {
  if (!temporary_) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace feedcrawl::cli
