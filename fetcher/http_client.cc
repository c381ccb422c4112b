#include "fetcher/http_client.h"

#include <curl/curl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/ascii.h"
#include "common/url.h"
#include "fetcher/address_policy.h"

namespace feedcrawl {

std::string BodyDigest(std::string_view body) {
  const XXH128_hash_t hash = XXH3_128bits(body.data(), body.size());
  char buffer[56];
  const int n = std::snprintf(buffer, sizeof(buffer), "%zx-%016" PRIx64 "%016" PRIx64,
                              body.size(), static_cast<uint64_t>(hash.high64),
                              static_cast<uint64_t>(hash.low64));
  return std::string(buffer, static_cast<size_t>(n));
}

namespace {

namespace v1 = feedcrawl::v1;

// An HTTP error keeps only this much of its body, for the error message; the rest is not read.
constexpr size_t kErrorSnippetBytes = 200;
// libcurl's receive buffer per transfer.
constexpr long kReceiveBufferBytes = 64 * 1024;
// At most this much room is taken ahead for a body, whatever length its response announces.
constexpr size_t kMaxReservedBodyBytes = 1 << 20;
// Captured header values are capped so a hostile server cannot grow a result without bound.
constexpr size_t kMaxHeaderValueBytes = 2048;
// Idle easy handles kept for reuse; beyond this they are freed.
constexpr size_t kMaxPooledHandles = 4096;

enum class BodyMode { kUndecided, kKeep, kSnippet };

struct ResponseHeaders {
  std::string reason;
  std::string etag;
  std::string last_modified;
  std::string content_type;
  std::string cache_control;
  std::string expires;
  std::string retry_after;
};

// The sockets in the transfers' epoll set, by descriptor. libcurl names a socket to watch when a
// transfer needs it and forgets it when the transfer is done, so a connection kept for the next
// job would leave the set and join it again for every job: two epoll_ctl calls per fetch, a
// fifth of the fetcher's system calls in a pass of 304s. A connection socket (opened and closed
// through libcurl's socket callbacks, so its descriptor's reuse is seen) therefore stays in the
// set while libcurl does not watch it; if it turns ready meanwhile (its server closed it), it
// leaves the set then, once. Other sockets (the resolver's) come and go as libcurl says.
class EpollSet {
 public:
  explicit EpollSet(int epoll_fd) : epoll_fd_(epoll_fd) {}

  // A connection socket libcurl has just opened, or is about to close.
  void Opened(int fd) { At(fd) = State{0, true, false}; }
  void Closed(int fd) {
    if (fd >= 0 && static_cast<size_t>(fd) < states_.size()) states_[fd] = State{};
  }

  // libcurl wants `events` on fd. False (errno set) when epoll refused.
  bool Watch(int fd, uint32_t events) {
    State& state = At(fd);
    state.watched = true;
    // Only a connection socket's entry is known to be current (its close is seen); any other is
    // told to epoll every time, as libcurl names it.
    if (state.connection && state.events == events) return true;
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    const int first = state.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    const int second = first == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(epoll_fd_, first, fd, &event) != 0 &&
        epoll_ctl(epoll_fd_, second, fd, &event) != 0) {
      state.events = 0;
      return false;
    }
    state.events = events;
    return true;
  }

  // libcurl no longer watches fd: a connection socket stays in the set, others leave it.
  void Unwatch(int fd) {
    State& state = At(fd);
    state.watched = false;
    if (!state.connection) Remove(fd);
  }

  // An event on fd: true when libcurl watches it. A kept connection socket that turned ready
  // leaves the set, so that it does not wake every wait until libcurl closes or reuses it.
  bool Ready(int fd) {
    State& state = At(fd);
    if (state.watched) return true;
    Remove(fd);
    return false;
  }

 private:
  struct State {
    uint32_t events = 0;      // what the epoll set has for it (0: not in the set)
    bool connection = false;  // opened through the open-socket callback
    bool watched = false;     // libcurl watches it now
  };
  State& At(int fd) {
    const size_t index = static_cast<size_t>(fd);
    if (index >= states_.size()) states_.resize(index + 64);
    return states_[index];
  }
  void Remove(int fd) {
    State& state = At(fd);
    // If it is closed already, so is its entry.
    if (state.events != 0) (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    state.events = 0;
  }

  int epoll_fd_;
  std::vector<State> states_;
};

// Everything one transfer owns. Its address is the curl callbacks' user data, so it never moves
// while the transfer runs.
struct Transfer {
  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() { curl_slist_free_all(request_headers); }

