// Helpers for the ASCII text of protocols and files: HTTP header values, Cache-Control
// directives, lines of a feed list. Locale-independent, unlike <cctype>. Header-only.
#pragma once

#include <string_view>

namespace feedcrawl {

// Space, tab, line feed, vertical tab, form feed, carriage return: what std::isspace matches in
// the "C" locale.
constexpr bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// `text` without the ASCII spaces at either end (a view into it).
constexpr std::string_view TrimAsciiSpace(std::string_view text) {
  while (!text.empty() && IsAsciiSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsAsciiSpace(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace feedcrawl
