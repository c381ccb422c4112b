// Unit tests of the test feed server's parts that need no socket: fault parsing, path safety,
// HTTP dates, the gzip bomb.
#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "tests/server/compression.h"
#include "tests/server/fault_spec.h"
#include "tests/server/feed_server.h"
#include "tests/server/file_cache.h"
#include "tests/server/request_stats.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl::testserver {
namespace {

TEST(FaultSpecTest, QueryOverridesFileAndIgnoresOtherParameters) {
  ASSERT_OK_AND_ASSIGN(FaultTable table, FaultTable::FromJson(nlohmann::json::parse(
                                             R"({"/a.xml": {"status": 500, "delay_ms": 10,
                                                 "garbage": true, "no_validators": true}})")));
  FaultSpec spec = table.Find("/a.xml");
  EXPECT_EQ(spec.status, 500);
  EXPECT_EQ(spec.delay_ms, 10);
  EXPECT_EQ(spec.garbage_bytes, kDefaultGarbageBytes);
  EXPECT_TRUE(spec.no_validators);
  ASSERT_OK(ApplyQueryFaults({{"status", "404"}, {"page", "2"}, {"truncate", "7"}}, &spec));
  EXPECT_EQ(spec.status, 404);
  EXPECT_EQ(spec.truncate, 7u);
  EXPECT_FALSE(table.Find("/b.xml").status.has_value());
}

TEST(FaultSpecTest, RejectsTyposAndBadValues) {
  EXPECT_FALSE(FaultTable::FromJson(nlohmann::json::parse(R"({"/a": {"statsu": 1}})")).ok());
  EXPECT_FALSE(FaultTable::FromJson(nlohmann::json::parse(R"({"a": {"status": 500}})")).ok());
  FaultSpec spec;
  EXPECT_FALSE(ApplyQueryFaults({{"delay_ms", "-5"}}, &spec).ok());
  EXPECT_FALSE(ApplyQueryFaults({{"status", "abc"}}, &spec).ok());
  EXPECT_FALSE(ApplyQueryFaults({{"redirect_status", "200"}}, &spec).ok());
}

TEST(FileCacheTest, SafePaths) {
  EXPECT_TRUE(IsSafeUrlPath("/f/00001.xml"));
  EXPECT_TRUE(IsSafeUrlPath("/a..b/c"));
  EXPECT_FALSE(IsSafeUrlPath("/../etc/passwd"));
  EXPECT_FALSE(IsSafeUrlPath("/a/../../b"));
  EXPECT_FALSE(IsSafeUrlPath("/a/.."));
  EXPECT_FALSE(IsSafeUrlPath("/a/./b"));
  EXPECT_FALSE(IsSafeUrlPath("relative"));
}

TEST(FileCacheTest, HttpDatesRoundTrip) {
  EXPECT_EQ(HttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  time_t t = 0;
  ASSERT_TRUE(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", &t));
  EXPECT_EQ(t, 784111777);
  EXPECT_FALSE(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", &t));
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT trailing", &t));
}

TEST(FeedServerTest, ContentTypesByExtension) {
  EXPECT_EQ(ContentTypeForPath("/a.xml"), "application/xml");
  EXPECT_EQ(ContentTypeForPath("/a.rss"), "application/rss+xml");
  EXPECT_EQ(ContentTypeForPath("/a.atom"), "application/atom+xml");
  EXPECT_EQ(ContentTypeForPath("/a.json"), "application/feed+json");
  EXPECT_EQ(ContentTypeForPath("/a.rdf"), "application/rdf+xml");
  EXPECT_EQ(ContentTypeForPath("/a.html"), "text/html");
  EXPECT_EQ(ContentTypeForPath("/a.d/file"), "application/octet-stream");
}

// A request settled when its body was complete no longer counts as in progress for its host, so
// the client's next request is not counted as overlapping it while the server finishes the old
// one; End still counts it once, and does not take the host's count below zero.
TEST(RequestStatsTest, ASettledRequestIsNoLongerInProgressButIsCountedOnce) {
  RequestStats stats;
  int first = 0;
  int second = 0;
  stats.Begin(&first, "h");
  stats.Settle(&first);
  stats.Begin(&second, "h");
  nlohmann::json json = stats.ToJson();
  EXPECT_EQ(json["hosts"]["h"]["current"], 1);
  EXPECT_EQ(json["hosts"]["h"]["max_concurrent"], 1);
  stats.End(&first, "/a.xml", 200);
  stats.End(&second, "/a.xml", 200);
  json = stats.ToJson();
  EXPECT_EQ(json["hosts"]["h"]["current"], 0);
  EXPECT_EQ(json["hosts"]["h"]["max_concurrent"], 1);
  EXPECT_EQ(json["requests"], 2);
  EXPECT_EQ(json["by_status"]["200"], 2);
}

TEST(CompressionTest, GzipBombInflatesToExactlyTheSize) {
  for (size_t size : {size_t{5}, size_t{100}, size_t{(1 << 20) + 17}, size_t{3 << 20}}) {
    ASSERT_OK_AND_ASSIGN(std::string bomb, GzipBomb("<rss>", size));
    z_stream stream{};
    ASSERT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
    stream.next_in = reinterpret_cast<Bytef*>(bomb.data());
    stream.avail_in = static_cast<uInt>(bomb.size());
    std::string out(size + 16, '\0');
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END) << size;  // also checks CRC and length
    EXPECT_EQ(stream.total_out, size);
    inflateEnd(&stream);
    EXPECT_EQ(out.substr(0, std::min<size_t>(size, 5)), std::string("<rss>").substr(0, size));
  }
}

}  // namespace
}  // namespace feedcrawl::testserver
