// Flags, environment and signals for the coordinator executable.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "common/role_main.h"
#include "coordinator/coordinator.h"

namespace feedcrawl {

int CoordinatorMain(int argc, char** argv) {
  KeepFreedMemory();
  IgnoreSigpipeForGood();
  CLI::App app{"feedcrawl coordinator: schedules feeds and hands jobs to fetchers"};
  CoordinatorOptions options;
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string prefix = "fc:";
  LogOptions log{"info", "text", "coordinator"};
  app.add_option("--redis", redis_url, "Redis URL (redis://[user:pass@]host:port/db or unix:///path)")
      ->envname("FEEDCRAWL_REDIS");
  app.add_option("--prefix", prefix, "Key prefix in Redis")->envname("FEEDCRAWL_PREFIX");
  app.add_option("--control-bind", options.control_bind, "Control endpoint (ROUTER) to bind")
      ->envname("FEEDCRAWL_CONTROL_BIND");
  app.add_option("--results-in-bind", options.results_in_bind,
                 "Endpoint fetchers push results to")
      ->envname("FEEDCRAWL_RESULTS_IN_BIND");
  app.add_option("--results-out-bind", options.results_out_bind,
                 "Endpoint processors pull results from")
      ->envname("FEEDCRAWL_RESULTS_OUT_BIND");
  app.add_flag("--results-forwarder,!--no-results-forwarder", options.results_forwarder,
               "Run the results forwarder; without it, fetchers bind their own results sockets "
               "(--results-bind) and processors connect to each of them")
      ->envname("FEEDCRAWL_RESULTS_FORWARDER")
      ->capture_default_str();
  app.add_flag("--once", options.once, "Crawl every active feed once, then exit")
      ->envname("FEEDCRAWL_ONCE");
  app.add_option("--host-concurrency", options.politeness.host_concurrency,
                 "Requests in flight per host (0: unlimited)")
      ->envname("FEEDCRAWL_HOST_CONCURRENCY");
  app.add_option("--host-interval-ms", options.politeness.host_interval_ms,
                 "Minimum time between two request starts on one host")
      ->envname("FEEDCRAWL_HOST_INTERVAL_MS");
  app.add_option("--connect-timeout-ms", options.connect_timeout_ms)
      ->envname("FEEDCRAWL_CONNECT_TIMEOUT_MS");
  app.add_option("--fetch-timeout-ms", options.fetch_timeout_ms, "Total time a fetch may take")
      ->envname("FEEDCRAWL_FETCH_TIMEOUT_MS");
  app.add_option("--max-body-bytes", options.max_body_bytes, "Largest body accepted (decompressed)")
      ->envname("FEEDCRAWL_MAX_BODY_BYTES");
  app.add_option("--max-redirects", options.max_redirects)->envname("FEEDCRAWL_MAX_REDIRECTS");
  app.add_option("--lease-grace-ms", options.lease_grace_ms,
                 "Time beyond the fetch timeout before a job's lease expires")
      ->envname("FEEDCRAWL_LEASE_GRACE_MS");
  app.add_option("--max-attempts", options.max_attempts,
                 "Lease expiries before a feed is reported failed")
      ->envname("FEEDCRAWL_MAX_ATTEMPTS");
  FreshnessOptions& fresh = options.freshness;
  app.add_option("--default-interval-ms", fresh.default_interval_ms,
                 "Refresh interval of a new feed, before its rhythm is known")
      ->envname("FEEDCRAWL_DEFAULT_INTERVAL_MS");
  app.add_option("--min-interval-ms", fresh.min_interval_ms,
                 "Shortest refresh interval of a feed")
      ->envname("FEEDCRAWL_MIN_INTERVAL_MS");
  app.add_option("--max-interval-ms", fresh.max_interval_ms, "Longest refresh interval of a feed")
      ->envname("FEEDCRAWL_MAX_INTERVAL_MS");
  app.add_option("--jitter", fresh.jitter, "Random spread of every delay, as a fraction")
      ->envname("FEEDCRAWL_JITTER")
      ->check(CLI::Range(0.0, 0.5));
  app.add_option("--retry-base-ms", fresh.retry_base_ms, "First retry delay after a failure")
      ->envname("FEEDCRAWL_RETRY_BASE_MS");
  app.add_option("--max-backoff-ms", fresh.max_backoff_ms, "Longest retry delay after failures")
      ->envname("FEEDCRAWL_MAX_BACKOFF_MS");
  app.add_option("--pause-after-failures", fresh.pause_after_failures,
                 "Consecutive failures after which a feed is paused and only probed")
      ->envname("FEEDCRAWL_PAUSE_AFTER_FAILURES");
  app.add_option("--probe-interval-ms", fresh.probe_interval_ms,
                 "How often a paused feed is tried")
      ->envname("FEEDCRAWL_PROBE_INTERVAL_MS");
  app.add_option("--host-pause-ms", fresh.host_pause_ms,
                 "How long a host is paused after a 429/503 without Retry-After")
      ->envname("FEEDCRAWL_HOST_PAUSE_MS");
  app.add_option("--redirect-confirmations", fresh.redirect_confirmations,
                 "Fetches that must see a permanent redirect before the feed's URL changes")
      ->envname("FEEDCRAWL_REDIRECT_CONFIRMATIONS");
  app.add_option("--reload-interval-ms", options.reload_interval_ms,
                 "How often new, removed and resumed feeds are picked up (the records are read "
                 "again only when the registry changed)")
      ->envname("FEEDCRAWL_RELOAD_INTERVAL_MS");
  app.add_option("--full-reload-interval-ms", options.full_reload_interval_ms,
                 "How often every feed record is read again even without a registry change "
                 "(picks up edits made by hand in Redis)")
      ->envname("FEEDCRAWL_FULL_RELOAD_INTERVAL_MS");
  app.add_option("--worker-timeout-ms", options.worker_timeout_ms,
                 "Silence after which a worker counts as dead")
      ->envname("FEEDCRAWL_WORKER_TIMEOUT_MS");
  int metrics_port = 0;
  std::string metrics_bind = "0.0.0.0";
  app.add_option("--metrics-port", metrics_port, "Port of the Prometheus /metrics endpoint (0: off)")
      ->envname("FEEDCRAWL_METRICS_PORT")
      ->check(CLI::Range(0, 65535));
  app.add_option("--metrics-bind", metrics_bind, "Address the metrics endpoint listens on")
      ->envname("FEEDCRAWL_METRICS_BIND");
  app.add_option("--stats-hosts", options.stats_hosts,
                 "Busiest and slowest hosts published in P stats:hosts (each)")
      ->envname("FEEDCRAWL_STATS_HOSTS");
  app.add_option("--worker-ttl-ms", options.worker_ttl_ms,
                 "Lifetime of a fetcher's P worker:fetcher:<id> hash after its last heartbeat")
      ->envname("FEEDCRAWL_WORKER_TTL_MS");
  app.add_option("--log-level", log.level)->envname("FEEDCRAWL_LOG_LEVEL");
  app.add_option("--log-format", log.format, "text or json")->envname("FEEDCRAWL_LOG_FORMAT");
  CurveKeyFiles curve;
  AddCurveServerFlags(app, curve);
  std::string cpu_scheduling = kCpuSchedulingBatch;
  AddCpuSchedulingFlag(app, cpu_scheduling);
  CLI11_PARSE(app, argc, argv);

  if (Status s = InitLogging(log); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  if (!LoadCurveSecurity(curve, /*server=*/true, options.security)) return 2;
  ApplyCpuScheduling(cpu_scheduling);
  auto store = Store::Open(redis_url, prefix);
  if (!store.ok()) {
    spdlog::error("cannot open store {}: {}", redis_url, store.status().ToString());
    return 1;
  }
  MetricsSnapshot metrics;
  auto metrics_server =
      StartMetricsIfEnabled(metrics_bind, metrics_port, [&metrics] { return metrics.Get(); });
  if (!metrics_server.ok()) return 1;
  if (*metrics_server) options.metrics = &metrics;
  Coordinator coordinator(options, std::move(*store), SystemClock::Instance());
  if (Status s = coordinator.Start(); !s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    return 1;
  }
  return RunUntilSignalled(coordinator);
}

}  // namespace feedcrawl
