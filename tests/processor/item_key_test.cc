#include "processor/item_key.h"

#include <gtest/gtest.h>

namespace feedcrawl {
namespace {

TEST(HashTest, Fnv1aKnownValues) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Hex64(0x1234abcdULL), "000000001234abcd");
}

TEST(ItemKeyTest, PrefersIdThenLinkThenHash) {
  Item item;
  item.id = "  urn:id:1 ";
  item.link = "http://example.com/1";
  item.title = "Title";
  EXPECT_EQ(ItemKey(item, ""), "urn:id:1");
  item.id = "   ";
  EXPECT_EQ(ItemKey(item, ""), "http://example.com/1");
  item.id.reset();
  item.link.clear();
  std::string key = ItemKey(item, "Mon, 01 Jan 2024 00:00:00 GMT");
  ASSERT_EQ(key.size(), 18u);
  EXPECT_EQ(key.substr(0, 2), "h:");
  EXPECT_EQ(key, "h:" + Hex64(Fnv1a64("Title\nMon, 01 Jan 2024 00:00:00 GMT\n")));
  // Stable, and sensitive to each input.
  EXPECT_EQ(key, ItemKey(item, "Mon, 01 Jan 2024 00:00:00 GMT"));
  EXPECT_NE(key, ItemKey(item, "Tue, 02 Jan 2024 00:00:00 GMT"));
  Item with_summary = item;
  with_summary.summary = "<p>x</p>";
  EXPECT_NE(key, ItemKey(with_summary, "Mon, 01 Jan 2024 00:00:00 GMT"));
  Item with_content = with_summary;
  with_content.content = "<p>full</p>";
  EXPECT_NE(ItemKey(with_summary, ""), ItemKey(with_content, ""));
}

Item MakeItem(std::string key, std::string title) {
  Item item;
  item.key = std::move(key);
  item.title = std::move(title);
  return item;
}

TEST(DeduplicateKeysTest, CollapsesExactDuplicates) {
  std::vector<Item> items = {MakeItem("k", "a"), MakeItem("k", "a"), MakeItem("j", "b")};
  DeduplicateKeys(items);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].key, "k");
  EXPECT_EQ(items[1].key, "j");
}

TEST(DeduplicateKeysTest, FindsARepeatAmongOtherKeysAndLeavesUniqueKeysAlone) {
  // No two items with the same key are next to each other.
  std::vector<Item> items = {MakeItem("m", "1"), MakeItem("k", "a"), MakeItem("z", "2"),
                             MakeItem("k", "a"), MakeItem("b", "3"), MakeItem("k", "other")};
  DeduplicateKeys(items);
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0].key, "m");
  EXPECT_EQ(items[1].key, "k");
  EXPECT_EQ(items[2].key, "z");
  EXPECT_EQ(items[3].key, "b");
  EXPECT_EQ(items[4].key.substr(0, 2), "k#");  // the other item with the same key

  std::vector<Item> unique = {MakeItem("m", "1"), MakeItem("k", "a"), MakeItem("z", "2")};
  DeduplicateKeys(unique);
  ASSERT_EQ(unique.size(), 3u);
  EXPECT_EQ(unique[0].key, "m");
  EXPECT_EQ(unique[1].key, "k");
  EXPECT_EQ(unique[2].key, "z");
}

TEST(DeduplicateKeysTest, DisambiguatesDifferentItemsDeterministically) {
  std::vector<Item> items = {MakeItem("k", "a"), MakeItem("k", "b"), MakeItem("k", "c")};
  std::vector<Item> again = items;
  DeduplicateKeys(items);
  DeduplicateKeys(again);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].key, "k");
  EXPECT_EQ(items[1].key.substr(0, 2), "k#");
  EXPECT_NE(items[1].key, items[2].key);
  for (size_t i = 0; i < items.size(); ++i) EXPECT_EQ(items[i].key, again[i].key);
}

TEST(DeduplicateKeysTest, SameLinkTitleContentButOtherDateStaysDistinct) {
  Item a = MakeItem("k", "t");
  Item b = a;
  b.published_ms = 1000;
  Item c = a;
  c.published_ms = 2000;
  std::vector<Item> items = {a, b, c};
  DeduplicateKeys(items);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_NE(items[0].key, items[1].key);
  EXPECT_NE(items[1].key, items[2].key);
  EXPECT_NE(items[0].key, items[2].key);
}

}  // namespace
}  // namespace feedcrawl
