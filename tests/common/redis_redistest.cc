// RedisClient against a real redis-server: replies, pipelining, reconnects, AUTH, SELECT; and a
// client in a process that ignores SIGPIPE against a connection that is gone.
#include "common/redis.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>

#include "tests/support/redis_server.h"
#include "tests/support/test_env.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

using testing::RedisServer;
using testing::RedisServerOptions;

TEST(RedisClientTest, ConvertsEveryReplyType) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url()));

  ASSERT_OK_AND_ASSIGN(RedisReply ok, client->Command({"SET", "k", "v"}));
  EXPECT_EQ(ok.type, RedisReply::Type::kStatus);
  EXPECT_EQ(ok.str, "OK");
  ASSERT_OK_AND_ASSIGN(RedisReply value, client->Command({"GET", "k"}));
  EXPECT_EQ(value.type, RedisReply::Type::kString);
  EXPECT_EQ(value.str, "v");
  ASSERT_OK_AND_ASSIGN(RedisReply missing, client->Command({"GET", "nothing"}));
  EXPECT_TRUE(missing.IsNil());
  ASSERT_OK_AND_ASSIGN(RedisReply counter, client->Command({"INCRBY", "n", "41"}));
  EXPECT_EQ(counter.type, RedisReply::Type::kInteger);
  EXPECT_EQ(counter.integer, 41);
  ASSERT_OK(client->Command({"RPUSH", "list", "a", "b"}));
  ASSERT_OK_AND_ASSIGN(RedisReply list, client->Command({"LRANGE", "list", "0", "-1"}));
  EXPECT_EQ(list.type, RedisReply::Type::kArray);
  ASSERT_EQ(list.elements.size(), 2u);
  EXPECT_EQ(list.elements[1].str, "b");
  ASSERT_OK_AND_ASSIGN(RedisReply error, client->Command({"INCR", "k"}));
  EXPECT_TRUE(error.IsError());
  EXPECT_NE(error.str.find("not an integer"), std::string::npos) << error.str;
  ASSERT_OK_AND_ASSIGN(RedisReply unknown, client->Command({"NO-SUCH-COMMAND"}));
  EXPECT_TRUE(unknown.IsError());
}

// Replies are built by the parser straight into RedisReply trees: nested arrays, nils and empty
// arrays inside them, and replies that arrive in many reads, through both ways of reading.
TEST(RedisClientTest, BuildsNestedRepliesWhole) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url()));
  ASSERT_OK(client->Command({"HSET", "h", "a", "1"}));
  ASSERT_OK_AND_ASSIGN(RedisReply fields, client->Command({"HMGET", "h", "a", "missing", "a"}));
  ASSERT_EQ(fields.type, RedisReply::Type::kArray);
  ASSERT_EQ(fields.elements.size(), 3u);
  EXPECT_EQ(fields.elements[0].str, "1");
  EXPECT_TRUE(fields.elements[1].IsNil());
  EXPECT_EQ(fields.elements[2].str, "1");
  ASSERT_OK_AND_ASSIGN(RedisReply empty, client->Command({"LRANGE", "nothing", "0", "-1"}));
  EXPECT_EQ(empty.type, RedisReply::Type::kArray);
  EXPECT_TRUE(empty.elements.empty());

  // A script's reply: an integer, an array holding an empty array and a status, a nil, an error
  // from a pcall, and text.
  const std::string script =
      "return {7, {{}, redis.status_reply('FINE'), 'x'}, false, "
      "redis.pcall('INCR', KEYS[1]), 'end'}";
  ASSERT_OK_AND_ASSIGN(RedisReply mixed, client->Command({"EVAL", script, "1", "h"}));
  ASSERT_EQ(mixed.type, RedisReply::Type::kArray);
  ASSERT_EQ(mixed.elements.size(), 5u);
  EXPECT_EQ(mixed.elements[0].type, RedisReply::Type::kInteger);
  EXPECT_EQ(mixed.elements[0].integer, 7);
  const RedisReply& inner = mixed.elements[1];
  ASSERT_EQ(inner.type, RedisReply::Type::kArray);
  ASSERT_EQ(inner.elements.size(), 3u);
  EXPECT_EQ(inner.elements[0].type, RedisReply::Type::kArray);
  EXPECT_TRUE(inner.elements[0].elements.empty());
  EXPECT_EQ(inner.elements[1].type, RedisReply::Type::kStatus);
  EXPECT_EQ(inner.elements[1].str, "FINE");
  EXPECT_EQ(inner.elements[2].str, "x");
  EXPECT_TRUE(mixed.elements[2].IsNil());
  EXPECT_TRUE(mixed.elements[3].IsError());
  EXPECT_NE(mixed.elements[3].str.find("WRONGTYPE"), std::string::npos) << mixed.elements[3].str;
  EXPECT_EQ(mixed.elements[4].str, "end");

  // A stream's entries: arrays of [id, [field, value, ...]].
  ASSERT_OK(client->Command({"XADD", "s", "1-1", "feed", "9", "keys", "[\"a\"]"}));
  ASSERT_OK_AND_ASSIGN(RedisReply entries, client->Command({"XRANGE", "s", "-", "+"}));
  ASSERT_EQ(entries.elements.size(), 1u);
  ASSERT_EQ(entries.elements[0].elements.size(), 2u);
  EXPECT_EQ(entries.elements[0].elements[0].str, "1-1");
  ASSERT_EQ(entries.elements[0].elements[1].elements.size(), 4u);
  EXPECT_EQ(entries.elements[0].elements[1].elements[3].str, "[\"a\"]");

  // ~1 MB in one reply, read in many pieces, through Pipeline and through Append/Receive.
  std::vector<std::string> hset = {"HSET", "big"};
  for (int i = 0; i < 4000; ++i) {
    hset.push_back("field" + std::to_string(i));
    hset.push_back(std::string(250, static_cast<char>('a' + i % 26)));
  }
  ASSERT_OK(client->Command(hset));
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> piped,
                       client->Pipeline({{"HGETALL", "big"}, {"HLEN", "big"}}));
  ASSERT_EQ(piped.size(), 2u);
  ASSERT_OK(client->Append({"HGETALL", "big"}));
  ASSERT_OK(client->Append({"HMGET", "big", "field3999", "nope"}));
  ASSERT_OK_AND_ASSIGN(RedisReply received, client->Receive());
  ASSERT_OK_AND_ASSIGN(RedisReply last, client->Receive());
  for (const RedisReply* all : {&piped[0], &received}) {
    ASSERT_EQ(all->elements.size(), 8000u);
    std::map<std::string, std::string> got;
    for (size_t i = 0; i < all->elements.size(); i += 2) {
      got[all->elements[i].str] = all->elements[i + 1].str;
    }
    ASSERT_EQ(got.size(), 4000u);
    EXPECT_EQ(got["field0"], std::string(250, 'a'));
    EXPECT_EQ(got["field3999"], std::string(250, static_cast<char>('a' + 3999 % 26)));
  }
  EXPECT_EQ(piped[1].integer, 4000);
  ASSERT_EQ(last.elements.size(), 2u);
  EXPECT_EQ(last.elements[0].str.size(), 250u);
  EXPECT_TRUE(last.elements[1].IsNil());
}

