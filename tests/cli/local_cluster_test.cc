#include "cli/local_cluster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli/data_dir.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl::cli {
namespace {

using Args = std::vector<std::string>;

// The value following `flag`, or "<absent>".
std::string FlagValue(const Args& args, const std::string& flag) {
  auto it = std::find(args.begin(), args.end(), flag);
  if (it == args.end() || it + 1 == args.end()) return "<absent>";
  return *(it + 1);
}

bool HasFlag(const Args& args, const std::string& flag) {
  return std::find(args.begin(), args.end(), flag) != args.end();
}

// Every value given with `flag`, in order.
std::vector<std::string> FlagValues(const Args& args, const std::string& flag) {
  std::vector<std::string> values;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) values.push_back(args[i + 1]);
  }
  return values;
}

ClusterOptions Options() {
  ClusterOptions options;
  options.bin_dir = "/opt/fc/bin";
  options.redis_url = "unix:///data/run/redis.sock";
  options.prefix = "test:";
  options.host_concurrency = 0;
  options.host_interval_ms = 0;
  options.fetch_timeout_ms = 5000;
  options.max_body_bytes = 1024;
  options.concurrency = 64;
  return options;
}

TEST(LocalClusterTest, EndpointsAreIpcSocketsInTheDirectoryOneResultsSocketPerFetcher) {
  ClusterEndpoints endpoints = MakeEndpoints("/data/run", 3);
  EXPECT_EQ(endpoints.control, "ipc:///data/run/control.sock");
  EXPECT_EQ(endpoints.results,
            (std::vector<std::string>{"ipc:///data/run/results-1.sock",
                                      "ipc:///data/run/results-2.sock",
                                      "ipc:///data/run/results-3.sock"}));
}

TEST(LocalClusterTest, CoordinatorArguments) {
  ClusterOptions options = Options();
  ClusterEndpoints endpoints = MakeEndpoints("/r", 1);
  Args args = CoordinatorArgs(options, endpoints);
  EXPECT_EQ(args.front(), "/opt/fc/bin/feedcrawl-coordinator");
  EXPECT_EQ(FlagValue(args, "--redis"), "unix:///data/run/redis.sock");
  EXPECT_EQ(FlagValue(args, "--prefix"), "test:");
  EXPECT_EQ(FlagValue(args, "--control-bind"), "ipc:///r/control.sock");
  // Bodies go straight from fetchers to processors, not through the coordinator.
  EXPECT_TRUE(HasFlag(args, "--no-results-forwarder"));
  EXPECT_FALSE(HasFlag(args, "--results-in-bind"));
  EXPECT_FALSE(HasFlag(args, "--results-out-bind"));
  EXPECT_EQ(FlagValue(args, "--host-concurrency"), "0");
  EXPECT_EQ(FlagValue(args, "--host-interval-ms"), "0");
  EXPECT_EQ(FlagValue(args, "--fetch-timeout-ms"), "5000");
  EXPECT_EQ(FlagValue(args, "--max-body-bytes"), "1024");
  EXPECT_EQ(FlagValue(args, "--log-level"), "warn");
  EXPECT_EQ(FlagValue(args, "--log-format"), "text");
  EXPECT_FALSE(HasFlag(args, "--once"));
  // Left to the coordinator's own defaults unless given.
  EXPECT_FALSE(HasFlag(args, "--connect-timeout-ms"));
  EXPECT_FALSE(HasFlag(args, "--max-redirects"));

  options.once = true;
  options.connect_timeout_ms = 700;
  options.max_redirects = 0;
  args = CoordinatorArgs(options, endpoints);
  EXPECT_TRUE(HasFlag(args, "--once"));
  EXPECT_EQ(FlagValue(args, "--connect-timeout-ms"), "700");
  EXPECT_EQ(FlagValue(args, "--max-redirects"), "0");
}

