#include "common/feed_model.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace feedcrawl {
namespace {

using nlohmann::json;

json StringOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json DateOrNull(const std::optional<int64_t>& ms) {
  return ms ? json(FormatRfc3339(*ms)) : json(nullptr);
}

// Inverse of the Gregorian day count used by FormatRfc3339 (days since 1970-01-01).
void CivilFromDays(int64_t days, int64_t& year, int& month, int& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;
  day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
}

int64_t DaysFromCivilDate(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  return era * 146097 + year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year -
         719468;
}

// Reads exactly the form FormatRfc3339 writes (UTC, 'Z', optional milliseconds).
std::optional<int64_t> ParseRfc3339Utc(const std::string& s) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6) {
    return std::nullopt;
  }
  int64_t millis = 0;
  size_t pos = static_cast<size_t>(consumed);
  if (pos < s.size() && s[pos] == '.') {
    int digits = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++digits) {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
    }
    for (; digits < 3; ++digits) millis *= 10;
  }
  if (pos >= s.size() || (s[pos] != 'Z' && s[pos] != 'z')) return std::nullopt;
  int64_t seconds = DaysFromCivilDate(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return seconds * 1000 + millis;
}

// Longest FormatRfc3339 text: a 64-bit millisecond count reaches years of 9 digits and a sign.
constexpr size_t kRfc3339Max = 48;

void PutTwoDigits(int value, char* out) {
  out[0] = static_cast<char>('0' + value / 10);
  out[1] = static_cast<char>('0' + value % 10);
}

// Writes FormatRfc3339(ms) into `out` (kRfc3339Max bytes) and returns its length. Digits are
// placed by hand: this runs twice per stored item, and snprintf costs more than the whole rest.
size_t FormatRfc3339To(int64_t ms, char* out) {
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    days -= 1;
  }
  int64_t year = 0;
  int month = 0;
  int day = 0;
  CivilFromDays(days, year, month, day);
  const int hour = static_cast<int>(second_of_day / 3600);
  const int minute = static_cast<int>(second_of_day / 60 % 60);
  const int second = static_cast<int>(second_of_day % 60);
  if (year < 0 || year > 9999) {
    // Outside four digits the printf form is the definition; such dates are rare.
    const int n =
        millis != 0
            ? std::snprintf(out, kRfc3339Max, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                            static_cast<long long>(year), month, day, hour, minute, second,
                            static_cast<int>(millis))
            : std::snprintf(out, kRfc3339Max, "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                            static_cast<long long>(year), month, day, hour, minute, second);
    return n < 0 ? 0 : std::min(static_cast<size_t>(n), kRfc3339Max - 1);
  }
  const int y = static_cast<int>(year);
  PutTwoDigits(y / 100, out);
  PutTwoDigits(y % 100, out + 2);
  out[4] = '-';
  PutTwoDigits(month, out + 5);
  out[7] = '-';
  PutTwoDigits(day, out + 8);
  out[10] = 'T';
  PutTwoDigits(hour, out + 11);
  out[13] = ':';
  PutTwoDigits(minute, out + 14);
  out[16] = ':';
  PutTwoDigits(second, out + 17);
  size_t n = 19;
  if (millis != 0) {
    out[n++] = '.';
    out[n++] = static_cast<char>('0' + millis / 100);
    PutTwoDigits(static_cast<int>(millis % 100), out + n);
    n += 2;
  }
  out[n++] = 'Z';
  return n;
}

// Bytes a JSON string holds as they are: printable ASCII except '"' and '\\'. Bytes from 0x80
// are UTF-8 and are checked sequence by sequence.
struct PlainBytes {
  bool plain[256] = {};
  constexpr PlainBytes() {
    for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  }
};
constexpr PlainBytes kPlain;

// Whether the 8 bytes at p are all plain ASCII, tested together: most of an item's text is.
// Each test is exact about whether some byte matches (the classic "has a byte less than n" word
// tricks), so a word is never wrongly taken as plain.
bool EightPlainBytes(const unsigned char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  const uint64_t quote = word ^ (kOnes * '"');
  const uint64_t backslash = word ^ (kOnes * '\\');
  const uint64_t special = ((word - kOnes * 0x20) & ~word) | ((quote - kOnes) & ~quote) |
                           ((backslash - kOnes) & ~backslash) | word;
  return (special & kHighBits) == 0;
}

// The length of the well-formed UTF-8 sequence at p (Unicode table 3-7: no overlong forms, no
// surrogates, nothing past U+10FFFF), or minus the number of bytes to drop when it is not
// well formed: its lead byte alone when that cannot start a sequence, else the valid prefix, so
// that the byte which broke the sequence is read again. nlohmann's decoder drops the same bytes.
int Utf8Sequence(const unsigned char* p, const unsigned char* end) {
  const unsigned char lead = p[0];
  int length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return -1;
  }
  for (int i = 1; i < length; ++i) {
    if (p + i >= end || p[i] < low || p[i] > high) return -i;
    low = 0x80;
    high = 0xBF;
  }
  return length;
}

