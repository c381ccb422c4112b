#include "fetcher/fetcher.h"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/metrics.h"
#include "common/role_main.h"
#include "common/messages.h"

namespace feedcrawl {

namespace {

namespace v1 = feedcrawl::v1;

// Longest single wait, so a stop request from a signal handler is seen promptly.
constexpr int kMaxWaitMs = 200;
// Longest wait while results are stuck behind a full results socket (the socket's own wake-up
// normally comes first).
constexpr int kPendingRetryMs = 100;
// Control messages handled per loop turn, so a flood cannot starve transfers.
constexpr int kMaxControlMessagesPerTurn = 1000;
// Coordinator silence (in heartbeat intervals) after which the fetcher says Hello again.
constexpr int kSilentHeartbeats = 5;
constexpr int64_t kMaxHelloBackoffMs = 60'000;
// Lets the Goodbye and the last results leave after the sockets close.
constexpr int kLingerMs = 2000;
constexpr int kEmptyGoodbyeLingerMs = 200;

std::string HostName() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof(buffer) - 1) != 0) return "localhost";
  return buffer;
}

bool IsError(v1::Outcome outcome) {
  return outcome != v1::OUTCOME_OK && outcome != v1::OUTCOME_NOT_MODIFIED;
}

}  // namespace

// The state of one Run(): touched only by the thread inside Run().
struct Fetcher::Loop {
  explicit Loop(Fetcher& fetcher) : f(fetcher), o(fetcher.options_) {}

  Status Open() {
    if (o.worker_id.empty()) return Status::InvalidArgument("fetcher needs a worker id");
    if (o.concurrency == 0) return Status::InvalidArgument("concurrency must be at least 1");
    if (!o.results_bind.empty() && o.security.enabled()) {
      return Status::InvalidArgument(
          "a bound results socket has no CURVE keys of its own; with CURVE, send results to "
          "the coordinator's forwarder (--results)");
    }
    SocketOptions control_options;
    control_options.identity = o.worker_id;
    control_options.linger_ms = kLingerMs;
    control_options.heartbeat_ivl_ms = std::max(o.heartbeat_ms, 100);
    control_options.max_message_bytes = 1 << 20;  // jobs are small; a larger frame is hostile
    control_options.security = o.security;
    auto made_control = Socket::Create(f.context_, SocketKind::kDealer, control_options);
    if (!made_control.ok()) return made_control.status();
    control = std::move(made_control).value();
    // Knowing whether the coordinator is connected lets a fetcher whose coordinator is gone
    // leave at once instead of waiting for a Goodbye that cannot be delivered.
    if (Status s = control->WatchConnections(f.context_); !s.ok()) {
      spdlog::warn("cannot follow the control connection: {}", s.ToString());
    }

    SocketOptions results_options;
    results_options.send_hwm = std::max(o.results_send_hwm, 1);
    results_options.linger_ms = kLingerMs;
    results_options.security = o.security;
    auto made_results = Socket::Create(f.context_, SocketKind::kPush, results_options);
    if (!made_results.ok()) return made_results.status();
    results = std::move(made_results).value();

    Status s = control->Connect(o.control_endpoint);
    if (!s.ok()) return s;
    s = o.results_bind.empty() ? results->Connect(o.results_endpoint)
                               : results->Bind(o.results_bind);
    if (!s.ok()) return s;

    HttpClientOptions http_options = o.http;
    http_options.fetcher_id = o.worker_id;
    auto made_http = NewCurlHttpClient(http_options, f.clock_);
    if (!made_http.ok()) return made_http.status();
    http = std::move(made_http).value();

    const int64_t now = Now();
    next_heartbeat_ms = now + o.heartbeat_ms;
    hello_backoff_ms = SilenceLimitMs();
    next_silence_hello_ms = now + SilenceLimitMs();
    hostname = HostName();
    spdlog::info("fetcher {} started: control {}, results {} {}, concurrency {}", o.worker_id,
                 o.control_endpoint, o.results_bind.empty() ? "to" : "bound at",
                 o.results_bind.empty() ? o.results_endpoint : results->LastEndpoint(),
                 o.concurrency);
    return Status::Ok();
  }

