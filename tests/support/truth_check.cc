#include "tests/support/truth_check.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

namespace feedcrawl::testing {
namespace {

nlohmann::json WithoutKey(nlohmann::json item) {
  item.erase("key");
  return item;
}

void CompareItems(Store& store, uint64_t feed_id, const std::vector<Item>& expected,
                  std::vector<std::string>& keys) {
  ItemQuery query;
  query.feed_id = feed_id;
  StatusOr<std::vector<ItemRow>> rows = store.QueryItems(query);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), expected.size()) << "items lost or duplicated";
  std::map<std::string, nlohmann::json> by_key;
  std::map<std::string, nlohmann::json> by_title;
  for (const ItemRow& row : *rows) {
    nlohmann::json json = nlohmann::json::parse(row.json);
    const std::string key = json["key"].get<std::string>();
    EXPECT_TRUE(by_key.emplace(key, json).second) << "key stored twice: " << key;
    by_title[json["title"].is_string() ? json["title"].get<std::string>() : ""] = json;
    keys.push_back(key);
  }
  for (const Item& item : expected) {
    const nlohmann::json want = ItemToJson(item);
    nlohmann::json got;
    if (!item.key.empty()) {
      auto it = by_key.find(item.key);
      ASSERT_NE(it, by_key.end()) << "missing item " << item.key;
      got = it->second;
    } else {
      auto it = by_title.find(item.title);
      ASSERT_NE(it, by_title.end()) << "missing item titled " << item.title;
      got = it->second;
      EXPECT_EQ(got["key"].get<std::string>().rfind("h:", 0), 0u) << got["key"];
    }
    EXPECT_EQ(WithoutKey(got), WithoutKey(want));
  }
}

}  // namespace

std::vector<std::string> ExpectStoredItemsMatch(Store& store, uint64_t feed_id,
                                                const std::vector<Item>& expected) {
  std::vector<std::string> keys;
  CompareItems(store, feed_id, expected, keys);
  return keys;
}

}  // namespace feedcrawl::testing
