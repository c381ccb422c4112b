#include "tests/gen/feed_generator.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <set>
#include <string>

#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

using testing::TempDir;

GenOptions SmallOptions() {
  GenOptions options;
  options.feeds = 12;
  options.items_per_feed = 30;
  options.item_bytes = 400;
  options.seed = 7;
  options.base_url = "http://127.0.0.1:8080";
  return options;
}

TEST(FeedGeneratorTest, SameSeedSameBytesAndTruth) {
  GenOptions options = SmallOptions();
  for (size_t index : {0u, 1u, 2u, 11u}) {
    std::string first, second;
    GeneratedFeed a = GenerateFeed(options, index, &first);
    GeneratedFeed b = GenerateFeed(options, index, &second);
    EXPECT_EQ(first, second);
    EXPECT_EQ(GeneratedFeedToJson(a), GeneratedFeedToJson(b));
  }
  std::string with_seed_7, with_seed_8;
  GenerateFeed(options, 3, &with_seed_7);
  options.seed = 8;
  GenerateFeed(options, 3, &with_seed_8);
  EXPECT_NE(with_seed_7, with_seed_8);
}

TEST(FeedGeneratorTest, LaterVersionsAddNewItemsOnTopAndRetireTheOldest) {
  GenOptions options = SmallOptions();
  for (size_t index : {0u, 1u, 2u}) {  // one feed of each format
    std::string first_document, later_document;
    GeneratedFeed first = GenerateFeed(options, index, &first_document);
    options.advance = 3;
    GeneratedFeed later = GenerateFeed(options, index, &later_document);
    options.advance = 0;
    EXPECT_NE(first_document, later_document);
    EXPECT_TRUE(first.retired_items.empty());
    ASSERT_EQ(later.items.size(), options.items_per_feed);
    ASSERT_EQ(later.retired_items.size(), 3u);
    std::set<std::string> first_keys;
    for (const Item& item : first.items) first_keys.insert(item.key + "|" + item.title);
    // Three new items, newer than every item of the first version, then the first version's
    // items but its three oldest, unchanged.
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(first_keys.count(later.items[i].key + "|" + later.items[i].title), 0u);
      EXPECT_GT(later.items[i].published_ms.value_or(0), first.items[0].published_ms.value_or(0));
    }
    for (size_t i = 3; i < later.items.size(); ++i) {
      EXPECT_EQ(ItemToJson(later.items[i]), ItemToJson(first.items[i - 3])) << i;
    }
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(ItemToJson(later.retired_items[i]),
                ItemToJson(first.items[first.items.size() - 3 + i]));
    }
    // The truth line keeps the retired items.
    GeneratedFeed back = GeneratedFeedFromJson(GeneratedFeedToJson(later));
    EXPECT_EQ(GeneratedFeedToJson(back), GeneratedFeedToJson(later));
    EXPECT_EQ(back.retired_items.size(), 3u);
  }
}

TEST(FeedGeneratorTest, WritesEveryFeedAndTheTruthCounts) {
  TempDir dir;
  GenOptions options = SmallOptions();
  ASSERT_OK_AND_ASSIGN(auto feeds, GenerateFeeds(options, dir.path()));
  ASSERT_EQ(feeds.size(), options.feeds);
  std::set<std::string> formats;
  for (size_t i = 0; i < feeds.size(); ++i) {
    EXPECT_EQ(feeds[i].path, GeneratedFeedPath(i));
    EXPECT_EQ(feeds[i].items.size(), options.items_per_feed);
    formats.insert(feeds[i].format);
    ASSERT_OK_AND_ASSIGN(std::string document, testing::ReadFile(dir.File(feeds[i].path)));
    std::string regenerated;
    GenerateFeed(options, i, &regenerated);
    EXPECT_EQ(document, regenerated);
  }
  EXPECT_EQ(formats, (std::set<std::string>{"rss20", "atom10", "rss10"}));
}

