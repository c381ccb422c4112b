#include "common/redis.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <utility>

namespace feedcrawl {

namespace {

redisContext* Ctx(void* p) { return static_cast<redisContext*>(p); }

Status Invalid(const std::string& url, const std::string& why) {
  return Status::InvalidArgument("bad Redis URL \"" + url + "\": " + why +
                                 " (expected redis://[[user]:password@]host[:port][/db] or "
                                 "unix:///path/to/socket[?db=N&password=P&user=U])");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Passwords often hold characters that must be percent-encoded in a URL.
bool PercentDecode(const std::string& in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// Parses a decimal number in [min, max]; rejects signs, spaces and trailing characters.
bool ParseBoundedInt(const std::string& text, int min, int max, int* value) {
  if (text.empty() || text.size() > 9) return false;
  int v = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  if (v < min || v > max) return false;
  *value = v;
  return true;
}

constexpr int kMaxDb = 1 << 20;

StatusOr<RedisAddress> ParseTcpUrl(const std::string& url, std::string rest) {
  RedisAddress address;
  std::string path;
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (rest.find('?') != std::string::npos || path.find('?') != std::string::npos ||
      rest.find('#') != std::string::npos || path.find('#') != std::string::npos) {
    return Invalid(url, "query strings are only supported for unix:// URLs");
  }
  const size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string::npos) {
      return Invalid(url, "credentials must be written as [user]:password@");
    }
    if (!PercentDecode(userinfo.substr(0, colon), &address.user) ||
        !PercentDecode(userinfo.substr(colon + 1), &address.password)) {
      return Invalid(url, "bad percent-encoding in the credentials");
    }
  }
  std::string port_text;
  if (!rest.empty() && rest[0] == '[') {  // IPv6 literal
    const size_t close = rest.find(']');
    if (close == std::string::npos) return Invalid(url, "unterminated IPv6 address");
    address.host = rest.substr(1, close - 1);
    const std::string after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Invalid(url, "unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return Invalid(url, "empty port");
    }
  } else {
    const size_t colon = rest.find(':');
    address.host = rest.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return Invalid(url, "empty port");
    }
  }
  if (address.host.empty()) return Invalid(url, "missing host");
  if (!port_text.empty() && !ParseBoundedInt(port_text, 1, 65535, &address.port)) {
    return Invalid(url, "port must be a number from 1 to 65535");
  }
  if (!path.empty() && !ParseBoundedInt(path, 0, kMaxDb, &address.db)) {
    return Invalid(url, "database must be a non-negative number");
  }
  return address;
}

StatusOr<RedisAddress> ParseUnixUrl(const std::string& url, const std::string& rest) {
  RedisAddress address;
  const size_t question = rest.find('?');
  std::string query;
  if (question != std::string::npos) query = rest.substr(question + 1);
  if (!PercentDecode(rest.substr(0, question), &address.unix_path)) {
    return Invalid(url, "bad percent-encoding in the socket path");
  }
  if (address.unix_path.empty() || address.unix_path[0] != '/') {
    return Invalid(url, "the socket path must be absolute (unix:///path)");
  }
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string::npos) return Invalid(url, "query parameter without a value: " + pair);
    const std::string name = pair.substr(0, eq);
    std::string value;
    if (!PercentDecode(pair.substr(eq + 1), &value)) {
      return Invalid(url, "bad percent-encoding in " + name);
    }
    if (name == "db") {
      if (!ParseBoundedInt(value, 0, kMaxDb, &address.db)) {
        return Invalid(url, "database must be a non-negative number");
      }
    } else if (name == "password") {
      address.password = value;
    } else if (name == "user") {
      address.user = value;
    } else {
      return Invalid(url, "unknown query parameter \"" + name + "\"");
    }
  }
  address.port = 0;
  return address;
}

// RESP, written straight into the client's own buffer: hiredis would format each command into a
// fresh allocation and then copy it again into its output buffer, which it frees once written.
// For the item store's calls (~36 KB of JSON per feed) those copies and allocations were ~5 % of
// a processor's CPU. Pipeline hands hiredis its whole batch formatted this way, in one piece.
template <typename Args>
void AppendResp(const Args& argv, std::string* out) {
  char digits[24];
  const auto append_header = [&](char kind, size_t n) {
    out->push_back(kind);
    const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), n);
    (void)ec;  // 24 digits hold any size_t
    out->append(digits, end);
    out->append("\r\n", 2);
  };
  append_header('*', argv.size());
  for (std::string_view arg : argv) {
    append_header('$', arg.size());
    out->append(arg.data(), arg.size());
    out->append("\r\n", 2);
  }
}

