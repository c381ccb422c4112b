// Reads a JSON Feed 1.0/1.1 document (https://jsonfeed.org/version/1.1) into the normalised
// model, with nlohmann::json. Exceptions of the JSON library stay inside this module. Stateless;
// thread-safe.
#pragma once

#include <string_view>

#include "common/feed_model.h"

namespace feedcrawl {

// Fills `out` from the UTF-8 `text`. Returns false with out.error set (and out.format empty) when
// the text is not valid JSON or not a JSON Feed. Relative URLs resolve against `url`.
bool ReadJsonFeed(std::string_view text, std::string_view url, ParsedFeed& out);

}  // namespace feedcrawl
