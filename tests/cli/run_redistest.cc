// `feedcrawl run`: how it fails and how it stops. (Whole crawls are tested end to end in
// tests/e2e.) Runs the real binary with the real role executables and redis-server.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "cli/data_dir.h"
#include "common/redis.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl::cli {
namespace {

using testing::CliResult;
using testing::FeedcrawlPath;
using testing::RunFeedcrawl;

struct RunningProcess {
  int pid = 0;
  std::string command;  // its arguments, separated by spaces
};

// Processes whose command line mentions `needle` (the children name the data dir in theirs).
std::vector<RunningProcess> RunningProcessesMentioning(const std::string& needle) {
  std::vector<RunningProcess> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    StatusOr<std::string> cmdline =
        feedcrawl::testing::ReadFile(entry.path().string() + "/cmdline");
    if (!cmdline.ok()) continue;
    std::string text = *cmdline;
    for (char& c : text) {
      if (c == '\0') c = ' ';
    }
    if (text.find(needle) != std::string::npos) found.push_back({std::stoi(name), text});
  }
  return found;
}

std::vector<std::string> ProcessesMentioning(const std::string& needle) {
  std::vector<std::string> commands;
  for (RunningProcess& process : RunningProcessesMentioning(needle)) {
    commands.push_back(std::move(process.command));
  }
  return commands;
}

// The scheduling policy of each of a process's threads (SCHED_OTHER, SCHED_BATCH...).
std::vector<int> ThreadPolicies(int pid) {
  std::vector<int> policies;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/task", error)) {
    int policy = sched_getscheduler(std::stoi(task.path().filename().string()));
    if (policy >= 0) policies.push_back(policy);
  }
  return policies;
}

// Whether the command runs a role executable (the data dir's name may mention feedcrawl too).
bool IsRole(const std::string& command) {
  std::string program = command.substr(0, command.find(' '));
  program = program.substr(program.rfind('/') + 1);
  return program == "feedcrawl-coordinator" || program == "feedcrawl-fetcher" ||
         program == "feedcrawl-processor";
}