// Replies are built by hiredis's parser straight into RedisReply trees: its own reply objects
// cost two allocations per element (the object and a copy of its text) and then a conversion
// that copied every element again. The coordinator reads each feed it dispatches as a hash of
// ~30 fields, so that was ~60 allocations and two copies per feed: a quarter of its CPU in a
// pass of unchanged feeds.
// An element is created in place in its parent array, which is sized once when the array is
// created, so the pointers handed back to the parser stay valid. Only the root is ever freed:
// hiredis frees what it has built of an unfinished reply through its root.
RedisReply* ReplySlot(const redisReadTask* task) {
  if (task->parent == nullptr) return new RedisReply();
  auto* parent = static_cast<RedisReply*>(task->parent->obj);
  return &parent->elements[static_cast<size_t>(task->idx)];
}

void* CreateStringReply(const redisReadTask* task, char* text, size_t length) {
  RedisReply* reply = ReplySlot(task);
  switch (task->type) {
    case REDIS_REPLY_STATUS:
      reply->type = RedisReply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      reply->type = RedisReply::Type::kError;
      break;
    default:  // REDIS_REPLY_STRING
      reply->type = RedisReply::Type::kString;
      break;
  }
  reply->str.assign(text, length);
  return reply;
}

void* CreateArrayReply(const redisReadTask* task, int elements) {
  RedisReply* reply = ReplySlot(task);
  reply->type = RedisReply::Type::kArray;
  if (elements > 0) reply->elements.resize(static_cast<size_t>(elements));
  return reply;
}

void* CreateIntegerReply(const redisReadTask* task, long long value) {
  RedisReply* reply = ReplySlot(task);
  reply->type = RedisReply::Type::kInteger;
  reply->integer = value;
  return reply;
}

void* CreateNilReply(const redisReadTask* task) {
  return ReplySlot(task);  // kNil
}

void FreeReply(void* reply) { delete static_cast<RedisReply*>(reply); }

redisReplyObjectFunctions kReplyFunctions = {CreateStringReply, CreateArrayReply,
                                             CreateIntegerReply, CreateNilReply, FreeReply};

// Takes a reply built by kReplyFunctions.
RedisReply TakeReply(void* raw) {
  std::unique_ptr<RedisReply> owned(static_cast<RedisReply*>(raw));
  return std::move(*owned);
}

std::string Describe(const RedisAddress& a) {
  if (!a.unix_path.empty()) return "unix://" + a.unix_path;
  return a.host + ":" + std::to_string(a.port);
}

std::string ContextError(redisContext* c) {
  if (c == nullptr) return "no connection";
  std::string message = c->errstr[0] != '\0' ? c->errstr : "I/O error";
  // hiredis reports a read timeout as a bare EAGAIN I/O error.
  if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    message += " (timed out)";
  }
  return message;
}

// Set by IgnoreSigpipeForGood: SIGPIPE is ignored for the rest of the process' life.
std::atomic<bool> sigpipe_ignored_for_good{false};

// hiredis writes with plain write(2): a server that closed the connection would raise SIGPIPE
// and kill the process. SIGPIPE is held back for this thread while we talk to Redis, and one
// that our write raised is consumed, so the error surfaces as EPIPE without changing the process'
// signal handling. Nothing to do once IgnoreSigpipeForGood has run.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    if (sigpipe_ignored_for_good.load(std::memory_order_relaxed)) return;
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_) == 0;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_set_;
  sigset_t old_mask_;
  bool was_pending_ = false;
  bool blocked_ = false;
};

timeval ToTimeval(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

}  // namespace

void IgnoreSigpipeForGood() {
  ::signal(SIGPIPE, SIG_IGN);
  sigpipe_ignored_for_good.store(true);
}