  // One turn of the event loop. Returns false when the loop is over.
  bool Turn() {
    int64_t now = Now();
    if (!stopping && f.stop_requested_.load()) BeginStop(now);
    ReadControl(now);
    for (FetchCompletion& done : http->Collect()) pending.push_back(std::move(done));
    HandOffResults();
    if (!stopping) {
      GrantCredit(now);
      CheckSilence(now);
    }
    SendHeartbeatIfDue(now);
    PublishStats();
    if (stopping) {
      if (http->active() == 0 && pending.empty()) return false;
      if (now >= drain_deadline_ms) {
        spdlog::warn("drain time is up with {} transfers in flight and {} results unsent",
                     http->active(), pending.size());
        return false;
      }
    }
    WaitForWork(Now());
    return true;
  }

  void SayGoodbye() {
    v1::Envelope envelope;
    v1::Goodbye* goodbye = envelope.mutable_goodbye();
    goodbye->set_worker_id(o.worker_id);
    for (const v1::FetchJob& job : http->AbortAll()) goodbye->add_returned_job_ids(job.job_id());
    for (const FetchCompletion& done : pending) {
      goodbye->add_returned_job_ids(done.result.job().job_id());
    }
    for (uint64_t job_id : refused_after_stop) goodbye->add_returned_job_ids(job_id);
    pending.clear();
    PublishStats();
    const int returned = goodbye->returned_job_ids_size();
    // Handed-back jobs are worth waiting for (they are due again at once instead of at lease
    // expiry); a Goodbye with nothing in it is worth a short wait, and none when the
    // coordinator is already gone, as at the end of a --once run.
    if (returned == 0) (void)control->SetLinger(control->Connected() ? kEmptyGoodbyeLingerMs : 0);
    Status s = SendControl(std::move(envelope));
    if (!s.ok()) spdlog::warn("could not say goodbye: {}", s.ToString());
    spdlog::info("fetcher {} stopped; {} jobs handed back", o.worker_id, returned);
  }

  void SayHello() {
    v1::Envelope envelope;
    v1::Hello* hello = envelope.mutable_hello();
    hello->set_role(v1::ROLE_FETCHER);
    hello->set_worker_id(o.worker_id);
    hello->set_capacity(o.concurrency);
    hello->set_hostname(hostname);
    hello->set_pid(static_cast<uint32_t>(getpid()));
    Status s = SendControl(std::move(envelope));
    if (!s.ok()) {
      spdlog::warn("could not send Hello: {}", s.ToString());
      return;
    }
    f.hellos_sent_++;
    // A Hello starts over: the coordinator forgets earlier credit, so the next Credit
    // offers every free slot again.
    outstanding_credit = 0;
    GrantCredit(Now(), /*at_once=*/true);
  }

 private:
  int64_t Now() const { return f.clock_.MonotonicMs(); }
  int64_t SilenceLimitMs() const { return int64_t{kSilentHeartbeats} * o.heartbeat_ms; }
  // Jobs this process holds: transfers in flight plus results not yet handed off.
  uint32_t Held() const { return static_cast<uint32_t>(http->active() + pending.size()); }

  void BeginStop(int64_t now) {
    stopping = true;
    drain_deadline_ms = now + o.drain_ms;
    spdlog::info("stopping: draining {} transfers for up to {} ms", http->active(), o.drain_ms);
  }

  Status SendControl(v1::Envelope envelope) {
    WireMessage message;
    message.frames.push_back(EncodeEnvelope(std::move(envelope)));
    return control->Send(message, /*dont_wait=*/true);
  }

