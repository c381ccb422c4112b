// One small inline document per fidelity requirement the parser must meet (namespaces, text
// constructs, encodings, URLs, identity, broken XML, hostile DTDs). Expected values follow what
// Python's feedparser reports for the same document, mapped onto the normalised model.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

std::string Rss(std::string_view channel_body, std::string_view namespaces = "") {
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\" " +
         std::string(namespaces) + "><channel>" + std::string(channel_body) + "</channel></rss>";
}

constexpr char kItunesNs[] = "xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"";
constexpr char kMediaNs[] = "xmlns:media=\"http://search.yahoo.com/mrss/\"";
constexpr char kAtomNs[] = "xmlns:atom=\"http://www.w3.org/2005/Atom\"";

// ---- iTunes ----

TEST(ItunesTest, FillsAuthorImageAndSummaryWhenAbsent) {
  ParsedFeed feed = Parse(Rss(R"(<title>Pod</title>
      <itunes:author>Pod Author</itunes:author>
      <itunes:image href="/art.jpg"/>
      <itunes:summary>About the &lt;show&gt;</itunes:summary>
      <item><title>Ep 1</title><guid>ep1</guid>
        <itunes:author>Host</itunes:author>
        <itunes:summary>Show notes &amp; links</itunes:summary>
        <itunes:duration>01:02:03</itunes:duration></item>)",
                              kItunesNs));
  EXPECT_FALSE(feed.bozo) << feed.error;
  EXPECT_EQ(feed.feed.author, "Pod Author");
  EXPECT_EQ(feed.feed.image, "http://example.com/art.jpg");
  EXPECT_EQ(feed.feed.description, "About the <show>");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].author, "Host");
  EXPECT_EQ(feed.items[0].summary, "Show notes &amp; links");
}

TEST(ItunesTest, NeverOverridesTheCoreElements) {
  ParsedFeed feed = Parse(Rss(R"(<itunes:author>Pod Author</itunes:author>
      <itunes:image href="http://example.com/art.jpg"/>
      <itunes:summary>iTunes text</itunes:summary>
      <managingEditor>ed@example.com</managingEditor>
      <description>Core text</description>
      <image><url>http://example.com/core.png</url></image>
      <item><guid>1</guid><itunes:author>Host</itunes:author><author>a@example.com</author>
        <itunes:summary>iTunes notes</itunes:summary><description>Core notes</description></item>)",
                              kItunesNs));
  EXPECT_EQ(feed.feed.author, "ed@example.com");
  EXPECT_EQ(feed.feed.image, "http://example.com/core.png");
  EXPECT_EQ(feed.feed.description, "Core text");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].author, "a@example.com");
  EXPECT_EQ(feed.items[0].summary, "Core notes");
}

// ---- Media RSS ----

TEST(MediaRssTest, GroupContentsAreEnclosuresThumbnailsAreNot) {
  ParsedFeed feed = Parse(Rss(R"(<media:thumbnail url="/channel-thumb.jpg"/>
      <item><guid>v</guid>
        <media:thumbnail url="http://example.com/thumb.jpg" width="75" height="50"/>
        <media:group>
          <media:content url="/v-hd.mp4" type="video/mp4" fileSize="2000"/>
          <media:content url="/v-sd.mp4" type="video/mp4" fileSize="1000"/>
          <media:thumbnail url="http://example.com/group-thumb.jpg"/>
          <media:title>Group title</media:title>
          <media:description>A &lt;video&gt;</media:description>
        </media:group></item>)",
                              kMediaNs));
  EXPECT_FALSE(feed.bozo) << feed.error;
  EXPECT_EQ(feed.feed.image, "http://example.com/channel-thumb.jpg");
  ASSERT_EQ(feed.items.size(), 1u);
  const Item& item = feed.items[0];
  ASSERT_EQ(item.enclosures.size(), 2u);
  EXPECT_EQ(item.enclosures[0].url, "http://example.com/v-hd.mp4");
  EXPECT_EQ(item.enclosures[0].length, 2000);
  EXPECT_EQ(item.enclosures[1].url, "http://example.com/v-sd.mp4");
  EXPECT_EQ(item.title, "Group title");
  EXPECT_EQ(item.summary, "A &lt;video&gt;");
}