StatusOr<RedisAddress> ParseRedisUrl(const std::string& url) {
  constexpr char kRedis[] = "redis://";
  constexpr char kUnix[] = "unix://";
  if (url.rfind(kRedis, 0) == 0) return ParseTcpUrl(url, url.substr(sizeof(kRedis) - 1));
  if (url.rfind(kUnix, 0) == 0) return ParseUnixUrl(url, url.substr(sizeof(kUnix) - 1));
  if (url.rfind("rediss://", 0) == 0) return Invalid(url, "TLS (rediss://) is not supported");
  return Invalid(url, "unknown scheme");
}

RedisClient::RedisClient(RedisAddress address, int timeout_ms)
    : address_(std::move(address)), timeout_ms_(timeout_ms) {}

RedisClient::~RedisClient() {
  if (context_ != nullptr) redisFree(Ctx(context_));
}

StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(const RedisAddress& address,
                                                            int timeout_ms) {
  if (timeout_ms <= 0) return Status::InvalidArgument("Redis timeout must be positive");
  std::unique_ptr<RedisClient> client(new RedisClient(address, timeout_ms));
  Status s = client->Reconnect();
  if (!s.ok()) return s;
  return client;
}

StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(const std::string& url,
                                                            int timeout_ms) {
  StatusOr<RedisAddress> address = ParseRedisUrl(url);
  if (!address.ok()) return address.status();
  return Connect(*address, timeout_ms);
}

Status RedisClient::Reconnect() {
  ScopedSigpipeBlock no_sigpipe;
  if (context_ != nullptr) {
    redisFree(Ctx(context_));
    context_ = nullptr;
  }
  const timeval tv = ToTimeval(timeout_ms_);
  redisContext* c = address_.unix_path.empty()
                        ? redisConnectWithTimeout(address_.host.c_str(), address_.port, tv)
                        : redisConnectUnixWithTimeout(address_.unix_path.c_str(), tv);
  if (c == nullptr) return Status::ResourceExhausted("cannot allocate a Redis connection");
  if (c->err != 0) {
    Status s = Status::Unavailable("cannot connect to Redis at " + Describe(address_) + ": " +
                                   ContextError(c));
    redisFree(c);
    return s;
  }
  if (redisSetTimeout(c, tv) != REDIS_OK) {
    Status s = Status::Unavailable("cannot set the Redis timeout: " + ContextError(c));
    redisFree(c);
    return s;
  }
  if (address_.unix_path.empty()) redisEnableKeepAlive(c);

  // The handshake: credentials, database, then a PING so that a server that demands a password
  // we do not have is reported here rather than on the first real command.
  std::vector<std::vector<std::string>> handshake;
  if (!address_.password.empty() || !address_.user.empty()) {
    if (address_.user.empty()) {
      handshake.push_back({"AUTH", address_.password});
    } else {
      handshake.push_back({"AUTH", address_.user, address_.password});
    }
  }
  if (address_.db != 0) handshake.push_back({"SELECT", std::to_string(address_.db)});
  handshake.push_back({"PING"});
  // Every reply, the handshake's too, is read into a RedisReply tree.
  c->reader->fn = &kReplyFunctions;
  for (const auto& command : handshake) {
    std::string formatted;
    AppendResp(command, &formatted);
    void* raw = nullptr;
    if (redisAppendFormattedCommand(c, formatted.data(), formatted.size()) != REDIS_OK ||
        redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
      Status s = Status::Unavailable("Redis at " + Describe(address_) +
                                     " dropped the connection during " + command[0] + ": " +
                                     ContextError(c));
      redisFree(c);
      return s;
    }
    const RedisReply reply = TakeReply(raw);
    if (reply.IsError()) {
      redisFree(c);
      // A server still loading its data set will answer soon; bad credentials never will.
      const std::string& error = reply.str;
      if (error.rfind("LOADING", 0) == 0 || error.rfind("BUSY", 0) == 0) {
        return Status::Unavailable("Redis at " + Describe(address_) + " is not ready: " + error);
      }
      return Status::InvalidArgument("Redis at " + Describe(address_) + " refused " + command[0] +
                                     ": " + error);
    }
  }
  context_ = c;
  return Status::Ok();
}

