#include "processor/parser.h"

#include <utility>

#include <pugixml.hpp>

#include "processor/encoding.h"
#include "processor/item_key.h"
#include "processor/json_feed.h"
#include "processor/xml_feed.h"
#include "processor/xml_repair.h"

namespace feedcrawl {
namespace {

// Each repair fixes one error and re-parses; real feeds need a handful at most, and the cap bounds
// the work a hostile document can cause.
constexpr int kMaxRepairs = 32;

// pugixml's defaults minus whitespace-only text nodes; DOCTYPEs are skipped, never loaded, so
// entity declarations are neither fetched nor expanded.
constexpr unsigned kParseFlags = pugi::parse_default & ~pugi::parse_ws_pcdata;

size_t FirstSignificant(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size() &&
         (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
    ++pos;
  }
  return pos;
}

std::string DescribeXmlError(const pugi::xml_parse_result& result) {
  return std::string("malformed XML: ") + result.description() + " at offset " +
         std::to_string(result.offset);
}

void ParseXml(std::string text, const ParseOptions& options, ParsedFeed& out) {
  std::string rewritten;
  if (RewriteReferences(text, rewritten)) text = std::move(rewritten);

  pugi::xml_document doc;
  pugi::xml_parse_result result =
      doc.load_buffer(text.data(), text.size(), kParseFlags, pugi::encoding_utf8);
  if (!result) {
    out.bozo = true;
    out.error = DescribeXmlError(result);
    for (int i = 0; i < kMaxRepairs && !result && RepairAtError(text, result); ++i) {
      result = doc.load_buffer(text.data(), text.size(), kParseFlags, pugi::encoding_utf8);
    }
    // What is left is pugixml's partial tree up to the last error: the part that was readable.
  }
  XmlReadOptions read_options;
  read_options.url = options.url;
  read_options.netscape_doctype = HasNetscapeDoctype(text);
  ParsedFeed parsed;
  if (!ReadXmlFeed(doc, read_options, parsed)) {
    // Without a root element the XML error is the better explanation.
    bool unreadable = out.bozo && !doc.document_element();
    out.error = unreadable ? "not a feed: " + out.error : parsed.error;
    out.format.clear();
    out.items.clear();
    return;
  }
  parsed.bozo = out.bozo;
  parsed.error = std::move(out.error);
  out = std::move(parsed);
}

}  // namespace

ParsedFeed ParseFeed(std::string_view body, const ParseOptions& options) {
  ParsedFeed out;
  std::string encoding = DetectEncoding(body, options.content_type);
  bool lossy = false;
  std::string text = ConvertToUtf8(body, encoding, &lossy);
  size_t start = FirstSignificant(text);
  if (start == text.size()) {
    out.error = "empty document";
    return out;
  }
  if (text[start] == '{' || text[start] == '[') {
    ReadJsonFeed(std::string_view(text).substr(start), options.url, out);
  } else if (LooksLikeHtml(text)) {
    out.error = "not a feed: HTML page";
    return out;
  } else if (text[start] != '<') {
    out.error = "not a feed: neither XML nor JSON";
    return out;
  } else {
    ParseXml(std::move(text), options, out);
  }
  if (out.format.empty()) {
    out.items.clear();
    return out;
  }
  DeduplicateKeys(out.items);
  if (lossy && !out.bozo) {
    out.bozo = true;
    out.error = "invalid bytes for encoding " + encoding + " replaced";
  }
  return out;
}

}  // namespace feedcrawl
