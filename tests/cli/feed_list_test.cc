#include "cli/feed_list.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl::cli {
namespace {

using Urls = std::vector<std::string>;

TEST(FeedListTest, TextSkipsCommentsBlankLinesAndWhitespace) {
  const char* text =
      "# my feeds\n"
      "\n"
      "https://example.com/a.xml\n"
      "   http://example.org/b   \r\n"
      "\t\n"
      "  # indented comment\n"
      "https://example.net/c?x=1 # trailing comment\n"
      "https://example.net/d#fragment\n";
  ASSERT_OK_AND_ASSIGN(Urls urls, ParseFeedList(text));
  EXPECT_EQ(urls, (Urls{"https://example.com/a.xml", "http://example.org/b",
                        "https://example.net/c?x=1", "https://example.net/d#fragment"}));
}

TEST(FeedListTest, TextDropsDuplicatesKeepingFirstOrder) {
  ASSERT_OK_AND_ASSIGN(Urls urls, ParseFeedList("https://b.test/\nhttps://a.test/\n"
                                                "https://b.test/\n"));
  EXPECT_EQ(urls, (Urls{"https://b.test/", "https://a.test/"}));
}

TEST(FeedListTest, EmptyAndCommentOnlyListsAreEmpty) {
  ASSERT_OK_AND_ASSIGN(Urls empty, ParseFeedList(""));
  EXPECT_TRUE(empty.empty());
  ASSERT_OK_AND_ASSIGN(Urls comments, ParseFeedList("# nothing\n\n   \n"));
  EXPECT_TRUE(comments.empty());
}

TEST(FeedListTest, TextWithoutFinalNewlineAndWithBom) {
  ASSERT_OK_AND_ASSIGN(Urls urls, ParseFeedList("\xEF\xBB\xBFhttps://a.test/feed"));
  EXPECT_EQ(urls, (Urls{"https://a.test/feed"}));
}

TEST(FeedListTest, TextRejectsNonHttpLinesNamingTheLine) {
  StatusOr<Urls> urls = ParseFeedList("https://a.test/\n\nftp://files.test/feed\n");
  ASSERT_FALSE(urls.ok());
  EXPECT_EQ(urls.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(urls.status().message().find("line 3"), std::string::npos) << urls.status().message();
  EXPECT_NE(urls.status().message().find("ftp://files.test/feed"), std::string::npos);

  EXPECT_FALSE(ParseFeedList("https://a.test/ https://b.test/\n").ok());
  EXPECT_FALSE(ParseFeedList("example.com/feed\n").ok());
}

TEST(FeedListTest, OpmlTakesXmlUrlOfNestedOutlines) {
  const char* opml = R"(<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Top" type="rss" xmlUrl="https://top.test/feed" htmlUrl="https://top.test/"/>
    <outline text="Folder">
      <outline text="Inner" xmlUrl="https://inner.test/rss"/>
      <outline text="Deeper">
        <outline text="Deepest" xmlUrl=" https://deep.test/atom.xml "/>
        <outline text="No feed here" htmlUrl="https://page.test/"/>
      </outline>
    </outline>
    <outline text="Lower-case attribute" xmlurl="http://lower.test/feed"/>
    <outline text="Duplicate" xmlUrl="https://top.test/feed"/>
  </body>
</opml>)";
  ASSERT_OK_AND_ASSIGN(Urls urls, ParseFeedList(opml));
  EXPECT_EQ(urls, (Urls{"https://top.test/feed", "https://inner.test/rss",
                        "https://deep.test/atom.xml", "http://lower.test/feed"}));
}

TEST(FeedListTest, OpmlIsDetectedByContentAfterWhitespace) {
  ASSERT_OK_AND_ASSIGN(Urls urls,
                       ParseFeedList("\n  <opml><body><outline xmlUrl=\"https://a.test/\"/>"
                                     "</body></opml>"));
  EXPECT_EQ(urls, (Urls{"https://a.test/"}));
}

TEST(FeedListTest, MalformedOpmlIsAnError) {
  StatusOr<Urls> urls = ParseFeedList("<opml><body><outline xmlUrl=\"https://a.test/\">"
                                      "</body></opml>");
  ASSERT_FALSE(urls.ok());
  EXPECT_EQ(urls.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(urls.status().message().find("invalid OPML"), std::string::npos)
      << urls.status().message();
}

TEST(FeedListTest, XmlThatIsNotOpmlIsAnError) {
  StatusOr<Urls> urls = ParseFeedList("<rss version=\"2.0\"><channel/></rss>");
  ASSERT_FALSE(urls.ok());
  EXPECT_NE(urls.status().message().find("<rss>"), std::string::npos) << urls.status().message();
}

TEST(FeedListTest, OpmlWithNonHttpXmlUrlIsAnError) {
  StatusOr<Urls> urls = ParseFeedList(
      "<opml><body><outline xmlUrl=\"feed://a.test/\"/></body></opml>");
  ASSERT_FALSE(urls.ok());
  EXPECT_NE(urls.status().message().find("feed://a.test/"), std::string::npos);
}

TEST(FeedListTest, IsFeedUrl) {
  EXPECT_TRUE(IsFeedUrl("http://a.test"));
  EXPECT_TRUE(IsFeedUrl("HTTPS://A.TEST/feed?x=1"));
  EXPECT_TRUE(IsFeedUrl("https://user:pw@a.test:8443/"));
  EXPECT_FALSE(IsFeedUrl("https://"));
  EXPECT_FALSE(IsFeedUrl("https:///path"));
  EXPECT_FALSE(IsFeedUrl("https://:80/"));
  EXPECT_FALSE(IsFeedUrl("mailto:a@b.test"));
  EXPECT_FALSE(IsFeedUrl("https://a.test/with space"));
}

TEST(FeedListTest, ReadFeedListReportsMissingFileAndNamesFileInParseErrors) {
  testing::TempDir dir;
  StatusOr<Urls> missing = ReadFeedList(dir.File("absent.txt"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  ASSERT_OK(testing::WriteFile(dir.File("bad.txt"), "not a url\n"));
  StatusOr<Urls> bad = ReadFeedList(dir.File("bad.txt"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.txt: line 1"), std::string::npos)
      << bad.status().message();

  ASSERT_OK(testing::WriteFile(dir.File("good.opml"),
                               "<opml><body><outline xmlUrl='https://a.test/'/></body></opml>"));
  ASSERT_OK_AND_ASSIGN(Urls urls, ReadFeedList(dir.File("good.opml")));
  EXPECT_EQ(urls, (Urls{"https://a.test/"}));
}

}  // namespace
}  // namespace feedcrawl::cli
