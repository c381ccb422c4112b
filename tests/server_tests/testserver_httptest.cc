// Runs the real feedcrawl-testserver binary on a temporary root and checks it over HTTP:
// validators, gzip, every fault kind, the counters and a clean stop.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <zlib.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

constexpr char kRss[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Caf\xc3\xa9"
    "</title><item><title>One</title><link>http://example.com/1</link></item></channel></rss>\n";
constexpr int kStartTimeoutMs = 10000;

std::string Inflate(const std::string& gzip) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzip.data()));
  stream.avail_in = static_cast<uInt>(gzip.size());
  std::string out;
  char buffer[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&stream);
  return out;
}

class TestServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(testing::WriteFile(root_.File("feed.rss"), kRss));
    ASSERT_OK(testing::WriteFile(root_.File("feed.xml"), kRss));
  }

  // Starts the server with `extra` flags and connects a client to it.
  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--root", root_.path(), "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    SubprocessOptions options;
    options.capture_stdout = true;
    ASSERT_OK_AND_ASSIGN(
        server_,
        Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl-testserver", args, options));
    ASSERT_OK_AND_ASSIGN(std::string line, server_->ReadLine(kStartTimeoutMs));
    const std::string prefix = "listening on http://127.0.0.1:";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    port_ = std::stoi(line.substr(prefix.size()));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(30);
  }

  nlohmann::json Stats() {
    auto res = client_->Get("/_stats");
    EXPECT_TRUE(res);
    if (!res) return {};
    return nlohmann::json::parse(res->body);
  }

  std::string HostHeader() const { return "127.0.0.1:" + std::to_string(port_); }

  TempDir root_;
  std::unique_ptr<Subprocess> server_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

TEST_F(TestServerTest, ServesFilesWithValidatorsAndContentType) {
  Start();
  auto res = client_->Get("/feed.rss");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, kRss);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/rss+xml");
  const std::string etag = res->get_header_value("ETag");
  EXPECT_GE(etag.size(), 3u);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_NE(res->get_header_value("Last-Modified").find(" GMT"), std::string::npos);

  auto xml = client_->Get("/feed.xml");
  ASSERT_TRUE(xml);
  EXPECT_EQ(xml->get_header_value("Content-Type"), "application/xml");
  EXPECT_EQ(xml->get_header_value("ETag"), etag);  // same bytes, same validator

  auto missing = client_->Get("/nope.xml");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(TestServerTest, ConditionalRequestsGet304WithoutBody) {
  Start();
  auto first = client_->Get("/feed.rss");
  ASSERT_TRUE(first);
  const std::string etag = first->get_header_value("ETag");
  const std::string last_modified = first->get_header_value("Last-Modified");

  auto by_etag = client_->Get("/feed.rss", {{"If-None-Match", etag}});
  ASSERT_TRUE(by_etag);
  EXPECT_EQ(by_etag->status, 304);
  EXPECT_TRUE(by_etag->body.empty());

  auto by_date = client_->Get("/feed.rss", {{"If-Modified-Since", last_modified}});
  ASSERT_TRUE(by_date);
  EXPECT_EQ(by_date->status, 304);

  auto other_etag = client_->Get("/feed.rss", {{"If-None-Match", "\"something-else\""}});
  ASSERT_TRUE(other_etag);
  EXPECT_EQ(other_etag->status, 200);
  EXPECT_EQ(other_etag->body, kRss);

  auto old_date =
      client_->Get("/feed.rss", {{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}});
  ASSERT_TRUE(old_date);
  EXPECT_EQ(old_date->status, 200);
}

