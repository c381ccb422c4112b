#include "cli/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace feedcrawl::cli {

StatusOr<std::string> ReadFileToString(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    return Status::NotFound("cannot read " + path + ": it is a directory");
  }
  std::string content;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return Status::NotFound("cannot read " + path + ": " + std::strerror(error));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot write " + temporary + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      return Status::Internal("cannot write " + temporary + ": " + std::strerror(error));
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temporary.c_str());
    return Status::Internal("cannot rename " + temporary + ": " + std::strerror(error));
  }
  return Status::Ok();
}

Status MakeDirectories(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return Status::Internal("cannot create directory " + path + ": " + error.message());
  return Status::Ok();
}

std::string AbsolutePath(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) return path;
  std::string normal = absolute.lexically_normal().string();
  // "dir/" normalises to "dir/"; callers join with "/", so drop the trailing separator.
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

std::string TailOfFile(const std::string& path, size_t max_lines) {
  StatusOr<std::string> content = ReadFileToString(path);
  if (!content.ok()) return "";
  const std::string& text = *content;
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '\n') --end;
  size_t start = end;
  size_t cursor = end;
  for (size_t lines = 0; lines < max_lines && cursor > 0; ++lines) {
    size_t newline = text.rfind('\n', cursor - 1);
    start = newline == std::string::npos ? 0 : newline + 1;
    cursor = newline == std::string::npos ? 0 : newline;
  }
  return text.substr(start, end - start);
}

}  // namespace feedcrawl::cli
