// Metrics: the Prometheus text endpoint every role serves on --metrics-port (0: off). A role
// hands the server a Collector that returns its numbers; the server calls it on its own thread
// for every scrape of GET /metrics, so the collector must be thread-safe. Roles whose numbers
// live in a single-threaded loop publish them into a MetricsSnapshot (mutex-guarded) and collect
// from that. RenderPrometheusText and MetricsFromStats are pure.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace feedcrawl {

struct Metric {
  std::string name;    // without the "feedcrawl_" prefix, e.g. "fetcher_active"
  std::string help;
  bool counter = false;  // a total that only grows; otherwise a gauge
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The text exposition format (version 0.0.4): one HELP and TYPE line per metric name (the first
// sample's), then every sample of that name. Names get the "feedcrawl_" prefix.
std::string RenderPrometheusText(const std::vector<Metric>& metrics);

// The numeric fields of a P stats hash as gauges named "<role>_<field>" ("_total" fields as
// counters). Fields that are not numbers are left out.
std::vector<Metric> MetricsFromStats(const std::string& role,
                                     const std::map<std::string, std::string>& stats);

// Thread-safe holder of the latest numbers of a single-threaded loop.
class MetricsSnapshot {
 public:
  void Publish(std::vector<Metric> metrics);
  std::vector<Metric> Get() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Metric> metrics_;
};

class MetricsServer {
 public:
  using Collector = std::function<std::vector<Metric>()>;

  // Listens on bind_address:port (port 0: any free port, see port()) and serves GET /metrics on
  // a thread of its own until destroyed. Unavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& bind_address, int port,
                                                        Collector collector);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace feedcrawl
