#include "processor/encoding.h"

#include <errno.h>
#include <iconv.h>

#include <array>

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

std::string ConvertToUtf8(std::string_view body, std::string_view encoding, bool* lossy) {
  size_t bom_length = 0;
  EncodingFromBom(body, bom_length);
  body.remove_prefix(bom_length);
  std::string name = CanonicalEncoding(Lower(encoding));
  if (!IsUtf8Name(name)) {
    bool supported = false;
    std::string converted = ConvertWithIconv(body, name, lossy, &supported);
    if (supported) {
      if (!NeedsSanitizing(converted)) return converted;
      return SanitizeUtf8(converted);
    }
  }
  if (!NeedsSanitizing(body)) return std::string(body);
  if (lossy && !IsValidUtf8(body)) *lossy = true;
  return SanitizeUtf8(body);
}

}  // namespace feedcrawl
