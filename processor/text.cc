#include "processor/text.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/utf8.h"

namespace feedcrawl {
namespace {

// HTML 4 named entities. Latin-1 160..255 are listed in code point order; the rest as
// "name code" pairs. Parsed once into a sorted table.
constexpr std::string_view kLatin1Entities =
    "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn "
    "sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave "
    "Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml "
    "ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN "
    "szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute "
    "icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml "
    "yacute thorn yuml";
// Greek capitals 913..937 (930 is unassigned) and small letters 945..969.
constexpr std::string_view kGreekCapitals =
    "Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho - "
    "Sigma Tau Upsilon Phi Chi Psi Omega";
constexpr std::string_view kGreekSmall =
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigmaf "
    "sigma tau upsilon phi chi psi omega";
constexpr std::string_view kOtherEntities =
    "quot 34 amp 38 apos 39 lt 60 gt 62 OElig 338 oelig 339 Scaron 352 scaron 353 Yuml 376 "
    "fnof 402 circ 710 tilde 732 thetasym 977 upsih 978 piv 982 ensp 8194 emsp 8195 thinsp 8201 "
    "zwnj 8204 zwj 8205 lrm 8206 rlm 8207 ndash 8211 mdash 8212 lsquo 8216 rsquo 8217 sbquo 8218 "
    "ldquo 8220 rdquo 8221 bdquo 8222 dagger 8224 Dagger 8225 bull 8226 hellip 8230 permil 8240 "
    "prime 8242 Prime 8243 lsaquo 8249 rsaquo 8250 oline 8254 frasl 8260 euro 8364 image 8465 "
    "weierp 8472 real 8476 trade 8482 alefsym 8501 larr 8592 uarr 8593 rarr 8594 darr 8595 "
    "harr 8596 crarr 8629 lArr 8656 uArr 8657 rArr 8658 dArr 8659 hArr 8660 forall 8704 "
    "part 8706 exist 8707 empty 8709 nabla 8711 isin 8712 notin 8713 ni 8715 prod 8719 sum 8721 "
    "minus 8722 lowast 8727 radic 8730 prop 8733 infin 8734 ang 8736 and 8743 or 8744 cap 8745 "
    "cup 8746 int 8747 there4 8756 sim 8764 cong 8773 asymp 8776 ne 8800 equiv 8801 le 8804 "
    "ge 8805 sub 8834 sup 8835 nsub 8836 sube 8838 supe 8839 oplus 8853 otimes 8855 perp 8869 "
    "sdot 8901 lceil 8968 rceil 8969 lfloor 8970 rfloor 8971 lang 9001 rang 9002 loz 9674 "
    "spades 9824 clubs 9827 hearts 9829 diams 9830";

using EntityTable = std::vector<std::pair<std::string_view, uint32_t>>;

// Splits `list` on spaces, calling `fn` for every word.
template <typename Fn>
void ForEachWord(std::string_view list, Fn fn) {
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find(' ', pos);
    if (end == std::string_view::npos) end = list.size();
    fn(list.substr(pos, end - pos));
    pos = end + 1;
  }
}

EntityTable BuildEntityTable() {
  EntityTable table;
  uint32_t code = 160;
  ForEachWord(kLatin1Entities, [&](std::string_view w) { table.emplace_back(w, code++); });
  code = 913;
  ForEachWord(kGreekCapitals, [&](std::string_view w) {
    if (w != "-") table.emplace_back(w, code);
    ++code;
  });
  code = 945;
  ForEachWord(kGreekSmall, [&](std::string_view w) { table.emplace_back(w, code++); });
  std::string_view pending;
  ForEachWord(kOtherEntities, [&](std::string_view w) {
    if (pending.empty()) {
      pending = w;
      return;
    }
    uint32_t value = 0;
    for (char c : w) value = value * 10 + static_cast<uint32_t>(c - '0');
    table.emplace_back(pending, value);
    pending = {};
  });
  std::sort(table.begin(), table.end());
  return table;
}

// The bytes that may end a run of text CollapseWhitespace keeps as it is: the spaces (space, tab,
// LF, CR, form feed), and 0xC2, which starts U+00A0 (no-break space). One lookup per byte instead
// of six comparisons.
constexpr std::array<bool, 256> kRunStops = [] {
  std::array<bool, 256> stops{};
  for (unsigned char c : {' ', '\t', '\n', '\r', '\f'}) stops[c] = true;
  stops[0xC2] = true;
  return stops;
}();

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsForbiddenControl(unsigned char c) { return c < 0x20 && c != '\t' && c != '\n' && c != '\r'; }

// Whether text holds a control character XML forbids (below 0x20 but tab, LF and CR), looked at
// 16 bytes at a time where SSE2 is there (every x86-64). Bytes from 0x80 up are not controls.
bool HasForbiddenControl(std::string_view text) {
  const char* p = text.data();
  const size_t size = text.size();
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i max_control = _mm_set1_epi8(0x1F);
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  for (; i + 16 <= size; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // An unsigned "at most 0x1F": the minimum with 0x1F is the byte itself.
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, max_control), v);
    __m128i allowed =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, tab), _mm_cmpeq_epi8(v, lf)),
                     _mm_cmpeq_epi8(v, cr));
    if (_mm_movemask_epi8(_mm_andnot_si128(allowed, control)) != 0) return true;
  }
