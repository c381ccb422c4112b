// scripts/bench and scripts/bench-compare, run small against the real nginx and redis-server
// they start for themselves: the benchmark crawls exactly, prints every figure its docs name,
// and stops everything it started; the comparison alternates its two variants, summarises them,
// and fails when a run fails. Figures are never asserted here, only that they are reported.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/local_redis.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

using testing::ExitStatus;
using testing::ReadFile;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

constexpr int kTimeoutMs = 300'000;

std::string BuildDir() {
  const std::string bin = FEEDCRAWL_BIN_DIR;
  return bin.substr(0, bin.rfind('/'));
}

std::string OrEmpty(const StatusOr<std::string>& text) { return text.ok() ? *text : ""; }

// The names in `dir` (none when it cannot be read).
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (std::filesystem::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    names.push_back(it->path().filename().string());
  }
  return names;
}

struct Finished {
  ExitStatus exit;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs scripts/<script> to its end. Its temporary files, and so its servers' working folders
// and configuration, go under `tmp`.
Finished RunScript(const std::string& script, std::vector<std::string> args, const TempDir& tmp) {
  SubprocessOptions options;
  options.capture_stdout = true;
  options.stderr_path = tmp.File(script + ".stderr");
  options.env = {{"FEEDCRAWL_BUILD_DIR", BuildDir()}, {"TMPDIR", tmp.path()}};
  args.insert(args.begin(), std::string(FEEDCRAWL_SOURCE_DIR) + "/scripts/" + script);
  Finished finished;
  auto child = Subprocess::Start("bash", args, options);
  EXPECT_OK(child.status());
  if (!child.ok()) return finished;
  auto out = (*child)->ReadAll(kTimeoutMs);
  EXPECT_TRUE(out.ok()) << script << " did not finish: " << out.status().ToString();
  if (out.ok()) finished.out = *out;
  auto exit = (*child)->Wait(kTimeoutMs);
  EXPECT_OK(exit.status());
  if (exit.ok()) finished.exit = *exit;
  finished.err = OrEmpty(ReadFile(options.stderr_path));
  return finished;
}

// Processes whose command line or working folder lies under `dir`: nginx names its prefix and
// configuration there, redis-server works in its folder there.
std::vector<std::string> ProcessesUnder(const std::string& dir) {
  std::vector<std::string> found;
  for (const std::string& pid : Entries("/proc")) {
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = OrEmpty(ReadFile("/proc/" + pid + "/cmdline"));
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    std::error_code error;
    const std::string where = std::filesystem::read_symlink("/proc/" + pid + "/cwd", error);
    if (cmdline.find(dir) != std::string::npos || where.rfind(dir, 0) == 0) {
      found.push_back(pid + ": " + cmdline + " (in " + where + ")");
    }
  }
  return found;
}

nlohmann::json ParseLine(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

TEST(BenchScriptTest, CrawlsExactlyReportsEveryFigureAndStopsWhatItStarted) {
  TempDir tmp;
  Finished run = RunScript("bench", {"--feeds", "300", "--items", "4", "--item-bytes", "300"}, tmp);
  ASSERT_TRUE(run.exit.Success()) << run.exit.ToString() << "\n" << run.err;
  // One JSON line on stdout, and nothing else.
  ASSERT_EQ(run.out.find('\n'), run.out.size() - 1) << run.out;
  nlohmann::json result = ParseLine(run.out);
  ASSERT_TRUE(result.is_object()) << run.out;

  EXPECT_EQ(result["exact"], true);
  EXPECT_EQ(result["feeds"], 300);
  EXPECT_EQ(result["items"], 1200);
  EXPECT_EQ(result["verify"]["matched"], 1200);
  EXPECT_EQ(result["verify"]["stored"], 1200);
  EXPECT_EQ(result["second_pass_not_modified"], 300);
  EXPECT_EQ(result["second_pass_new_items"], 0);
  EXPECT_EQ(result["third_pass_new_items"], 300);
  EXPECT_EQ(result["third_pass_verify"]["matched"], 1500);  // 1,200 first, 300 new
  for (const char* figure : {"seconds", "feeds_per_s", "items_per_s", "mb_per_s",
                             "second_pass_seconds", "third_pass_seconds"}) {
    ASSERT_TRUE(result[figure].is_number()) << figure;
    EXPECT_GT(result[figure].get<double>(), 0) << figure;
  }
  for (const char* latency : {"job_latency", "second_pass_job_latency", "third_pass_job_latency"}) {
    EXPECT_LE(result[latency]["p50_ms"].get<double>(), result[latency]["p99_ms"].get<double>())
        << latency;
  }
  for (const char* role : {"coordinator", "fetcher", "processor", "redis", "nginx"}) {
    const nlohmann::json& figures = result["roles"][role];
    ASSERT_TRUE(figures.is_object()) << role;
    EXPECT_GE(figures["cpu_s"].get<double>(), 0) << role;
    EXPECT_GT(figures["peak_rss_mb"].get<double>(), 0) << role << ": " << result["roles"].dump();
  }
  // The roles' CPU time is what the kernel counted to each process's end: fetching, parsing
  // and storing 300 feeds takes each of these roles more than the 10 ms the JSON resolves.
  for (const char* role : {"fetcher", "processor"}) {
    EXPECT_GT(result["roles"][role]["cpu_s"].get<double>(), 0) << role << ": "
                                                                << result["roles"].dump();
  }
  // Each process is counted under its own role.
  for (const char* role : {"cli", "coordinator", "fetcher"}) {
    EXPECT_EQ(result["roles"][role]["processes"], 1) << role << ": " << result["roles"].dump();
  }
  EXPECT_GE(result["roles"]["processor"]["processes"].get<int>(), 1);
  EXPECT_TRUE(result["floor"].is_null()) << "measured without --floor";
  EXPECT_TRUE(result["reference"].is_null()) << "measured without --reference";
  EXPECT_TRUE(result["classic"].is_null()) << "measured without --classic";
  EXPECT_TRUE(result["node"].is_null()) << "measured without --node";
  EXPECT_EQ(result["config"]["redis_pages"], "default");
  EXPECT_EQ(result["config"]["redis_config"], "");
  EXPECT_EQ(result["config"]["cpu_scheduling"], "batch");
  EXPECT_EQ(result["config"]["item_compression"], "none");
  // What the machine charged for fresh memory: a fault costs more than nothing either way.
  EXPECT_GT(result["machine"]["fresh_4k_page_us"].get<double>(), 0) << result["machine"].dump();
  EXPECT_GT(result["machine"]["fresh_2m_page_us"].get<double>(), 0) << result["machine"].dump();

  // nginx, redis-server and the crawl are gone, and so is their work folder: only the
  // script's own stderr is left.
  EXPECT_EQ(ProcessesUnder(tmp.path()), std::vector<std::string>());
  EXPECT_EQ(Entries(tmp.path()), std::vector<std::string>{"bench.stderr"});
}

// Run on huge pages and with Redis's own limit for compact sorted sets, so that
// --redis-huge-pages and --redis-config start both redis-servers and the crawl stays exact; the
// items are stored as LZ4 frames, which the verification reads back exactly. --reference,
// --classic and --node in the same run measure nginx and pugixml alone on the feeds it served,
// and the classic Python design and the Node.js one crawling them.
TEST(BenchScriptTest, FloorAndReferencePointsAreMeasuredOnTheSameFeedsAndStopped) {
  TempDir tmp;
  Finished run = RunScript("bench",
                           {"--feeds", "200", "--items", "3", "--item-bytes", "200", "--floor",
                            "--reference", "--classic", "--node", "--server-rate", "4m",
                            "--redis-huge-pages", "--redis-config", "zset-max-listpack-value=64",
                            "--cpu-scheduling", "inherit", "--item-compression", "lz4"},
                           tmp);
  ASSERT_TRUE(run.exit.Success()) << run.exit.ToString() << "\n" << run.err;
  nlohmann::json result = ParseLine(run.out);
  ASSERT_TRUE(result.is_object()) << run.out;
  EXPECT_EQ(result["exact"], true);
  EXPECT_EQ(result["config"]["redis_pages"], "huge");
  EXPECT_EQ(result["config"]["redis_config"], "zset-max-listpack-value=64");
  EXPECT_EQ(result["config"]["cpu_scheduling"], "inherit");
  EXPECT_EQ(result["config"]["item_compression"], "lz4");
  // The crawl's nginx setting, though --reference served wrk without a rate limit.
  EXPECT_EQ(result["config"]["server_rate"], "4m");
  const nlohmann::json& floor = result["floor"];
  ASSERT_TRUE(floor.is_object()) << run.out;
  // Every item the crawl stored (three per feed, then one new per feed) written once more.
  EXPECT_EQ(floor["store"]["feeds"], 200);
  EXPECT_EQ(floor["store"]["items"], 800);
  for (const char* figure : {"seconds", "client_cpu_s", "nginx_cpu_s"}) {
    EXPECT_TRUE(floor["fetch"][figure].is_number()) << figure << ": " << floor.dump();
  }
  EXPECT_GT(floor["fetch"]["seconds"].get<double>(), 0);
  for (const char* figure : {"nginx_cpu_s", "redis_cpu_s", "bound_feeds_per_s",
                             "bound_items_per_s", "first_pass_share_of_bound"}) {
    EXPECT_TRUE(floor[figure].is_number()) << figure << ": " << floor.dump();
  }
  // nginx served wrk the feeds themselves: a wrong path would be a 404, which wrk counts as an
  // error. pugixml parsed every feed (fewer than its 1,000) at least once.
  const nlohmann::json& reference = result["reference"];
  ASSERT_TRUE(reference.is_object()) << run.out;
  EXPECT_GT(reference["nginx"]["requests"].get<double>(), 0) << reference.dump();
  EXPECT_EQ(reference["nginx"]["errors"], 0) << reference.dump();
  EXPECT_GT(reference["nginx"]["requests_per_s"].get<double>(), 0) << reference.dump();
  EXPECT_GT(reference["nginx"]["mb_per_s"].get<double>(), 0) << reference.dump();
  EXPECT_GE(reference["nginx"]["workers"].get<int>(), 1) << reference.dump();
  EXPECT_EQ(reference["pugixml"]["documents"], 200) << reference.dump();
  EXPECT_GE(reference["pugixml"]["rounds"].get<int>(), 1) << reference.dump();
  EXPECT_GT(reference["pugixml"]["documents_per_s"].get<double>(), 0) << reference.dump();
  // The classic design and the Node.js one each fetched every feed and stored each of their
  // items once: three per feed. Their CPU and memory are the process's own, so never 0.
  for (const char* design : {"classic", "node"}) {
    const nlohmann::json& crawl = result[design];
    ASSERT_TRUE(crawl.is_object()) << design << ": " << run.out;
    EXPECT_EQ(crawl["feeds"], 200) << design << ": " << crawl.dump();
    EXPECT_EQ(crawl["ok"], 200) << design << ": " << crawl.dump();
    EXPECT_EQ(crawl["failed"], 0) << design << ": " << crawl.dump();
    EXPECT_EQ(crawl["expected_items"], 600) << design << ": " << crawl.dump();
    EXPECT_EQ(crawl["items"], 600) << design << ": " << crawl.dump();
    for (const char* figure : {"feeds_per_s", "items_per_s", "cpu_s", "peak_rss_mb"}) {
      EXPECT_GT(crawl[figure].get<double>(), 0) << design << " " << figure << ": " << crawl.dump();
    }
  }
  // The floor's own redis-server is gone with the rest.
  EXPECT_EQ(ProcessesUnder(tmp.path()), std::vector<std::string>());
  EXPECT_EQ(Entries(tmp.path()), std::vector<std::string>{"bench.stderr"});
}

// The benchmark's redis-servers are configured like the one `feedcrawl run` starts: its script
// passes every one of those storage settings (a figure measured on other settings would not be
// the crawl's).
TEST(BenchScriptTest, RedisServersHaveTheSettingsOfTheCrawlsServer) {
  ASSERT_OK_AND_ASSIGN(std::string script,
                       ReadFile(std::string(FEEDCRAWL_SOURCE_DIR) + "/scripts/bench"));
  const std::vector<std::string>& settings = cli::CrawlRedisSettings();
  for (size_t i = 0; i + 1 < settings.size(); i += 2) {
    const std::string pair = settings[i] + " " + settings[i + 1];
    EXPECT_NE(script.find(pair), std::string::npos) << pair;
  }
}

// A server setting that is not NAME=VALUE is a usage error before anything starts.
TEST(BenchScriptTest, RedisConfigTakesNameEqualsValue) {
  TempDir tmp;
  Finished run = RunScript("bench", {"--feeds", "10", "--redis-config", "maxmemory 1mb"}, tmp);
  EXPECT_EQ(run.exit.exit_code, 2) << run.exit.ToString() << "\n" << run.err;
  EXPECT_NE(run.err.find("NAME=VALUE"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(ProcessesUnder(tmp.path()), std::vector<std::string>());
}

TEST(BenchScriptTest, CompareAlternatesTheVariantsAndSummarisesThem) {
  TempDir tmp;
  const std::string out = tmp.File("runs");
  Finished run = RunScript("bench-compare",
                           {"--rounds", "2", "--out", out, "--b-args", "--stream-maxlen 0", "--",
                            "--feeds", "30", "--items", "3", "--item-bytes", "200"},
                           tmp);
  ASSERT_TRUE(run.exit.Success()) << run.exit.ToString() << "\n" << run.err;

  // Two runs per variant, in the order A B, then B A.
  const std::string err = run.err;
  const size_t a1 = err.find("round 1 of 2: A"), b1 = err.find("round 1 of 2: B");
  const size_t b2 = err.find("round 2 of 2: B"), a2 = err.find("round 2 of 2: A");
  ASSERT_NE(a2, std::string::npos) << err;
  EXPECT_LT(a1, b1);
  EXPECT_LT(b1, b2);
  EXPECT_LT(b2, a2);
  bool redis_busy = false;  // a run in which Redis's CPU was measurable
  for (const char* variant : {"a", "b"}) {
    ASSERT_OK_AND_ASSIGN(std::string lines, ReadFile(out + "/" + variant + ".jsonl"));
    std::istringstream in(lines);
    std::string line;
    int runs = 0;
    while (std::getline(in, line)) {
      nlohmann::json result = ParseLine(line);
      ASSERT_TRUE(result.is_object()) << line;
      EXPECT_EQ(result["exact"], true);
      if (result["roles"]["redis"]["cpu_s"].get<double>() > 0) redis_busy = true;
      EXPECT_EQ(result["feeds"], 30);
      // Only B was given --stream-maxlen 0.
      if (std::string(variant) == "b") {
        EXPECT_EQ(result["config"]["stream_maxlen"], 0);
      } else {
        EXPECT_TRUE(result["config"]["stream_maxlen"].is_null());
      }
      ++runs;
    }
    EXPECT_EQ(runs, 2) << variant;
  }
  // The summary names each figure once per row, with both variants' runs counted.
  for (const char* row : {"first pass, s", "feeds/s", "items/s", "third pass, s",
                          "first pass CPU, redis, s", "first pass CPU, all, s"}) {
    EXPECT_NE(run.out.find(std::string("\n") + row + " "), std::string::npos) << row << "\n"
                                                                              << run.out;
  }
  // A role's CPU over Redis's needs some of Redis's: 30 small feeds may take it below the
  // sampler's resolution, and the row is then left out rather than divided by zero.
  const bool over_redis_row =
      run.out.find("\nfirst pass, processor / redis ") != std::string::npos;
  EXPECT_EQ(over_redis_row, redis_busy) << run.out;
  EXPECT_NE(run.out.find("of 2"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("exact runs"), std::string::npos) << run.out;
  ASSERT_OK_AND_ASSIGN(std::string summary, ReadFile(out + "/summary.txt"));
  EXPECT_EQ(summary, run.out);
}

TEST(BenchScriptTest, CompareFailsWhenARunFails) {
  TempDir tmp;
  const std::string out = tmp.File("runs");
  Finished run = RunScript("bench-compare",
                           {"--rounds", "1", "--out", out, "--b-args", "--feeds not-a-number",
                            "--", "--feeds", "20", "--items", "2", "--item-bytes", "200"},
                           tmp);
  EXPECT_FALSE(run.exit.Success()) << run.out;
  EXPECT_NE(run.err.find("B round 1 failed"), std::string::npos) << run.err;
  ASSERT_OK_AND_ASSIGN(std::string b_runs, ReadFile(out + "/b.jsonl"));
  EXPECT_EQ(b_runs, "null\n");
  // A's run still counts, and the summary says which variant had no exact run.
  EXPECT_NE(run.out.find("exact runs"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("0 of 1"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace feedcrawl
