// Text normalisation for feed fields: HTML/XML entity decoding (including the HTML named entities
// XML lacks), tag stripping for plain-text titles, whitespace collapsing, HTML escaping, and UTF-8
// helpers. Pure functions; thread-safe (the entity table is immutable static data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace feedcrawl {

// Code point of an HTML named entity without '&' and ';' ("eacute" -> 0xE9); 0 when unknown.
// Covers the HTML 4 set plus &apos;.
uint32_t LookupHtmlEntity(std::string_view name);

// Appends the UTF-8 encoding of `code_point` (invalid ones become U+FFFD).
void AppendUtf8(uint32_t code_point, std::string& out);

// Decodes &name; &#123; and &#x1F; references; unknown or malformed ones stay as written.
std::string DecodeEntities(std::string_view text);

// Replaces runs of whitespace by one space and trims both ends.
std::string CollapseWhitespace(std::string_view text);

// `text` without the spaces and control bytes (0x00-0x20) at either end; a view into `text`.
std::string_view Trim(std::string_view text);

// Readable plain text from an HTML fragment: tags and comments removed (script/style with their
// content), entities decoded, whitespace collapsed.
std::string HtmlToPlainText(std::string_view html);

// Escapes & < > " so plain text can be stored where HTML is expected.
std::string EscapeHtml(std::string_view text);

// Length of the valid UTF-8 sequence starting at text[i] (1-4), or 0 when none starts there.
size_t Utf8SequenceLength(std::string_view text, size_t i);

// Valid UTF-8 with invalid bytes replaced by U+FFFD and the C0 control characters XML forbids
// (all but tab, LF, CR) and NUL removed.
std::string SanitizeUtf8(std::string_view text);

// True when SanitizeUtf8 would change `text`; lets callers skip the copy on clean input.
bool NeedsSanitizing(std::string_view text);

}  // namespace feedcrawl
