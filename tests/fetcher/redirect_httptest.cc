// The fetcher's redirect report against feedcrawl-testserver: whether every hop was permanent
// (301/308), which lets the scheduler move a feed, and where the chain ended.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "fetcher/http_client.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

namespace v1 = feedcrawl::v1;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

class RedirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(testing::WriteFile(www_.path() + "/feed.xml",
                                 "<rss version=\"2.0\"><channel><title>t</title></channel></rss>"));
    SubprocessOptions options;
    options.capture_stdout = true;
    auto server = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl-testserver",
                                    {"--root", www_.path(), "--port", "0"}, options);
    ASSERT_OK(server.status());
    server_ = std::move(*server);
    auto line = server_->ReadLine(10'000);
    ASSERT_OK(line.status());
    const std::string marker = "listening on ";
    ASSERT_EQ(line->rfind(marker, 0), 0u) << *line;
    base_url_ = line->substr(marker.size());
    HttpClientOptions client_options;
    client_options.allow_private_networks = true;
    auto client = NewCurlHttpClient(client_options, clock_);
    ASSERT_OK(client.status());
    client_ = std::move(*client);
  }

  v1::FetchResult Fetch(const std::string& path_and_query) {
    v1::FetchJob job;
    job.set_job_id(1);
    job.set_url(base_url_ + path_and_query);
    return FetchNow(*client_, job).result;
  }

  TempDir www_;
  std::unique_ptr<Subprocess> server_;
  std::string base_url_;
  FakeClock clock_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(RedirectTest, MovedPermanentlyAndPermanentRedirectArePermanent) {
  for (const char* status : {"301", "308"}) {
    SCOPED_TRACE(status);
    auto result = Fetch(std::string("/old.xml?redirect=/feed.xml&redirect_status=") + status);
    EXPECT_EQ(result.outcome(), v1::OUTCOME_OK) << result.error();
    EXPECT_EQ(result.redirects(), 1u);
    EXPECT_TRUE(result.permanent_redirect());
    EXPECT_EQ(result.effective_url(), base_url_ + "/feed.xml");
  }
}

TEST_F(RedirectTest, TemporaryRedirectsAreNot) {
  for (const char* status : {"302", "303", "307"}) {
    SCOPED_TRACE(status);
    auto result = Fetch(std::string("/old.xml?redirect=/feed.xml&redirect_status=") + status);
    EXPECT_EQ(result.outcome(), v1::OUTCOME_OK) << result.error();
    EXPECT_EQ(result.redirects(), 1u);
    EXPECT_FALSE(result.permanent_redirect());
  }
}

TEST_F(RedirectTest, ChainWithOneTemporaryHopIsNotPermanent) {
  // 301 to a URL that answers 302 to the feed.
  auto result = Fetch(
      "/old.xml?redirect=%2Fmid.xml%3Fredirect%3D%252Ffeed.xml%26redirect_status%3D302"
      "&redirect_status=301");
  ASSERT_EQ(result.outcome(), v1::OUTCOME_OK) << result.error();
  ASSERT_EQ(result.redirects(), 2u) << result.effective_url();
  EXPECT_FALSE(result.permanent_redirect());
}

TEST_F(RedirectTest, NoRedirectIsNotPermanent) {
  auto result = Fetch("/feed.xml");
  EXPECT_EQ(result.outcome(), v1::OUTCOME_OK) << result.error();
  EXPECT_EQ(result.redirects(), 0u);
  EXPECT_FALSE(result.permanent_redirect());
}

}  // namespace
}  // namespace feedcrawl
