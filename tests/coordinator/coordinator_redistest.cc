// The coordinator against a real redis-server and real ZeroMQ sockets. The test plays the
// fetcher and the processor over DEALER sockets, and drives time with a FakeClock so leases and
// worker timeouts expire without sleeping through them.
#include "coordinator/coordinator.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "common/messages.h"
#include "common/url.h"
#include "tests/coordinator/control_peer.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

namespace v1 = feedcrawl::v1;
using testing::CommandCalls;
using testing::RedisServer;

using Peer = testing::ControlPeer;

v1::Envelope Report(const v1::FetchJob& job, v1::Outcome outcome, int status) {
  v1::Envelope envelope;
  v1::JobReport* report = envelope.mutable_report();
  report->set_job_id(job.job_id());
  report->set_feed_id(job.feed_id());
  report->set_outcome(outcome);
  report->set_http_status(status);
  report->set_etag("\"v1\"");
  report->set_new_items(3);
  report->set_total_items(3);
  return envelope;
}

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    auto store = Store::Open(redis_.Url());
    ASSERT_OK(store.status());
    store_ = std::move(*store);
  }
  void TearDown() override {
    if (coordinator_) coordinator_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  void AddFeeds(int n) {
    std::vector<std::string> urls;
    for (int i = 0; i < n; ++i) urls.push_back("http://h" + std::to_string(i % 3) + ".test/" + std::to_string(i));
    ASSERT_OK(store_->AddFeeds(urls, clock_.NowMs()).status());
  }
  // Every coordinator here: endpoints on free loopback ports, no politeness, stats every 100 ms
  // of the fake clock.
  static CoordinatorOptions TestOptions(CoordinatorOptions options) {
    options.control_bind = "tcp://127.0.0.1:*";
    options.results_in_bind = "tcp://127.0.0.1:*";
    options.results_out_bind = "tcp://127.0.0.1:*";
    options.politeness = {0, 0};
    options.stats_interval_ms = 100;
    return options;
  }
  // Start() only (the first batch of records read); RunCoordinator() runs the loop.
  void CreateCoordinator(CoordinatorOptions options) {
    coordinator_ =
        std::make_unique<Coordinator>(TestOptions(options), *Store::Open(redis_.Url()), clock_);
    ASSERT_OK(coordinator_->Start());
  }
  void RunCoordinator() {
    thread_ = std::thread([this] { run_status_ = coordinator_->Run(); });
  }
  void StartCoordinator(CoordinatorOptions options) {
    CreateCoordinator(options);
    RunCoordinator();
  }
  // A processor and a fetcher with `slots` free, joined to the coordinator.
  struct Workers {
    Peer fetcher;
    Peer processor;
  };
  std::unique_ptr<Workers> JoinWorkers(uint32_t slots) {
    const std::string endpoint = coordinator_->control_endpoint();
    auto workers = std::unique_ptr<Workers>(
        new Workers{Peer(context_, "f1", endpoint), Peer(context_, "p1", endpoint)});
    workers->processor.Hello(v1::ROLE_PROCESSOR, 0);
    workers->fetcher.Hello(v1::ROLE_FETCHER, slots);
    return workers;
  }
  // A running --once coordinator over the feeds added, with JoinWorkers(slots).
  std::unique_ptr<Workers> StartOnceWithWorkers(uint32_t slots) {
    CoordinatorOptions options;
    options.once = true;
    StartCoordinator(options);
    return JoinWorkers(slots);
  }
  // A processor and a one-slot fetcher join; returns the job the fetcher gets.
  std::optional<v1::FetchJob> JoinAndTakeJob(Peer& fetcher, Peer& processor) {
    processor.Hello(v1::ROLE_PROCESSOR, 0);
    fetcher.Hello(v1::ROLE_FETCHER, 1);
    auto job = fetcher.Next(v1::Envelope::kJob);
    if (!job.has_value()) return std::nullopt;
    return job->job();
  }
  // Lets stats writes happen (one per 100 ms of the fake clock) until P stats has `field` at
  // `want`, for up to 50 writes; returns the field's last value.
  std::string AwaitStat(const std::string& field, const std::string& want) {
    std::string seen;
    for (int i = 0; i < 50 && seen != want; ++i) {
      clock_.AdvanceMs(100);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      StatusOr<std::map<std::string, std::string>> stats = store_->ReadStats();
      if (stats.ok() && stats->count(field)) seen = stats->at(field);
    }
    return seen;
  }
  bool WaitForExit(int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 20) {
      if (done_) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  RedisServer redis_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  WireContext context_;
  std::unique_ptr<Coordinator> coordinator_;
  std::thread thread_;
  Status run_status_;
  std::atomic<bool> done_{false};
};

TEST_F(CoordinatorTest, DispatchesNoMoreJobsThanCreditAndRecordsReports) {
  AddFeeds(5);
  // A database written by an earlier version holds a copy of the schedule; the coordinator
  // removes it as it starts, and nothing writes it again.
  ASSERT_OK(store_->redis().Command({"ZADD", "fc:schedule", "1", "1"}).status());
  auto workers = StartOnceWithWorkers(2);
  Peer& fetcher = workers->fetcher;
  Peer& processor = workers->processor;

  std::vector<v1::FetchJob> jobs;
  for (int i = 0; i < 2; ++i) {
    auto job = fetcher.Next(v1::Envelope::kJob);
    ASSERT_TRUE(job.has_value());
    jobs.push_back(job->job());
  }
  EXPECT_FALSE(fetcher.Next(v1::Envelope::kJob, 300).has_value()) << "more jobs than credit";

  // More credit brings the rest; every feed is handed out exactly once.
  v1::Envelope credit;
  credit.mutable_credit()->set_slots(10);
  fetcher.Send(credit);
  for (int i = 0; i < 3; ++i) {
    auto job = fetcher.Next(v1::Envelope::kJob);
    ASSERT_TRUE(job.has_value());
    jobs.push_back(job->job());
  }
  std::set<uint64_t> feeds;
  for (const auto& job : jobs) feeds.insert(job.feed_id());
  EXPECT_EQ(feeds.size(), 5u);

  for (const auto& job : jobs) processor.Send(Report(job, v1::OUTCOME_OK, 200));
  thread_.join();
  EXPECT_OK(run_status_);

  auto stats = store_->ReadStats();
  ASSERT_OK(stats.status());
  EXPECT_EQ(stats->at("run_done"), "5");
  EXPECT_EQ(stats->at("run_ok"), "5");
  EXPECT_EQ(stats->at("run_complete"), "1");
  auto feed = store_->GetFeed(jobs[0].feed_id());
  ASSERT_OK(feed.status());
  ASSERT_TRUE(feed->has_value());
  EXPECT_EQ((*feed)->etag, "\"v1\"");
  EXPECT_EQ((*feed)->last_status, 200);
  EXPECT_EQ((*feed)->last_outcome, "ok");
  EXPECT_EQ((*feed)->items_total, 3u);
  EXPECT_EQ((*feed)->fetches, 1u);
  ASSERT_OK_AND_ASSIGN(RedisReply schedule, store_->redis().Command({"EXISTS", "fc:schedule"}));
  EXPECT_EQ(schedule.integer, 0);

  // P stats:hosts counts each host's fetches (feeds 1 and 4 on h0, 2 and 5 on h1, 3 on h2).
  ASSERT_OK_AND_ASSIGN(auto hosts, store_->ReadHostStats());
  EXPECT_EQ(hosts.size(), 3u);
  EXPECT_NE(hosts["h0.test"].find("\"fetches\":2,"), std::string::npos) << hosts["h0.test"];
  EXPECT_NE(hosts["h1.test"].find("\"fetches\":2,"), std::string::npos) << hosts["h1.test"];
  EXPECT_NE(hosts["h2.test"].find("\"fetches\":1,"), std::string::npos) << hosts["h2.test"];
}

TEST_F(CoordinatorTest, ReportDuringARedisRestartIsStoredOnceRedisIsBack) {
  AddFeeds(1);
  CoordinatorOptions options;
  options.once = true;
  StartCoordinator(options);
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  Peer processor(context_, "p1", coordinator_->control_endpoint());
  std::optional<v1::FetchJob> job = JoinAndTakeJob(fetcher, processor);
  ASSERT_TRUE(job.has_value());

  ASSERT_OK(redis_.Stop());
  processor.Send(Report(*job, v1::OUTCOME_OK, 200));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_OK(redis_.Start());
  thread_.join();
  EXPECT_OK(run_status_);

  auto store = Store::Open(redis_.Url());
  ASSERT_OK(store.status());
  auto feed = (*store)->GetFeed(job->feed_id());
  ASSERT_OK(feed.status());
  ASSERT_TRUE(feed->has_value());
  EXPECT_EQ((*feed)->etag, "\"v1\"") << "the report's state was lost in the outage";
  EXPECT_EQ((*feed)->fetches, 1u);
}

TEST_F(CoordinatorTest, MarksTheJobAfterWhichNoFeedOfItsHostWaits) {
  AddFeeds(5);  // h0.test: 0 and 3, h1.test: 1 and 4, h2.test: 2
  CoordinatorOptions options;
  options.once = true;
  StartCoordinator(options);
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 5);
  std::map<std::string, std::vector<bool>> last_by_host;  // in the order the jobs came
  for (int i = 0; i < 5; ++i) {
    auto job = fetcher.Next(v1::Envelope::kJob);
    ASSERT_TRUE(job.has_value());
    last_by_host[UrlHost(job->job().url())].push_back(job->job().last_for_host());
  }
  EXPECT_EQ(last_by_host["h0.test"], (std::vector<bool>{false, true}));
  EXPECT_EQ(last_by_host["h1.test"], (std::vector<bool>{false, true}));
  EXPECT_EQ(last_by_host["h2.test"], (std::vector<bool>{true}));
}