TEST(LocalClusterTest, ScheduleSettingsReachTheCoordinatorOnlyWhenGiven) {
  ClusterOptions options = Options();
  Args args = CoordinatorArgs(options, MakeEndpoints("/r", 3));
  for (const char* flag : {"--default-interval-ms", "--min-interval-ms", "--max-interval-ms",
                           "--retry-base-ms", "--max-backoff-ms", "--pause-after-failures",
                           "--max-attempts"}) {
    EXPECT_FALSE(HasFlag(args, flag)) << flag;
  }

  options.schedule.default_interval_ms = 1'800'000;
  options.schedule.min_interval_ms = 60'000;
  options.schedule.max_interval_ms = 86'400'000;
  options.schedule.retry_base_ms = 30'000;
  options.schedule.max_backoff_ms = 7'200'000;
  options.schedule.pause_after_failures = 7;
  options.schedule.max_attempts = 4;
  args = CoordinatorArgs(options, MakeEndpoints("/r", 3));
  EXPECT_EQ(FlagValue(args, "--default-interval-ms"), "1800000");
  EXPECT_EQ(FlagValue(args, "--min-interval-ms"), "60000");
  EXPECT_EQ(FlagValue(args, "--max-interval-ms"), "86400000");
  EXPECT_EQ(FlagValue(args, "--retry-base-ms"), "30000");
  EXPECT_EQ(FlagValue(args, "--max-backoff-ms"), "7200000");
  EXPECT_EQ(FlagValue(args, "--pause-after-failures"), "7");
  EXPECT_EQ(FlagValue(args, "--max-attempts"), "4");
  // Scheduling is the coordinator's: the workers never see these.
  Args fetcher = FetcherArgs(options, MakeEndpoints("/r", 3), 1);
  EXPECT_FALSE(HasFlag(fetcher, "--min-interval-ms"));
}

TEST(LocalClusterTest, FetcherArguments) {
  ClusterOptions options = Options();
  Args args = FetcherArgs(options, MakeEndpoints("/r", 3), 3);
  EXPECT_EQ(args.front(), "/opt/fc/bin/feedcrawl-fetcher");
  EXPECT_EQ(FlagValue(args, "--control"), "ipc:///r/control.sock");
  EXPECT_EQ(FlagValues(args, "--results-bind"),
            std::vector<std::string>{"ipc:///r/results-3.sock"});
  EXPECT_FALSE(HasFlag(args, "--results"));
  EXPECT_EQ(FlagValue(args, "--concurrency"), "64");
  EXPECT_EQ(FlagValue(args, "--id"), "fetcher-3");
  EXPECT_FALSE(HasFlag(args, "--allow-private-networks"));
  EXPECT_FALSE(HasFlag(args, "--user-agent"));
  EXPECT_FALSE(HasFlag(args, "--proxy"));

  options.allow_private_networks = true;
  options.user_agent = "test-agent/1";
  options.proxy = "http://proxy.example:3128";
  options.log_level = "debug";
  args = FetcherArgs(options, MakeEndpoints("/r", 3), 1);
  EXPECT_TRUE(HasFlag(args, "--allow-private-networks"));
  EXPECT_EQ(FlagValue(args, "--user-agent"), "test-agent/1");
  EXPECT_EQ(FlagValue(args, "--proxy"), "http://proxy.example:3128");
  EXPECT_EQ(FlagValue(args, "--log-level"), "debug");
}

