#include "cli/format.h"

#include <cmath>
#include <cstdio>

namespace feedcrawl::cli {

std::string FormatCount(uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string FormatDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  char buffer[48];
  if (ms < 60'000) {
    // Rounded to tenths so 59.96 s does not print as "60.0 s".
    int64_t tenths = (ms + 50) / 100;
    if (tenths < 600) {
      std::snprintf(buffer, sizeof(buffer), "%lld.%lld s", static_cast<long long>(tenths / 10),
                    static_cast<long long>(tenths % 10));
      return buffer;
    }
  }
  int64_t seconds = (ms + 500) / 1000;
  if (seconds < 3600) {
    std::snprintf(buffer, sizeof(buffer), "%lldm %02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%lldh %02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>((seconds % 3600) / 60));
  }
  return buffer;
}

std::string FormatRate(double per_second) {
  if (!std::isfinite(per_second) || per_second <= 0) return "0";
  if (per_second < 9.95) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.1f", per_second);
    return buffer;
  }
  return FormatCount(static_cast<uint64_t>(std::llround(per_second)));
}

std::string FormatFixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::string PadRight(std::string text, size_t width) {
  if (text.size() < width) text += std::string(width - text.size(), ' ');
  return text;
}

std::string PadLeft(const std::string& text, size_t width) {
  return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

}  // namespace feedcrawl::cli