TEST(MediaRssTest, EnclosureAndMediaContentOfTheSameFileCountOnce) {
  ParsedFeed feed = Parse(Rss(R"(<item><guid>a</guid><title>Core</title>
      <enclosure url="http://example.com/a.mp3" type="audio/mpeg" length="5"/>
      <media:content url="http://example.com/a.mp3" type="audio/mpeg"/>
      <media:title>Media title</media:title></item>)",
                              kMediaNs));
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].title, "Core");
  ASSERT_EQ(feed.items[0].enclosures.size(), 1u);
  EXPECT_EQ(feed.items[0].enclosures[0].length, 5);
}

// ---- atom:link inside RSS ----

TEST(AtomLinkInRssTest, SelfAndHubAreNotTheLink) {
  ParsedFeed feed = Parse(Rss(R"(<atom:link rel="self" href="http://example.com/feed.xml"/>
      <atom:link rel="hub" href="http://hub.example.com/"/>
      <link>http://example.com/</link>
      <item><atom:link rel="self" href="http://example.com/item.xml"/>
        <guid>http://example.com/posts/1</guid></item>
      <item><atom:link href="/posts/2"/><guid isPermaLink="false">2</guid></item>)",
                              kAtomNs));
  EXPECT_EQ(feed.feed.link, "http://example.com/");
  ASSERT_EQ(feed.items.size(), 2u);
  EXPECT_EQ(feed.items[0].link, "http://example.com/posts/1");  // from the permalink guid
  EXPECT_EQ(feed.items[1].link, "http://example.com/posts/2");  // an alternate atom:link
}

TEST(AtomLinkInRssTest, OnlySelfLeavesTheLinkEmpty) {
  ParsedFeed feed = Parse(Rss(R"(<atom:link rel="self" href="http://example.com/feed.xml"/>
      <atom:link rel="hub" href="http://hub.example.com/"/><title>t</title>)",
                              kAtomNs));
  EXPECT_EQ(feed.feed.link, "");
}

// ---- Text constructs ----

TEST(TextTest, DoubleEscapedMarkupInTitlesIsText) {
  ParsedFeed feed = Parse(Rss(R"(<title>Use &amp;lt;b&amp;gt; tags</title>
      <item><title>&amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; &amp;amp; more</title><guid>1</guid>
        <description>&amp;lt;b&amp;gt;</description></item>
      <item><title><![CDATA[Tom &amp; Jerry &lt;3]]></title><guid>2</guid></item>)"));
  EXPECT_EQ(feed.feed.title, "Use <b> tags");
  ASSERT_EQ(feed.items.size(), 2u);
  EXPECT_EQ(feed.items[0].title, "<b>bold</b> & more");
  EXPECT_EQ(feed.items[0].summary, "&lt;b&gt;");  // HTML that shows "<b>"
  EXPECT_EQ(feed.items[1].title, "Tom & Jerry <3");
}

TEST(TextTest, AtomTextConstructKinds) {
  ParsedFeed feed = Parse(R"(<feed xmlns="http://www.w3.org/2005/Atom">
  <entry><id>1</id><title type="text">a &lt; b &amp;amp; c</title>
    <summary type="text">x &lt; y</summary>
    <content type="html"><![CDATA[<p>para &amp; more</p>]]></content></entry>
  <entry><id>2</id><title type="html">&lt;em&gt;Hi&lt;/em&gt; &amp;amp; bye</title>
    <summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">An <a href="/x">x</a></div></summary></entry>
</feed>)");
  EXPECT_FALSE(feed.bozo) << feed.error;
  ASSERT_EQ(feed.items.size(), 2u);
  EXPECT_EQ(feed.items[0].title, "a < b &amp; c");
  EXPECT_EQ(feed.items[0].summary, "x &lt; y");
  EXPECT_EQ(feed.items[0].content, "<p>para &amp; more</p>");
  EXPECT_EQ(feed.items[1].title, "Hi & bye");
  EXPECT_EQ(feed.items[1].summary, "An <a href=\"/x\">x</a>");
}

// ---- Namespaces ----

TEST(NamespacesTest, DcTermsAndPrefixedAtomRoot) {
  ParsedFeed rss = Parse(Rss(R"(<item><guid>1</guid>
      <dcterms:created>2004-01-02T03:04:05Z</dcterms:created>
      <dcterms:modified>2004-01-03T03:04:05Z</dcterms:modified></item>)",
                             "xmlns:dcterms=\"http://purl.org/dc/terms/\""));
  ASSERT_EQ(rss.items.size(), 1u);
  EXPECT_EQ(rss.items[0].published_ms, 1073012645000);
  EXPECT_EQ(rss.items[0].updated_ms, 1073099045000);
  ParsedFeed atom = Parse(R"(<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>T</a:title>
      <a:entry><a:id>e</a:id><a:title>E</a:title></a:entry></a:feed>)");
  EXPECT_EQ(atom.format, "atom10");
  EXPECT_EQ(atom.feed.title, "T");
  ASSERT_EQ(atom.items.size(), 1u);
  EXPECT_EQ(atom.items[0].title, "E");
}

