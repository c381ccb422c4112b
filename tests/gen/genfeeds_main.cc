// feedcrawl-genfeeds: writes a synthetic feed set for benchmarks and tests: the feeds under
// OUT/f/, their ground truth as OUT/truth.jsonl and their relative paths as OUT/paths.txt.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/gen/feed_generator.h"

int main(int argc, char** argv) {
  feedcrawl::GenOptions options;
  std::string out_dir;
  CLI::App app{"Writes synthetic feeds with their ground truth."};
  app.add_option("--out", out_dir, "Output folder")->required();
  app.add_option("--feeds", options.feeds, "Number of feeds");
  app.add_option("--items", options.items_per_feed, "Items per feed");
  app.add_option("--item-bytes", options.item_bytes, "Approximate bytes of content per item");
  app.add_option("--seed", options.seed, "Seed; the same seed writes the same bytes");
  app.add_option("--advance", options.advance,
                 "Write the feeds as they read N updates later (each added one item at the top "
                 "and dropped the oldest); the truth also lists the dropped items");
  app.add_option("--base-url", options.base_url,
                 "URL the folder will be served at (enables relative links)");
  CLI11_PARSE(app, argc, argv);

  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) {
    std::fprintf(stderr, "feedcrawl-genfeeds: cannot create %s: %s\n", out_dir.c_str(),
                 error.message().c_str());
    return 1;
  }
  std::ofstream truth(out_dir + "/truth.jsonl.tmp", std::ios::binary | std::ios::trunc);
  std::ofstream paths(out_dir + "/paths.txt.tmp", std::ios::binary | std::ios::trunc);
  feedcrawl::Status s =
      feedcrawl::GenerateFeedsTo(options, out_dir, [&](const feedcrawl::GeneratedFeed& feed) {
        truth << feedcrawl::GeneratedFeedToJson(feed).dump() << '\n';
        paths << feed.path << '\n';
        if (!truth || !paths) return feedcrawl::Status::Unavailable("cannot write in " + out_dir);
        return feedcrawl::Status::Ok();
      });
  truth.close();
  paths.close();
  if (s.ok() && (!truth || !paths))
    s = feedcrawl::Status::Unavailable("cannot write in " + out_dir);
  if (s.ok() &&
      (std::rename((out_dir + "/truth.jsonl.tmp").c_str(), (out_dir + "/truth.jsonl").c_str()) !=
           0 ||
       std::rename((out_dir + "/paths.txt.tmp").c_str(), (out_dir + "/paths.txt").c_str()) != 0)) {
    s = feedcrawl::Status::Unavailable("cannot rename the outputs in " + out_dir);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "feedcrawl-genfeeds: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("wrote %zu feeds to %s\n", options.feeds, out_dir.c_str());
  return 0;
}