// Redis's MONITOR stream over a raw connection: every command the server runs, in the order it
// runs them, one line each.
class RedisMonitor {
 public:
  explicit RedisMonitor(const std::string& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", socket_path.c_str());
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::write(fd_, "MONITOR\r\n", 9), 9);
    EXPECT_TRUE(ReadUntil("+OK\r\n", 3000));
  }
  ~RedisMonitor() { ::close(fd_); }
  // Reads until `text` has been seen or timeout_ms passed.
  bool ReadUntil(const std::string& text, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (seen_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd readable{fd_, POLLIN, 0};
      if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fd_, buffer, sizeof(buffer));
      if (n <= 0) return false;
      seen_.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }
  const std::string& seen() const { return seen_; }

 private:
  int fd_ = -1;
  std::string seen_;
};

// Reports free fetcher slots; the jobs for those slots go out before the reports' states are
// written, so the fetchers work while Redis takes the writes. Writes are held up here (CLIENT
// PAUSE WRITE) while the coordinator saves one report; a second report and a credit arrive
// meanwhile and are read in the same turn, and Redis must then run the read of the next feed's
// record before the save of that second report.
TEST_F(CoordinatorTest, SendsJobsForFreedSlotsBeforeWritingTheReportsStates) {
  AddFeeds(3);
  auto workers = StartOnceWithWorkers(2);
  Peer& fetcher = workers->fetcher;
  Peer& processor = workers->processor;
  auto first = fetcher.Next(v1::Envelope::kJob);
  auto second = fetcher.Next(v1::Envelope::kJob);
  ASSERT_TRUE(first.has_value() && second.has_value());
  const uint64_t third_feed = 1 + 2 + 3 - first->job().feed_id() - second->job().feed_id();

  RedisMonitor monitor(redis_.SocketPath());
  ASSERT_OK_AND_ASSIGN(auto admin, redis_.Connect());
  ASSERT_OK_AND_ASSIGN(RedisReply paused, admin->Command({"CLIENT", "PAUSE", "1500", "WRITE"}));
  ASSERT_EQ(paused.str, "OK");
  processor.Send(Report(first->job(), v1::OUTCOME_OK, 200));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // its save now waits on Redis
  processor.Send(Report(second->job(), v1::OUTCOME_OK, 200));
  v1::Envelope credit;
  credit.mutable_credit()->set_slots(1);
  fetcher.Send(credit);

  auto third = fetcher.Next(v1::Envelope::kJob, 10'000);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->job().feed_id(), third_feed);
  const std::string read_third = "\"HGETALL\" \"fc:feed:" + std::to_string(third_feed) + "\"";
  ASSERT_TRUE(monitor.ReadUntil(read_third, 5000)) << monitor.seen();
  const std::string before = monitor.seen().substr(0, monitor.seen().find(read_third));
  size_t saves = 0;
  for (size_t at = before.find("\"EVALSHA\""); at != std::string::npos;
       at = before.find("\"EVALSHA\"", at + 1)) {
    ++saves;
  }
  EXPECT_EQ(saves, 1u) << "the second report's state was written before the freed slot's job "
                          "was read:\n"
                       << monitor.seen();
  // Every report is saved, once.
  processor.Send(Report(third->job(), v1::OUTCOME_OK, 200));
  thread_.join();
  EXPECT_OK(run_status_);
  ASSERT_OK_AND_ASSIGN(auto stats, store_->ReadStats());
  EXPECT_EQ(stats.at("run_done"), "3");
  for (uint64_t feed_id = 1; feed_id <= 3; ++feed_id) {
    ASSERT_OK_AND_ASSIGN(auto feed, store_->GetFeed(feed_id));
    ASSERT_TRUE(feed.has_value());
    EXPECT_EQ(feed->fetches, 1u) << "feed " << feed_id;
  }
}

// A long feed list is read a batch per loop turn, and jobs go out while the rest loads: a fetcher
// that said Hello before the loop began gets its first jobs before the last batch is read. The
// run still counts every feed, and every feed is crawled once.
TEST_F(CoordinatorTest, DispatchesWhileTheFeedRecordsLoad) {
  constexpr int kFeeds = 4500;  // five batches: the first read by Start(), the rest by Run()
  AddFeeds(kFeeds);
  CoordinatorOptions options;
  options.once = true;
  CreateCoordinator(options);
  auto workers = JoinWorkers(kFeeds);
  Peer& fetcher = workers->fetcher;
  Peer& processor = workers->processor;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // both Hellos have arrived
  RedisMonitor monitor(redis_.SocketPath());
  RunCoordinator();

  // A minute at most: it returns once all have come, and a loaded machine can take long.
  std::vector<v1::FetchJob> jobs = fetcher.Jobs(kFeeds, /*quiet_ms=*/300, /*timeout_ms=*/60'000);
  ASSERT_EQ(jobs.size(), static_cast<size_t>(kFeeds));
  // Everything Redis ran until now, marked by a command of the test's own.
  ASSERT_OK_AND_ASSIGN(auto marker, redis_.Connect());
  ASSERT_OK(marker->Command({"ECHO", "all-jobs-out"}));
  ASSERT_TRUE(monitor.ReadUntil("\"ECHO\" \"all-jobs-out\"", 5000)) << monitor.seen();
  const std::string& seen = monitor.seen();
  const size_t first_job_read = seen.find("\"HGETALL\" \"fc:feed:");
  const size_t last_load_read = seen.rfind("\"HMGET\" \"fc:feed:");
  ASSERT_NE(first_job_read, std::string::npos);
  ASSERT_NE(last_load_read, std::string::npos);
  EXPECT_LT(first_job_read, last_load_read)
      << "no job went out before the last batch of records was read";
  std::set<uint64_t> feeds;
  for (const auto& job : jobs) feeds.insert(job.feed_id());
  EXPECT_EQ(feeds.size(), static_cast<size_t>(kFeeds));

  for (const auto& job : jobs) processor.Send(Report(job, v1::OUTCOME_NOT_MODIFIED, 304));
  thread_.join();
  EXPECT_OK(run_status_);
  ASSERT_OK_AND_ASSIGN(auto run, store_->GetRun());
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->state, "finished");
  EXPECT_EQ(run->counters.at("feeds"), static_cast<uint64_t>(kFeeds));
  EXPECT_EQ(run->counters.at("done"), static_cast<uint64_t>(kFeeds));
  EXPECT_EQ(run->counters.at("not_modified"), static_cast<uint64_t>(kFeeds));
  ASSERT_OK_AND_ASSIGN(std::vector<FeedRecord> records, store_->LoadFeeds());
  ASSERT_EQ(records.size(), static_cast<size_t>(kFeeds));
  for (const FeedRecord& record : records) {
    ASSERT_EQ(record.fetches, 1u) << "feed " << record.id;
    ASSERT_EQ(record.run_id, run->id) << "feed " << record.id;
  }
}

// A coordinator stopped before its load ended writes the run as far as it counted it; the next
// --once start resumes that run, counts every feed, and crawls each once.
TEST_F(CoordinatorTest, AStopDuringTheLoadLeavesARunTheNextStartResumes) {
  constexpr int kFeeds = 2500;  // three batches: Start() reads one
  AddFeeds(kFeeds);
  CoordinatorOptions options;
  options.once = true;
  {
    Coordinator stopped(TestOptions(options), *Store::Open(redis_.Url()), clock_);
    ASSERT_OK(stopped.Start());
    stopped.Stop();
    ASSERT_OK(stopped.Run());
  }
  ASSERT_OK_AND_ASSIGN(auto left, store_->GetRun());
  ASSERT_TRUE(left.has_value());
  EXPECT_EQ(left->state, "running");
  EXPECT_EQ(left->counters.at("feeds"), 1000u) << "the feeds the load had reached";

  auto workers = StartOnceWithWorkers(kFeeds);
  std::vector<v1::FetchJob> jobs = workers->fetcher.Jobs(kFeeds);
  ASSERT_EQ(jobs.size(), static_cast<size_t>(kFeeds));
  for (const auto& job : jobs) workers->processor.Send(Report(job, v1::OUTCOME_NOT_MODIFIED, 304));
  thread_.join();
  EXPECT_OK(run_status_);
  ASSERT_OK_AND_ASSIGN(auto run, store_->GetRun());
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->id, left->id);
  EXPECT_EQ(run->state, "finished");
  EXPECT_EQ(run->counters.at("feeds"), static_cast<uint64_t>(kFeeds));
  EXPECT_EQ(run->counters.at("done"), static_cast<uint64_t>(kFeeds));
  EXPECT_EQ(run->counters.at("resumes"), 1u);
}

