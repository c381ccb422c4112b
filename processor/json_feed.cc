#include "processor/json_feed.h"

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/url.h"
#include "processor/dates.h"
#include "processor/item_key.h"
#include "processor/text.h"

namespace feedcrawl {
namespace {

using nlohmann::json;

// Deeper nesting than any feed needs; refusing it keeps hostile input from exhausting the stack.
constexpr int kMaxJsonDepth = 256;

bool NestingWithinLimit(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

std::string String(const json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  // Ids are sometimes numbers although the spec says string.
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return {};
}

std::string Url(const json& object, const char* field, std::string_view base) {
  std::string value = String(object, field);
  const std::string_view trimmed = Trim(value);
  if (trimmed.empty()) return {};
  return ResolveUrl(base, trimmed);
}

// Version 1.1 "authors" (array) or the deprecated 1.0 "author" (object): the first name.
std::string AuthorName(const json& object) {
  if (auto it = object.find("authors"); it != object.end() && it->is_array()) {
    for (const json& author : *it) {
      if (!author.is_object()) continue;
      std::string name = CollapseWhitespace(String(author, "name"));
      if (!name.empty()) return name;
    }
  }
  if (auto it = object.find("author"); it != object.end() && it->is_object()) {
    return CollapseWhitespace(String(*it, "name"));
  }
  return {};
}

Item ReadItem(const json& j, std::string_view base, const std::string& feed_author,
              std::string& date_text) {
  Item item;
  std::string id = String(j, "id");
  if (!id.empty()) item.id = std::move(id);
  item.link = Url(j, "url", base);
  if (item.link.empty()) item.link = Url(j, "external_url", base);
  item.title = HtmlToPlainText(String(j, "title"));
  item.content = String(j, "content_html");
  if (item.content.empty()) item.content = EscapeHtml(String(j, "content_text"));
  item.summary = EscapeHtml(String(j, "summary"));
  date_text = String(j, "date_published");
  item.published_ms = ParseFeedDate(date_text);
  std::string modified = String(j, "date_modified");
  item.updated_ms = ParseFeedDate(modified);
  if (date_text.empty()) date_text = std::move(modified);
  item.author = AuthorName(j);
  if (item.author.empty()) item.author = feed_author;
  if (auto tags = j.find("tags"); tags != j.end() && tags->is_array()) {
    for (const json& tag : *tags) {
      if (!tag.is_string()) continue;
      std::string category = CollapseWhitespace(tag.get<std::string>());
      if (!category.empty()) item.categories.push_back(std::move(category));
    }
  }
  if (auto attachments = j.find("attachments"); attachments != j.end() && attachments->is_array()) {
    for (const json& attachment : *attachments) {
      if (!attachment.is_object()) continue;
      Enclosure enclosure;
      enclosure.url = Url(attachment, "url", base);
      if (enclosure.url.empty()) continue;
      enclosure.type = String(attachment, "mime_type");
      if (auto size = attachment.find("size_in_bytes");
          size != attachment.end() && size->is_number_integer()) {
        enclosure.length = size->get<int64_t>();
      }
      item.enclosures.push_back(std::move(enclosure));
    }
  }
  return item;
}

}  // namespace

bool ReadJsonFeed(std::string_view text, std::string_view url, ParsedFeed& out) {
  if (!NestingWithinLimit(text)) {
    out.bozo = true;
    out.error = "not a feed: JSON nested too deeply";
    return false;
  }
  json document;
  try {
    document = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    out.bozo = true;
    // The library quotes the offending input, which may end inside a UTF-8 sequence.
    out.error = SanitizeUtf8(std::string("invalid JSON: ") + e.what());
    return false;
  }
  if (!document.is_object()) {
    out.error = "not a feed: JSON document is not an object";
    return false;
  }
  // The spec's version is a URL; bare numbers ("1.1") circulate too.
  std::string version = String(document, "version");
  size_t marker = version.find("jsonfeed.org/version/");
  std::string number = marker == std::string::npos ? version : version.substr(marker + 21);
  if (number == "1" || number == "1.0") {
    out.format = "json10";
  } else if (number.rfind("1.", 0) == 0 || (marker != std::string::npos && !number.empty())) {
    out.format = "json11";
  } else {
    out.error = "not a feed: JSON document without a JSON Feed version";
    return false;
  }
  FeedInfo& feed = out.feed;
  feed.title = HtmlToPlainText(String(document, "title"));
  feed.link = Url(document, "home_page_url", url);
  feed.description = HtmlToPlainText(String(document, "description"));
  feed.language = String(document, "language");
  feed.author = AuthorName(document);
  feed.image = Url(document, "icon", url);
  if (feed.image.empty()) feed.image = Url(document, "favicon", url);
  if (auto items = document.find("items"); items != document.end() && items->is_array()) {
    out.items.reserve(items->size());
    for (const json& entry : *items) {
      if (!entry.is_object()) continue;
      std::string date_text;
      Item item = ReadItem(entry, url, feed.author, date_text);
      item.key = ItemKey(item, date_text);
      out.items.push_back(std::move(item));
    }
  }
  return true;
}

}  // namespace feedcrawl
