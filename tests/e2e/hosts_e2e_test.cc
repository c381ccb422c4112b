// The crawl across hosts: four network namespaces joined by a bridge stand in for four machines.
// "coord" runs redis-server (TCP on its own address, with a password) and the coordinator,
// "fetchers" runs two fetchers, "processors" two processors, and "web" the test feed server.
// Every socket of the crawl is bound to or aimed at those addresses; nothing listens on
// loopback, so a process that tried a local shortcut would fail. 300 generated feeds are crawled
// with --once and every stored item is compared with the generator's ground truth. The test reads
// Redis through its unix socket (file systems are shared between namespaces) and the feed server
// from inside the "web" namespace.
//
// Needs root for `ip netns`; skipped, saying why, where namespaces cannot be created.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/feed_model.h"
#include "common/redis.h"
#include "common/store.h"
#include "tests/gen/feed_generator.h"
#include "tests/support/netns.h"
#include "tests/support/status_matchers.h"
#include "tests/support/truth_check.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

using testing::NetTopology;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

constexpr size_t kFeeds = 300;
constexpr char kRedisPassword[] = "hosts-e2e-secret";
// Each namespace is a fresh network stack, so well-known ports are free there by construction.
constexpr int kRedisPort = 6379;
constexpr int kControlPort = 7301;
constexpr int kResultsInPort = 7302;
constexpr int kResultsOutPort = 7303;

std::string Bin(const std::string& name) { return std::string(FEEDCRAWL_BIN_DIR) + "/" + name; }

std::string Tail(const std::string& path, size_t max_bytes = 3000) {
  auto text = testing::ReadFile(path);
  if (!text.ok()) return "(no " + path + ")";
  if (text->size() <= max_bytes) return *text;
  return "..." + text->substr(text->size() - max_bytes);
}

class HostsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status available = NetTopology::Available();
    if (!available.ok()) {
      GTEST_SKIP() << "network namespaces cannot be created here: " << available.message();
    }
    auto topology = NetTopology::Create();
    ASSERT_OK(topology.status());
    net_ = std::move(*topology);
    for (const char* host : {"coord", "fetchers", "processors", "web"}) {
      auto address = net_->AddHost(host);
      ASSERT_OK(address.status());
    }
    coord_ip_ = net_->Address("coord");

    GenOptions options;
    options.feeds = kFeeds;
    options.items_per_feed = 8;
    options.item_bytes = 400;
    options.seed = 4242;
    auto truth = GenerateFeeds(options, www_.path());
    ASSERT_OK(truth.status());
    truth_ = std::move(*truth);

    StartFeedServer();
    StartRedis();
    if (HasFatalFailure()) return;
    auto store = Store::Open(LocalRedisUrl());
    ASSERT_OK(store.status());
    std::vector<std::string> urls;
    for (const GeneratedFeed& feed : truth_) urls.push_back(base_url_ + "/" + feed.path);
    ASSERT_OK((*store)->AddFeeds(urls, 0).status());
  }

  void TearDown() override {
    // Workers first: they outlive the coordinator in a failed run. The topology goes last.
    for (auto& worker : workers_) worker.reset();
    coordinator_.reset();
    redis_.reset();
    server_.reset();
  }

  void StartFeedServer() {
    SubprocessOptions options;
    options.capture_stdout = true;
    options.stderr_path = work_.File("server.log");
    auto server = net_->Start(
        "web", Bin("feedcrawl-testserver"),
        {"--root", www_.path(), "--bind", net_->Address("web"), "--port", "0", "--threads", "32"},
        options);
    ASSERT_OK(server.status());
    server_ = std::move(*server);
    auto line = server_->ReadLine(10'000);
    ASSERT_TRUE(line.ok()) << line.status().ToString() << "\n" << Tail(work_.File("server.log"));
    const std::string marker = "listening on ";
    ASSERT_EQ(line->rfind(marker, 0), 0u) << *line;
    base_url_ = line->substr(marker.size());
    ASSERT_EQ(base_url_.rfind("http://" + net_->Address("web") + ":", 0), 0u) << base_url_;
    server_port_ = std::stoi(base_url_.substr(base_url_.rfind(':') + 1));
  }

  // redis-server on the coordinator's address only, plus a unix socket for the test itself.
  void StartRedis() {
    const std::string config =
        "bind " + coord_ip_ + "\nport " + std::to_string(kRedisPort) + "\nunixsocket " +
        redis_dir_.File("redis.sock") + "\nunixsocketperm 700\ndir " + redis_dir_.path() +
        "\nlogfile " + redis_dir_.File("redis.log") +
        "\ndaemonize no\nappendonly no\nsave \"\"\nrequirepass " + kRedisPassword + "\n";
    ASSERT_OK(testing::WriteFile(redis_dir_.File("redis.conf"), config));
    SubprocessOptions options;
    options.stderr_path = redis_dir_.File("redis.stderr");
    auto binary = testing::FindExecutable("redis-server");
    ASSERT_OK(binary.status());
    auto redis = net_->Start("coord", *binary, {redis_dir_.File("redis.conf")}, options);
    ASSERT_OK(redis.status());
    redis_ = std::move(*redis);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    Status last = Status::Unavailable("not tried");
    while (std::chrono::steady_clock::now() < deadline && redis_->Running()) {
      auto client = RedisClient::Connect(LocalRedisUrl(), 1000);
      if (client.ok()) {
        auto pong = (*client)->Command({"PING"});
        if (pong.ok() && pong->str == "PONG") return;
        last = pong.ok() ? Status::Unavailable(pong->str) : pong.status();
      } else {
        last = client.status();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL() << "redis-server did not answer: " << last.ToString() << "\n"
           << Tail(redis_dir_.File("redis.log"));
  }

  std::string LocalRedisUrl() const {
    return "unix://" + redis_dir_.File("redis.sock") + "?password=" + kRedisPassword;
  }
  // What the roles use: TCP to the coordinator host, credentials in the URL.
  std::string RedisUrl() const {
    return "redis://:" + std::string(kRedisPassword) + "@" + coord_ip_ + ":" +
           std::to_string(kRedisPort);
  }
  std::string Endpoint(int port) const { return "tcp://" + coord_ip_ + ":" + std::to_string(port); }

  std::unique_ptr<Subprocess> StartRole(const std::string& host, const std::string& program,
                                        const std::vector<std::string>& args,
                                        const std::string& log_name) {
    SubprocessOptions options;
    options.stderr_path = work_.File(log_name);
    auto process = net_->Start(host, Bin(program), args, options);
    EXPECT_OK(process.status());
    return process.ok() ? std::move(*process) : nullptr;
  }

  std::string Logs() {
    std::string out;
    for (const char* name : {"coordinator.log", "fetcher-0.log", "fetcher-1.log", "processor-0.log",
                             "processor-1.log"}) {
      out += std::string("--- ") + name + "\n" + Tail(work_.File(name)) + "\n";
    }
    return out;
  }

  nlohmann::json ServerStats() {
    nlohmann::json stats = nlohmann::json::object();
    Status entered = net_->RunIn("web", [&] {
      httplib::Client client(net_->Address("web"), server_port_);
      client.set_connection_timeout(5);
      auto response = client.Get("/_stats");
      if (response && response->status == 200) stats = nlohmann::json::parse(response->body);
    });
    EXPECT_OK(entered);
    return stats;
  }

  std::unique_ptr<NetTopology> net_;
  std::string coord_ip_;
  TempDir www_;
  TempDir work_;
  TempDir redis_dir_;
  std::vector<GeneratedFeed> truth_;
  std::unique_ptr<Subprocess> server_;
  std::unique_ptr<Subprocess> redis_;
  std::unique_ptr<Subprocess> coordinator_;
  std::vector<std::unique_ptr<Subprocess>> workers_;
  std::string base_url_;
  int server_port_ = 0;
};

TEST_F(HostsE2eTest, CrawlAcrossNamespacesStoresEveryItemOnce) {
  coordinator_ = StartRole(
      "coord", "feedcrawl-coordinator",
      {"--redis", RedisUrl(), "--control-bind", Endpoint(kControlPort), "--results-in-bind",
       Endpoint(kResultsInPort), "--results-out-bind", Endpoint(kResultsOutPort), "--once",
       "--host-concurrency", "0", "--host-interval-ms", "0", "--fetch-timeout-ms", "10000"},
      "coordinator.log");
  ASSERT_NE(coordinator_, nullptr);
  for (int i = 0; i < 2; ++i) {
    const std::string id = std::to_string(i);
    // The feed server lives on a private address, which the guard refuses unless told.
    workers_.push_back(
        StartRole("fetchers", "feedcrawl-fetcher",
                  {"--control", Endpoint(kControlPort), "--results", Endpoint(kResultsInPort),
                   "--concurrency", "16", "--id", "fetcher-" + id, "--allow-private-networks"},
                  "fetcher-" + id + ".log"));
    workers_.push_back(
        StartRole("processors", "feedcrawl-processor",
                  {"--control", Endpoint(kControlPort), "--results", Endpoint(kResultsOutPort),
                   "--redis", RedisUrl(), "--id", "processor-" + id},
                  "processor-" + id + ".log"));
  }
  for (const auto& worker : workers_) ASSERT_NE(worker, nullptr);

  auto exit = coordinator_->Wait(240'000);
  ASSERT_TRUE(exit.ok()) << exit.status().ToString() << "\n" << Logs();
  EXPECT_TRUE(exit->Success()) << exit->ToString() << "\n" << Logs();

  // The processors reached Redis over the bridge, from their own address.
  auto redis = RedisClient::Connect(LocalRedisUrl());
  ASSERT_OK(redis.status());
  auto clients = (*redis)->Command({"CLIENT", "LIST"});
  ASSERT_OK(clients.status());
  EXPECT_NE(clients->str.find("addr=" + net_->Address("processors") + ":"), std::string::npos)
      << clients->str;

  // Workers stop cleanly on SIGTERM even with their coordinator gone.
  for (auto& worker : workers_) ASSERT_OK(worker->Signal(SIGTERM));
  for (auto& worker : workers_) {
    auto stopped = worker->Wait(30'000);
    ASSERT_TRUE(stopped.ok()) << stopped.status().ToString() << "\n" << Logs();
    EXPECT_TRUE(stopped->Success()) << stopped->ToString() << "\n" << Logs();
  }

  auto store = Store::Open(LocalRedisUrl());
  ASSERT_OK(store.status());
  auto stats = (*store)->ReadStats();
  ASSERT_OK(stats.status());
  EXPECT_EQ((*stats)["run_complete"], "1");
  EXPECT_EQ((*stats)["run_done"], std::to_string(kFeeds));
  EXPECT_EQ((*stats)["run_ok"], std::to_string(kFeeds)) << Logs();

  size_t expected_items = 0;
  for (const GeneratedFeed& feed : truth_) {
    SCOPED_TRACE(feed.path + " (" + feed.format + ")");
    auto id = (*store)->FindFeedId(base_url_ + "/" + feed.path);
    ASSERT_OK(id.status());
    ASSERT_TRUE(id->has_value());
    testing::ExpectStoredItemsMatch(**store, **id, feed.items);
    expected_items += feed.items.size();
  }
  EXPECT_EQ((*stats)["run_items_new"], std::to_string(expected_items));
  EXPECT_EQ((*stats)["items_total"], std::to_string(expected_items));

  // Every request the feed server saw came from the fetchers' host, over the bridge.
  const nlohmann::json server = ServerStats();
  ASSERT_TRUE(server.contains("peers")) << server.dump();
  EXPECT_EQ(server["peers"],
            nlohmann::json({{net_->Address("fetchers"), server["requests"].get<uint64_t>()}}))
      << server.dump();
  EXPECT_EQ(server["requests"].get<uint64_t>(), kFeeds) << server.dump();
}

// The helper itself: hosts reach each other's addresses over the bridge, extra addresses included,
// and nothing is left behind.
TEST(NetTopologyTest, HostsReachEachOtherAndAreRemovedWithTheTopology) {
  Status available = NetTopology::Available();
  if (!available.ok()) {
    GTEST_SKIP() << "network namespaces cannot be created here: " << available.message();
  }
  std::string a_ns;
  std::string b_ns;
  {
    auto net = NetTopology::Create();
    ASSERT_OK(net.status());
    auto a = (*net)->AddHost("a");
    auto b = (*net)->AddHost("b");
    ASSERT_OK(a.status());
    ASSERT_OK(b.status());
    ASSERT_OK((*net)->AddAddress("b", "203.0.113.77"));
    a_ns = (*net)->Namespace("a");
    b_ns = (*net)->Namespace("b");
    EXPECT_TRUE(std::filesystem::exists("/var/run/netns/" + a_ns));

    // A listener on b's addresses, reached from a over the bridge, by both addresses.
    TempDir www;
    ASSERT_OK(testing::WriteFile(www.File("x.xml"), "<rss/>"));
    for (const std::string& bind : {*b, std::string("203.0.113.77")}) {
      SCOPED_TRACE(bind);
      SubprocessOptions options;
      options.capture_stdout = true;
      auto server = (*net)->Start("b", Bin("feedcrawl-testserver"),
                                  {"--root", www.path(), "--bind", bind, "--port", "0"}, options);
      ASSERT_OK(server.status());
      auto line = (*server)->ReadLine(10'000);
      ASSERT_OK(line.status());
      const int port = std::stoi(line->substr(line->rfind(':') + 1));
      int status = 0;
      ASSERT_OK((*net)->RunIn("a", [&] {
        httplib::Client client(bind, port);
        client.set_connection_timeout(5);
        auto response = client.Get("/x.xml");
        status = response ? response->status : -1;
      }));
      EXPECT_EQ(status, 200);
    }
  }
  EXPECT_FALSE(std::filesystem::exists("/var/run/netns/" + a_ns));
  EXPECT_FALSE(std::filesystem::exists("/var/run/netns/" + b_ns));
}

TEST(NetTopologyTest, LeftoversOfADeadRunAreRemoved) {
  Status available = NetTopology::Available();
  if (!available.ok()) {
    GTEST_SKIP() << "network namespaces cannot be created here: " << available.message();
  }
  // A pid that has surely exited: a child we started and reaped.
  auto child = Subprocess::Start("true", {});
  ASSERT_OK(child.status());
  ASSERT_OK((*child)->Wait(10'000).status());
  const std::string stale = "fcnet-" + std::to_string((*child)->Pid()) + "-0-hub";
  auto add = Subprocess::Start("ip", {"netns", "add", stale});
  ASSERT_OK(add.status());
  auto added = (*add)->Wait(10'000);
  ASSERT_OK(added.status());
  ASSERT_TRUE(added->Success());
  ASSERT_TRUE(std::filesystem::exists("/var/run/netns/" + stale));
  NetTopology::RemoveStale();
  EXPECT_FALSE(std::filesystem::exists("/var/run/netns/" + stale));
}

}  // namespace
}  // namespace feedcrawl