// ---- Dates ----

TEST(DatesTest, PartialBrokenAndUnparseable) {
  ParsedFeed feed = Parse(Rss(R"(<item><guid>1</guid><dc:date>2003-12</dc:date></item>
      <item><guid>2</guid><pubDate>Thu, 5 Apr 2007 9:03:00 EST</pubDate></item>
      <item><guid>3</guid><pubDate>someday soon</pubDate></item>
      <item><title>same</title><pubDate>not a date</pubDate></item>)",
                              "xmlns:dc=\"http://purl.org/dc/elements/1.1/\""));
  ASSERT_EQ(feed.items.size(), 4u);
  EXPECT_EQ(feed.items[0].published_ms, 1070236800000);  // 2003-12-01T00:00:00Z
  EXPECT_EQ(feed.items[1].published_ms, 1175781780000);  // 14:03 UTC
  EXPECT_EQ(feed.items[2].published_ms, std::nullopt);
  EXPECT_EQ(feed.items[3].published_ms, std::nullopt);
}

// ---- Encodings ----

struct EncodedTitle {
  const char* charset;
  std::string bytes;
  std::string utf8;
};

TEST(EncodingsTest, DeclaredEncodingsDecodeToUtf8) {
  const EncodedTitle cases[] = {
      {"iso-8859-2", "\xB3\xF3" "d\xBC", "\xC5\x82\xC3\xB3" "d\xC5\xBA"},
      {"windows-1251", "\xCF\xF0\xE8\xE2\xE5\xF2",
       "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"},
      {"windows-1252", "\x80 \x93q\x94", "\xE2\x82\xAC \xE2\x80\x9Cq\xE2\x80\x9D"},
      {"koi8-r", "\xD0\xD2\xC9\xD7\xC5\xD4", "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"},
      {"shift_jis", "\x93\xFA\x96\x7B", "\xE6\x97\xA5\xE6\x9C\xAC"},
      {"euc-jp", "\xC6\xFC\xCB\xDC", "\xE6\x97\xA5\xE6\x9C\xAC"},
      {"euc-kr", "\xC7\xD1\xB1\xB9", "\xED\x95\x9C\xEA\xB5\xAD"},
      {"gb2312", "\xD6\xD0\xCE\xC4", "\xE4\xB8\xAD\xE6\x96\x87"},
      {"gbk", "\xD6\xD0\xCE\xC4", "\xE4\xB8\xAD\xE6\x96\x87"},
      {"gb18030", "\x94\x39\xFC\x36", "\xF0\x9F\x98\x80"},
      {"big5", "\xA4\xA4\xA4\xE5", "\xE4\xB8\xAD\xE6\x96\x87"},
  };
  for (const EncodedTitle& c : cases) {
    std::string doc = std::string("<?xml version=\"1.0\" encoding=\"") + c.charset +
                      "\"?><rss version=\"2.0\"><channel><title>" + c.bytes +
                      "</title></channel></rss>";
    ParsedFeed feed = Parse(doc);
    EXPECT_FALSE(feed.bozo) << c.charset << ": " << feed.error;
    EXPECT_EQ(feed.feed.title, c.utf8) << c.charset;
  }
}

