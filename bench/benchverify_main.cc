// feedcrawl-benchverify: compares what a crawl stored with the ground truth written by
// feedcrawl-genfeeds and prints the counts as one JSON line. Exits 0 only when every expected
// item is stored exactly once and nothing else is, 1 when not, 2 when it cannot check at all.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench/item_verifier.h"
#include "common/store.h"

int main(int argc, char** argv) {
  std::string redis_url;
  std::string truth_path;
  std::string urls_path;
  std::string prefix = "fc:";
  CLI::App app{"Checks the items of a finished crawl against the generator's ground truth."};
  app.add_option("--redis", redis_url, "Redis URL (redis://... or unix://...)")->required();
  app.add_option("--truth", truth_path, "truth.jsonl written by feedcrawl-genfeeds")->required();
  app.add_option("--urls", urls_path, "the feed list the crawl was given (one URL per line)")
      ->required();
  app.add_option("--prefix", prefix, "Prefix of every Redis key");
  CLI11_PARSE(app, argc, argv);

  feedcrawl::StatusOr<std::unique_ptr<feedcrawl::Store>> store =
      feedcrawl::Store::Open(redis_url, prefix);
  if (!store.ok()) {
    std::fprintf(stderr, "feedcrawl-benchverify: %s\n", store.status().ToString().c_str());
    return 2;
  }
  auto urls = feedcrawl::bench::ReadUrlsByPath(urls_path);
  if (!urls.ok()) {
    std::fprintf(stderr, "feedcrawl-benchverify: %s\n", urls.status().ToString().c_str());
    return 2;
  }
  feedcrawl::bench::ItemVerifier verifier(std::move(*store), std::move(*urls));
  feedcrawl::Status s = verifier.CheckTruthFile(truth_path);
  if (!s.ok()) {
    std::fprintf(stderr, "feedcrawl-benchverify: %s\n", s.ToString().c_str());
    return 2;
  }
  std::printf("%s\n", verifier.counts().ToJson().c_str());
  return verifier.counts().Exact() ? 0 : 1;
}
