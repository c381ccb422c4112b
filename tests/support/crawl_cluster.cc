#include "tests/support/crawl_cluster.h"

#include <httplib.h>

#include <algorithm>
#include <csignal>
#include <set>
#include <utility>

#include "tests/support/test_env.h"

namespace feedcrawl::testing {

StatusOr<CoordinatorEndpoints> FreeCoordinatorEndpoints() {
  std::set<int> ports;
  // FreeTcpPort may hand out the same port twice in a row, since nothing holds it.
  for (int tries = 0; ports.size() < 3 && tries < 50; ++tries) {
    StatusOr<int> port = FreeTcpPort();
    if (!port.ok()) return port.status();
    ports.insert(*port);
  }
  if (ports.size() < 3) return Status::Unavailable("no three free loopback ports");
  std::vector<std::string> addresses;
  for (int port : ports) addresses.push_back("tcp://127.0.0.1:" + std::to_string(port));
  CoordinatorEndpoints endpoints;
  endpoints.control_bind = endpoints.control = addresses[0];
  endpoints.results_in_bind = endpoints.results_in = addresses[1];
  endpoints.results_out_bind = endpoints.results_out = addresses[2];
  return endpoints;
}

StatusOr<std::unique_ptr<TestFeedServer>> TestFeedServer::Start(
    const std::string& bin_dir, const std::string& root, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"--root", root, "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions options;
  options.capture_stdout = true;
  auto process = Subprocess::Start(bin_dir + "/feedcrawl-testserver", argv, options);
  if (!process.ok()) return process.status();
  auto line = (*process)->ReadLine(10'000);
  if (!line.ok()) return line.status();
  const std::string marker = "listening on ";
  if (line->rfind(marker, 0) != 0) return Status::Internal("test server said: " + *line);
  auto server = std::unique_ptr<TestFeedServer>(new TestFeedServer());
  server->process_ = std::move(*process);
  server->base_url_ = line->substr(marker.size());
  server->port_ = std::stoi(server->base_url_.substr(server->base_url_.rfind(':') + 1));
  return server;
}

StatusOr<nlohmann::json> TestFeedServer::Stats() const {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(10, 0);
  auto response = client.Get("/_stats");
  if (!response || response->status != 200) {
    return Status::Unavailable("GET /_stats failed on " + base_url_);
  }
  auto json = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Status::Internal("/_stats is not JSON");
  return json;
}

uint64_t TestFeedServer::RequestsFor(const nlohmann::json& stats, const std::string& path) {
  auto by_path = stats.find("by_path");
  if (by_path == stats.end()) return 0;
  auto it = by_path->find(path);
  return it == by_path->end() ? 0 : it->get<uint64_t>();
}

Status TestFeedServer::Pause() { return process_->Signal(SIGSTOP); }

Status TestFeedServer::Resume() { return process_->Signal(SIGCONT); }

CrawlCluster::CrawlCluster(std::string bin_dir, std::string redis_url,
                           CoordinatorEndpoints endpoints, std::string log_dir)
    : bin_dir_(std::move(bin_dir)),
      redis_url_(std::move(redis_url)),
      endpoints_(std::move(endpoints)),
      log_dir_(std::move(log_dir)) {}

StatusOr<std::unique_ptr<Subprocess>> CrawlCluster::Launch(const std::string& program,
                                                           const std::string& log_name,
                                                           std::vector<std::string> args) {
  SubprocessOptions options;
  options.stderr_path = log_dir_ + "/" + log_name + ".log";
  // Settings from the environment of whoever runs the tests must not leak into the roles.
  options.unset_env = {"FEEDCRAWL_REDIS", "FEEDCRAWL_PREFIX", "FEEDCRAWL_ONCE"};
  if (std::find(log_files_.begin(), log_files_.end(), options.stderr_path) == log_files_.end()) {
    log_files_.push_back(options.stderr_path);
  }
  return Subprocess::Start(bin_dir_ + "/" + program, args, options);
}

void CrawlCluster::UseDirectDataPlane(std::vector<std::string> fetcher_ids) {
  direct_fetcher_ids_ = std::move(fetcher_ids);
}

std::string CrawlCluster::FetcherResultsEndpoint(const std::string& id) const {
  return "ipc://" + log_dir_ + "/results-" + id + ".sock";
}

StatusOr<std::unique_ptr<Subprocess>> CrawlCluster::StartCoordinator(
    const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"--redis", redis_url_, "--control-bind",
                                   endpoints_.control_bind};
  if (direct_fetcher_ids_.empty()) {
    argv.insert(argv.end(), {"--results-in-bind", endpoints_.results_in_bind,
                             "--results-out-bind", endpoints_.results_out_bind});
  } else {
    argv.push_back("--no-results-forwarder");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return Launch("feedcrawl-coordinator", "coordinator", std::move(argv));
}

StatusOr<std::unique_ptr<Subprocess>> CrawlCluster::StartFetcher(
    const std::string& id, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"--id", id, "--control", endpoints_.control,
                                   "--allow-private-networks"};
  if (direct_fetcher_ids_.empty()) {
    argv.insert(argv.end(), {"--results", endpoints_.results_in});
  } else {
    argv.insert(argv.end(), {"--results-bind", FetcherResultsEndpoint(id)});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return Launch("feedcrawl-fetcher", "fetcher-" + id, std::move(argv));
}

StatusOr<std::unique_ptr<Subprocess>> CrawlCluster::StartProcessor(
    const std::string& id, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"--id", id, "--redis", redis_url_, "--control",
                                   endpoints_.control};
  if (direct_fetcher_ids_.empty()) {
    argv.insert(argv.end(), {"--results", endpoints_.results_out});
  }
  for (const std::string& fetcher : direct_fetcher_ids_) {
    argv.insert(argv.end(), {"--results", FetcherResultsEndpoint(fetcher)});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return Launch("feedcrawl-processor", "processor-" + id, std::move(argv));
}

std::string CrawlCluster::Logs(size_t max_bytes) const {
  std::string out;
  for (const std::string& file : log_files_) {
    StatusOr<std::string> text = ReadFile(file);
    if (!text.ok()) continue;
    const size_t start = text->size() > max_bytes ? text->size() - max_bytes : 0;
    out += "==== " + file + " ====\n" + text->substr(start) + "\n";
  }
  return out;
}

}  // namespace feedcrawl::testing
