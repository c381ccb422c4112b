// feedcrawl-xmlrate: how fast pugixml alone parses a set of feed files on one core, the floor any
// XML feed parser built on it stands on. scripts/bench --reference runs it over the feeds it
// serves, so that the machine can be read against the performance issue's reference point
// ("pugixml alone walks these documents at about 1 GB/s, 30,000 documents/s on one core"). Each
// document is parsed the plain way, `load_buffer` with pugixml's default options (it copies the
// bytes into its own buffer first), round after round until --seconds of this thread's CPU time
// have passed. Prints one JSON line:
//   {"documents":1000,"mb":36.1,"rounds":57,"cpu_s":2.01,"documents_per_s":28358,
//    "mb_per_s":1024.3}
// mb is the documents' size (10^6 bytes), the rates are per second of CPU time on one core.
#include <CLI/CLI.hpp>
#include <pugixml.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "cli/file_util.h"

namespace {

double ThreadCpuSeconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"How fast pugixml alone parses feed files on one core"};
  std::string root;
  std::string paths_file;
  size_t max_documents = 1000;
  double seconds = 2.0;
  app.add_option("--root", root, "Folder the paths are relative to")->required();
  app.add_option("--paths", paths_file, "File of document paths, one per line")->required();
  app.add_option("--max-documents", max_documents, "Parse only the first N paths")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--seconds", seconds, "CPU time to parse for, at least one round")
      ->check(CLI::Range(0.1, 600.0));
  CLI11_PARSE(app, argc, argv);

  std::ifstream list(paths_file);
  if (!list) {
    std::fprintf(stderr, "feedcrawl-xmlrate: cannot read %s\n", paths_file.c_str());
    return 1;
  }
  std::vector<std::string> documents;
  size_t bytes = 0;
  for (std::string line; documents.size() < max_documents && std::getline(list, line);) {
    if (line.empty()) continue;
    feedcrawl::StatusOr<std::string> text = feedcrawl::cli::ReadFileToString(root + "/" + line);
    if (!text.ok()) {
      std::fprintf(stderr, "feedcrawl-xmlrate: %s\n", text.status().ToString().c_str());
      return 1;
    }
    bytes += text->size();
    documents.push_back(std::move(*text));
  }
  if (documents.empty()) {
    std::fprintf(stderr, "feedcrawl-xmlrate: no documents listed in %s\n", paths_file.c_str());
    return 1;
  }

  // A document pugixml cannot parse would make the figure a rate of failures: checked once,
  // before the clock starts.
  for (size_t i = 0; i < documents.size(); ++i) {
    pugi::xml_document doc;
    pugi::xml_parse_result result = doc.load_buffer(documents[i].data(), documents[i].size());
    if (!result) {
      std::fprintf(stderr, "feedcrawl-xmlrate: document %zu does not parse: %s at offset %lld\n",
                   i + 1, result.description(), static_cast<long long>(result.offset));
      return 1;
    }
  }

  size_t rounds = 0;
  size_t parsed = 0;
  const double start = ThreadCpuSeconds();
  double elapsed = 0;
  do {
    for (const std::string& text : documents) {
      pugi::xml_document doc;
      parsed += doc.load_buffer(text.data(), text.size()) ? 1 : 0;
    }
    ++rounds;
    elapsed = ThreadCpuSeconds() - start;
  } while (elapsed < seconds);
  if (parsed != rounds * documents.size()) {
    std::fprintf(stderr, "feedcrawl-xmlrate: a document stopped parsing\n");
    return 1;
  }

  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf("{\"documents\":%zu,\"mb\":%.1f,\"rounds\":%zu,\"cpu_s\":%.2f,"
              "\"documents_per_s\":%.0f,\"mb_per_s\":%.1f}\n",
              documents.size(), mb, rounds, elapsed,
              static_cast<double>(parsed) / elapsed, mb * static_cast<double>(rounds) / elapsed);
  return 0;
}