// Waits until every role of a run (coordinator, fetcher, processors) has started ZeroMQ's
// threads, then returns each role's and the redis-server's thread policies by command.
std::vector<std::pair<std::string, std::vector<int>>> ChildThreadPolicies(
    const std::string& data_root) {
  std::vector<std::pair<std::string, std::vector<int>>> children;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    children.clear();
    bool started = true;
    for (const RunningProcess& process : RunningProcessesMentioning(data_root)) {
      std::vector<int> policies = ThreadPolicies(process.pid);
      // A role's main thread, ZeroMQ's I/O thread and its reaper.
      if (IsRole(process.command) && policies.size() < 3) {
        started = false;
      }
      children.emplace_back(process.command, std::move(policies));
    }
    if (started || std::chrono::steady_clock::now() > deadline) return children;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool WaitForFile(const std::string& path, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// What the redis-server a running `feedcrawl run` started says of its settings: its pages
// (disable-thp, and its allocator's statistics, jemalloc's options among them) and how it
// writes the base of its append-only file.
struct ServerSettings {
  std::string disable_thp;
  std::string rdbcompression;
  std::string malloc_stats;
};

StatusOr<std::string> ConfigValue(RedisClient& redis, const std::string& name) {
  StatusOr<RedisReply> reply = redis.Command({"CONFIG", "GET", name});
  if (!reply.ok()) return reply.status();
  if (reply->elements.size() != 2) return Status::Internal("CONFIG GET " + name + ": no value");
  return reply->elements[1].str;
}

StatusOr<ServerSettings> ReadServerSettings(const DataDir& data) {
  StatusOr<std::string> url = feedcrawl::testing::ReadFile(data.RedisUrlFile());
  if (!url.ok()) return url.status();
  StatusOr<std::unique_ptr<RedisClient>> redis =
      RedisClient::Connect(url->substr(0, url->find('\n')));
  if (!redis.ok()) return redis.status();
  ServerSettings settings;
  StatusOr<std::string> thp = ConfigValue(**redis, "disable-thp");
  if (!thp.ok()) return thp.status();
  settings.disable_thp = *thp;
  StatusOr<std::string> rdbcompression = ConfigValue(**redis, "rdbcompression");
  if (!rdbcompression.ok()) return rdbcompression.status();
  settings.rdbcompression = *rdbcompression;
  StatusOr<RedisReply> allocator = (*redis)->Command({"MEMORY", "MALLOC-STATS"});
  if (!allocator.ok()) return allocator.status();
  settings.malloc_stats = allocator->str;
  return settings;
}

TEST(RunCommandTest, MissingRedisServerIsAClearFailure) {
  feedcrawl::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(CliResult result,
                       RunFeedcrawl({"run", "--once", "--data-dir", dir.File("data")},
                                    {{"PATH", dir.File("empty-path")}}));
  EXPECT_EQ(result.exit.exit_code, 1);
  EXPECT_NE(result.err.find("redis-server not found"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--redis"), std::string::npos) << result.err;
}

TEST(RunCommandTest, BadFeedListIsAUsageErrorBeforeAnythingStarts) {
  feedcrawl::testing::TempDir dir;
  ASSERT_OK(feedcrawl::testing::WriteFile(dir.File("feeds.txt"), "https://a.test/\nnonsense\n"));
  ASSERT_OK_AND_ASSIGN(CliResult result,
                       RunFeedcrawl({"run", "--once", "--data-dir", dir.File("data"),
                                     dir.File("feeds.txt")}));
  EXPECT_EQ(result.exit.exit_code, 2);
  EXPECT_NE(result.err.find("line 2"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(DataDir(dir.File("data")).LogsDir() + "/redis.log"));

  ASSERT_OK_AND_ASSIGN(CliResult missing,
                       RunFeedcrawl({"run", "--data-dir", dir.File("data"), dir.File("no.txt")}));
  EXPECT_EQ(missing.exit.exit_code, 2);
}

TEST(RunCommandTest, MalformedDurationIsAUsageError) {
  feedcrawl::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(CliResult result,
                       RunFeedcrawl({"run", "--once", "--data-dir", dir.File("data"),
                                     "--max-interval", "soon"}));
  EXPECT_EQ(result.exit.exit_code, 2);
  EXPECT_NE(result.err.find("--max-interval"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(DataDir(dir.File("data")).LogsDir() + "/redis.log"));
}

// Ctrl-C: the children are stopped, redis-server too, and the exit status is 130.
TEST(RunCommandTest, InterruptStopsEveryChildAndExits130) {
  feedcrawl::testing::TempDir dir;
  DataDir data(dir.File("data"));
  feedcrawl::testing::SubprocessOptions options;
  options.capture_stdout = true;
  options.stderr_path = dir.File("stderr");
  options.unset_env = {"FEEDCRAWL_REDIS", "FEEDCRAWL_DATA_DIR", "FEEDCRAWL_PREFIX", "MALLOC_CONF"};
  ASSERT_OK_AND_ASSIGN(auto run,
                       feedcrawl::testing::Subprocess::Start(
                           FeedcrawlPath(),
                           {"run", "--no-progress", "--processors", "1", "--data-dir",
                            data.root(), "--min-interval", "1h30m", "--pause-after-failures",
                            "9", "--stream-maxlen", "0", "--item-compression", "lz4"},
                           options));
  // The last child started is the (only) processor; its log appears when it is spawned.
  ASSERT_TRUE(WaitForFile(data.LogPath("processor", 1), std::chrono::seconds(60)))
      << feedcrawl::testing::ReadFile(dir.File("stderr")).status().ToString();
  // Scheduling settings given to `run` reach its coordinator, the stream's cap and the items'
  // compression its processor.
  // The log is opened before the child is forked, so its command line may take a moment more.
  std::vector<std::string> children;
  bool coordinator_told = false;
  bool processor_told = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int look = 0;
       !(coordinator_told && processor_told) && std::chrono::steady_clock::now() < deadline;
       ++look) {
    if (look > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    children = ProcessesMentioning(data.root());
    for (const std::string& command : children) {
      if (command.find("feedcrawl-coordinator") != std::string::npos) {
        coordinator_told = command.find("--min-interval-ms 5400000") != std::string::npos &&
                           command.find("--pause-after-failures 9") != std::string::npos;
      }
      if (command.find("feedcrawl-processor") != std::string::npos) {
        processor_told = command.find("--stream-maxlen 0") != std::string::npos &&
                         command.find("--item-compression lz4") != std::string::npos;
      }
    }
  }
  EXPECT_GE(children.size(), 4u);  // redis, coordinator, 2 workers
  EXPECT_TRUE(coordinator_told);
  EXPECT_TRUE(processor_told);
  // Every thread of every role runs under SCHED_BATCH; the redis-server keeps the policy the
  // command was started with (the normal one, unless the tests themselves run under another).
  const int started_under = sched_getscheduler(0);
  const int role_policy = started_under == SCHED_OTHER ? SCHED_BATCH : started_under;
  int roles = 0;
  for (const auto& [command, policies] : ChildThreadPolicies(data.root())) {
    const bool role = IsRole(command);
    roles += role ? 1 : 0;
    EXPECT_GE(policies.size(), role ? 3u : 1u) << command;
    for (int policy : policies) {
      EXPECT_EQ(policy, role ? role_policy : started_under) << command;
    }
  }
  EXPECT_EQ(roles, 3);
  // Its own Redis keeps Redis's page settings: no huge pages, from the server or its allocator.
  // Its rewrites write the data set without running LZF over every value.
  ASSERT_OK_AND_ASSIGN(ServerSettings server, ReadServerSettings(data));
  EXPECT_EQ(server.disable_thp, "yes");
  EXPECT_EQ(server.rdbcompression, "no");
  EXPECT_EQ(server.malloc_stats.find("opt.thp: \"always\""), std::string::npos)
      << server.malloc_stats;

  ASSERT_OK(run->Signal(SIGINT));
  ASSERT_OK_AND_ASSIGN(feedcrawl::testing::ExitStatus exit, run->Wait(60'000));
  StatusOr<std::string> err = feedcrawl::testing::ReadFile(dir.File("stderr"));
  EXPECT_EQ(exit.exit_code, 130) << exit.ToString() << "\n" << (err.ok() ? *err : "");
  EXPECT_TRUE(ProcessesMentioning(data.root()).empty());
  // redis-server was stopped, not killed: it removed its address for the next command.
  EXPECT_FALSE(std::filesystem::exists(data.RedisUrlFile()));
}

// --cpu-scheduling inherit leaves the roles under the policy `run` was started with.
TEST(RunCommandTest, CpuSchedulingInheritKeepsTheRolesOnTheCommandsPolicy) {
  feedcrawl::testing::TempDir dir;
  DataDir data(dir.File("data"));
  feedcrawl::testing::SubprocessOptions options;
  options.stderr_path = dir.File("stderr");
  options.unset_env = {"FEEDCRAWL_REDIS", "FEEDCRAWL_DATA_DIR", "FEEDCRAWL_PREFIX",
                       "FEEDCRAWL_CPU_SCHEDULING"};
  ASSERT_OK_AND_ASSIGN(auto run, feedcrawl::testing::Subprocess::Start(
                                     FeedcrawlPath(),
                                     {"run", "--no-progress", "--cpu-scheduling", "inherit",
                                      "--processors", "1", "--data-dir", data.root()},
                                     options));
  ASSERT_TRUE(WaitForFile(data.LogPath("processor", 1), std::chrono::seconds(60)))
      << feedcrawl::testing::ReadFile(dir.File("stderr")).status().ToString();
  int roles = 0;
  for (const auto& [command, policies] : ChildThreadPolicies(data.root())) {
    if (!IsRole(command)) continue;
    ++roles;
    EXPECT_NE(command.find("--cpu-scheduling inherit"), std::string::npos) << command;
    EXPECT_GE(policies.size(), 3u) << command;
    for (int policy : policies) EXPECT_EQ(policy, sched_getscheduler(0)) << command;
  }
  EXPECT_EQ(roles, 3);

  ASSERT_OK(run->Signal(SIGINT));
  ASSERT_OK_AND_ASSIGN(feedcrawl::testing::ExitStatus exit, run->Wait(60'000));
  EXPECT_EQ(exit.exit_code, 130) << exit.ToString();
  EXPECT_TRUE(ProcessesMentioning(data.root()).empty());
}

// --redis-huge-pages puts the server `run` starts on 2 MB pages, keeping the allocator options
// the command was given; it is refused with a server of the user's own, which it cannot reach.
TEST(RunCommandTest, RedisHugePagesReachTheServerRunStarts) {
  feedcrawl::testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(CliResult refused,
                       RunFeedcrawl({"run", "--once", "--redis-huge-pages", "--redis",
                                     "unix://" + dir.File("none.sock"), "--data-dir",
                                     dir.File("data")}));
  EXPECT_EQ(refused.exit.exit_code, 2);
  EXPECT_NE(refused.err.find("--redis-huge-pages"), std::string::npos) << refused.err;

  DataDir data(dir.File("data"));
  feedcrawl::testing::SubprocessOptions options;
  options.stderr_path = dir.File("stderr");
  options.unset_env = {"FEEDCRAWL_REDIS", "FEEDCRAWL_DATA_DIR", "FEEDCRAWL_PREFIX"};
  options.env = {{"MALLOC_CONF", "narenas:3"}};
  ASSERT_OK_AND_ASSIGN(auto run, feedcrawl::testing::Subprocess::Start(
                                     FeedcrawlPath(),
                                     {"run", "--no-progress", "--redis-huge-pages",
                                      "--processors", "1", "--data-dir", data.root()},
                                     options));
  ASSERT_TRUE(WaitForFile(data.LogPath("processor", 1), std::chrono::seconds(60)))
      << feedcrawl::testing::ReadFile(dir.File("stderr")).status().ToString();
  ASSERT_OK_AND_ASSIGN(ServerSettings server, ReadServerSettings(data));
  EXPECT_EQ(server.disable_thp, "no");
  EXPECT_NE(server.malloc_stats.find("opt.thp: \"always\""), std::string::npos)
      << server.malloc_stats;
  EXPECT_NE(server.malloc_stats.find("opt.narenas: 3"), std::string::npos) << server.malloc_stats;

  ASSERT_OK(run->Signal(SIGINT));
  ASSERT_OK_AND_ASSIGN(feedcrawl::testing::ExitStatus exit, run->Wait(60'000));
  EXPECT_EQ(exit.exit_code, 130) << exit.ToString();
  EXPECT_TRUE(ProcessesMentioning(data.root()).empty());
}

}  // namespace
}  // namespace feedcrawl::cli
