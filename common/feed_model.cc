#include "common/feed_model.h"

#include <cstdio>

#include <nlohmann/json.hpp>

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

}  // namespace

std::string FormatRfc3339(int64_t ms) {
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
  char buffer[48];
  int hour = static_cast<int>(second_of_day / 3600);
  int minute = static_cast<int>(second_of_day / 60 % 60);
  int second = static_cast<int>(second_of_day % 60);
  if (millis != 0) {
    std::snprintf(buffer, sizeof(buffer), "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  static_cast<long long>(year), month, day, hour, minute, second,
                  static_cast<int>(millis));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                  static_cast<long long>(year), month, day, hour, minute, second);
  }
  return buffer;
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
