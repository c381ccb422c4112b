#include "common/metrics.h"

#include <httplib.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace feedcrawl {
namespace {

constexpr char kPrefix[] = "feedcrawl_";

// Metric and label names allow [a-zA-Z0-9_:]; anything else becomes '_'.
std::string SanitizeName(const std::string& name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':';
    out.push_back(ok ? c : '_');
  }
  return out;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Counts are integers: print them without an exponent so large totals stay exact.
  if (value == std::floor(value) && std::fabs(value) < 9.0e15) {
    return std::to_string(static_cast<long long>(value));
  }
  char text[40];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

bool ParseNumber(const std::string& text, double* value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return errno == 0 && end != text.c_str() && *end == '\0';
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string RenderPrometheusText(const std::vector<Metric>& metrics) {
  // Samples of one name must be consecutive: group them in first-seen order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Metric*>> by_name;
  for (const Metric& metric : metrics) {
    const std::string name = kPrefix + SanitizeName(metric.name);
    auto [it, inserted] = by_name.try_emplace(name);
    if (inserted) order.push_back(name);
    it->second.push_back(&metric);
  }
  std::string out;
  for (const std::string& name : order) {
    const auto& samples = by_name[name];
    const Metric& first = *samples.front();
    if (!first.help.empty()) out += "# HELP " + name + " " + EscapeHelp(first.help) + "\n";
    out += "# TYPE " + name + (first.counter ? " counter\n" : " gauge\n");
    for (const Metric* sample : samples) {
      out += name;
      if (!sample->labels.empty()) {
        out += "{";
        bool comma = false;
        for (const auto& [label, value] : sample->labels) {
          if (comma) out += ",";
          comma = true;
          out += SanitizeName(label) + "=\"" + EscapeLabelValue(value) + "\"";
        }
        out += "}";
      }
      out += " " + FormatValue(sample->value) + "\n";
    }
  }
  return out;
}

std::vector<Metric> MetricsFromStats(const std::string& role,
                                     const std::map<std::string, std::string>& stats) {
  std::vector<Metric> metrics;
  for (const auto& [field, text] : stats) {
    double value = 0;
    if (!ParseNumber(text, &value)) continue;
    Metric metric;
    metric.name = role + "_" + field;
    metric.counter = EndsWith(field, "_total") && field != "feeds_total" &&
                     field != "credit_total" && field != "capacity_total";
    metric.help = "P stats field " + field + " (docs/OPERATIONS.md)";
    metric.value = value;
    metrics.push_back(std::move(metric));
  }
  return metrics;
}

void MetricsSnapshot::Publish(std::vector<Metric> metrics) {
  std::lock_guard<std::mutex> lock(mutex_);
  metrics_ = std::move(metrics);
}

std::vector<Metric> MetricsSnapshot::Get() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return metrics_;
}

StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& bind_address,
                                                              int port, Collector collector) {
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->server_ = std::make_unique<httplib::Server>();
  // Scrapes are rare and small: two threads are plenty and keep the role's footprint flat.
  server->server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let two processes share
  // a metrics port silently, each answering half of the scrapes.
  server->server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->server_->Get("/metrics", [collector](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderPrometheusText(collector()), "text/plain; version=0.0.4; charset=utf-8");
  });
  server->server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("feedcrawl metrics: GET /metrics\n", "text/plain");
  });
  if (port == 0) {
    server->port_ = server->server_->bind_to_any_port(bind_address);
    if (server->port_ < 0) {
      return Status::Unavailable("metrics: cannot listen on " + bind_address + ":0");
    }
  } else {
    if (!server->server_->bind_to_port(bind_address, port)) {
      return Status::Unavailable("metrics: cannot listen on " + bind_address + ":" +
                                 std::to_string(port));
    }
    server->port_ = port;
  }
  httplib::Server* raw = server->server_.get();
  server->thread_ = std::thread([raw] { raw->listen_after_bind(); });
  // stop() is lost on a server that has not started its loop yet: wait for it, so that a
  // server destroyed right away still shuts down.
  for (int i = 0; i < 5000 && !raw->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return server;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace feedcrawl
