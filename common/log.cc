#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace feedcrawl {
namespace {

// Appends `text` as the body of a JSON string: quotes, backslashes and control characters are
// escaped; other bytes pass through, so UTF-8 stays readable. Invalid UTF-8 is passed on as is:
// log collectors accept it, and replacing it would hide what a feed really sent.
void AppendJsonEscaped(spdlog::string_view_t text, spdlog::memory_buf_t& dest) {
  for (char c : text) {
    switch (c) {
      case '"': dest.append(spdlog::string_view_t("\\\"")); break;
      case '\\': dest.append(spdlog::string_view_t("\\\\")); break;
      case '\n': dest.append(spdlog::string_view_t("\\n")); break;
      case '\r': dest.append(spdlog::string_view_t("\\r")); break;
      case '\t': dest.append(spdlog::string_view_t("\\t")); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned char>(c));
          dest.append(spdlog::string_view_t(escaped));
        } else {
          dest.push_back(c);
        }
    }
  }
}

void Append(spdlog::memory_buf_t& dest, const std::string& text) {
  dest.append(spdlog::string_view_t(text));
}

// One JSON object per line. Field order is fixed so the lines also read well by eye.
class JsonFormatter : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string process) : process_(std::move(process)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const auto since_epoch = msg.time.time_since_epoch();
    const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
    const int millis = static_cast<int>(duration_cast<milliseconds>(since_epoch).count() % 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char time[96];
    std::snprintf(time, sizeof(time), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
    Append(dest, std::string("{\"time\":\"") + time + "\",\"level\":\"");
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level);
    Append(dest, "\",\"process\":\"");
    AppendJsonEscaped(process_, dest);
    Append(dest, "\",\"pid\":" + std::to_string(getpid()) + ",\"msg\":\"");
    AppendJsonEscaped(msg.payload, dest);
    Append(dest, "\"}\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(process_);
  }

 private:
  std::string process_;
};

}  // namespace

StatusOr<std::unique_ptr<spdlog::formatter>> MakeLogFormatter(const LogOptions& options) {
  if (options.format == "json") {
    return std::unique_ptr<spdlog::formatter>(std::make_unique<JsonFormatter>(options.name));
  }
  if (options.format == "text") {
    return std::unique_ptr<spdlog::formatter>(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ " + options.name + "[%P] %v"));
  }
  return Status::InvalidArgument("unknown log format '" + options.format + "' (text or json)");
}

Status InitLogging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return Status::InvalidArgument("unknown log level '" + options.level + "'");
  }
  auto formatter = MakeLogFormatter(options);
  if (!formatter.ok()) return formatter.status();
  // Not registered under a name: a second call (tests) replaces the default logger instead of
  // failing on a duplicate name.
  auto logger = std::make_shared<spdlog::logger>(
      options.name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::move(*formatter));
  logger->set_level(level);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace feedcrawl