TEST(RedisClientTest, IsBinarySafe) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url()));
  const std::string key("key with spaces\r\n\0", 18);
  const std::string value("\0\x01\xff\r\n$3\r\nend", 13);
  ASSERT_OK(client->Command({"SET", key, value}));
  ASSERT_OK_AND_ASSIGN(RedisReply got, client->Command({"GET", key}));
  EXPECT_EQ(got.str, value);
  ASSERT_OK_AND_ASSIGN(RedisReply empty, client->Command({"SET", "", ""}));
  EXPECT_EQ(empty.str, "OK");
}

TEST(RedisClientTest, PipelineKeepsOrderAndErrorsInPlace) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url()));
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < 2500; ++i) commands.push_back({"RPUSH", "seq", std::to_string(i)});
  commands.push_back({"HSET", "seq", "f", "v"});  // wrong type: an error reply, not a failure
  commands.push_back({"LLEN", "seq"});
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies, client->Pipeline(commands));
  ASSERT_EQ(replies.size(), commands.size());
  for (int i = 0; i < 2500; ++i) EXPECT_EQ(replies[i].integer, i + 1);
  EXPECT_TRUE(replies[2500].IsError());
  EXPECT_EQ(replies[2501].integer, 2500);
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> none, client->Pipeline({}));
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(client->Command({}).status().code(), StatusCode::kInvalidArgument);
}

