#include "tests/support/redis_server.h"

#include <signal.h>

#include <cctype>
#include <chrono>
#include <thread>

namespace feedcrawl::testing {

namespace {

constexpr int kStopTimeoutMs = 10000;

// Percent-encodes everything but unreserved characters, for credentials inside a URL.
std::string UrlEncode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// redis.conf takes double-quoted strings with C-style escapes.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string Tail(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  return "..." + text.substr(text.size() - max_bytes);
}

}  // namespace

RedisServer::RedisServer(RedisServerOptions options)
    : options_(std::move(options)), socket_path_(dir_.File("redis.sock")) {}

RedisServer::~RedisServer() {
  if (process_) Stop();
}

std::string RedisServer::Url() const {
  std::string url = "unix://" + socket_path_;
  if (!options_.password.empty()) url += "?password=" + UrlEncode(options_.password);
  return url;
}

std::string RedisServer::TcpUrl() const {
  std::string credentials;
  if (!options_.password.empty()) credentials = ":" + UrlEncode(options_.password) + "@";
  return "redis://" + credentials + "127.0.0.1:" + std::to_string(tcp_port_);
}

std::string RedisServer::Log() const {
  StatusOr<std::string> log = ReadFile(dir_.File("redis.log"));
  return log.ok() ? *log : std::string("(no log)");
}

StatusOr<std::unique_ptr<RedisClient>> RedisServer::Connect() const {
  return RedisClient::Connect(Url(), 5000);
}

Status RedisServer::Start() {
  if (process_) return Status::AlreadyExists("redis-server is already running");
  StatusOr<std::string> binary = FindExecutable("redis-server");
  if (!binary.ok()) {
    return Status::NotFound(
        "these tests need a real redis-server (Debian: apt install "
        "redis-server): " +
        binary.status().message());
  }
  if (options_.tcp && tcp_port_ == 0) {
    StatusOr<int> port = FreeTcpPort();
    if (!port.ok()) return port.status();
    tcp_port_ = *port;
  }
  std::string config;
  if (options_.tcp) {
    config += "port " + std::to_string(tcp_port_) + "\nbind 127.0.0.1\n";
  } else {
    config += "port 0\n";
  }
  config += "unixsocket " + Quote(socket_path_) + "\n";
  config += "unixsocketperm 700\n";
  config += "dir " + Quote(dir_.path()) + "\n";
  config += "logfile " + Quote(dir_.File("redis.log")) + "\n";
  config += "daemonize no\n";
  config += "appendonly yes\n";
  config += "save \"\"\n";
  if (!options_.password.empty()) config += "requirepass " + Quote(options_.password) + "\n";
  for (const auto& line : options_.extra_config) config += line + "\n";
  const std::string config_path = dir_.File("redis.conf");
  Status s = WriteFile(config_path, config);
  if (!s.ok()) return s;

  SubprocessOptions process_options;
  process_options.stderr_path = dir_.File("redis.stderr");
  StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Start(*binary, {config_path}, process_options);
  if (!process.ok()) return process.status();
  process_ = std::move(*process);
  s = WaitUntilReady();
  if (!s.ok()) {
    Kill();
    return s;
  }
  return Status::Ok();
}

Status RedisServer::WaitUntilReady() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.start_timeout_ms);
  Status last = Status::Unavailable("not started");
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->Running()) {
      StatusOr<ExitStatus> exit = process_->Wait(0);
      StatusOr<std::string> err = ReadFile(dir_.File("redis.stderr"));
      return Status::Unavailable("redis-server exited during start-up (" +
                                 (exit.ok() ? exit->ToString() : exit.status().ToString()) +
                                 "); log:\n" + Tail(Log(), 2000) +
                                 (err.ok() ? Tail(*err, 1000) : std::string()));
    }
    StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect(Url(), 1000);
    if (client.ok()) {
      StatusOr<RedisReply> pong = (*client)->Command({"PING"});
      if (pong.ok() && pong->str == "PONG") return Status::Ok();
      last = pong.ok() ? Status::Unavailable("PING answered " + pong->str) : pong.status();
    } else if (client.status().code() == StatusCode::kInvalidArgument) {
      return client.status();  // refused credentials: waiting will not help
    } else {
      last = client.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("redis-server did not answer within " +
                             std::to_string(options_.start_timeout_ms) + " ms (" + last.ToString() +
                             "); log:\n" + Tail(Log(), 2000));
}

Status RedisServer::Stop() {
  if (!process_) return Status::Ok();
  // NotFound here only means it already exited; Wait collects how.
  process_->Signal(SIGTERM);
  StatusOr<ExitStatus> exit = process_->Wait(kStopTimeoutMs);
  if (!exit.ok()) {
    process_->Signal(SIGKILL);
    exit = process_->Wait(-1);
    process_.reset();
    return Status::Unavailable("redis-server ignored SIGTERM for " +
                               std::to_string(kStopTimeoutMs) + " ms and was killed");
  }
  process_.reset();
  if (!exit->Success()) {
    return Status::Internal("redis-server stopped with " + exit->ToString() + "; log:\n" +
                            Tail(Log(), 2000));
  }
  return Status::Ok();
}

Status RedisServer::Kill() {
  if (!process_) return Status::Ok();
  process_->Signal(SIGKILL);
  StatusOr<ExitStatus> exit = process_->Wait(-1);
  process_.reset();
  return exit.ok() ? Status::Ok() : exit.status();
}

Status RedisServer::Restart() {
  Status s = Stop();
  if (!s.ok()) return s;
  return Start();
}

bool RedisServer::IsRunning() { return process_ && process_->Running(); }

int64_t CommandCalls(RedisClient& client, const std::string& command) {
  StatusOr<RedisReply> info = client.Command({"INFO", "commandstats"});
  if (!info.ok() || info->IsError()) return -1;
  const std::string marker = "cmdstat_" + command + ":calls=";
  const size_t at = info->str.find(marker);
  if (at == std::string::npos) return 0;
  return std::stoll(info->str.substr(at + marker.size()));
}

}  // namespace feedcrawl::testing