TEST(EncodingsTest, Rfc7303Precedence) {
  std::string body = "<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\">"
                     "<channel><title>\xD0\xD2\xC9\xD7\xC5\xD4</title></channel></rss>";
  const std::string koi8_text = "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82";
  // The HTTP charset beats the XML declaration...
  EXPECT_EQ(Parse(body, "", "text/xml; charset=\"KOI8-R\"").feed.title, koi8_text);
  // ...and the declaration applies when HTTP says nothing.
  EXPECT_NE(Parse(body, "", "application/rss+xml").feed.title, koi8_text);
  // A byte order mark beats both.
  std::string utf8_bom = "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"koi8-r\"?>"
                         "<rss version=\"2.0\"><channel><title>caf\xC3\xA9</title></channel></rss>";
  EXPECT_EQ(Parse(utf8_bom, "", "text/xml; charset=big5").feed.title, "caf\xC3\xA9");
}

TEST(EncodingsTest, Utf16BigEndianWithoutBom) {
  std::string utf16;
  for (char c : std::string("<?xml version=\"1.0\" encoding=\"utf-16\"?><rss version=\"2.0\">"
                            "<channel><title>Be</title></channel></rss>")) {
    utf16.push_back('\0');
    utf16.push_back(c);
  }
  ParsedFeed feed = Parse(utf16);
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_EQ(feed.feed.title, "Be");
}

TEST(EncodingsTest, Latin1DeclaredAsUtf8IsRecoveredAsWindows1252) {
  ParsedFeed feed = Parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\">"
                          "<channel><title>Caf\xE9 \x93quoted\x94</title>"
                          "<item><title>na\xEFve \xC3\xA9t\xC3\xA9</title><guid>1</guid></item>"
                          "</channel></rss>");
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_TRUE(feed.bozo);
  EXPECT_NE(feed.error.find("windows-1252"), std::string::npos) << feed.error;
  EXPECT_EQ(feed.feed.title, "Caf\xC3\xA9 \xE2\x80\x9Cquoted\xE2\x80\x9D");
  ASSERT_EQ(feed.items.size(), 1u);
  // Valid UTF-8 sequences in the same document stay as they are.
  EXPECT_EQ(feed.items[0].title, "na\xC3\xAFve \xC3\xA9t\xC3\xA9");
}

TEST(EncodingsTest, UnknownDeclaredEncodingIsReadAsUtf8AndReported) {
  ParsedFeed feed = Parse("<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?>"
                          "<rss version=\"2.0\"><channel><title>caf\xC3\xA9</title></channel></rss>");
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_EQ(feed.feed.title, "caf\xC3\xA9");
  EXPECT_TRUE(feed.bozo);
  EXPECT_NE(feed.error.find("x-no-such-charset"), std::string::npos) << feed.error;
}

// ---- URLs ----

