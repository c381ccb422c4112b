// The two-step read (ParseFeedKeys, then FeedDocument::ReadWhole) against ParseFeed. A processor
// asks the store which keys of a changed feed it has from the first step's keys, and stores the
// items of the second: a key that came out differently in either step would store an item twice,
// and a field that did would store a different item. So both steps must give exactly what
// ParseFeed gives, over every corpus file, the generated feeds and the cases that take other paths.
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "processor/parser.h"
#include "tests/gen/feed_generator.h"

namespace feedcrawl {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<size_t> Every(size_t count) {
  std::vector<size_t> positions(count);
  std::iota(positions.begin(), positions.end(), size_t{0});
  return positions;
}

std::string Describe(const Item& item) { return ItemToJson(item).dump() + " key=" + item.key; }

// Both steps against ParseFeed for one document; `what` names it in failures.
void ExpectSameAsParseFeed(const std::string& body, const ParseOptions& options,
                           const std::string& what) {
  SCOPED_TRACE(what);
  const ParsedFeed whole = ParseFeed(body, options);
  FeedDocument document = ParseFeedKeys(body, options);
  const ParsedFeed& keys = document.feed();
  EXPECT_EQ(keys.format, whole.format);
  EXPECT_EQ(keys.bozo, whole.bozo);
  EXPECT_EQ(keys.error, whole.error);
  EXPECT_EQ(FeedInfoToJson(keys.feed), FeedInfoToJson(whole.feed));
  ASSERT_EQ(keys.items.size(), whole.items.size());
  for (size_t i = 0; i < whole.items.size(); ++i) {
    SCOPED_TRACE("item " + std::to_string(i));
    EXPECT_EQ(keys.items[i].key, whole.items[i].key);
    EXPECT_EQ(keys.items[i].id, whole.items[i].id);
    EXPECT_EQ(keys.items[i].published_ms, whole.items[i].published_ms);
    EXPECT_EQ(keys.items[i].updated_ms, whole.items[i].updated_ms);
  }
  const std::vector<Item> all = document.ReadWhole(Every(whole.items.size()));
  ASSERT_EQ(all.size(), whole.items.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(Describe(all[i]), Describe(whole.items[i])) << "item " << i;
  }
  // Some items only, as a processor asks for the new ones: every third, from the second.
  std::vector<size_t> some;
  for (size_t i = 1; i < whole.items.size(); i += 3) some.push_back(i);
  const std::vector<Item> read = ParseFeedKeys(body, options).ReadWhole(some);
  ASSERT_EQ(read.size(), some.size());
  for (size_t k = 0; k < some.size(); ++k) {
    EXPECT_EQ(Describe(read[k]), Describe(whole.items[some[k]])) << "item " << some[k];
  }
}

TEST(TwoStepParseTest, EveryCorpusFileReadsTheSameInTwoSteps) {
  size_t files = 0;
  size_t items = 0;
  for (const char* folder : {"tests/data/corpus", "tests/fuzz/corpus", "tests/fuzz/regressions"}) {
    const fs::path root = fs::path(FEEDCRAWL_SOURCE_DIR) / folder;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      const std::string name = entry.path().filename().string();
      if (name.find("LICENSE") != std::string::npos || entry.path().extension() == ".md") continue;
      const std::string body = ReadFile(entry.path());
      ParseOptions options;
      options.url = "http://example.com/feeds/feed.xml";
      ExpectSameAsParseFeed(body, options, entry.path().string());
      items += ParseFeed(body, options).items.size();
      ++files;
    }
  }
  EXPECT_GT(files, 100u);
  EXPECT_GT(items, 150u);
}

TEST(TwoStepParseTest, GeneratedFeedsReadTheSameInTwoSteps) {
  GenOptions gen;
  gen.feeds = 60;  // each format, with items without guid and without any identity
  gen.items_per_feed = 12;
  gen.item_bytes = 600;
  gen.base_url = "http://127.0.0.1:8080";
  for (size_t i = 0; i < gen.feeds; ++i) {
    std::string body;
    GeneratedFeed feed = GenerateFeed(gen, i, &body);
    ParseOptions options;
    options.url = gen.base_url + "/" + feed.path;
    ExpectSameAsParseFeed(body, options, feed.path + " (" + feed.format + ")");
  }
}

// The first step reads an item with an id or a link for its key and dates only; that is what
// saves the work for the items a store has.
TEST(TwoStepParseTest, TheFirstStepReadsAnItemOnlyForItsKeyAndDates) {
  const std::string body = R"(<rss version="2.0"><channel><title>T</title>
    <item><title>One</title><description>&lt;p&gt;first&lt;/p&gt;</description>
      <pubDate>Wed, 01 May 2024 12:00:00 GMT</pubDate><guid>urn:one</guid></item>
    <item><title>Two</title><link>/two</link><description>second</description></item>
    <item><title>Three</title><description>third</description></item>
    </channel></rss>)";
  ParseOptions options;
  options.url = "http://example.com/feed.xml";
  FeedDocument document = ParseFeedKeys(body, options);
  ASSERT_EQ(document.feed().items.size(), 3u);
  const Item& with_id = document.feed().items[0];
  EXPECT_EQ(with_id.key, "urn:one");
  EXPECT_EQ(with_id.published_ms, 1714564800000);
  EXPECT_EQ(with_id.title, "");
  EXPECT_EQ(with_id.summary, "");
  // Without an id the key is the link.
  const Item& with_link = document.feed().items[1];
  EXPECT_EQ(with_link.key, "http://example.com/two");
  EXPECT_EQ(with_link.title, "");
  // With neither, the key is a hash of the title, date and text: the item is read whole at once.
  const Item& neither = document.feed().items[2];
  EXPECT_EQ(neither.key.rfind("h:", 0), 0u);
  EXPECT_EQ(neither.title, "Three");
  EXPECT_EQ(neither.summary, "third");
  const std::vector<Item> read = document.ReadWhole({0, 1});
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].title, "One");
  EXPECT_EQ(read[0].summary, "<p>first</p>");
  EXPECT_EQ(read[0].key, "urn:one");
  EXPECT_EQ(read[1].title, "Two");
  EXPECT_EQ(read[1].key, "http://example.com/two");
}