#endif
  for (; i < size; ++i) {
    if (IsForbiddenControl(static_cast<unsigned char>(p[i]))) return true;
  }
  return false;
}

// Decodes the reference starting at text[pos] == '&'. On success appends the character, advances
// `pos` past the ';' and returns true.
bool DecodeReference(std::string_view text, size_t& pos, std::string& out) {
  size_t i = pos + 1;
  uint32_t code = 0;
  if (i < text.size() && text[i] == '#') {
    ++i;
    bool hex = i < text.size() && (text[i] == 'x' || text[i] == 'X');
    if (hex) ++i;
    size_t digits_start = i;
    while (i < text.size() && i - digits_start < 8) {
      char c = text[i];
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (hex && c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (hex && c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        break;
      }
      code = code * (hex ? 16 : 10) + static_cast<uint32_t>(digit);
      ++i;
    }
    if (i == digits_start || i >= text.size() || text[i] != ';') return false;
  } else {
    size_t name_start = i;
    while (i < text.size() && IsNameChar(text[i]) && i - name_start < 10) ++i;
    if (i == name_start || i >= text.size() || text[i] != ';') return false;
    code = LookupHtmlEntity(text.substr(name_start, i - name_start));
    if (code == 0) return false;
  }
  // Windows-1252 code points in numeric references (&#146;) mean the cp1252 character.
  static constexpr uint16_t kCp1252[32] = {
      0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
  if (code >= 0x80 && code <= 0x9F) code = kCp1252[code - 0x80];
  if (code == 0 || (code < 0x20 && IsForbiddenControl(static_cast<unsigned char>(code)))) {
    code = 0xFFFD;
  }
  AppendUtf8(code, out);
  pos = i + 1;
  return true;
}

}  // namespace

// The well-formed byte sequences of RFC 3629 (section 4), checked by byte ranges rather than by
// decoding the code point: the second byte's range depends on the lead byte, which excludes
// overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4); C0, C1 and F5-FF
// never start a sequence.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto in = [](unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t left = s.size() - i;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return left >= 2 && in(byte(i + 1), 0x80, 0xBF) ? 2 : 0;
  if (c < 0xF0) {
    if (left < 3) return 0;
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    return in(byte(i + 1), lo, hi) && in(byte(i + 2), 0x80, 0xBF) ? 3 : 0;
  }
  if (c < 0xF5) {
    if (left < 4) return 0;
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(byte(i + 1), lo, hi) && in(byte(i + 2), 0x80, 0xBF) && in(byte(i + 3), 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

uint32_t LookupHtmlEntity(std::string_view name) {
  static const EntityTable kTable = BuildEntityTable();
  auto it = std::lower_bound(kTable.begin(), kTable.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  return it != kTable.end() && it->first == name ? it->second : 0;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string DecodeEntities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t amp = text.find('&', pos);
    if (amp == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, amp - pos));
    pos = amp;
    if (!DecodeReference(text, pos, out)) {
      out.push_back('&');
      ++pos;
    }
  }
  return out;
}

std::string CollapseWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const size_t n = text.size();
  // U+00A0 (no-break space) reads as a space in a plain-text title.
  const auto no_break_space = [&](size_t i) {
    return text[i] == '\xC2' && i + 1 < n && text[i + 1] == '\xA0';
  };
  bool pending_space = false;
  size_t i = 0;
  while (i < n) {
    // The bytes up to the next space are kept as they are, appended as one run.
    size_t end = i;
    for (;;) {
      while (end < n && !kRunStops[static_cast<unsigned char>(text[end])]) ++end;
      // 0xC2 starts other characters too, which are kept.
      if (end < n && text[end] == '\xC2' && !no_break_space(end)) {
        ++end;
        continue;
      }
      break;
    }
    if (end > i) {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.append(text.data() + i, end - i);
      i = end;
      continue;
    }
    pending_space = !out.empty();
    i += no_break_space(i) ? 2 : 1;
  }
  return out;
}

std::string HtmlToPlainText(std::string_view html) {
  // Two searches for one byte each: find_first_of("<&") would look up every byte of the text
  // in "<&" with a call of its own.
  if (html.find('<') == std::string_view::npos && html.find('&') == std::string_view::npos) {
    return CollapseWhitespace(html);
  }
  std::string stripped;
  stripped.reserve(html.size());
  size_t pos = 0;
  while (pos < html.size()) {
    char c = html[pos];
    if (c != '<') {
      stripped.push_back(c);
      ++pos;
      continue;
    }
    // Only '<' followed by a letter, '/', '!' or '?' opens markup; "a < b" stays text.
    char next = pos + 1 < html.size() ? html[pos + 1] : '\0';
    bool markup = IsNameChar(next) || next == '/' || next == '!' || next == '?';
    if (!markup || (next >= '0' && next <= '9')) {
      stripped.push_back(c);
      ++pos;
      continue;
    }
    if (html.compare(pos, 4, "<!--") == 0) {
      size_t end = html.find("-->", pos + 4);
      pos = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    size_t end = html.find('>', pos);
    if (end == std::string_view::npos) break;  // a dangling tag at the end is dropped
    std::string_view tag = html.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    std::string name;
    for (char t : tag) {
      if (!IsNameChar(t)) break;
      name.push_back(static_cast<char>(t >= 'A' && t <= 'Z' ? t - 'A' + 'a' : t));
    }
    if (name == "script" || name == "style") {
      std::string closing = "</" + name;
      size_t close = pos;
      // Case-insensitive search for the closing tag.
      while (close < html.size()) {
        close = html.find("</", close);
        if (close == std::string_view::npos) break;
        std::string_view candidate = html.substr(close, closing.size());
        bool same = candidate.size() == closing.size() &&
                    std::equal(candidate.begin(), candidate.end(), closing.begin(), [](char a, char b) {
                      return (a >= 'A' && a <= 'Z' ? a - 'A' + 'a' : a) == b;
                    });
        if (same) break;
        close += 2;
      }
      if (close == std::string_view::npos || close >= html.size()) {
        pos = html.size();
      } else {
        size_t gt = html.find('>', close);
        pos = gt == std::string_view::npos ? html.size() : gt + 1;
      }
    }
    // Tags separate words ("a<br>b" reads "a b"); collapsing removes the surplus.
    stripped.push_back(' ');
  }
  return CollapseWhitespace(DecodeEntities(stripped));
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&quot;"); break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && static_cast<unsigned char>(text.front()) <= ' ') text.remove_prefix(1);
  while (!text.empty() && static_cast<unsigned char>(text.back()) <= ' ') text.remove_suffix(1);
  return text;
}

bool NeedsSanitizing(std::string_view text) {
  return HasForbiddenControl(text) || !IsValidUtf8(text);
}

std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (!IsForbiddenControl(c)) out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(text, i);
    if (n == 0) {
      AppendUtf8(0xFFFD, out);
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace feedcrawl