// Appends a string literal without measuring it at run time.
template <size_t N>
void AppendLiteral(const char (&text)[N], std::string* out) {
  out->append(text, N - 1);
}

void AppendEscaped(unsigned char c, std::string* out) {
  switch (c) {
    case '"': AppendLiteral("\\\"", out); return;
    case '\\': AppendLiteral("\\\\", out); return;
    case '\b': AppendLiteral("\\b", out); return;
    case '\f': AppendLiteral("\\f", out); return;
    case '\n': AppendLiteral("\\n", out); return;
    case '\r': AppendLiteral("\\r", out); return;
    case '\t': AppendLiteral("\\t", out); return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(escape, 6);
    }
  }
}

void AppendDateOrNull(const std::optional<int64_t>& ms, std::string* out) {
  if (!ms) {
    AppendLiteral("null", out);
    return;
  }
  char buffer[kRfc3339Max];
  out->push_back('"');
  out->append(buffer, FormatRfc3339To(*ms, buffer));
  out->push_back('"');
}

void AppendInt(int64_t value, std::string* out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, static_cast<size_t>(result.ptr - buffer));
}

std::optional<int64_t> DateFromJson(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) return ParseRfc3339Utc(it->get<std::string>());
  return std::nullopt;
}

std::string StringFromJson(const json& j, const char* field) {
  auto it = j.find(field);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// How many bytes from p on a JSON string holds as they are, for text known to be well-formed
// UTF-8: everything but '"', '\\' and the bytes below 0x20, looked at 16 at a time where SSE2 is
// there (every x86-64).
size_t UnescapedPrefix(const char* p, size_t size) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i max_control = _mm_set1_epi8(0x1F);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  for (; i + 16 <= size; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // An unsigned "at most 0x1F": the minimum with 0x1F is the byte itself.
    __m128i special =
        _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, max_control), v),
                     _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    int mask = _mm_movemask_epi8(special);
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < size; ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == '"' || c == '\\') break;
  }
  return i;
}

// AppendJsonString for well-formed UTF-8: only ASCII bytes can need escaping.
void AppendValidJsonString(std::string_view text, std::string* out) {
  const char* p = text.data();
  const char* const end = p + text.size();
  out->push_back('"');
  while (p < end) {
    const size_t plain = UnescapedPrefix(p, static_cast<size_t>(end - p));
    out->append(p, plain);
    p += plain;
    if (p == end) break;
    AppendEscaped(static_cast<unsigned char>(*p), out);
    ++p;
  }
  out->push_back('"');
}

}  // namespace

std::string FormatRfc3339(int64_t ms) {
  char buffer[kRfc3339Max];
  return std::string(buffer, FormatRfc3339To(ms, buffer));
}

json ItemToJson(const Item& item) {
  json enclosures = json::array();
  for (const Enclosure& e : item.enclosures) {
    enclosures.push_back({{"url", StringOrNull(e.url)},
                          {"type", StringOrNull(e.type)},
                          {"length", e.length ? json(*e.length) : json(nullptr)}});
  }
  return json{{"key", item.key},
              {"id", item.id && !item.id->empty() ? json(*item.id) : json(nullptr)},
              {"title", StringOrNull(item.title)},
              {"link", StringOrNull(item.link)},
              {"published", DateOrNull(item.published_ms)},
              {"updated", DateOrNull(item.updated_ms)},
              {"author", StringOrNull(item.author)},
              {"summary", StringOrNull(item.summary)},
              {"content", StringOrNull(item.content)},
              {"categories", item.categories},
              {"enclosures", std::move(enclosures)}};
}

