// ClusterView: what `feedcrawl status` and `feedcrawl top` show, read from the store in three
// round trips: the coordinator's P stats, the live worker hashes (P worker:*) and the host
// numbers (P stats:hosts). Pure functions turn it into JSON (status) or screen text (top).
// Plain value type; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/store.h"

namespace feedcrawl::cli {

struct HostView {
  std::string host;
  uint64_t fetches = 0;
  uint64_t errors = 0;
  int64_t avg_ms = 0;
  int64_t max_ms = 0;
};

struct ClusterView {
  int64_t now_ms = 0;
  std::map<std::string, std::string> stats;  // empty when no coordinator ever wrote them
  std::vector<WorkerHash> workers;
  std::vector<HostView> hosts;                // in no particular order

  // A stats field as a number (0 when missing or not a number).
  int64_t Number(const std::string& field) const;
  // How old the coordinator's numbers are; -1 when there are none.
  int64_t AgeMs() const;
  std::vector<HostView> Busiest(size_t n) const;
  std::vector<HostView> Slowest(size_t n) const;
};

StatusOr<ClusterView> ReadClusterView(Store& store, int64_t now_ms);

// {"updated", "age_ms", "stats": {field: number or string}, "workers": [...], "hosts": [...]}.
nlohmann::json ClusterViewToJson(const ClusterView& view);

}  // namespace feedcrawl::cli
