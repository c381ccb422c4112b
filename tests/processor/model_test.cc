#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/feed_model.h"
#include "common/url.h"

namespace feedcrawl {
namespace {

TEST(FormatRfc3339Test, Formats) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1031356801000), "2002-09-07T00:00:01Z");
  EXPECT_EQ(FormatRfc3339(1031356801250), "2002-09-07T00:00:01.250Z");
  EXPECT_EQ(FormatRfc3339(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(951782400000), "2000-02-29T00:00:00Z");
}

Item SampleItem() {
  Item item;
  item.key = "k1";
  item.id = "urn:1";
  item.title = "Title";
  item.link = "http://example.com/1";
  item.published_ms = 1031356801000;
  item.updated_ms = 1031356801250;
  item.author = "Ann";
  item.summary = "<p>s</p>";
  item.content = "<p>c</p>";
  item.categories = {"a", "b"};
  item.enclosures = {{"http://example.com/a.mp3", "audio/mpeg", 123}, {"http://e/x", "", {}}};
  return item;
}

TEST(ItemJsonTest, FieldsAndNulls) {
  Item empty;
  empty.key = "k";
  nlohmann::json j = ItemToJson(empty);
  EXPECT_EQ(j["key"], "k");
  for (const char* field : {"id", "title", "link", "published", "updated", "author", "summary",
                            "content"}) {
    EXPECT_TRUE(j[field].is_null()) << field;
  }
  EXPECT_EQ(j["categories"], nlohmann::json::array());
  EXPECT_EQ(j["enclosures"], nlohmann::json::array());

  nlohmann::json full = ItemToJson(SampleItem());
  EXPECT_EQ(full["published"], "2002-09-07T00:00:01Z");
  EXPECT_EQ(full["updated"], "2002-09-07T00:00:01.250Z");
  EXPECT_EQ(full["enclosures"][0]["length"], 123);
  EXPECT_TRUE(full["enclosures"][1]["type"].is_null());
  EXPECT_TRUE(full["enclosures"][1]["length"].is_null());
}

TEST(ItemJsonTest, RoundTrips) {
  Item item = SampleItem();
  Item back = ItemFromJson(ItemToJson(item));
  EXPECT_EQ(back.key, item.key);
  EXPECT_EQ(back.id, item.id);
  EXPECT_EQ(back.title, item.title);
  EXPECT_EQ(back.link, item.link);
  EXPECT_EQ(back.published_ms, item.published_ms);
  EXPECT_EQ(back.updated_ms, item.updated_ms);
  EXPECT_EQ(back.author, item.author);
  EXPECT_EQ(back.summary, item.summary);
  EXPECT_EQ(back.content, item.content);
  EXPECT_EQ(back.categories, item.categories);
  ASSERT_EQ(back.enclosures.size(), 2u);
  EXPECT_EQ(back.enclosures[0].url, "http://example.com/a.mp3");
  EXPECT_EQ(back.enclosures[0].length, 123);
  EXPECT_FALSE(back.enclosures[1].length.has_value());
}

TEST(ItemJsonTest, FromJsonToleratesMissingAndWrongFields) {
  Item item = ItemFromJson(nlohmann::json::parse(R"({"key": "k", "title": 5, "published": "x",
      "categories": "nope", "enclosures": [1, {"url": "u"}]})"));
  EXPECT_EQ(item.key, "k");
  EXPECT_EQ(item.title, "");
  EXPECT_FALSE(item.published_ms.has_value());
  EXPECT_TRUE(item.categories.empty());
  ASSERT_EQ(item.enclosures.size(), 1u);
  EXPECT_EQ(item.enclosures[0].url, "u");
  EXPECT_EQ(ItemFromJson(nlohmann::json::array()).key, "");
}

TEST(ParsedFeedJsonTest, Shape) {
  ParsedFeed parsed;
  parsed.format = "rss20";
  parsed.feed.title = "T";
  parsed.feed.updated_ms = 0;
  parsed.items.push_back(SampleItem());
  nlohmann::json j = ParsedFeedToJson(parsed);
  EXPECT_EQ(j["format"], "rss20");
  EXPECT_EQ(j["bozo"], false);
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["feed"]["title"], "T");
  EXPECT_EQ(j["feed"]["updated"], "1970-01-01T00:00:00Z");
  EXPECT_TRUE(j["feed"]["link"].is_null());
  ASSERT_EQ(j["items"].size(), 1u);
  EXPECT_EQ(j["items"][0]["key"], "k1");
}

TEST(UrlHostTest, Hosts) {
  EXPECT_EQ(UrlHost("http://Example.COM/path"), "example.com");
  EXPECT_EQ(UrlHost("https://user:pw@host.example:8443/x?y"), "host.example");
  EXPECT_EQ(UrlHost("http://[::1]:8080/"), "[::1]");
  EXPECT_EQ(UrlHost("http://host"), "host");
  EXPECT_EQ(UrlHost("/relative/path"), "");
  EXPECT_EQ(UrlHost("mailto:a@b.c"), "");
  EXPECT_EQ(UrlHost(""), "");
}

// The examples of RFC 3986 section 5.4.
TEST(ResolveUrlTest, Rfc3986Examples) {
  const std::string base = "http://a/b/c/d;p?q";
  const std::pair<const char*, const char*> cases[] = {
      {"g:h", "g:h"},         {"g", "http://a/b/c/g"},       {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"}, {"/g", "http://a/g"},       {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"}, {"g?y", "http://a/b/c/g?y"}, {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"}, {"g?y#s", "http://a/b/c/g?y#s"}, {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"}, {"", "http://a/b/c/d;p?q"}, {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},   {"..", "http://a/b/"},      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},  {"../..", "http://a/"},     {"../../", "http://a/"},
      {"../../g", "http://a/g"}, {"../../../g", "http://a/g"}, {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},    {"/../g", "http://a/g"},    {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"}, {"g..", "http://a/b/c/g.."}, {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"}, {"./g/.", "http://a/b/c/g/"}, {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"}, {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"}, {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
  };
  for (const auto& [reference, expected] : cases) {
    EXPECT_EQ(ResolveUrl(base, reference), expected) << reference;
  }
}

TEST(ResolveUrlTest, EdgeCases) {
  EXPECT_EQ(ResolveUrl("http://a", "b"), "http://a/b");
  EXPECT_EQ(ResolveUrl("", "b/c"), "b/c");
  EXPECT_EQ(ResolveUrl("relative/base", "x"), "x");
  EXPECT_EQ(ResolveUrl("https://a/b/", "//cdn.example/x.png"), "https://cdn.example/x.png");
}

}  // namespace
}  // namespace feedcrawl
