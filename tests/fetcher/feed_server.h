// FeedServer: an in-process HTTP server on 127.0.0.1 with a random port, serving the responses
// the fetcher must handle (feeds with validators, gzip, errors, redirects, slow and huge bodies).
// Started by the constructor, stopped by the destructor; handlers run on the server's own threads,
// so the counters are atomics.
#pragma once

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace feedcrawl::test {

// The body of /feed.xml, and its validators.
extern const char kFeedBody[];
extern const char kFeedEtag[];
extern const char kFeedLastModified[];

class FeedServer {
 public:
  FeedServer();
  ~FeedServer();
  FeedServer(const FeedServer&) = delete;
  FeedServer& operator=(const FeedServer&) = delete;

  std::string Url(const std::string& path_and_query) const;
  int port() const { return port_; }
  // Requests that reached a handler.
  int requests() const { return requests_.load(); }
  // Lets every /hold request answer.
  void ReleaseHeld() { release_held_ = true; }
  std::string last_accept_encoding() const;
  // Connections that carried a request (told apart by the client's port; loopback only).
  size_t connections() const;

 private:
  void AddRoutes();
  // Sleeps up to `ms`, returning early when the server stops.
  void Nap(int ms) const;

  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  std::atomic<int> requests_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> release_held_{false};
  mutable std::mutex mutex_;
  std::string last_accept_encoding_;
  std::set<int> client_ports_;
};

// gzip (RFC 1952) of `data`.
std::string Gzip(const std::string& data);

// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
int UnusedPort();

}  // namespace feedcrawl::test
