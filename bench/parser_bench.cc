// Parser throughput against pugixml's raw parse of the same bytes: the normalising parser should
// stay within a small factor of the XML parse it builds on. Run: feedcrawl_parser_bench.
#include <fstream>
#include <sstream>
#include <string>

#include <benchmark/benchmark.h>
#include <pugixml.hpp>

#include "processor/dates.h"
#include "processor/parser.h"

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

void RunRawPugixml(benchmark::State& state, const std::string& doc) {
  for (auto _ : state) {
    pugi::xml_document xml;
    pugi::xml_parse_result result =
        xml.load_buffer(doc.data(), doc.size(), pugi::parse_default, pugi::encoding_utf8);
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * doc.size()));
}

void RunParseFeed(benchmark::State& state, const std::string& doc) {
  ParseOptions options;
  options.url = "https://example.com/feed.xml";
  for (auto _ : state) {
    ParsedFeed parsed = ParseFeed(doc, options);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * doc.size()));
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

}  // namespace
}  // namespace feedcrawl

BENCHMARK_MAIN();
