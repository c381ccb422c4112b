// `feedcrawl parse FILE [--url URL] [--content-type TYPE]`: runs the processor's feed parser on
// a local file and prints the normalised result as indented JSON, to see what feedcrawl makes of
// a feed without crawling it. Not thread-safe.
#pragma once

#include <ostream>
#include <string>

namespace feedcrawl::cli {

struct ParseCommandOptions {
  std::string file;
  std::string url;            // base for relative links, as if fetched from there
  std::string content_type;   // as if served with this Content-Type (charset)
};

// 0 for any readable file, even one that is not a feed (the JSON says why); 1 if unreadable.
int ParseCommand(const ParseCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace feedcrawl::cli
