// `feedcrawl run [--once] [FEEDS]`: imports FEEDS, then crawls every registered feed with a
// local cluster (cli/local_cluster.h) against the data dir's own redis-server or --redis, shows
// progress on stderr and prints a summary on stdout. Without --once it keeps crawling until
// stopped by a signal. Exit codes: 0 when a --once crawl completed (failed feeds included), 1 for
// infrastructure errors, 2 for usage errors, 128 + signal when stopped. Call from the main thread
// (child death signals are tied to it); installs stop signal handlers.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "cli/local_cluster.h"
#include "cli/store_session.h"

namespace feedcrawl::cli {

struct RunOptions {
  StoreOptions store;
  std::string feeds_file;          // empty: crawl what is registered
  bool once = false;
  int fetchers = 1;
  int processors = 0;              // 0: max(2, cores - 1)
  int concurrency = 256;
  int host_concurrency = 2;
  int host_interval_ms = 250;
  int fetch_timeout_ms = 30'000;
  int64_t max_body_bytes = 10LL << 20;
  std::optional<int> connect_timeout_ms;
  std::optional<int> max_redirects;
  std::string user_agent;
  std::string proxy;
  std::optional<uint64_t> stream_maxlen;  // the processors' default when unset
  std::string item_compression = kItemCompressionNone;  // the processors' --item-compression
  bool allow_private_networks = false;
  bool redis_huge_pages = false;   // the redis-server run starts (none with store.redis_url)
  ScheduleOptions schedule;
  bool no_progress = false;
  std::string log_level = "warn";  // the children's
  std::string log_format = "text";
  std::string cpu_scheduling = kCpuSchedulingBatch;  // the roles' --cpu-scheduling
  std::string bin_dir;             // role executables; empty: next to this executable
};

// Interrupted runs (SIGINT, SIGTERM, SIGHUP) stop the children, print the summary so far and
// return 128 + the signal (130 for Ctrl-C).
int RunCommand(const RunOptions& options, std::ostream& out, std::ostream& err);

// max(2, cores - 1): one core is left for the fetchers and the coordinator, but never fewer
// than two processors, so that one parses while Redis stores the other's items
// (docs/PERFORMANCE.md, "Curves").
int DefaultProcessorCount();

}  // namespace feedcrawl::cli
