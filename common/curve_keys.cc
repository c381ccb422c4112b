#include "common/curve_keys.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace feedcrawl {
namespace {

// Key files are tiny; anything larger is not one.
constexpr size_t kMaxKeyFileBytes = 1 << 20;

StatusOr<std::string> ReadSmallFile(const std::string& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    const std::string message = what + " file " + path + ": " + std::strerror(error);
    if (error == ENOENT) return Status::NotFound(message);
    return Status::InvalidArgument(message);
  }
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int error = errno;
      ::close(fd);
      return Status::InvalidArgument(what + " file " + path + ": " + std::strerror(error));
    }
    if (got == 0) break;
    text.append(buffer, static_cast<size_t>(got));
    if (text.size() > kMaxKeyFileBytes) {
      ::close(fd);
      return Status::InvalidArgument(what + " file " + path + " is too large to hold keys");
    }
  }
  ::close(fd);
  return text;
}

// The keys of a key or allow-list file, each checked. A line is blank, a comment (its first word
// starts with '#' and is not 40 characters long, since '#' is also a Z85 digit), or a key
// optionally followed by a '#' comment.
StatusOr<std::vector<std::string>> ParseKeys(const std::string& text, const std::string& path,
                                             const std::string& what) {
  std::vector<std::string> keys;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::istringstream words(line);
    std::string key;
    if (!(words >> key)) continue;
    if (key[0] == '#' && key.size() != 40) continue;
    const std::string where = what + " file " + path + ", line " + std::to_string(number);
    std::string rest;
    if (words >> rest && rest[0] != '#') {
      return Status::InvalidArgument(where + ": one key per line, then at most a # comment");
    }
    if (Status s = CheckCurveKey(key, where); !s.ok()) return s;
    keys.push_back(key);
  }
  if (keys.empty()) return Status::InvalidArgument(what + " file " + path + " holds no key");
  return keys;
}

}  // namespace

StatusOr<std::string> ReadCurveKeyFile(const std::string& path, const std::string& what) {
  auto text = ReadSmallFile(path, what);
  if (!text.ok()) return text.status();
  auto keys = ParseKeys(*text, path, what);
  if (!keys.ok()) return keys.status();
  if (keys->size() != 1) {
    return Status::InvalidArgument(what + " file " + path + " holds " +
                                   std::to_string(keys->size()) + " keys, not one");
  }
  return keys->front();
}

StatusOr<std::string> ReadCurveSecretKeyFile(const std::string& path) {
  auto key = ReadCurveKeyFile(path, "curve secret key");
  if (!key.ok()) return key.status();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0) {
    spdlog::warn("curve secret key file {} is readable by every user (mode {:o}); chmod 600 it",
                 path, st.st_mode & 0777);
  }
  return key;
}

StatusOr<std::vector<std::string>> ReadCurveAllowList(const std::string& path) {
  auto text = ReadSmallFile(path, "curve allow-list");
  if (!text.ok()) return text.status();
  return ParseKeys(*text, path, "curve allow-list");
}

StatusOr<WireSecurity> LoadCurveServerSecurity(const CurveKeyFiles& files) {
  WireSecurity security;
  const bool has_secret = !files.secret_key_file.empty();
  const bool has_allow = !files.allow_keys_file.empty();
  if (!has_secret && !has_allow) return security;
  if (!has_secret || !has_allow) {
    return Status::InvalidArgument(
        "CURVE on the coordinator needs both its secret key file and the allow-list of worker "
        "keys (CURVE alone would admit any client)");
  }
  auto secret = ReadCurveSecretKeyFile(files.secret_key_file);
  if (!secret.ok()) return secret.status();
  auto allowed = ReadCurveAllowList(files.allow_keys_file);
  if (!allowed.ok()) return allowed.status();
  auto public_key = CurvePublicKey(*secret);
  if (!public_key.ok()) return public_key.status();
  security.secret_key = *secret;
  security.public_key = *public_key;
  security.allowed_client_keys = std::move(*allowed);
  return security;
}

StatusOr<WireSecurity> LoadCurveClientSecurity(const CurveKeyFiles& files) {
  WireSecurity security;
  const bool has_secret = !files.secret_key_file.empty();
  const bool has_server = !files.server_key_file.empty();
  if (!has_secret && !has_server) return security;
  if (!has_secret || !has_server) {
    return Status::InvalidArgument(
        "CURVE on a worker needs both its secret key file and the coordinator's public key file");
  }
  auto secret = ReadCurveSecretKeyFile(files.secret_key_file);
  if (!secret.ok()) return secret.status();
  auto server = ReadCurveKeyFile(files.server_key_file, "curve server public key");
  if (!server.ok()) return server.status();
  auto public_key = CurvePublicKey(*secret);
  if (!public_key.ok()) return public_key.status();
  security.secret_key = *secret;
  security.public_key = *public_key;
  security.server_public_key = *server;
  return security;
}

}  // namespace feedcrawl
