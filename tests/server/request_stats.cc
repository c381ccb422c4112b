#include "tests/server/request_stats.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace feedcrawl::testserver {

void RequestStats::Begin(const void* token, const std::string& host) {
  std::lock_guard lock(mutex_);
  running_[token] = host;
  HostCounters& counters = hosts_[host];
  counters.requests++;
  counters.current++;
  counters.max_concurrent = std::max(counters.max_concurrent, counters.current);
  in_flight_++;
  max_in_flight_ = std::max(max_in_flight_, in_flight_);
}

void RequestStats::End(const void* token, const std::string& path, int status) {
  std::lock_guard lock(mutex_);
  requests_++;
  by_status_[status]++;
  by_path_[path]++;
  SettleLocked(token);
}

void RequestStats::Settle(const void* token) {
  std::lock_guard lock(mutex_);
  SettleLocked(token);
}

void RequestStats::SettleLocked(const void* token) {
  auto it = running_.find(token);
  if (it == running_.end()) return;
  auto host = hosts_.find(it->second);
  // After a Reset the host may be gone while its request still runs.
  if (host != hosts_.end() && host->second.current > 0) host->second.current--;
  if (in_flight_ > 0) in_flight_--;
  running_.erase(it);
}

void RequestStats::AddBytesSent(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  bytes_sent_ += bytes;
}

void RequestStats::AddPeer(const std::string& address) {
  std::lock_guard lock(mutex_);
  peers_[address]++;
}

void RequestStats::Reset() {
  std::lock_guard lock(mutex_);
  requests_ = 0;
  peers_.clear();
  bytes_sent_ = 0;
  by_status_.clear();
  by_path_.clear();
  // Requests still running keep counting as in progress for their host.
  hosts_.clear();
  in_flight_ = static_cast<int64_t>(running_.size());
  max_in_flight_ = in_flight_;
  for (const auto& [token, host] : running_) {
    HostCounters& counters = hosts_[host];
    counters.current++;
    counters.max_concurrent = counters.current;
  }
}

nlohmann::json RequestStats::ToJson() const {
  std::lock_guard lock(mutex_);
  nlohmann::json json;
  json["requests"] = requests_;
  auto not_modified = by_status_.find(304);
  json["not_modified"] = not_modified == by_status_.end() ? 0 : not_modified->second;
  json["bytes_sent"] = bytes_sent_;
  json["in_flight"] = in_flight_;
  json["max_in_flight"] = max_in_flight_;
  json["by_status"] = nlohmann::json::object();
  for (const auto& [status, n] : by_status_) json["by_status"][std::to_string(status)] = n;
  json["by_path"] = nlohmann::json::object();
  for (const auto& [path, n] : by_path_) json["by_path"][path] = n;
  json["hosts"] = nlohmann::json::object();
  for (const auto& [host, counters] : hosts_) {
    json["hosts"][host] = {{"requests", counters.requests},
                           {"current", counters.current},
                           {"max_concurrent", counters.max_concurrent}};
  }
  json["peers"] = nlohmann::json::object();
  for (const auto& [address, n] : peers_) json["peers"][address] = n;
  return json;
}

}  // namespace feedcrawl::testserver
