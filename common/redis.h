// RedisClient: feedcrawl's adapter over hiredis (the only file that includes hiredis). One
// synchronous connection, reconnected on demand after an I/O error, with AUTH (password or ACL
// user) and SELECT taken from the URL. The client writes commands as RESP itself, and hiredis's
// parser builds replies straight into RedisReply values. A RedisClient belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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

// hiredis writes with write(2), so a server that closed the connection raises SIGPIPE. A
// RedisClient holds SIGPIPE back around each call (four system calls), unless the process called
// this: it sets SIGPIPE to SIG_IGN for good (a write to a closed connection then fails with
// EPIPE) and lets every RedisClient skip that. For the role executables, which never want the
// signal; call it at start, before other threads, and never restore the signal afterwards.
void IgnoreSigpipeForGood();

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
  // Internal error while replies of Send are pending.
  StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<std::vector<std::string>>& commands);

  // Pipelining across calls, for a caller that works while the server runs its commands: Send
  // writes one command out (the views are copied) and returns without waiting; Receive returns
  // the reply of the oldest command sent and not yet received, waiting for it if needed. Unlike
  // Pipeline, nothing is sent twice: when the connection breaks, every command whose reply it
  // took gets Unavailable from its Receive, in order, and the caller decides whether repeating
  // it is safe. A failed Send took no reply slot (the command may still have reached the
  // server). Command and Pipeline may be used again once every reply has been received.
  Status Send(const std::vector<std::string_view>& argv);
  // Send in two halves, for a caller that sends several commands at once: Append formats one
  // command into the connection's buffer and takes its reply slot without writing anything;
  // Flush writes every appended command out. A failed Append took no slot; a failed Flush
  // breaks the connection, and every reply owed (the appended commands' too) comes back lost.
  // Receive writes out what was appended first. The client formats commands itself, into a
  // buffer it keeps; hiredis only reads the replies.
  Status Append(const std::vector<std::string_view>& argv);
  Status Flush();
  StatusOr<RedisReply> Receive();
  size_t pending_replies() const { return pending_ + lost_; }

  const RedisAddress& address() const { return address_; }

 private:
  RedisClient(RedisAddress address, int timeout_ms);
  Status Reconnect();
  // Frees a broken connection; the replies it still owed become lost.
  void DropConnection();
  RedisAddress address_;
  int timeout_ms_;
  void* context_ = nullptr;  // redisContext*
  std::string unsent_;       // appended commands not yet written, as RESP
  size_t pending_ = 0;       // replies of Send still to read from this connection
  size_t lost_ = 0;          // replies of Send that went with a broken connection
};

}  // namespace feedcrawl
