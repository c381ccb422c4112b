#include "cli/time_spec.h"

#include <cctype>
#include <string>

namespace feedcrawl::cli {
namespace {

// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

bool IsLeapYear(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int64_t year, int64_t month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Reads exactly `count` digits at `pos`, advancing it.
bool ReadDigits(std::string_view text, size_t& pos, size_t count, int64_t& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

Status BadTime(std::string_view text) {
  return Status::InvalidArgument("invalid time '" + std::string(text) +
                                 "': expected RFC 3339 (2024-05-01T12:00:00Z), a date "
                                 "(2024-05-01) or a duration ago (30m, 2h, 3d)");
}

}  // namespace

StatusOr<int64_t> ParseRfc3339(std::string_view text) {
  size_t pos = 0;
  int64_t year, month, day;
  if (!ReadDigits(text, pos, 4, year) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, month) || !Expect(text, pos, '-') ||
      !ReadDigits(text, pos, 2, day)) {
    return BadTime(text);
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) return BadTime(text);
  int64_t ms = DaysFromCivil(year, month, day) * 86'400'000;
  if (pos == text.size()) return ms;

  char separator = text[pos++];
  if (separator != 'T' && separator != 't' && separator != ' ') return BadTime(text);
  int64_t hour, minute, second;
  if (!ReadDigits(text, pos, 2, hour) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, minute) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, second)) {
    return BadTime(text);
  }
  // 60 admits a leap second, which lands on the next second as POSIX time does.
  if (hour > 23 || minute > 59 || second > 60) return BadTime(text);
  ms += ((hour * 60 + minute) * 60 + second) * 1000;

  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t fraction_ms = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (digits < 3) fraction_ms = fraction_ms * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return BadTime(text);
    for (size_t i = digits; i < 3; ++i) fraction_ms *= 10;
    ms += fraction_ms;
  }

  if (pos >= text.size()) return BadTime(text);  // RFC 3339 requires a zone
  char zone = text[pos++];
  if (zone == 'Z' || zone == 'z') {
    if (pos != text.size()) return BadTime(text);
    return ms;
  }
  if (zone != '+' && zone != '-') return BadTime(text);
  int64_t offset_hours, offset_minutes;
  if (!ReadDigits(text, pos, 2, offset_hours) || !Expect(text, pos, ':') ||
      !ReadDigits(text, pos, 2, offset_minutes) || pos != text.size() || offset_hours > 23 ||
      offset_minutes > 59) {
    return BadTime(text);
  }
  int64_t offset_ms = (offset_hours * 60 + offset_minutes) * 60'000;
  // Local time = UTC + offset, so UTC = local - offset.
  return zone == '+' ? ms - offset_ms : ms + offset_ms;
}

StatusOr<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return BadTime(text);
  int64_t total_ms = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int64_t value = 0;
    size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (value > 1'000'000'000) return BadTime(text);  // keeps the product below int64 limits
      value = value * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start || pos == text.size()) return BadTime(text);
    int64_t unit_ms;
    switch (text[pos]) {
      case 's': unit_ms = 1000; break;
      case 'm': unit_ms = 60'000; break;
      case 'h': unit_ms = 3'600'000; break;
      case 'd': unit_ms = 86'400'000; break;
      case 'w': unit_ms = 7 * 86'400'000LL; break;
      default: return BadTime(text);
    }
    ++pos;
    total_ms += value * unit_ms;
  }
  return total_ms;
}

StatusOr<int64_t> ParseTimeSpec(std::string_view text, int64_t now_ms) {
  // A timestamp always starts with a four-digit year and a dash; a duration never has a dash.
  if (text.size() >= 5 && text[4] == '-') return ParseRfc3339(text);
  StatusOr<int64_t> duration = ParseDuration(text);
  if (!duration.ok()) return duration.status();
  return now_ms - *duration;
}

}  // namespace feedcrawl::cli