  void ReadControl(int64_t now) {
    for (int i = 0; i < kMaxControlMessagesPerTurn; ++i) {
      auto received = control->TryRecv();
      if (!received.ok()) {
        spdlog::warn("control socket: {}", received.status().ToString());
        return;
      }
      if (!received->has_value()) return;
      auto inbound = DecodeInbound(InboundSocket::kFetcherControl, (*received)->frames);
      if (!inbound.ok()) {
        Drop(inbound.status().message());
        continue;
      }
      // Only a valid message proves the coordinator is there: garbage must not hide its silence.
      HeardFromCoordinator(now);
      const v1::Envelope& envelope = inbound->envelope;
      if (envelope.body_case() == v1::Envelope::kJob) {
        StartJob(envelope.job());
      } else {
        NoteCoordinatorEpoch(envelope.heartbeat().coordinator_epoch());
      }
    }
  }

  void Drop(const std::string& why) {
    f.dropped_messages_++;
    spdlog::debug("dropped a control message: {}", why);
  }

  void HeardFromCoordinator(int64_t now) {
    hello_backoff_ms = SilenceLimitMs();
    next_silence_hello_ms = now + SilenceLimitMs();
  }

  void StartJob(const v1::FetchJob& job) {
    f.jobs_received_++;
    if (stopping) {
      refused_after_stop.push_back(job.job_id());
      return;
    }
    if (outstanding_credit > 0) {
      --outstanding_credit;
    } else {
      // The coordinator should never do this; the job still runs rather than lose its lease time.
      spdlog::warn("job {} arrived without credit", job.job_id());
    }
    spdlog::debug("job {} feed {}: {}", job.job_id(), job.feed_id(), job.url());
    http->Start(job);
  }

  void NoteCoordinatorEpoch(uint64_t epoch) {
    if (epoch == 0) return;
    if (coordinator_epoch.has_value() && *coordinator_epoch != epoch && !stopping) {
      spdlog::info("coordinator restarted (epoch {} -> {}); saying Hello again", *coordinator_epoch,
                   epoch);
      coordinator_epoch = epoch;
      SayHello();
      return;
    }
    coordinator_epoch = epoch;
  }

  // ZeroMQ never reconnects a connection it dropped for a protocol error (such as a frame above
  // the maximum size): without a fresh connection a hostile frame would cut this fetcher off for
  // good. Messages still queued on the old connection are lost; the Hello that follows restates
  // everything the coordinator needs.
  void ReconnectControl() {
    (void)control->Disconnect(o.control_endpoint);
    if (Status s = control->Connect(o.control_endpoint); !s.ok()) {
      spdlog::warn("cannot reconnect to the coordinator: {}", s.ToString());
    }
  }

  void CheckSilence(int64_t now) {
    if (now < next_silence_hello_ms) return;
    spdlog::warn("no word from the coordinator for {} ms; saying Hello again", hello_backoff_ms);
    ReconnectControl();
    SayHello();
    // Back off so a long outage does not become a stream of Hellos.
    hello_backoff_ms =
        std::min(hello_backoff_ms * 2, std::max(kMaxHelloBackoffMs, SilenceLimitMs()));
    next_silence_hello_ms = now + hello_backoff_ms;
  }

  // A body goes to the processors with its result; a result without one (a 304, an unchanged
  // body, a failure) leaves nothing to parse or store, so its report goes straight to the
  // coordinator and no processor or forwarder handles it. Each kind keeps its order; a report
  // does not wait behind bodies the processors have no room for.
  void HandOffResults() {
    bool results_full = false;
    bool control_full = false;
    for (auto it = pending.begin(); it != pending.end() && !(results_full && control_full);) {
      FetchCompletion& done = *it;
      const bool has_body = HasBody(done);
      if (has_body ? results_full : control_full) {
        ++it;
        continue;
      }
      v1::Envelope envelope;
      if (has_body) {
        *envelope.mutable_result() = done.result;
      } else {
        *envelope.mutable_report() = ReportFor(done.result);
      }
      WireMessage message;
      message.frames.push_back(EncodeEnvelope(std::move(envelope)));
      if (has_body) message.frames.push_back(std::move(done.body));
      Status s = has_body ? results->Send(message, /*dont_wait=*/true)
                          : control->Send(message, /*dont_wait=*/true);
      if (!s.ok()) {
        if (has_body) done.body = std::move(message.frames[1]);
        if (!s.IsWouldBlock()) {
          spdlog::warn("{} socket: {}", has_body ? "results" : "control", s.ToString());
        }
        // Processors (or the coordinator) are behind: the slot stays busy, no credit.
        (has_body ? results_full : control_full) = true;
        ++it;
        continue;
      }
      f.processed_++;
      if (IsError(done.result.outcome())) f.errors_++;
      spdlog::debug("job {} -> {} (HTTP {}, {} bytes) {}", done.result.job().job_id(),
                    OutcomeName(done.result.outcome()), done.result.http_status(),
                    done.result.body_bytes(), done.result.error());
      it = pending.erase(it);
    }
  }

