// RewriteReferences: the pass over a document's references before pugixml parses it.
#include "processor/xml_repair.h"

#include <gtest/gtest.h>

#include <string>

namespace feedcrawl {
namespace {

struct Rewritten {
  bool changed = false;
  std::string text;  // the rewritten text, or the input when nothing changed
  size_t stray = 0;
};

Rewritten Rewrite(const std::string& text) {
  Rewritten result;
  std::string out;
  result.changed = RewriteReferences(text, out, &result.stray);
  result.text = result.changed ? out : text;
  return result;
}

TEST(RewriteReferencesTest, KeepsWellFormedReferences) {
  for (const std::string text :
       {"&lt;p&gt;a &amp;amp; b&lt;/p&gt;", "&quot;&apos;", "&#233;&#xE9;&#XE9;", "&lt;", "&gt;",
        "&amp;", "x&lt;y", "&unknown;"}) {
    Rewritten r = Rewrite(text);
    EXPECT_FALSE(r.changed) << text;
    EXPECT_EQ(r.stray, std::string::npos) << text;
  }
}

TEST(RewriteReferencesTest, ReplacesHtmlEntitiesWithCharacterReferences) {
  Rewritten r = Rewrite("caf&eacute;&nbsp;&lt;b&gt;");
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.text, "caf&#233;&#160;&lt;b&gt;");
  EXPECT_EQ(r.stray, std::string::npos);
  // A character XML forbids becomes U+FFFD.
  EXPECT_EQ(Rewrite("a&#1;b").text, "a&#65533;b");
}

TEST(RewriteReferencesTest, EscapesStrayAmpersandsAndReportsTheFirst) {
  Rewritten r = Rewrite("AT&T &lt; M&S");
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.text, "AT&amp;T &lt; M&amp;S");
  EXPECT_EQ(r.stray, 2u);
}

TEST(RewriteReferencesTest, ReferencesCutShortAreStray) {
  // The predefined names without their ';', or cut by the end of the document.
  EXPECT_EQ(Rewrite("a &lt").text, "a &amp;lt");
  EXPECT_EQ(Rewrite("a &gt b").text, "a &amp;gt b");
  EXPECT_EQ(Rewrite("&am").text, "&amp;am");
  EXPECT_EQ(Rewrite("&amp").text, "&amp;amp");
  EXPECT_EQ(Rewrite("&ampx;").text, "&ampx;");  // another name, left as written
  EXPECT_EQ(Rewrite("&lt ;").text, "&amp;lt ;");
  EXPECT_EQ(Rewrite("&").text, "&amp;");
  EXPECT_EQ(Rewrite("&#").text, "&amp;#");
  EXPECT_EQ(Rewrite("&#x;").text, "&amp;#x;");
  EXPECT_EQ(Rewrite("&quot").text, "&amp;quot");
  EXPECT_EQ(Rewrite("x&").stray, 1u);
}

TEST(RewriteReferencesTest, FindsReferencesNearAndFarAlike) {
  // The next '&' is looked for in the next few bytes before memchr takes over: every distance
  // around that boundary gives the same result.
  for (size_t gap = 0; gap < 40; ++gap) {
    const std::string filler(gap, 'x');
    const std::string text = "&lt;" + filler + "&nbsp;" + filler + "A&B" + filler + "&gt;";
    Rewritten r = Rewrite(text);
    EXPECT_TRUE(r.changed) << gap;
    EXPECT_EQ(r.text, "&lt;" + filler + "&#160;" + filler + "A&amp;B" + filler + "&gt;") << gap;
    EXPECT_EQ(r.stray, 4 + gap + 6 + gap + 1) << gap;
  }
}

TEST(RewriteReferencesTest, LeavesCdataCommentsAndTheDoctypeAsWritten) {
  const std::string text =
      "<!DOCTYPE rss [<!ENTITY x \"&nbsp;\">]><rss><!-- AT&T --><a><![CDATA[M&S &nbsp;]]>"
      "&nbsp;</a></rss>";
  Rewritten r = Rewrite(text);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.text,
            "<!DOCTYPE rss [<!ENTITY x \"&nbsp;\">]><rss><!-- AT&T --><a><![CDATA[M&S &nbsp;]]>"
            "&#160;</a></rss>");
  EXPECT_EQ(r.stray, std::string::npos);
}

// "<![CDATA[" inside an attribute value is text, so pugixml decodes the references after it: the
// ones it would turn into bytes that are not UTF-8 are rewritten wherever they are.
TEST(RewriteReferencesTest, ForbiddenNumericReferencesAreRewrittenInSkippedMarkupToo) {
  Rewritten r = Rewrite("<a x=\"<![CDATA[\">&#xD800; &nbsp; &#x110000; &#233;</a>]]>");
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.text, "<a x=\"<![CDATA[\">&#65533; &nbsp; &#65533; &#233;</a>]]>");
  Rewritten comment = Rewrite("<a title=\"<!--\">&#0;</a><!-- -->");
  EXPECT_EQ(comment.text, "<a title=\"<!--\">&#65533;</a><!-- -->");
  // pugixml reads every digit into an int that wraps, so a long number is no stray either.
  Rewritten long_number =
      Rewrite("<a x=\"<![\">&#xDDDDDDDDDDDDDDDDDD600; &#00000000000000000065;</a>");
  EXPECT_EQ(long_number.text, "<a x=\"<![\">&#65533; &#00000000000000000065;</a>");
}

}  // namespace
}  // namespace feedcrawl
