// The parser over real-world and specification fixtures in tests/data/corpus: feed-rs's expected
// results (*.serde.json) for titles, links, dates and item counts, format detection over the
// gofeed and ROME samples, and output invariants (valid UTF-8, unique keys) for every file.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "processor/dates.h"
#include "processor/parser.h"
#include "processor/text.h"

namespace feedcrawl {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(FEEDCRAWL_SOURCE_DIR) / "tests/data/corpus";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

ParsedFeed ParseFile(const fs::path& path) {
  ParseOptions options;
  return ParseFeed(ReadFile(path), options);
}

// feed-rs leaves some references encoded and keeps raw whitespace; compare readable text.
std::string Normalise(const nlohmann::json& text_object) {
  if (!text_object.is_object() || !text_object["content"].is_string()) return "";
  return CollapseWhitespace(DecodeEntities(text_object["content"].get<std::string>()));
}

// feed-rs normalises URLs (lower-case host, "/" for an empty path); compare modulo that.
std::string NormaliseUrl(std::string url) {
  size_t scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    size_t host_end = url.find('/', scheme_end + 3);
    for (size_t i = 0; i < std::min(host_end, url.size()); ++i) {
      url[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(url[i])));
    }
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::vector<fs::path> ExpectedResults() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpus / "feed-rs")) {
    std::string name = entry.path().filename().string();
    if (name.size() > 11 && name.compare(name.size() - 11, 11, ".serde.json") == 0) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FeedRsCorpusTest, MatchesExpectedResults) {
  std::vector<fs::path> expectations = ExpectedResults();
  ASSERT_GE(expectations.size(), 60u) << "corpus missing under " << kCorpus;
  for (const fs::path& expected_path : expectations) {
    std::string stem = expected_path.string();
    stem.resize(stem.size() - 11);
    fs::path input = fs::exists(stem + ".xml") ? fs::path(stem + ".xml") : fs::path(stem + ".json");
    SCOPED_TRACE(input.string());
    nlohmann::json expected = nlohmann::json::parse(ReadFile(expected_path));
    ParsedFeed parsed = ParseFile(input);
    ASSERT_FALSE(parsed.format.empty()) << parsed.error;
    EXPECT_FALSE(parsed.bozo) << parsed.error;
    EXPECT_EQ(parsed.feed.title, Normalise(expected["title"]));
    const nlohmann::json& entries = expected["entries"];
    ASSERT_EQ(parsed.items.size(), entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      const nlohmann::json& entry = entries[i];
      const Item& item = parsed.items[i];
      SCOPED_TRACE("entry " + std::to_string(i));
      EXPECT_EQ(item.title, Normalise(entry["title"]));
      if (!entry["links"].empty()) {
        EXPECT_EQ(NormaliseUrl(item.link), NormaliseUrl(entry["links"][0]["href"].get<std::string>()));
      }
      if (entry["published"].is_string()) {
        EXPECT_EQ(item.published_ms, ParseIso8601Date(entry["published"].get<std::string>()));
      }
      if (entry["updated"].is_string()) {
        // feed-rs reports an RSS item's only date as "updated"; ours keeps it as published.
        std::optional<int64_t> ours = item.updated_ms ? item.updated_ms : item.published_ms;
        EXPECT_EQ(ours, ParseIso8601Date(entry["updated"].get<std::string>()));
      }
    }
  }
}

void ExpectWellFormedOutput(const ParsedFeed& parsed) {
  auto valid = [](const std::string& s) { return IsValidUtf8(s); };
  EXPECT_TRUE(valid(parsed.error));
  EXPECT_TRUE(valid(parsed.feed.title) && valid(parsed.feed.link) &&
              valid(parsed.feed.description) && valid(parsed.feed.author) &&
              valid(parsed.feed.image) && valid(parsed.feed.language));
  std::set<std::string> keys;
  for (const Item& item : parsed.items) {
    EXPECT_FALSE(item.key.empty());
    EXPECT_TRUE(keys.insert(item.key).second) << "duplicate key " << item.key;
    EXPECT_TRUE(valid(item.key) && valid(item.title) && valid(item.link) && valid(item.author) &&
                valid(item.summary) && valid(item.content));
    for (const std::string& category : item.categories) EXPECT_TRUE(valid(category));
    for (const Enclosure& enclosure : item.enclosures) EXPECT_TRUE(valid(enclosure.url));
  }
}

TEST(CorpusTest, EveryFileGivesWellFormedOutput) {
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpus)) {
    if (!entry.is_regular_file()) continue;
    SCOPED_TRACE(entry.path().string());
    ExpectWellFormedOutput(ParseFile(entry.path()));
    ++files;
  }
  EXPECT_GT(files, 150u);
}