// Append formats commands without writing them; Flush sends them together, and their replies
// come back in order. Commands appended to a connection that broke before the Flush owe replies
// that come back lost, and the client works again afterwards.
TEST(RedisClientTest, AppendedCommandsLeaveTogetherOnFlush) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url()));
  ASSERT_OK_AND_ASSIGN(auto observer, RedisClient::Connect(redis.Url()));
  ASSERT_OK(client->Append({"INCR", "n"}));
  ASSERT_OK(client->Append({"INCR", "n"}));
  ASSERT_OK(client->Append({"HSET", "n", "f", "v"}));  // wrong type: an error reply in place
  EXPECT_EQ(client->pending_replies(), 3u);
  ASSERT_OK_AND_ASSIGN(RedisReply before, observer->Command({"EXISTS", "n"}));
  EXPECT_EQ(before.integer, 0);  // nothing was written yet
  ASSERT_OK(client->Flush());
  ASSERT_OK_AND_ASSIGN(RedisReply first, client->Receive());
  EXPECT_EQ(first.integer, 1);
  ASSERT_OK_AND_ASSIGN(RedisReply second, client->Receive());
  EXPECT_EQ(second.integer, 2);
  ASSERT_OK_AND_ASSIGN(RedisReply third, client->Receive());
  EXPECT_TRUE(third.IsError());
  EXPECT_EQ(client->pending_replies(), 0u);

  ASSERT_OK(client->Append({"INCR", "n"}));
  ASSERT_OK(client->Append({"INCR", "n"}));
  ASSERT_OK(redis.Restart());
  // The write may still reach the dead socket's buffer: then the reads fail instead.
  (void)client->Flush();
  EXPECT_EQ(client->Receive().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(client->Receive().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(client->pending_replies(), 0u);
  ASSERT_OK_AND_ASSIGN(RedisReply after, client->Command({"INCR", "n"}));
  EXPECT_EQ(after.integer, 3);  // the restarted server kept its data; the lost INCRs never ran
}

// Receive writes out what was appended and not yet flushed: a reply can only come for a command
// that went out.
TEST(RedisClientTest, ReceiveSendsWhatWasAppended) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url(), 2000));
  ASSERT_OK(client->Append({"SET", "k", std::string(1 << 20, 'v')}));
  ASSERT_OK(client->Append({"STRLEN", "k"}));
  ASSERT_OK_AND_ASSIGN(RedisReply set, client->Receive());
  EXPECT_EQ(set.str, "OK");
  ASSERT_OK_AND_ASSIGN(RedisReply length, client->Receive());
  EXPECT_EQ(length.integer, 1 << 20);
}

// A server that stops reading (stalled, or a peer that is not Redis) cannot hold a Flush longer
// than the client's timeout: the write fails as Unavailable, the appended commands' replies come
// back lost, and nothing of the half-written call is sent on a new connection.
TEST(RedisClientTest, AFlushToAServerThatStopsReadingTimesOut) {
  testing::TempDir dir;
  const std::string path = dir.File("stalled.sock");
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  int connection = -1;
  // It answers the handshake's PING, then reads nothing more.
  std::thread server([listener, &connection] {
    connection = ::accept(listener, nullptr, nullptr);
    char request[256];
    if (connection >= 0 && ::read(connection, request, sizeof(request)) > 0) {
      (void)!::write(connection, "+PONG\r\n", 7);
    }
  });
  StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Connect("unix://" + path, 300);
  server.join();
  ASSERT_OK(client.status());
  ASSERT_OK((*client)->Append({"SET", "k", std::string(64 << 20, 'x')}));
  Status flushed = (*client)->Flush();
  EXPECT_EQ(flushed.code(), StatusCode::kUnavailable);
  EXPECT_NE(flushed.message().find("timed out"), std::string::npos) << flushed.ToString();
  EXPECT_EQ((*client)->pending_replies(), 1u);
  EXPECT_EQ((*client)->Receive().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*client)->pending_replies(), 0u);
  ::close(connection);
  ::close(listener);
}

TEST(RedisClientTest, ReconnectsAfterAServerRestart) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url()));
  ASSERT_OK(client->Command({"SET", "before", "1"}));
  ASSERT_OK(redis.Restart());
  ASSERT_OK_AND_ASSIGN(RedisReply got, client->Command({"GET", "before"}));
  EXPECT_EQ(got.str, "1");
  ASSERT_OK(redis.Restart());
  ASSERT_OK_AND_ASSIGN(std::vector<RedisReply> replies,
                       client->Pipeline({{"INCR", "c"}, {"INCR", "c"}}));
  EXPECT_EQ(replies[1].integer, 2);
}

TEST(RedisClientTest, UnreachableServerIsUnavailable) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url()));
  ASSERT_OK(redis.Stop());
  StatusOr<RedisReply> r = client->Command({"PING"});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  // Once the server is back, the same client works again.
  ASSERT_OK(redis.Start());
  EXPECT_OK(client->Command({"PING"}));

  StatusOr<std::unique_ptr<RedisClient>> nowhere =
      RedisClient::Connect("unix://" + redis.Dir() + "/missing.sock", 1000);
  EXPECT_EQ(nowhere.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(RedisClient::Connect("http://x").status().code(), StatusCode::kInvalidArgument);
}

TEST(RedisClientTest, ReadTimeoutIsUnavailable) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url(), 100));
  StatusOr<RedisReply> r = client->Command({"BLPOP", "never-filled", "2"});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_OK(client->Command({"PING"}));
}

