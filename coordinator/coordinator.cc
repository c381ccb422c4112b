#include "coordinator/coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "common/messages.h"
#include "common/url.h"

namespace feedcrawl {

namespace v1 = feedcrawl::v1;

namespace {

// The reason a failed job is counted under in the stats and the run summary.
std::string FailureReason(const v1::JobReport& report) {
  if (report.outcome() == v1::OUTCOME_HTTP_ERROR) {
    int klass = report.http_status() / 100;
    if (klass == 4) return "http_4xx";
    if (klass == 5) return "http_5xx";
    return "http_other";
  }
  return OutcomeName(report.outcome());
}

bool IsSuccess(v1::Outcome outcome) {
  return outcome == v1::OUTCOME_OK || outcome == v1::OUTCOME_NOT_MODIFIED;
}

// Retry-After in seconds (the HTTP-date form is left to the scheduler's caller to extend).
std::optional<int64_t> RetryAfterMs(const std::string& value) {
  if (value.empty() || value.find_first_not_of("0123456789 ") != std::string::npos) {
    return std::nullopt;
  }
  return std::strtoll(value.c_str(), nullptr, 10) * 1000;
}

}  // namespace

Coordinator::Coordinator(CoordinatorOptions options, std::unique_ptr<Store> store, Clock& clock)
    : options_(std::move(options)),
      store_(std::move(store)),
      clock_(clock),
      scheduler_(options_.politeness) {}

Coordinator::~Coordinator() { StopForwarder(); }

Status Coordinator::Start() {
  auto epoch = store_->NextCoordinatorEpoch();
  if (!epoch.ok()) return epoch.status();
  epoch_ = *epoch;

  SocketOptions control_options;
  control_options.send_hwm = 100'000;
  control_options.recv_hwm = 100'000;
  control_options.max_message_bytes = 1 << 20;  // control messages are small
  auto control = Socket::Create(context_, SocketKind::kRouter, control_options);
  if (!control.ok()) return control.status();
  control_ = std::move(*control);
  if (Status s = control_->Bind(options_.control_bind); !s.ok()) return s;

  SocketOptions in_options;
  in_options.recv_hwm = options_.forward_hwm;
  in_options.max_message_bytes = static_cast<int64_t>(options_.max_body_bytes) + (1 << 20);
  SocketOptions out_options;
  out_options.send_hwm = options_.forward_hwm;
  auto in = Socket::Create(context_, SocketKind::kPull, in_options);
  auto out = Socket::Create(context_, SocketKind::kPush, out_options);
  auto pipe_end = Socket::Create(context_, SocketKind::kPair);
  auto stopper = Socket::Create(context_, SocketKind::kPair);
  for (const Status* s : {&in.status(), &out.status(), &pipe_end.status(), &stopper.status()}) {
    if (!s->ok()) return *s;
  }
  if (Status s = (*in)->Bind(options_.results_in_bind); !s.ok()) return s;
  if (Status s = (*out)->Bind(options_.results_out_bind); !s.ok()) return s;
  results_in_endpoint_ = (*in)->LastEndpoint();
  results_out_endpoint_ = (*out)->LastEndpoint();
  const std::string stop_endpoint = "inproc://forwarder-stop";
  if (Status s = (*pipe_end)->Bind(stop_endpoint); !s.ok()) return s;
  forwarder_stop_ = std::move(*stopper);
  if (Status s = forwarder_stop_->Connect(stop_endpoint); !s.ok()) return s;
  forwarder_ = std::thread([in = std::move(*in), out = std::move(*out),
                            pipe_end = std::move(*pipe_end)]() mutable {
    Status s = RunForwarder(*in, *out, *pipe_end);
    if (!s.ok()) spdlog::error("results forwarder stopped: {}", s.ToString());
  });

  if (Status s = LoadFeeds(); !s.ok()) return s;
  spdlog::info("coordinator epoch {} serving {} feeds; control {}, results in {}, out {}{}",
               epoch_, feeds_.size(), control_endpoint(), results_in_endpoint_,
               results_out_endpoint_, options_.once ? " (once)" : "");
  return Status::Ok();
}

void Coordinator::StopForwarder() {
  if (!forwarder_.joinable()) return;
  (void)forwarder_stop_->Send(WireMessage{"", {"TERMINATE"}}, /*dont_wait=*/false);
  forwarder_.join();
}

Status Coordinator::LoadFeeds() {
  auto records = store_->LoadFeeds();
  if (!records.ok()) return records.status();
  const int64_t now = clock_.NowMs();
  run_ = RunCounters{};
  run_.started_ms = now;
  items_total_ = 0;
  for (FeedRecord& record : *records) {
    items_total_ += record.items_total;
    const uint64_t id = record.id;
    if (record.status == "active") {
      const int64_t due = options_.once ? now : std::max<int64_t>(record.next_due_ms, 0);
      scheduler_.Schedule(id, record.url, due);
      if (options_.once) ++run_.feeds;
    }
    feeds_.emplace(id, std::move(record));
  }
  return Status::Ok();
}

void Coordinator::ReloadFeeds() {
  auto records = store_->LoadFeeds();
  if (!records.ok()) {
    spdlog::warn("feed reload failed: {}", records.status().ToString());
    return;
  }
  std::unordered_map<uint64_t, bool> present;
  for (FeedRecord& record : *records) {
    present[record.id] = true;
    if (feeds_.count(record.id)) continue;
    spdlog::info("feed {} added: {}", record.id, record.url);
    if (record.status == "active") {
      scheduler_.Schedule(record.id, record.url, std::max<int64_t>(record.next_due_ms, 0));
    }
    feeds_.emplace(record.id, std::move(record));
  }
  for (auto it = feeds_.begin(); it != feeds_.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("feed {} removed: {}", it->first, it->second.url);
    scheduler_.Remove(it->first);
    it = feeds_.erase(it);
  }
}

Status Coordinator::Run() {
  next_stats_ms_ = clock_.NowMs();
  next_reload_ms_ = clock_.NowMs() + options_.reload_interval_ms;
  while (!stop_) {
    Dispatch();
    const int64_t now = clock_.NowMs();
    int64_t wake = std::min(next_stats_ms_, now + 200);
    if (auto t = scheduler_.NextWakeMs(); t && FindFetcherWithCredit()) wake = std::min(wake, *t);
    if (!lease_deadlines_.empty()) wake = std::min(wake, lease_deadlines_.top().first);
    auto ready = PollReadable({control_.get()}, static_cast<int>(std::max<int64_t>(0, wake - now)));
    if (!ready.ok()) return ready.status();
    while (true) {
      auto message = control_->TryRecv();
      if (!message.ok()) {
        spdlog::warn("control socket: {}", message.status().ToString());
        break;
      }
      if (!message->has_value()) break;
      HandleMessage(**message);
    }
    ExpireLeases();
    ReapSilentWorkers();
    const int64_t after = clock_.NowMs();
    if (after >= next_stats_ms_) {
      (void)WriteStats(false);
      next_stats_ms_ = after + (options_.once ? std::min<int64_t>(options_.stats_interval_ms, 250)
                                              : options_.stats_interval_ms);
    }
    if (!options_.once && after >= next_reload_ms_) {
      ReloadFeeds();
      next_reload_ms_ = after + options_.reload_interval_ms;
    }
    if (RunComplete()) {
      spdlog::info("run complete: {} feeds, {} ok, {} not modified, {} failed", run_.done,
                   run_.ok, run_.not_modified, run_.failed);
      break;
    }
  }
  Status s = WriteStats(true);
  StopForwarder();
  return s;
}

void Coordinator::HandleMessage(const WireMessage& message) {
  if (message.frames.empty()) {
    ++bad_messages_;
    return;
  }
  auto envelope = DecodeEnvelope(message.frames[0]);
  if (!envelope.ok()) {
    ++bad_messages_;
    spdlog::debug("dropped control message: {}", envelope.status().ToString());
    return;
  }
  const int64_t now = clock_.NowMs();
  auto worker = workers_.find(message.peer);
  if (worker != workers_.end()) worker->second.last_seen_ms = now;
  switch (envelope->body_case()) {
    case v1::Envelope::kHello:
      HandleHello(message.peer, envelope->hello());
      break;
    case v1::Envelope::kCredit:
      if (worker != workers_.end() && worker->second.role == v1::ROLE_FETCHER) {
        worker->second.credit += envelope->credit().slots();
      } else {
        ++bad_messages_;  // credit from a peer that never said Hello: it will after a heartbeat
      }
      break;
    case v1::Envelope::kHeartbeat: {
      if (worker != workers_.end()) worker->second.processed = envelope->heartbeat().processed();
      v1::Envelope reply;
      reply.mutable_heartbeat()->set_coordinator_epoch(epoch_);
      SendTo(message.peer, reply);
      break;
    }
    case v1::Envelope::kReport:
      HandleReport(envelope->report());
      break;
    case v1::Envelope::kGoodbye:
      HandleGoodbye(message.peer, envelope->goodbye());
      break;
    default:
      ++bad_messages_;
      break;
  }
}

void Coordinator::HandleHello(const std::string& peer, const v1::Hello& hello) {
  if (hello.role() != v1::ROLE_FETCHER && hello.role() != v1::ROLE_PROCESSOR) {
    ++bad_messages_;
    return;
  }
  Worker& worker = workers_[peer];
  const bool known = !worker.peer.empty();
  worker.peer = peer;
  worker.role = hello.role();
  worker.credit = 0;  // the Credit that follows a Hello states the free slots afresh
  worker.last_seen_ms = clock_.NowMs();
  spdlog::info("{} {} {} (id {}, capacity {}, pid {} on {})",
               hello.role() == v1::ROLE_FETCHER ? "fetcher" : "processor",
               known ? "re-announced" : "joined", peer, hello.worker_id(), hello.capacity(),
               hello.pid(), hello.hostname());
  v1::Envelope reply;
  reply.mutable_heartbeat()->set_coordinator_epoch(epoch_);
  SendTo(peer, reply);
}

void Coordinator::HandleGoodbye(const std::string& peer, const v1::Goodbye& goodbye) {
  for (uint64_t job_id : goodbye.returned_job_ids()) {
    if (leases_.count(job_id)) ReleaseLease(job_id, /*count_attempt=*/false, "returned");
  }
  auto it = workers_.find(peer);
  if (it == workers_.end()) return;
  spdlog::info("worker {} left, returning {} jobs", peer, goodbye.returned_job_ids_size());
  workers_.erase(it);
}

Coordinator::Worker* Coordinator::FindFetcherWithCredit() {
  Worker* best = nullptr;
  for (auto& [peer, worker] : workers_) {
    if (worker.role != v1::ROLE_FETCHER || worker.credit == 0) continue;
    if (!best || worker.credit > best->credit) best = &worker;
  }
  return best;
}

void Coordinator::Dispatch() {
  const int64_t now = clock_.NowMs();
  while (Worker* fetcher = FindFetcherWithCredit()) {
    std::optional<uint64_t> feed_id = scheduler_.NextDispatch(now);
    if (!feed_id) break;
    auto feed = feeds_.find(*feed_id);
    if (feed == feeds_.end()) {
      scheduler_.Complete(*feed_id, now, std::nullopt);
      continue;
    }
    const uint64_t job_id = (epoch_ << 32) | (++next_job_seq_ & 0xffffffffULL);
    v1::Envelope envelope;
    v1::FetchJob* job = envelope.mutable_job();
    job->set_job_id(job_id);
    job->set_feed_id(*feed_id);
    job->set_url(feed->second.url);
    job->set_etag(feed->second.etag);
    job->set_last_modified(feed->second.last_modified);
    job->set_attempt(attempts_[*feed_id] + 1);
    job->set_max_body_bytes(options_.max_body_bytes);
    job->set_connect_timeout_ms(options_.connect_timeout_ms);
    job->set_total_timeout_ms(options_.fetch_timeout_ms);
    job->set_max_redirects(options_.max_redirects);
    job->set_dispatched_at_ms(now);
    Status sent = control_->Send(WireMessage{fetcher->peer, {EncodeEnvelope(envelope)}});
    if (!sent.ok()) {
      spdlog::warn("fetcher {} unreachable ({}), dropping it", fetcher->peer, sent.ToString());
      workers_.erase(fetcher->peer);
      scheduler_.Complete(*feed_id, now, now);
      continue;
    }
    --fetcher->credit;
    const int64_t deadline = now + options_.fetch_timeout_ms + options_.lease_grace_ms;
    leases_[job_id] = Lease{*feed_id, fetcher->peer, deadline, now};
    feed_job_[*feed_id] = job_id;
    lease_deadlines_.emplace(deadline, job_id);
  }
}

void Coordinator::HandleReport(const v1::JobReport& report) {
  auto it = leases_.find(report.job_id());
  if (it == leases_.end() || it->second.feed_id != report.feed_id()) {
    ++stale_reports_;  // expired, returned, or from before a restart: the feed was re-queued
    spdlog::debug("ignored report for job {} (no open lease)", report.job_id());
    return;
  }
  const uint64_t feed_id = it->second.feed_id;
  leases_.erase(it);
  feed_job_.erase(feed_id);
  FinishFeed(feed_id, report);
}

void Coordinator::ReleaseLease(uint64_t job_id, bool count_attempt, const std::string& why) {
  auto it = leases_.find(job_id);
  if (it == leases_.end()) return;
  const uint64_t feed_id = it->second.feed_id;
  leases_.erase(it);
  feed_job_.erase(feed_id);
  const int64_t now = clock_.NowMs();
  uint32_t attempts = count_attempt ? ++attempts_[feed_id] : attempts_[feed_id];
  if (attempts >= options_.max_attempts) {
    v1::JobReport report;
    report.set_job_id(job_id);
    report.set_feed_id(feed_id);
    report.set_outcome(v1::OUTCOME_LEASE_EXPIRED);
    report.set_error("no report after " + std::to_string(attempts) + " attempts: " + why);
    FinishFeed(feed_id, report);
    return;
  }
  spdlog::info("feed {} due again ({}; attempt {})", feed_id, why, attempts);
  scheduler_.Complete(feed_id, now, now);
}

void Coordinator::ExpireLeases() {
  const int64_t now = clock_.NowMs();
  while (!lease_deadlines_.empty() && lease_deadlines_.top().first <= now) {
    auto [deadline, job_id] = lease_deadlines_.top();
    lease_deadlines_.pop();
    auto it = leases_.find(job_id);
    if (it == leases_.end() || it->second.deadline_ms != deadline) continue;
    ReleaseLease(job_id, /*count_attempt=*/true, "lease expired");
  }
}

void Coordinator::ReapSilentWorkers() {
  const int64_t now = clock_.NowMs();
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (now - it->second.last_seen_ms <= options_.worker_timeout_ms) {
      ++it;
      continue;
    }
    const std::string peer = it->first;
    const bool fetcher = it->second.role == v1::ROLE_FETCHER;
    spdlog::warn("{} {} silent for {} ms, considered dead", fetcher ? "fetcher" : "processor",
                 peer, now - it->second.last_seen_ms);
    it = workers_.erase(it);
    if (!fetcher) continue;  // a dead processor's jobs come back by lease expiry
    std::vector<uint64_t> orphaned;
    for (const auto& [job_id, lease] : leases_) {
      if (lease.fetcher == peer) orphaned.push_back(job_id);
    }
    for (uint64_t job_id : orphaned) ReleaseLease(job_id, true, "fetcher lost");
  }
}