StatusOr<RedisReply> RedisClient::Command(const std::vector<std::string>& argv) {
  StatusOr<std::vector<RedisReply>> replies = Pipeline({argv});
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (pending_replies() > 0) {
    return Status::Internal("Redis replies of earlier commands are still pending");
  }
  std::vector<RedisReply> replies;
  if (commands.empty()) return replies;
  for (const auto& command : commands) {
    if (command.empty()) return Status::InvalidArgument("empty Redis command");
  }
  // A broken connection is reopened once and the whole batch sent again: every caller in
  // feedcrawl sends commands whose repetition is harmless (idempotent writes, or a counter whose
  // gaps do not matter).
  std::string last_error;
  std::string formatted;
  ScopedSigpipeBlock no_sigpipe;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (context_ == nullptr || Ctx(context_)->err != 0) {
      Status s = Reconnect();
      if (!s.ok()) return s;
    }
    redisContext* c = Ctx(context_);
    bool io_error = false;
    if (attempt == 0) {
      for (const auto& command : commands) AppendResp(command, &formatted);
    }
    if (redisAppendFormattedCommand(c, formatted.data(), formatted.size()) != REDIS_OK) {
      io_error = true;
    }
    replies.clear();
    replies.reserve(commands.size());
    for (size_t i = 0; !io_error && i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
        io_error = true;
        break;
      }
      replies.push_back(TakeReply(raw));
    }
    if (!io_error) return replies;
    last_error = ContextError(c);
    // The context is unusable after an error; drop it so the next attempt starts clean.
    redisFree(c);
    context_ = nullptr;
  }
  return Status::Unavailable("Redis at " + Describe(address_) + ": " + last_error);
}

void RedisClient::DropConnection() {
  if (context_ != nullptr) redisFree(Ctx(context_));
  context_ = nullptr;
  unsent_.clear();
  lost_ += pending_;
  pending_ = 0;
}

Status RedisClient::Append(const std::vector<std::string_view>& argv) {
  if (argv.empty()) return Status::InvalidArgument("empty Redis command");
  if (context_ == nullptr || Ctx(context_)->err != 0) {
    DropConnection();
    Status s = Reconnect();
    if (!s.ok()) return s;
  }
  AppendResp(argv, &unsent_);
  ++pending_;
  return Status::Ok();
}

Status RedisClient::Flush() {
  if (context_ == nullptr) {
    return Status::Unavailable("Redis at " + Describe(address_) + ": not connected");
  }
  // Written out now, so that the server works on it while the caller does something else.
  // hiredis's own output buffer is empty here: Pipeline and Receive leave nothing in it. The
  // socket is blocking with the client's timeout, so a server that stops reading ends in EAGAIN.
  const int fd = Ctx(context_)->fd;
  size_t written = 0;
  while (written < unsent_.size()) {
    const ssize_t n =
        send(fd, unsent_.data() + written, unsent_.size() - written, MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    const int err = n < 0 ? errno : 0;
    if (err == EINTR) continue;
    const std::string error = err == EAGAIN || err == EWOULDBLOCK ? "write timed out"
                              : err != 0                         ? std::strerror(err)
                                                                 : "the connection closed";
    DropConnection();
    return Status::Unavailable("Redis at " + Describe(address_) + ": " + error);
  }
  // The buffer keeps its capacity for the next calls, unless a rare huge call grew it.
  constexpr size_t kKeptBufferBytes = 4 << 20;
  if (unsent_.capacity() > kKeptBufferBytes) {
    std::string().swap(unsent_);
  } else {
    unsent_.clear();
  }
  return Status::Ok();
}

Status RedisClient::Send(const std::vector<std::string_view>& argv) {
  if (Status s = Append(argv); !s.ok()) return s;
  if (Status s = Flush(); !s.ok()) {
    --lost_;  // this command's slot: a failed Send takes none
    return s;
  }
  return Status::Ok();
}

StatusOr<RedisReply> RedisClient::Receive() {
  if (lost_ > 0) {
    --lost_;
    return Status::Unavailable("Redis at " + Describe(address_) +
                               ": the connection broke before the reply");
  }
  if (pending_ == 0) return Status::Internal("no Redis reply is pending");
  // A reply can only come for a command that went out.
  if (!unsent_.empty()) {
    if (Status s = Flush(); !s.ok()) return Receive();
  }
  ScopedSigpipeBlock no_sigpipe;
  redisContext* c = Ctx(context_);
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
    const std::string error = ContextError(c);
    --pending_;
    DropConnection();
    return Status::Unavailable("Redis at " + Describe(address_) + ": " + error);
  }
  --pending_;
  return TakeReply(raw);
}

}  // namespace feedcrawl