// The job carries the validators and the count of stored items (a hint for the processor's
// question about them) of the feed's record.
TEST_F(CoordinatorTest, SendsStoredValidatorsWithTheJob) {
  AddFeeds(1);
  auto feeds = store_->LoadFeeds();
  ASSERT_OK(feeds.status());
  FeedRecord record = feeds->at(0);
  record.etag = "\"abc\"";
  record.last_modified = "Wed, 01 May 2024 10:00:00 GMT";
  record.items_total = 37;
  ASSERT_OK(store_->SaveFeed(record));
  CoordinatorOptions options;
  options.once = true;
  StartCoordinator(options);
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 1);
  auto job = fetcher.Next(v1::Envelope::kJob);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->job().etag(), "\"abc\"");
  EXPECT_EQ(job->job().last_modified(), "Wed, 01 May 2024 10:00:00 GMT");
  ASSERT_TRUE(job->job().has_items_stored());
  EXPECT_EQ(job->job().items_stored(), 37u);
}

TEST_F(CoordinatorTest, ExpiredLeaseMakesFeedDueAgainAndLateReportIsIgnored) {
  AddFeeds(1);
  CoordinatorOptions options;
  options.once = true;
  options.fetch_timeout_ms = 1000;
  options.lease_grace_ms = 1000;
  options.worker_timeout_ms = 1'000'000;
  StartCoordinator(options);
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  Peer processor(context_, "p1", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 5);
  auto first = fetcher.Next(v1::Envelope::kJob);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->job().attempt(), 1u);

  clock_.AdvanceMs(2001);
  auto second = fetcher.Next(v1::Envelope::kJob);
  ASSERT_TRUE(second.has_value()) << "expired lease was not handed out again";
  EXPECT_EQ(second->job().feed_id(), first->job().feed_id());
  EXPECT_NE(second->job().job_id(), first->job().job_id());
  EXPECT_EQ(second->job().attempt(), 2u);

  processor.Send(Report(first->job(), v1::OUTCOME_OK, 200));  // late: must not count
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto stats = store_->ReadStats();
  ASSERT_OK(stats.status());
  EXPECT_EQ(stats->at("run_done"), "0");

  processor.Send(Report(second->job(), v1::OUTCOME_NOT_MODIFIED, 304));
  thread_.join();
  stats = store_->ReadStats();
  EXPECT_EQ(stats->at("run_done"), "1");
  EXPECT_EQ(stats->at("run_not_modified"), "1");
  EXPECT_EQ(stats->at("stale_reports"), "1");
}

