// Continuous mode and politeness through real processes: `feedcrawl run` without --once (its
// coordinator, fetcher and processor), a private redis-server and feedcrawl-testserver, whose
// /_stats counts requests by status and the most requests ever in progress at once per Host.
// Intervals are shortened to about a second with the coordinator's FEEDCRAWL_* variables, which
// the run passes on to its children.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/redis.h"
#include "common/store.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"

namespace feedcrawl {
namespace {

using testing::RedisServer;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

std::string Rss(int items) {
  std::string xml = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>";
  for (int i = 0; i < items; ++i) {
    xml += "<item><guid>item-" + std::to_string(i) + "</guid><title>Item " + std::to_string(i) +
           "</title><pubDate>Tue, 14 Nov 2023 " + std::to_string(10 + i % 10) +
           ":00:00 GMT</pubDate></item>";
  }
  return xml + "</channel></rss>";
}

class ContinuousE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SubprocessOptions options;
    options.capture_stdout = true;
    auto server = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl-testserver",
                                    {"--root", www_.path(), "--port", "0", "--threads", "16"},
                                    options);
    ASSERT_OK(server.status());
    server_ = std::move(*server);
    auto line = server_->ReadLine(10'000);
    ASSERT_OK(line.status());
    const std::string marker = "listening on ";
    ASSERT_EQ(line->rfind(marker, 0), 0u) << *line;
    base_url_ = line->substr(marker.size());  // http://127.0.0.1:PORT
    port_ = std::stoi(base_url_.substr(base_url_.rfind(':') + 1));
    ASSERT_OK(redis_.Start());
  }

  // Replaces a served file at once, so the server never sees half of it.
  void Publish(const std::string& name, const std::string& content) {
    const std::string temp = www_.path() + "/." + name + ".tmp";
    ASSERT_OK(testing::WriteFile(temp, content));
    ASSERT_EQ(std::rename(temp.c_str(), (www_.path() + "/" + name).c_str()), 0);
  }

  // own_redis: no --redis, so that the run starts its own redis-server in the data dir.
  void StartRun(const std::vector<std::string>& urls,
                std::vector<std::pair<std::string, std::string>> env, bool own_redis = false,
                const std::vector<std::string>& more_args = {}) {
    std::string list;
    for (const auto& url : urls) list += url + "\n";
    ASSERT_OK(testing::WriteFile(work_.File("feeds.txt"), list));
    SubprocessOptions options;
    options.stderr_path = work_.File("run.stderr");
    options.capture_stdout = true;
    env.insert(env.end(), {{"FEEDCRAWL_JITTER", "0"}, {"FEEDCRAWL_RELOAD_INTERVAL_MS", "1000"}});
    options.env = std::move(env);
    std::vector<std::string> args = {"run", "--data-dir", work_.File("data"), "--fetchers", "1",
                                     "--processors", "1", "--allow-private-networks",
                                     "--host-concurrency", "2", "--host-interval-ms", "0",
                                     "--fetch-timeout-ms", "5000", "--no-progress"};
    if (!own_redis) args.insert(args.end(), {"--redis", redis_.Url()});
    args.insert(args.end(), more_args.begin(), more_args.end());
    args.push_back(work_.File("feeds.txt"));
    auto run = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl", args, options);
    ASSERT_OK(run.status());
    run_ = std::move(*run);
  }

