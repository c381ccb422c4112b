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

// Marks the document bozo and adds `reason` to the error; the first reason leads.
void AddProblem(ParsedFeed& out, const std::string& reason) {
  out.bozo = true;
  if (!out.error.empty()) out.error += "; ";
  out.error += reason;
}

// The text pugixml parses: the decoded document with its references made XML-safe, plus one
// trailing space. pugixml terminates the last name or text of a truncated document in place by
// overwriting the byte after it; without the pad that byte could be the end of a multi-byte
// character, leaving invalid UTF-8 in the tree.
std::string PrepareXml(std::string decoded, size_t* stray) {
  std::string rewritten;
  if (RewriteReferences(decoded, rewritten, stray)) decoded = std::move(rewritten);
  decoded.push_back(' ');
  return decoded;
}

// `text` is parsed in place (it is consumed); `prepare_again` rebuilds it for the rare document
// that needs repairs, which must start from the unparsed text.
template <typename Prepare>
void ParseXml(std::string text, Prepare&& prepare_again, const ParseOptions& options,
              ParsedFeed& out) {
  ParsedFeed problems;
  size_t stray = std::string::npos;
  text = PrepareXml(std::move(text), &stray);
  if (stray != std::string::npos) {
    AddProblem(problems, "malformed XML: stray '&' escaped at offset " + std::to_string(stray));
  }
  if (DeclaresEntities(text)) {
    AddProblem(problems, "DOCTYPE entity declarations ignored, never expanded or loaded");
  }
  XmlReadOptions read_options;
  read_options.url = options.url;
  read_options.netscape_doctype = HasNetscapeDoctype(text);

  pugi::xml_document doc;
  std::string parsed_text;  // the buffer of a repaired tree; must outlive `doc`'s use
  pugi::xml_parse_result result =
      doc.load_buffer_inplace(text.data(), text.size(), kParseFlags, pugi::encoding_utf8);
  if (!result) {
    // Report the first error; the repairs that follow are what made the rest readable.
    std::string first_error = DescribeXmlError(result);
    problems.error = problems.error.empty() ? first_error : first_error + "; " + problems.error;
    problems.bozo = true;
    text = PrepareXml(prepare_again(), nullptr);
    parsed_text = text + " ";  // a repair may have cut the pad off the end
    result = doc.load_buffer_inplace(parsed_text.data(), parsed_text.size(), kParseFlags,
                                     pugi::encoding_utf8);
    for (int i = 0; i < kMaxRepairs && !result && RepairAtError(text, result); ++i) {
      parsed_text = text + " ";  // a repair may have cut the pad off the end
      result = doc.load_buffer_inplace(parsed_text.data(), parsed_text.size(), kParseFlags,
                                       pugi::encoding_utf8);
    }
    // What is left is pugixml's partial tree up to the last error: the part that was readable.
  }
  if (HasContentAfterRoot(doc)) AddProblem(problems, "malformed XML: content after the root element");
  ParsedFeed parsed;
  if (!ReadXmlFeed(doc, read_options, parsed)) {
    // Without a root element the XML error is the better explanation.
    bool unreadable = problems.bozo && !doc.document_element();
    out.error = unreadable ? "not a feed: " + problems.error : parsed.error;
    out.format.clear();
    out.items.clear();
    return;
  }
  parsed.bozo = problems.bozo;
  parsed.error = std::move(problems.error);
  out = std::move(parsed);
}

}  // namespace

ParsedFeed ParseFeed(std::string_view body, const ParseOptions& options) {
  ParsedFeed out;
  std::string encoding = DetectEncoding(body, options.content_type);
  DecodeReport report;
  std::string text = DecodeToUtf8(body, encoding, &report);
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
    auto prepare_again = [&] { return DecodeToUtf8(body, encoding); };
    ParseXml(std::move(text), prepare_again, options, out);
  }
  if (out.format.empty()) {
    out.items.clear();
    return out;
  }
  DeduplicateKeys(out.items);
  std::string decoding_problem = report.Describe(encoding);
  if (!decoding_problem.empty()) AddProblem(out, decoding_problem);
  return out;
}

}  // namespace feedcrawl
