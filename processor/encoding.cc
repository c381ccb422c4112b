#include "processor/encoding.h"

#include <errno.h>
#include <iconv.h>

#include <array>
#include <cstdint>

#include "processor/text.h"

namespace feedcrawl {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Encoding labels are short ASCII tokens; anything else is garbage from the document.
bool IsPlausibleLabel(std::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// Labels that name a superset in practice (as browsers read them) or that iconv spells otherwise.
std::string CanonicalEncoding(std::string name) {
  if (!IsPlausibleLabel(name)) return "utf-8";
  struct Alias {
    std::string_view label;
    std::string_view iconv_name;
  };
  static constexpr std::array<Alias, 16> kAliases = {{
      {"utf8", "utf-8"},
      {"unicode-1-1-utf-8", "utf-8"},
      {"iso-8859-1", "windows-1252"},
      {"iso8859-1", "windows-1252"},
      {"latin1", "windows-1252"},
      {"latin-1", "windows-1252"},
      {"us-ascii", "windows-1252"},
      {"ascii", "windows-1252"},
      {"iso-8859-9", "windows-1254"},
      {"gb2312", "gb18030"},
      {"gbk", "gb18030"},
      {"x-gbk", "gb18030"},
      {"euc-kr", "cp949"},
      {"ks_c_5601-1987", "cp949"},
      {"x-sjis", "shift_jis"},
      {"sjis", "shift_jis"},
  }};
  for (const Alias& alias : kAliases) {
    if (alias.label == name) return std::string(alias.iconv_name);
  }
  if (name == "shift_jis" || name == "shift-jis") return "cp932";  // Windows superset
  return name;
}

// Byte order mark: returns the encoding and sets the BOM length, or "".
std::string_view EncodingFromBom(std::string_view body, size_t& bom_length) {
  if (StartsWith(body, "\xEF\xBB\xBF")) {
    bom_length = 3;
    return "utf-8";
  }
  if (StartsWith(body, std::string_view("\x00\x00\xFE\xFF", 4))) {
    bom_length = 4;
    return "utf-32be";
  }
  if (StartsWith(body, std::string_view("\xFF\xFE\x00\x00", 4))) {
    bom_length = 4;
    return "utf-32le";
  }
  if (StartsWith(body, "\xFE\xFF")) {
    bom_length = 2;
    return "utf-16be";
  }
  if (StartsWith(body, "\xFF\xFE")) {
    bom_length = 2;
    return "utf-16le";
  }
  bom_length = 0;
  return "";
}

bool IsUtf8Name(std::string_view name) { return name == "utf-8"; }

std::string ConvertWithIconv(std::string_view body, const std::string& from, bool* lossy,
                             bool* supported) {
  iconv_t cd = iconv_open("UTF-8", from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    *supported = false;
    return {};
  }
  *supported = true;
  std::string out;
  out.reserve(body.size() + body.size() / 2);
  char buffer[16384];
  char* in = const_cast<char*>(body.data());
  size_t in_left = body.size();
  while (in_left > 0) {
    char* out_ptr = buffer;
    size_t out_left = sizeof(buffer);
    size_t rc = iconv(cd, &in, &in_left, &out_ptr, &out_left);
    out.append(buffer, sizeof(buffer) - out_left);
    if (rc != static_cast<size_t>(-1)) continue;
    if (errno == E2BIG) continue;
    // EILSEQ (invalid sequence) or EINVAL (truncated at the end): replace one byte and go on.
    AppendUtf8(0xFFFD, out);
    if (lossy) *lossy = true;
    ++in;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
  }
  iconv_close(cd);
  return out;
}

// Windows-1252 code points of bytes 0x80-0x9F (the five unassigned ones as U+FFFD); bytes
// 0xA0-0xFF are Latin-1 and map to themselves.
constexpr uint16_t kWindows1252High[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

// Valid UTF-8 from text that should be UTF-8: valid sequences are copied, forbidden control
// characters dropped, and every other byte read as windows-1252.
std::string RepairUtf8(std::string_view text, bool* reinterpreted, bool* controls) {
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
        *controls = true;
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(text, i);
    if (n > 0) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    *reinterpreted = true;
    AppendUtf8(c < 0xA0 ? kWindows1252High[c - 0x80] : c, out);
    ++i;
  }
  return out;
}

}  // namespace

std::string CharsetFromContentType(std::string_view content_type) {
  std::string lower = Lower(content_type);
  size_t pos = lower.find("charset");
  while (pos != std::string::npos) {
    size_t eq = pos + 7;
    while (eq < lower.size() && lower[eq] == ' ') ++eq;
    if (eq < lower.size() && lower[eq] == '=') {
      size_t start = eq + 1;
      while (start < lower.size() && (lower[start] == ' ' || lower[start] == '"' ||
                                      lower[start] == '\'')) {
        ++start;
      }
      size_t end = start;
      while (end < lower.size() && lower[end] != ';' && lower[end] != '"' && lower[end] != '\'' &&
             lower[end] != ' ' && lower[end] != ',') {
        ++end;
      }
      return lower.substr(start, end - start);
    }
    pos = lower.find("charset", pos + 7);
  }
  return "";
}

std::string DeclaredXmlEncoding(std::string_view body) {
  size_t start = body.find("<?xml");
  // The declaration is at the very start; tolerate leading junk (whitespace, a comment).
  if (start == std::string_view::npos || start > 256) return "";
  size_t end = body.find("?>", start);
  if (end == std::string_view::npos || end - start > 512) return "";
  std::string decl = Lower(body.substr(start, end - start));
  size_t pos = decl.find("encoding");
  if (pos == std::string::npos) return "";
  pos = decl.find_first_of("\"'", pos);
  if (pos == std::string::npos) return "";
  size_t close = decl.find(decl[pos], pos + 1);
  if (close == std::string::npos) return "";
  return decl.substr(pos + 1, close - pos - 1);
}

std::string DetectEncoding(std::string_view body, std::string_view content_type) {
  size_t bom_length = 0;
  std::string_view bom = EncodingFromBom(body, bom_length);
  if (!bom.empty()) return std::string(bom);
  std::string charset = CharsetFromContentType(content_type);
  if (!charset.empty()) return CanonicalEncoding(charset);
  // UTF-16 without a BOM: "<?" as two 16-bit units.
  if (StartsWith(body, std::string_view("\x00<\x00?", 4))) return "utf-16be";
  if (StartsWith(body, std::string_view("<\x00?\x00", 4))) return "utf-16le";
  std::string declared = DeclaredXmlEncoding(body);
  // A document that reached us as 8-bit bytes cannot be UTF-16 whatever it declares.
  if (declared.empty() || StartsWith(declared, "utf-16")) return "utf-8";
  return CanonicalEncoding(declared);
}

std::string DecodeReport::Describe(std::string_view encoding) const {
  if (unknown_encoding) return "unknown encoding " + std::string(encoding) + ", read as utf-8";
  if (windows1252_fallback) {
    return "bytes invalid in utf-8 (a wrong encoding declaration?), read as windows-1252";
  }
  if (invalid_bytes) return "invalid bytes for encoding " + std::string(encoding) + " replaced";
  if (control_characters) return "illegal control characters removed";
  return "";
}

std::string DecodeToUtf8(std::string_view body, std::string_view encoding, DecodeReport* report) {
  DecodeReport ignored;
  if (report == nullptr) report = &ignored;
  size_t bom_length = 0;
  EncodingFromBom(body, bom_length);
  body.remove_prefix(bom_length);
  std::string name = CanonicalEncoding(Lower(encoding));
  if (!IsUtf8Name(name)) {
    bool supported = false;
    std::string converted = ConvertWithIconv(body, name, &report->invalid_bytes, &supported);
    if (supported) {
      if (!NeedsSanitizing(converted)) return converted;
      return RepairUtf8(converted, &report->windows1252_fallback, &report->control_characters);
    }
    report->unknown_encoding = true;
  }
  if (!NeedsSanitizing(body)) {
    // A byte to spare: the XML parser pads the text with a space, which would otherwise move the
    // whole document into a buffer twice the size.
    std::string text;
    text.reserve(body.size() + 1);
    text.append(body);
    return text;
  }
  return RepairUtf8(body, &report->windows1252_fallback, &report->control_characters);
}

std::string ConvertToUtf8(std::string_view body, std::string_view encoding, bool* lossy) {
  DecodeReport report;
  std::string out = DecodeToUtf8(body, encoding, &report);
  if (lossy && (report.invalid_bytes || report.windows1252_fallback)) *lossy = true;
  return out;
}

}  // namespace feedcrawl
