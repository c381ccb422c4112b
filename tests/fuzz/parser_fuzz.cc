// libFuzzer entry point for the feed parser. Beyond "does not crash", it checks the parser's
// output contract: every string valid UTF-8 (the JSON serialiser throws otherwise), keys unique.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "processor/parser.h"

namespace {

// The first byte picks a Content-Type so charset handling is fuzzed too.
constexpr const char* kContentTypes[] = {"", "application/rss+xml; charset=utf-8",
                                         "text/xml; charset=iso-8859-1", "text/xml; charset=shift_jis",
                                         "application/atom+xml; charset=utf-16",
                                         "text/xml; charset=bogus"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  feedcrawl::ParseOptions options;
  options.url = "http://example.com/dir/feed.xml";
  options.content_type = kContentTypes[data[0] % (sizeof(kContentTypes) / sizeof(kContentTypes[0]))];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  feedcrawl::ParsedFeed parsed = feedcrawl::ParseFeed(body, options);
  // dump() throws on invalid UTF-8, which the fuzzer reports as a crash.
  std::string json = feedcrawl::ParsedFeedToJson(parsed).dump();
  std::set<std::string> keys;
  for (const feedcrawl::Item& item : parsed.items) {
    if (item.key.empty() || !keys.insert(item.key).second) __builtin_trap();
  }
  if (parsed.format.empty() && (!parsed.items.empty() || parsed.error.empty())) __builtin_trap();
  return 0;
}
