// CrawlCluster: the role executables (coordinator, fetchers, processors) and the test feed
// server started as real processes for the tests that kill, restart and add them one by one.
// The coordinator binds fixed endpoints chosen up front, so a restarted coordinator is found by
// the workers that outlived the old one. Every child appends its stderr (its log) to a file of
// its own in log_dir, and Logs() gathers them for failure messages.
//
// Not thread-safe; use it from the test's main thread (children are tied to that thread, see
// subprocess.h).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/subprocess.h"

namespace feedcrawl::testing {

// Where the coordinator listens. tcp:// on loopback ports that were free when chosen.
struct CoordinatorEndpoints {
  std::string control_bind, results_in_bind, results_out_bind;  // what the coordinator binds
  std::string control, results_in, results_out;                 // what the workers connect to
};
StatusOr<CoordinatorEndpoints> FreeCoordinatorEndpoints();

// feedcrawl-testserver serving `root` on a free port.
class TestFeedServer {
 public:
  static StatusOr<std::unique_ptr<TestFeedServer>> Start(const std::string& bin_dir,
                                                         const std::string& root,
                                                         const std::vector<std::string>& args);
  // http://127.0.0.1:PORT
  const std::string& base_url() const { return base_url_; }
  // GET /_stats: {"requests", "by_path": {"/f/00001.xml": n}, "by_status": {...}, ...}.
  StatusOr<nlohmann::json> Stats() const;
  // Requests served so far for `path`, from Stats(); 0 when never requested.
  static uint64_t RequestsFor(const nlohmann::json& stats, const std::string& path);
  // SIGSTOP / SIGCONT: while paused, connections wait in the listen queue unanswered.
  Status Pause();
  Status Resume();

 private:
  std::unique_ptr<Subprocess> process_;
  std::string base_url_;
  int port_ = 0;
};

class CrawlCluster {
 public:
  // bin_dir holds the executables; redis_url and endpoints are passed to every role.
  CrawlCluster(std::string bin_dir, std::string redis_url, CoordinatorEndpoints endpoints,
               std::string log_dir);

  // From now on, the data plane of `feedcrawl run` instead of the coordinator's forwarder: the
  // coordinator runs none, each fetcher binds its own results socket
  // (ipc://<log_dir>/results-<id>.sock) and every processor connects to the sockets of
  // `fetcher_ids`, so a fetcher restarted under the same id is found again.
  void UseDirectDataPlane(std::vector<std::string> fetcher_ids);

  // feedcrawl-coordinator with the endpoints and the Redis URL, plus `args`.
  StatusOr<std::unique_ptr<Subprocess>> StartCoordinator(const std::vector<std::string>& args);
  // feedcrawl-fetcher --id <id> (with --allow-private-networks), plus `args`.
  StatusOr<std::unique_ptr<Subprocess>> StartFetcher(const std::string& id,
                                                     const std::vector<std::string>& args);
  // feedcrawl-processor --id <id>, plus `args`.
  StatusOr<std::unique_ptr<Subprocess>> StartProcessor(const std::string& id,
                                                       const std::vector<std::string>& args);

  // The tail of every child's log (at most max_bytes each), for a failure message.
  std::string Logs(size_t max_bytes = 4000) const;

 private:
  StatusOr<std::unique_ptr<Subprocess>> Launch(const std::string& program,
                                               const std::string& log_name,
                                               std::vector<std::string> args);
  std::string FetcherResultsEndpoint(const std::string& id) const;
  std::string bin_dir_;
  std::string redis_url_;
  CoordinatorEndpoints endpoints_;
  std::string log_dir_;
  std::vector<std::string> log_files_;
  std::vector<std::string> direct_fetcher_ids_;  // empty: through the forwarder
};

}  // namespace feedcrawl::testing
