// libFuzzer entry point for the feed parser. Beyond "does not crash", it checks the parser's
// output contract: every string valid UTF-8 (the JSON serialiser throws otherwise), keys unique,
// and the two-step read (ParseFeedKeys, then ReadWhole) giving what ParseFeed gives.
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <set>
#include <string>
#include <string_view>
#include <vector>

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
  // A processor asks the store about the first step's keys and stores what the second reads.
  feedcrawl::FeedDocument document = feedcrawl::ParseFeedKeys(body, options);
  const feedcrawl::ParsedFeed& first = document.feed();
  if (first.format != parsed.format || first.error != parsed.error || first.bozo != parsed.bozo ||
      first.items.size() != parsed.items.size()) {
    __builtin_trap();
  }
  for (size_t i = 0; i < parsed.items.size(); ++i) {
    const feedcrawl::Item& item = parsed.items[i];
    if (first.items[i].key != item.key || first.items[i].published_ms != item.published_ms ||
        first.items[i].updated_ms != item.updated_ms) {
      __builtin_trap();
    }
  }
  std::vector<size_t> every(parsed.items.size());
  std::iota(every.begin(), every.end(), size_t{0});
  const std::vector<feedcrawl::Item> whole = document.ReadWhole(every);
  if (whole.size() != parsed.items.size()) __builtin_trap();
  for (size_t i = 0; i < whole.size(); ++i) {
    if (feedcrawl::ItemToJson(whole[i]) != feedcrawl::ItemToJson(parsed.items[i])) {
      __builtin_trap();
    }
  }
  return 0;
}