void AppendJsonString(std::string_view text, std::string* out) {
  // Item text comes out of the parser as well-formed UTF-8, so this is the usual path; the
  // byte-by-byte one below replaces what is not.
  if (IsValidUtf8(text)) {
    AppendValidJsonString(text, out);
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  const auto* run = p;  // start of the bytes not yet appended, all to be kept as they are
  out->push_back('"');
  while (p < end) {
    if (end - p >= 8 && EightPlainBytes(p)) {
      p += 8;
      continue;
    }
    // A word that is not plain is taken byte by byte, and so is the next one only after it:
    // text dense in non-ASCII letters would otherwise pay for a failed word test per letter.
    const unsigned char* const stop = end - p > 8 ? p + 8 : end;
    while (p < stop) {
      const unsigned char c = *p;
      if (kPlain.plain[c]) {
        ++p;
        continue;
      }
      int length = 0;
      if (c >= 0x80) {
        length = Utf8Sequence(p, end);
        if (length > 0) {
          p += length;
          continue;
        }
      }
      out->append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
      if (length < 0) {
        AppendLiteral("\xEF\xBF\xBD", out);  // U+FFFD
        p += -length;
      } else {
        AppendEscaped(c, out);
        ++p;
      }
      run = p;
    }
  }
  out->append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
  out->push_back('"');
}

namespace {

// The JSON of an item with each string written by `append_string`. Members in the order dump()
// writes them: nlohmann's objects are std::maps, sorted by name.
template <typename AppendString>
void WriteItemJson(const Item& item, std::string* out, AppendString&& append_string) {
  const auto append_string_or_null = [&](const std::string& text) {
    if (text.empty()) {
      AppendLiteral("null", out);
    } else {
      append_string(text, out);
    }
  };
  AppendLiteral("{\"author\":", out);
  append_string_or_null(item.author);
  AppendLiteral(",\"categories\":[", out);
  for (size_t i = 0; i < item.categories.size(); ++i) {
    if (i > 0) out->push_back(',');
    append_string(item.categories[i], out);
  }
  AppendLiteral("],\"content\":", out);
  append_string_or_null(item.content);
  AppendLiteral(",\"enclosures\":[", out);
  for (size_t i = 0; i < item.enclosures.size(); ++i) {
    const Enclosure& e = item.enclosures[i];
    if (i > 0) out->push_back(',');
    AppendLiteral("{\"length\":", out);
    if (e.length) {
      AppendInt(*e.length, out);
    } else {
      AppendLiteral("null", out);
    }
    AppendLiteral(",\"type\":", out);
    append_string_or_null(e.type);
    AppendLiteral(",\"url\":", out);
    append_string_or_null(e.url);
    out->push_back('}');
  }
  AppendLiteral("],\"id\":", out);
  if (item.id && !item.id->empty()) {
    append_string(*item.id, out);
  } else {
    AppendLiteral("null", out);
  }
  AppendLiteral(",\"key\":", out);
  append_string(item.key, out);
  AppendLiteral(",\"link\":", out);
  append_string_or_null(item.link);
  AppendLiteral(",\"published\":", out);
  AppendDateOrNull(item.published_ms, out);
  AppendLiteral(",\"summary\":", out);
  append_string_or_null(item.summary);
  AppendLiteral(",\"title\":", out);
  append_string_or_null(item.title);
  AppendLiteral(",\"updated\":", out);
  AppendDateOrNull(item.updated_ms, out);
  out->push_back('}');
}

}  // namespace

void AppendItemJson(const Item& item, std::string* out) {
  // Item text comes out of the parser as well-formed UTF-8, nearly always: the item is written
  // as such and checked once, whole (its punctuation is ASCII, so only its strings can fail the
  // check), rather than string by string. When the check fails it is written again with every
  // string checked, and what is not well-formed replaced.
  const size_t start = out->size();
  WriteItemJson(item, out, AppendValidJsonString);
  if (IsValidUtf8(std::string_view(*out).substr(start))) return;
  out->resize(start);
  WriteItemJson(item, out, AppendJsonString);
}

Item ItemFromJson(const json& j) {
  Item item;
  if (!j.is_object()) return item;
  item.key = StringFromJson(j, "key");
  if (auto it = j.find("id"); it != j.end() && it->is_string()) item.id = it->get<std::string>();
  item.title = StringFromJson(j, "title");
  item.link = StringFromJson(j, "link");
  item.published_ms = DateFromJson(j, "published");
  item.updated_ms = DateFromJson(j, "updated");
  item.author = StringFromJson(j, "author");
  item.summary = StringFromJson(j, "summary");
  item.content = StringFromJson(j, "content");
  if (auto it = j.find("categories"); it != j.end() && it->is_array()) {
    for (const json& c : *it) {
      if (c.is_string()) item.categories.push_back(c.get<std::string>());
    }
  }
  if (auto it = j.find("enclosures"); it != j.end() && it->is_array()) {
    for (const json& e : *it) {
      if (!e.is_object()) continue;
      Enclosure enclosure;
      enclosure.url = StringFromJson(e, "url");
      enclosure.type = StringFromJson(e, "type");
      if (auto len = e.find("length"); len != e.end() && len->is_number_integer()) {
        enclosure.length = len->get<int64_t>();
      }
      item.enclosures.push_back(std::move(enclosure));
    }
  }
  return item;
}

json FeedInfoToJson(const FeedInfo& feed) {
  return json{{"title", StringOrNull(feed.title)},
              {"link", StringOrNull(feed.link)},
              {"description", StringOrNull(feed.description)},
              {"language", StringOrNull(feed.language)},
              {"updated", DateOrNull(feed.updated_ms)},
              {"author", StringOrNull(feed.author)},
              {"image", StringOrNull(feed.image)}};
}

json ParsedFeedToJson(const ParsedFeed& parsed) {
  json items = json::array();
  for (const Item& item : parsed.items) items.push_back(ItemToJson(item));
  return json{{"format", parsed.format},
              {"bozo", parsed.bozo},
              {"error", StringOrNull(parsed.error)},
              {"feed", FeedInfoToJson(parsed.feed)},
              {"items", std::move(items)}};
}

}  // namespace feedcrawl
