// RedisClient: feedcrawl's adapter over hiredis (the only file that includes hiredis). One
// synchronous connection, reconnected on demand after an I/O error, with AUTH (password or ACL
// user) and SELECT taken from the URL. Replies are copied into RedisReply values. A RedisClient
// belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace feedcrawl {

// redis://[[user]:password@]host[:port][/db]  or  unix:///path/to/redis.sock[?db=N&password=P&user=U]
struct RedisAddress {
  std::string host;           // empty for unix sockets
  int port = 6379;
  std::string unix_path;      // set for unix sockets
  std::string user;
  std::string password;
  int db = 0;
};

StatusOr<RedisAddress> ParseRedisUrl(const std::string& url);

struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;            // kString, kStatus, kError
  int64_t integer = 0;        // kInteger
  std::vector<RedisReply> elements;  // kArray

  bool IsNil() const { return type == Type::kNil; }
  bool IsError() const { return type == Type::kError; }
};

class RedisClient {
 public:
  // Connects (and authenticates, selects the db). Fails with Unavailable when unreachable.
  static StatusOr<std::unique_ptr<RedisClient>> Connect(const RedisAddress& address,
                                                        int timeout_ms = 5000);
  static StatusOr<std::unique_ptr<RedisClient>> Connect(const std::string& url,
                                                        int timeout_ms = 5000);
  ~RedisClient();

  // Runs one command. A Redis error reply is returned as a reply of Type::kError (the command
  // reached the server); an I/O failure is a non-ok Status after one reconnect attempt.
  StatusOr<RedisReply> Command(const std::vector<std::string>& argv);
  // Sends all commands in one round trip and returns their replies in order.
  StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<std::vector<std::string>>& commands);

  const RedisAddress& address() const { return address_; }

 private:
  RedisClient(RedisAddress address, int timeout_ms);
  Status Reconnect();
  RedisAddress address_;
  int timeout_ms_;
  void* context_ = nullptr;  // redisContext*
};

}  // namespace feedcrawl