TEST(UrlsTest, XmlBaseAndFeedUrlInRss) {
  ParsedFeed feed = Parse(Rss(R"(<link>/</link>
      <image xml:base="http://img.example.net/logos/"><url>logo.png</url></image>
      <item xml:base="http://other.example.org/dir/"><guid>1</guid><link>page.html</link>
        <enclosure url="../media/a.mp3" type="audio/mpeg"/></item>
      <item><guid>2</guid><link>posts/2</link><enclosure url="//cdn.example.com/b.mp3"/></item>)"),
                          "https://example.com/blog/feed.xml");
  EXPECT_EQ(feed.feed.link, "https://example.com/");
  EXPECT_EQ(feed.feed.image, "http://img.example.net/logos/logo.png");
  ASSERT_EQ(feed.items.size(), 2u);
  EXPECT_EQ(feed.items[0].link, "http://other.example.org/dir/page.html");
  ASSERT_EQ(feed.items[0].enclosures.size(), 1u);
  EXPECT_EQ(feed.items[0].enclosures[0].url, "http://other.example.org/media/a.mp3");
  EXPECT_EQ(feed.items[1].link, "https://example.com/blog/posts/2");
  ASSERT_EQ(feed.items[1].enclosures.size(), 1u);
  EXPECT_EQ(feed.items[1].enclosures[0].url, "https://cdn.example.com/b.mp3");
}

// ---- Identity ----

TEST(IdentityTest, KeysAreStableWhenTheFeedChanges) {
  const std::string a = "<item><title>A</title><guid> id-a </guid></item>";
  const std::string b = "<item><title>B</title><description>no id</description></item>";
  const std::string dup1 = "<item><title>D1</title><guid>dup</guid></item>";
  const std::string dup2 = "<item><title>D2</title><guid>dup</guid></item>";
  ParsedFeed first = Parse(Rss(a + b + dup1 + dup2));
  ParsedFeed later = Parse(Rss("<item><title>New</title><guid>new</guid></item>" + a + b + dup1 +
                               dup2));
  ASSERT_EQ(first.items.size(), 4u);
  ASSERT_EQ(later.items.size(), 5u);
  EXPECT_EQ(first.items[0].id, "id-a");
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(first.items[i].key, later.items[i + 1].key) << i;
  EXPECT_NE(first.items[2].key, first.items[3].key);
}

// ---- Broken XML ----

TEST(BrokenXmlTest, GarbageAfterTheRoot) {
  ParsedFeed feed = Parse(Rss("<title>T</title><item><title>one</title><guid>1</guid></item>") +
                          "\n<p>trailing</p> junk & more </rss>");
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_TRUE(feed.bozo);
  EXPECT_NE(feed.error.find("after the root element"), std::string::npos) << feed.error;
  EXPECT_EQ(feed.feed.title, "T");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].title, "one");
}

TEST(BrokenXmlTest, IllegalControlCharactersAreDroppedAndReported) {
  ParsedFeed feed = Parse(Rss("<title>a\x01\x02" "b\x0C</title>"
                              "<item><title>x\x1Fy</title><guid>1</guid></item>"));
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_TRUE(feed.bozo);
  EXPECT_NE(feed.error.find("control character"), std::string::npos) << feed.error;
  EXPECT_EQ(feed.feed.title, "ab");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].title, "xy");
}

TEST(BrokenXmlTest, StrayAmpersandIsEscapedAndReported) {
  ParsedFeed feed = Parse(Rss("<title>AT&T</title><item><title>Q & A</title>"
                              "<link>http://example.com/?a=1&b=2</link></item>"));
  EXPECT_TRUE(feed.bozo);
  EXPECT_NE(feed.error.find("'&'"), std::string::npos) << feed.error;
  EXPECT_EQ(feed.feed.title, "AT&T");
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_EQ(feed.items[0].title, "Q & A");
  EXPECT_EQ(feed.items[0].link, "http://example.com/?a=1&b=2");
}

TEST(BrokenXmlTest, UnclosedTagsRecoverEveryItem) {
  ParsedFeed feed = Parse(Rss("<item><title>one</title><guid>1</guid><description><b>bold"
                              "</description></item>"
                              "<item><title>two<guid>2</guid></item>"
                              "<item><title>three</title><guid>3</guid></item>"));
  EXPECT_TRUE(feed.bozo);
  ASSERT_EQ(feed.items.size(), 3u);
  EXPECT_EQ(feed.items[0].summary, "<b>bold</b>");
  EXPECT_EQ(feed.items[2].title, "three");
}

