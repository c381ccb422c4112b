// Parser throughput (bytes/s and items/s) against pugixml's raw parse of the same bytes: the
// normalising parser should stay within a small factor of the XML parse it builds on. Inputs:
// hand-written synthetic feeds, every file of the test corpus, and large feeds from the test feed
// generator (when built with the tests). Run: feedcrawl_parser_bench; figures are recorded in
// docs/PERFORMANCE.md.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <pugixml.hpp>

#include "processor/dates.h"
#include "processor/parser.h"
#include "processor/xml_repair.h"
#ifdef FEEDCRAWL_HAVE_FEEDGEN
#include "tests/gen/feed_generator.h"
#endif

namespace feedcrawl {
namespace {

// A typical blog feed: `items` entries with HTML summaries, dates, categories and an enclosure.
std::string SyntheticRss(int items) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" "
      "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
      "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">\n<channel>\n"
      "<title>Benchmark feed</title><link>https://example.com/</link>"
      "<description>Synthetic</description><language>en</language>\n";
  for (int i = 0; i < items; ++i) {
    std::string n = std::to_string(i);
    out += "<item><title>Post number " + n + " &amp; friends</title>"
           "<link>https://example.com/posts/" + n + "</link>"
           "<guid isPermaLink=\"false\">post-" + n + "</guid>"
           "<pubDate>Sat, 07 Sep 2002 00:00:01 GMT</pubDate><dc:creator>Author " + n +
           "</dc:creator><category>news</category><category>tech</category>"
           "<description>&lt;p&gt;Summary of post " + n +
           " with &lt;a href=\"/x\"&gt;a link&lt;/a&gt; and some more words to make it a "
           "realistic length for a feed summary.&lt;/p&gt;</description>"
           "<content:encoded><![CDATA[<p>Full text of post " + n +
           ". Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
           "incididunt ut labore et dolore magna aliqua.</p>]]></content:encoded>"
           "<enclosure url=\"/media/" + n + ".mp3\" type=\"audio/mpeg\" length=\"12345\"/>"
           "</item>\n";
  }
  out += "</channel></rss>\n";
  return out;
}

std::string SyntheticAtom(int entries) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
      "<title>Benchmark</title><link href=\"https://example.com/\"/>"
      "<updated>2003-12-13T18:30:02Z</updated><id>urn:feed</id>\n";
  for (int i = 0; i < entries; ++i) {
    std::string n = std::to_string(i);
    out += "<entry><title type=\"html\">Entry " + n + " &lt;b&gt;bold&lt;/b&gt;</title>"
           "<link rel=\"alternate\" href=\"/entries/" + n + "\"/><id>urn:entry:" + n + "</id>"
           "<published>2003-12-13T08:29:29-04:00</published>"
           "<updated>2003-12-13T18:30:02Z</updated><author><name>Writer</name></author>"
           "<summary>Plain summary " + n + "</summary>"
           "<content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Entry <em>" + n +
           "</em> body with a few words.</p></div></content><category term=\"t\"/></entry>\n";
  }
  out += "</feed>\n";
  return out;
}

// A set of documents parsed once per iteration, so one figure covers a whole corpus.
using Documents = std::vector<std::string>;

size_t TotalBytes(const Documents& docs) {
  size_t total = 0;
  for (const std::string& doc : docs) total += doc.size();
  return total;
}

ParseOptions BenchOptions() {
  ParseOptions options;
  options.url = "https://example.com/feed.xml";
  return options;
}

void RunRawPugixmlDocs(benchmark::State& state, const Documents& docs) {
  for (auto _ : state) {
    for (const std::string& doc : docs) {
      pugi::xml_document xml;
      pugi::xml_parse_result result =
          xml.load_buffer(doc.data(), doc.size(), pugi::parse_default, pugi::encoding_utf8);
      benchmark::DoNotOptimize(result);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * TotalBytes(docs)));
}