TEST(RedisClientTest, AuthenticatesWithThePasswordFromTheUrl) {
  RedisServerOptions options;
  options.password = "pa ss@word";
  RedisServer redis(options);
  ASSERT_OK(redis.Start());
  EXPECT_NE(redis.Url().find("password="), std::string::npos);
  ASSERT_OK_AND_ASSIGN(auto client, RedisClient::Connect(redis.Url()));
  ASSERT_OK_AND_ASSIGN(RedisReply pong, client->Command({"PING"}));
  EXPECT_EQ(pong.str, "PONG");

  StatusOr<std::unique_ptr<RedisClient>> no_password =
      RedisClient::Connect("unix://" + redis.SocketPath());
  EXPECT_EQ(no_password.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_password.status().message().find("NOAUTH"), std::string::npos)
      << no_password.status().ToString();
  StatusOr<std::unique_ptr<RedisClient>> wrong =
      RedisClient::Connect("unix://" + redis.SocketPath() + "?password=wrong");
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);

  // After a restart the client authenticates again on its own.
  ASSERT_OK(redis.Restart());
  EXPECT_OK(client->Command({"PING"}));
}

TEST(RedisClientTest, AuthenticatesAnAclUser) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto admin, RedisClient::Connect(redis.Url()));
  ASSERT_OK_AND_ASSIGN(RedisReply created, admin->Command({"ACL", "SETUSER", "crawler", "on",
                                                           ">hunter2", "~fc:*", "+@all"}));
  ASSERT_FALSE(created.IsError()) << created.str;
  ASSERT_OK_AND_ASSIGN(auto crawler,
                       RedisClient::Connect(redis.Url() + "?user=crawler&password=hunter2"));
  ASSERT_OK_AND_ASSIGN(RedisReply whoami, crawler->Command({"ACL", "WHOAMI"}));
  EXPECT_EQ(whoami.str, "crawler");
  ASSERT_OK_AND_ASSIGN(RedisReply denied, crawler->Command({"SET", "other:key", "x"}));
  EXPECT_TRUE(denied.IsError());
  EXPECT_EQ(RedisClient::Connect(redis.Url() + "?user=crawler&password=nope").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RedisClientTest, TcpUrlSelectsTheDatabase) {
  RedisServerOptions options;
  options.tcp = true;
  options.password = "pw";
  RedisServer redis(options);
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto db2, RedisClient::Connect(redis.TcpUrl() + "/2"));
  EXPECT_EQ(db2->address().db, 2);
  EXPECT_EQ(db2->address().host, "127.0.0.1");
  ASSERT_OK(db2->Command({"SET", "where", "db2"}));
  ASSERT_OK_AND_ASSIGN(auto db0, RedisClient::Connect(redis.TcpUrl()));
  ASSERT_OK_AND_ASSIGN(RedisReply in_db0, db0->Command({"GET", "where"}));
  EXPECT_TRUE(in_db0.IsNil());
  ASSERT_OK_AND_ASSIGN(auto unix_db2, RedisClient::Connect(redis.Url() + "&db=2"));
  ASSERT_OK_AND_ASSIGN(RedisReply in_db2, unix_db2->Command({"GET", "where"}));
  EXPECT_EQ(in_db2.str, "db2");
  EXPECT_EQ(RedisClient::Connect(redis.TcpUrl() + "/100000").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace feedcrawl

namespace feedcrawl {
namespace {

// A process that called IgnoreSigpipeForGood (every role) skips holding SIGPIPE back around each
// call, so the signal's disposition alone must keep it alive when the server is gone: a write to
// a connection nobody will ever read fails, and the process carries on. Run in a child process.
TEST(RedisSigpipeDeathTest, ProcessIgnoringSigpipeSurvivesWritingToAClosedConnection) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  testing::TempDir dir;
  const std::string path = dir.File("listener.sock");
  EXPECT_EXIT(
      {
        IgnoreSigpipeForGood();
        // A server that answers the client's handshake (PING), then closes the connection.
        int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
        if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address),
                                   sizeof(address)) != 0 ||
            ::listen(listener, 4) != 0) {
          std::_Exit(3);
        }
        std::thread server([listener] {
          int connection = ::accept(listener, nullptr, nullptr);
          char request[256];
          if (connection >= 0 && ::read(connection, request, sizeof(request)) > 0) {
            (void)!::write(connection, "+PONG\r\n", 7);
          }
          ::close(connection);
          ::close(listener);
        });
        auto client = RedisClient::Connect("unix://" + path, 1000);
        server.join();
        if (!client.ok()) std::_Exit(4);
        StatusOr<RedisReply> reply =
            (*client)->Command({"SET", "key", std::string(1 << 20, 'x')});
        std::_Exit(reply.ok() ? 5 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace feedcrawl