int64_t Coordinator::NextInterval(const FeedRecord& feed) const {
  int64_t interval = feed.interval_ms > 0 ? feed.interval_ms : options_.default_interval_ms;
  if (feed.consecutive_failures > 0) {
    const int shift = static_cast<int>(std::min<uint32_t>(feed.consecutive_failures, 10));
    interval = std::min(options_.max_interval_ms, interval << shift);
  }
  return std::min(interval, options_.max_interval_ms);
}

void Coordinator::ApplyReport(FeedRecord& feed, const v1::JobReport& report, int64_t now) {
  ++feed.fetches;
  feed.last_fetch_ms = now;
  feed.last_status = report.http_status();
  feed.last_outcome = OutcomeName(report.outcome());
  feed.last_error = report.error();
  if (report.outcome() == v1::OUTCOME_OK) {
    // Validators are kept only once the body was stored, so a failed parse is fetched again.
    feed.etag = report.etag();
    feed.last_modified = report.last_modified();
    if (!report.feed_title().empty()) feed.title = report.feed_title();
    feed.items_total = report.total_items();
    feed.items_new_last = report.new_items();
  } else if (report.outcome() == v1::OUTCOME_NOT_MODIFIED) {
    if (!report.etag().empty()) feed.etag = report.etag();
    if (!report.last_modified().empty()) feed.last_modified = report.last_modified();
  }
  if (IsSuccess(report.outcome())) {
    feed.last_ok_ms = now;
    feed.consecutive_failures = 0;
  } else {
    ++feed.failures;
    ++feed.consecutive_failures;
  }
  int64_t next = now + NextInterval(feed);
  if (auto retry = RetryAfterMs(report.retry_after()); retry && (report.http_status() == 429 ||
                                                                 report.http_status() == 503)) {
    next = std::max(next, now + *retry);
    scheduler_.PauseHost(feed.url, now + *retry);
  }
  feed.next_due_ms = next;
}

