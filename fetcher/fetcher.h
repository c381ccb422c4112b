// Fetcher: the fetcher role's event loop. It asks the coordinator for work by granting credits
// (one per free transfer slot) on a DEALER control socket, runs every FetchJob it receives at
// once on an HttpClient, and pushes each FetchResult (envelope frame + body frame) to the results
// endpoint. A slot stays busy until its result has been handed to ZeroMQ, so when processors fall
// behind no new credit is granted and memory stays bounded by `concurrency` jobs. It heartbeats,
// says Hello again when the coordinator restarts or goes silent, and on stop drains in-flight
// transfers before handing back unfinished jobs in a Goodbye.
//
// Run() owns the loop and every socket; call it from one thread. RequestStop() and Stats() may be
// called from any thread, and RequestStop() also from a signal handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "common/wire.h"
#include "fetcher/http_client.h"

namespace feedcrawl {

struct FetcherOptions {
  std::string control_endpoint = "tcp://127.0.0.1:7301";  // coordinator's ROUTER
  std::string results_endpoint = "tcp://127.0.0.1:7302";  // results forwarder's PULL
  // When set, the results socket binds here instead of connecting to results_endpoint, and
  // processors connect to it (the direct data plane, with no forwarder between the two). Not
  // with CURVE: meant for ipc:// endpoints and hosts that trust each other.
  std::string results_bind;
  std::string worker_id;                                  // required; DEALER routing id
  uint32_t concurrency = 256;                             // transfer slots
  int heartbeat_ms = 1000;
  int drain_ms = 10'000;  // how long a stop waits for transfers in flight
  // Freed slots are offered to the coordinator in batches of concurrency / 16, or once the
  // first of them has waited this long: one Credit per freed slot cost both ends a message,
  // and the coordinator a dispatch with its store round trip, for every job.
  int credit_delay_ms = 5;
  // Results queued inside ZeroMQ beyond the `concurrency` held by the loop. Small on purpose:
  // every queued result may carry a body of up to max_body_bytes.
  int results_send_hwm = 16;
  HttpClientOptions http;
  WireSecurity security;  // CURVE client of the coordinator when enabled
};

// Counters, readable while the loop runs.
struct FetcherStats {
  uint32_t active = 0;           // transfers in flight
  uint32_t pending_results = 0;  // finished, their body or report not yet taken by a socket
  uint64_t jobs_received = 0;
  uint64_t processed = 0;         // results handed off
  uint64_t errors = 0;            // handed-off results whose outcome is neither ok nor 304
  uint64_t credits_granted = 0;   // sum of every Credit sent
  uint64_t dropped_messages = 0;  // unreadable or unexpected control messages
  uint64_t hellos_sent = 0;
};

class Fetcher {
 public:
  Fetcher(FetcherOptions options, WireContext& context,
          const Clock& clock = SystemClock::Instance());
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Connects, says Hello, and serves jobs until RequestStop(); then drains and says Goodbye.
  // Returns an error only when it cannot start (bad endpoint, no HTTP client).
  Status Run();

  // Asks Run() to stop within about 200 ms. Only stores an atomic flag: async-signal-safe.
  void RequestStop() { stop_requested_.store(true); }

  FetcherStats Stats() const;

 private:
  struct Loop;

  FetcherOptions options_;
  WireContext& context_;
  const Clock& clock_;
  std::atomic<bool> stop_requested_{false};

  std::atomic<uint32_t> active_{0};
  std::atomic<uint32_t> pending_results_{0};
  std::atomic<uint64_t> jobs_received_{0};
  std::atomic<uint64_t> processed_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> credits_granted_{0};
  std::atomic<uint64_t> dropped_messages_{0};
  std::atomic<uint64_t> hellos_sent_{0};
};

// The feedcrawl-fetcher command line: parses flags (each with a FEEDCRAWL_* environment
// variable), sets up logging and signals, and runs a Fetcher. Returns the process exit code.
int FetcherMain(int argc, char** argv);

}  // namespace feedcrawl