  static bool HasBody(const FetchCompletion& done) {
    return done.result.outcome() == v1::OUTCOME_OK;
  }

  // Offers the coordinator every slot that is neither busy nor already offered. Fewer than a
  // batch (concurrency / 16) wait for more, credit_delay_ms at most, unless `at_once`.
  void GrantCredit(int64_t now, bool at_once = false) {
    const uint32_t committed = Held() + outstanding_credit;
    if (committed >= o.concurrency) {
      credit_free_since_ms.reset();
      return;
    }
    const uint32_t slots = o.concurrency - committed;
    if (!credit_free_since_ms) credit_free_since_ms = now;
    const uint32_t batch = std::max<uint32_t>(1, o.concurrency / 16);
    if (!at_once && slots < batch && now < *credit_free_since_ms + o.credit_delay_ms) return;
    v1::Envelope envelope;
    envelope.mutable_credit()->set_slots(slots);
    Status s = SendControl(std::move(envelope));
    if (!s.ok()) {
      if (!s.IsWouldBlock()) spdlog::warn("could not send Credit: {}", s.ToString());
      credit_free_since_ms = now;  // offered again after credit_delay_ms, not in a busy loop
      return;
    }
    outstanding_credit += slots;
    f.credits_granted_ += slots;
    credit_free_since_ms.reset();
  }

  void SendHeartbeatIfDue(int64_t now) {
    if (now < next_heartbeat_ms) return;
    next_heartbeat_ms = now + o.heartbeat_ms;
    (void)control->Connected();  // reads the connection events queued since
    v1::Envelope envelope;
    v1::Heartbeat* heartbeat = envelope.mutable_heartbeat();
    heartbeat->set_role(v1::ROLE_FETCHER);
    heartbeat->set_worker_id(o.worker_id);
    heartbeat->set_active(static_cast<uint32_t>(http->active()));
    heartbeat->set_free_slots(o.concurrency - std::min(o.concurrency, Held()));
    heartbeat->set_processed(f.processed_.load());
    heartbeat->set_errors(f.errors_.load());
    // The coordinator this fetcher knows: one that dropped it readmits it only if it is the same.
    heartbeat->set_coordinator_epoch(coordinator_epoch.value_or(0));
    Status s = SendControl(std::move(envelope));
    if (!s.ok() && !s.IsWouldBlock()) spdlog::warn("could not send Heartbeat: {}", s.ToString());
  }

  void WaitForWork(int64_t now) {
    int64_t timeout = std::min<int64_t>(next_heartbeat_ms - now, kMaxWaitMs);
    if (!pending.empty()) timeout = std::min<int64_t>(timeout, kPendingRetryMs);
    if (stopping) timeout = std::min(timeout, drain_deadline_ms - now);
    if (!stopping) timeout = std::min(timeout, next_silence_hello_ms - now);
    if (!stopping && credit_free_since_ms) {
      timeout = std::min(timeout, *credit_free_since_ms + o.credit_delay_ms - now);
    }
    // Sends since the last drain may have consumed the socket's edge-triggered wake-up, so ask
    // directly whether a message is already waiting.
    if (control->CanRecv()) timeout = 0;
    // Results held back by a full results socket leave as soon as it has room again: its
    // descriptor signals every change of state, and ZMQ_EVENTS (CanSend) says which. Retrying
    // only on a timer starved the processors whenever less than one timer period of work was
    // buffered between them and this fetcher.
    int results_fd = -1;
    if (std::any_of(pending.begin(), pending.end(), HasBody)) {
      if (results->CanSend()) timeout = 0;
      results_fd = results->Fd();
    }
    Status s = http->Wait({control->Fd(), results_fd},
                          static_cast<int>(std::max<int64_t>(timeout, 0)));
    if (!s.ok()) spdlog::warn("{}", s.ToString());
  }

