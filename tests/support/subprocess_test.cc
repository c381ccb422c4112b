#include "tests/support/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl::testing {
namespace {

SubprocessOptions Captured() {
  SubprocessOptions options;
  options.capture_stdout = true;
  return options;
}

// True once `pid` is gone or a zombie: killed, whoever reaps it.
bool ProcessEnded(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z';
}

bool WaitForProcessEnd(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    if (ProcessEnded(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(SubprocessTest, ReportsExitCode) {
  ASSERT_OK_AND_ASSIGN(auto child, Subprocess::Start("sh", {"-c", "exit 3"}));
  ASSERT_OK_AND_ASSIGN(ExitStatus exit, child->Wait(10000));
  EXPECT_TRUE(exit.Exited());
  EXPECT_EQ(exit.exit_code, 3);
  EXPECT_FALSE(exit.Success());
  EXPECT_FALSE(child->Running());
  // Waiting again returns the same answer.
  ASSERT_OK_AND_ASSIGN(ExitStatus again, child->Wait(0));
  EXPECT_EQ(again.exit_code, 3);
}

TEST(SubprocessTest, PassesArgumentsAndEnvironment) {
  SubprocessOptions options = Captured();
  options.env = {{"FC_TEST_VALUE", "hello world"}, {"HOME", "/nowhere"}};
  ASSERT_OK_AND_ASSIGN(
      auto child,
      Subprocess::Start("sh", {"-c", "echo \"$FC_TEST_VALUE|$HOME|$1\"", "sh", "arg with spaces"},
                        options));
  ASSERT_OK_AND_ASSIGN(std::string line, child->ReadLine(10000));
  EXPECT_EQ(line, "hello world|/nowhere|arg with spaces");
  EXPECT_EQ(child->ReadLine(10000).status().code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(ExitStatus exit, child->Wait(10000));
  EXPECT_TRUE(exit.Success());
}

TEST(SubprocessTest, UnsetsEnvironment) {
  setenv("FC_TEST_UNSET_ME", "present", 1);
  SubprocessOptions options = Captured();
  options.unset_env = {"FC_TEST_UNSET_ME"};
  ASSERT_OK_AND_ASSIGN(
      auto child, Subprocess::Start("sh", {"-c", "echo \"[${FC_TEST_UNSET_ME-unset}]\""}, options));
  ASSERT_OK_AND_ASSIGN(std::string line, child->ReadLine(10000));
  EXPECT_EQ(line, "[unset]");
  unsetenv("FC_TEST_UNSET_ME");
}

TEST(SubprocessTest, ReadsLinesAndAFinalLineWithoutNewline) {
  ASSERT_OK_AND_ASSIGN(auto child, Subprocess::Start("printf", {"one\ntwo\n\nlast"}, Captured()));
  std::vector<std::string> lines;
  while (true) {
    StatusOr<std::string> line = child->ReadLine(10000);
    if (!line.ok()) {
      EXPECT_EQ(line.status().code(), StatusCode::kNotFound) << line.status().ToString();
      break;
    }
    lines.push_back(*line);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "", "last"}));
}

TEST(SubprocessTest, ReadLineTimesOutWhileChildIsSilent) {
  ASSERT_OK_AND_ASSIGN(auto child, Subprocess::Start("sleep", {"30"}, Captured()));
  EXPECT_EQ(child->ReadLine(50).status().code(), StatusCode::kWouldBlock);
  EXPECT_TRUE(child->Running());
  EXPECT_EQ(child->Wait(50).status().code(), StatusCode::kWouldBlock);
}

TEST(SubprocessTest, ReadAllCollectsMergedStderr) {
  SubprocessOptions options = Captured();
  options.merge_stderr = true;
  ASSERT_OK_AND_ASSIGN(auto child,
                       Subprocess::Start("sh", {"-c", "echo out; echo err >&2"}, options));
  ASSERT_OK_AND_ASSIGN(std::string all, child->ReadAll(10000));
  EXPECT_NE(all.find("out\n"), std::string::npos) << all;
  EXPECT_NE(all.find("err\n"), std::string::npos) << all;
}

TEST(SubprocessTest, StderrToFileAndWorkingDirectory) {
  TempDir dir;
  SubprocessOptions options = Captured();
  options.stderr_path = dir.File("stderr.txt");
  options.working_dir = dir.path();
  ASSERT_OK_AND_ASSIGN(auto child, Subprocess::Start("sh", {"-c", "pwd; echo oops >&2"}, options));
  ASSERT_OK_AND_ASSIGN(std::string line, child->ReadLine(10000));
  EXPECT_EQ(std::filesystem::canonical(line), std::filesystem::canonical(dir.path()));
  ASSERT_OK_AND_ASSIGN(ExitStatus exit, child->Wait(10000));
  EXPECT_TRUE(exit.Success());
  ASSERT_OK_AND_ASSIGN(std::string err, ReadFile(options.stderr_path));
  EXPECT_EQ(err, "oops\n");
}

TEST(SubprocessTest, SignalEndsTheChild) {
  ASSERT_OK_AND_ASSIGN(auto child, Subprocess::Start("sleep", {"30"}));
  EXPECT_GT(child->Pid(), 0);
  ASSERT_OK(child->Signal(SIGTERM));
  ASSERT_OK_AND_ASSIGN(ExitStatus exit, child->Wait(10000));
  EXPECT_FALSE(exit.Exited());
  EXPECT_EQ(exit.signal, SIGTERM);
  EXPECT_EQ(child->Signal(SIGTERM).code(), StatusCode::kNotFound);
}

TEST(SubprocessTest, MissingProgramIsNotFound) {
  auto missing = Subprocess::Start("feedcrawl-no-such-program", {});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("PATH"), std::string::npos);

  TempDir dir;
  ASSERT_OK(WriteFile(dir.File("not-executable"), "#!/bin/sh\n"));
  EXPECT_EQ(Subprocess::Start(dir.File("not-executable"), {}).status().code(),
            StatusCode::kNotFound);
}

TEST(SubprocessTest, ExecFailureAfterForkIsReported) {
  TempDir dir;
  // Executable bit set but no valid format and no interpreter line: execve fails in the child.
  const std::string path = dir.File("bad-binary");
  ASSERT_OK(WriteFile(path, std::string("\x7f"
                                        "ELF garbage",
                                        12)));
  ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  auto started = Subprocess::Start(path, {});
  EXPECT_EQ(started.status().code(), StatusCode::kNotFound) << started.status().ToString();
}

TEST(SubprocessTest, DestructorKillsTheWholeProcessGroup) {
  pid_t grandchild = 0;
  pid_t child_pid = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto child,
                         Subprocess::Start("sh", {"-c", "sleep 30 & echo $!; wait"}, Captured()));
    child_pid = child->Pid();
    ASSERT_OK_AND_ASSIGN(std::string line, child->ReadLine(10000));
    grandchild = static_cast<pid_t>(std::stol(line));
    ASSERT_FALSE(ProcessEnded(grandchild));
  }
  EXPECT_TRUE(ProcessEnded(child_pid));
  EXPECT_TRUE(WaitForProcessEnd(grandchild));
}

