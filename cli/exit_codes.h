// Exit codes of the feedcrawl command, shared by every subcommand.
#pragma once

namespace feedcrawl::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;      // infrastructure errors: Redis, children, unreadable files
constexpr int kExitUsage = 2;        // bad command line or bad input list
constexpr int kExitInterrupted = 130;  // Ctrl-C (128 + SIGINT)

}  // namespace feedcrawl::cli
