#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace feedcrawl {

Status InitLogging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return Status::InvalidArgument("unknown log level '" + options.level + "'");
  }
  auto logger = spdlog::stderr_logger_mt(options.name + "-" + std::to_string(reinterpret_cast<uintptr_t>(&options)));
  if (options.format == "json") {
    logger->set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","process":")" + options.name +
            R"(","pid":%P,"msg":"%v"})",
        spdlog::pattern_time_type::utc);
  } else if (options.format == "text") {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ " + options.name + "[%P] %v");
  } else {
    return Status::InvalidArgument("unknown log format '" + options.format + "' (text or json)");
  }
  logger->set_level(level);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace feedcrawl
