// The libcurl client against a real HTTP server on 127.0.0.1: every outcome a feed fetch can end
// in, and the headers that travel with it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include <functional>
#include <set>
#include <thread>

#include "fetcher/http_client.h"
#include "tests/fetcher/feed_server.h"

namespace feedcrawl {
namespace {

namespace v1 = feedcrawl::v1;
using test::FeedServer;
using test::kFeedBody;
using test::kFeedEtag;
using test::kFeedLastModified;

class HttpClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpClient> NewClient(bool allow_private_networks,
                                        const std::string& user_agent = kDefaultUserAgent) {
    HttpClientOptions options;
    options.allow_private_networks = allow_private_networks;
    options.user_agent = user_agent;
    options.fetcher_id = "fetcher-under-test";
    // Test traffic stays on loopback whatever the environment says about proxies.
    options.proxy = "";
    auto client = NewCurlHttpClient(options, SystemClock::Instance());
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  v1::FetchJob Job(const std::string& url) {
    v1::FetchJob job;
    job.set_job_id(next_job_id_++);
    job.set_feed_id(7);
    job.set_url(url);
    return job;
  }

  FetchCompletion Fetch(const std::string& path,
                        const std::function<void(v1::FetchJob&)>& adjust = {}) {
    v1::FetchJob job = Job(server_.Url(path));
    if (adjust) adjust(job);
    return FetchNow(*client_, job);
  }

  FeedServer server_;
  std::unique_ptr<HttpClient> client_ = NewClient(/*allow_private_networks=*/true);
  uint64_t next_job_id_ = 100;
};

TEST_F(HttpClientTest, OkCarriesBodyValidatorsAndFreshnessHints) {
  const FetchCompletion done = Fetch("/feed.xml");
  const v1::FetchResult& r = done.result;
  EXPECT_EQ(r.outcome(), v1::OUTCOME_OK) << r.error();
  EXPECT_EQ(r.http_status(), 200);
  EXPECT_EQ(done.body, kFeedBody);
  EXPECT_EQ(r.body_bytes(), done.body.size());
  EXPECT_EQ(r.etag(), kFeedEtag);
  EXPECT_EQ(r.last_modified(), kFeedLastModified);
  EXPECT_EQ(r.content_type(), "application/rss+xml; charset=utf-8");
  EXPECT_EQ(r.cache_control(), "max-age=300");
  EXPECT_EQ(r.expires(), "Thu, 02 May 2024 12:00:00 GMT");
  EXPECT_EQ(r.effective_url(), server_.Url("/feed.xml"));
  EXPECT_EQ(r.redirects(), 0u);
  EXPECT_EQ(r.fetcher_id(), "fetcher-under-test");
  EXPECT_EQ(r.job().job_id(), 100u);
  EXPECT_EQ(r.job().feed_id(), 7u);
  EXPECT_GT(r.fetched_at_ms(), 1'600'000'000'000);
  EXPECT_TRUE(r.error().empty());
}

TEST_F(HttpClientTest, GzipResponseIsDecompressed) {
  const FetchCompletion done = Fetch("/gzip.xml");
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_OK) << done.result.error();
  EXPECT_EQ(done.body, kFeedBody);
  EXPECT_EQ(done.result.body_bytes(), std::string(kFeedBody).size());
  EXPECT_NE(server_.last_accept_encoding().find("gzip"), std::string::npos);
}

TEST_F(HttpClientTest, MatchingEtagGivesNotModified) {
  const FetchCompletion done =
      Fetch("/feed.xml", [](v1::FetchJob& job) { job.set_etag(kFeedEtag); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_NOT_MODIFIED) << done.result.error();
  EXPECT_EQ(done.result.http_status(), 304);
  EXPECT_TRUE(done.body.empty());
}

TEST_F(HttpClientTest, MatchingLastModifiedGivesNotModified) {
  const FetchCompletion done =
      Fetch("/feed.xml", [](v1::FetchJob& job) { job.set_last_modified(kFeedLastModified); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_NOT_MODIFIED) << done.result.error();
}

TEST_F(HttpClientTest, StaleEtagGetsTheFullBody) {
  const FetchCompletion done =
      Fetch("/feed.xml", [](v1::FetchJob& job) { job.set_etag("\"old\""); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(done.body, kFeedBody);
}

TEST_F(HttpClientTest, SameBodyAgainIsNotModifiedWithoutItsBody) {
  // /body sends no validators: only the body's digest can tell that nothing changed.
  const FetchCompletion first = Fetch("/body?size=5000");
  ASSERT_EQ(first.result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(first.body.size(), 5000u);
  const std::string digest = first.result.body_digest();
  ASSERT_FALSE(digest.empty());

  const FetchCompletion again =
      Fetch("/body?size=5000", [&](v1::FetchJob& job) { job.set_body_digest(digest); });
  EXPECT_EQ(again.result.outcome(), v1::OUTCOME_NOT_MODIFIED);
  EXPECT_EQ(again.result.http_status(), 200);
  EXPECT_TRUE(again.body.empty()) << "an unchanged body is not passed on";
  EXPECT_EQ(again.result.body_digest(), digest);

  // Another body (here one byte longer) is passed on, with its own digest.
  const FetchCompletion changed =
      Fetch("/body?size=5001", [&](v1::FetchJob& job) { job.set_body_digest(digest); });
  EXPECT_EQ(changed.result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(changed.body.size(), 5001u);
  EXPECT_NE(changed.result.body_digest(), digest);
  // The digest is of the decompressed body, and the same length with other bytes differs.
  const FetchCompletion plain = Fetch("/feed.xml");
  const FetchCompletion gzipped = Fetch("/gzip.xml");
  EXPECT_EQ(plain.result.body_digest(), gzipped.result.body_digest());
  const FetchCompletion same_length =
      Fetch("/body?size=" + std::to_string(std::string(kFeedBody).size()));
  ASSERT_EQ(same_length.body.size(), plain.body.size());
  EXPECT_NE(same_length.result.body_digest(), plain.result.body_digest());
}

TEST_F(HttpClientTest, ValidatorWithLineBreakCannotInjectHeaders) {
  const FetchCompletion done =
      Fetch("/feed.xml", [](v1::FetchJob& job) { job.set_etag("\"x\"\r\nX-Injected: 1"); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_OK) << done.result.error();
}

TEST_F(HttpClientTest, ClientAndServerErrorsAreHttpErrors) {
  const FetchCompletion missing = Fetch("/status/404");
  EXPECT_EQ(missing.result.outcome(), v1::OUTCOME_HTTP_ERROR);
  EXPECT_EQ(missing.result.http_status(), 404);
  EXPECT_EQ(missing.result.error(), "HTTP 404: Not Found");
  EXPECT_TRUE(missing.body.empty());
  EXPECT_EQ(missing.result.body_bytes(), 0u);

  const FetchCompletion broken = Fetch("/status/500");
  EXPECT_EQ(broken.result.outcome(), v1::OUTCOME_HTTP_ERROR);
  EXPECT_EQ(broken.result.http_status(), 500);
  EXPECT_EQ(broken.result.error(), "HTTP 500: Internal Server Error");
}

TEST_F(HttpClientTest, UnavailableKeepsRetryAfter) {
  const FetchCompletion done = Fetch("/status/503");
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_HTTP_ERROR);
  EXPECT_EQ(done.result.http_status(), 503);
  EXPECT_EQ(done.result.retry_after(), "120");
}

TEST_F(HttpClientTest, RedirectIsFollowed) {
  const FetchCompletion done = Fetch("/redirect");
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_OK) << done.result.error();
  EXPECT_EQ(done.result.http_status(), 200);
  EXPECT_EQ(done.result.effective_url(), server_.Url("/feed.xml"));
  EXPECT_EQ(done.result.redirects(), 1u);
  // Headers come from the final response, not the redirect.
  EXPECT_EQ(done.result.etag(), kFeedEtag);
  EXPECT_EQ(done.body, kFeedBody);
}

TEST_F(HttpClientTest, RedirectLoopIsTooManyRedirects) {
  const FetchCompletion done = Fetch("/loop", [](v1::FetchJob& job) { job.set_max_redirects(3); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_TOO_MANY_REDIRECTS);
  EXPECT_FALSE(done.result.error().empty());
  EXPECT_TRUE(done.body.empty());
}

TEST_F(HttpClientTest, SlowResponseTimesOut) {
  const FetchCompletion done =
      Fetch("/slow?ms=5000", [](v1::FetchJob& job) { job.set_total_timeout_ms(300); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_TIMEOUT);
  EXPECT_FALSE(done.result.error().empty());
}

TEST_F(HttpClientTest, AnnouncedBodyOverLimitIsTooLarge) {
  const FetchCompletion done =
      Fetch("/body?size=2097152", [](v1::FetchJob& job) { job.set_max_body_bytes(1 << 20); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_TOO_LARGE);
  EXPECT_TRUE(done.body.empty());
  EXPECT_EQ(done.result.body_bytes(), 0u);
}

TEST_F(HttpClientTest, StreamedBodyOverLimitIsTooLarge) {
  const FetchCompletion done =
      Fetch("/chunked?size=2097152", [](v1::FetchJob& job) { job.set_max_body_bytes(1 << 20); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_TOO_LARGE);
  EXPECT_TRUE(done.body.empty());
}

TEST_F(HttpClientTest, BodyAtLimitIsAccepted) {
  const FetchCompletion done =
      Fetch("/chunked?size=1048576", [](v1::FetchJob& job) { job.set_max_body_bytes(1 << 20); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_OK) << done.result.error();
  EXPECT_EQ(done.body.size(), 1u << 20);
}

TEST_F(HttpClientTest, CompressionBombIsTooLargeAfterDecompression) {
  const FetchCompletion done =
      Fetch("/bomb", [](v1::FetchJob& job) { job.set_max_body_bytes(1 << 20); });
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_TOO_LARGE);
  EXPECT_TRUE(done.body.empty());
}

TEST_F(HttpClientTest, RefusedConnectionIsConnectError) {
  v1::FetchJob job = Job("http://127.0.0.1:" + std::to_string(test::UnusedPort()) + "/feed");
  const FetchCompletion done = FetchNow(*client_, job);
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_CONNECT_ERROR);
  EXPECT_FALSE(done.result.error().empty());
}

TEST_F(HttpClientTest, PrivateAddressIsBlockedUnlessAllowed) {
  client_ = NewClient(/*allow_private_networks=*/false);
  const FetchCompletion done = Fetch("/feed.xml");
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_BLOCKED);
  EXPECT_EQ(done.result.error(), "blocked: private address 127.0.0.1");
  EXPECT_EQ(server_.requests(), 0);
}

TEST_F(HttpClientTest, OnlyHttpSchemesAreFetched) {
  const FetchCompletion done = FetchNow(*client_, Job("file:///etc/hostname"));
  EXPECT_EQ(done.result.outcome(), v1::OUTCOME_NETWORK_ERROR);
  EXPECT_TRUE(done.body.empty());
}

TEST_F(HttpClientTest, UserAgentIsSentAndConfigurable) {
  EXPECT_EQ(Fetch("/ua").body, kDefaultUserAgent);
  client_ = NewClient(/*allow_private_networks=*/true, "custom-agent/2");
  EXPECT_EQ(Fetch("/ua").body, "custom-agent/2");
}

TEST_F(HttpClientTest, ConcurrentTransfersEachCompleteOnce) {
  std::set<uint64_t> expected;
  for (int i = 0; i < 24; ++i) {
    v1::FetchJob job = Job(server_.Url("/feed.xml?delay_ms=50"));
    // Every third job is conditional: reused handles must not carry validators to the next job.
    if (i % 3 == 0) job.set_etag(kFeedEtag);
    expected.insert(job.job_id());
    client_->Start(job);
  }
  EXPECT_EQ(client_->active(), 24u);
  std::set<uint64_t> seen;
  int not_modified = 0;
  while (seen.size() < expected.size()) {
    ASSERT_TRUE(client_->Wait({}, 1000).ok());
    for (const FetchCompletion& done : client_->Collect()) {
      EXPECT_TRUE(seen.insert(done.result.job().job_id()).second);
      const bool conditional = !done.result.job().etag().empty();
      EXPECT_EQ(done.result.outcome(), conditional ? v1::OUTCOME_NOT_MODIFIED : v1::OUTCOME_OK);
      if (conditional) ++not_modified;
    }
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(not_modified, 8);
  EXPECT_EQ(client_->active(), 0u);
  // Reused handles: a plain fetch after conditional ones gets the full body.
  EXPECT_EQ(Fetch("/feed.xml").body, kFeedBody);
}

TEST_F(HttpClientTest, ConnectionIsKeptForTheHostsNextJobUnlessTheJobWasItsLast) {
  EXPECT_EQ(Fetch("/feed.xml").result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(Fetch("/feed.xml").result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(server_.connections(), 1u) << "the second fetch reuses the first one's connection";
  // The coordinator had no other feed of this host waiting: reuse the connection, then close it.
  EXPECT_EQ(Fetch("/feed.xml", [](v1::FetchJob& job) { job.set_last_for_host(true); })
                .result.outcome(),
            v1::OUTCOME_OK);
  EXPECT_EQ(server_.connections(), 1u);
  EXPECT_EQ(Fetch("/feed.xml").result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(server_.connections(), 2u) << "the job marked last of its host left its connection open";
}

// Wait ends early for Wakeup() and for a readable extra descriptor (the fetcher passes its
// ZeroMQ sockets'), not only for transfers.
TEST_F(HttpClientTest, WaitEndsOnWakeupAndOnAnExtraDescriptor) {
  using Clock = std::chrono::steady_clock;
  constexpr int kLongMs = 20'000;
  const auto waited_ms = [](Clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
  };
  client_->Wakeup();
  Clock::time_point start = Clock::now();
  ASSERT_TRUE(client_->Wait({}, kLongMs).ok());
  EXPECT_LT(waited_ms(start), kLongMs / 2);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  start = Clock::now();
  ASSERT_TRUE(client_->Wait({fds[0]}, kLongMs).ok());
  EXPECT_LT(waited_ms(start), kLongMs / 2);
  close(fds[0]);
  close(fds[1]);
}

// A server of one connection at a time: it answers each request on it with keep-alive, and
// closes the connection when told to.
class ClosingServer {
 public:
  ClosingServer() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listener_, 4), 0);
    socklen_t length = sizeof(address);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ClosingServer() {
    stop_ = true;
    thread_.join();
    close(listener_);
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/feed.xml"; }
  void CloseConnection() { close_ = true; }
  int closed() const { return closed_.load(); }
  int accepted() const { return accepted_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      pollfd waiting{listener_, POLLIN, 0};
      if (poll(&waiting, 1, 20) <= 0) continue;
      const int connection = accept(listener_, nullptr, nullptr);
      if (connection < 0) continue;
      ++accepted_;
      std::string request;
      while (!stop_ && !close_) {
        pollfd readable{connection, POLLIN, 0};
        if (poll(&readable, 1, 20) <= 0) continue;
        char buffer[4096];
        const ssize_t n = read(connection, buffer, sizeof(buffer));
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
        if (request.find("\r\n\r\n") == std::string::npos) continue;
        request.clear();
        const std::string body = "<rss version=\"2.0\"><channel><title>t</title></channel></rss>";
        const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                                     "Connection: keep-alive\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n\r\n" + body;
        EXPECT_EQ(write(connection, response.data(), response.size()),
                  static_cast<ssize_t>(response.size()));
      }
      close(connection);
      close_ = false;
      ++closed_;
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> close_{false};
  std::atomic<int> closed_{0};
  std::atomic<int> accepted_{0};
};

// A connection kept for the next job stays in the client's epoll set between jobs. When its
// server closes it meanwhile, the client is woken once, not at every wait after; and the next job
// gets a new connection.
TEST_F(HttpClientTest, AKeptConnectionClosedByItsServerWakesTheClientOnce) {
  using Clock = std::chrono::steady_clock;
  ClosingServer server;
  EXPECT_EQ(FetchNow(*client_, Job(server.Url())).result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(FetchNow(*client_, Job(server.Url())).result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(server.accepted(), 1) << "the second job reused the first one's connection";
  server.CloseConnection();
  for (int i = 0; i < 100 && server.closed() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(server.closed(), 1);
  std::vector<int64_t> waited_ms;
  for (int round = 0; round < 3; ++round) {
    const Clock::time_point start = Clock::now();
    ASSERT_TRUE(client_->Wait({}, 300).ok());
    EXPECT_TRUE(client_->Collect().empty());
    waited_ms.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  }
  // Only the first wait may end early, for the closed socket.
  EXPECT_GE(waited_ms[1], 250) << "woken again by a socket no transfer uses";
  EXPECT_GE(waited_ms[2], 250) << "woken again by a socket no transfer uses";
  EXPECT_EQ(FetchNow(*client_, Job(server.Url())).result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(server.accepted(), 2);
}

TEST_F(HttpClientTest, AbortAllReturnsUnfinishedJobs) {
  client_->Start(Job(server_.Url("/hold")));
  client_->Start(Job(server_.Url("/hold")));
  ASSERT_TRUE(client_->Wait({}, 100).ok());
  client_->Collect();
  const std::vector<v1::FetchJob> jobs = client_->AbortAll();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(client_->active(), 0u);
  server_.ReleaseHeld();
}

}  // namespace
}  // namespace feedcrawl
