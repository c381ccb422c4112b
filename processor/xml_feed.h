// Reads an XML tree (pugixml) as an RSS 0.9x/1.0/2.0 or Atom 0.3/1.0 feed into the normalised
// model: namespaces matched by URI (undeclared common prefixes tolerated), xml:base honoured, text
// constructs converted, dates parsed, URLs resolved and item keys assigned (not yet deduplicated).
// Stateless; thread-safe for distinct documents.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <pugixml.hpp>

#include "common/feed_model.h"

namespace feedcrawl {

struct XmlReadOptions {
  std::string_view url;         // base of relative URLs outside any xml:base
  bool netscape_doctype = false;  // the document declares the Netscape RSS 0.91 DTD
  // Each item is read only as far as its key and dates need: an item with an id or a link gets
  // its key, id, link and dates and nothing else; an item with neither is read whole, since its
  // key comes from its other fields (ItemKey).
  bool keys_only = false;
  // When set, only the items at these positions (in document order, ascending) are read, whole;
  // the others are skipped. Positions count every item element, so they are those of a read
  // without this filter.
  const std::vector<size_t>* only = nullptr;
};

// Fills `out` from `doc`. Returns false, with out.error set and out.format empty, when the root
// element is not a feed (an HTML page, another XML vocabulary).
bool ReadXmlFeed(const pugi::xml_document& doc, const XmlReadOptions& options, ParsedFeed& out);

// The HTML form of an element's content: its text, or its child elements serialised as HTML
// (namespace prefixes dropped, void elements unclosed). Iterative, so deep nesting is safe.
std::string SerializeChildrenAsHtml(const pugi::xml_node& node);

}  // namespace feedcrawl