TEST(FeedGeneratorTest, DocumentsAreWellFormedAndMatchTheirFormat) {
  GenOptions options = SmallOptions();
  for (size_t i = 0; i < options.feeds; ++i) {
    std::string document;
    GeneratedFeed feed = GenerateFeed(options, i, &document);
    pugi::xml_document xml;
    pugi::xml_parse_result result = xml.load_buffer(document.data(), document.size());
    ASSERT_TRUE(result) << feed.path << ": " << result.description();
    std::string root = xml.document_element().name();
    if (feed.format == "rss20") {
      EXPECT_EQ(root, "rss");
    }
    if (feed.format == "atom10") {
      EXPECT_EQ(root, "feed");
    }
    if (feed.format == "rss10") {
      EXPECT_EQ(root, "rdf:RDF");
    }
  }
}

TEST(FeedGeneratorTest, TruthFollowsTheKeyRuleAndCoversTheHardCases) {
  GenOptions options = SmallOptions();
  options.feeds = 30;
  size_t without_id = 0, without_key = 0, with_enclosure = 0, non_ascii = 0, with_offset = 0;
  for (size_t i = 0; i < options.feeds; ++i) {
    std::string document;
    GeneratedFeed feed = GenerateFeed(options, i, &document);
    std::set<std::string> keys, titles;
    for (const Item& item : feed.items) {
      EXPECT_TRUE(titles.insert(item.title).second) << "titles must be unique: " << item.title;
      if (item.id) {
        EXPECT_EQ(item.key, *item.id);
      } else {
        ++without_id;
        EXPECT_EQ(item.key, item.link);
      }
      if (item.key.empty()) {
        ++without_key;
        EXPECT_TRUE(item.link.empty());
      } else {
        EXPECT_TRUE(keys.insert(item.key).second) << "duplicate key " << item.key;
      }
      if (!item.link.empty()) {
        EXPECT_EQ(item.link.rfind("http", 0), 0u) << item.link;
      }
      EXPECT_TRUE(item.published_ms.has_value());
      EXPECT_EQ(*item.published_ms % 1000, 0);
      EXPECT_EQ(item.updated_ms.has_value(), feed.format == "atom10");
      if (!item.enclosures.empty()) ++with_enclosure;
      for (unsigned char c : item.title) non_ascii += c >= 0x80 ? 1 : 0;
      EXPECT_NE(item.content.find("<p>"), std::string::npos);
    }
    with_offset +=
        document.find("+0200") != std::string::npos || document.find("+02:00") != std::string::npos;
  }
  EXPECT_GT(without_id, 0u);
  EXPECT_GT(without_key, 0u);
  EXPECT_GT(with_enclosure, 0u);
  EXPECT_GT(non_ascii, 0u);
  EXPECT_GT(with_offset, 0u);
}

TEST(FeedGeneratorTest, TruthJsonLinesRoundTrip) {
  TempDir dir;
  GenOptions options = SmallOptions();
  options.feeds = 4;
  ASSERT_OK_AND_ASSIGN(auto feeds, GenerateFeeds(options, dir.path()));
  ASSERT_OK(WriteTruthJsonl(feeds, dir.File("truth.jsonl")));
  ASSERT_OK_AND_ASSIGN(auto read, ReadTruthJsonl(dir.File("truth.jsonl")));
  ASSERT_EQ(read.size(), feeds.size());
  for (size_t i = 0; i < feeds.size(); ++i) {
    EXPECT_EQ(GeneratedFeedToJson(read[i]), GeneratedFeedToJson(feeds[i]));
  }
  ASSERT_OK_AND_ASSIGN(std::string text, testing::ReadFile(dir.File("truth.jsonl")));
  nlohmann::json first = nlohmann::json::parse(text.substr(0, text.find('\n')));
  EXPECT_EQ(first["path"], feeds[0].path);
  EXPECT_EQ(first["items"].size(), options.items_per_feed);
}

}  // namespace
}  // namespace feedcrawl
