// Flags, environment and signals for the processor executable.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/item_codec.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "common/role_main.h"
#include "processor/processor.h"

namespace feedcrawl {

int ProcessorMain(int argc, char** argv) {
  KeepFreedMemory();
  IgnoreSigpipeForGood();
  CLI::App app{"feedcrawl processor: parses fetched feeds and stores their items"};
  ProcessorOptions options;
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string prefix = "fc:";
  LogOptions log{"info", "text", "processor"};
  app.add_option("--control", options.control_endpoint, "Coordinator control endpoint")
      ->envname("FEEDCRAWL_CONTROL");
  app.add_option("--results", options.results_endpoints,
                 "Endpoint that hands out fetch results: the coordinator's forwarder, or each "
                 "fetcher's --results-bind (repeat the flag or separate with commas)")
      ->envname("FEEDCRAWL_RESULTS_OUT")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--redis", redis_url, "Redis URL")->envname("FEEDCRAWL_REDIS");
  app.add_option("--prefix", prefix, "Key prefix in Redis")->envname("FEEDCRAWL_PREFIX");
  app.add_option("--id", options.worker_id, "Worker id (default: hostname-pid)")
      ->envname("FEEDCRAWL_WORKER_ID");
  app.add_option("--heartbeat-ms", options.heartbeat_ms)->envname("FEEDCRAWL_HEARTBEAT_MS");
  int metrics_port = 0;
  std::string metrics_bind = "0.0.0.0";
  uint64_t stream_max_len = Store::kDefaultItemStreamMaxLen;
  app.add_option("--metrics-port", metrics_port, "Port of the Prometheus /metrics endpoint (0: off)")
      ->envname("FEEDCRAWL_METRICS_PORT")
      ->check(CLI::Range(0, 65535));
  app.add_option("--metrics-bind", metrics_bind, "Address the metrics endpoint listens on")
      ->envname("FEEDCRAWL_METRICS_BIND");
  app.add_option("--worker-ttl-ms", options.worker_ttl_ms,
                 "Lifetime of this processor's P worker:processor:<id> hash after a heartbeat")
      ->envname("FEEDCRAWL_WORKER_TTL_MS");
  app.add_option("--buffer", options.recv_hwm,
                 "Fetch results taken ahead of the work in hand; each can be as large as the "
                 "fetchers' --max-body-bytes")
      ->envname("FEEDCRAWL_BUFFER")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  app.add_option("--stream-maxlen", stream_max_len,
                 "About how many entries P stream:items keeps, each naming the new items of one "
                 "stored feed (0: no stream)")
      ->envname("FEEDCRAWL_STREAM_MAXLEN");
  std::string item_compression = kItemCompressionNone;
  app.add_option("--item-compression", item_compression,
                 "How new items are stored in P items:<id>: none (their JSON text) or lz4 (an LZ4 "
                 "frame of it); readers take both, so it may change at any time")
      ->envname("FEEDCRAWL_ITEM_COMPRESSION")
      ->check(CLI::IsMember({kItemCompressionNone, kItemCompressionLz4}))
      ->capture_default_str();
  app.add_option("--log-level", log.level)->envname("FEEDCRAWL_LOG_LEVEL");
  app.add_option("--log-format", log.format, "text or json")->envname("FEEDCRAWL_LOG_FORMAT");
  CurveKeyFiles curve;
  AddCurveClientFlags(app, curve);
  std::string cpu_scheduling = kCpuSchedulingBatch;
  AddCpuSchedulingFlag(app, cpu_scheduling);
  CLI11_PARSE(app, argc, argv);

  if (Status s = InitLogging(log); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  if (!LoadCurveSecurity(curve, /*server=*/false, options.security)) return 2;
  ApplyCpuScheduling(cpu_scheduling);
  auto store = Store::Open(redis_url, prefix);
  if (!store.ok()) {
    spdlog::error("cannot open store {}: {}", redis_url, store.status().ToString());
    return 1;
  }
  (*store)->set_item_stream_max_len(stream_max_len);
  // The flag's check admits only names that parse.
  const ItemCompression compression = ParseItemCompression(item_compression).value();
  (*store)->set_item_compression(compression);
  if (compression != ItemCompression::kNone) {
    spdlog::info("new items are stored as {} frames of their JSON",
                 ItemCompressionName(compression));
  }
  MetricsSnapshot metrics;
  auto metrics_server =
      StartMetricsIfEnabled(metrics_bind, metrics_port, [&metrics] { return metrics.Get(); });
  if (!metrics_server.ok()) return 1;
  if (*metrics_server) options.metrics = &metrics;
  Processor processor(options, std::move(*store), SystemClock::Instance());
  if (Status s = processor.Start(); !s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    return 1;
  }
  const int exit_code = RunUntilSignalled(processor);
  spdlog::info("stopped after {} results", processor.processed());
  return exit_code;
}

}  // namespace feedcrawl
