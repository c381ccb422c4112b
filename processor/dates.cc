#include "processor/dates.h"

#include <array>
#include <cctype>
#include <string>

#include "processor/text.h"

namespace feedcrawl {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kSecondsPerDay = 86400;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// The broken-down time both grammars fill in; zone offset in minutes east of UTC.
struct DateParts {
  int64_t year = -1;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
  int offset_minutes = 0;
};

std::optional<int64_t> ToEpochMs(const DateParts& p) {
  if (p.year < 1 || p.year > 9999 || p.month < 1 || p.month > 12) return std::nullopt;
  if (p.day < 1 || p.day > DaysInMonth(p.year, p.month)) return std::nullopt;
  // 24:00:00 is the end of the day (ISO 8601); a leap second reads as the last second.
  if (p.hour > 24 || p.minute > 59 || p.second > 60) return std::nullopt;
  if (p.hour == 24 && (p.minute != 0 || p.second != 0)) return std::nullopt;
  int second = p.second == 60 ? 59 : p.second;
  int64_t days = DaysFromCivil(p.year, p.month, p.day);
  int64_t seconds = days * kSecondsPerDay + p.hour * 3600 + p.minute * 60 + second -
                    static_cast<int64_t>(p.offset_minutes) * 60;
  return seconds * kMsPerSecond + p.millis;
}

// Reads up to `max_digits` digits at `pos`; returns the digit count (0 when none).
int ReadNumber(std::string_view s, size_t& pos, int max_digits, int64_t& value) {
  value = 0;
  int n = 0;
  while (pos < s.size() && IsDigit(s[pos]) && n < max_digits) {
    value = value * 10 + (s[pos] - '0');
    ++pos;
    ++n;
  }
  return n;
}

// Fractional seconds as milliseconds; consumes every digit but keeps three.
int ReadFraction(std::string_view s, size_t& pos) {
  int millis = 0;
  int n = 0;
  while (pos < s.size() && IsDigit(s[pos])) {
    if (n < 3) millis = millis * 10 + (s[pos] - '0');
    ++n;
    ++pos;
  }
  for (; n < 3; ++n) millis *= 10;
  return millis;
}

struct NamedZone {
  std::string_view name;
  int offset_minutes;
};

// North American zones of RFC 822 plus the ones feeds commonly write. Ambiguous abbreviations
// (IST, CST in Asia, ...) take their most frequent meaning in feeds.
constexpr std::array<NamedZone, 36> kZones = {{
    {"ut", 0},       {"utc", 0},      {"gmt", 0},      {"z", 0},        {"wet", 0},
    {"est", -300},   {"edt", -240},   {"cst", -360},   {"cdt", -300},   {"mst", -420},
    {"mdt", -360},   {"pst", -480},   {"pdt", -420},   {"akst", -540},  {"akdt", -480},
    {"hst", -600},   {"ast", -240},   {"adt", -180},   {"nst", -210},   {"ndt", -150},
    {"bst", 60},     {"west", 60},    {"cet", 60},     {"met", 60},     {"cest", 120},
    {"mest", 120},   {"eet", 120},    {"eest", 180},   {"msk", 180},    {"ist", 330},
    {"jst", 540},    {"kst", 540},    {"aest", 600},   {"aedt", 660},   {"nzst", 720},
    {"nzdt", 780},
}};

// Zone name (case-insensitive) or a single military letter; nullopt when unknown.
bool EqualsLower(std::string_view word, std::string_view lower_name) {
  if (word.size() != lower_name.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (Lower(word[i]) != lower_name[i]) return false;
  }
  return true;
}

std::optional<int> ZoneOffset(std::string_view word) {
  for (const NamedZone& zone : kZones) {
    if (EqualsLower(word, zone.name)) return zone.offset_minutes;
  }
  if (word.size() == 1) {
    // Military letters as used by the armed forces: A..M east (J unused), N..Y west.
    char c = Lower(word[0]);
    if (c >= 'a' && c <= 'i') return (c - 'a' + 1) * 60;
    if (c >= 'k' && c <= 'm') return (c - 'k' + 10) * 60;
    if (c >= 'n' && c <= 'y') return -(c - 'n' + 1) * 60;
  }
  return std::nullopt;
}

// Matches `word` against English names by prefix of at least three letters ("Sep", "Sept",
// "September"); returns the 1-based index or 0.
template <size_t N>
int MatchName(std::string_view word, const std::array<std::string_view, N>& names) {
  if (word.size() < 3) return 0;
  for (size_t i = 0; i < N; ++i) {
    if (word.size() <= names[i].size() && EqualsLower(word, names[i].substr(0, word.size()))) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

constexpr std::array<std::string_view, 12> kMonths = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};
constexpr std::array<std::string_view, 7> kWeekdays = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

// Reads a numeric offset after '+' or '-' at `pos`: hh, hhmm or hh:mm.
bool ReadOffset(std::string_view s, size_t& pos, int& offset_minutes) {
  int sign = s[pos] == '-' ? -1 : 1;
  ++pos;
  size_t start = pos;
  int64_t value = 0;
  int n = ReadNumber(s, pos, 4, value);
  int64_t hours = 0;
  int64_t minutes = 0;
  if (n == 4 || n == 3) {
    hours = value / 100;
    minutes = value % 100;
  } else if (n == 1 || n == 2) {
    hours = value;
    if (pos + 1 < s.size() && s[pos] == ':' && IsDigit(s[pos + 1])) {
      ++pos;
      if (ReadNumber(s, pos, 2, minutes) != 2) return false;
    }
  } else {
    pos = start;
    return false;
  }
  if (hours > 23 || minutes > 59) return false;
  offset_minutes = sign * static_cast<int>(hours * 60 + minutes);
  return true;
}

// hh:mm[:ss[.fff]] at `pos`, the first digits already known to be followed by ':'.
bool ReadClock(std::string_view s, size_t& pos, DateParts& p) {
  int64_t hour = 0;
  int64_t minute = 0;
  int64_t second = 0;
  if (ReadNumber(s, pos, 2, hour) == 0 || pos >= s.size() || s[pos] != ':') return false;
  ++pos;
  if (ReadNumber(s, pos, 2, minute) == 0) return false;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (ReadNumber(s, pos, 2, second) == 0) return false;
    if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == ',') && IsDigit(s[pos + 1])) {
      ++pos;
      p.millis = ReadFraction(s, pos);
    }
  }
  p.hour = static_cast<int>(hour);
  p.minute = static_cast<int>(minute);
  p.second = static_cast<int>(second);
  return true;
}

