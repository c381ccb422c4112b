// `feedcrawl top` and `feedcrawl status` against a real redis-server holding the numbers a
// coordinator writes: top renders under a pseudo-terminal and exits on `q`; status prints them
// as JSON and fails its health check when they are stale.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clock.h"
#include "common/store.h"
#include "tests/cli/cli_runner.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

using testing::RedisServer;

class TopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(store_, Store::Open(redis_.Url()));
  }

  void WriteNumbers(int64_t updated_ms) {
    ASSERT_OK(store_->WriteStats({{"updated_ms", std::to_string(updated_ms)},
                                  {"feeds_total", "1234"},
                                  {"in_flight", "17"},
                                  {"fetches_total", "98765"},
                                  {"errors_timeout_total", "3"}}));
    ASSERT_OK(store_->WriteHostStats(
        {{"busy.example", R"({"fetches":500,"errors":1,"avg_ms":20,"max_ms":90})"},
         {"slow.example", R"({"fetches":2,"errors":0,"avg_ms":4000,"max_ms":7000})"}}));
    ASSERT_OK(store_->WriteWorkers({{"fetcher", "f-1", {{"active", "5"}, {"processed", "77"}}}},
                                   60'000, SystemClock::Instance().NowMs()));
  }

  RedisServer redis_;
  std::unique_ptr<Store> store_;
};

// Reads from the pty until `needle` shows up or the time is over; returns what it read.
std::string ReadUntil(int fd, const std::string& needle, int timeout_ms) {
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (seen.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    seen.append(buffer, static_cast<size_t>(n));
  }
  return seen;
}

TEST_F(TopTest, RendersUnderATerminalAndQuitsOnQ) {
  WriteNumbers(SystemClock::Instance().NowMs());
  const std::string binary = std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl";
  const std::string url = redis_.Url();
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 140;
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(binary.c_str(), binary.c_str(), "top", "--redis", url.c_str(), "--interval-ms", "200",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string screen = ReadUntil(master, "slow.example", 15'000);
  EXPECT_NE(screen.find("feedcrawl top"), std::string::npos) << screen;
  EXPECT_NE(screen.find("1,234"), std::string::npos) << screen;       // feeds
  EXPECT_NE(screen.find("98,765"), std::string::npos) << screen;      // fetches
  EXPECT_NE(screen.find("timeout 3"), std::string::npos) << screen;   // errors by class
  EXPECT_NE(screen.find("busy.example"), std::string::npos) << screen;
  EXPECT_NE(screen.find("slow.example"), std::string::npos) << screen;
  EXPECT_NE(screen.find("f-1"), std::string::npos) << screen;
  EXPECT_NE(screen.find("\x1b[2J"), std::string::npos) << "redraws with ANSI codes";

  ASSERT_EQ(::write(master, "q", 1), 1);
  int status = 0;
  pid_t done = 0;
  // Up to 10 s. Once top has closed the terminal, reading fails at once (EIO) while its exit
  // may not be reapable yet, so each turn also sleeps a little.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done == 0 && std::chrono::steady_clock::now() < deadline) {
    (void)ReadUntil(master, "\x01", 100);  // keep the pty drained
    done = ::waitpid(pid, &status, WNOHANG);
    if (done == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "top did not exit on q";
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  ::close(master);
}

TEST_F(TopTest, StatusPrintsJsonAndChecksFreshness) {
  WriteNumbers(SystemClock::Instance().NowMs());
  ASSERT_OK_AND_ASSIGN(auto fresh, cli::testing::RunFeedcrawl({"status", "--redis", redis_.Url(),
                                                                "--max-age-ms", "60000"}));
  ASSERT_TRUE(fresh.exit.Success()) << fresh.err;
  nlohmann::json json = nlohmann::json::parse(fresh.out, nullptr, false);
  ASSERT_TRUE(json.is_object()) << fresh.out;
  EXPECT_EQ(json["stats"]["in_flight"], 17);
  EXPECT_EQ(json["hosts"][0]["host"], "busy.example");
  EXPECT_EQ(json["workers"][0]["id"], "f-1");
  EXPECT_EQ(json["workers"][0]["processed"], 77);

  WriteNumbers(SystemClock::Instance().NowMs() - 120'000);
  ASSERT_OK_AND_ASSIGN(auto stale, cli::testing::RunFeedcrawl({"status", "--redis", redis_.Url(),
                                                                "--max-age-ms", "60000"}));
  EXPECT_EQ(stale.exit.exit_code, 1) << stale.out;
  EXPECT_NE(stale.err.find("old"), std::string::npos) << stale.err;
}

}  // namespace
}  // namespace feedcrawl
