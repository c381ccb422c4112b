#include "tests/support/item_stream.h"

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace feedcrawl::testing {
namespace {

// Reads one entry, [id, [field, value, ...]].
StatusOr<StreamEntry> ReadEntry(const RedisReply& entry) {
  if (entry.elements.size() != 2) return Status::Internal("stream entry is not [id, fields]");
  const std::string& id = entry.elements[0].str;
  const std::vector<RedisReply>& fields = entry.elements[1].elements;
  const std::string* feed = nullptr;
  const std::string* keys = nullptr;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "feed") feed = &fields[i + 1].str;
    if (fields[i].str == "keys") keys = &fields[i + 1].str;
  }
  if (feed == nullptr || keys == nullptr) {
    return Status::Internal("stream entry " + id + " lacks feed or keys");
  }
  StreamEntry out;
  out.id = id;
  try {
    size_t used = 0;
    out.feed = std::stoull(*feed, &used);
    if (used != feed->size()) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    return Status::Internal("stream entry " + id + ": feed is not an id: " + *feed);
  }
  const nlohmann::json list = nlohmann::json::parse(*keys, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array() || list.empty()) {
    return Status::Internal("stream entry " + id + ": keys is not a JSON array: " + *keys);
  }
  for (const nlohmann::json& key : list) {
    if (!key.is_string()) return Status::Internal("stream entry " + id + ": a key is not a string");
    out.keys.push_back(key.get<std::string>());
  }
  return out;
}

}  // namespace

StatusOr<std::vector<StreamEntry>> ReadItemStream(RedisClient& redis, const std::string& prefix) {
  std::vector<StreamEntry> entries;
  std::string start = "-";
  while (true) {
    StatusOr<RedisReply> page =
        redis.Command({"XRANGE", prefix + "stream:items", start, "+", "COUNT", "1000"});
    if (!page.ok()) return page.status();
    if (page->IsError()) return Status::Internal("XRANGE: " + page->str);
    if (page->elements.empty()) return entries;
    for (const RedisReply& entry : page->elements) {
      StatusOr<StreamEntry> read = ReadEntry(entry);
      if (!read.ok()) return read.status();
      entries.push_back(std::move(*read));
    }
    start = "(" + page->elements.back().elements[0].str;
  }
}

std::vector<StreamedItem> StreamedItems(const std::vector<StreamEntry>& entries) {
  std::vector<StreamedItem> items;
  for (const StreamEntry& entry : entries) {
    for (const std::string& key : entry.keys) items.emplace_back(entry.feed, key);
  }
  return items;
}

}  // namespace feedcrawl::testing
