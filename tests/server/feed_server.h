// The test feed server: serves a folder of feeds over HTTP/1.1 with validators (ETag,
// Last-Modified, 304), gzip, keep-alive and a thread pool, injects faults per path (see
// fault_spec.h), and reports counters at GET /_stats (GET /_stats/reset clears them). Tests,
// the demo and the benchmarks all run it as the `feedcrawl-testserver` executable.
// Bind() and Run() are called once from one thread; Stop() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "tests/server/fault_spec.h"

namespace feedcrawl::testserver {

struct ServerOptions {
  std::string root;  // folder served at "/"
  std::string bind = "127.0.0.1";
  int port = 0;               // 0 picks a free port
  std::string faults_file;    // optional JSON {"/path": {fault}}
  int threads = 8;            // worker threads; each serves one connection at a time
  bool log_requests = false;  // one line per request on stderr
  size_t max_cached_bytes = size_t{256} << 20;
  int keep_alive_timeout_s = 1;  // an idle keep-alive connection holds a worker this long
  int keep_alive_max_requests = 100;
};

class FeedServer {
 public:
  // Checks the options and loads the faults file.
  static StatusOr<std::unique_ptr<FeedServer>> Create(const ServerOptions& options);
  ~FeedServer();

  // Binds and listens; returns the port. Connections queue from here on.
  StatusOr<int> Bind();
  // Serves until Stop(). Returns an error if the listening socket failed.
  Status Run();
  // Stops accepting, cuts delays and drips short, waits for nothing. Safe to call more than once.
  void Stop();

 private:
  class Impl;
  explicit FeedServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Content-Type for a file name, by extension.
std::string ContentTypeForPath(const std::string& path);

}  // namespace feedcrawl::testserver