  void PublishStats() {
    f.active_ = static_cast<uint32_t>(http->active());
    f.pending_results_ = static_cast<uint32_t>(pending.size());
  }

  Fetcher& f;
  const FetcherOptions& o;
  std::unique_ptr<Socket> control;
  std::unique_ptr<Socket> results;
  std::unique_ptr<HttpClient> http;
  std::deque<FetchCompletion> pending;  // finished, body or report not yet taken by a socket
  std::vector<uint64_t> refused_after_stop;
  uint32_t outstanding_credit = 0;  // offered to the coordinator and not yet used
  std::optional<int64_t> credit_free_since_ms;  // free slots not offered yet, since when
  std::optional<uint64_t> coordinator_epoch;
  std::string hostname;
  bool stopping = false;
  int64_t drain_deadline_ms = 0;
  int64_t next_heartbeat_ms = 0;
  int64_t next_silence_hello_ms = 0;
  int64_t hello_backoff_ms = 0;
};

Fetcher::Fetcher(FetcherOptions options, WireContext& context, const Clock& clock)
    : options_(std::move(options)), context_(context), clock_(clock) {}

Fetcher::~Fetcher() = default;

Status Fetcher::Run() {
  Loop loop(*this);
  Status s = loop.Open();
  if (!s.ok()) return s;
  loop.SayHello();
  while (loop.Turn()) {
  }
  loop.SayGoodbye();
  return Status::Ok();
}

FetcherStats Fetcher::Stats() const {
  FetcherStats stats;
  stats.active = active_.load();
  stats.pending_results = pending_results_.load();
  stats.jobs_received = jobs_received_.load();
  stats.processed = processed_.load();
  stats.errors = errors_.load();
  stats.credits_granted = credits_granted_.load();
  stats.dropped_messages = dropped_messages_.load();
  stats.hellos_sent = hellos_sent_.load();
  return stats;
}

