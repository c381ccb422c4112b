// Making real-world XML parseable: references pugixml would mishandle are rewritten before
// parsing (HTML named entities, stray '&', numeric references to characters XML forbids), and
// after a parse error the text is repaired at the error offset (stray '<', mismatched end tags,
// unquoted, unterminated or unspaced attributes) so the parse can be retried. Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <pugixml.hpp>

namespace feedcrawl {

// Rewrites references outside CDATA sections, comments and declarations: HTML named entities
// become numeric references, a '&' that starts no reference becomes "&amp;", and numeric
// references to NUL, forbidden control characters, surrogates or values past U+10FFFF become
// U+FFFD's. The last are rewritten inside CDATA sections, comments and declarations too: this
// pass does not know attribute quotes, so what it takes for one may be text. Returns false,
// leaving `out` untouched, when nothing needs rewriting. `stray_offset` (when given) receives the
// offset of the first stray '&', or npos when there was none: that one makes the document bozo.
bool RewriteReferences(std::string_view text, std::string& out, size_t* stray_offset = nullptr);

// True when the document's DOCTYPE has an internal subset declaring entities. They are never
// expanded (that is how entity bombs and external entities are refused), so their references stay
// as written and the document is reported as bozo.
bool DeclaresEntities(std::string_view text);

// True when non-whitespace content follows the root element's end tag (pugixml keeps extra
// top-level elements and text without reporting an error).
bool HasContentAfterRoot(const pugi::xml_document& doc);

// Edits `text` to get past the error pugixml reported, then rewrites its references again (a
// repair can turn markup into text); false when no repair applies (e.g. the document is merely
// truncated, which the partial tree already covers).
bool RepairAtError(std::string& text, const pugi::xml_parse_result& result);

// After a parse that failed for good: pugixml keeps the partial tree, and the attribute value or
// CDATA section it was reading when it stopped runs to the end of `buffer` (the text it parsed),
// part of it overwritten as references and line ends were converted in place, so it may even be
// invalid UTF-8. That value is removed from the tree; true when there was one.
bool DropUnfinishedValue(pugi::xml_document& doc, const char* buffer,
                         const pugi::xml_parse_result& result);

// True when the document is an HTML page (<!DOCTYPE html> or an <html> root) rather than XML.
bool LooksLikeHtml(std::string_view text);

// True when the prolog declares the Netscape RSS 0.91 DTD.
bool HasNetscapeDoctype(std::string_view text);

}  // namespace feedcrawl