// ---- Hostile DTDs ----

TEST(DtdTest, BillionLaughsIsRefused) {
  std::string bomb = "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a \"lol\">";
  char previous = 'a';
  // 26 levels of 10 references: 10^25 copies if anything expanded them.
  for (char name = 'b'; name <= 'z'; ++name) {
    bomb += std::string("<!ENTITY ") + name + " \"";
    for (int i = 0; i < 10; ++i) bomb += std::string("&") + previous + ";";
    bomb += "\">";
    previous = name;
  }
  bomb += "]><rss version=\"2.0\"><channel><title>&z;</title>"
          "<item><title>kept &z;</title><guid attr=\"&z;\">1</guid></item></channel></rss>";
  ParsedFeed feed = Parse(bomb);
  EXPECT_EQ(feed.format, "rss20");
  EXPECT_TRUE(feed.bozo);
  EXPECT_NE(feed.error.find("entity"), std::string::npos) << feed.error;
  EXPECT_LT(feed.feed.title.size(), 16u);
  ASSERT_EQ(feed.items.size(), 1u);
  EXPECT_LT(feed.items[0].title.size(), 16u);
}

TEST(DtdTest, ExternalEntitiesAreNeverLoaded) {
  for (const char* decl :
       {"<!ENTITY x SYSTEM \"file:///etc/passwd\">",
        "<!ENTITY x PUBLIC \"-//X//EN\" \"file:///etc/hostname\">",
        "<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;"}) {
    ParsedFeed feed = Parse(std::string("<?xml version=\"1.0\"?><!DOCTYPE rss [") + decl +
                            "]><rss version=\"2.0\"><channel><title>&x;</title>"
                            "<item><guid>1</guid><title>t</title></item></channel></rss>");
    EXPECT_EQ(feed.format, "rss20") << decl;
    EXPECT_TRUE(feed.bozo) << decl;
    EXPECT_EQ(feed.feed.title.find("root"), std::string::npos) << decl;
    EXPECT_EQ(feed.items.size(), 1u) << decl;
  }
  // An external DTD reference alone (the Netscape 0.91 one) is harmless and not an error.
  ParsedFeed netscape = Parse(
      "<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" "
      "\"http://my.netscape.com/publish/formats/rss-0.91.dtd\"><rss version=\"0.91\"><channel>"
      "<title>N</title></channel></rss>");
  EXPECT_FALSE(netscape.bozo) << netscape.error;
}

// Only the prolog can declare entities: an item that quotes a DOCTYPE, here in CDATA near the
// top of the feed, leaves the feed well-formed, and the prolog's own DOCTYPE is still found
// after a declaration, a comment and a processing instruction.
TEST(DtdTest, ADoctypeQuotedInTheContentIsNotTheDocuments) {
  ParsedFeed quoting = Parse(
      "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title><item>"
      "<guid>1</guid><description><![CDATA[Write <!DOCTYPE note [<!ENTITY a \"b\">]> "
      "first.]]></description></item></channel></rss>");
  EXPECT_FALSE(quoting.bozo) << quoting.error;
  ASSERT_EQ(quoting.items.size(), 1u);
  EXPECT_NE(quoting.items[0].summary.find("<!DOCTYPE note"), std::string::npos);

  ParsedFeed declaring = Parse(
      "<?xml version=\"1.0\"?><!-- made by hand --><?xml-stylesheet href=\"s.xsl\"?>"
      "<!DOCTYPE rss [<!ENTITY a \"b\">]><rss version=\"2.0\"><channel><title>T</title>"
      "</channel></rss>");
  EXPECT_TRUE(declaring.bozo);
  EXPECT_NE(declaring.error.find("DOCTYPE entity declarations ignored"), std::string::npos)
      << declaring.error;
}

}  // namespace
}  // namespace feedcrawl