void RunParseFeedDocs(benchmark::State& state, const Documents& docs) {
  ParseOptions options = BenchOptions();
  size_t items = 0;
  for (const std::string& doc : docs) items += ParseFeed(doc, options).items.size();
  for (auto _ : state) {
    for (const std::string& doc : docs) {
      ParsedFeed parsed = ParseFeed(doc, options);
      benchmark::DoNotOptimize(parsed);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * TotalBytes(docs)));
  state.counters["items"] = static_cast<double>(items);
  state.counters["items_per_second"] = benchmark::Counter(
      static_cast<double>(items) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// A changed feed as a processor reads it when the feed was stored before: keys and dates of
// every item first, then the newest item (the first) whole, the others being known.
void RunParseFeedKeysDocs(benchmark::State& state, const Documents& docs) {
  ParseOptions options = BenchOptions();
  const std::vector<size_t> newest = {0};
  for (auto _ : state) {
    for (const std::string& doc : docs) {
      FeedDocument document = ParseFeedKeys(doc, options);
      std::vector<Item> read = document.ReadWhole(newest);
      benchmark::DoNotOptimize(read);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * TotalBytes(docs)));
}

// The reference pass alone (named entities to numeric ones, stray '&' escaped), which every
// XML document goes through before pugixml parses it.
void RunRewriteReferencesDocs(benchmark::State& state, const Documents& docs) {
  std::string out;
  for (auto _ : state) {
    for (const std::string& doc : docs) {
      size_t stray = 0;
      bool changed = RewriteReferences(doc, out, &stray);
      benchmark::DoNotOptimize(changed);
      benchmark::DoNotOptimize(stray);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * TotalBytes(docs)));
}

void RunRawPugixml(benchmark::State& state, const std::string& doc) {
  RunRawPugixmlDocs(state, Documents{doc});
}

void RunParseFeed(benchmark::State& state, const std::string& doc) {
  RunParseFeedDocs(state, Documents{doc});
}

void BM_PugixmlRaw_Rss(benchmark::State& state) {
  RunRawPugixml(state, SyntheticRss(static_cast<int>(state.range(0))));
}
void BM_ParseFeed_Rss(benchmark::State& state) {
  RunParseFeed(state, SyntheticRss(static_cast<int>(state.range(0))));
}
void BM_PugixmlRaw_Atom(benchmark::State& state) {
  RunRawPugixml(state, SyntheticAtom(static_cast<int>(state.range(0))));
}
void BM_ParseFeed_Atom(benchmark::State& state) {
  RunParseFeed(state, SyntheticAtom(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_PugixmlRaw_Rss)->Arg(20)->Arg(500);
BENCHMARK(BM_ParseFeed_Rss)->Arg(20)->Arg(500);
BENCHMARK(BM_PugixmlRaw_Atom)->Arg(20)->Arg(500);
BENCHMARK(BM_ParseFeed_Atom)->Arg(20)->Arg(500);

// A real capture (Cloudflare blog, 27 KB), when the source tree is at hand.
std::string ReadCorpusFile(const char* relative) {
  std::ifstream in(std::string(FEEDCRAWL_SOURCE_DIR) + "/tests/data/corpus/" + relative,
                   std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

constexpr char kCloudflare[] = "feed-rs/feed-rs/fixture/rss2/rss_2.0_cloudflare.xml";

void BM_PugixmlRaw_Cloudflare(benchmark::State& state) {
  RunRawPugixml(state, ReadCorpusFile(kCloudflare));
}
void BM_ParseFeed_Cloudflare(benchmark::State& state) {
  RunParseFeed(state, ReadCorpusFile(kCloudflare));
}
BENCHMARK(BM_PugixmlRaw_Cloudflare);
BENCHMARK(BM_ParseFeed_Cloudflare);

void BM_ParseRfc822Date(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ParseFeedDate("Sat, 07 Sep 2002 00:00:01 GMT"));
}
void BM_ParseIso8601Date(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ParseFeedDate("2002-09-07T00:00:01.250+02:00"));
}
BENCHMARK(BM_ParseRfc822Date);
BENCHMARK(BM_ParseIso8601Date);

// Every file of tests/data/corpus (RSS 0.9x-2.0, RDF, Atom 0.3/1.0, JSON Feed, broken and
// non-feed documents), in a fixed order.
Documents CorpusDocuments() {
  namespace fs = std::filesystem;
  std::vector<fs::path> paths;
  fs::path root = fs::path(FEEDCRAWL_SOURCE_DIR) / "tests/data/corpus";
  std::error_code error;
  for (fs::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    std::string ext = it->path().extension().string();
    if (it->is_regular_file() && (ext == ".xml" || ext == ".rss" || ext == ".atom" ||
                                  ext == ".rdf" || ext == ".json")) {
      if (it->path().filename().string().find(".serde.") != std::string::npos) continue;
      paths.push_back(it->path());
    }
  }
  std::sort(paths.begin(), paths.end());
  Documents docs;
  for (const fs::path& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    docs.push_back(out.str());
  }
  return docs;
}

// XML documents only, for the raw pugixml baseline.
Documents XmlOnly(const Documents& docs) {
  Documents xml;
  for (const std::string& doc : docs) {
    size_t start = doc.find_first_not_of(" \t\r\n");
    if (start != std::string::npos && doc[start] != '{' && doc[start] != '[') xml.push_back(doc);
  }
  return xml;
}

void RegisterDocumentBenchmarks(const std::string& name, const Documents& docs) {
  benchmark::RegisterBenchmark(("BM_PugixmlRaw_" + name).c_str(),
                               [docs](benchmark::State& state) { RunRawPugixmlDocs(state, docs); })
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("BM_ParseFeed_" + name).c_str(),
                               [docs](benchmark::State& state) { RunParseFeedDocs(state, docs); })
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("BM_RewriteReferences_" + name).c_str(),
                               [docs](benchmark::State& state) {
                                 RunRewriteReferencesDocs(state, docs);
                               })
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark(("BM_ParseFeedKeys_" + name).c_str(),
                               [docs](benchmark::State& state) {
                                 RunParseFeedKeysDocs(state, docs);
                               })
      ->Unit(benchmark::kMicrosecond);
}

void RegisterAll() {
  Documents corpus = CorpusDocuments();
  if (!corpus.empty()) {
    RegisterDocumentBenchmarks("CorpusXml", XmlOnly(corpus));
    benchmark::RegisterBenchmark("BM_ParseFeed_CorpusAll", [corpus](benchmark::State& state) {
      RunParseFeedDocs(state, corpus);
    })->Unit(benchmark::kMicrosecond);
  }
#ifdef FEEDCRAWL_HAVE_FEEDGEN
  // Large feeds from the test generator: 2,000 items of ~1.5 KB each, one per format.
  GenOptions options;
  options.feeds = 3;
  options.items_per_feed = 2000;
  options.item_bytes = 1500;
  for (size_t index = 0; index < 3; ++index) {
    std::string document;
    GeneratedFeed feed = GenerateFeed(options, index, &document);
    RegisterDocumentBenchmarks("Generated_" + feed.format, Documents{document});
  }
  // Feeds as scripts/bench serves them: 20 items of ~1.1 KB (~36 KB), the three formats mixed.
  GenOptions bench_options;
  bench_options.feeds = 30;
  bench_options.items_per_feed = 20;
  bench_options.item_bytes = 1100;
  Documents bench_feeds;
  for (size_t index = 0; index < bench_options.feeds; ++index) {
    std::string document;
    GenerateFeed(bench_options, index, &document);
    bench_feeds.push_back(std::move(document));
  }
  RegisterDocumentBenchmarks("BenchFeeds", bench_feeds);
#endif
}

}  // namespace
}  // namespace feedcrawl

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  feedcrawl::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
