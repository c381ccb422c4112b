// The deployment of docker-compose.yml, run as local processes (ComposePlan): Redis with a
// password, the import job, the coordinator, 2 fetchers, 2 processors and the demo profile's
// test feed server, with the commands and environment the compose file gives them. While they
// crawl the demo feeds, the test reads P stats and checks the numbers agree with each other;
// afterwards it checks the totals against the feeds, the item stream, the metrics endpoints,
// `feedcrawl status`, and that a killed worker's hash disappears within its TTL. The CURVE keys
// the compose file mounts as secrets are made by deploy/make-curve-keys.sh, so all of this runs
// encrypted, with the coordinator admitting the compose workers' key.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "common/store.h"
#include "tests/compose/compose_plan.h"
#include "tests/support/item_stream.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"

namespace feedcrawl {
namespace {

using testing::ComposePlan;
using testing::LocalProcess;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

constexpr int64_t kWorkerTtlMs = 3000;
constexpr char kPassword[] = "compose-test-secret";

int64_t Field(const std::map<std::string, std::string>& stats, const std::string& name) {
  auto it = stats.find(name);
  return it == stats.end() ? 0 : std::stoll(it->second);
}

std::string HostName() {
  char name[256] = {0};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// The body of GET http://127.0.0.1:port/metrics, or the error.
std::string Scrape(const std::string& port) {
  httplib::Client client("127.0.0.1", std::stoi(port));
  client.set_connection_timeout(5);
  auto response = client.Get("/metrics");
  if (!response) return "no answer: " + httplib::to_string(response.error());
  return response->body;
}

class ComposeCrawlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::FindExecutable("docker-compose").ok()) {
      GTEST_SKIP() << "docker-compose is not installed (scripts/setup installs it)";
    }
    const std::string root = FEEDCRAWL_SOURCE_DIR;
    ASSERT_NO_FATAL_FAILURE(MakeCurveKeys(root));
    auto plan = ComposePlan::Load(
        root + "/docker-compose.yml", {"demo"},
        {{"FEEDCRAWL_REDIS_PASSWORD", kPassword},
         {"FEEDCRAWL_FEEDS_FILE", root + "/deploy/demo-feeds.txt"},
         {"FEEDCRAWL_ALLOW_PRIVATE_NETWORKS", "true"},
         {"FEEDCRAWL_WORKER_TTL_MS", std::to_string(kWorkerTtlMs)},
         {"FEEDCRAWL_FETCH_TIMEOUT_MS", "5000"},
         {"FEEDCRAWL_RELOAD_INTERVAL_MS", "1000"},
         {"FEEDCRAWL_SECRETS_DIR", scratch_.File("secrets")}},
        scratch_.path());
    ASSERT_OK(plan.status());
    plan_ = std::make_unique<ComposePlan>(std::move(*plan));
  }

