#include <gtest/gtest.h>

#include "common/redis.h"

namespace feedcrawl {
namespace {

RedisAddress Parse(const std::string& url) {
  StatusOr<RedisAddress> a = ParseRedisUrl(url);
  EXPECT_TRUE(a.ok()) << url << ": " << a.status().ToString();
  return a.ok() ? *a : RedisAddress{};
}

TEST(RedisUrlTest, HostOnly) {
  RedisAddress a = Parse("redis://localhost");
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.db, 0);
  EXPECT_TRUE(a.unix_path.empty());
  EXPECT_TRUE(a.user.empty());
  EXPECT_TRUE(a.password.empty());
}

TEST(RedisUrlTest, PortAndDb) {
  RedisAddress a = Parse("redis://10.0.0.5:6380/3");
  EXPECT_EQ(a.host, "10.0.0.5");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 3);
  EXPECT_EQ(Parse("redis://h/").db, 0);
}

TEST(RedisUrlTest, PasswordOnly) {
  RedisAddress a = Parse("redis://:s3cret@redis.internal:7000");
  EXPECT_EQ(a.host, "redis.internal");
  EXPECT_EQ(a.port, 7000);
  EXPECT_TRUE(a.user.empty());
  EXPECT_EQ(a.password, "s3cret");
}

TEST(RedisUrlTest, UserAndPercentEncodedPassword) {
  RedisAddress a = Parse("redis://crawler:p%40ss%3Aw%2Fd@cache/2");
  EXPECT_EQ(a.user, "crawler");
  EXPECT_EQ(a.password, "p@ss:w/d");
  EXPECT_EQ(a.host, "cache");
  EXPECT_EQ(a.db, 2);
}

TEST(RedisUrlTest, Ipv6Host) {
  RedisAddress a = Parse("redis://[::1]:6390");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 6390);
  EXPECT_EQ(Parse("redis://[fe80::1]").port, 6379);
}

TEST(RedisUrlTest, UnixSocket) {
  RedisAddress a = Parse("unix:///run/redis/redis.sock");
  EXPECT_EQ(a.unix_path, "/run/redis/redis.sock");
  EXPECT_TRUE(a.host.empty());
  EXPECT_EQ(a.db, 0);
}

TEST(RedisUrlTest, UnixSocketWithQuery) {
  RedisAddress a = Parse("unix:///tmp/r.sock?db=4&password=pw%26x&user=ops");
  EXPECT_EQ(a.unix_path, "/tmp/r.sock");
  EXPECT_EQ(a.db, 4);
  EXPECT_EQ(a.password, "pw&x");
  EXPECT_EQ(a.user, "ops");
}

TEST(RedisUrlTest, RejectsEverythingElse) {
  for (const char* url : {
           "",
           "localhost:6379",
           "http://localhost",
           "rediss://localhost",
           "redis://",
           "redis://:6379",
           "redis://host:",
           "redis://host:0",
           "redis://host:65536",
           "redis://host:12ab",
           "redis://host/-1",
           "redis://host/x",
           "redis://host?db=1",
           "redis://password@host",
           "redis://:bad%zz@host",
           "redis://[::1",
           "unix://",
           "unix://relative/path.sock",
           "unix:///tmp/r.sock?db=x",
           "unix:///tmp/r.sock?timeout=5",
           "unix:///tmp/r.sock?password",
       }) {
    StatusOr<RedisAddress> a = ParseRedisUrl(url);
    EXPECT_FALSE(a.ok()) << "accepted \"" << url << "\"";
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << url;
      EXPECT_NE(a.status().message().find("Redis URL"), std::string::npos) << url;
    }
  }
}

}  // namespace
}  // namespace feedcrawl
