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

// What decoding had to do to produce clean UTF-8. Each flag means the document was not what it
// claimed to be, which the parser reports as bozo.
struct DecodeReport {
  bool unknown_encoding = false;      // iconv does not know the label; the bytes were read as UTF-8
  bool invalid_bytes = false;         // bytes undecodable in the encoding became U+FFFD
  bool windows1252_fallback = false;  // bytes invalid as UTF-8 were read as windows-1252
  bool control_characters = false;    // characters XML forbids (C0 controls, NUL) were removed

  // Why the bytes were not clean, for ParsedFeed::error; "" when they were.
  std::string Describe(std::string_view encoding) const;
};

// Converts `body` from `encoding` to UTF-8 (BOM removed) and drops the control characters XML
// forbids. In a document read as UTF-8, each byte that starts no valid sequence is read as
// windows-1252 (the usual reality behind a wrong declaration) while valid sequences are kept; in
// other encodings undecodable bytes become U+FFFD. An encoding iconv does not know is read as
// UTF-8. `report` (optional) says which of these happened.
std::string DecodeToUtf8(std::string_view body, std::string_view encoding,
                         DecodeReport* report = nullptr);

// DecodeToUtf8, setting `*lossy` (when given) if any byte had to be replaced or reinterpreted.
std::string ConvertToUtf8(std::string_view body, std::string_view encoding, bool* lossy = nullptr);

}  // namespace feedcrawl
