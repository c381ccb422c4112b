#include "processor/xml_repair.h"

#include <cstring>
#include <utility>
#include <vector>

#include "processor/text.h"

namespace feedcrawl {
namespace {

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
}
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool StartsWithIgnoreCase(std::string_view s, size_t pos, std::string_view prefix) {
  if (pos + prefix.size() > s.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[pos + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// End of the markup construct at text[pos] == '<' that is skipped as a whole (comment, CDATA,
// processing instruction, DOCTYPE with internal subset), or npos when it is not one of those.
size_t SkipSpecialMarkup(std::string_view text, size_t pos) {
  auto after = [&](std::string_view terminator, size_t from) {
    size_t end = text.find(terminator, from);
    return end == std::string_view::npos ? text.size() : end + terminator.size();
  };
  if (text.compare(pos, 4, "<!--") == 0) return after("-->", pos + 4);
  if (text.compare(pos, 9, "<![CDATA[") == 0) return after("]]>", pos + 9);
  if (text.compare(pos, 2, "<?") == 0) return after("?>", pos + 2);
  if (text.compare(pos, 2, "<!") == 0) {
    size_t bracket = text.find('[', pos);
    size_t close = text.find('>', pos);
    if (bracket != std::string_view::npos && bracket < close) return after("]>", bracket);
    return close == std::string_view::npos ? text.size() : close + 1;
  }
  return std::string_view::npos;
}

// Position of the "<!DOCTYPE" in the document's prolog, or npos. The prolog ends at the first
// element, so the search stops there rather than visiting every '<' of the markup that follows;
// and it looks no further than 4 KB (a declaration and a few comments).
size_t FindPrologDoctype(std::string_view text) {
  const std::string_view head = text.substr(0, 4096);
  size_t pos = head.find('<');
  while (pos != std::string_view::npos) {
    if (head.compare(pos, 9, "<!DOCTYPE") == 0) return pos;
    const size_t end = SkipSpecialMarkup(head, pos);  // npos for an element: the prolog is over
    if (end == std::string_view::npos) return std::string_view::npos;
    pos = head.find('<', end);
  }
  return std::string_view::npos;
}

// Position of the next "<!" at or after `pos`, or npos. Searches for the rare '!' rather than the
// ubiquitous '<', which keeps the scan near memchr speed on markup-heavy feeds.
size_t FindMarkupDeclaration(std::string_view text, size_t pos) {
  if (pos >= text.size()) return std::string_view::npos;
  const char* data = text.data();
  size_t from = pos + 1;
  while (from < text.size()) {
    const void* hit = std::memchr(data + from, '!', text.size() - from);
    if (hit == nullptr) return std::string_view::npos;
    size_t bang = static_cast<size_t>(static_cast<const char*>(hit) - data);
    if (data[bang - 1] == '<') return bang - 1;
    from = bang + 1;
  }
  return std::string_view::npos;
}

// The first '&' at or after `pos`, or null. In escaped markup the next one is often a few bytes
// on (&lt;p&gt;), where a memchr call costs more than looking: the next 16 bytes are looked at
// first.
const char* FindAmpersand(std::string_view text, size_t pos) {
  const char* p = text.data() + pos;
  const char* end = text.data() + text.size();
  const char* near_end = end - p > 16 ? p + 16 : end;
  for (; p < near_end; ++p) {
    if (*p == '&') return p;
  }
  return p == end ? nullptr
                  : static_cast<const char*>(std::memchr(p, '&', static_cast<size_t>(end - p)));
}

// The position of the first "&#" in text[from, to), or npos. Searches for the '#', which text
// has far fewer of than '&' (escaped markup in CDATA sections is full of "&amp;").
size_t FindNumericReference(std::string_view text, size_t from, size_t to) {
  const char* data = text.data();
  size_t at = from + 1;
  while (at < to) {
    const void* hit = std::memchr(data + at, '#', to - at);
    if (hit == nullptr) return std::string_view::npos;
    const size_t hash = static_cast<size_t>(static_cast<const char*>(hit) - data);
    if (data[hash - 1] == '&') return hash - 1;
    at = hash + 1;
  }
  return std::string_view::npos;
}

// Result of one numeric or named reference at text[pos] == '&'.
enum class RefAction { kKeep, kStray, kReplace };

RefAction ClassifyReference(std::string_view text, size_t pos, size_t& end, uint32_t& code) {
  size_t i = pos + 1;
  // The predefined entities are nearly every reference of escaped markup (&lt;p&gt;): known by
  // their bytes before the general reading.
  const char* p = text.data() + i;
  const size_t left = text.size() - i;
  if (left >= 3 && p[2] == ';' && p[1] == 't' && (p[0] == 'l' || p[0] == 'g')) {
    end = i + 3;
    return RefAction::kKeep;
  }
  if (left >= 4 && std::memcmp(p, "amp;", 4) == 0) {
    end = i + 4;
    return RefAction::kKeep;
  }
  if (i < text.size() && text[i] == '#') {
    ++i;
    bool hex = i < text.size() && (text[i] == 'x' || text[i] == 'X');
    if (hex) ++i;
    size_t start = i;
    // Every digit is read, as pugixml reads them (into an int that wraps): a value past U+10FFFF
    // stays past it here, however many digits follow.
    uint64_t value = 0;
    while (i < text.size()) {
      char c = text[i];
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        digit = (c | 0x20) - 'a' + 10;
      } else {
        break;
      }
      if (value <= 0x10FFFF) value = value * (hex ? 16 : 10) + static_cast<uint64_t>(digit);
      ++i;
    }
    if (i == start || i >= text.size() || text[i] != ';') return RefAction::kStray;
    end = i + 1;
    bool allowed = value == 0x9 || value == 0xA || value == 0xD ||
                   (value >= 0x20 && value <= 0x10FFFF && !(value >= 0xD800 && value <= 0xDFFF) &&
                    value != 0xFFFE && value != 0xFFFF);
    if (allowed) return RefAction::kKeep;
    code = 0xFFFD;
    return RefAction::kReplace;
  }
  if (i >= text.size() || !IsNameStart(text[i])) return RefAction::kStray;
  size_t start = i;
  while (i < text.size() && IsNameChar(text[i]) && i - start < 64) ++i;
  if (i >= text.size() || text[i] != ';') return RefAction::kStray;
  end = i + 1;
  std::string_view name = text.substr(start, i - start);
  if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") {
    return RefAction::kKeep;
  }
  code = LookupHtmlEntity(name);
  // Unknown names may come from a DOCTYPE; pugixml leaves them as written, never expanding them.
  return code == 0 ? RefAction::kKeep : RefAction::kReplace;
}

// Element names open at `limit`, from a light scan that mirrors pugixml's view of the text.
std::vector<std::string_view> OpenElements(std::string_view text, size_t limit) {
  std::vector<std::string_view> stack;
  size_t pos = 0;
  while (true) {
    pos = text.find('<', pos);
    if (pos == std::string_view::npos || pos >= limit) break;
    size_t special = SkipSpecialMarkup(text, pos);
    if (special != std::string_view::npos) {
      pos = special;
      continue;
    }
    bool closing = pos + 1 < text.size() && text[pos + 1] == '/';
    size_t name_start = pos + (closing ? 2 : 1);
    size_t name_end = name_start;
    while (name_end < text.size() && IsNameChar(text[name_end])) ++name_end;
    // Find the end of the tag, skipping quoted attribute values.
    size_t end = name_end;
    char quote = 0;
    while (end < text.size()) {
      char c = text[end];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
      ++end;
    }
    std::string_view name = text.substr(name_start, name_end - name_start);
    if (closing) {
      for (size_t i = stack.size(); i > 0; --i) {
        if (stack[i - 1] == name) {
          stack.resize(i - 1);
          break;
        }
      }
    } else if (!name.empty() && !(end > 0 && end < text.size() && text[end - 1] == '/')) {
      stack.push_back(name);
    }
    pos = end;
  }
  return stack;
}

bool RepairEndTagMismatch(std::string& text, size_t offset) {
  if (offset < 2 || offset > text.size() || text.compare(offset - 2, 2, "</") != 0) return false;
  size_t tag_start = offset - 2;
  size_t name_end = offset;
  while (name_end < text.size() && IsNameChar(text[name_end])) ++name_end;
  std::string name = text.substr(offset, name_end - offset);
  size_t tag_end = text.find('>', name_end);
  tag_end = tag_end == std::string::npos ? text.size() : tag_end + 1;
  std::vector<std::string_view> open = OpenElements(text, tag_start);
  size_t match = open.size();
  for (size_t i = open.size(); i > 0; --i) {
    if (open[i - 1] == name) {
      match = i - 1;
      break;
    }
  }
  if (match == open.size()) {
    // Closes nothing that is open: drop it.
    text.erase(tag_start, tag_end - tag_start);
    return true;
  }
  // Closes an ancestor: close the elements left open inside it first (HTML's implied ends).
  std::string closers;
  for (size_t i = open.size(); i > match + 1; --i) {
    closers.append("</").append(open[i - 1]).push_back('>');
  }
  if (closers.empty()) return false;
  text.insert(tag_start, closers);
  return true;
}

// A quoted attribute value that runs to the end of the document: pugixml reports it at the value's
// first byte. The value is closed where its tag should end, before the first '>' ("/>" for an
// empty element), or before the first '<' (the element then ends there, empty).
bool CloseUnterminatedValue(std::string& text, size_t offset) {
  const char quote = text[offset - 1];
  if (text.find(quote, offset) != std::string::npos) return false;
  const size_t end = text.find_first_of("<>", offset);
  if (end == std::string::npos) return false;
  if (text[end] == '<') {
    text.insert(end, std::string(1, quote) + "/>");
  } else {
    const bool empty_element = end > offset && text[end - 1] == '/';
    text.insert(empty_element ? end - 1 : end, 1, quote);
  }
  return true;
}

bool RepairAttribute(std::string& text, size_t offset) {
  if (offset >= text.size()) return false;
  if (offset > 0 && (text[offset - 1] == '"' || text[offset - 1] == '\'')) {
    if (CloseUnterminatedValue(text, offset)) return true;
    // Attributes with no space between them (<a x="1"y="2">): give them one.
    if (IsNameStart(text[offset])) {
      text.insert(offset, 1, ' ');
      return true;
    }
  }
  size_t before = offset;
  while (before > 0 && IsSpace(text[before - 1])) --before;
  if (before > 0 && text[before - 1] == '=' && text[offset] != '"' && text[offset] != '\'') {
    // Unquoted value: quote it up to the next space or tag end.
    size_t end = offset;
    while (end < text.size() && !IsSpace(text[end]) && text[end] != '>' &&
           text.compare(end, 2, "/>") != 0) {
      ++end;
    }
    std::string value = text.substr(offset, end - offset);
    std::string quoted = "\"";
    for (char c : value) quoted.append(c == '"' ? "&quot;" : std::string(1, c));
    quoted.push_back('"');
    text.replace(offset, end - offset, quoted);
    return true;
  }
  // An attribute without a value (<td nowrap>): give it an empty one.
  size_t scan = offset;
  while (scan > 0 && IsSpace(text[scan])) --scan;
  if (scan > 0 && IsNameChar(text[scan - 1]) && (IsSpace(text[scan]) || text[scan] == '>' ||
                                                  text[scan] == '/')) {
    text.insert(scan, "=\"\"");
    return true;
  }
  if (IsNameChar(text[offset])) {
    size_t end = offset;
    while (end < text.size() && IsNameChar(text[end])) ++end;
    if (end < text.size() && text[end] != '=') {
      text.insert(end, "=\"\"");
      return true;
    }
  }
  return false;
}

}  // namespace

bool RewriteReferences(std::string_view text, std::string& out, size_t* stray_offset) {
  if (stray_offset) *stray_offset = std::string_view::npos;
  bool changed = false;
  size_t copied = 0;  // text[0, copied) is already in `out` when changed
  size_t pos = 0;
  auto flush = [&](size_t upto) {
    if (!changed) {
      changed = true;
      out.clear();
      out.reserve(text.size() + 64);
    }
    out.append(text.substr(copied, upto - copied));
  };
  // text[at, end) becomes a reference to `code`.
  auto replace = [&](size_t at, size_t end, uint32_t code) {
    flush(at);
    out.append("&#").append(std::to_string(code)).push_back(';');
    copied = end;
  };
  size_t next_markup = FindMarkupDeclaration(text, 0);
  const char* hit = nullptr;
  size_t amp = 0;
  bool amp_known = false;  // `amp` is the first '&' at or after `pos`; searched again only past it
  while (pos < text.size()) {
    if (!amp_known || amp < pos) {
      hit = FindAmpersand(text, pos);
      amp = hit ? static_cast<size_t>(hit - text.data()) : text.size();
      amp_known = true;
    }
    if (!hit) break;
    // CDATA sections, comments and the DOCTYPE before the next '&' are left as written, all but
    // their numeric references to characters XML forbids. This scan does not know the quotes of
    // attribute values, where "<![CDATA[" is text; if that is where it was, pugixml decodes the
    // references that follow, and one to a surrogate or past U+10FFFF would come out as bytes
    // that are not UTF-8. In a real CDATA section such a reference is literal text: U+FFFD's is
    // a fair stand-in for it.
    if (next_markup != std::string_view::npos && next_markup < amp) {
      size_t skip = SkipSpecialMarkup(text, next_markup);
      pos = skip == std::string_view::npos ? next_markup + 2 : skip;
      for (size_t at = FindNumericReference(text, amp, pos); at < pos;
           at = FindNumericReference(text, at + 2, pos)) {
        size_t end = at + 1;
        uint32_t code = 0;
        if (ClassifyReference(text, at, end, code) == RefAction::kReplace) replace(at, end, code);
      }
      next_markup = FindMarkupDeclaration(text, pos);
      continue;
    }
    size_t end = amp + 1;
    uint32_t code = 0;
    switch (ClassifyReference(text, amp, end, code)) {
      case RefAction::kKeep:
        pos = end;
        break;
      case RefAction::kStray:
        if (stray_offset && *stray_offset == std::string_view::npos) *stray_offset = amp;
        flush(amp);
        out.append("&amp;");
        copied = amp + 1;
        pos = amp + 1;
        break;
      case RefAction::kReplace:
        replace(amp, end, code);
        pos = end;
        break;
    }
  }
  if (changed) out.append(text.substr(copied));
  return changed;
}

namespace {

// The edit for one kind of error (RepairAtError).
bool RepairAt(std::string& text, size_t offset, pugi::xml_parse_status status) {
  switch (status) {
    case pugi::status_unrecognized_tag:
    case pugi::status_bad_start_element: {
      // A '<' that opens no tag ("a < b"): escape it.
      size_t lt = text.rfind('<', offset);
      if (lt == std::string::npos || offset - lt > 2) return false;
      text.replace(lt, 1, "&lt;");
      return true;
    }
    case pugi::status_end_element_mismatch:
    case pugi::status_bad_end_element:
      return RepairEndTagMismatch(text, offset);
    case pugi::status_bad_attribute:
      return RepairAttribute(text, offset);
    default:
      return false;
  }
}

}  // namespace

bool RepairAtError(std::string& text, const pugi::xml_parse_result& result) {
  size_t offset = static_cast<size_t>(result.offset);
  if (offset >= text.size() || !RepairAt(text, offset, result.status)) return false;
  // A repair can make new text out of what was markup: an escaped '<' turns what followed it
  // from a declaration left as written ("<!") into text, and a dropped end tag joins the text on
  // its two sides ("&#xDDD" and "0;"). Its references are rewritten like every other text's.
  std::string rewritten;
  if (RewriteReferences(text, rewritten)) text = std::move(rewritten);
  return true;
}

bool LooksLikeHtml(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (IsSpace(text[pos]) || text[pos] == '\xEF' || text[pos] == '\xBB' ||
                                 text[pos] == '\xBF')) {
      ++pos;
    }
    if (pos >= text.size() || text[pos] != '<') return false;
    if (StartsWithIgnoreCase(text, pos, "<!doctype html")) return true;
    if (StartsWithIgnoreCase(text, pos, "<html")) {
      char after = pos + 5 < text.size() ? text[pos + 5] : '>';
      return after == '>' || IsSpace(after);
    }
    if (text.compare(pos, 4, "<!--") == 0 || text.compare(pos, 2, "<?") == 0) {
      size_t skip = SkipSpecialMarkup(text, pos);
      pos = skip;
      continue;
    }
    return false;
  }
  return false;
}