TEST_F(CoordinatorTest, FeedFailsAfterMaxAttemptsOfLostJobs) {
  AddFeeds(1);
  CoordinatorOptions options;
  options.once = true;
  options.fetch_timeout_ms = 100;
  options.lease_grace_ms = 100;
  options.max_attempts = 2;
  options.worker_timeout_ms = 1'000'000;
  StartCoordinator(options);
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 5);
  ASSERT_TRUE(fetcher.Next(v1::Envelope::kJob).has_value());
  clock_.AdvanceMs(201);
  ASSERT_TRUE(fetcher.Next(v1::Envelope::kJob).has_value());
  clock_.AdvanceMs(201);
  thread_.join();
  auto stats = store_->ReadStats();
  ASSERT_OK(stats.status());
  EXPECT_EQ(stats->at("run_failed"), "1");
  EXPECT_EQ(stats->at("run_failed_lease_expired"), "1");
}

TEST_F(CoordinatorTest, SilentFetcherLosesItsJobsToALiveOne) {
  AddFeeds(2);
  CoordinatorOptions options;
  options.once = true;
  options.worker_timeout_ms = 1000;
  StartCoordinator(options);
  Peer dying(context_, "dying", coordinator_->control_endpoint());
  dying.Hello(v1::ROLE_FETCHER, 2);
  ASSERT_TRUE(dying.Next(v1::Envelope::kJob).has_value());
  ASSERT_TRUE(dying.Next(v1::Envelope::kJob).has_value());

  Peer alive(context_, "alive", coordinator_->control_endpoint());
  alive.Hello(v1::ROLE_FETCHER, 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The live fetcher keeps talking; the other went silent. Time moves in two steps with a
  // heartbeat between, so the live one is never silent for the timeout whenever the coordinator
  // looks (one jump of 1500 ms before the heartbeat could make both look dead).
  clock_.AdvanceMs(600);
  alive.Heartbeat();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  clock_.AdvanceMs(900);
  alive.Heartbeat();
  std::set<uint64_t> feeds;
  for (int i = 0; i < 2; ++i) {
    auto job = alive.Next(v1::Envelope::kJob);
    ASSERT_TRUE(job.has_value()) << "jobs of the silent fetcher were not handed out again";
    feeds.insert(job->job().feed_id());
  }
  EXPECT_EQ(feeds.size(), 2u);
}

// A fetcher that stalls longer than the worker timeout (an overloaded host) is dropped and its
// job handed out again; when it speaks again it must get work again, not idle forever.
TEST_F(CoordinatorTest, FetcherDroppedAsSilentIsReadmittedWhenItHeartbeatsAgain) {
  AddFeeds(3);
  CoordinatorOptions options;
  options.once = true;
  options.worker_timeout_ms = 1000;
  StartCoordinator(options);
  Peer stalled(context_, "stalled", coordinator_->control_endpoint());
  stalled.Hello(v1::ROLE_FETCHER, 1);
  ASSERT_TRUE(stalled.Next(v1::Envelope::kJob).has_value());
  stalled.Heartbeat();
  auto reply = stalled.Next(v1::Envelope::kHeartbeat);
  ASSERT_TRUE(reply.has_value());
  const uint64_t epoch = reply->heartbeat().coordinator_epoch();

  clock_.AdvanceMs(1500);  // silent past the worker timeout: dropped
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(stalled.Next(v1::Envelope::kJob, 300).has_value());

  // It heartbeats again, knowing this coordinator, with 3 free slots (its old job is given up).
  v1::Envelope beat;
  beat.mutable_heartbeat()->set_role(v1::ROLE_FETCHER);
  beat.mutable_heartbeat()->set_worker_id("stalled");
  beat.mutable_heartbeat()->set_free_slots(3);
  beat.mutable_heartbeat()->set_coordinator_epoch(epoch);
  stalled.Send(beat);
  std::set<uint64_t> feeds;
  for (int i = 0; i < 3; ++i) {
    auto job = stalled.Next(v1::Envelope::kJob);
    ASSERT_TRUE(job.has_value()) << "the readmitted fetcher got no job " << i;
    feeds.insert(job->job().feed_id());
  }
  EXPECT_EQ(feeds.size(), 3u);
}

// A heartbeat naming another epoch comes from a worker that will say Hello: no credit is guessed.
TEST_F(CoordinatorTest, HeartbeatFromAnUnknownWorkerOfAnotherEpochGetsNoJobs) {
  AddFeeds(1);
  CoordinatorOptions options;
  options.once = true;
  StartCoordinator(options);
  Peer stranger(context_, "stranger", coordinator_->control_endpoint());
  v1::Envelope beat;
  beat.mutable_heartbeat()->set_role(v1::ROLE_FETCHER);
  beat.mutable_heartbeat()->set_free_slots(5);
  beat.mutable_heartbeat()->set_coordinator_epoch(987654);
  stranger.Send(beat);
  auto reply = stranger.Next(v1::Envelope::kHeartbeat);
  ASSERT_TRUE(reply.has_value());
  EXPECT_NE(reply->heartbeat().coordinator_epoch(), 987654u);
  EXPECT_FALSE(stranger.Next(v1::Envelope::kJob, 500).has_value());
}

// Only the fetcher that holds a lease may hand it back: another peer naming the job in its
// Goodbye must not take the feed away from the fetcher working on it.
TEST_F(CoordinatorTest, GoodbyeReturnsOnlyTheSendersOwnJobs) {
  AddFeeds(1);
  CoordinatorOptions options;
  options.once = true;
  StartCoordinator(options);
  Peer holder(context_, "holder", coordinator_->control_endpoint());
  holder.Hello(v1::ROLE_FETCHER, 1);
  auto job = holder.Next(v1::Envelope::kJob);
  ASSERT_TRUE(job.has_value());
  Peer waiting(context_, "waiting", coordinator_->control_endpoint());
  waiting.Hello(v1::ROLE_FETCHER, 1);
  Peer intruder(context_, "intruder", coordinator_->control_endpoint());
  v1::Envelope goodbye;
  goodbye.mutable_goodbye()->add_returned_job_ids(job->job().job_id());
  intruder.Send(goodbye);
  EXPECT_FALSE(waiting.Next(v1::Envelope::kJob, 700).has_value())
      << "a Goodbye from another peer released the holder's lease";

  // The holder itself can hand it back, and the feed goes to the waiting fetcher.
  holder.Send(goodbye);
  auto again = waiting.Next(v1::Envelope::kJob);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->job().feed_id(), job->job().feed_id());
}