  CURL* easy = nullptr;
  v1::FetchJob job;
  uint64_t max_body_bytes = 0;
  bool allow_private_networks = false;
  EpollSet* sockets = nullptr;  // the client's, for the socket callbacks
  curl_slist* request_headers = nullptr;
  ResponseHeaders headers;
  BodyMode body_mode = BodyMode::kUndecided;
  std::string body;
  uint64_t received_bytes = 0;
  bool too_large = false;
  bool error_body_cut = false;  // an HTTP error's body was cut short on purpose
  std::string blocked_address;
  // Redirect hops seen so far, and whether any was temporary (302, 303, 307): only an all-301/308
  // chain lets the scheduler move the feed to its new address.
  uint32_t redirect_hops = 0;
  bool temporary_redirect = false;
  bool http1_only = false;  // this transfer was told not to try HTTP/2
  char error[CURL_ERROR_SIZE] = {};
};

bool IsRedirectStatus(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Errors that the HTTP/2 layer alone produces: the host gets HTTP/1.1 from then on.
bool IsHttp2Failure(CURLcode code) { return code == CURLE_HTTP2 || code == CURLE_HTTP2_STREAM; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Stored validators are raw header values; a line break in one must not become a new header.
std::string HeaderSafe(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  }
  return out;
}

// Printable one-line text for error messages.
std::string Printable(std::string_view text, size_t limit) {
  std::string out;
  for (char c : text) {
    if (out.size() >= limit) break;
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else if (u >= 0x20 && u < 0x7F) {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t length = size * count;
  const std::string_view line(data, length);
  if (line.size() >= 5 && line.compare(0, 5, "HTTP/") == 0) {
    // Each status line starts a new response (a redirect hop, 100 Continue): only the final
    // response's headers describe the body we keep.
    transfer->headers = ResponseHeaders();
    transfer->body_mode = BodyMode::kUndecided;
    const size_t code_start = line.find(' ');
    if (code_start != std::string_view::npos && line.size() >= code_start + 4) {
      const std::string_view code = line.substr(code_start + 1, 3);
      int status = 0;
      for (char c : code) {
        status = std::isdigit(static_cast<unsigned char>(c)) ? status * 10 + (c - '0') : -1000;
      }
      if (IsRedirectStatus(status)) {
        ++transfer->redirect_hops;
        if (status != 301 && status != 308) transfer->temporary_redirect = true;
      }
    }
    const size_t reason_start =
        code_start == std::string_view::npos ? code_start : line.find(' ', code_start + 1);
    if (reason_start != std::string_view::npos) {
      transfer->headers.reason = Printable(line.substr(reason_start + 1), kErrorSnippetBytes);
    }
    return length;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return length;
  const std::string_view name = TrimAsciiSpace(line.substr(0, colon));
  const std::string_view value =
      TrimAsciiSpace(line.substr(colon + 1)).substr(0, kMaxHeaderValueBytes);
  ResponseHeaders& h = transfer->headers;
  if (EqualsIgnoreCase(name, "etag")) {
    h.etag = value;
  } else if (EqualsIgnoreCase(name, "last-modified")) {
    h.last_modified = value;
  } else if (EqualsIgnoreCase(name, "content-type")) {
    h.content_type = value;
  } else if (EqualsIgnoreCase(name, "cache-control")) {
    // Repeated Cache-Control headers are one comma-separated list (RFC 9110 section 5.3).
    if (!h.cache_control.empty() && h.cache_control.size() < kMaxHeaderValueBytes) {
      h.cache_control += ", ";
    }
    if (h.cache_control.size() < kMaxHeaderValueBytes) h.cache_control += value;
  } else if (EqualsIgnoreCase(name, "expires")) {
    h.expires = value;
  } else if (EqualsIgnoreCase(name, "retry-after")) {
    h.retry_after = value;
  }
  return length;
}

// A body announced with its length gets its room at once instead of growing by doubling (three
// copies for a 36 KB feed). The announced length is a hint: a body can be compressed (the
// decompressed one is longer) or shorter than announced, so the room is capped and the limit
// on received bytes still applies.
void ReserveAnnouncedBody(Transfer& transfer) {
  curl_off_t announced = -1;
  if (curl_easy_getinfo(transfer.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) != CURLE_OK ||
      announced <= 0) {
    return;
  }
  const size_t room = std::min({static_cast<size_t>(announced), transfer.max_body_bytes,
                                kMaxReservedBodyBytes});
  transfer.body.reserve(room);
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t length = size * count;
  if (transfer->body_mode == BodyMode::kUndecided) {
    long status = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    transfer->body_mode = status >= 200 && status < 300 ? BodyMode::kKeep : BodyMode::kSnippet;
    if (transfer->body_mode == BodyMode::kKeep) ReserveAnnouncedBody(*transfer);
  }
  if (transfer->body_mode == BodyMode::kSnippet) {
    const size_t room = kErrorSnippetBytes - transfer->body.size();
    transfer->body.append(data, std::min(room, length));
    if (transfer->body.size() < kErrorSnippetBytes) return length;
    // Enough for the message; the rest of an error page is not worth reading.
    transfer->error_body_cut = true;
    return 0;
  }
  // The limit applies to decompressed bytes, which is what a compression bomb inflates.
  transfer->received_bytes += length;
  if (transfer->received_bytes > transfer->max_body_bytes) {
    transfer->too_large = true;
    std::string().swap(transfer->body);
    return 0;
  }
  transfer->body.append(data, length);
  return length;
}

curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, struct curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  if (!transfer->allow_private_networks && IsNonPublicAddress(&address->addr)) {
    // Remembered so the failed connect is reported as a policy refusal, not a network error.
    transfer->blocked_address = AddressToString(&address->addr);
    return CURL_SOCKET_BAD;
  }
  const curl_socket_t fd = socket(address->family, address->socktype, address->protocol);
  if (fd != CURL_SOCKET_BAD) transfer->sockets->Opened(fd);
  return fd;
}

// Every connection socket opened above is closed here (libcurl keeps the callback with the
// connection, whichever transfer ends it).
int OnCloseSocket(void* sockets, curl_socket_t fd) {
  static_cast<EpollSet*>(sockets)->Closed(fd);
  return close(fd);
}

bool IsTlsError(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return true;
    default:
      return false;
  }
}

v1::Outcome OutcomeForCurlError(CURLcode code) {
  if (IsTlsError(code)) return v1::OUTCOME_TLS_ERROR;
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return v1::OUTCOME_DNS_ERROR;
    case CURLE_COULDNT_CONNECT:
      return v1::OUTCOME_CONNECT_ERROR;
    case CURLE_OPERATION_TIMEDOUT:
      return v1::OUTCOME_TIMEOUT;
    case CURLE_TOO_MANY_REDIRECTS:
      return v1::OUTCOME_TOO_MANY_REDIRECTS;
    case CURLE_FILESIZE_EXCEEDED:
      return v1::OUTCOME_TOO_LARGE;
    default:
      return v1::OUTCOME_NETWORK_ERROR;
  }
}

std::string HttpErrorMessage(long status, const Transfer& transfer) {
  std::string message = "HTTP " + std::to_string(status);
  std::string detail = transfer.headers.reason;
  if (detail.empty())
    detail = Printable(transfer.body, kErrorSnippetBytes);  // HTTP/2 has no reason
  if (!detail.empty()) message += ": " + detail;
  return message;
}

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient(HttpClientOptions options, const Clock& clock)
      : options_(std::move(options)), clock_(clock) {}

  ~CurlHttpClient() override {
    AbortAll();
    for (CURL* easy : pool_) curl_easy_cleanup(easy);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);  // may still call OnSocket
    // The share goes last: easy handles must have let go of it first.
    if (share_ != nullptr) curl_share_cleanup(share_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  Status Init() {
    multi_ = curl_multi_init();
    share_ = curl_share_init();
    if (multi_ == nullptr || share_ == nullptr)
      return Status::Internal("cannot create libcurl handles");
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      return Status::Internal(std::string("cannot create the transfers' event descriptors: ") +
                              std::strerror(errno));
    }
    sockets_ = std::make_unique<EpollSet>(epoll_fd_);
    // libcurl's socket interface: it names the sockets to watch and when its next timeout is
    // due, and is told which socket is ready. The alternative (curl_multi_poll, then
    // curl_multi_perform) visits every transfer on every wake-up and polls each one's socket
    // again, so its cost grows with the transfers in flight rather than with the ones ready.
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlHttpClient::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlHttpClient::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    // The multi handle already shares connections between its transfers; the share adds TLS
    // sessions, so a repeat visit to an HTTPS host skips the full handshake. (No DNS cache: see
    // Configure.)
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    return Status::Ok();
  }

  void Start(const v1::FetchJob& job) override {
    StartTransfer(job, http1_hosts_.count(UrlHost(job.url())) != 0);
  }

  Status Wait(std::initializer_list<int> extra_fds, int timeout_ms) override {
    if (!failed_starts_.empty()) return Status::Ok();  // something is ready already
    int64_t timeout = std::max(timeout_ms, 0);
    if (timer_deadline_ms_) {
      timeout = std::min(timeout, std::max<int64_t>(*timer_deadline_ms_ - SteadyMs(), 0));
    }
    pollfd fds[2 + 4] = {{epoll_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    nfds_t count = 2;
    for (int fd : extra_fds) {
      if (fd < 0 || count == std::size(fds)) continue;
      fds[count++] = {fd, POLLIN, 0};
    }
    if (poll(fds, count, static_cast<int>(timeout)) < 0) {
      if (errno == EINTR) return Status::Ok();
      return Status::Internal(std::string("poll: ") + std::strerror(errno));
    }
    sockets_ready_ = fds[0].revents != 0;
    if (fds[1].revents != 0) {
      uint64_t wakeups = 0;
      (void)!read(wake_fd_, &wakeups, sizeof(wakeups));
    }
    return Status::Ok();
  }

  std::vector<FetchCompletion> Collect() override {
    std::vector<FetchCompletion> done = std::move(failed_starts_);
    failed_starts_.clear();
    // The sockets epoll found ready, then libcurl's timeout if it is due (connects, timeouts,
    // transfers just added).
    epoll_event events[64];
    while (sockets_ready_) {
      const int n = epoll_wait(epoll_fd_, events, static_cast<int>(std::size(events)), 0);
      for (int i = 0; i < n; ++i) {
        int mask = 0;
        if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
        if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
        if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
        if (sockets_->Ready(events[i].data.fd)) Act(events[i].data.fd, mask);
      }
      sockets_ready_ = n == static_cast<int>(std::size(events));
    }
    if (timer_deadline_ms_ && SteadyMs() >= *timer_deadline_ms_) {
      timer_deadline_ms_.reset();  // OnTimer sets the next one
      Act(CURL_SOCKET_TIMEOUT, 0);
    }
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      const CURLcode result = message->data.result;
      auto it = transfers_.find(easy);
      if (it == transfers_.end()) continue;
      if (IsHttp2Failure(result) && !it->second->http1_only) {
        // A server that offers HTTP/2 but gets it wrong: this host is fetched over HTTP/1.1 from
        // now on, and this job is tried again at once rather than failed.
        const std::string host = UrlHost(it->second->job.url());
        spdlog::info("HTTP/2 failed for {} ({}); falling back to HTTP/1.1", host,
                     curl_easy_strerror(result));
        http1_hosts_.insert(host);
        v1::FetchJob job = std::move(it->second->job);
        curl_multi_remove_handle(multi_, easy);
        transfers_.erase(it);
        ReleaseEasy(easy);
        StartTransfer(job, /*http1_only=*/true);
        continue;
      }
      done.push_back(Finish(*it->second, result));
      curl_multi_remove_handle(multi_, easy);
      transfers_.erase(it);
      ReleaseEasy(easy);
    }
    return done;
  }

  void Wakeup() override {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }

  size_t active() const override { return transfers_.size() + failed_starts_.size(); }

  std::vector<v1::FetchJob> AbortAll() override {
    std::vector<v1::FetchJob> jobs;
    for (auto& [easy, transfer] : transfers_) {
      curl_multi_remove_handle(multi_, easy);
      jobs.push_back(std::move(transfer->job));
      ReleaseEasy(easy);
    }
    transfers_.clear();
    for (auto& failed : failed_starts_) jobs.push_back(std::move(*failed.result.mutable_job()));
    failed_starts_.clear();
    return jobs;
  }

 private:
  static int64_t SteadyMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // Lets libcurl work on a ready socket (or its due timeout); finished transfers are read from
  // curl_multi_info_read, so the running count it returns is not needed.
  void Act(curl_socket_t socket, int mask) {
    int running = 0;
    const CURLMcode code = curl_multi_socket_action(multi_, socket, mask, &running);
    if (code != CURLM_OK) {
      spdlog::warn("curl_multi_socket_action: {}", curl_multi_strerror(code));
    }
  }

  // libcurl names a socket to watch (for reading, writing or both) or to forget.
  static int OnSocket(CURL* /*easy*/, curl_socket_t socket, int what, void* self_pointer,
                      void* /*socket_pointer*/) {
    auto* self = static_cast<CurlHttpClient*>(self_pointer);
    if (what == CURL_POLL_REMOVE) {
      self->sockets_->Unwatch(socket);
      return 0;
    }
    uint32_t events = (what & CURL_POLL_IN) ? EPOLLIN : 0u;
    if (what & CURL_POLL_OUT) events |= EPOLLOUT;
    if (!self->sockets_->Watch(socket, events)) {
      // libcurl fails every transfer of the multi handle, each with its error: none is lost.
      spdlog::error("cannot watch a transfer's socket: {}", std::strerror(errno));
      return -1;
    }
    return 0;
  }

  // libcurl's next timeout: -1 removes it, 0 asks for one at once.
  static int OnTimer(CURLM* /*multi*/, long timeout_ms, void* self_pointer) {
    auto* self = static_cast<CurlHttpClient*>(self_pointer);
    if (timeout_ms < 0) {
      self->timer_deadline_ms_.reset();
    } else {
      self->timer_deadline_ms_ = SteadyMs() + timeout_ms;
    }
    return 0;
  }

  void StartTransfer(const v1::FetchJob& job, bool http1_only) {
    auto transfer = std::make_unique<Transfer>();
    transfer->job = job;
    transfer->http1_only = http1_only;
    transfer->max_body_bytes =
        job.max_body_bytes() > 0 ? job.max_body_bytes() : kDefaultMaxBodyBytes;
    transfer->allow_private_networks = options_.allow_private_networks;
    transfer->sockets = sockets_.get();
    transfer->easy = AcquireEasy();
    if (transfer->easy == nullptr) {
      failed_starts_.push_back(StartFailure(job, "cannot create a libcurl transfer"));
      return;
    }
    const CURLcode configured = Configure(*transfer);
    if (configured != CURLE_OK) {
      ReleaseEasy(transfer->easy);
      failed_starts_.push_back(StartFailure(
          job, std::string("cannot set up transfer: ") + curl_easy_strerror(configured)));
      return;
    }
    const CURLMcode added = curl_multi_add_handle(multi_, transfer->easy);
    if (added != CURLM_OK) {
      ReleaseEasy(transfer->easy);
      failed_starts_.push_back(
          StartFailure(job, std::string("cannot start transfer: ") + curl_multi_strerror(added)));
      return;
    }
    CURL* easy = transfer->easy;
    transfers_.emplace(easy, std::move(transfer));
  }

  CURL* AcquireEasy() {
    if (pool_.empty()) return curl_easy_init();
    CURL* easy = pool_.back();
    pool_.pop_back();
    return easy;
  }

  void ReleaseEasy(CURL* easy) {
    if (pool_.size() >= kMaxPooledHandles) {
      curl_easy_cleanup(easy);
      return;
    }
    // reset keeps the handle's caches but forgets every option, so no job leaks into the next.
    curl_easy_reset(easy);
    pool_.push_back(easy);
  }

  CURLcode Configure(Transfer& t) {
    const v1::FetchJob& job = t.job;
    const long connect_ms =
        job.connect_timeout_ms() > 0 ? job.connect_timeout_ms() : kDefaultConnectTimeoutMs;
    const long total_ms =
        job.total_timeout_ms() > 0 ? job.total_timeout_ms() : kDefaultTotalTimeoutMs;
    const long max_redirects = job.max_redirects() > 0 ? job.max_redirects() : kDefaultMaxRedirects;
    if (!job.etag().empty()) {
      t.request_headers = curl_slist_append(t.request_headers,
                                            ("If-None-Match: " + HeaderSafe(job.etag())).c_str());
    }
    if (!job.last_modified().empty()) {
      t.request_headers = curl_slist_append(
          t.request_headers, ("If-Modified-Since: " + HeaderSafe(job.last_modified())).c_str());
    }

    CURL* easy = t.easy;
    CURLcode rc = CURLE_OK;
    // Keeps the first failure; later calls still run but cannot hide it.
    auto check = [&rc](CURLcode code) {
      if (rc == CURLE_OK) rc = code;
    };
    check(curl_easy_setopt(easy, CURLOPT_URL, job.url().c_str()));
    check(curl_easy_setopt(easy, CURLOPT_PRIVATE, &t));
    check(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error));
    check(curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));
    check(curl_easy_setopt(easy, CURLOPT_SHARE, share_));
    // libcurl (7.88) walks its whole DNS cache on every transfer to drop stale names, so a
    // cache holding the last minute of a crawl over many hosts (its default) cost the fetcher
    // more than the fetches. Names are resolved per new connection; a kept connection needs none.
    check(curl_easy_setopt(easy, CURLOPT_DNS_CACHE_TIMEOUT, 0L));
    // It also walks its connection cache when a transfer ends and when the cache is full: a
    // connection no job of this host will reuse is closed rather than kept idle there.
    if (job.last_for_host()) check(curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L));
    check(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody));
    check(curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t));
    check(curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader));
    check(curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t));
    check(curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket));
    check(curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &t));
    check(curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, OnCloseSocket));
    check(curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, sockets_.get()));
    check(curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https"));
    check(curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
    check(curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""));  // every encoding libcurl has
    // HTTP/2 is negotiated by ALPN on TLS only; cleartext and fallen-back hosts speak HTTP/1.1.
    check(curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                           static_cast<long>(t.http1_only ? CURL_HTTP_VERSION_1_1
                                                          : CURL_HTTP_VERSION_2TLS)));
    check(curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L));
    check(curl_easy_setopt(easy, CURLOPT_MAXREDIRS, max_redirects));
    check(curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms));
    check(curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, total_ms));
    check(curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT,
                           static_cast<long>(options_.low_speed_bytes_per_s)));
    check(curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
                           static_cast<long>(options_.low_speed_time_s)));
    // Refuses a body announced (Content-Length) as too large before reading any of it.
    check(curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                           static_cast<curl_off_t>(t.max_body_bytes)));
    // A receive buffer of 64 KB instead of libcurl's 16 KB: a typical feed then arrives in one
    // read and one body callback rather than three of each.
    check(curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, kReceiveBufferBytes));
    check(curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str()));
    check(curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L));
    if (t.request_headers != nullptr) {
      check(curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.request_headers));
    }
    if (!options_.proxy.empty())
      check(curl_easy_setopt(easy, CURLOPT_PROXY, options_.proxy.c_str()));
    return rc;
  }

  FetchCompletion Finish(Transfer& t, CURLcode code) {
    FetchCompletion done;
    v1::FetchResult& r = done.result;
    long status = 0;
    char* effective_url = nullptr;
    long redirects = 0;
    curl_off_t total_us = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t.easy, CURLINFO_EFFECTIVE_URL, &effective_url);
    curl_easy_getinfo(t.easy, CURLINFO_REDIRECT_COUNT, &redirects);
    curl_easy_getinfo(t.easy, CURLINFO_TOTAL_TIME_T, &total_us);

    *r.mutable_job() = std::move(t.job);
    r.set_http_status(static_cast<int32_t>(status));
    r.set_etag(t.headers.etag);
    r.set_last_modified(t.headers.last_modified);
    r.set_content_type(t.headers.content_type);
    r.set_cache_control(t.headers.cache_control);
    r.set_expires(t.headers.expires);
    r.set_retry_after(t.headers.retry_after);
    if (effective_url != nullptr) r.set_effective_url(effective_url);
    r.set_redirects(static_cast<uint32_t>(redirects));
    r.set_permanent_redirect(redirects > 0 && t.redirect_hops > 0 && !t.temporary_redirect);
    r.set_fetched_at_ms(clock_.NowMs());
    r.set_total_time_ms(static_cast<uint32_t>(total_us / 1000));
    r.set_fetcher_id(options_.fetcher_id);

    const bool http_error = status != 0 && (status < 200 || status >= 300) && status != 304;
    // An error status is the outcome even when its body was cut short or announced as huge.
    const bool response_complete = code == CURLE_OK ||
                                   (code == CURLE_WRITE_ERROR && t.error_body_cut) ||
                                   (code == CURLE_FILESIZE_EXCEEDED && http_error);
    if (response_complete && http_error) {
      r.set_outcome(v1::OUTCOME_HTTP_ERROR);
      r.set_error(HttpErrorMessage(status, t));
    } else if (response_complete && status == 304) {
      r.set_outcome(v1::OUTCOME_NOT_MODIFIED);
    } else if (response_complete) {
      // Servers without validators (or with ones that change every time) send the same body
      // again: it is recognised here, and neither a processor nor Redis handles it again.
      // body_bytes always describes the body frame that goes with the result.
      r.set_body_digest(BodyDigest(t.body));
      if (!r.job().body_digest().empty() && r.job().body_digest() == r.body_digest()) {
        r.set_outcome(v1::OUTCOME_NOT_MODIFIED);
      } else {
        r.set_outcome(v1::OUTCOME_OK);
        done.body = std::move(t.body);
        r.set_body_bytes(done.body.size());
      }
    } else if (t.too_large || code == CURLE_FILESIZE_EXCEEDED) {
      r.set_outcome(v1::OUTCOME_TOO_LARGE);
      r.set_error("body larger than the limit of " + std::to_string(t.max_body_bytes) + " bytes");
    } else if (code == CURLE_COULDNT_CONNECT && !t.blocked_address.empty()) {
      r.set_outcome(v1::OUTCOME_BLOCKED);
      r.set_error("blocked: private address " + t.blocked_address);
    } else {
      r.set_outcome(OutcomeForCurlError(code));
      r.set_error(t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(code));
    }
    return done;
  }

  FetchCompletion StartFailure(const v1::FetchJob& job, std::string message) const {
    FetchCompletion done;
    *done.result.mutable_job() = job;
    done.result.set_outcome(v1::OUTCOME_NETWORK_ERROR);
    done.result.set_error(std::move(message));
    done.result.set_fetched_at_ms(clock_.NowMs());
    done.result.set_fetcher_id(options_.fetcher_id);
    return done;
  }

  const HttpClientOptions options_;
  const Clock& clock_;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  int epoll_fd_ = -1;  // the sockets libcurl asked to watch (and kept connections: EpollSet)
  std::unique_ptr<EpollSet> sockets_;
  int wake_fd_ = -1;   // an eventfd, for Wakeup()
  bool sockets_ready_ = true;                 // the last Wait saw a socket ready (or none ran)
  std::optional<int64_t> timer_deadline_ms_;  // libcurl's next timeout, steady clock
  std::vector<CURL*> pool_;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers_;
  std::vector<FetchCompletion> failed_starts_;
  std::unordered_set<std::string> http1_hosts_;  // hosts whose HTTP/2 failed
};

}  // namespace

