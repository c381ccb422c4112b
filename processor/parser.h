// Feed parser: turns a fetched document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed 1.0/1.1) into
// the normalised ParsedFeed model: UTF-8 text, UTC millisecond dates, absolute URLs and a stable
// per-item key. The format is detected from the document itself; the Content-Type only informs the
// charset. Bad input never throws: a document that cannot be read as a feed comes back with an
// empty format and `error` set, and a malformed one that could be partly recovered has bozo=true.
// Pure functions with no shared state; safe to call from any number of threads at once (a
// FeedDocument, like any value, from one at a time).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/feed_model.h"

namespace feedcrawl {

struct ParseOptions {
  std::string url;           // the feed's URL, the last base for relative links
  std::string content_type;  // HTTP Content-Type, consulted only for its charset parameter
};

// Parses any supported format detected from the document itself (never from the file name or the
// Content-Type, which only informs the charset). Never throws; a document that is not a feed gives
// format "" and error set (e.g. "not a feed: HTML page", "empty document").
ParsedFeed ParseFeed(std::string_view body, const ParseOptions& options);

struct XmlTree;

// A feed read in two steps, for a feed most of whose items are already stored: first the feed
// and each item's key and dates (ParseFeedKeys), then whole only the items asked for (ReadWhole).
// Keys, dates, order and everything outside the items are those ParseFeed gives; an item read
// whole is the item ParseFeed gives. The document's text and XML tree stay alive in between.
class FeedDocument {
 public:
  FeedDocument();
  // A feed read whole (what ParseFeed gives): ReadWhole takes its items.
  explicit FeedDocument(ParsedFeed whole);
  FeedDocument(FeedDocument&&) noexcept;
  FeedDocument& operator=(FeedDocument&&) noexcept;
  ~FeedDocument();

  // The feed. Its items have their key, id, link and dates; the other fields are filled only
  // where the item was read whole already (an item with neither id nor link, whose key comes
  // from its other fields; every item of a JSON Feed or of a document whose keys repeat).
  ParsedFeed& feed() { return feed_; }
  const ParsedFeed& feed() const { return feed_; }
  // The items at `positions` of feed().items (ascending), whole; a position past the items
  // reads nothing. Called once: the items that feed() holds whole already are moved out of it.
  std::vector<Item> ReadWhole(const std::vector<size_t>& positions);

 private:
  friend FeedDocument ParseFeedKeys(std::string_view body, const ParseOptions& options);
  ParsedFeed feed_;
  std::unique_ptr<XmlTree> tree_;  // null when every item is whole in feed_
};

// The first step of a two-step read (FeedDocument). Never throws; what ParseFeed reports as an
// error is reported the same way in feed().
FeedDocument ParseFeedKeys(std::string_view body, const ParseOptions& options);

}  // namespace feedcrawl
