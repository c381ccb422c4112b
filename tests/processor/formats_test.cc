// Format detection and field mapping over small inline documents, one concern per test.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "common/utf8.h"
#include "processor/parser.h"
#include "processor/text.h"

namespace feedcrawl {
namespace {

ParsedFeed Parse(std::string_view body, std::string url = "http://example.com/feed.xml",
                 std::string content_type = "") {
  ParseOptions options;
  options.url = std::move(url);
  options.content_type = std::move(content_type);
  return ParseFeed(body, options);
}

constexpr char kRss20[] = R"(<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Example &amp; <b>Co</b></title>
    <link>http://example.com/</link>
    <description>News</description>
    <language>en-us</language>
    <lastBuildDate>Sat, 07 Sep 2002 09:42:31 GMT</lastBuildDate>
    <managingEditor>editor@example.com (Ed)</managingEditor>
    <ttl>60</ttl>
    <image><url>/logo.png</url><title>x</title><link>http://example.com/</link></image>
    <atom:link rel="self" href="http://example.com/feed.xml"/>
    <item>
      <title>First &lt;em&gt;post&lt;/em&gt;</title>
      <link> /posts/1 </link>
      <description>&lt;p&gt;Summary&lt;/p&gt;</description>
      <content:encoded><![CDATA[<p>Full <b>content</b></p>]]></content:encoded>
      <guid isPermaLink="false">post-1</guid>
      <pubDate>Sat, 07 Sep 2002 00:00:01 GMT</pubDate>
      <dc:creator>Jane</dc:creator>
      <category>news</category><category>tech</category>
      <enclosure url="/a.mp3" type="audio/mpeg" length="1234"/>
    </item>
    <item>
      <title>Second</title>
      <guid>http://example.com/posts/2</guid>
    </item>
  </channel>
</rss>)";

TEST(Rss20Test, FeedAndItemFields) {
  ParsedFeed feed = Parse(kRss20);
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_FALSE(feed.bozo) << feed.error;
  EXPECT_EQ(feed.feed.title, "Example & Co");
  EXPECT_EQ(feed.feed.link, "http://example.com/");
  EXPECT_EQ(feed.feed.description, "News");
  EXPECT_EQ(feed.feed.language, "en-us");
  EXPECT_EQ(feed.feed.updated_ms, 1031391751000);
  EXPECT_EQ(feed.feed.author, "editor@example.com (Ed)");
  EXPECT_EQ(feed.feed.image, "http://example.com/logo.png");
  EXPECT_EQ(feed.feed.ttl_minutes, 60);
  ASSERT_EQ(feed.items.size(), 2u);
  const Item& first = feed.items[0];
  EXPECT_EQ(first.key, "post-1");
  EXPECT_EQ(first.id, "post-1");
  EXPECT_EQ(first.title, "First post");
  EXPECT_EQ(first.link, "http://example.com/posts/1");
  EXPECT_EQ(first.summary, "<p>Summary</p>");
  EXPECT_EQ(first.content, "<p>Full <b>content</b></p>");
  EXPECT_EQ(first.published_ms, 1031356801000);
  EXPECT_EQ(first.author, "Jane");
  EXPECT_EQ(first.categories, (std::vector<std::string>{"news", "tech"}));
  ASSERT_EQ(first.enclosures.size(), 1u);
  EXPECT_EQ(first.enclosures[0].url, "http://example.com/a.mp3");
  EXPECT_EQ(first.enclosures[0].type, "audio/mpeg");
  EXPECT_EQ(first.enclosures[0].length, 1234);
  // A permalink guid stands in for a missing link.
  EXPECT_EQ(feed.items[1].link, "http://example.com/posts/2");
  EXPECT_EQ(feed.items[1].key, "http://example.com/posts/2");
}

TEST(Rss20Test, NamespacesMatchedByUriNotPrefix) {
  ParsedFeed feed = Parse(R"(<rss version="2.0" xmlns:x="http://purl.org/dc/elements/1.1/"
      xmlns:dc="http://example.com/not-dublin-core"><channel><item>
      <x:creator>By URI</x:creator><dc:creator>Wrong</dc:creator><title>t</title>
      </item></channel></rss>)");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].author, "By URI");
}

TEST(Rss20Test, UndeclaredCommonPrefixesTolerated) {
  ParsedFeed feed = Parse(R"(<rss version="2.0"><channel><item><title>t</title>
      <dc:creator>Ann</dc:creator><content:encoded>&lt;p&gt;c&lt;/p&gt;</content:encoded>
      <media:content url="http://example.com/v.mp4" type="video/mp4" fileSize="9"/>
      </item></channel></rss>)");
  EXPECT_FALSE(feed.bozo) << feed.error;
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].author, "Ann");
  EXPECT_EQ(feed.items[0].content, "<p>c</p>");
  ASSERT_EQ(feed.items[0].enclosures.size(), 1u);
  EXPECT_EQ(feed.items[0].enclosures[0].length, 9);
}