  // The deployment's key-making script, run as an operator would, into the scratch folder.
  void MakeCurveKeys(const std::string& root) {
    SubprocessOptions options;
    options.capture_stdout = true;
    options.env = {{"FEEDCRAWL_BIN", std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl"}};
    options.stderr_path = scratch_.File("make-curve-keys.log");
    auto script = Subprocess::Start("sh", {root + "/deploy/make-curve-keys.sh",
                                           scratch_.File("secrets")}, options);
    ASSERT_OK(script.status());
    auto output = (*script)->ReadAll(30'000);
    auto exit = (*script)->Wait(10'000);
    ASSERT_OK(exit.status());
    auto log = testing::ReadFile(scratch_.File("make-curve-keys.log"));
    ASSERT_TRUE(exit->Success()) << (output.ok() ? *output : "") << "\n"
                                 << (log.ok() ? *log : "");
  }

  // Starts instance n of a service; its log goes to a file in the scratch folder.
  Subprocess* Start(const std::string& service, int n, bool replicated,
                    bool capture_stdout = false) {
    auto local = plan_->Localize(service, n, replicated, FEEDCRAWL_BIN_DIR);
    EXPECT_OK(local.status());
    if (!local.ok()) return nullptr;
    SubprocessOptions options;
    options.env = local->env;
    // Only the compose file's variables: none from the environment running the test.
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      if (entry.rfind("FEEDCRAWL_", 0) == 0) {
        options.unset_env.push_back(entry.substr(0, entry.find('=')));
      }
    }
    options.capture_stdout = capture_stdout;
    options.stderr_path = scratch_.File(service + "-" + std::to_string(n) + ".log");
    auto process = Subprocess::Start(local->program, local->args, options);
    EXPECT_OK(process.status());
    if (!process.ok()) return nullptr;
    for (const auto& [key, value] : local->env) {
      if (key == "FEEDCRAWL_METRICS_PORT") metrics_ports_[(*process)->Pid()] = value;
    }
    processes_[service + "-" + std::to_string(n)] = std::move(*process);
    return processes_[service + "-" + std::to_string(n)].get();
  }

  // The last lines of every role's log, for failure messages.
  std::string Logs() {
    std::string out;
    for (const auto& [name, process] : processes_) {
      if (name.rfind("redis", 0) == 0) continue;
      auto text = testing::ReadFile(scratch_.File(name + ".log"));
      if (!text.ok()) continue;
      const size_t start = text->size() > 3000 ? text->size() - 3000 : 0;
      out += "==== " + name + " ====\n" + text->substr(start) + "\n";
    }
    return out;
  }

  std::string RedisUrl() {
    return plan_->Rewrite(plan_->services().at("coordinator").environment.at("FEEDCRAWL_REDIS"));
  }

  TempDir scratch_;
  std::unique_ptr<ComposePlan> plan_;
  std::map<std::string, std::unique_ptr<Subprocess>> processes_;
  std::map<pid_t, std::string> metrics_ports_;
};

TEST_F(ComposeCrawlTest, CrawlsTheDemoWithConsistentNumbers) {
  const auto& services = plan_->services();
  for (const char* name : {"redis", "import", "coordinator", "fetcher", "processor", "testserver"}) {
    ASSERT_TRUE(services.count(name)) << name;
  }
  ASSERT_NE(Start("redis", 0, false), nullptr);
  std::unique_ptr<Store> store;
  for (int i = 0; i < 100 && !store; ++i) {
    auto opened = Store::Open(RedisUrl());
    if (opened.ok()) {
      store = std::move(*opened);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(store) << "redis did not come up with the compose file's password";
  // The password is required: the same address without it is refused.
  auto anonymous = Store::Open("redis://" + *plan_->Address("redis", "6379"));
  if (anonymous.ok()) {
    EXPECT_FALSE((*anonymous)->ReadStats().ok());
  }

  Subprocess* server = Start("testserver", 0, false, /*capture_stdout=*/true);
  ASSERT_NE(server, nullptr);
  auto listening = server->ReadLine(10'000);
  ASSERT_OK(listening.status());
  ASSERT_NE(listening->find("listening on"), std::string::npos) << *listening;

  Subprocess* import = Start("import", 0, false);
  ASSERT_NE(import, nullptr);
  auto imported = import->Wait(30'000);
  ASSERT_OK(imported.status());
  ASSERT_TRUE(imported->Success()) << imported->ToString();
  auto feeds = store->LoadFeeds();
  ASSERT_OK(feeds.status());
  ASSERT_GE(feeds->size(), 20u);

  ASSERT_NE(Start("coordinator", 0, false), nullptr);
  Subprocess* processors[2] = {Start("processor", 0, true), Start("processor", 1, true)};
  Subprocess* fetchers[2] = {Start("fetcher", 0, true), Start("fetcher", 1, true)};
  for (Subprocess* p : processors) ASSERT_NE(p, nullptr);
  for (Subprocess* p : fetchers) ASSERT_NE(p, nullptr);

  // Crawl until every feed has been reported once, checking every sample of the numbers.
  size_t samples = 0;
  bool all_fetched = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!all_fetched && std::chrono::steady_clock::now() < deadline) {
    auto stats = store->ReadStats();
    ASSERT_OK(stats.status());
    if (!stats->empty()) {
      ++samples;
      const auto& s = *stats;
      SCOPED_TRACE(::testing::Message() << "sample " << samples);
      EXPECT_LE(Field(s, "credit_total"), Field(s, "capacity_total"));
      EXPECT_LE(Field(s, "fetching"), Field(s, "capacity_total"));
      EXPECT_EQ(Field(s, "in_flight"), Field(s, "fetching") + Field(s, "backlog_results"));
      EXPECT_LE(Field(s, "in_flight"), Field(s, "feeds_total"));
      EXPECT_EQ(Field(s, "due_now"), Field(s, "dispatchable") + Field(s, "waiting_host"));
      EXPECT_EQ(Field(s, "fetches_total"),
                Field(s, "ok_total") + Field(s, "not_modified_total") + Field(s, "errors_total"));
      EXPECT_EQ(Field(s, "run_done"),
                Field(s, "run_ok") + Field(s, "run_not_modified") + Field(s, "run_failed"));
      int64_t by_class = 0;
      for (const auto& [name, value] : s) {
        if (name.rfind("errors_", 0) == 0 && name != "errors_total" &&
            name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0) {
          by_class += std::stoll(value);
        }
      }
      EXPECT_EQ(by_class, Field(s, "errors_total"));
      EXPECT_LE(Field(s, "fetchers_live"), 2);
      EXPECT_LE(Field(s, "processors_live"), 2);
    }
    auto now_feeds = store->LoadFeeds();
    ASSERT_OK(now_feeds.status());
    all_fetched = true;
    for (const FeedRecord& feed : *now_feeds) all_fetched &= feed.last_fetch_ms > 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(all_fetched) << "the demo feeds were not all fetched\n" << Logs();
  EXPECT_GT(samples, 0u);
  // Let the coordinator publish the last reports.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  // Totals against the feeds themselves.
  auto stats = store->ReadStats();
  ASSERT_OK(stats.status());
  auto final_feeds = store->LoadFeeds();
  ASSERT_OK(final_feeds.status());
  uint64_t items = 0, fetches = 0;
  for (const FeedRecord& feed : *final_feeds) {
    items += feed.items_total;
    fetches += feed.fetches;
  }
  EXPECT_GT(items, 0u);
  EXPECT_EQ(Field(*stats, "items_total"), static_cast<int64_t>(items));
  EXPECT_EQ(Field(*stats, "fetches_total"), static_cast<int64_t>(fetches));
  EXPECT_EQ(Field(*stats, "feeds_total"), static_cast<int64_t>(final_feeds->size()));
  EXPECT_EQ(Field(*stats, "fetchers_live"), 2);
  EXPECT_EQ(Field(*stats, "processors_live"), 2);
  EXPECT_GT(Field(*stats, "errors_total"), 0);  // the demo's faults
  EXPECT_GT(Field(*stats, "fetches_per_min"), 0);
  // The compose workers got in with their key, and nobody was turned away.
  EXPECT_EQ(Field(*stats, "zap_refused_total"), 0);
  auto coordinator_log = testing::ReadFile(scratch_.File("coordinator-0.log"));
  ASSERT_OK(coordinator_log.status());
  EXPECT_NE(coordinator_log->find("CURVE on"), std::string::npos) << *coordinator_log;
  // Every new item went to the stream once (the cap is far above the demo's size).
  auto entries = testing::ReadItemStream(store->redis(), "fc:");
  ASSERT_OK(entries.status());
  const size_t streamed = testing::StreamedItems(*entries).size();
  EXPECT_EQ(static_cast<int64_t>(streamed), Field(*stats, "items_new_total"));
  EXPECT_EQ(streamed, items);
  auto host_stats = store->ReadHostStats();
  ASSERT_OK(host_stats.status());
  EXPECT_EQ(host_stats->count("127.0.0.1"), 1u);

  // Every worker publishes its hash, and every process its metrics.
  auto workers = store->ReadWorkers(SystemClock::Instance().NowMs());
  ASSERT_OK(workers.status());
  std::map<std::string, int> roles;
  for (const WorkerHash& w : *workers) ++roles[w.role];
  EXPECT_EQ(roles["fetcher"], 2);
  EXPECT_EQ(roles["processor"], 2);
  for (const auto& [name, process] : processes_) {
    auto port = metrics_ports_.find(process->Pid());
    if (port == metrics_ports_.end() || !process->Running()) continue;
    const std::string role = name.substr(0, name.find('-'));
    const std::string text = Scrape(port->second);
    EXPECT_NE(text.find("feedcrawl_" + role + "_"), std::string::npos) << name << ":\n" << text;
  }

  // `feedcrawl status`, as the coordinator's health check runs it.
  SubprocessOptions status_options;
  status_options.capture_stdout = true;
  status_options.env = {{"FEEDCRAWL_REDIS", RedisUrl()}};
  auto status = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl",
                                  {"status", "--max-age-ms", "10000"}, status_options);
  ASSERT_OK(status.status());
  auto status_json = (*status)->ReadAll(30'000);
  ASSERT_OK(status_json.status());
  auto status_exit = (*status)->Wait(10'000);
  ASSERT_OK(status_exit.status());
  EXPECT_TRUE(status_exit->Success()) << *status_json;
  nlohmann::json parsed = nlohmann::json::parse(*status_json, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << *status_json;
  EXPECT_GE(parsed["stats"]["fetches_total"].get<int64_t>(), 20);
  EXPECT_EQ(parsed["workers"].size(), 4u);

  // A killed worker's hash carries a TTL no longer than configured and goes away by itself.
  const std::string host = HostName();
  for (Subprocess* victim : {processors[0], fetchers[0]}) {
    const std::string role = victim == processors[0] ? "processor" : "fetcher";
    const std::string key = "fc:worker:" + role + ":" + host + "-" + std::to_string(victim->Pid());
    auto exists = store->redis().Command({"EXISTS", key});
    ASSERT_OK(exists.status());
    ASSERT_EQ(exists->integer, 1) << key;
    ASSERT_OK(victim->Signal(SIGKILL));
    ASSERT_OK(victim->Wait(10'000).status());
    auto ttl = store->redis().Command({"PTTL", key});
    ASSERT_OK(ttl.status());
    EXPECT_GT(ttl->integer, 0) << key;
    EXPECT_LE(ttl->integer, kWorkerTtlMs) << key;
    bool gone = false;
    for (int i = 0; i < (kWorkerTtlMs + 5000) / 100 && !gone; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto still = store->redis().Command({"EXISTS", key});
      ASSERT_OK(still.status());
      gone = still->integer == 0;
    }
    EXPECT_TRUE(gone) << key << " outlived its TTL";
  }

  // A clean stop of the rest: every process exits 0.
  for (const char* name : {"fetcher-1", "processor-1", "coordinator-0", "testserver-0"}) {
    Subprocess* p = processes_[name].get();
    ASSERT_OK(p->Signal(SIGTERM));
    auto exit = p->Wait(30'000);
    ASSERT_OK(exit.status());
    EXPECT_TRUE(exit->Success()) << name << " " << exit->ToString();
  }
}

}  // namespace
}  // namespace feedcrawl