TEST_F(TestServerTest, CompressesWhenAskedAndMatchesBothValidators) {
  std::string big;
  while (big.size() < 100000) big += "<item><title>Repeated title</title></item>\n";
  ASSERT_OK(testing::WriteFile(root_.File("big.atom"), big));
  Start();
  client_->set_decompress(false);
  auto gz = client_->Get("/big.atom", {{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->status, 200);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(gz->get_header_value("Content-Type"), "application/atom+xml");
  EXPECT_LT(gz->body.size(), big.size() / 10);
  EXPECT_EQ(Inflate(gz->body), big);

  auto plain = client_->Get("/big.atom");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_EQ(plain->body, big);

  // The validator of either representation revalidates.
  auto again = client_->Get("/big.atom", {{"If-None-Match", gz->get_header_value("ETag")}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
}

TEST_F(TestServerTest, ServesFilesRewrittenOnDisk) {
  Start();
  auto before = client_->Get("/feed.xml");
  ASSERT_TRUE(before);
  const std::string changed = std::string(kRss) + "<!-- changed -->\n";
  ASSERT_OK(testing::WriteFile(root_.File("feed.xml"), changed));
  auto after = client_->Get("/feed.xml", {{"If-None-Match", before->get_header_value("ETag")}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->body, changed);
  EXPECT_NE(after->get_header_value("ETag"), before->get_header_value("ETag"));
}

TEST_F(TestServerTest, RefusesPathsOutsideTheRoot) {
  ASSERT_OK(testing::WriteFile(root_.File("secret.txt"), "secret"));
  Start();
  httplib::Client raw("127.0.0.1", port_);
  for (const std::string path : {"/a/../feed.xml", "/../secret.txt", "/%2e%2e/secret.txt"}) {
    auto res = raw.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 403) << path;
  }
}

TEST_F(TestServerTest, StatusAndRetryAfterFromQueryAndFaultsFile) {
  ASSERT_OK(testing::WriteFile(root_.File("faults.json"), R"({
      "/busy.xml": {"status": 503, "retry_after": "120"},
      "/moved.xml": {"redirect": "/feed.xml", "redirect_status": 301}
  })"));
  Start({"--faults", root_.File("faults.json")});

  auto busy = client_->Get("/busy.xml");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->get_header_value("Retry-After"), "120");

  auto moved = client_->Get("/moved.xml");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->status, 301);
  EXPECT_EQ(moved->get_header_value("Location"), "/feed.xml");

  auto query = client_->Get("/feed.xml?status=500");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->status, 500);

  auto bad = client_->Get("/feed.xml?delay_ms=soon");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);

  auto redirect = client_->Get("/x.xml?redirect=http://127.0.0.1:1/y.xml");
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->status, 302);
  EXPECT_EQ(redirect->get_header_value("Location"), "http://127.0.0.1:1/y.xml");
}

TEST_F(TestServerTest, TruncatedBodyClaimsFullLengthThenCloses) {
  Start();
  std::string received;
  auto res = client_->Get("/feed.xml?truncate=20", [&](const char* data, size_t n) {
    received.append(data, n);
    return true;
  });
  EXPECT_FALSE(res);  // the transfer ends early
  EXPECT_EQ(received, std::string(kRss).substr(0, 20));
}

TEST_F(TestServerTest, OversizeStreamsChunkedXmlWithoutLength) {
  Start();
  auto res = client_->Get("/endless.xml?oversize_bytes=300000");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.size(), 300000u);
  EXPECT_FALSE(res->has_header("Content-Length"));
  EXPECT_EQ(res->get_header_value("Transfer-Encoding"), "chunked");
  EXPECT_EQ(res->body.rfind("<?xml", 0), 0u);
}

TEST_F(TestServerTest, GarbageIsNotMarkup) {
  Start();
  auto res = client_->Get("/feed.xml?garbage=1000");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.size(), 1000u);
  EXPECT_NE(res->body[0], '<');
  EXPECT_NE(res->body, kRss);
  auto fixed = client_->Get("/nofile.xml?garbage=true");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->status, 200);
  EXPECT_FALSE(fixed->body.empty());
}