// Waits until Redis has run `command` at least `calls` times since the last CONFIG RESETSTAT, for
// up to ten seconds (a loaded machine can be slow); false if it has not.
bool CallsReach(Store& store, const std::string& command, int64_t calls) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (CommandCalls(store.redis(), command) < calls) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::set<uint64_t> FeedsOf(const std::vector<v1::FetchJob>& jobs) {
  std::set<uint64_t> feeds;
  for (const auto& job : jobs) feeds.insert(job.feed_id());
  return feeds;
}

TEST_F(CoordinatorTest, ReadsTheFeedRecordsAgainOnlyWhenTheRegistryChanged) {
  AddFeeds(5);
  CoordinatorOptions options;
  options.reload_interval_ms = 1'000;
  options.full_reload_interval_ms = 3'600'000;
  StartCoordinator(options);
  // The records are read with HMGET (the fields the coordinator loads): the start-up load's
  // five come first, then the checks begin.
  ASSERT_TRUE(CallsReach(*store_, "hmget", 5)) << "the records were never loaded";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_OK(store_->redis().Command({"CONFIG", "RESETSTAT"}).status());
  for (int i = 1; i <= 3; ++i) {
    clock_.AdvanceMs(1'000);
    ASSERT_TRUE(CallsReach(*store_, "get", i)) << "the registry version was not checked";
  }
  // Time for a reload, had the third check started one, to show.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(CommandCalls(store_->redis(), "hmget"), 0) << "records read again, nothing changed";
  EXPECT_EQ(CommandCalls(store_->redis(), "hgetall"), 0) << "records read again, nothing changed";

  // Setting a status (as `feedcrawl feeds` does) moves the version: the next check reads the
  // records, and the disabled feed is no longer dispatched.
  ASSERT_OK(store_->SetFeedStatus("http://h0.test/0", "disabled", clock_.NowMs()));
  clock_.AdvanceMs(1'000);
  EXPECT_TRUE(CallsReach(*store_, "hmget", 5)) << "the records were not read again";
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 10);
  std::vector<v1::FetchJob> jobs = fetcher.Jobs(4);
  EXPECT_EQ(jobs.size(), 4u);
  EXPECT_EQ(FeedsOf(jobs).count(1), 0u) << "the disabled feed was dispatched";
}

TEST_F(CoordinatorTest, AFullReloadPicksUpAnEditMadeByHand) {
  AddFeeds(3);
  CoordinatorOptions options;
  options.reload_interval_ms = 1'000;
  options.full_reload_interval_ms = 5'000;
  StartCoordinator(options);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // redis-cli HSET, which does not move P feeds:version.
  ASSERT_OK(store_->redis().Command({"HSET", "fc:feed:2", "status", "disabled"}).status());
  for (int i = 0; i < 5; ++i) {
    clock_.AdvanceMs(1'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 10);
  std::vector<v1::FetchJob> jobs = fetcher.Jobs(2);
  EXPECT_EQ(FeedsOf(jobs), (std::set<uint64_t>{1, 3}));
}

TEST_F(CoordinatorTest, AnOperatorsPauseDuringAFetchOutlivesThatFetchsReport) {
  AddFeeds(1);
  // A feed fetched before (a feed's first report writes its whole record).
  ASSERT_OK_AND_ASSIGN(std::optional<FeedRecord> before, store_->GetFeed(1));
  ASSERT_TRUE(before.has_value());
  before->last_fetch_ms = 500;
  before->fetches = 3;
  ASSERT_OK(store_->SaveFeed(*before));
  StartCoordinator(CoordinatorOptions{});
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  Peer processor(context_, "p1", coordinator_->control_endpoint());
  std::optional<v1::FetchJob> job = JoinAndTakeJob(fetcher, processor);
  ASSERT_TRUE(job.has_value());
  // `feedcrawl feeds pause` while the feed is being fetched.
  ASSERT_OK(store_->SetFeedStatus("http://h0.test/0", "paused", clock_.NowMs()));
  processor.Send(Report(*job, v1::OUTCOME_OK, 200));
  std::optional<FeedRecord> feed;
  for (int i = 0; i < 100 && (!feed || feed->fetches == 3); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_OK_AND_ASSIGN(feed, store_->GetFeed(job->feed_id()));
    ASSERT_TRUE(feed.has_value());
  }
  EXPECT_EQ(feed->fetches, 4u) << "the report was not saved";
  EXPECT_EQ(feed->last_status, 200);
  EXPECT_EQ(feed->status, "paused") << "the report's save undid the operator's pause";
}

TEST_F(CoordinatorTest, CountsPausedDisabledAndNeverFetchedFeedsAsTheyChange) {
  AddFeeds(5);
  // Feed 5 was fetched under an earlier coordinator (only its record says so) and is due in an
  // hour.
  ASSERT_OK(store_->redis()
                .Command({"HSET", "fc:feed:5", "last_fetch_ms", "1000", "next_due_ms",
                          std::to_string(clock_.NowMs() + 3'600'000)})
                .status());
  CoordinatorOptions options;
  options.reload_interval_ms = 1'000;
  options.freshness.pause_after_failures = 1;
  StartCoordinator(options);
  EXPECT_EQ(AwaitStat("feeds_total", "5"), "5");
  EXPECT_EQ(AwaitStat("feeds_paused", "0"), "0");
  EXPECT_EQ(AwaitStat("feeds_disabled", "0"), "0");
  EXPECT_EQ(AwaitStat("feeds_never_fetched", "4"), "4");

  // An operator disables a feed; the coordinator picks it up at its next reload. A disabled
  // feed is not fetched, so it no longer counts as awaiting its first fetch.
  ASSERT_OK(store_->SetFeedStatus("http://h1.test/1", "disabled", clock_.NowMs()));
  EXPECT_EQ(AwaitStat("feeds_disabled", "1"), "1");
  EXPECT_EQ(AwaitStat("feeds_never_fetched", "3"), "3");

  // A failed fetch pauses its feed (after one failure here).
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  Peer processor(context_, "p1", coordinator_->control_endpoint());
  std::optional<v1::FetchJob> job = JoinAndTakeJob(fetcher, processor);
  ASSERT_TRUE(job.has_value());
  ASSERT_NE(job->feed_id(), 2u) << "the disabled feed was dispatched";
  processor.Send(Report(*job, v1::OUTCOME_HTTP_ERROR, 500));
  EXPECT_EQ(AwaitStat("feeds_paused", "1"), "1");
  EXPECT_EQ(AwaitStat("feeds_never_fetched", "2"), "2");  // a failed fetch is a fetch

  // The operator resumes the paused feed, then removes the disabled one.
  ASSERT_OK_AND_ASSIGN(std::optional<FeedRecord> paused, store_->GetFeed(job->feed_id()));
  ASSERT_TRUE(paused.has_value());
  ASSERT_EQ(paused->status, "paused");
  ASSERT_OK(store_->SetFeedStatus(paused->url, "active", clock_.NowMs()));
  EXPECT_EQ(AwaitStat("feeds_paused", "0"), "0");
  ASSERT_OK(store_->RemoveFeed("http://h1.test/1"));
  EXPECT_EQ(AwaitStat("feeds_total", "4"), "4");
  EXPECT_EQ(AwaitStat("feeds_disabled", "0"), "0");
  EXPECT_EQ(AwaitStat("feeds_never_fetched", "2"), "2");

  // A feed added while it runs has never been fetched.
  ASSERT_OK(store_->AddFeeds({"http://h0.test/new"}, clock_.NowMs()).status());
  EXPECT_EQ(AwaitStat("feeds_total", "5"), "5");
  EXPECT_EQ(AwaitStat("feeds_never_fetched", "3"), "3");
}

TEST_F(CoordinatorTest, GarbageOnTheControlSocketIsCountedAndDropped) {
  AddFeeds(1);
  CoordinatorOptions options;
  options.once = true;
  StartCoordinator(options);
  Peer hostile(context_, "hostile", coordinator_->control_endpoint());
  hostile.SendRaw({"not a protobuf at all \xff\xfe"});
  hostile.SendRaw({});
  v1::Envelope future;
  future.mutable_credit()->set_slots(1);
  future.set_version(kProtocolVersion + 1);
  hostile.SendRaw({future.SerializeAsString()});
  Peer fetcher(context_, "f1", coordinator_->control_endpoint());
  fetcher.Hello(v1::ROLE_FETCHER, 1);
  ASSERT_TRUE(fetcher.Next(v1::Envelope::kJob).has_value()) << "coordinator stalled";
  clock_.AdvanceMs(1000);  // next stats write
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto stats = store_->ReadStats();
  ASSERT_OK(stats.status());
  EXPECT_GE(std::stoi(stats->at("bad_messages")), 2);
}

}  // namespace
}  // namespace feedcrawl
