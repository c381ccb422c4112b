// Small URL helpers used for politeness (host of a URL) and for resolving relative links.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace feedcrawl {

// Lower-cased host of an absolute http(s) URL, without port or user info; "" if there is none.
std::string UrlHost(std::string_view url);

// Resolves `reference` against the absolute URL `base` (RFC 3986 section 5). Returns `reference`
// unchanged when it is already absolute or when `base` is not absolute.
std::string ResolveUrl(std::string_view base, std::string_view reference);

}  // namespace feedcrawl