TEST_F(TestServerTest, DripStillDeliversTheWholeBody) {
  Start();
  auto res = client_->Get("/feed.xml?drip_ms=1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, kRss);
}

TEST_F(TestServerTest, GzipBombIsSmallOnTheWireAndInflatesToTheSize) {
  Start();
  client_->set_decompress(false);
  const size_t inflated = 50'000'000;
  auto res = client_->Get("/bomb.xml?gzip_bomb_bytes=" + std::to_string(inflated));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(res->body.size(), inflated / 500);
  std::string body = Inflate(res->body);
  EXPECT_EQ(body.size(), inflated);
  EXPECT_EQ(body.rfind("<?xml", 0), 0u);
}

TEST_F(TestServerTest, ContentTypeOverrideAndNoValidators) {
  Start();
  auto res =
      client_->Get("/feed.xml?content_type=text/html&no_validators=1", {{"If-None-Match", "*"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html");
  EXPECT_FALSE(res->has_header("ETag"));
  EXPECT_FALSE(res->has_header("Last-Modified"));
}

TEST_F(TestServerTest, StatsCountRequestsStatusesAndConcurrencyPerHost) {
  Start({"--threads", "8"});
  ASSERT_TRUE(client_->Get("/_stats/reset"));
  auto ok = client_->Get("/feed.xml");
  ASSERT_TRUE(ok);
  ASSERT_TRUE(client_->Get("/feed.xml", {{"If-None-Match", ok->get_header_value("ETag")}}));
  ASSERT_TRUE(client_->Get("/missing.xml"));

  // A request is counted once its last byte has left the server, which can be just after the
  // client has read the response: wait for the counters to settle.
  nlohmann::json stats = Stats();
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (stats["requests"] == 3 && stats["hosts"][HostHeader()]["current"] == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats = Stats();
  }
  EXPECT_EQ(stats["requests"], 3);
  EXPECT_EQ(stats["not_modified"], 1);
  EXPECT_EQ(stats["by_status"]["200"], 1);
  EXPECT_EQ(stats["by_status"]["304"], 1);
  EXPECT_EQ(stats["by_status"]["404"], 1);
  EXPECT_EQ(stats["by_path"]["/feed.xml"], 2);
  EXPECT_GE(stats["bytes_sent"].get<uint64_t>(), std::string(kRss).size());
  EXPECT_EQ(stats["hosts"][HostHeader()]["requests"], 3);
  EXPECT_EQ(stats["hosts"][HostHeader()]["current"], 0);

  // Three slow requests at once: wait until the server reports all three in progress.
  std::vector<std::thread> slow;
  for (int i = 0; i < 3; ++i) {
    slow.emplace_back([this] {
      httplib::Client own("127.0.0.1", port_);
      own.set_read_timeout(60);
      auto res = own.Get("/feed.xml?delay_ms=3000");
      EXPECT_TRUE(res);
    });
  }
  int64_t current = 0;
  for (int attempt = 0; attempt < 500 && current < 3; ++attempt) {
    current = Stats()["hosts"][HostHeader()]["current"].get<int64_t>();
    if (current < 3) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(current, 3);
  for (auto& thread : slow) thread.join();
  stats = Stats();
  for (int attempt = 0; attempt < 200 && stats["hosts"][HostHeader()]["current"] != 0; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats = Stats();
  }
  EXPECT_EQ(stats["hosts"][HostHeader()]["current"], 0);
  EXPECT_EQ(stats["hosts"][HostHeader()]["max_concurrent"], 3);
}

TEST_F(TestServerTest, StopsCleanlyOnSigtermEvenDuringADelay) {
  Start();
  std::thread slow([this] {
    httplib::Client own("127.0.0.1", port_);
    own.set_read_timeout(120);
    auto res = own.Get("/feed.xml?delay_ms=100000");
    // Cut short: either a 503 or a closed connection, never the full delay.
    if (res) {
      EXPECT_EQ(res->status, 503);
    }
  });
  for (int attempt = 0; attempt < 500; ++attempt) {
    if (Stats()["in_flight"].get<int64_t>() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_OK(server_->Signal(SIGTERM));
  ASSERT_OK_AND_ASSIGN(testing::ExitStatus exit, server_->Wait(30000));
  EXPECT_TRUE(exit.Success()) << exit.ToString();
  slow.join();
}

TEST_F(TestServerTest, RejectsABadFaultsFile) {
  ASSERT_OK(testing::WriteFile(root_.File("faults.json"), R"({"/a.xml": {"statsu": 500}})"));
  SubprocessOptions options;
  options.capture_stdout = true;
  options.merge_stderr = true;
  ASSERT_OK_AND_ASSIGN(
      auto child,
      Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl-testserver",
                        {"--root", root_.path(), "--faults", root_.File("faults.json")}, options));
  ASSERT_OK_AND_ASSIGN(std::string output, child->ReadAll(30000));
  ASSERT_OK_AND_ASSIGN(testing::ExitStatus exit, child->Wait(30000));
  EXPECT_FALSE(exit.Success());
  EXPECT_NE(output.find("statsu"), std::string::npos) << output;
}

}  // namespace
}  // namespace feedcrawl