StatusOr<std::unique_ptr<HttpClient>> NewCurlHttpClient(const HttpClientOptions& options,
                                                        const Clock& clock) {
  static std::once_flag global_init;
  static CURLcode global_result = CURLE_OK;
  std::call_once(global_init, [] {
    global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    spdlog::debug("libcurl {} (http2: {}, brotli: {}, zstd: {})", info->version,
                  (info->features & CURL_VERSION_HTTP2) != 0,
                  (info->features & CURL_VERSION_BROTLI) != 0,
                  (info->features & CURL_VERSION_ZSTD) != 0);
  });
  if (global_result != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init: ") + curl_easy_strerror(global_result));
  }
  auto client = std::make_unique<CurlHttpClient>(options, clock);
  Status status = client->Init();
  if (!status.ok()) return status;
  return std::unique_ptr<HttpClient>(std::move(client));
}

FetchCompletion FetchNow(HttpClient& client, const v1::FetchJob& job) {
  client.Start(job);
  while (true) {
    std::vector<FetchCompletion> done = client.Collect();
    if (!done.empty()) return std::move(done.front());
    Status waited = client.Wait({}, 1000);
    if (!waited.ok()) {
      client.AbortAll();
      FetchCompletion failed;
      *failed.result.mutable_job() = job;
      failed.result.set_outcome(v1::OUTCOME_NETWORK_ERROR);
      failed.result.set_error(waited.message());
      return failed;
    }
  }
}

}  // namespace feedcrawl