void Coordinator::FinishFeed(uint64_t feed_id, const v1::JobReport& report) {
  const int64_t now = clock_.NowMs();
  attempts_.erase(feed_id);
  auto it = feeds_.find(feed_id);
  if (it == feeds_.end()) {  // removed while in flight
    scheduler_.Complete(feed_id, now, std::nullopt);
    return;
  }
  FeedRecord& feed = it->second;
  const uint64_t items_before = feed.items_total;
  ApplyReport(feed, report, now);
  items_total_ += feed.items_total - std::min(items_before, feed.items_total);
  if (Status s = store_->SaveFeed(feed); !s.ok()) {
    spdlog::error("saving feed {} failed: {}", feed_id, s.ToString());
  }
  ++fetches_total_;
  const bool success = IsSuccess(report.outcome());
  if (!success) ++errors_total_;
  if (options_.once) {
    ++run_.done;
    if (report.outcome() == v1::OUTCOME_OK) ++run_.ok;
    if (report.outcome() == v1::OUTCOME_NOT_MODIFIED) ++run_.not_modified;
    if (!success) {
      ++run_.failed;
      ++run_.failed_by_reason[FailureReason(report)];
    }
    run_.items_new += report.new_items();
    run_.items_parsed += report.parsed_items();
    run_.bytes += report.body_bytes();
    scheduler_.Complete(feed_id, now, std::nullopt);
  } else {
    scheduler_.Complete(feed_id, now, feed.next_due_ms);
  }
  if (!success) {
    spdlog::debug("feed {} {} failed: {} {}", feed_id, feed.url, FailureReason(report),
                  report.error());
  }
}

