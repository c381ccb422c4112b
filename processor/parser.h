// Feed parser: turns a fetched document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed 1.0/1.1) into
// the normalised ParsedFeed model: UTF-8 text, UTC millisecond dates, absolute URLs and a stable
// per-item key. The format is detected from the document itself; the Content-Type only informs the
// charset. Bad input never throws: a document that cannot be read as a feed comes back with an
// empty format and `error` set, and a malformed one that could be partly recovered has bozo=true.
// Pure functions with no shared state; safe to call from any number of threads at once.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace feedcrawl