TEST(Rss20Test, VersionNames) {
  auto format = [](const char* version) {
    return Parse(std::string("<rss version=\"") + version + "\"><channel/></rss>").format;
  };
  EXPECT_EQ(format("2.0"), "rss20");
  EXPECT_EQ(format("0.91"), "rss091u");
  EXPECT_EQ(format("0.92"), "rss092");
  EXPECT_EQ(format("0.93"), "rss093");
  EXPECT_EQ(format("0.94"), "rss094");
  EXPECT_EQ(format("7"), "rss");
  EXPECT_EQ(Parse("<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" "
                  "\"http://my.netscape.com/publish/formats/rss-0.91.dtd\">"
                  "<rss version=\"0.91\"><channel/></rss>")
                .format,
            "rss091n");
}

TEST(Rss10Test, RdfFeed) {
  ParsedFeed feed = Parse(R"(<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="http://example.com/rss"><title>RDF</title><link>http://example.com/</link>
    <description>d</description><dc:date>2002-09-07T00:00:01Z</dc:date></channel>
  <image rdf:about="http://example.com/i.png"><url>http://example.com/i.png</url></image>
  <item rdf:about="http://example.com/1"><title>One</title><link>http://example.com/1</link>
    <dc:date>2002-09-06T20:00:01-04:00</dc:date><dc:subject>cat</dc:subject></item>
  <item rdf:about="http://example.com/2"><title>Two</title></item>
</rdf:RDF>)");
  EXPECT_EQ(feed.format, "rss10");
  EXPECT_EQ(feed.feed.title, "RDF");
  EXPECT_EQ(feed.feed.image, "http://example.com/i.png");
  EXPECT_EQ(feed.feed.updated_ms, 1031356801000);
  ASSERT_EQ(feed.items.size(), 2u);
  EXPECT_EQ(feed.items[0].id, "http://example.com/1");
  EXPECT_EQ(feed.items[0].published_ms, 1031356801000);
  EXPECT_EQ(feed.items[0].categories, std::vector<std::string>{"cat"});
  EXPECT_EQ(feed.items[1].key, "http://example.com/2");
}

TEST(Rss090Test, NetscapeRdf) {
  ParsedFeed feed = Parse(R"(<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>Old</title></channel>
      <item><title>i</title><link>http://example.com/i</link></item></rdf:RDF>)");
  EXPECT_EQ(feed.format, "rss090");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].link, "http://example.com/i");
}

