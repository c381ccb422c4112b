#include "processor/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/utf8.h"
#include "processor/encoding.h"

namespace feedcrawl {
namespace {

TEST(EntityTest, LooksUpHtmlEntities) {
  EXPECT_EQ(LookupHtmlEntity("nbsp"), 0xA0u);
  EXPECT_EQ(LookupHtmlEntity("eacute"), 0xE9u);
  EXPECT_EQ(LookupHtmlEntity("yuml"), 0xFFu);
  EXPECT_EQ(LookupHtmlEntity("Omega"), 0x3A9u);
  EXPECT_EQ(LookupHtmlEntity("Sigma"), 0x3A3u);  // after the unassigned 0x3A2
  EXPECT_EQ(LookupHtmlEntity("omega"), 0x3C9u);
  EXPECT_EQ(LookupHtmlEntity("hellip"), 0x2026u);
  EXPECT_EQ(LookupHtmlEntity("euro"), 0x20ACu);
  EXPECT_EQ(LookupHtmlEntity("diams"), 0x2666u);
  EXPECT_EQ(LookupHtmlEntity("apos"), 0x27u);
  EXPECT_EQ(LookupHtmlEntity("Eacute"), 0xC9u);  // case matters
  EXPECT_EQ(LookupHtmlEntity("bogus"), 0u);
  EXPECT_EQ(LookupHtmlEntity(""), 0u);
}

TEST(EntityTest, DecodesReferences) {
  EXPECT_EQ(DecodeEntities("caf&eacute; &amp; cr&#232;me &#x2014; &lt;b&gt;"),
            "caf\xC3\xA9 & cr\xC3\xA8me \xE2\x80\x94 <b>");
  EXPECT_EQ(DecodeEntities("AT&T &bogus; &#; &#xZZ; &"), "AT&T &bogus; &#; &#xZZ; &");
  EXPECT_EQ(DecodeEntities("&#146;"), "\xE2\x80\x99");  // windows-1252 quote
  EXPECT_EQ(DecodeEntities("&#0;&#xD800;&#x110000;"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(DecodeEntities("&#x1F600;"), "\xF0\x9F\x98\x80");
}

TEST(TextTest, CollapsesWhitespace) {
  EXPECT_EQ(CollapseWhitespace("  a \n\t b  "), "a b");
  EXPECT_EQ(CollapseWhitespace("a\xC2\xA0\xC2\xA0" "b"), "a b");
  EXPECT_EQ(CollapseWhitespace(""), "");
  EXPECT_EQ(CollapseWhitespace("\f\r\n"), "");
  EXPECT_EQ(CollapseWhitespace("\xC2\xA0 x\xC2\xA0"), "x");
  // Other characters that start with the no-break space's first byte are kept, wherever they are.
  EXPECT_EQ(CollapseWhitespace("\xC2\xA9 2026\xC2\xA0\xC2\xB7\xC2\xA0" "a\xC2\xBB"),
            "\xC2\xA9 2026 \xC2\xB7 a\xC2\xBB");
  EXPECT_EQ(CollapseWhitespace("a \xC2"), "a \xC2");  // a lone lead byte is SanitizeUtf8's business
}

TEST(TextTest, HtmlToPlainText) {
  // Text with neither markup nor references is only collapsed; either alone is still read.
  EXPECT_EQ(HtmlToPlainText("  plain \n text "), "plain text");
  EXPECT_EQ(HtmlToPlainText("a &lt; b"), "a < b");
  EXPECT_EQ(HtmlToPlainText("a <b>b</b>"), "a b");
  EXPECT_EQ(HtmlToPlainText("<b>Bold</b> &amp; <i>it</i>"), "Bold & it");
  EXPECT_EQ(HtmlToPlainText("line<br>break<p>para</p>"), "line break para");
  EXPECT_EQ(HtmlToPlainText("a <!-- hidden --> b"), "a b");
  EXPECT_EQ(HtmlToPlainText("x<script>var a = '<b>';</script>y"), "x y");
  EXPECT_EQ(HtmlToPlainText("x<STYLE>p{}</STYLE>y"), "x y");
  EXPECT_EQ(HtmlToPlainText("1 < 2 and 3 > 2"), "1 < 2 and 3 > 2");
  EXPECT_EQ(HtmlToPlainText("caf&eacute;&nbsp;au lait"), "caf\xC3\xA9 au lait");
  EXPECT_EQ(HtmlToPlainText("dangling <a href"), "dangling");
  EXPECT_EQ(HtmlToPlainText("plain text"), "plain text");
}

TEST(TextTest, EscapesHtml) {
  EXPECT_EQ(EscapeHtml("a < b & \"c\" > d"), "a &lt; b &amp; &quot;c&quot; &gt; d");
}

TEST(TextTest, TrimsSpacesAndControlsAtTheEndsOnly) {
  EXPECT_EQ(Trim(std::string_view(" \t\r\n\x01" "a b\x1F \0", 11)), "a b");
  EXPECT_EQ(Trim("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0");  // a no-break space is text
  EXPECT_EQ(Trim(" \n "), "");
  std::string_view text = "  kept  ";
  EXPECT_EQ(Trim(text).data(), text.data() + 2);  // a view into the text, not a copy
}

TEST(Utf8Test, ValidatesAndSanitizes) {
  EXPECT_TRUE(IsValidUtf8("plain \xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_EQ(SanitizeUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(SanitizeUtf8(std::string("a\x01\x00\tb\n", 6)), "a\tb\n");
  EXPECT_FALSE(NeedsSanitizing("clean\ttext\n"));
  EXPECT_TRUE(NeedsSanitizing("bell\x07"));
}

// A reference that decodes the code point and then checks it, the way RFC 3629 defines
// well-formed UTF-8 (shortest form, no surrogates, at most U+10FFFF).
size_t DecodingSequenceLength(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    unsigned char b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

TEST(Utf8Test, SequenceLengthMatchesDecodingEverySequence) {
  // Every lead byte with every second and third byte, and a fourth byte on each side of the
  // continuation range; also cut short after each byte.
  std::string s(4, '\0');
  size_t checked = 0;
  for (int a = 0x80; a < 0x100; ++a) {
    for (int b = 0; b < 0x100; ++b) {
      for (int c = 0; c < 0x100; ++c) {
        for (int d : {0x7F, 0x80, 0xBF, 0xC0}) {
          s[0] = static_cast<char>(a), s[1] = static_cast<char>(b);
          s[2] = static_cast<char>(c), s[3] = static_cast<char>(d);
          for (size_t len = 1; len <= 4; ++len) {
            std::string_view view(s.data(), len);
            size_t expected = DecodingSequenceLength(view, 0);
            if (Utf8SequenceLength(view, 0) != expected) {
              FAIL() << std::hex << a << " " << b << " " << c << " " << d << " length " << len;
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 128u * 256 * 256 * 4 * 4);
}

TEST(Utf8Test, NeedsSanitizingExactlyWhenSanitizingChangesText) {
  // Random text from pieces that take every path: runs of printable ASCII longer than the
  // 16-byte blocks, tab/LF/CR, forbidden controls, DEL, valid 2-4 byte characters, invalid and
  // truncated sequences; at every length and offset.
  const std::vector<std::string> pieces = {
      "abcdefghijklmnopqrstuvwxyz0123456789", "<item>", " ", "\t", "\n", "\r", std::string(1, '\0'),
      "\x01", "\x1F", "\x7F", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xC0\xAF",
      "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\xFF", "\x80", "\xEF\xBB\xBF"};
  uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245 + 12345, (seed >> 16) & 0x7FFF; };
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    int count = static_cast<int>(next() % 12);
    for (int k = 0; k < count; ++k) {
      const std::string& piece = pieces[next() % pieces.size()];
      // Mostly clean pieces, so that a whole text is clean often enough.
      text += next() % 4 == 0 ? piece : pieces[next() % 2];
    }
    for (size_t start = 0; start <= std::min<size_t>(text.size(), 3); ++start) {
      std::string_view view = std::string_view(text).substr(start);
      ASSERT_EQ(NeedsSanitizing(view), SanitizeUtf8(view) != view)
          << "round " << round << " offset " << start;
    }
  }
}

TEST(EncodingTest, CharsetFromContentType) {
  EXPECT_EQ(CharsetFromContentType("application/rss+xml; charset=ISO-8859-1"), "iso-8859-1");
  EXPECT_EQ(CharsetFromContentType("text/xml;charset=\"utf-8\""), "utf-8");
  EXPECT_EQ(CharsetFromContentType("text/xml"), "");
}

TEST(EncodingTest, DeclaredXmlEncoding) {
  EXPECT_EQ(DeclaredXmlEncoding("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss/>"),
            "iso-8859-1");
  EXPECT_EQ(DeclaredXmlEncoding("<?xml version='1.0' encoding='koi8-r' ?>"), "koi8-r");
  EXPECT_EQ(DeclaredXmlEncoding("<?xml version=\"1.0\"?><rss/>"), "");
}

TEST(EncodingTest, DetectionPrecedence) {
  // RFC 7303: BOM, then the HTTP charset, then the declaration.
  EXPECT_EQ(DetectEncoding("\xEF\xBB\xBF<?xml version='1.0' encoding='koi8-r'?>", "charset=big5"),
            "utf-8");
  EXPECT_EQ(DetectEncoding("<?xml version='1.0' encoding='koi8-r'?>", "text/xml; charset=big5"),
            "big5");
  EXPECT_EQ(DetectEncoding("<?xml version='1.0' encoding='koi8-r'?>", "text/xml"), "koi8-r");
  EXPECT_EQ(DetectEncoding("<rss/>", ""), "utf-8");
  EXPECT_EQ(DetectEncoding(std::string("\xFF\xFE<\0", 4), ""), "utf-16le");
  EXPECT_EQ(DetectEncoding(std::string("\0<\0?", 4), ""), "utf-16be");
}

TEST(EncodingTest, ConvertsLegacyEncodings) {
  EXPECT_EQ(ConvertToUtf8("caf\xE9", "iso-8859-1"), "caf\xC3\xA9");
  EXPECT_EQ(ConvertToUtf8("\x93q\x94", "iso-8859-1"), "\xE2\x80\x9Cq\xE2\x80\x9D");  // as cp1252
  EXPECT_EQ(ConvertToUtf8("\xD0\xD2\xC9\xD7\xC5\xD4", "koi8-r"),
            "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");  // привет
  EXPECT_EQ(ConvertToUtf8("\x93\xfa\x96\x7b", "shift_jis"), "\xE6\x97\xA5\xE6\x9C\xAC");  // 日本
  EXPECT_EQ(ConvertToUtf8("\xC6\xFC\xCB\xDC", "euc-jp"), "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(ConvertToUtf8("\xD6\xD0\xCE\xC4", "gb2312"), "\xE4\xB8\xAD\xE6\x96\x87");  // 中文
  EXPECT_EQ(ConvertToUtf8("\xA4\xA4\xA4\xE5", "big5"), "\xE4\xB8\xAD\xE6\x96\x87");
  EXPECT_EQ(ConvertToUtf8("\xC7\xD1\xB1\xDB", "euc-kr"), "\xED\x95\x9C\xEA\xB8\x80");  // 한글
  EXPECT_EQ(ConvertToUtf8(std::string("\xFF\xFEh\0i\0", 6), "utf-16le"), "hi");
  EXPECT_EQ(ConvertToUtf8(std::string("\0h\0i", 4), "utf-16be"), "hi");
  EXPECT_EQ(ConvertToUtf8("\xEF\xBB\xBFhi", "utf-8"), "hi");
}

TEST(EncodingTest, ReplacesInvalidBytes) {
  bool lossy = false;
  // Not UTF-8 after all: the stray byte is read as windows-1252, valid sequences are kept.
  EXPECT_EQ(ConvertToUtf8("a\xFF \x93\xC3\xA9\x94\x81", "utf-8", &lossy),
            "a\xC3\xBF \xE2\x80\x9C\xC3\xA9\xE2\x80\x9D\xEF\xBF\xBD");
  EXPECT_TRUE(lossy);
  DecodeReport report;
  EXPECT_EQ(DecodeToUtf8("a\x01" "b", "utf-8", &report), "ab");
  EXPECT_TRUE(report.control_characters);
  EXPECT_FALSE(report.windows1252_fallback);
  report = DecodeReport();
  DecodeToUtf8("x", "x-no-such-charset", &report);
  EXPECT_TRUE(report.unknown_encoding);
  lossy = false;
  std::string out = ConvertToUtf8("\x82\xA0\xFF\xFF", "shift_jis", &lossy);
  EXPECT_TRUE(IsValidUtf8(out));
  EXPECT_TRUE(lossy);
  // An unknown label is read as UTF-8 rather than failing.
  EXPECT_EQ(ConvertToUtf8("plain", "x-no-such-charset"), "plain");
}

}  // namespace
}  // namespace feedcrawl