  void StopRun() {
    if (!run_) return;
    (void)run_->Signal(SIGINT);
    (void)run_->ReadAll(30'000);
    auto exit = run_->Wait(30'000);
    EXPECT_OK(exit.status());
    run_.reset();
  }

  void TearDown() override { StopRun(); }

  nlohmann::json ServerStats() {
    httplib::Client client("127.0.0.1", port_);
    auto response = client.Get("/_stats");
    if (!response || response->status != 200) return nlohmann::json::object();
    return nlohmann::json::parse(response->body);
  }

  static uint64_t Count(const nlohmann::json& stats, const std::string& status) {
    const auto& by_status = stats.value("by_status", nlohmann::json::object());
    return by_status.contains(status) ? by_status[status].get<uint64_t>() : 0;
  }

  // Polls `done` every 100 ms for up to timeout_ms.
  template <typename Predicate>
  bool WaitFor(int64_t timeout_ms, Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  }

  // A client of the redis-server a run without --redis started, once it answers (the run writes
  // its URL to DataDir::RedisUrlFile then); null after 30 s without it.
  std::unique_ptr<RedisClient> ConnectToOwnRedis() {
    std::unique_ptr<RedisClient> redis;
    WaitFor(30'000, [&] {
      StatusOr<std::string> url = testing::ReadFile(work_.File("data") + "/run/redis.url");
      if (!url.ok() || url->empty()) return false;
      StatusOr<std::unique_ptr<RedisClient>> client =
          RedisClient::Connect(url->substr(0, url->find('\n')));
      if (client.ok()) redis = std::move(*client);
      return client.ok();
    });
    return redis;
  }

  // The own server's auto-aof-rewrite-percentage and the coordinator's feeds_never_fetched, as
  // text; "?" once the server no longer answers (the run has stopped it).
  static std::string RewritePercentage(RedisClient& redis) {
    StatusOr<RedisReply> reply = redis.Command({"CONFIG", "GET", "auto-aof-rewrite-percentage"});
    if (!reply.ok() || reply->IsError() || reply->elements.size() != 2) return "?";
    return reply->elements[1].str;
  }
  static std::string NeverFetched(RedisClient& redis) {
    StatusOr<RedisReply> reply = redis.Command({"HGET", "fc:stats", "feeds_never_fetched"});
    if (!reply.ok() || reply->IsError()) return "?";
    return reply->IsNil() ? "nil" : reply->str;
  }

  // Waits until the coordinator counts one feed never fetched and the run holds its own
  // server's rewrites.
  ::testing::AssertionResult AwaitHoldWithOneNewFeed(RedisClient& redis) {
    if (WaitFor(20'000, [&] {
          return NeverFetched(redis) == "1" && RewritePercentage(redis) == "0";
        })) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << NeverFetched(redis) << " feeds never fetched, "
                                         << "percentage " << RewritePercentage(redis) << "\n"
                                         << RunLog();
  }

