// Character encoding of fetched documents: detection (byte order mark, HTTP charset, XML
// declaration, in the precedence of RFC 7303) and conversion to UTF-8 with iconv. The result is
// always valid UTF-8 free of the control characters XML forbids. Thread-safe (each conversion
// opens its own iconv descriptor).
#pragma once

#include <string>
#include <string_view>

namespace feedcrawl {

// The charset parameter of a Content-Type value, lower-cased, quotes removed; "" when absent.
std::string CharsetFromContentType(std::string_view content_type);

// The encoding declared by an XML declaration (<?xml ... encoding="..."?>), lower-cased; "".
std::string DeclaredXmlEncoding(std::string_view body);

// The document's encoding: a byte order mark wins, then the HTTP charset, then the XML
// declaration (or UTF-16 recognised from its first bytes), else UTF-8. Lower-cased iconv name.
std::string DetectEncoding(std::string_view body, std::string_view content_type);

// Converts `body` from `encoding` to UTF-8 (BOM removed), replacing undecodable bytes by U+FFFD
// and dropping forbidden control characters. An encoding iconv does not know is read as UTF-8.
// Sets `*lossy` (when given) if any byte had to be replaced.
std::string ConvertToUtf8(std::string_view body, std::string_view encoding, bool* lossy = nullptr);

}  // namespace feedcrawl
