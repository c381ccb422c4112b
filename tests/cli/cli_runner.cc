#include "tests/cli/cli_runner.h"

#include <sstream>

#include "tests/support/test_env.h"

namespace feedcrawl::cli::testing {

std::vector<std::string> CliResult::Lines() const {
  std::vector<std::string> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string FeedcrawlPath() { return std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl"; }

StatusOr<CliResult> RunFeedcrawl(const std::vector<std::string>& args,
                                 const std::vector<std::pair<std::string, std::string>>& env) {
  feedcrawl::testing::TempDir scratch;
  feedcrawl::testing::SubprocessOptions options;
  options.capture_stdout = true;
  options.stderr_path = scratch.File("stderr");
  options.env = env;
  options.unset_env = {"FEEDCRAWL_REDIS", "FEEDCRAWL_DATA_DIR", "FEEDCRAWL_PREFIX",
                       "FEEDCRAWL_LOG_LEVEL", "FEEDCRAWL_LOG_FORMAT"};
  StatusOr<std::unique_ptr<feedcrawl::testing::Subprocess>> process =
      feedcrawl::testing::Subprocess::Start(FeedcrawlPath(), args, options);
  if (!process.ok()) return process.status();
  CliResult result;
  StatusOr<std::string> out = (*process)->ReadAll(120'000);
  if (!out.ok()) return out.status();
  result.out = *out;
  StatusOr<feedcrawl::testing::ExitStatus> exit = (*process)->Wait(120'000);
  if (!exit.ok()) return exit.status();
  result.exit = *exit;
  StatusOr<std::string> err = feedcrawl::testing::ReadFile(scratch.File("stderr"));
  result.err = err.ok() ? *err : "";
  return result;
}

}  // namespace feedcrawl::cli::testing