  // Waits for the --once run started by StartRun to end by itself; its exit code.
  int FinishOnceRun() {
    EXPECT_OK(run_->ReadAll(60'000).status());
    StatusOr<testing::ExitStatus> exit = run_->Wait(60'000);
    run_.reset();
    EXPECT_OK(exit.status());
    return exit.ok() ? exit->exit_code : -1;
  }

  std::string RunLog() {
    auto log = testing::ReadFile(work_.File("run.stderr"));
    return log.ok() ? *log : "";
  }

  TempDir www_;
  TempDir work_;
  RedisServer redis_;
  std::unique_ptr<Subprocess> server_;
  std::unique_ptr<Subprocess> run_;
  std::string base_url_;
  int port_ = 0;
};

TEST_F(ContinuousE2eTest, ChangedFeedsArePickedUpAndUnchangedOnesCostOnly304s) {
  constexpr int kFeeds = 10;
  std::vector<std::string> urls;
  for (int i = 0; i < kFeeds; ++i) {
    const std::string name = "f" + std::to_string(i) + ".xml";
    Publish(name, Rss(3));
    // Each answer takes a while, so requests to the one host overlap unless held back.
    urls.push_back(base_url_ + "/" + name + "?delay_ms=300");
  }
  StartRun(urls, {{"FEEDCRAWL_MIN_INTERVAL_MS", "1000"},
                  {"FEEDCRAWL_DEFAULT_INTERVAL_MS", "1000"},
                  {"FEEDCRAWL_MAX_INTERVAL_MS", "1500"}});
  ASSERT_TRUE(WaitFor(30'000, [&] { return Count(ServerStats(), "200") >= kFeeds; }))
      << ServerStats().dump() << RunLog();

  Publish("f0.xml", Rss(4));  // one more item
  auto store = Store::Open(redis_.Url());
  ASSERT_OK(store.status());
  auto id = (*store)->FindFeedId(urls[0]);
  ASSERT_OK(id.status());
  ASSERT_TRUE(id->has_value());
  ItemQuery query;
  query.feed_id = **id;
  EXPECT_TRUE(WaitFor(20'000, [&] {
    auto rows = (*store)->QueryItems(query);
    return rows.ok() && rows->size() == 4;
  })) << "the new item was not picked up\n" << RunLog();
  // Every feed is fetched again at least once more.
  EXPECT_TRUE(WaitFor(20'000, [&] { return Count(ServerStats(), "304") >= 2 * kFeeds; }))
      << ServerStats().dump();
  StopRun();

  const nlohmann::json stats = ServerStats();
  // Only the first fetch of each feed and the one after the change carried a body.
  EXPECT_EQ(Count(stats, "200"), static_cast<uint64_t>(kFeeds + 1)) << stats.dump();
  EXPECT_EQ(stats["requests"].get<uint64_t>(), Count(stats, "200") + Count(stats, "304"))
      << stats.dump();
  ASSERT_TRUE(stats["hosts"].is_object()) << stats.dump();
  int64_t most = 0;
  for (const auto& [host, counters] : stats["hosts"].items()) {
    most = std::max<int64_t>(most, counters["max_concurrent"].get<int64_t>());
  }
  EXPECT_GE(most, 1);
  EXPECT_LE(most, 2) << "more requests in flight on one host than --host-concurrency";

  auto feed = (*store)->GetFeed(**id);
  ASSERT_OK(feed.status());
  ASSERT_TRUE(feed->has_value());
  EXPECT_EQ((*feed)->status, "active");
  EXPECT_GE((*feed)->fetches, 3u);
  EXPECT_EQ((*feed)->consecutive_failures, 0u);
}

// Without --redis the run starts its own redis-server, and holds that server's rewrites of its
// append-only file while feeds await their first fetch: a first crawl only adds items, which a
// rewrite cannot shrink. Once every feed was fetched, the server's own rule is back.
TEST_F(ContinuousE2eTest, OwnRedisRewritesItsFileOnlyOnceEveryFeedWasFetched) {
  Publish("quick.xml", Rss(2));
  Publish("slow.xml", Rss(2));
  // The slow feed's first fetch takes 3 s.
  StartRun({base_url_ + "/quick.xml", base_url_ + "/slow.xml?delay_ms=3000"}, {},
           /*own_redis=*/true);
  std::unique_ptr<RedisClient> redis = ConnectToOwnRedis();
  ASSERT_NE(redis, nullptr) << RunLog();
  ASSERT_TRUE(AwaitHoldWithOneNewFeed(*redis));
  auto percentage = [&] { return RewritePercentage(*redis); };
  auto never_fetched = [&] { return NeverFetched(*redis); };
  ASSERT_TRUE(WaitFor(20'000, [&] { return never_fetched() == "0" && percentage() == "100"; }))
      << never_fetched() << " feeds never fetched, percentage " << percentage() << "\n"
      << RunLog();
  StopRun();
}

// An item's key is most often its URL, and many URLs are longer than the 64 bytes up to which
// Redis keeps a sorted set compact: the server a run starts keeps a feed's order set of such keys
// compact too, a listpack instead of a skiplist of ~200 bytes an item.
TEST_F(ContinuousE2eTest, OwnRedisKeepsOrderSetsOfLongKeysCompact) {
  std::string xml = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>";
  for (int i = 0; i < 5; ++i) {
    xml += "<item><guid>https://news.example.com/2023/11/14/a-story-whose-address-runs-on-" +
           std::to_string(i) + ".html?utm_source=feed&amp;utm_medium=rss</guid></item>";
  }
  Publish("long.xml", xml + "</channel></rss>");
  const std::string url = base_url_ + "/long.xml";
  StartRun({url}, {}, /*own_redis=*/true);
  std::unique_ptr<RedisClient> redis = ConnectToOwnRedis();
  ASSERT_NE(redis, nullptr) << RunLog();
  std::string order_key;
  ASSERT_TRUE(WaitFor(20'000, [&] {
    StatusOr<RedisReply> id = redis->Command({"HGET", "fc:feed:ids", url});
    if (!id.ok() || id->type != RedisReply::Type::kString) return false;
    order_key = "fc:items:" + id->str + ":order";
    StatusOr<RedisReply> stored = redis->Command({"ZCARD", order_key});
    return stored.ok() && stored->integer == 5;
  })) << RunLog();
  // Every key is longer than Redis's default limit, the first among them.
  StatusOr<RedisReply> first = redis->Command({"ZRANGE", order_key, "0", "0"});
  ASSERT_OK(first.status());
  ASSERT_EQ(first->elements.size(), 1u);
  EXPECT_GT(first->elements[0].str.size(), 64u);
  StatusOr<RedisReply> encoding = redis->Command({"OBJECT", "ENCODING", order_key});
  ASSERT_OK(encoding.status());
  EXPECT_EQ(encoding->str, "listpack");
  StopRun();
}

// A --once run keeps its hold to its end: once its last new feed is fetched, feeds crawled by an
// earlier run may still be in flight, and a rewrite let go then would only be cut short by the
// stop. The second run here has a new feed fetched after 1 s and a known one that takes 4 s.
TEST_F(ContinuousE2eTest, OwnRedisOnceRunHoldsRewritesToItsEnd) {
  Publish("known.xml", Rss(2));
  Publish("new.xml", Rss(2));
  const std::string known = base_url_ + "/known.xml?delay_ms=4000";
  StartRun({known}, {}, /*own_redis=*/true, {"--once"});
  ASSERT_EQ(FinishOnceRun(), 0) << RunLog();

  StartRun({known, base_url_ + "/new.xml?delay_ms=1000"}, {}, /*own_redis=*/true, {"--once"});
  std::unique_ptr<RedisClient> redis = ConnectToOwnRedis();
  ASSERT_NE(redis, nullptr) << RunLog();
  ASSERT_TRUE(AwaitHoldWithOneNewFeed(*redis));
  auto percentage = [&] { return RewritePercentage(*redis); };
  auto never_fetched = [&] { return NeverFetched(*redis); };
  // Until the run stops its server: every feed fetched at least once while the known one is
  // still in flight, and the hold kept all along.
  bool all_fetched_seen = false;
  std::string released;
  while (true) {
    const std::string never = never_fetched();
    const std::string held = percentage();
    if (never == "?" || held == "?") break;
    if (never == "0" && held == "0") all_fetched_seen = true;
    if (held != "0") released = held;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(all_fetched_seen) << "the run ended before the known feed's fetch\n" << RunLog();
  EXPECT_EQ(released, "") << "the hold was let go before the end of the run\n" << RunLog();
  EXPECT_EQ(FinishOnceRun(), 0) << RunLog();
}

// A --once run that ends while its own server rewrites the append-only file waits for the
// rewrite before it stops the server: cut short, the rewrite would begin again at every start.
TEST_F(ContinuousE2eTest, OwnRedisFinishesItsRewriteBeforeTheRunStopsIt) {
  Publish("slow.xml", Rss(2));
  StartRun({base_url_ + "/slow.xml?delay_ms=2000"}, {}, /*own_redis=*/true, {"--once"});
  std::unique_ptr<RedisClient> redis = ConnectToOwnRedis();
  ASSERT_NE(redis, nullptr) << RunLog();
  // A rewrite that outlasts the crawl: Redis's test setting slows its writing to 0.4 s a key.
  ASSERT_OK(redis->Command({"CONFIG", "SET", "rdb-key-save-delay", "400000"}).status());
  ASSERT_TRUE(WaitFor(10'000, [&] {
    StatusOr<RedisReply> keys = redis->Command({"DBSIZE"});
    return keys.ok() && keys->integer >= 8;  // the feed, its schedule, the run, the stats...
  }));
  StatusOr<RedisReply> started = redis->Command({"BGREWRITEAOF"});
  ASSERT_OK(started.status());
  ASSERT_FALSE(started->IsError()) << started->str;
  EXPECT_EQ(FinishOnceRun(), 0) << RunLog();
  EXPECT_NE(RunLog().find("Waiting for redis-server to finish rewriting"), std::string::npos)
      << RunLog();
  StatusOr<std::string> log = testing::ReadFile(work_.File("data") + "/logs/redis.log");
  ASSERT_OK(log.status());
  EXPECT_NE(log->find("Background AOF rewrite finished successfully"), std::string::npos) << *log;
  EXPECT_EQ(log->find("Killing running AOF rewrite child"), std::string::npos) << *log;
}

TEST_F(ContinuousE2eTest, RetryAfterPausesTheWholeHost) {
  // Every feed of this host answers 429 with Retry-After: 2. Retries alone would come every
  // 200 ms; the host pause allows at most two requests (the host concurrency) per 2 s window.
  std::vector<std::string> urls;
  for (int i = 0; i < 4; ++i) {
    const std::string name = "busy" + std::to_string(i) + ".xml";
    Publish(name, Rss(1));
    urls.push_back(base_url_ + "/" + name + "?status=429&retry_after=2");
  }
  const auto started = std::chrono::steady_clock::now();
  StartRun(urls, {{"FEEDCRAWL_MIN_INTERVAL_MS", "200"},
                  {"FEEDCRAWL_RETRY_BASE_MS", "200"},
                  {"FEEDCRAWL_MAX_BACKOFF_MS", "200"}});
  ASSERT_TRUE(WaitFor(30'000, [&] { return Count(ServerStats(), "429") >= 1; })) << RunLog();
  std::this_thread::sleep_for(std::chrono::milliseconds(5'000));
  const nlohmann::json stats = ServerStats();
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  StopRun();
  const uint64_t requests = Count(stats, "429");
  EXPECT_GE(requests, 2u) << stats.dump();
  // One window at the start plus one per 2 s that passed since.
  const uint64_t allowed = 2 * (static_cast<uint64_t>(elapsed_s / 2.0) + 1);
  EXPECT_LE(requests, allowed) << stats.dump() << " after " << elapsed_s << " s";

  auto store = Store::Open(redis_.Url());
  ASSERT_OK(store.status());
  auto id = (*store)->FindFeedId(urls[0]);
  ASSERT_OK(id.status());
  ASSERT_TRUE(id->has_value());
  auto feed = (*store)->GetFeed(**id);
  ASSERT_OK(feed.status());
  ASSERT_TRUE(feed->has_value());
  EXPECT_EQ((*feed)->last_status, 429);
  EXPECT_GE((*feed)->transient_failures, 1u);
  EXPECT_EQ((*feed)->permanent_failures, 0u);
}

}  // namespace
}  // namespace feedcrawl