TEST(LocalClusterTest, ProcessorArguments) {
  Args args = ProcessorArgs(Options(), MakeEndpoints("/r", 3), 2);
  EXPECT_EQ(args.front(), "/opt/fc/bin/feedcrawl-processor");
  EXPECT_EQ(FlagValue(args, "--control"), "ipc:///r/control.sock");
  EXPECT_EQ(FlagValues(args, "--results"),
            (std::vector<std::string>{"ipc:///r/results-1.sock", "ipc:///r/results-2.sock",
                                      "ipc:///r/results-3.sock"}));
  EXPECT_EQ(FlagValue(args, "--redis"), "unix:///data/run/redis.sock");
  EXPECT_EQ(FlagValue(args, "--prefix"), "test:");
  EXPECT_EQ(FlagValue(args, "--id"), "processor-2");
  EXPECT_FALSE(HasFlag(args, "--stream-maxlen"));
  EXPECT_FALSE(HasFlag(args, "--item-compression"));

  ClusterOptions options = Options();
  options.stream_maxlen = 0;
  options.item_compression = "lz4";
  args = ProcessorArgs(options, MakeEndpoints("/r", 3), 1);
  EXPECT_EQ(FlagValue(args, "--stream-maxlen"), "0");
  EXPECT_EQ(FlagValue(args, "--item-compression"), "lz4");
}

TEST(LocalClusterTest, EveryRoleIsToldHowToBeScheduled) {
  ClusterOptions options = Options();
  ClusterEndpoints endpoints = MakeEndpoints("/r", 2);
  for (const std::string scheduling : {"batch", "inherit"}) {
    options.cpu_scheduling = scheduling;
    EXPECT_EQ(FlagValue(CoordinatorArgs(options, endpoints), "--cpu-scheduling"), scheduling);
    EXPECT_EQ(FlagValue(FetcherArgs(options, endpoints, 2), "--cpu-scheduling"), scheduling);
    EXPECT_EQ(FlagValue(ProcessorArgs(options, endpoints, 1), "--cpu-scheduling"), scheduling);
  }
}

TEST(LocalClusterTest, StartFailsClearlyWithoutTheRoleExecutables) {
  testing::TempDir dir;
  ClusterOptions options = Options();
  options.bin_dir = dir.File("empty-bin");
  StatusOr<std::unique_ptr<LocalCluster>> cluster =
      LocalCluster::Start(options, DataDir(dir.File("data")), nullptr);
  ASSERT_FALSE(cluster.ok());
  EXPECT_NE(cluster.status().message().find("feedcrawl-coordinator not found"),
            std::string::npos)
      << cluster.status().message();
}

// Stand-ins for the role executables, as shell scripts: the supervision logic (restarts, giving
// up, a finished --once run, stopping) does not depend on what the children do inside.
class FakeRoles {
 public:
  FakeRoles() { EXPECT_OK(DataDir(data_.path()).Prepare()); }

  void Write(const std::string& role, const std::string& body) {
    std::string path = bin_.File("feedcrawl-" + role);
    ASSERT_OK(feedcrawl::testing::WriteFile(path, "#!/bin/sh\n" + body + "\n"));
    ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
  }

  ClusterOptions Options(bool once) const {
    ClusterOptions options;
    options.bin_dir = bin_.path();
    options.redis_url = "unix:///nonexistent.sock";
    options.once = once;
    return options;
  }

  DataDir data_dir() const { return DataDir(data_.path()); }

 private:
  feedcrawl::testing::TempDir bin_;
  feedcrawl::testing::TempDir data_;
};

