// Logging setup shared by every executable: spdlog to stderr, human-readable by default or one
// JSON object per line ({"time","level","process","pid","msg"}; the message is escaped, so every
// line parses whatever it contains). Call InitLogging once from main() before starting threads;
// the formatter it installs is then used from any thread by spdlog.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace feedcrawl {

struct LogOptions {
  std::string level = "info";     // trace, debug, info, warn, error, off
  std::string format = "text";    // text or json
  std::string name = "feedcrawl"; // process role, shown in every line
};

Status InitLogging(const LogOptions& options);

// The formatter InitLogging installs for `options` (exposed so tests can format a message
// without capturing stderr). InvalidArgument for an unknown format.
StatusOr<std::unique_ptr<spdlog::formatter>> MakeLogFormatter(const LogOptions& options);

}  // namespace feedcrawl