namespace {

std::atomic<Fetcher*> g_running_fetcher{nullptr};

void OnStopSignal(int) {
  if (Fetcher* fetcher = g_running_fetcher.load()) fetcher->RequestStop();
}

void InstallStopHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

namespace {

std::vector<Metric> FetcherMetrics(const FetcherStats& stats, uint32_t concurrency) {
  auto gauge = [](const char* name, const char* help, double value) {
    return Metric{name, help, false, {}, value};
  };
  auto counter = [](const char* name, const char* help, double value) {
    return Metric{name, help, true, {}, value};
  };
  return {
      gauge("fetcher_active", "Transfers in flight", stats.active),
      gauge("fetcher_pending_results", "Finished transfers whose body or report is not sent yet",
            stats.pending_results),
      gauge("fetcher_capacity", "Transfer slots (--concurrency)", concurrency),
      counter("fetcher_jobs_received_total", "Jobs received from the coordinator",
              static_cast<double>(stats.jobs_received)),
      counter("fetcher_processed_total", "Results handed to the processors",
              static_cast<double>(stats.processed)),
      counter("fetcher_errors_total", "Results that were neither ok nor 304",
              static_cast<double>(stats.errors)),
      counter("fetcher_credits_granted_total", "Credit granted to the coordinator",
              static_cast<double>(stats.credits_granted)),
      counter("fetcher_dropped_messages_total", "Unreadable control messages dropped",
              static_cast<double>(stats.dropped_messages)),
  };
}

}  // namespace

int FetcherMain(int argc, char** argv) {
  KeepFreedMemory();
  CLI::App app{"feedcrawl fetcher: fetches feeds for the coordinator and passes them on"};
  FetcherOptions options;
  LogOptions log_options;
  log_options.name = "fetcher";
  app.add_option("--control", options.control_endpoint, "coordinator control endpoint")
      ->envname("FEEDCRAWL_CONTROL")
      ->capture_default_str();
  app.add_option("--results", options.results_endpoint, "results endpoint (forwarder input)")
      ->envname("FEEDCRAWL_RESULTS")
      ->capture_default_str();
  app.add_option("--results-bind", options.results_bind,
                 "bind the results socket here for processors to connect to, instead of "
                 "sending to --results (no forwarder; not with CURVE)")
      ->envname("FEEDCRAWL_RESULTS_BIND");
  app.add_option("--concurrency", options.concurrency, "concurrent transfers")
      ->envname("FEEDCRAWL_CONCURRENCY")
      ->check(CLI::Range(1u, 100'000u))
      ->capture_default_str();
  app.add_option("--id", options.worker_id, "worker id (default: hostname-pid)")
      ->envname("FEEDCRAWL_ID");
  app.add_option("--user-agent", options.http.user_agent, "User-Agent header")
      ->envname("FEEDCRAWL_USER_AGENT")
      ->capture_default_str();
  app.add_option("--proxy", options.http.proxy,
                 "proxy URL (default: the http_proxy/https_proxy/no_proxy variables)")
      ->envname("FEEDCRAWL_PROXY");
  app.add_flag("--allow-private-networks", options.http.allow_private_networks,
               "allow fetching from loopback, private and link-local addresses (also needed "
               "for a proxy on such an address)")
      ->envname("FEEDCRAWL_ALLOW_PRIVATE_NETWORKS");
  app.add_option("--heartbeat-ms", options.heartbeat_ms, "heartbeat interval")
      ->envname("FEEDCRAWL_HEARTBEAT_MS")
      ->check(CLI::Range(10, 3'600'000))
      ->capture_default_str();
  app.add_option("--drain-ms", options.drain_ms, "on stop, how long to let transfers finish")
      ->envname("FEEDCRAWL_DRAIN_MS")
      ->check(CLI::Range(0, 3'600'000))
      ->capture_default_str();
  int metrics_port = 0;
  std::string metrics_bind = "0.0.0.0";
  app.add_option("--metrics-port", metrics_port, "port of the Prometheus /metrics endpoint (0: off)")
      ->envname("FEEDCRAWL_METRICS_PORT")
      ->check(CLI::Range(0, 65535));
  app.add_option("--metrics-bind", metrics_bind, "address the metrics endpoint listens on")
      ->envname("FEEDCRAWL_METRICS_BIND");
  app.add_option("--log-level", log_options.level, "trace, debug, info, warn, error, off")
      ->envname("FEEDCRAWL_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-format", log_options.format, "text or json")
      ->envname("FEEDCRAWL_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  CurveKeyFiles curve;
  AddCurveClientFlags(app, curve);
  std::string cpu_scheduling = kCpuSchedulingBatch;
  AddCpuSchedulingFlag(app, cpu_scheduling);
  CLI11_PARSE(app, argc, argv);

  Status s = InitLogging(log_options);
  if (!s.ok()) {
    fprintf(stderr, "fetcher: %s\n", s.ToString().c_str());
    return 2;
  }
  if (!LoadCurveSecurity(curve, /*server=*/false, options.security)) return 2;
  ApplyCpuScheduling(cpu_scheduling);
  if (options.worker_id.empty()) options.worker_id = HostName() + "-" + std::to_string(getpid());

  WireContext context;
  Fetcher fetcher(options, context);
  // Stats() is thread-safe, so each scrape reads the live counters.
  auto metrics_server = StartMetricsIfEnabled(metrics_bind, metrics_port, [&fetcher, &options] {
    return FetcherMetrics(fetcher.Stats(), options.concurrency);
  });
  if (!metrics_server.ok()) return 1;
  g_running_fetcher.store(&fetcher);
  InstallStopHandlers();
  s = fetcher.Run();
  g_running_fetcher.store(nullptr);
  if (!s.ok()) {
    spdlog::error("fetcher failed: {}", s.ToString());
    return 1;
  }
  return 0;
}

}  // namespace feedcrawl
