// Runs the real feedcrawl binary for a test and collects what it printed. Each call starts a
// fresh process with the FEEDCRAWL_* variables cleared, so only the given arguments count.
// Not thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tests/support/subprocess.h"

namespace feedcrawl::cli::testing {

struct CliResult {
  feedcrawl::testing::ExitStatus exit;
  std::string out;  // stdout
  std::string err;  // stderr
  // Non-empty lines of stdout.
  std::vector<std::string> Lines() const;
};

// Runs `feedcrawl args...` to completion (at most two minutes), with `env` added to its
// environment.
StatusOr<CliResult> RunFeedcrawl(
    const std::vector<std::string>& args,
    const std::vector<std::pair<std::string, std::string>>& env = {});

// The path of the feedcrawl binary under test.
std::string FeedcrawlPath();

}  // namespace feedcrawl::cli::testing
