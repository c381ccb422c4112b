// `feedcrawl version`: the release and the wire protocol version this build speaks.
#pragma once

#include <string>

namespace feedcrawl::cli {

std::string VersionText();  // "feedcrawl 0.1.0 (protocol 1)"

}  // namespace feedcrawl::cli
