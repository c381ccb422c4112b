#include "bench/item_verifier.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/feed_model.h"

namespace feedcrawl::bench {
namespace {

struct StoredRow {
  nlohmann::json json;
  std::string key;
  std::string title;
  bool used = false;
};

std::string StringField(const nlohmann::json& json, const char* name) {
  auto it = json.find(name);
  return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool SameFields(nlohmann::json stored, nlohmann::json expected) {
  stored.erase("key");
  expected.erase("key");
  return stored == expected;
}

}  // namespace

std::string VerifyCounts::ToJson() const {
  nlohmann::json json = {
      {"feeds", feeds},       {"feeds_missing", feeds_missing}, {"feeds_exact", feeds_exact},
      {"expected", expected}, {"stored", stored},               {"matched", matched},
      {"missing", missing},   {"duplicated", duplicated},       {"extra", extra},
      {"field_mismatches", field_mismatches},                   {"exact", Exact()},
  };
  return json.dump();
}

ItemVerifier::ItemVerifier(std::unique_ptr<Store> store,
                           std::unordered_map<std::string, std::string> url_by_path)
    : store_(std::move(store)), url_by_path_(std::move(url_by_path)) {}

StatusOr<std::unordered_map<std::string, std::string>> ReadUrlsByPath(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Status::NotFound("cannot read the feed list " + file);
  std::unordered_map<std::string, std::string> out;
  std::string url;
  while (std::getline(in, url)) {
    if (url.empty()) continue;
    const size_t authority = url.find("://");
    const size_t slash = authority == std::string::npos ? authority : url.find('/', authority + 3);
    if (slash == std::string::npos) {
      return Status::InvalidArgument("not an absolute URL with a path in " + file + ": " + url);
    }
    out[url.substr(slash + 1)] = url;
  }
  return out;
}

Status ItemVerifier::Check(const GeneratedFeed& feed) {
  ++counts_.feeds;
  // A later version of a feed (GenOptions::advance) no longer lists some items stored before.
  std::vector<const Item*> expected;
  expected.reserve(feed.items.size() + feed.retired_items.size());
  for (const Item& item : feed.items) expected.push_back(&item);
  for (const Item& item : feed.retired_items) expected.push_back(&item);
  counts_.expected += expected.size();
  const auto url = url_by_path_.find(feed.path);
  StatusOr<std::optional<uint64_t>> id =
      url == url_by_path_.end() ? std::optional<uint64_t>() : store_->FindFeedId(url->second);
  if (!id.ok()) return id.status();
  if (!id->has_value()) {
    ++counts_.feeds_missing;
    counts_.missing += expected.size();
    return Status::Ok();
  }
  ItemQuery query;
  query.feed_id = **id;
  StatusOr<std::vector<ItemRow>> rows = store_->QueryItems(query);
  if (!rows.ok()) return rows.status();

  std::vector<StoredRow> stored;
  stored.reserve(rows->size());
  std::unordered_map<std::string, size_t> by_key;
  for (const ItemRow& row : *rows) {
    StoredRow parsed;
    parsed.json = nlohmann::json::parse(row.json, nullptr, /*allow_exceptions=*/false);
    if (parsed.json.is_object()) {
      parsed.key = StringField(parsed.json, "key");
      parsed.title = StringField(parsed.json, "title");
    }
    by_key.emplace(parsed.key, stored.size());
    stored.push_back(std::move(parsed));
  }
  counts_.stored += stored.size();

  const uint64_t missing_before = counts_.missing;
  std::unordered_map<std::string, size_t> expected_titles;
  for (const Item* expected_item : expected) {
    const Item& item = *expected_item;
    ++expected_titles[item.title];
    StoredRow* found = nullptr;
    if (!item.key.empty()) {
      auto it = by_key.find(item.key);
      if (it != by_key.end() && !stored[it->second].used) found = &stored[it->second];
    } else {
      // Without identity the parser derives the key from the content; the generator makes such
      // titles unique within a feed, so the title identifies the item.
      for (StoredRow& row : stored) {
        if (!row.used && row.key.rfind("h:", 0) == 0 && row.title == item.title) {
          found = &row;
          break;
        }
      }
    }
    if (found == nullptr) {
      ++counts_.missing;
      continue;
    }
    found->used = true;
    ++counts_.matched;
    if (!SameFields(found->json, ItemToJson(item))) ++counts_.field_mismatches;
  }
  uint64_t unmatched = 0;
  for (const StoredRow& row : stored) {
    if (row.used) continue;
    ++unmatched;
    // Another copy of an expected item (its key was derived differently once) is a duplicate;
    // anything else was never in the document.
    if (expected_titles.count(row.title) != 0) {
      ++counts_.duplicated;
    } else {
      ++counts_.extra;
    }
  }
  if (counts_.missing == missing_before && unmatched == 0) ++counts_.feeds_exact;
  return Status::Ok();
}

Status ItemVerifier::CheckTruthFile(const std::string& truth_path) {
  std::ifstream in(truth_path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + truth_path);
  std::string line;
  size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) {
      return Status::InvalidArgument(truth_path + ":" + std::to_string(line_number) +
                                     ": not a JSON object");
    }
    Status s = Check(GeneratedFeedFromJson(json));
    if (!s.ok()) return s;
  }
  if (in.bad()) return Status::DataLoss("error reading " + truth_path);
  return Status::Ok();
}

}  // namespace feedcrawl::bench