bool DeclaresEntities(std::string_view text) {
  size_t doctype = FindPrologDoctype(text);
  if (doctype == std::string_view::npos) return false;
  size_t end = SkipSpecialMarkup(text, doctype);
  std::string_view decl = text.substr(doctype, end - doctype);
  return decl.find("<!ENTITY") != std::string_view::npos;
}

bool DropUnfinishedValue(pugi::xml_document& doc, const char* buffer,
                         const pugi::xml_parse_result& result) {
  if (result || (result.status != pugi::status_bad_attribute &&
                 result.status != pugi::status_bad_cdata)) {
    return false;
  }
  const char* value = buffer + result.offset;
  // Each node is appended as the last child of the element it is in, so the one pugixml stopped
  // in is on the chain of last children.
  for (pugi::xml_node node = doc.last_child(); node; node = node.last_child()) {
    if (node.type() == pugi::node_cdata && node.value() == value) {
      node.parent().remove_child(node);
      return true;
    }
    if (pugi::xml_attribute last = node.last_attribute(); last && last.value() == value) {
      node.remove_attribute(last);
      return true;
    }
  }
  return false;
}

bool HasContentAfterRoot(const pugi::xml_document& doc) {
  pugi::xml_node root = doc.document_element();
  if (!root) return false;
  for (pugi::xml_node node = root.next_sibling(); node; node = node.next_sibling()) {
    switch (node.type()) {
      case pugi::node_element:
      case pugi::node_cdata:
        return true;
      case pugi::node_pcdata:
        for (const char* c = node.value(); *c; ++c) {
          if (!IsSpace(*c)) return true;
        }
        break;
      default:
        break;  // comments and processing instructions may follow the root
    }
  }
  return false;
}

bool HasNetscapeDoctype(std::string_view text) {
  std::string_view head = text.substr(0, 4096);
  size_t doctype = FindPrologDoctype(head);
  if (doctype == std::string_view::npos) return false;
  size_t end = head.find('>', doctype);
  std::string_view decl = head.substr(doctype, end == std::string_view::npos ? end : end - doctype);
  return decl.find("Netscape") != std::string_view::npos ||
         decl.find("netscape") != std::string_view::npos;
}

}  // namespace feedcrawl