// Supervises until the cluster leaves kRunning (or 20 s pass).
StatusOr<LocalCluster::State> SuperviseUntilDone(LocalCluster& cluster) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (true) {
    StatusOr<LocalCluster::State> state = cluster.Supervise();
    if (!state.ok() || *state != LocalCluster::State::kRunning ||
        std::chrono::steady_clock::now() > deadline) {
      return state;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(LocalClusterSupervisionTest, OnceRunFinishesWhenTheCoordinatorExitsCleanly) {
  FakeRoles roles;
  roles.Write("coordinator", "echo \"$@\"; sleep 0.2; exit 0");
  roles.Write("fetcher", "exec sleep 60");
  roles.Write("processor", "exec sleep 60");
  std::vector<std::string> messages;
  ASSERT_OK_AND_ASSIGN(auto cluster,
                       LocalCluster::Start(roles.Options(/*once=*/true), roles.data_dir(),
                                           [&](const std::string& m) { messages.push_back(m); }));
  ASSERT_OK_AND_ASSIGN(LocalCluster::State state, SuperviseUntilDone(*cluster));
  EXPECT_EQ(state, LocalCluster::State::kFinished);
  cluster->Stop();
  EXPECT_TRUE(messages.empty()) << messages.front();
  // The coordinator's output went to its log, with the flags it was given.
  ASSERT_OK_AND_ASSIGN(std::string log, feedcrawl::testing::ReadFile(cluster->CoordinatorLog()));
  EXPECT_NE(log.find("--once"), std::string::npos) << log;
  EXPECT_EQ(cluster->CoordinatorLog(), roles.data_dir().LogPath("coordinator", 1));
}

TEST(LocalClusterSupervisionTest, CrashingWorkerIsRestartedThenGivenUpOn) {
  FakeRoles roles;
  roles.Write("coordinator", "exec sleep 60");
  roles.Write("fetcher", "echo fetcher failing; exit 3");
  roles.Write("processor", "exec sleep 60");
  std::vector<std::string> messages;
  ASSERT_OK_AND_ASSIGN(auto cluster,
                       LocalCluster::Start(roles.Options(/*once=*/true), roles.data_dir(),
                                           [&](const std::string& m) { messages.push_back(m); }));
  StatusOr<LocalCluster::State> state = SuperviseUntilDone(*cluster);
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find("fetcher-1 exited with status 3"), std::string::npos)
      << state.status().message();
  EXPECT_NE(state.status().message().find("giving up"), std::string::npos);
  EXPECT_NE(state.status().message().find(roles.data_dir().LogPath("fetcher", 1)),
            std::string::npos);
  ASSERT_EQ(messages.size(), static_cast<size_t>(LocalCluster::kMaxRestarts));
  EXPECT_NE(messages[0].find("restarting (1/5)"), std::string::npos) << messages[0];
  EXPECT_NE(messages[4].find("restarting (5/5)"), std::string::npos) << messages[4];
  // Restarts append to the slot's log rather than replacing it.
  ASSERT_OK_AND_ASSIGN(std::string log,
                       feedcrawl::testing::ReadFile(roles.data_dir().LogPath("fetcher", 1)));
  EXPECT_EQ(log.size(), std::string("fetcher failing\n").size() * 6) << log;
  cluster->Stop();
  // Every process the slots ran is in the usage, the restarted ones included, once each.
  std::vector<RoleUsage> usage = cluster->Usage();
  ASSERT_EQ(usage.size(), 3u);
  EXPECT_EQ(usage[0].role, "coordinator");
  EXPECT_EQ(usage[0].processes, 1);
  std::vector<std::pair<std::string, int>> counts;
  for (const RoleUsage& role : usage) counts.emplace_back(role.role, role.processes);
  EXPECT_THAT(counts, ::testing::UnorderedElementsAre(::testing::Pair("coordinator", 1),
                                                     ::testing::Pair("processor", 1),
                                                     ::testing::Pair("fetcher", 6)));
  for (const RoleUsage& role : usage) EXPECT_GT(role.usage.peak_rss_kb, 0) << role.role;
}

TEST(LocalClusterSupervisionTest, CoordinatorFailureIsFatalAndShowsItsLog) {
  FakeRoles roles;
  roles.Write("coordinator", "echo 'cannot bind control socket' >&2; exit 4");
  roles.Write("fetcher", "exec sleep 60");
  roles.Write("processor", "exec sleep 60");
  ASSERT_OK_AND_ASSIGN(auto cluster,
                       LocalCluster::Start(roles.Options(/*once=*/false), roles.data_dir(), {}));
  StatusOr<LocalCluster::State> state = SuperviseUntilDone(*cluster);
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find("coordinator exited with status 4"), std::string::npos)
      << state.status().message();
  EXPECT_NE(state.status().message().find("cannot bind control socket"), std::string::npos);
  cluster->Stop();
}

