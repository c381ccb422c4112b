#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl::testing {
namespace {

TEST(RedisServerTest, StartsOnAUnixSocketOnly) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  EXPECT_EQ(redis.Url(), "unix://" + redis.SocketPath());
  EXPECT_TRUE(std::filesystem::exists(redis.SocketPath()));
  ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  ASSERT_OK_AND_ASSIGN(RedisReply port, client->Command({"CONFIG", "GET", "port"}));
  ASSERT_EQ(port.elements.size(), 2u);
  EXPECT_EQ(port.elements[1].str, "0");
  ASSERT_OK_AND_ASSIGN(RedisReply aof, client->Command({"CONFIG", "GET", "appendonly"}));
  ASSERT_EQ(aof.elements.size(), 2u);
  EXPECT_EQ(aof.elements[1].str, "yes");
}

TEST(RedisServerTest, RestartKeepsData) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  {
    ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
    ASSERT_OK(client->Command({"SET", "kept", "value"}));
  }
  ASSERT_OK(redis.Restart());
  ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  ASSERT_OK_AND_ASSIGN(RedisReply value, client->Command({"GET", "kept"}));
  EXPECT_EQ(value.str, "value");
}

TEST(RedisServerTest, StopEndsTheServer) {
  std::string dir;
  {
    RedisServer redis;
    ASSERT_OK(redis.Start());
    ASSERT_TRUE(redis.IsRunning());
    ASSERT_OK(redis.Stop());
    EXPECT_FALSE(redis.IsRunning());
    EXPECT_EQ(redis.Connect().status().code(), StatusCode::kUnavailable);
    ASSERT_OK(redis.Start());
    dir = redis.Dir();
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(RedisServerTest, KillThenStartAgain) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK(redis.Kill());
  EXPECT_FALSE(redis.IsRunning());
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(auto client, redis.Connect());
  ASSERT_OK_AND_ASSIGN(RedisReply pong, client->Command({"PING"}));
  EXPECT_EQ(pong.str, "PONG");
}

TEST(RedisServerTest, BadConfigFailsWithTheLog) {
  RedisServerOptions options;
  options.extra_config = {"no-such-directive yes"};
  RedisServer redis(options);
  Status s = redis.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-directive"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace feedcrawl::testing