constexpr char kAtom10[] = R"(<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en" xml:base="http://example.org/blog/">
  <title type="html">Atom &lt;i&gt;feed&lt;/i&gt;</title>
  <subtitle>Sub</subtitle>
  <link rel="self" href="/feed.atom"/>
  <link href="./"/>
  <updated>2003-12-13T18:30:02Z</updated>
  <author><name>John Doe</name><email>j@example.org</email></author>
  <logo>logo.png</logo>
  <id>urn:uuid:60a76c80</id>
  <entry xml:base="posts/">
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">A <b>bold</b> title</div></title>
    <link rel="alternate" type="audio/mpeg" href="a.mp3"/>
    <link rel="alternate" type="text/html" href="2003/12/13/atom03"/>
    <link rel="enclosure" type="audio/mpeg" length="1337" href="http://example.org/audio.mp3"/>
    <id>urn:uuid:1225c695</id>
    <published>2003-12-13T08:29:29-04:00</published>
    <updated>2003-12-13T18:30:02Z</updated>
    <summary>1 &lt; 2</summary>
    <content type="xhtml"><xhtml:div xmlns:xhtml="http://www.w3.org/1999/xhtml"><xhtml:p>Hi<xhtml:br/>there</xhtml:p></xhtml:div></content>
    <category term="t1"/><category term="t2" label="Two"/>
  </entry>
  <entry><title>Second</title><id>urn:2</id><updated>2003-12-14T00:00:00Z</updated>
    <author><name>Other</name></author><content type="html">&lt;p&gt;x&lt;/p&gt;</content></entry>
</feed>)";

TEST(Atom10Test, FeedAndEntryFields) {
  ParsedFeed feed = Parse(kAtom10);
  EXPECT_EQ(feed.format, "atom10");
  EXPECT_FALSE(feed.bozo) << feed.error;
  EXPECT_EQ(feed.feed.title, "Atom feed");
  EXPECT_EQ(feed.feed.description, "Sub");
  EXPECT_EQ(feed.feed.link, "http://example.org/blog/");
  EXPECT_EQ(feed.feed.language, "en");
  EXPECT_EQ(feed.feed.author, "John Doe");
  EXPECT_EQ(feed.feed.image, "http://example.org/blog/logo.png");
  EXPECT_EQ(feed.feed.updated_ms, 1071340202000);
  ASSERT_EQ(feed.items.size(), 2u);
  const Item& entry = feed.items[0];
  EXPECT_EQ(entry.key, "urn:uuid:1225c695");
  EXPECT_EQ(entry.title, "A bold title");
  EXPECT_EQ(entry.link, "http://example.org/blog/posts/2003/12/13/atom03");
  EXPECT_EQ(entry.published_ms, 1071318569000);
  EXPECT_EQ(entry.updated_ms, 1071340202000);
  EXPECT_EQ(entry.author, "John Doe");  // inherited from the feed
  EXPECT_EQ(entry.summary, "1 &lt; 2");  // text construct kept as HTML
  EXPECT_EQ(entry.content, "<p>Hi<br>there</p>");
  EXPECT_EQ(entry.categories, (std::vector<std::string>{"t1", "t2"}));
  ASSERT_EQ(entry.enclosures.size(), 1u);
  EXPECT_EQ(entry.enclosures[0].length, 1337);
  EXPECT_EQ(feed.items[1].author, "Other");
  EXPECT_EQ(feed.items[1].content, "<p>x</p>");
}

TEST(Atom03Test, ModesAndDates) {
  ParsedFeed feed = Parse(R"(<feed version="0.3" xmlns="http://purl.org/atom/ns#">
  <title mode="escaped" type="text/html">Old &lt;b&gt;Atom&lt;/b&gt;</title>
  <tagline>tag</tagline><modified>2003-12-13T18:30:02Z</modified>
  <link rel="alternate" type="text/html" href="http://example.org/"/>
  <entry><title>E</title><id>tag:e</id><issued>2003-12-13T08:29:29-04:00</issued>
    <modified>2003-12-13T18:30:02Z</modified>
    <content type="text/html" mode="base64">PHA+aGk8L3A+</content></entry>
</feed>)");
  EXPECT_EQ(feed.format, "atom03");
  EXPECT_EQ(feed.feed.title, "Old Atom");
  EXPECT_EQ(feed.feed.description, "tag");
  EXPECT_EQ(feed.feed.link, "http://example.org/");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].published_ms, 1071318569000);
  EXPECT_EQ(feed.items[0].updated_ms, 1071340202000);
  EXPECT_EQ(feed.items[0].content, "<p>hi</p>");
}

