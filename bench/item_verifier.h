// ItemVerifier: checks a finished crawl against the generator's ground truth. For each feed of
// the truth it finds the feed by URL in the store and compares the stored items with the
// expected ones: by item key, or, for items the generator left without identity (the parser
// derives an "h:" key for them), by title. The benchmark runs it after the first pass, so its
// throughput figures count only crawls that stored every item exactly once.
//
// Not thread-safe: one verifier per thread (it owns its Store connection).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "common/store.h"
#include "tests/gen/feed_generator.h"

namespace feedcrawl::bench {

struct VerifyCounts {
  uint64_t feeds = 0;            // feeds in the truth
  uint64_t feeds_missing = 0;    // not registered in the store at all
  uint64_t feeds_exact = 0;      // every item there once, nothing else
  uint64_t expected = 0;         // items in the truth
  uint64_t stored = 0;           // items stored for the truth's feeds
  uint64_t matched = 0;          // expected items found
  uint64_t missing = 0;          // expected items not found
  uint64_t duplicated = 0;       // stored again under another key (same identity)
  uint64_t extra = 0;            // stored items that match nothing expected
  uint64_t field_mismatches = 0; // matched items whose stored fields differ from the truth

  // Every expected item stored exactly once and nothing else. Field differences are reported
  // but do not count here: they are the parser's correctness, checked by its own tests.
  bool Exact() const {
    return feeds_missing == 0 && matched == expected && missing == 0 && duplicated == 0 &&
           extra == 0 && stored == expected;
  }
  std::string ToJson() const;
};

class ItemVerifier {
 public:
  // url_by_path gives the URL each feed of the truth was crawled at, by its relative path.
  ItemVerifier(std::unique_ptr<Store> store,
               std::unordered_map<std::string, std::string> url_by_path);

  // Compares one feed and adds to the counts. A non-ok Status is a store failure, not a mismatch.
  Status Check(const GeneratedFeed& feed);
  // Reads a truth.jsonl file line by line (never all of it in memory) and checks every feed.
  Status CheckTruthFile(const std::string& truth_path);

  const VerifyCounts& counts() const { return counts_; }

 private:
  std::unique_ptr<Store> store_;
  std::unordered_map<std::string, std::string> url_by_path_;
  VerifyCounts counts_;
};

// Reads the list of feed URLs a crawl was given (one per line, as `feedcrawl run` reads it) and
// maps each URL's path, without the leading slash, to the URL: what ItemVerifier needs when the
// feeds were served under several host names.
StatusOr<std::unordered_map<std::string, std::string>> ReadUrlsByPath(const std::string& file);

}  // namespace feedcrawl::bench
