// Feed lists: the FEEDS argument of `feedcrawl run` and `feedcrawl feeds import`. A list is either
// plain text (one URL per line, blank lines and `#` comments ignored, a ` #` starts a trailing
// comment) or an OPML document (every outline's xmlUrl, at any depth). The kind is detected from
// the content, not the file name. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace feedcrawl::cli {

// True for an absolute http:// or https:// URL with a host and no whitespace.
bool IsFeedUrl(std::string_view url);

// Parses a list's content into URLs, in order of first appearance, duplicates removed.
// InvalidArgument (naming the line, or the OPML parse error) when an entry is not an http(s) URL
// or the document is XML but not well-formed OPML.
StatusOr<std::vector<std::string>> ParseFeedList(std::string_view content);

// Reads and parses the file at `path`; NotFound when it cannot be read.
StatusOr<std::vector<std::string>> ReadFeedList(const std::string& path);

}  // namespace feedcrawl::cli
