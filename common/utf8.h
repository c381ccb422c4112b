// UTF-8 well-formedness, shared by the parser (is a decoded document clean?) and the item JSON
// writer (may a string be copied without looking at its non-ASCII bytes?).
#pragma once

#include <string_view>

namespace feedcrawl {

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points
// past U+10FFFF). Checked with simdjson's validator, which picks the widest vector instructions
// the CPU has at run time (several GB/s); a document of tens of KB takes a few microseconds.
bool IsValidUtf8(std::string_view text);

}  // namespace feedcrawl