TEST(TwoStepParseTest, PositionsPastTheItemsReadNothing) {
  // From the tree (XML read for keys) and from items read whole (JSON Feed, an empty document).
  ParseOptions options;
  const std::string rss = R"(<rss version="2.0"><channel><title>R</title>
    <item><guid>a</guid><title>A</title></item></channel></rss>)";
  std::vector<Item> read = ParseFeedKeys(rss, options).ReadWhole({0, 1, 7});
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].title, "A");
  const std::string json = R"({"version": "https://jsonfeed.org/version/1.1", "title": "J",
    "items": [{"id": "j1", "content_text": "x"}]})";
  read = ParseFeedKeys(json, options).ReadWhole({0, 3});
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].key, "j1");
  const std::string no_items = R"(<rss version="2.0"><channel/></rss>)";
  EXPECT_TRUE(ParseFeedKeys(no_items, options).ReadWhole({0}).empty());
  const std::string no_json_items = R"({"version": "https://jsonfeed.org/version/1", "items": []})";
  EXPECT_TRUE(ParseFeedKeys(no_json_items, options).ReadWhole({0}).empty());
}

TEST(TwoStepParseTest, RepeatedIdsAreSettledFromEveryFieldAsParseFeedDoes) {
  // An exact duplicate is dropped, a different item under the same guid gets a suffix: both
  // depend on fields the first step does not read, so such a document is read whole at once.
  const std::string body = R"(<rss version="2.0"><channel>
    <item><guid>g</guid><title>A</title></item>
    <item><guid>g</guid><title>A</title></item>
    <item><guid>g</guid><title>B</title></item>
    <item><guid>other</guid><title>C</title></item>
    </channel></rss>)";
  ParseOptions options;
  ExpectSameAsParseFeed(body, options, "repeated guids");
  const FeedDocument document = ParseFeedKeys(body, options);
  ASSERT_EQ(document.feed().items.size(), 3u);
  EXPECT_EQ(document.feed().items[1].key.rfind("g#", 0), 0u);
  EXPECT_EQ(document.feed().items[2].title, "C");
}

TEST(TwoStepParseTest, NamespacesAndBasesDeclaredOnTheWayReadTheSame) {
  // Prefixes bound on the item, xml:base on an entry and its children, a standalone entry, RSS
  // 1.0 with rdf:about, dates from several elements, ids after the other fields.
  const std::vector<std::string> documents = {
      R"(<rss version="2.0"><channel>
        <item xmlns:d="http://purl.org/dc/elements/1.1/"><d:title>x</d:title>
          <d:date>2024-05-01T10:00:00+02:00</d:date><link>a.html</link><guid>id1</guid></item>
        <item xmlns:at="http://www.w3.org/2005/Atom"><at:updated>2024-05-02T00:00:00Z</at:updated>
          <title>y</title><guid isPermaLink="true">http://h.example/y</guid></item>
        </channel></rss>)",
      R"(<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://b.example/dir/">
        <title>F</title><author><name>Feed author</name></author>
        <entry xml:base="sub/"><title type="html">&lt;b&gt;E&lt;/b&gt;</title>
          <link href="e1"/><updated>2024-05-03T00:00:00Z</updated><id>tag:e1</id></entry>
        <entry><title>No id</title><link href="e2"/><content type="xhtml">
          <div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></content></entry>
        </feed>)",
      R"(<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old</title>
        <entry><title>1</title><created>2004-05-01T00:00:00Z</created><id>tag:old1</id>
          <modified>2004-05-02T00:00:00Z</modified></entry>
        <entry><issued>2004-05-03T00:00:00Z</issued><id>tag:old2</id><title>2</title></entry>
        </feed>)",
      R"(<entry xmlns="http://www.w3.org/2005/Atom"><id>tag:alone</id><title>Alone</title>
        <published>2024-05-04T00:00:00Z</published></entry>)",
      R"(<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
        xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <channel rdf:about="http://r.example/"><title>R</title></channel>
        <item rdf:about="http://r.example/1"><title>1</title><dc:date>2024-05-05</dc:date></item>
        <item rdf:about="  "><title>blank about</title><link>http://r.example/2</link></item>
        </rdf:RDF>)",
      // Not well formed: read after repairs, in both steps from the same repaired tree.
      R"(<rss version="2.0"><channel><item><guid>r1</guid><title>a < b</title></item>
        <item><guid>r2</guid><title>fine</title></channel></rss>)",
      R"({"version": "https://jsonfeed.org/version/1.1", "title": "J",
        "items": [{"id": "j1", "content_text": "x"}, {"id": "j2", "title": "t"}]})",
      "<html><body>not a feed</body></html>",
      "",
  };
  for (size_t i = 0; i < documents.size(); ++i) {
    ParseOptions options;
    options.url = "http://example.com/feed";
    ExpectSameAsParseFeed(documents[i], options, "document " + std::to_string(i));
  }
}

}  // namespace
}  // namespace feedcrawl