Status Coordinator::WriteStats(bool final_write) {
  const int64_t now = clock_.NowMs();
  uint32_t credit = 0;
  size_t fetchers = 0, processors = 0;
  for (const auto& [peer, worker] : workers_) {
    if (worker.role == v1::ROLE_FETCHER) {
      ++fetchers;
      credit += worker.credit;
    } else {
      ++processors;
    }
  }
  std::map<std::string, std::string> stats = {
      {"updated_ms", std::to_string(now)},
      {"epoch", std::to_string(epoch_)},
      {"feeds_total", std::to_string(feeds_.size())},
      {"due_now", std::to_string(scheduler_.DueWaiting())},
      {"in_flight", std::to_string(leases_.size())},
      {"waiting_host", std::to_string(scheduler_.DueWaiting())},
      {"fetchers_live", std::to_string(fetchers)},
      {"processors_live", std::to_string(processors)},
      {"credit_total", std::to_string(credit)},
      {"fetches_total", std::to_string(fetches_total_)},
      {"errors_total", std::to_string(errors_total_)},
      {"items_total", std::to_string(items_total_)},
      {"stale_reports", std::to_string(stale_reports_)},
      {"bad_messages", std::to_string(bad_messages_)},
      {"run_once", options_.once ? "1" : "0"},
  };
  if (options_.once) {
    stats["run_feeds"] = std::to_string(run_.feeds);
    stats["run_done"] = std::to_string(run_.done);
    stats["run_ok"] = std::to_string(run_.ok);
    stats["run_not_modified"] = std::to_string(run_.not_modified);
    stats["run_failed"] = std::to_string(run_.failed);
    for (const auto& [reason, count] : run_.failed_by_reason) {
      stats["run_failed_" + reason] = std::to_string(count);
    }
    stats["run_items_new"] = std::to_string(run_.items_new);
    stats["run_items_parsed"] = std::to_string(run_.items_parsed);
    stats["run_bytes"] = std::to_string(run_.bytes);
    stats["run_started_ms"] = std::to_string(run_.started_ms);
    stats["run_elapsed_ms"] = std::to_string(now - run_.started_ms);
    stats["run_complete"] = final_write && RunComplete() ? "1" : "0";
  }
  Status s = store_->WriteStats(stats);
  if (!s.ok()) spdlog::warn("writing stats failed: {}", s.ToString());
  return s;
}

void Coordinator::SendTo(const std::string& peer, const v1::Envelope& envelope) {
  Status s = control_->Send(WireMessage{peer, {EncodeEnvelope(envelope)}});
  if (!s.ok()) spdlog::debug("send to {} failed: {}", peer, s.ToString());
}

}  // namespace feedcrawl
