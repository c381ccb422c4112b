// Logging setup shared by every executable: spdlog to stderr, human-readable by default or one
// JSON object per line. Call InitLogging once from main() before starting threads.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "common/status.h"

namespace feedcrawl {

struct LogOptions {
  std::string level = "info";     // trace, debug, info, warn, error, off
  std::string format = "text";    // text or json
  std::string name = "feedcrawl"; // process role, shown in every line
};

Status InitLogging(const LogOptions& options);

}  // namespace feedcrawl
