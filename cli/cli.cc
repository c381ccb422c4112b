#include "cli/cli.h"

#include <exception>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.h"
#include "cli/feeds.h"
#include "cli/items.h"
#include "cli/keygen.h"
#include "cli/parse.h"
#include "cli/run.h"
#include "cli/status.h"
#include "cli/time_spec.h"
#include "cli/top.h"
#include "cli/version.h"
#include "common/cpu_scheduling.h"
#include "common/item_codec.h"

namespace feedcrawl::cli {
namespace {

const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};
const std::vector<std::string> kLogFormats = {"text", "json"};

void AddStoreOptions(CLI::App* command, StoreOptions* options) {
  command->add_option("--redis", options->redis_url,
                      "Redis URL (redis://[user:password@]host[:port][/db] or unix:///path); "
                      "default: the data dir's own redis-server")
      ->envname("FEEDCRAWL_REDIS");
  command->add_option("--data-dir", options->data_dir,
                      "Folder for the local redis-server's data, logs and sockets")
      ->envname("FEEDCRAWL_DATA_DIR")
      ->capture_default_str();
  command->add_option("--prefix", options->prefix, "Prefix of every Redis key")
      ->envname("FEEDCRAWL_PREFIX")
      ->capture_default_str();
}

// The command chosen on the command line, run after parsing succeeded.
using Action = std::function<int()>;

// A duration flag such as "--min-interval 5m" ("90s", "1h30m", "2d"), kept only when given.
void AddDurationOption(CLI::App* command, const std::string& name, std::optional<int64_t>& target,
                       const std::string& help, const std::string& env) {
  command
      ->add_option_function<std::string>(
          name,
          [name, &target](const std::string& text) {
            StatusOr<int64_t> ms = ParseDuration(text);
            if (!ms.ok()) throw CLI::ValidationError(name, ms.status().message());
            if (*ms <= 0) throw CLI::ValidationError(name, "must be longer than zero");
            target = *ms;
          },
          help)
      ->envname(env)
      ->type_name("DURATION");
}

// Scheduling settings of `feedcrawl run`, passed to its coordinator (docs/SCHEDULING.md).
void AddScheduleOptions(CLI::App* run, ScheduleOptions& schedule) {
  AddDurationOption(run, "--default-interval", schedule.default_interval_ms,
                    "Refresh interval of a feed whose rhythm is not known yet",
                    "FEEDCRAWL_DEFAULT_INTERVAL");
  AddDurationOption(run, "--min-interval", schedule.min_interval_ms,
                    "Shortest refresh interval of a feed", "FEEDCRAWL_MIN_INTERVAL");
  AddDurationOption(run, "--max-interval", schedule.max_interval_ms,
                    "Longest refresh interval of a feed", "FEEDCRAWL_MAX_INTERVAL");
  AddDurationOption(run, "--retry-base", schedule.retry_base_ms,
                    "First retry delay after a failed fetch (doubles per failure)",
                    "FEEDCRAWL_RETRY_BASE");
  AddDurationOption(run, "--max-backoff", schedule.max_backoff_ms,
                    "Longest retry delay after failures", "FEEDCRAWL_MAX_BACKOFF");
  run->add_option_function<int>(
         "--pause-after-failures", [&schedule](int n) { schedule.pause_after_failures = n; },
         "Consecutive failures after which a feed is paused and only probed")
      ->envname("FEEDCRAWL_PAUSE_AFTER_FAILURES")
      ->check(CLI::PositiveNumber);
  run->add_option_function<int>(
         "--max-attempts", [&schedule](int n) { schedule.max_attempts = n; },
         "Lost jobs (expired leases) before a fetch counts as failed")
      ->envname("FEEDCRAWL_MAX_ATTEMPTS")
      ->check(CLI::PositiveNumber);
}

void AddRunCommand(CLI::App& app, RunOptions& options, int& connect_timeout_ms,
                   int& max_redirects, int64_t& stream_maxlen, Action& action) {
  CLI::App* run = app.add_subcommand("run", "Import FEEDS, then crawl every registered feed");
  AddStoreOptions(run, &options.store);
  run->add_option("FEEDS", options.feeds_file,
                  "A text file of feed URLs (# comments) or an OPML file, imported first")
      ->check(CLI::ExistingFile);
  run->add_flag("--once", options.once, "Crawl every feed once, print a summary and exit");
  run->add_option("--fetchers", options.fetchers, "Fetcher processes")
      ->envname("FEEDCRAWL_FETCHERS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  run->add_option("--processors", options.processors,
                  "Processor processes (default: max(2, cores - 1))")
      ->envname("FEEDCRAWL_PROCESSORS")
      ->check(CLI::Range(1, 1024));
  run->add_option("--concurrency", options.concurrency, "Concurrent transfers per fetcher")
      ->envname("FEEDCRAWL_CONCURRENCY")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  run->add_option("--host-concurrency", options.host_concurrency,
                  "Concurrent fetches per host (0: unlimited)")
      ->envname("FEEDCRAWL_HOST_CONCURRENCY")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  run->add_option("--host-interval-ms", options.host_interval_ms,
                  "Minimum spacing of fetches to one host")
      ->envname("FEEDCRAWL_HOST_INTERVAL_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  run->add_option("--fetch-timeout-ms", options.fetch_timeout_ms, "Total time limit per fetch")
      ->envname("FEEDCRAWL_FETCH_TIMEOUT_MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_option("--connect-timeout-ms", connect_timeout_ms,
                  "Connect time limit per fetch (default: the coordinator's)")
      ->envname("FEEDCRAWL_CONNECT_TIMEOUT_MS")
      ->check(CLI::PositiveNumber);
  run->add_option("--max-body-bytes", options.max_body_bytes,
                  "Largest feed body accepted, after decompression")
      ->envname("FEEDCRAWL_MAX_BODY_BYTES")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  run->add_option("--max-redirects", max_redirects,
                  "Redirects followed per fetch (default: the coordinator's)")
      ->envname("FEEDCRAWL_MAX_REDIRECTS")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--user-agent", options.user_agent, "User-Agent header (default: the fetcher's)")
      ->envname("FEEDCRAWL_USER_AGENT");
  run->add_option("--proxy", options.proxy,
                  "Proxy for every fetch (libcurl syntax: http://host:port, socks5h://host:port)")
      ->envname("FEEDCRAWL_PROXY");
  run->add_option("--stream-maxlen", stream_maxlen,
                  "About how many entries P stream:items keeps (each names the new items of one "
                  "stored feed), 0 for no stream (default: the processor's, 100000)")
      ->envname("FEEDCRAWL_STREAM_MAXLEN")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--item-compression", options.item_compression,
                  "How the processors store new items: none (JSON text) or lz4 (an LZ4 frame of "
                  "it: less Redis memory and work; feedcrawl items reads both)")
      ->envname("FEEDCRAWL_ITEM_COMPRESSION")
      ->check(CLI::IsMember({kItemCompressionNone, kItemCompressionLz4}))
      ->capture_default_str();
  AddScheduleOptions(run, options.schedule);
  run->add_flag("--allow-private-networks", options.allow_private_networks,
                "Allow fetching from loopback, private and link-local addresses")
      ->envname("FEEDCRAWL_ALLOW_PRIVATE_NETWORKS");
  run->add_flag("--redis-huge-pages", options.redis_huge_pages,
                "Run the redis-server this command starts on 2 MB pages instead of Redis's "
                "4 KB: faster first crawls where page faults are dear (docs/REDIS.md)")
      ->envname("FEEDCRAWL_REDIS_HUGE_PAGES")
      ->excludes(run->get_option("--redis"));
  run->add_option("--cpu-scheduling", options.cpu_scheduling,
                  "batch: run the coordinator, fetchers and processors under the kernel's "
                  "SCHED_BATCH policy, so that their wake-ups do not preempt each other or the "
                  "servers (fewer context switches, faster crawls); inherit: keep this "
                  "command's policy")
      ->envname("FEEDCRAWL_CPU_SCHEDULING")
      ->check(CLI::IsMember({kCpuSchedulingBatch, kCpuSchedulingInherit}))
      ->capture_default_str();
  run->add_flag("--no-progress", options.no_progress, "Do not show progress while crawling");
  run->add_option("--log-level", options.log_level,
                  "Log level of the children (logs go to DATA_DIR/logs/<role>-<n>.log)")
      ->envname("FEEDCRAWL_LOG_LEVEL")
      ->check(CLI::IsMember(kLogLevels))
      ->capture_default_str();
  run->add_option("--log-format", options.log_format, "Log format of the children")
      ->envname("FEEDCRAWL_LOG_FORMAT")
      ->check(CLI::IsMember(kLogFormats))
      ->capture_default_str();
  run->callback([&options, &connect_timeout_ms, &max_redirects, &stream_maxlen, &action] {
    if (connect_timeout_ms > 0) options.connect_timeout_ms = connect_timeout_ms;
    if (max_redirects >= 0) options.max_redirects = max_redirects;
    if (stream_maxlen >= 0) options.stream_maxlen = static_cast<uint64_t>(stream_maxlen);
    action = [&options] { return RunCommand(options, std::cout, std::cerr); };
  });
}

void AddFeedsCommand(CLI::App& app, StoreOptions& store, std::string& file,
                     std::vector<std::string>& urls, FeedsListOptions& list_options,
                     Action& action) {
  CLI::App* feeds = app.add_subcommand("feeds", "Manage the registered feeds");
  feeds->require_subcommand(1);

  CLI::App* import = feeds->add_subcommand("import", "Register every feed of a list or OPML file");
  AddStoreOptions(import, &store);
  import->add_option("FILE", file, "A text file of feed URLs or an OPML file")->required();
  import->callback([&] { action = [&] { return FeedsImportCommand(store, file, std::cout,
                                                                  std::cerr); }; });

  CLI::App* add = feeds->add_subcommand("add", "Register feeds by URL");
  AddStoreOptions(add, &store);
  add->add_option("URL", urls, "Feed URLs")->required();
  add->callback([&] { action = [&] { return FeedsAddCommand(store, urls, std::cout,
                                                            std::cerr); }; });

  CLI::App* list = feeds->add_subcommand("list", "List the registered feeds and their state");
  AddStoreOptions(list, &store);
  list->add_flag("--json", list_options.json, "One JSON object per line instead of a table");
  CLI::Option* failing = list->add_flag(
      "--failing", list_options.failing,
      "Only failing feeds (failure streak, paused, disabled) with their last error");
  list->add_flag("--due", list_options.due,
                 "Only scheduled feeds (active, paused), the soonest due first, with when")
      ->excludes(failing);
  list->add_option("--limit", list_options.limit, "At most N feeds (0: all)")
      ->check(CLI::NonNegativeNumber);
  list->callback([&] { action = [&] { return FeedsListCommand(store, list_options, std::cout,
                                                              std::cerr); }; });

  CLI::App* remove = feeds->add_subcommand("remove", "Unregister feeds and delete their items");
  AddStoreOptions(remove, &store);
  remove->add_option("URL", urls, "Feed URLs")->required();
  remove->callback([&] { action = [&] { return FeedsRemoveCommand(store, urls, std::cout,
                                                                  std::cerr); }; });

  CLI::App* resume = feeds->add_subcommand("resume", "Make paused or disabled feeds active again");
  AddStoreOptions(resume, &store);
  resume->add_option("URL", urls, "Feed URLs")->required();
  resume->callback([&] { action = [&] { return FeedsResumeCommand(store, urls, std::cout,
                                                                  std::cerr); }; });
}

void AddItemsCommand(CLI::App& app, ItemsOptions& options, Action& action) {
  CLI::App* items = app.add_subcommand("items", "Print stored items as JSON Lines, oldest first");
  AddStoreOptions(items, &options.store);
  items->add_option("--feed", options.feed_url, "Only this feed's items");
  items->add_option("--since", options.since,
                    "Only items at or after TIME: RFC 3339, a date, or a duration ago (2h, 3d)");
  items->add_option("--limit", options.limit, "At most N items (0: all)")
      ->check(CLI::NonNegativeNumber);
  items->callback([&] { action = [&] { return ItemsCommand(options, std::cout, std::cerr); }; });
}

// Options of `status` and `top`.
struct WatchOptions {
  StoreOptions store;
  int64_t max_age_ms = 0;
  bool pretty = false;
  int interval_ms = 1000;
};

void AddWatchCommands(CLI::App& app, WatchOptions& options, Action& action) {
  CLI::App* status = app.add_subcommand(
      "status", "Print the cluster's live numbers, workers and hosts once, as JSON");
  AddStoreOptions(status, &options.store);
  status->add_option("--max-age-ms", options.max_age_ms,
                     "Exit 1 when the coordinator's numbers are missing or older (0: never)")
      ->check(CLI::NonNegativeNumber);
  status->add_flag("--pretty", options.pretty, "Indented JSON");
  status->callback([&] {
    action = [&] {
      return StatusCommand(options.store, options.max_age_ms, options.pretty, std::cout,
                           std::cerr);
    };
  });
  CLI::App* top = app.add_subcommand("top", "Live view of queue depths, workers and hosts (q quits)");
  AddStoreOptions(top, &options.store);
  top->add_option("--interval-ms", options.interval_ms, "Refresh interval")
      ->check(CLI::Range(100, 60'000))
      ->capture_default_str();
  top->callback([&] {
    action = [&] { return TopCommand(options.store, options.interval_ms, std::cout, std::cerr); };
  });
}

void AddParseCommand(CLI::App& app, ParseCommandOptions& options, Action& action) {
  CLI::App* parse = app.add_subcommand("parse", "Parse a feed file and print the result as JSON");
  // Existence is checked by the command itself: an unreadable file is exit 1, not a usage error.
  parse->add_option("FILE", options.file, "The feed document")->required();
  parse->add_option("--url", options.url, "The URL it came from (base for relative links)");
  parse->add_option("--content-type", options.content_type,
                    "The Content-Type it was served with (for its charset)");
  parse->callback([&] { action = [&] { return ParseCommand(options, std::cout, std::cerr); }; });
}

int ParseAndRun(int argc, char** argv) {
  CLI::App app{"feedcrawl: crawls RSS, Atom and JSON feeds into Redis", "feedcrawl"};
  app.require_subcommand(1);
  app.set_version_flag("--version", VersionText());

  Action action;
  RunOptions run_options;
  int connect_timeout_ms = -1;
  int max_redirects = -1;
  int64_t stream_maxlen = -1;
  AddRunCommand(app, run_options, connect_timeout_ms, max_redirects, stream_maxlen, action);
  StoreOptions feeds_store;
  std::string feeds_file;
  std::vector<std::string> feeds_urls;
  FeedsListOptions feeds_list;
  AddFeedsCommand(app, feeds_store, feeds_file, feeds_urls, feeds_list, action);
  WatchOptions watch_options;
  AddWatchCommands(app, watch_options, action);
  ItemsOptions items_options;
  AddItemsCommand(app, items_options, action);
  ParseCommandOptions parse_options;
  AddParseCommand(app, parse_options, action);
  KeygenOptions keygen_options;
  CLI::App* keygen = app.add_subcommand("keygen", "Make a CURVE keypair for a secured cluster");
  keygen->add_option("--out", keygen_options.out_prefix,
                     "Write PREFIX.key_secret (mode 0600) and PREFIX.key instead of printing");
  keygen->add_flag("--force", keygen_options.force, "Replace existing key files");
  keygen->callback([&] {
    action = [&] { return KeygenCommand(keygen_options, std::cout, std::cerr); };
  });
  app.add_subcommand("version", "Print the version")->callback([&action] {
    action = [] {
      std::cout << VersionText() << "\n";
      return kExitOk;
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return action ? action() : kExitUsage;
}

}  // namespace

int RunCli(int argc, char** argv) {
  try {
    return ParseAndRun(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "feedcrawl: internal error: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace feedcrawl::cli