struct FormatCase {
  const char* path;
  const char* format;
};

TEST(CorpusTest, DetectsFormats) {
  const FormatCase cases[] = {
      {"gofeed/testdata/parser/universal/rss_feed.xml", "rss20"},
      {"gofeed/testdata/parser/universal/rss_feed_bom.xml", "rss20"},
      {"gofeed/testdata/parser/universal/rss_feed_leading_spaces.xml", "rss20"},
      {"gofeed/testdata/parser/universal/rdf_feed.xml", "rss10"},
      {"gofeed/testdata/parser/universal/atom03_feed.xml", "atom03"},
      {"gofeed/testdata/parser/universal/atom10_feed.xml", "atom10"},
      {"gofeed/testdata/parser/universal/json10_feed.json", "json10"},
      {"gofeed/testdata/parser/universal/json11_feed.json", "json11"},
      {"gofeed/testdata/parser/universal/unknown_feed.xml", ""},
      {"gofeed/testdata/parser/universal/empty_feed.xml", ""},
      {"gofeed/testdata/parser/universal/invalid.json", ""},
      {"rome/rome/src/test/resources/rss_0.9.xml", "rss090"},
      {"rome/rome/src/test/resources/rss_0.91N.xml", "rss091n"},
      {"rome/rome/src/test/resources/rss_0.91U.xml", "rss091u"},
      {"rome/rome/src/test/resources/rss_0.92.xml", "rss092"},
      {"rome/rome/src/test/resources/rss_0.93.xml", "rss093"},
      {"rome/rome/src/test/resources/rss_0.94.xml", "rss094"},
      {"rome/rome/src/test/resources/rss_1.0.xml", "rss10"},
      {"rome/rome/src/test/resources/rss_2.0.xml", "rss20"},
      {"rome/rome/src/test/resources/atom_0.3.xml", "atom03"},
      {"rome/rome/src/test/resources/atom_1.0.xml", "atom10"},
      {"rome/rome/src/test/resources/jira_issue1.xml", "rss20"},
      {"rome/rome-modules/src/test/resources/xml/slashdot.xml", "rss10"},
      {"rome/rome-modules/src/test/resources/2.rss", ""},
      {"feed-rs/feed-rs/fixture/atom/atom_entry_1.xml", "atom10"},
      {"feed-rs/feed-rs/fixture/xml/xml_sample_1.xml", ""},
  };
  for (const FormatCase& c : cases) {
    ParsedFeed parsed = ParseFile(kCorpus / c.path);
    EXPECT_EQ(parsed.format, c.format) << c.path << ": " << parsed.error;
    if (c.format[0] == '\0') {
      EXPECT_FALSE(parsed.error.empty()) << c.path;
    }
  }
}

TEST(CorpusTest, NonFeedsAndMalformedInput) {
  EXPECT_EQ(ParseFile(kCorpus / "rome/rome-modules/src/test/resources/2.rss").error,
            "not a feed: HTML page");
  EXPECT_EQ(ParseFile(kCorpus / "gofeed/testdata/parser/universal/empty_feed.xml").error,
            "empty document");
  ParsedFeed truncated = ParseFile(kCorpus / "feed-rs/feed-rs/fixture/rss2/rss_2.0_invalid_1.xml");
  EXPECT_EQ(truncated.format, "rss20");
  EXPECT_TRUE(truncated.bozo);
  EXPECT_EQ(truncated.feed.title, "Reuters: Most Read Articles");
  // An undefined HTML entity is read as HTML would read it.
  ParsedFeed dbengines = ParseFile(kCorpus / "feed-rs/feed-rs/fixture/rss2/rss_2.0_dbengines.xml");
  EXPECT_FALSE(dbengines.bozo) << dbengines.error;
}

TEST(CorpusTest, Iso88591Documents) {
  ParsedFeed parsed = ParseFile(kCorpus / "feed-rs/feed-rs/fixture/rss2/rss_2.0_encoding_1.xml");
  EXPECT_FALSE(parsed.bozo) << parsed.error;
  ASSERT_FALSE(parsed.items.empty());
  // Portuguese titles: the accented letters arrive as UTF-8.
  bool has_non_ascii = false;
  for (const Item& item : parsed.items) {
    for (char c : item.title) has_non_ascii |= static_cast<unsigned char>(c) >= 0x80;
  }
  EXPECT_TRUE(has_non_ascii);
}

TEST(CorpusTest, UndeclaredPrefixes) {
  ParsedFeed parsed =
      ParseFile(kCorpus / "gofeed/testdata/extensions/itunes/itunes_item_summary_cdata_multi.xml");
  EXPECT_EQ(parsed.format, "rss20");
  ASSERT_EQ(parsed.items.size(), 1u);
}

}  // namespace
}  // namespace feedcrawl