TEST(JsonFeedTest, Version11) {
  ParsedFeed feed = Parse(R"({
    "version": "https://jsonfeed.org/version/1.1", "title": "J", "home_page_url": "/",
    "description": "d", "icon": "/i.png", "language": "en", "authors": [{"name": "A"}],
    "items": [
      {"id": "1", "url": "/p/1", "title": "One", "content_html": "<p>1</p>",
       "summary": "s < t", "date_published": "2002-09-07T00:00:01Z",
       "date_modified": "2002-09-07T00:00:02Z", "tags": ["x", "y"],
       "attachments": [{"url": "/a.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 5}]},
      {"id": 2, "content_text": "a < b", "authors": [{"name": "B"}]},
      {"content_text": "no id"}, 7
    ]})");
  EXPECT_EQ(feed.format, "json11");
  EXPECT_EQ(feed.feed.title, "J");
  EXPECT_EQ(feed.feed.link, "http://example.com/");
  EXPECT_EQ(feed.feed.image, "http://example.com/i.png");
  EXPECT_EQ(feed.feed.author, "A");
  ASSERT_EQ(feed.items.size(), 3u);
  EXPECT_EQ(feed.items[0].key, "1");
  EXPECT_EQ(feed.items[0].link, "http://example.com/p/1");
  EXPECT_EQ(feed.items[0].summary, "s &lt; t");
  EXPECT_EQ(feed.items[0].published_ms, 1031356801000);
  EXPECT_EQ(feed.items[0].updated_ms, 1031356802000);
  EXPECT_EQ(feed.items[0].author, "A");
  ASSERT_EQ(feed.items[0].enclosures.size(), 1u);
  EXPECT_EQ(feed.items[0].enclosures[0].length, 5);
  EXPECT_EQ(feed.items[1].key, "2");
  EXPECT_EQ(feed.items[1].content, "a &lt; b");
  EXPECT_EQ(feed.items[1].author, "B");
  EXPECT_EQ(feed.items[2].key.substr(0, 2), "h:");
}

TEST(JsonFeedTest, Version10AndErrors) {
  ParsedFeed v10 = Parse(R"({"version": "https://jsonfeed.org/version/1", "title": "t",
      "author": {"name": "Old"}, "items": []})");
  EXPECT_EQ(v10.format, "json10");
  EXPECT_EQ(v10.feed.author, "Old");
  ParsedFeed invalid = Parse("{\"version\": ");
  EXPECT_EQ(invalid.format, "");
  EXPECT_NE(invalid.error.find("invalid JSON"), std::string::npos);
  ParsedFeed other = Parse(R"({"hello": "world"})");
  EXPECT_EQ(other.format, "");
  EXPECT_NE(other.error.find("not a feed"), std::string::npos);
  std::string deep(100000, '[');
  EXPECT_EQ(Parse(deep).format, "");
}

TEST(NotAFeedTest, EmptyHtmlAndOtherXml) {
  EXPECT_EQ(Parse("").error, "empty document");
  EXPECT_EQ(Parse(" \n\t ").error, "empty document");
  for (const char* html :
       {"<!DOCTYPE html><html><head><title>x</title></head><body><p>hi</body></html>",
        "<html><body><br></body></html>", "\n<!-- c --><HTML lang=en><body/></HTML>",
        "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><body/></html>"}) {
    ParsedFeed page = Parse(html);
    EXPECT_EQ(page.format, "") << html;
    EXPECT_EQ(page.error, "not a feed: HTML page") << html;
    EXPECT_TRUE(page.items.empty());
  }
  ParsedFeed other = Parse("<catalog><book/></catalog>");
  EXPECT_EQ(other.format, "");
  EXPECT_EQ(other.error, "not a feed: unknown root element <catalog>");
  EXPECT_EQ(Parse("plain text").format, "");
  ParsedFeed garbage = Parse("<<<");
  EXPECT_EQ(garbage.format, "");
  EXPECT_EQ(garbage.error.rfind("not a feed: malformed XML", 0), 0u) << garbage.error;
}

TEST(EncodingIntegrationTest, DeclaredAndHttpCharsets) {
  std::string latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\">"
                       "<channel><title>Caf\xE9</title></channel></rss>";
  EXPECT_EQ(Parse(latin1).feed.title, "Caf\xC3\xA9");
  std::string koi8 = "<rss version=\"2.0\"><channel><title>\xD0\xD2\xC9\xD7\xC5\xD4</title>"
                     "</channel></rss>";
  EXPECT_EQ(Parse(koi8, "", "application/rss+xml; charset=KOI8-R").feed.title,
            "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  std::string utf16 = "\xFF\xFE";
  for (char c : std::string("<rss version=\"2.0\"><channel><title>W</title></channel></rss>")) {
    utf16.push_back(c);
    utf16.push_back('\0');
  }
  EXPECT_EQ(Parse(utf16).feed.title, "W");
  ParsedFeed broken = Parse("<rss version=\"2.0\"><channel><title>a\xFF" "b</title></channel></rss>");
  // A byte that is not UTF-8 is read as windows-1252, the usual truth behind such documents.
  EXPECT_EQ(broken.feed.title, "a\xC3\xBF" "b");
  EXPECT_TRUE(broken.bozo);
}

TEST(EntitiesTest, HtmlEntitiesAndStrayAmpersands) {
  ParsedFeed feed = Parse("<rss version=\"2.0\"><channel><title>AT&T &eacute;t&eacute;&nbsp;!</title>"
                          "<item><title>x &#0; y &#xD800; z</title><description>&copy; &lt;b&gt;"
                          "</description></item></channel></rss>");
  // The stray '&' in "AT&T" is not well-formed XML; the HTML entities are read as HTML reads them.
  EXPECT_TRUE(feed.bozo);
  EXPECT_EQ(feed.error, "malformed XML: stray '&' escaped at offset 37");
  EXPECT_EQ(feed.feed.title, "AT&T \xC3\xA9t\xC3\xA9 !");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].title, "x \xEF\xBF\xBD y \xEF\xBF\xBD z");
  EXPECT_EQ(feed.items[0].summary, "\xC2\xA9 <b>");
}

