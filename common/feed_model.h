// The normalised feed model every format is parsed into, and its JSON form. A ParsedFeed is what
// `feedcrawl parse` prints; an Item's JSON is what the item store keeps and `feedcrawl items`
// prints (plus feed_url). Plain value types; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace feedcrawl {

struct Enclosure {
  std::string url;
  std::string type;
  std::optional<int64_t> length;
};

struct Item {
  std::string key;                    // stable per-feed identity (see ItemKey in processor/)
  std::optional<std::string> id;      // guid / rdf:about / atom:id / JSON id, as in the feed
  std::string title;                  // plain text
  std::string link;                   // absolute URL
  std::optional<int64_t> published_ms;  // UTC milliseconds since the epoch
  std::optional<int64_t> updated_ms;
  std::string author;
  std::string summary;                // HTML
  std::string content;                // HTML
  std::vector<std::string> categories;
  std::vector<Enclosure> enclosures;
};

struct FeedInfo {
  std::string title;
  std::string link;
  std::string description;
  std::string language;
  std::optional<int64_t> updated_ms;
  std::string author;
  std::string image;
  int ttl_minutes = 0;                // RSS <ttl>, 0 when absent
  uint32_t skip_hours = 0;            // RSS <skipHours>: bit h set = skip UTC hour h (0-23)
  uint32_t skip_days = 0;             // RSS <skipDays>: bit 0 Monday ... bit 6 Sunday
};

struct ParsedFeed {
  std::string format;                 // "rss20", "rss10", "atom10", "json11", ... ("" when unknown)
  bool bozo = false;                  // the document was not well formed; what could be read is here
  std::string error;                  // why bozo (or why nothing could be read)
  FeedInfo feed;
  std::vector<Item> items;
};

// RFC 3339 in UTC with a 'Z' ("2024-05-01T12:00:00Z"; milliseconds only when non-zero).
std::string FormatRfc3339(int64_t ms);

// JSON forms. Empty strings and missing dates become null so consumers can tell "absent" apart.
nlohmann::json ItemToJson(const Item& item);
// Appends the text of ItemToJson(item).dump() to *out without building a json value (the form
// the item store keeps; several times faster, and *out can be reused across items). Byte for byte
// the same as dump() for valid UTF-8, which is all the parser produces. Where dump() would throw
// on invalid UTF-8, each bad sequence becomes U+FFFD as with nlohmann's error_handler_t::replace.
void AppendItemJson(const Item& item, std::string* out);
// Appends `text` as a JSON string literal (quotes included), escaped as nlohmann's dump() does:
// \" \\ \b \f \n \r \t, other control characters as \u00xx, everything else as is;
// invalid UTF-8 as in AppendItemJson.
void AppendJsonString(std::string_view text, std::string* out);
Item ItemFromJson(const nlohmann::json& json);  // inverse of ItemToJson; tolerates missing fields
nlohmann::json FeedInfoToJson(const FeedInfo& feed);
nlohmann::json ParsedFeedToJson(const ParsedFeed& parsed);

}  // namespace feedcrawl
