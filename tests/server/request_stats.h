// Counters of the test feed server, served as JSON at GET /_stats: requests by status and path,
// bytes sent, and per Host header the requests now in progress and the most seen at once (what
// politeness tests check), and requests per client address (so a test can tell which network a
// fetcher came from). A request is "in progress" from routing until its body is complete: the
// end of its handler for a body made at once (Settle), the last byte for one a provider streams.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <unordered_map>

namespace feedcrawl::testserver {

class RequestStats {
 public:
  // A request identified by `token` (any address unique while it runs) started for `host`.
  void Begin(const void* token, const std::string& host);
  // The request ended with `status`. Unknown tokens (requests rejected before routing) are still
  // counted, but no host's in-progress number changes.
  void End(const void* token, const std::string& path, int status);
  // The request's body is complete (End still counts it): it no longer counts as in progress,
  // though the server may not have written it all yet. A client cannot send its next request
  // before it has the whole response, so the host's concurrency is not inflated by the moments
  // between the server's last write and End, which a loaded machine can stretch.
  void Settle(const void* token);
  void AddBytesSent(uint64_t bytes);
  // Counts one request from the client at `address` (the peer's IP, without port).
  void AddPeer(const std::string& address);
  void Reset();

  // {"requests", "not_modified", "bytes_sent", "in_flight", "max_in_flight",
  //  "by_status": {"200": n}, "by_path": {"/a.xml": n},
  //  "hosts": {"127.0.0.1:8080": {"requests", "current", "max_concurrent"}},
  //  "peers": {"127.0.0.1": n}}
  nlohmann::json ToJson() const;

 private:
  struct HostCounters {
    uint64_t requests = 0;
    int64_t current = 0;
    int64_t max_concurrent = 0;
  };

  void SettleLocked(const void* token);  // Settle with mutex_ held

  mutable std::mutex mutex_;
  uint64_t requests_ = 0;
  uint64_t bytes_sent_ = 0;
  int64_t in_flight_ = 0;
  int64_t max_in_flight_ = 0;
  std::map<int, uint64_t> by_status_;
  std::map<std::string, uint64_t> by_path_;
  std::map<std::string, HostCounters> hosts_;
  std::map<std::string, uint64_t> peers_;  // client address -> requests
  std::unordered_map<const void*, std::string> running_;  // token -> host
};

}  // namespace feedcrawl::testserver