TEST(EntitiesTest, EntityExpansionIsRefused) {
  std::string bomb = "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"aaaaaaaaaa\">";
  char previous = 'a';
  for (char name = 'b'; name <= 'k'; ++name) {
    bomb += std::string("<!ENTITY ") + name + " \"";
    for (int i = 0; i < 10; ++i) bomb += std::string("&") + previous + ";";
    bomb += "\">";
    previous = name;
  }
  bomb += "]><rss version=\"2.0\"><channel><title>&k;</title></channel></rss>";
  ParsedFeed feed = Parse(bomb);
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_LT(feed.feed.title.size(), 100u);
  ParsedFeed external = Parse("<!DOCTYPE rss [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                              "<rss version=\"2.0\"><channel><title>&x;</title></channel></rss>");
  EXPECT_EQ(external.feed.title.find("root"), std::string::npos);
}

TEST(BrokenXmlTest, TruncatedDocumentKeepsCompleteItems) {
  ParsedFeed feed = Parse("<rss version=\"2.0\"><channel><title>T</title>"
                          "<item><title>one</title><guid>1</guid></item>"
                          "<item><title>two</title><guid>2</guid></item><item><title>thr");
  EXPECT_TRUE(feed.bozo);
  EXPECT_NE(feed.error.find("malformed XML"), std::string::npos);
  EXPECT_EQ(feed.format, "rss20");
  ASSERT_GE(feed.items.size(), 2u);
  EXPECT_EQ(feed.items[0].title, "one");
  EXPECT_EQ(feed.items[1].title, "two");
}

