// gzip helpers for the test feed server (zlib). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace feedcrawl::testserver {

// One gzip member holding `data`.
StatusOr<std::string> GzipCompress(std::string_view data);

// A gzip member that inflates to exactly `total_bytes`: `prefix` followed by spaces, so the
// inflated body still looks like the start of an XML document. Never holds the inflated body in
// memory; the compressed size is about total_bytes / 1000 and it is built in milliseconds.
StatusOr<std::string> GzipBomb(std::string_view prefix, size_t total_bytes);

}  // namespace feedcrawl::testserver
