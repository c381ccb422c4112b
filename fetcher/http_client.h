// HttpClient: many concurrent HTTP(S) transfers driven from one thread. A job goes in with
// Start(); the caller waits with Wait() (which can also watch one more file descriptor, such as a
// ZeroMQ socket's) and collects finished transfers with Collect(). Every started job comes back
// exactly once, as a FetchResult plus its decompressed body; network and HTTP failures are
// outcomes in the result, never a Status. NewCurlHttpClient() builds the libcurl implementation
// (the only code in feedcrawl that includes curl).
//
// Not thread-safe: one thread owns a client and makes every call on it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "proto/feedcrawl.pb.h"

namespace feedcrawl {

inline constexpr char kDefaultUserAgent[] =
    "feedcrawl/0.1 (+https://github.com/feedcrawl/feedcrawl)";

// Limits used when a FetchJob leaves the field at 0.
inline constexpr uint64_t kDefaultMaxBodyBytes = 10ull << 20;
inline constexpr uint32_t kDefaultConnectTimeoutMs = 10'000;
inline constexpr uint32_t kDefaultTotalTimeoutMs = 30'000;
inline constexpr uint32_t kDefaultMaxRedirects = 5;

struct HttpClientOptions {
  std::string user_agent = kDefaultUserAgent;
  // Proxy URL for every transfer. Empty: libcurl's usual variables (http_proxy, https_proxy,
  // no_proxy, ...) decide. The address guard sees the proxy's address, not the feed's, so a proxy
  // on a private address needs allow_private_networks.
  std::string proxy;
  // When false, connections to loopback, private, link-local and metadata addresses are refused
  // (OUTCOME_BLOCKED), on every redirect hop.
  bool allow_private_networks = false;
  // A transfer slower than this many bytes per second for low_speed_time_s is aborted (TIMEOUT).
  uint32_t low_speed_bytes_per_s = 1024;
  uint32_t low_speed_time_s = 15;
  // Written into FetchResult.fetcher_id.
  std::string fetcher_id;
};

struct FetchCompletion {
  feedcrawl::v1::FetchResult result;
  // The decompressed body; only an OUTCOME_OK result carries one.
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Begins fetching `job` at once. Never blocks. A job that cannot even be started (out of
  // memory, a refused option) still completes, with an error outcome, on the next Collect().
  virtual void Start(const feedcrawl::v1::FetchJob& job) = 0;

  // Blocks until a transfer needs attention, one of `extra_fds` (negative ones are ignored)
  // becomes readable, Wakeup() is called, or `timeout_ms` passes, whichever is first.
  virtual Status Wait(std::initializer_list<int> extra_fds, int timeout_ms) = 0;

  // Moves every transfer forward without blocking and returns those that finished.
  virtual std::vector<FetchCompletion> Collect() = 0;

  // Makes a concurrent or future Wait() return early. The only method callable from any thread.
  virtual void Wakeup() = 0;

  // Transfers started and not yet returned by Collect().
  virtual size_t active() const = 0;

  // Abandons every transfer in flight and returns their jobs, unfinished.
  virtual std::vector<feedcrawl::v1::FetchJob> AbortAll() = 0;
};

// The libcurl implementation: one multi handle, a pool of reused easy handles, shared DNS,
// connection and TLS session caches, HTTP/2 where the server offers it.
StatusOr<std::unique_ptr<HttpClient>> NewCurlHttpClient(const HttpClientOptions& options,
                                                        const Clock& clock);

// What a fetcher reports as a 200's `body_digest`: the body's length in hex, a dash, and the
// 128-bit XXH3 hash of its bytes (after any Content-Encoding is undone) in 32 hex digits. XXH3's
// output is fixed by its specification, so fetchers of any build, library version or machine
// give a body the same digest, and a digest stored by one is recognised by the others. Equal
// digests are taken as equal bodies; two different bodies would have to collide in length and in
// 128 bits.
std::string BodyDigest(std::string_view body);

// Runs `job` alone to completion on `client`, which must have nothing else in flight. For tests
// and one-shot tools.
FetchCompletion FetchNow(HttpClient& client, const feedcrawl::v1::FetchJob& job);

}  // namespace feedcrawl