TEST(BrokenXmlTest, RepairsStrayLessThanAndMismatchedTags) {
  ParsedFeed feed = Parse("<rss version=\"2.0\"><channel>"
                          "<item><title>1 < 2</title><guid>a</guid></item>"
                          "<item><description><p>open</description><guid>b</guid></item>"
                          "<item><title>x</tit></title><guid>c</guid></item>"
                          "<item><enclosure url=http://e/x.mp3 length=5 /><guid>d</guid></item>"
                          "<item><title>last</title><guid>e</guid></item>"
                          "</channel></rss>");
  EXPECT_TRUE(feed.bozo);
  ASSERT_EQ(feed.items.size(), 5u);
  EXPECT_EQ(feed.items[0].title, "1 < 2");
  EXPECT_EQ(feed.items[1].summary, "<p>open</p>");
  EXPECT_EQ(feed.items[2].title, "x");
  ASSERT_EQ(feed.items[3].enclosures.size(), 1u);
  EXPECT_EQ(feed.items[3].enclosures[0].url, "http://e/x.mp3");
  EXPECT_EQ(feed.items[4].title, "last");
}

TEST(BrokenXmlTest, RepairsUnterminatedAndUnspacedAttributes) {
  // The url's closing quote is missing: without a repair it would swallow the rest of the feed.
  ParsedFeed feed = Parse("<rss version=\"2.0\"><channel>"
                          "<item><guid>1</guid><enclosure url=\"http://e/a.mp3?x=1&amp;y=2></item>"
                          "<item><guid>2</guid><enclosure url='http://e/b.mp3'length='5'/></item>"
                          "<item><guid>3</guid><title>last</title></item>"
                          "</channel></rss>");
  EXPECT_TRUE(feed.bozo);
  ASSERT_EQ(feed.items.size(), 3u);
  ASSERT_EQ(feed.items[0].enclosures.size(), 1u);
  EXPECT_EQ(feed.items[0].enclosures[0].url, "http://e/a.mp3?x=1&y=2");
  ASSERT_EQ(feed.items[1].enclosures.size(), 1u);
  EXPECT_EQ(feed.items[1].enclosures[0].url, "http://e/b.mp3");
  EXPECT_EQ(feed.items[1].enclosures[0].length, 5);
  EXPECT_EQ(feed.items[2].title, "last");
}

// pugixml converts references and line ends in place, moving the text after them; a value it
// stops in the middle of (the document ends first) is left half moved, and its bytes can be cut
// mid-character. Such a value is dropped; the rest of the partial tree is read.
TEST(BrokenXmlTest, ValuesCutOffByTheEndOfTheDocumentAreDropped) {
  ParsedFeed attribute = Parse("<rss version=\"2.0\"><channel><item><link>http://a/x</link>"
                               "<enclosure url=\"&#233;\xE2\x82\xAC\xE2\x82\xAC&#233;q");
  EXPECT_TRUE(attribute.bozo);
  ASSERT_EQ(attribute.items.size(), 1u);
  EXPECT_EQ(attribute.items[0].link, "http://a/x");
  EXPECT_TRUE(attribute.items[0].enclosures.empty());
  ParsedFeed cdata = Parse("<rss version=\"2.0\"><channel><item><link>http://a/x</link>"
                           "<description><![CDATA[a\r\n\xE2\x82\xAC\xE2\x82\xAC\r\n"
                           "\xE2\x82\xAC\xE2\x82\xAC\r\n\xE2\x82\xACq</description></item>"
                           "</channel></rss>");
  EXPECT_TRUE(cdata.bozo);
  ASSERT_EQ(cdata.items.size(), 1u);
  EXPECT_EQ(cdata.items[0].link, "http://a/x");
  EXPECT_EQ(cdata.items[0].summary, "");
  for (const ParsedFeed* feed : {&attribute, &cdata}) {
    // dump() throws at the first byte that is not valid UTF-8.
    EXPECT_NO_THROW(ParsedFeedToJson(*feed).dump());
  }
}