int64_t ExpandYear(int64_t year, int digits) {
  if (digits <= 2) return year < 50 ? 2000 + year : 1900 + year;
  if (digits == 3) return 1900 + year;  // years-since-1900 printed by broken generators
  return year;
}

}  // namespace

int64_t DaysFromCivil(int64_t year, int month, int day) {
  // Shift the year to start in March so the leap day is the last day of the shifted year.
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t shifted_month = month > 2 ? month - 3 : month + 9;
  const int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

std::optional<int64_t> ParseRfc822Date(std::string_view text) {
  std::string_view s = Trim(text);
  DateParts p;
  bool have_time = false;
  bool have_zone = false;
  int year_digits = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    char c = s[pos];
    if (c == ' ' || c == '\t' || c == ',' || c == '.' || c == '\r' || c == '\n') {
      ++pos;
    } else if (c == '(') {
      // A trailing comment such as "(EDT)" repeats the zone; skip it.
      size_t close = s.find(')', pos);
      pos = close == std::string_view::npos ? s.size() : close + 1;
    } else if (IsAlpha(c)) {
      size_t start = pos;
      while (pos < s.size() && IsAlpha(s[pos])) ++pos;
      std::string_view word = s.substr(start, pos - start);
      if (int month = MatchName(word, kMonths); month != 0 && p.month == 0) {
        p.month = month;
      } else if (MatchName(word, kWeekdays) != 0) {
        // The weekday is redundant and often wrong; ignore it.
      } else if (std::optional<int> zone = ZoneOffset(word); zone && have_time && !have_zone) {
        p.offset_minutes = *zone;
        have_zone = true;
        // "GMT+2", "UTC-05:00": an offset relative to the named zone.
        if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
          int extra = 0;
          if (ReadOffset(s, pos, extra)) p.offset_minutes += extra;
        }
      } else if ((word.size() == 2) && have_time &&
                 (Lower(word[0]) == 'a' || Lower(word[0]) == 'p') && Lower(word[1]) == 'm') {
        if (p.hour > 12 || p.hour == 0) return std::nullopt;
        if (p.hour == 12) p.hour = 0;
        if (Lower(word[0]) == 'p') p.hour += 12;
      } else if (start == 0 && word.size() <= 12) {
        // A leading word is a weekday, possibly localised ("mer, 16 nov 2022"): ignore it.
      } else {
        return std::nullopt;
      }
    } else if (IsDigit(c)) {
      size_t start = pos;
      int64_t value = 0;
      int digits = ReadNumber(s, pos, 9, value);
      if (pos < s.size() && s[pos] == ':' && !have_time) {
        pos = start;
        if (!ReadClock(s, pos, p)) return std::nullopt;
        have_time = true;
      } else if (digits == 4 || (value > 31 && digits <= 4)) {
        if (p.year >= 0) return std::nullopt;
        p.year = value;
        year_digits = digits;
      } else if (digits <= 2 && p.day == 0) {
        p.day = static_cast<int>(value);
      } else if (digits <= 3 && p.year < 0) {
        p.year = value;
        year_digits = digits;
      } else {
        return std::nullopt;
      }
      // RFC 850 writes "07-Sep-02": a dash between number and month is a separator.
      if (pos + 1 < s.size() && s[pos] == '-' && IsAlpha(s[pos + 1])) ++pos;
    } else if ((c == '+' || c == '-') && have_time && !have_zone) {
      if (!ReadOffset(s, pos, p.offset_minutes)) return std::nullopt;
      have_zone = true;
    } else if (c == '-' && pos + 1 < s.size() && (IsAlpha(s[pos + 1]) || IsDigit(s[pos + 1]))) {
      ++pos;  // "Sep-07-2002" and similar
    } else {
      return std::nullopt;
    }
  }
  if (p.year < 0 || p.month == 0 || p.day == 0) return std::nullopt;
  p.year = ExpandYear(p.year, year_digits);
  return ToEpochMs(p);
}

