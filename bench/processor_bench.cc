// The processor's own work per feed, without ZeroMQ and Redis: parsing the body and writing
// each item's JSON, on feeds shaped like scripts/bench's (20 items of ~1,100 bytes, ~36 KB, RSS
// 2.0, Atom 1.0 and RSS 1.0 in turn, from the test feed generator). The JSON cases compare the
// stored form written through nlohmann::json (ItemToJson().dump()) with AppendItemJson; the
// item-compression cases time the LZ4 frame of each item's JSON (--item-compression lz4) and
// reading it back, and report the stored bytes against the JSON's.
// Run: feedcrawl_processor_bench; figures are recorded in docs/PERFORMANCE.md.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/feed_model.h"
#include "common/item_codec.h"
#include "processor/parser.h"
#include "tests/gen/feed_generator.h"

namespace feedcrawl {
namespace {

struct Corpus {
  std::vector<std::string> documents;
  std::vector<ParsedFeed> parsed;
  size_t bytes = 0;
  size_t items = 0;
};

constexpr size_t kFeeds = 30;

const Corpus& BenchCorpus() {
  static const Corpus corpus = [] {
    Corpus c;
    GenOptions options;
    options.feeds = kFeeds;
    options.items_per_feed = 20;
    options.item_bytes = 1100;
    options.base_url = "http://127.0.0.1:8080";
    for (size_t i = 0; i < kFeeds; ++i) {
      std::string document;
      GeneratedFeed feed = GenerateFeed(options, i, &document);
      ParseOptions parse;
      parse.url = options.base_url + "/" + feed.path;
      c.parsed.push_back(ParseFeed(document, parse));
      c.items += c.parsed.back().items.size();
      c.bytes += document.size();
      c.documents.push_back(std::move(document));
    }
    return c;
  }();
  return corpus;
}

void CountItems(benchmark::State& state, const Corpus& corpus) {
  state.counters["items_per_second"] = benchmark::Counter(
      static_cast<double>(corpus.items) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
  state.counters["feeds_per_second"] = benchmark::Counter(
      static_cast<double>(kFeeds) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

void BM_ItemJson_Nlohmann(benchmark::State& state) {
  const Corpus& corpus = BenchCorpus();
  for (auto _ : state) {
    for (const ParsedFeed& feed : corpus.parsed) {
      for (const Item& item : feed.items) {
        std::string json = ItemToJson(item).dump();
        benchmark::DoNotOptimize(json);
      }
    }
  }
  CountItems(state, corpus);
}
BENCHMARK(BM_ItemJson_Nlohmann)->Unit(benchmark::kMicrosecond);

void BM_ItemJson_Writer(benchmark::State& state) {
  const Corpus& corpus = BenchCorpus();
  for (auto _ : state) {
    for (const ParsedFeed& feed : corpus.parsed) {
      for (const Item& item : feed.items) {
        std::string json;
        AppendItemJson(item, &json);
        benchmark::DoNotOptimize(json);
      }
    }
  }
  CountItems(state, corpus);
}
BENCHMARK(BM_ItemJson_Writer)->Unit(benchmark::kMicrosecond);

// Every item's JSON, as the processor writes it.
const std::vector<std::string>& BenchJson() {
  static const std::vector<std::string> json = [] {
    std::vector<std::string> out;
    for (const ParsedFeed& feed : BenchCorpus().parsed) {
      for (const Item& item : feed.items) AppendItemJson(item, &out.emplace_back());
    }
    return out;
  }();
  return json;
}

void BM_EncodeStoredItem(benchmark::State& state) {
  const ItemCompression compression = static_cast<ItemCompression>(state.range(0));
  const std::vector<std::string>& items = BenchJson();
  std::string stored;
  size_t json_bytes = 0;
  size_t stored_bytes = 0;
  for (auto _ : state) {
    json_bytes = 0;
    stored_bytes = 0;
    for (const std::string& json : items) {
      stored.clear();
      AppendStoredItem(compression, json, &stored);
      json_bytes += json.size();
      stored_bytes += stored.size();
      benchmark::DoNotOptimize(stored);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json_bytes));
  state.counters["stored_share"] =
      static_cast<double>(stored_bytes) / static_cast<double>(json_bytes);
  CountItems(state, BenchCorpus());
}
BENCHMARK(BM_EncodeStoredItem)
    ->ArgName("lz4")
    ->Arg(static_cast<int>(ItemCompression::kNone))
    ->Arg(static_cast<int>(ItemCompression::kLz4))
    ->Unit(benchmark::kMicrosecond);

void BM_DecodeStoredItem(benchmark::State& state) {
  std::vector<std::string> frames;
  size_t json_bytes = 0;
  for (const std::string& json : BenchJson()) {
    AppendStoredItem(ItemCompression::kLz4, json, &frames.emplace_back());
    json_bytes += json.size();
  }
  for (auto _ : state) {
    for (const std::string& frame : frames) {
      StatusOr<std::string> json = DecodeStoredItem(frame);
      benchmark::DoNotOptimize(json);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json_bytes));
  CountItems(state, BenchCorpus());
}
BENCHMARK(BM_DecodeStoredItem)->Unit(benchmark::kMicrosecond);

// ParseFeed alone, then with the JSON of every item: the processor's CPU per feed.
void BM_ParseFeed(benchmark::State& state) {
  const Corpus& corpus = BenchCorpus();
  ParseOptions options;
  options.url = "http://127.0.0.1:8080/f/00000.xml";
  for (auto _ : state) {
    for (const std::string& document : corpus.documents) {
      ParsedFeed parsed = ParseFeed(document, options);
      benchmark::DoNotOptimize(parsed);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes));
  CountItems(state, corpus);
}
BENCHMARK(BM_ParseFeed)->Unit(benchmark::kMicrosecond);

void BM_ParseFeedAndJson(benchmark::State& state) {
  const Corpus& corpus = BenchCorpus();
  ParseOptions options;
  options.url = "http://127.0.0.1:8080/f/00000.xml";
  for (auto _ : state) {
    for (const std::string& document : corpus.documents) {
      ParsedFeed parsed = ParseFeed(document, options);
      for (const Item& item : parsed.items) {
        std::string json;
        AppendItemJson(item, &json);
        benchmark::DoNotOptimize(json);
      }
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus.bytes));
  CountItems(state, corpus);
}
BENCHMARK(BM_ParseFeedAndJson)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace feedcrawl

BENCHMARK_MAIN();
