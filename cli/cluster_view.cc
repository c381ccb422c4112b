#include "cli/cluster_view.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "common/feed_model.h"

namespace feedcrawl::cli {
namespace {

bool ParseInt(const std::string& text, int64_t* value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') return false;
  *value = v;
  return true;
}

// Numbers as JSON numbers, so `jq '.stats.in_flight > 100'` works; anything else as text.
nlohmann::json FieldsToJson(const std::map<std::string, std::string>& fields) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, text] : fields) {
    int64_t value = 0;
    json[name] = ParseInt(text, &value) ? nlohmann::json(value) : nlohmann::json(text);
  }
  return json;
}

}  // namespace

int64_t ClusterView::Number(const std::string& field) const {
  auto it = stats.find(field);
  int64_t value = 0;
  return it != stats.end() && ParseInt(it->second, &value) ? value : 0;
}

int64_t ClusterView::AgeMs() const {
  if (stats.empty()) return -1;
  return std::max<int64_t>(0, now_ms - Number("updated_ms"));
}

std::vector<HostView> ClusterView::Busiest(size_t n) const {
  std::vector<HostView> sorted = hosts;
  std::sort(sorted.begin(), sorted.end(), [](const HostView& a, const HostView& b) {
    return a.fetches != b.fetches ? a.fetches > b.fetches : a.host < b.host;
  });
  if (sorted.size() > n) sorted.resize(n);
  return sorted;
}

std::vector<HostView> ClusterView::Slowest(size_t n) const {
  std::vector<HostView> sorted = hosts;
  std::sort(sorted.begin(), sorted.end(), [](const HostView& a, const HostView& b) {
    return a.avg_ms != b.avg_ms ? a.avg_ms > b.avg_ms : a.host < b.host;
  });
  if (sorted.size() > n) sorted.resize(n);
  return sorted;
}

StatusOr<ClusterView> ReadClusterView(Store& store, int64_t now_ms) {
  ClusterView view;
  view.now_ms = now_ms;
  auto stats = store.ReadStats();
  if (!stats.ok()) return stats.status();
  view.stats = std::move(*stats);
  auto workers = store.ReadWorkers(now_ms);
  if (!workers.ok()) return workers.status();
  view.workers = std::move(*workers);
  auto hosts = store.ReadHostStats();
  if (!hosts.ok()) return hosts.status();
  for (const auto& [host, text] : *hosts) {
    nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) continue;  // not written by a coordinator of this version
    HostView h;
    h.host = host;
    h.fetches = json.value("fetches", uint64_t{0});
    h.errors = json.value("errors", uint64_t{0});
    h.avg_ms = json.value("avg_ms", int64_t{0});
    h.max_ms = json.value("max_ms", int64_t{0});
    view.hosts.push_back(std::move(h));
  }
  return view;
}

nlohmann::json ClusterViewToJson(const ClusterView& view) {
  nlohmann::json json = nlohmann::json::object();
  const int64_t updated = view.Number("updated_ms");
  json["updated"] = updated > 0 ? nlohmann::json(FormatRfc3339(updated)) : nlohmann::json(nullptr);
  json["age_ms"] = view.AgeMs() < 0 ? nlohmann::json(nullptr) : nlohmann::json(view.AgeMs());
  json["stats"] = FieldsToJson(view.stats);
  json["workers"] = nlohmann::json::array();
  for (const WorkerHash& worker : view.workers) {
    nlohmann::json w = FieldsToJson(worker.fields);
    w["role"] = worker.role;
    w["id"] = worker.id;
    json["workers"].push_back(std::move(w));
  }
  json["hosts"] = nlohmann::json::array();
  for (const HostView& host : view.Busiest(view.hosts.size())) {
    json["hosts"].push_back({{"host", host.host},
                             {"fetches", host.fetches},
                             {"errors", host.errors},
                             {"avg_ms", host.avg_ms},
                             {"max_ms", host.max_ms}});
  }
  return json;
}

}  // namespace feedcrawl::cli
