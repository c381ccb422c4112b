#include "cli/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl::cli {
namespace {

constexpr int64_t kTimeoutMs = 10'000;

TEST(ChildProcessTest, ReportsExitStatusAndWritesTheLog) {
  testing::TempDir dir;
  SpawnOptions options;
  options.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  options.log_path = dir.File("child.log");
  ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn(options));
  ASSERT_TRUE(child->WaitUntil(MonotonicMs() + kTimeoutMs));
  EXPECT_EQ(child->exit_code(), 3);
  EXPECT_EQ(child->term_signal(), 0);
  EXPECT_EQ(child->DescribeExit(), "exited with status 3");
  ASSERT_OK_AND_ASSIGN(std::string log, testing::ReadFile(dir.File("child.log")));
  EXPECT_EQ(log, "out\nerr\n");
}

TEST(ChildProcessTest, ReportsTheCpuTimeAndPeakMemoryItUsed) {
  SpawnOptions options;
  // Holds 32 MB in a shell variable, then counts for a while.
  options.argv = {"sh", "-c",
                  "x=$(head -c 33554432 /dev/zero | tr '\\0' a); i=0; "
                  "while [ $i -lt 200000 ]; do i=$((i+1)); done; exit 0"};
  ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn(options));
  ASSERT_TRUE(child->WaitUntil(MonotonicMs() + 60'000));
  EXPECT_EQ(child->exit_code(), 0);
  EXPECT_GE(child->usage().peak_rss_kb, 32 * 1024);
  EXPECT_GE(child->usage().cpu_us, 10'000);

  ResourceUsage together = child->usage();
  together.Add(ResourceUsage{1'000'000, 1024});
  EXPECT_EQ(together.cpu_us, child->usage().cpu_us + 1'000'000);
  EXPECT_EQ(together.peak_rss_kb, child->usage().peak_rss_kb);
}

TEST(ChildProcessTest, AppendsToTheLogUnlessAskedToTruncate) {
  testing::TempDir dir;
  SpawnOptions options;
  options.argv = {"sh", "-c", "echo again"};
  options.log_path = dir.File("child.log");
  ASSERT_OK(testing::WriteFile(options.log_path, "before\n"));
  ASSERT_OK_AND_ASSIGN(auto first, ChildProcess::Spawn(options));
  ASSERT_TRUE(first->WaitUntil(MonotonicMs() + kTimeoutMs));
  ASSERT_OK_AND_ASSIGN(std::string appended, testing::ReadFile(options.log_path));
  EXPECT_EQ(appended, "before\nagain\n");

  options.truncate_log = true;
  ASSERT_OK_AND_ASSIGN(auto second, ChildProcess::Spawn(options));
  ASSERT_TRUE(second->WaitUntil(MonotonicMs() + kTimeoutMs));
  ASSERT_OK_AND_ASSIGN(std::string fresh, testing::ReadFile(options.log_path));
  EXPECT_EQ(fresh, "again\n");
}

TEST(ChildProcessTest, EnvironmentEntriesAreAddedOrReplaced) {
  ASSERT_EQ(setenv("FEEDCRAWL_CHILD_KEPT", "inherited", 1), 0);
  ASSERT_EQ(setenv("FEEDCRAWL_CHILD_REPLACED", "inherited", 1), 0);
  testing::TempDir dir;
  SpawnOptions options;
  options.argv = {"sh", "-c",
                  "echo $FEEDCRAWL_CHILD_KEPT $FEEDCRAWL_CHILD_REPLACED $FEEDCRAWL_CHILD_ADDED; "
                  "env | grep -c '^FEEDCRAWL_CHILD_REPLACED='"};
  options.env = {"FEEDCRAWL_CHILD_REPLACED=set", "FEEDCRAWL_CHILD_ADDED=new"};
  options.log_path = dir.File("child.log");
  ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn(options));
  ASSERT_TRUE(child->WaitUntil(MonotonicMs() + kTimeoutMs));
  unsetenv("FEEDCRAWL_CHILD_KEPT");
  unsetenv("FEEDCRAWL_CHILD_REPLACED");
  ASSERT_OK_AND_ASSIGN(std::string log, testing::ReadFile(dir.File("child.log")));
  EXPECT_EQ(log, "inherited set new\n1\n");
}

TEST(ChildProcessTest, RunsInItsOwnProcessGroup) {
  testing::TempDir dir;
  SpawnOptions options;
  options.argv = {"sh", "-c", "cut -d' ' -f5 /proc/$$/stat; echo $$"};
  options.log_path = dir.File("pgid.log");
  ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn(options));
  ASSERT_TRUE(child->WaitUntil(MonotonicMs() + kTimeoutMs));
  ASSERT_OK_AND_ASSIGN(std::string log, testing::ReadFile(options.log_path));
  std::string pid = std::to_string(child->pid());
  EXPECT_EQ(log, pid + "\n" + pid + "\n");
  EXPECT_NE(::getpgrp(), child->pid());
}

TEST(ChildProcessTest, StopEndsAChildThatIgnoresNothing) {
  SpawnOptions options;
  options.argv = {"sleep", "60"};
  ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn(options));
  EXPECT_FALSE(child->Poll());
  child->Stop(kTimeoutMs);
  EXPECT_TRUE(child->exited());
  EXPECT_EQ(child->term_signal(), SIGTERM);
  EXPECT_NE(child->DescribeExit().find("killed by signal 15"), std::string::npos);
}

TEST(ChildProcessTest, StopKillsAChildThatIgnoresSigterm) {
  testing::TempDir dir;
  SpawnOptions options;
  // The child says when its trap is in place, so SIGTERM cannot arrive before it.
  options.argv = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"};
  options.log_path = dir.File("stubborn.log");
  ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn(options));
  int64_t deadline = MonotonicMs() + kTimeoutMs;
  while (MonotonicMs() < deadline) {
    StatusOr<std::string> log = testing::ReadFile(options.log_path);
    if (log.ok() && !log->empty()) break;
    ::usleep(10'000);
  }
  child->Stop(/*timeout_ms=*/200);
  EXPECT_TRUE(child->exited());
  EXPECT_EQ(child->term_signal(), SIGKILL);
}

TEST(ChildProcessTest, MissingProgramIsNotFound) {
  SpawnOptions options;
  options.argv = {"feedcrawl-no-such-program"};
  StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(options);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kNotFound);
  EXPECT_NE(child.status().message().find("not found in PATH"), std::string::npos);
}

TEST(ChildProcessTest, ExecFailureIsReportedFromTheChild) {
  testing::TempDir dir;
  // Executable bit set but not a valid program: found, yet exec fails (ENOEXEC).
  std::string path = dir.File("not-a-program");
  ASSERT_OK(testing::WriteFile(path, std::string("\x7f" "ELF garbage", 12)));
  ASSERT_EQ(::chmod(path.c_str(), 0700), 0);
  SpawnOptions options;
  options.argv = {path};
  StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(options);
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().message().find("cannot execute"), std::string::npos)
      << child.status().message();
}

TEST(ChildProcessTest, FindExecutable) {
  EXPECT_NE(FindExecutable("sh"), "");
  EXPECT_EQ(FindExecutable("sh").front(), '/');
  EXPECT_EQ(FindExecutable("feedcrawl-no-such-program"), "");
  EXPECT_EQ(FindExecutable("/bin/sh"), "/bin/sh");
  EXPECT_EQ(FindExecutable("/nonexistent/sh"), "");
}

}  // namespace
}  // namespace feedcrawl::cli
