// Synthetic feeds with ground truth, for tests and benchmarks. GenerateFeeds writes a mix of
// RSS 2.0, Atom 1.0 and RSS 1.0 documents (non-ASCII text, entities, CDATA, categories,
// enclosures, dates with offsets, items without guid or without any identity) and returns, per
// feed, exactly the items a correct parser outputs. The same options give the same bytes.
//
// Truth conventions (what the parser is expected to do):
//   - RSS 2.0: guid -> id, description -> summary, content:encoded -> content,
//     pubDate -> published_ms, dc:creator -> author, category -> categories, enclosure.
//   - Atom: id -> id, summary/content (type="html") -> summary/content, published/updated,
//     author/name -> author, category@term -> categories, link rel="enclosure" -> enclosures,
//     relative hrefs resolved against the feed URL.
//   - RSS 1.0: rdf:about -> id, description -> summary, content:encoded -> content,
//     dc:date -> published_ms, dc:creator -> author, dc:subject -> categories.
//   - key = id, else the absolute link; items with neither get an empty key in the truth (the
//     parser computes "h:<hash>"), and their titles are unique within the feed.
// Functions are thread-safe; they share no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "common/feed_model.h"
#include "common/status.h"

namespace feedcrawl {

struct GenOptions {
  size_t feeds = 100;
  size_t items_per_feed = 20;
  size_t item_bytes = 1500;  // rough size of one item's content
  uint64_t seed = 1;
  // The feeds as they read `advance` updates later: each update put one new item at the top
  // and dropped the oldest. An item reads the same in every version that lists it.
  size_t advance = 0;
  std::string base_url;  // e.g. http://127.0.0.1:PORT; empty keeps every link absolute
};

struct GeneratedFeed {
  std::string path;         // relative, e.g. "f/00042.xml"
  std::string format;       // "rss20", "atom10" or "rss10", as in ParsedFeed::format
  std::vector<Item> items;  // ground truth, in document order
  // Items of the first version (advance 0) that this version no longer lists: a crawler that
  // read both stored them too.
  std::vector<Item> retired_items;
};

// Relative path of feed `index`: "f/00042.xml".
std::string GeneratedFeedPath(size_t index);

// Builds feed `index` of the set described by `options`: the document and its truth. Depends only
// on (options, index), so any feed of a large set can be rebuilt alone.
GeneratedFeed GenerateFeed(const GenOptions& options, size_t index, std::string* document);

// Writes the feeds under out_dir (creating folders) and returns the ground truth.
StatusOr<std::vector<GeneratedFeed>> GenerateFeeds(const GenOptions& options,
                                                   const std::string& out_dir);

// Same, without keeping the truth in memory: `sink` sees each feed after its file is written.
// A non-ok Status from `sink` stops the run and is returned.
Status GenerateFeedsTo(const GenOptions& options, const std::string& out_dir,
                       const std::function<Status(const GeneratedFeed&)>& sink);

// {"path", "format", "items": [ItemToJson(item), ...], "retired_items": [...] (when any)} and
// back.
nlohmann::json GeneratedFeedToJson(const GeneratedFeed& feed);
GeneratedFeed GeneratedFeedFromJson(const nlohmann::json& json);

// The truth as JSON Lines, one GeneratedFeedToJson object per line.
Status WriteTruthJsonl(const std::vector<GeneratedFeed>& feeds, const std::string& file);
StatusOr<std::vector<GeneratedFeed>> ReadTruthJsonl(const std::string& file);

}  // namespace feedcrawl