TEST(LocalClusterSupervisionTest, ContinuousCoordinatorExitingCleanlyIsStillAFailure) {
  FakeRoles roles;
  roles.Write("coordinator", "exit 0");
  roles.Write("fetcher", "exec sleep 60");
  roles.Write("processor", "exec sleep 60");
  ASSERT_OK_AND_ASSIGN(auto cluster,
                       LocalCluster::Start(roles.Options(/*once=*/false), roles.data_dir(), {}));
  EXPECT_FALSE(SuperviseUntilDone(*cluster).ok());
  cluster->Stop();
}

TEST(LocalClusterSupervisionTest, StopKillsChildrenThatIgnoreSigtermWhenHurried) {
  FakeRoles roles;
  roles.Write("coordinator", "exec sleep 60");
  roles.Write("fetcher", "trap '' TERM; while :; do sleep 0.05; done");
  roles.Write("processor", "exec sleep 60");
  std::vector<std::string> messages;
  ASSERT_OK_AND_ASSIGN(auto cluster,
                       LocalCluster::Start(roles.Options(/*once=*/false), roles.data_dir(),
                                           [&](const std::string& m) { messages.push_back(m); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the trap be set
  cluster->Stop([] { return true; });
  ASSERT_OK_AND_ASSIGN(LocalCluster::State state, cluster->Supervise());
  EXPECT_EQ(state, LocalCluster::State::kFinished);
  bool killed_fetcher = std::any_of(messages.begin(), messages.end(), [](const std::string& m) {
    return m.find("fetcher-1 did not stop in time") != std::string::npos;
  });
  EXPECT_TRUE(killed_fetcher);
}

TEST(DataDirTest, LayoutIsAbsolute) {
  DataDir dir("relative/dir/");
  EXPECT_EQ(dir.root().front(), '/');
  EXPECT_EQ(dir.root().substr(dir.root().size() - 13), "/relative/dir");
  EXPECT_EQ(dir.LogPath("fetcher", 2), dir.root() + "/logs/fetcher-2.log");
  EXPECT_EQ(dir.RedisUrlFile(), dir.root() + "/run/redis.url");
}

TEST(DataDirTest, LockIsExclusiveUntilReleased) {
  testing::TempDir temp;
  DataDir dir(temp.File("data"));
  ASSERT_OK(dir.Prepare());
  ASSERT_OK_AND_ASSIGN(auto lock, DataDirLock::Acquire(dir));
  StatusOr<std::unique_ptr<DataDirLock>> second = DataDirLock::Acquire(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find(dir.root()), std::string::npos);
  lock.reset();
  EXPECT_OK(DataDirLock::Acquire(dir));
}

TEST(SocketDirTest, ShortDirectoryIsUsedAsIs) {
  testing::TempDir temp;
  ASSERT_OK_AND_ASSIGN(auto dir, SocketDir::Choose(temp.File("run"), "results-out.sock"));
  EXPECT_EQ(dir->path(), temp.File("run"));
  EXPECT_FALSE(dir->is_temporary());
  struct stat info {};
  EXPECT_EQ(::stat(dir->path().c_str(), &info), 0);
}

TEST(SocketDirTest, LongDirectoryFallsBackToAShortTemporaryOne) {
  std::string deep = "/nonexistent/" + std::string(120, 'x');
  std::string path;
  {
    ASSERT_OK_AND_ASSIGN(auto dir, SocketDir::Choose(deep, "results-out.sock"));
    path = dir->path();
    EXPECT_TRUE(dir->is_temporary());
    EXPECT_LE(path.size() + 1 + std::string("results-out.sock").size(),
              SocketDir::kMaxSocketPath);
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_TRUE(S_ISDIR(info.st_mode));
  }
  struct stat info {};
  EXPECT_NE(::stat(path.c_str(), &info), 0) << "temporary socket dir was not removed";
}

}  // namespace
}  // namespace feedcrawl::cli
