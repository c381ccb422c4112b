#include "cli/keygen.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/exit_codes.h"
#include "common/status.h"
#include "common/wire.h"

namespace feedcrawl::cli {
namespace {

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Creates `path` with exactly `mode` (whatever the umask) and writes `content`. The file must
// not exist, so a secret never lands in a file someone else prepared or could already read.
Status WriteNewFile(const std::string& path, const std::string& content, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  Status result = Status::Ok();
  if (::fchmod(fd, mode) != 0) {
    result = Status::Unavailable("cannot set the mode of " + path + ": " + std::strerror(errno));
  }
  size_t written = 0;
  while (result.ok() && written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result = Status::Unavailable("cannot write " + path + ": " + std::strerror(errno));
      break;
    }
    written += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 && result.ok()) {
    result = Status::Unavailable("cannot write " + path + ": " + std::strerror(errno));
  }
  if (!result.ok()) ::unlink(path.c_str());
  return result;
}

}  // namespace

int KeygenCommand(const KeygenOptions& options, std::ostream& out, std::ostream& err) {
  auto pair = MakeCurveKeyPair();
  if (!pair.ok()) {
    err << "feedcrawl keygen: " << pair.status().message() << "\n";
    return kExitFailure;
  }
  if (options.out_prefix.empty()) {
    out << "public-key: " << pair->public_key << "\n"
        << "secret-key: " << pair->secret_key << "\n";
    return kExitOk;
  }
  const std::string public_path = options.out_prefix + ".key";
  const std::string secret_path = options.out_prefix + ".key_secret";
  for (const std::string& path : {public_path, secret_path}) {
    if (!Exists(path)) continue;
    if (!options.force) {
      err << "feedcrawl keygen: " << path
          << " exists; keep it, or pass --force to replace the keypair\n";
      return kExitUsage;
    }
    if (::unlink(path.c_str()) != 0) {
      err << "feedcrawl keygen: cannot replace " << path << ": " << std::strerror(errno) << "\n";
      return kExitFailure;
    }
  }
  const std::string name = BaseName(options.out_prefix);
  Status s = WriteNewFile(secret_path,
                          "# feedcrawl CURVE secret key of " + name +
                              ": keep it private (mode 0600)\n" + pair->secret_key + "\n",
                          0600);
  if (s.ok()) {
    s = WriteNewFile(public_path,
                     "# feedcrawl CURVE public key of " + name + "\n" + pair->public_key + "\n",
                     0644);
    if (!s.ok()) ::unlink(secret_path.c_str());
  }
  if (!s.ok()) {
    err << "feedcrawl keygen: " << s.message() << "\n";
    return kExitFailure;
  }
  out << "wrote " << secret_path << " (secret, mode 0600) and " << public_path << " (public key "
      << pair->public_key << ")\n";
  return kExitOk;
}

}  // namespace feedcrawl::cli