std::optional<int64_t> ParseIso8601Date(std::string_view text) {
  std::string_view s = Trim(text);
  DateParts p;
  size_t pos = 0;
  int64_t value = 0;
  if (ReadNumber(s, pos, 4, value) != 4) return std::nullopt;
  p.year = value;
  p.month = 1;
  p.day = 1;
  if (pos == s.size()) return ToEpochMs(p);

  char sep = s[pos];
  if (sep == '-' || sep == '/' || sep == '.') {
    ++pos;
    if (ReadNumber(s, pos, 2, value) == 0) return std::nullopt;
    p.month = static_cast<int>(value);
    if (pos < s.size() && s[pos] == sep) {
      ++pos;
      if (ReadNumber(s, pos, 2, value) == 0) return std::nullopt;
      p.day = static_cast<int>(value);
    }
  } else if (IsDigit(sep)) {
    // Basic format: YYYYMMDD.
    if (ReadNumber(s, pos, 2, value) != 2) return std::nullopt;
    p.month = static_cast<int>(value);
    if (ReadNumber(s, pos, 2, value) != 2) return std::nullopt;
    p.day = static_cast<int>(value);
  } else {
    return std::nullopt;
  }
  if (pos == s.size()) return ToEpochMs(p);

  // Time part, after 'T' or whitespace.
  if (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ') {
    ++pos;
    while (pos < s.size() && s[pos] == ' ') ++pos;
    size_t start = pos;
    int64_t h = 0;
    int64_t m = 0;
    int hour_digits = ReadNumber(s, pos, 2, h);
    if (hour_digits == 0) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') {
      pos = start;
      if (!ReadClock(s, pos, p)) return std::nullopt;
    } else {
      // Basic format: hhmm[ss[.fff]].
      if (hour_digits != 2 || ReadNumber(s, pos, 2, m) != 2) return std::nullopt;
      p.hour = static_cast<int>(h);
      p.minute = static_cast<int>(m);
      int64_t sec = 0;
      if (ReadNumber(s, pos, 2, sec) == 2) {
        p.second = static_cast<int>(sec);
        if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == ',') && IsDigit(s[pos + 1])) {
          ++pos;
          p.millis = ReadFraction(s, pos);
        }
      }
    }
  }
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos < s.size()) {
    if (s[pos] == '+' || s[pos] == '-') {
      if (!ReadOffset(s, pos, p.offset_minutes)) return std::nullopt;
    } else if (IsAlpha(s[pos])) {
      size_t start = pos;
      while (pos < s.size() && IsAlpha(s[pos])) ++pos;
      std::optional<int> zone = ZoneOffset(s.substr(start, pos - start));
      if (!zone) return std::nullopt;
      p.offset_minutes = *zone;
    }
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos != s.size()) return std::nullopt;
  }
  return ToEpochMs(p);
}

std::optional<int64_t> ParseFeedDate(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return std::nullopt;
  bool iso_first = s.size() >= 4 && IsDigit(s[0]) && IsDigit(s[1]) && IsDigit(s[2]) &&
                   IsDigit(s[3]);
  if (iso_first) {
    if (auto ms = ParseIso8601Date(s)) return ms;
    return ParseRfc822Date(s);
  }
  if (auto ms = ParseRfc822Date(s)) return ms;
  return ParseIso8601Date(s);
}

}  // namespace feedcrawl