// "<!" opens a markup declaration, whose text the reference rewriting leaves as written; once
// the repair makes its '<' text, the references after it are rewritten like the rest (a
// surrogate would otherwise come out of pugixml as invalid UTF-8).
TEST(BrokenXmlTest, TextAfterAStrayMarkupDeclarationHasItsReferencesRewritten) {
  ParsedFeed feed = Parse("<rss version=\"2.0\"><channel>"
                          "<item><guid><!&#xD800;&eacute;</guid></item></channel></rss>");
  EXPECT_TRUE(feed.bozo);
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].id, "<!\xEF\xBF\xBD\xC3\xA9");
}

TEST(BrokenXmlTest, MarkupInAnAttributeValueLeavesTheTextAfterItValid) {
  ParsedFeed feed = Parse("<rss version=\"2.0\"><channel><item>"
                          "<guid x=\"<![CDATA[\">a&#xD800;b</guid></item></channel></rss>");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].id, "a\xEF\xBF\xBD" "b");
}

// The value's "<![" makes the rewriting skip what follows; the repairs quote the value and drop
// the end tag that closes nothing, which joins "&#xDDD" and "0;" into a reference to a surrogate.
TEST(BrokenXmlTest, AReferenceARepairJoinsIsRewrittenToo) {
  ParsedFeed feed = Parse("<feed><title m=<![>&#xDDD</>0;");
  EXPECT_TRUE(feed.bozo);
  EXPECT_EQ(feed.feed.title, "\xEF\xBF\xBD");
}

TEST(BrokenXmlTest, ControlCharactersAndLeadingJunk) {
  ParsedFeed feed = Parse(std::string("\n  <?xml version=\"1.0\"?><rss version=\"2.0\"><channel>"
                                      "<title>a\x01\x02" "b\x0C</title></channel></rss>"));
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_EQ(feed.feed.title, "ab");
}

TEST(ItemKeysTest, DuplicatesCollapseAndCollisionsAreDisambiguated) {
  ParsedFeed feed = Parse("<rss version=\"2.0\"><channel>"
                          "<item><title>a</title><guid>same</guid></item>"
                          "<item><title>a</title><guid>same</guid></item>"
                          "<item><title>b</title><guid>same</guid></item>"
                          "<item><title>no id</title><description>d</description></item>"
                          "</channel></rss>");
  ASSERT_EQ(feed.items.size(), 3u);
  EXPECT_EQ(feed.items[0].key, "same");
  EXPECT_EQ(feed.items[1].key.rfind("same#", 0), 0u);
  EXPECT_EQ(feed.items[2].key.rfind("h:", 0), 0u);
  // Same document, same keys.
  ParsedFeed again = Parse("<rss version=\"2.0\"><channel>"
                           "<item><title>a</title><guid>same</guid></item>"
                           "<item><title>a</title><guid>same</guid></item>"
                           "<item><title>b</title><guid>same</guid></item>"
                           "<item><title>no id</title><description>d</description></item>"
                           "</channel></rss>");
  ASSERT_EQ(again.items.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(feed.items[i].key, again.items[i].key);
}

TEST(RobustnessTest, DeepNestingDoesNotCrash) {
  std::string deep = "<rss version=\"2.0\"><channel><item><description>";
  for (int i = 0; i < 200000; ++i) deep += "<div>";
  deep += "x</description></item></channel></rss>";
  ParsedFeed feed = Parse(deep);
  EXPECT_TRUE(IsValidUtf8(feed.feed.title));
}

}  // namespace
}  // namespace feedcrawl