TEST(SubprocessTest, ChildDiesWithItsParent) {
  // A forked copy of this test binary starts a child and exits without any cleanup, as a
  // crashing test would; the death signal must still end the child.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t parent = fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    close(fds[0]);
    auto child = Subprocess::Start("sleep", {"30"});
    const pid_t pid = child.ok() ? (*child)->Pid() : -1;
    ssize_t ignored = write(fds[1], &pid, sizeof(pid));
    (void)ignored;
    _exit(0);  // no destructors run
  }
  close(fds[1]);
  pid_t sleeper = -1;
  ASSERT_EQ(read(fds[0], &sleeper, sizeof(sleeper)), static_cast<ssize_t>(sizeof(sleeper)));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(parent, &status, 0), parent);
  ASSERT_GT(sleeper, 0);
  EXPECT_TRUE(WaitForProcessEnd(sleeper));
}

TEST(TempDirTest, IsRemovedWithItsContents) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    ASSERT_TRUE(std::filesystem::is_directory(path));
    std::filesystem::create_directories(dir.File("a/b"));
    ASSERT_OK(WriteFile(dir.File("a/b/c.txt"), "x"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TempDirTest, FreeTcpPortIsUsable) {
  ASSERT_OK_AND_ASSIGN(int port, FreeTcpPort());
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

}  // namespace
}  // namespace feedcrawl::testing
