// The SSRF guard through real processes, with a feed server the guard counts as public. Three
// network namespaces: "web" owns 203.0.113.10 (documentation space, which no special-purpose range
// covers, so the guard lets it through; it exists only inside this private topology), "fetch" runs
// the fetcher and, on its own loopback, a second feed server that counts requests, and "coord"
// runs redis-server, the coordinator and a processor. A feed on the public-looking address
// redirects to http://127.0.0.1:<port>/: a fetcher without --allow-private-networks must record it
// as blocked and never reach the loopback server, while the same fetcher fetches a plain feed on
// that address. A second crawl with --allow-private-networks follows the same redirect into the
// loopback server, which shows that its zero above was the guard's doing.
//
// Needs root for `ip netns`; skipped, saying why, where namespaces cannot be created.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/redis.h"
#include "common/store.h"
#include "tests/support/netns.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

using testing::NetTopology;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

constexpr char kPublicIp[] = "203.0.113.10";
constexpr char kRedisPassword[] = "ssrf-netns-secret";
// Each namespace is a fresh network stack, so fixed ports are free there by construction.
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

std::string Rss(const std::string& title) {
  return "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>" + title +
         "</title><item><guid>" + title + "-1</guid><title>" + title +
         " item</title></item></channel></rss>";
}

// A feed server inside a host; `url` is what it printed, "http://IP:PORT".
struct Server {
  std::unique_ptr<Subprocess> process;
  std::string host;
  std::string url;
  std::string ip;
  int port = 0;
};

class SsrfNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status available = NetTopology::Available();
    if (!available.ok()) {
      GTEST_SKIP() << "network namespaces cannot be created here: " << available.message();
    }
    auto topology = NetTopology::Create();
    ASSERT_OK(topology.status());
    net_ = std::move(*topology);
    for (const char* host : {"coord", "fetch", "web"}) ASSERT_OK(net_->AddHost(host).status());
    ASSERT_OK(net_->AddAddress("web", kPublicIp));
    coord_ip_ = net_->Address("coord");

    ASSERT_OK(testing::WriteFile(inner_www_.File("target.xml"), Rss("internal")));
    StartServer("fetch", "127.0.0.1", inner_www_, "", "inner.log", &inner_);
    if (HasFatalFailure()) return;

    ASSERT_OK(testing::WriteFile(public_www_.File("plain.xml"), Rss("public")));
    ASSERT_OK(testing::WriteFile(public_www_.File("hop.xml"), Rss("never served")));
    const nlohmann::json faults = {
        {"/hop.xml", {{"redirect", inner_.url + "/target.xml"}, {"redirect_status", 302}}}};
    ASSERT_OK(testing::WriteFile(work_.File("faults.json"), faults.dump()));
    StartServer("web", kPublicIp, public_www_, work_.File("faults.json"), "public.log", &public_);
    if (HasFatalFailure()) return;
    StartRedis();
  }

  void TearDown() override {
    for (auto& process : roles_) process.reset();
    redis_.reset();
    public_.process.reset();
    inner_.process.reset();
  }

  void StartServer(const std::string& host, const std::string& bind, const TempDir& root,
                   const std::string& faults, const std::string& log, Server* server) {
    SubprocessOptions options;
    options.capture_stdout = true;
    options.stderr_path = work_.File(log);
    std::vector<std::string> args = {"--root", root.path(), "--bind", bind, "--port", "0"};
    if (!faults.empty()) args.insert(args.end(), {"--faults", faults});
    auto process = net_->Start(host, Bin("feedcrawl-testserver"), args, options);
    ASSERT_OK(process.status());
    server->process = std::move(*process);
    auto line = server->process->ReadLine(10'000);
    ASSERT_TRUE(line.ok()) << line.status().ToString() << "\n" << Tail(work_.File(log));
    const std::string marker = "listening on ";
    ASSERT_EQ(line->rfind(marker, 0), 0u) << *line;
    server->url = line->substr(marker.size());
    server->ip = bind;
    server->port = std::stoi(server->url.substr(server->url.rfind(':') + 1));
    server->host = host;
  }

  void StartRedis() {
    const std::string config =
        "bind " + coord_ip_ + "\nport " + std::to_string(kRedisPort) + "\nunixsocket " +
        redis_dir_.File("redis.sock") + "\nunixsocketperm 700\ndir " + redis_dir_.path() +
        "\nlogfile " + redis_dir_.File("redis.log") +
        "\ndaemonize no\nappendonly no\nsave \"\"\nrequirepass " + kRedisPassword + "\n";
    ASSERT_OK(testing::WriteFile(redis_dir_.File("redis.conf"), config));
    auto binary = testing::FindExecutable("redis-server");
    ASSERT_OK(binary.status());
    SubprocessOptions options;
    options.stderr_path = redis_dir_.File("redis.stderr");
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
  std::string RedisUrl() const {
    return "redis://:" + std::string(kRedisPassword) + "@" + coord_ip_ + ":" +
           std::to_string(kRedisPort);
  }
  std::string Endpoint(int port) const { return "tcp://" + coord_ip_ + ":" + std::to_string(port); }

  std::unique_ptr<Subprocess> StartRole(const std::string& host, const std::string& program,
                                        const std::vector<std::string>& args,
                                        const std::string& log) {
    SubprocessOptions options;
    options.stderr_path = work_.File(log);
    auto process = net_->Start(host, Bin(program), args, options);
    EXPECT_OK(process.status());
    return process.ok() ? std::move(*process) : nullptr;
  }

  std::string Logs(const std::string& run) {
    std::string out;
    for (const char* role : {"coordinator", "fetcher", "processor"}) {
      const std::string name = run + "-" + role + ".log";
      out += "--- " + name + "\n" + Tail(work_.File(name)) + "\n";
    }
    return out;
  }

  // Crawls `urls` once under key prefix `prefix` with one fetcher in "fetch" and a coordinator
  // and processor in "coord"; returns the feed records by URL.
  std::map<std::string, FeedRecord> Crawl(const std::string& prefix,
                                          const std::vector<std::string>& urls,
                                          bool allow_private) {
    std::map<std::string, FeedRecord> records;
    auto store = Store::Open(LocalRedisUrl(), prefix);
    EXPECT_OK(store.status());
    if (!store.ok()) return records;
    EXPECT_OK((*store)->AddFeeds(urls, 0).status());
    const std::string run = prefix.substr(0, prefix.size() - 1);
    roles_.clear();
    auto coordinator =
        StartRole("coord", "feedcrawl-coordinator",
                  {"--redis", RedisUrl(), "--prefix", prefix, "--control-bind",
                   Endpoint(kControlPort), "--results-in-bind", Endpoint(kResultsInPort),
                   "--results-out-bind", Endpoint(kResultsOutPort), "--once", "--host-concurrency",
                   "0", "--host-interval-ms", "0", "--fetch-timeout-ms", "10000"},
                  run + "-coordinator.log");
    std::vector<std::string> fetcher_args = {"--control", Endpoint(kControlPort),
                                             "--results", Endpoint(kResultsInPort),
                                             "--id",      run + "-fetcher"};
    if (allow_private) fetcher_args.push_back("--allow-private-networks");
    roles_.push_back(StartRole("fetch", "feedcrawl-fetcher", fetcher_args, run + "-fetcher.log"));
    roles_.push_back(
        StartRole("coord", "feedcrawl-processor",
                  {"--control", Endpoint(kControlPort), "--results", Endpoint(kResultsOutPort),
                   "--redis", RedisUrl(), "--prefix", prefix, "--id", run + "-processor"},
                  run + "-processor.log"));
    if (coordinator == nullptr || roles_[0] == nullptr || roles_[1] == nullptr) return records;

    auto exit = coordinator->Wait(120'000);
    EXPECT_TRUE(exit.ok() && exit->Success()) << (exit.ok() ? exit->ToString() : "") << "\n"
                                              << Logs(run);
    for (auto& role : roles_) EXPECT_OK(role->Signal(SIGTERM));
    for (auto& role : roles_) {
      auto stopped = role->Wait(30'000);
      EXPECT_TRUE(stopped.ok() && stopped->Success()) << Logs(run);
    }
    roles_.clear();

    auto stats = (*store)->ReadStats();
    EXPECT_OK(stats.status());
    if (stats.ok()) {
      EXPECT_EQ((*stats)["run_complete"], "1") << Logs(run);
    }
    for (const std::string& url : urls) {
      auto id = (*store)->FindFeedId(url);
      EXPECT_OK(id.status());
      if (!id.ok() || !id->has_value()) continue;
      auto feed = (*store)->GetFeed(**id);
      EXPECT_OK(feed.status());
      if (feed.ok() && feed->has_value()) records[url] = **feed;
    }
    return records;
  }

  size_t StoredItems(const std::string& prefix, const FeedRecord& feed) {
    auto store = Store::Open(LocalRedisUrl(), prefix);
    EXPECT_OK(store.status());
    if (!store.ok()) return 0;
    ItemQuery query;
    query.feed_id = feed.id;
    auto rows = (*store)->QueryItems(query);
    EXPECT_OK(rows.status());
    return rows.ok() ? rows->size() : 0;
  }

  // The server's /_stats, read from inside its own host (the loopback one is reachable only there).
  nlohmann::json Stats(const Server& server) {
    nlohmann::json stats = nlohmann::json::object();
    EXPECT_OK(net_->RunIn(server.host, [&] {
      httplib::Client client(server.ip, server.port);
      client.set_connection_timeout(5);
      auto response = client.Get("/_stats");
      if (response && response->status == 200) stats = nlohmann::json::parse(response->body);
    }));
    return stats;
  }

  static uint64_t PathCount(const nlohmann::json& stats, const std::string& path) {
    const auto& by_path = stats.value("by_path", nlohmann::json::object());
    return by_path.contains(path) ? by_path[path].get<uint64_t>() : 0;
  }

  std::unique_ptr<NetTopology> net_;
  std::string coord_ip_;
  TempDir work_;
  TempDir redis_dir_;
  TempDir public_www_;
  TempDir inner_www_;
  Server public_;
  Server inner_;
  std::unique_ptr<Subprocess> redis_;
  std::vector<std::unique_ptr<Subprocess>> roles_;
};

TEST_F(SsrfNetnsTest, RedirectToLoopbackIsBlockedAndNeverReachesIt) {
  const std::string plain = public_.url + "/plain.xml";
  const std::string hop = public_.url + "/hop.xml";
  auto records = Crawl("guarded:", {plain, hop}, /*allow_private=*/false);
  ASSERT_EQ(records.size(), 2u);

  // The first hop is public: fetched and stored by the very fetcher that refuses the redirect.
  const FeedRecord& ok = records[plain];
  EXPECT_EQ(ok.last_outcome, "ok") << ok.last_error;
  EXPECT_EQ(ok.last_status, 200);
  EXPECT_EQ(StoredItems("guarded:", ok), 1u);

  const FeedRecord& blocked = records[hop];
  EXPECT_EQ(blocked.last_outcome, "blocked");
  EXPECT_NE(blocked.last_error.find("blocked"), std::string::npos) << blocked.last_error;
  EXPECT_NE(blocked.last_error.find("127.0.0.1"), std::string::npos) << blocked.last_error;
  EXPECT_EQ(StoredItems("guarded:", blocked), 0u);

  // The public server answered both feeds, to the fetcher's address.
  const nlohmann::json outside = Stats(public_);
  EXPECT_EQ(PathCount(outside, "/plain.xml"), 1u) << outside.dump();
  EXPECT_EQ(PathCount(outside, "/hop.xml"), 1u) << outside.dump();
  EXPECT_EQ(outside["peers"], nlohmann::json({{net_->Address("fetch"), 2}})) << outside.dump();
  // The loopback server was never asked for anything.
  const nlohmann::json inside = Stats(inner_);
  EXPECT_EQ(inside.value("requests", uint64_t{99}), 0u) << inside.dump();

  // Control: allowed to, the fetcher follows the same redirect into the loopback server.
  auto allowed = Crawl("allowed:", {hop}, /*allow_private=*/true);
  ASSERT_EQ(allowed.size(), 1u);
  EXPECT_EQ(allowed[hop].last_outcome, "ok") << allowed[hop].last_error;
  EXPECT_EQ(StoredItems("allowed:", allowed[hop]), 1u);
  const nlohmann::json reached = Stats(inner_);
  EXPECT_EQ(PathCount(reached, "/target.xml"), 1u) << reached.dump();
  EXPECT_EQ(reached["peers"], nlohmann::json({{"127.0.0.1", 1}})) << reached.dump();
}

}  // namespace
}  // namespace feedcrawl
