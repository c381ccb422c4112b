// RedisServer: a private redis-server for one test. It listens on a unix socket in its own
// TempDir (no TCP unless asked), keeps its data there with appendonly, and is stopped and
// deleted with the object. Restart() keeps the data (AOF) and the socket path, so a test can
// check what survives a Redis restart. redis-server must be in PATH: when it is not, Start()
// fails with a message saying so (tests fail, they are never skipped).
//
// Not thread-safe; use it from the test's main thread.
//
//   RedisServer redis;
//   ASSERT_OK(redis.Start());
//   ASSERT_OK_AND_ASSIGN(auto store, Store::Open(redis.Url()));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/redis.h"
#include "common/status.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl::testing {

struct RedisServerOptions {
  std::string password;                   // requirepass; Url() then carries it
  bool tcp = false;                       // also listen on 127.0.0.1:<free port>
  std::vector<std::string> extra_config;  // more redis.conf lines, e.g. "maxmemory 10mb"
  int start_timeout_ms = 15000;           // how long to wait for the first PONG
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server and waits until it answers PING.
  Status Start();
  // Stops it with SIGTERM (it writes its AOF and exits), SIGKILL if that takes too long.
  Status Stop();
  // Kills it with SIGKILL, like a crash.
  Status Kill();
  // Stop() then Start(): same socket, same directory, same data.
  Status Restart();
  bool IsRunning();

  // unix://<socket>, with ?password=... when a password is set.
  std::string Url() const;
  // redis://[:password@]127.0.0.1:<port>; only with options.tcp.
  std::string TcpUrl() const;
  const std::string& SocketPath() const { return socket_path_; }
  const std::string& Dir() const { return dir_.path(); }
  int TcpPort() const { return tcp_port_; }
  // The server's log, for failure messages.
  std::string Log() const;

  // A new client connection to this server (authenticated when a password is set).
  StatusOr<std::unique_ptr<RedisClient>> Connect() const;

 private:
  Status WaitUntilReady();
  RedisServerOptions options_;
  TempDir dir_;
  std::string socket_path_;
  int tcp_port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

// How often the server ran `command` (lower case: "evalsha") since it started or since the last
// CONFIG RESETSTAT, from INFO commandstats: 0 if never, -1 if the server did not answer.
int64_t CommandCalls(RedisClient& client, const std::string& command);

}  // namespace feedcrawl::testing
