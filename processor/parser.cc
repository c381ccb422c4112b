#include "processor/parser.h"

#include <algorithm>
#include <numeric>
#include <string_view>
#include <unordered_set>
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

}  // namespace

// A document's XML tree and the text pugixml parsed in place, which the tree points into: kept
// for the second step of a two-step read.
struct XmlTree {
  std::string text;      // the prepared document
  std::string repaired;  // the text after repairs, when the prepared one was not well formed
  pugi::xml_document doc;
  std::string url;
  bool netscape_doctype = false;

  XmlReadOptions ReadOptions() const {
    XmlReadOptions options;
    options.url = url;
    options.netscape_doctype = netscape_doctype;
    return options;
  }
};

namespace {

// `text` is parsed in place into `tree` (it is consumed); `prepare_again` rebuilds it for the rare
// document that needs repairs, which must start from the unparsed text.
template <typename Prepare>
void ParseXml(std::string text, Prepare&& prepare_again, const ParseOptions& options,
              bool keys_only, XmlTree& tree, ParsedFeed& out) {
  ParsedFeed problems;
  size_t stray = std::string::npos;
  tree.text = PrepareXml(std::move(text), &stray);
  if (stray != std::string::npos) {
    AddProblem(problems, "malformed XML: stray '&' escaped at offset " + std::to_string(stray));
  }
  if (DeclaresEntities(tree.text)) {
    AddProblem(problems, "DOCTYPE entity declarations ignored, never expanded or loaded");
  }
  tree.url = options.url;
  tree.netscape_doctype = HasNetscapeDoctype(tree.text);

  pugi::xml_document& doc = tree.doc;
  pugi::xml_parse_result result =
      doc.load_buffer_inplace(tree.text.data(), tree.text.size(), kParseFlags, pugi::encoding_utf8);
  if (!result) {
    // Report the first error; the repairs that follow are what made the rest readable.
    std::string first_error = DescribeXmlError(result);
    problems.error = problems.error.empty() ? first_error : first_error + "; " + problems.error;
    problems.bozo = true;
    std::string fixed = PrepareXml(prepare_again(), nullptr);
    tree.repaired = fixed + " ";  // a repair may have cut the pad off the end
    result = doc.load_buffer_inplace(tree.repaired.data(), tree.repaired.size(), kParseFlags,
                                     pugi::encoding_utf8);
    for (int i = 0; i < kMaxRepairs && !result && RepairAtError(fixed, result); ++i) {
      tree.repaired = fixed + " ";
      result = doc.load_buffer_inplace(tree.repaired.data(), tree.repaired.size(), kParseFlags,
                                       pugi::encoding_utf8);
    }
    // What is left is pugixml's partial tree up to the last error: the part that was readable,
    // without the value it was in the middle of.
    DropUnfinishedValue(doc, tree.repaired.data(), result);
    tree.text.clear();
    tree.text.shrink_to_fit();
  }
  if (HasContentAfterRoot(doc)) AddProblem(problems, "malformed XML: content after the root element");
  XmlReadOptions read_options = tree.ReadOptions();
  read_options.keys_only = keys_only;
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

std::vector<Item> ReadItemsWhole(const XmlTree& tree, const std::vector<size_t>& positions) {
  XmlReadOptions options = tree.ReadOptions();
  options.only = &positions;
  ParsedFeed read;
  ReadXmlFeed(tree.doc, options, read);
  return std::move(read.items);
}

bool KeysRepeat(const std::vector<Item>& items) {
  std::unordered_set<std::string_view> keys;
  keys.reserve(items.size() * 2);
  for (const Item& item : items) {
    if (!keys.insert(item.key).second) return true;
  }
  return false;
}

// ParseFeed, or with `keep` the first step of a two-step read: items with an id or a link are read
// only for their key and dates, and the tree is kept in *keep for the second.
ParsedFeed ParseDocument(std::string_view body, const ParseOptions& options,
                         std::unique_ptr<XmlTree>* keep) {
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
    auto tree = std::make_unique<XmlTree>();
    ParseXml(std::move(text), prepare_again, options, keep != nullptr, *tree, out);
    // Only items with an id or a link were read in part; without any, every item is whole.
    if (keep != nullptr && std::any_of(out.items.begin(), out.items.end(), KeyFromIdOrLink)) {
      *keep = std::move(tree);
    }
  }
  if (out.format.empty()) {
    out.items.clear();
    if (keep != nullptr) keep->reset();
    return out;
  }
  if (keep != nullptr && *keep && KeysRepeat(out.items)) {
    // Which of the repeated keys are exact duplicates, and what the others become, is settled
    // from every field (DeduplicateKeys).
    std::vector<size_t> every(out.items.size());
    std::iota(every.begin(), every.end(), size_t{0});
    out.items = ReadItemsWhole(**keep, every);
    keep->reset();
  }
  DeduplicateKeys(out.items);
  std::string decoding_problem = report.Describe(encoding);
  if (!decoding_problem.empty()) AddProblem(out, decoding_problem);
  return out;
}

}  // namespace

ParsedFeed ParseFeed(std::string_view body, const ParseOptions& options) {
  return ParseDocument(body, options, nullptr);
}

FeedDocument::FeedDocument() = default;
FeedDocument::FeedDocument(ParsedFeed whole) : feed_(std::move(whole)) {}
FeedDocument::FeedDocument(FeedDocument&&) noexcept = default;
FeedDocument& FeedDocument::operator=(FeedDocument&&) noexcept = default;
FeedDocument::~FeedDocument() = default;

std::vector<Item> FeedDocument::ReadWhole(const std::vector<size_t>& positions) {
  if (tree_ != nullptr) return ReadItemsWhole(*tree_, positions);
  std::vector<Item> items;
  items.reserve(positions.size());
  for (size_t position : positions) {
    // As in a read from the tree, a position past the items reads nothing.
    if (position < feed_.items.size()) items.push_back(std::move(feed_.items[position]));
  }
  return items;
}

FeedDocument ParseFeedKeys(std::string_view body, const ParseOptions& options) {
  FeedDocument document;
  document.feed_ = ParseDocument(body, options, &document.tree_);
  return document;
}

}  // namespace feedcrawl
