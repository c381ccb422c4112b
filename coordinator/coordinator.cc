#include "coordinator/coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>

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

// Paused feeds stay in the schedule: they are probed at a long interval.
bool IsScheduled(const FeedRecord& feed) {
  return feed.status == "active" || feed.status == "paused";
}

// How long a feed waits when its record could not be read to dispatch it.
constexpr int64_t kStoreRetryMs = 5'000;
// How long a report's feed state is retried while Redis is unreachable (e.g. restarting).
constexpr int64_t kStoreOutageMs = 60'000;

uint64_t JitterSeed(uint64_t configured) {
  if (configured != 0) return configured;
  return std::random_device{}() ^ static_cast<uint64_t>(SystemClock::Instance().MonotonicMs());
}

}  // namespace

Coordinator::Coordinator(CoordinatorOptions options, std::unique_ptr<Store> store, Clock& clock)
    : options_(std::move(options)),
      store_(std::move(store)),
      clock_(clock),
      scheduler_(options_.politeness),
      freshness_(options_.freshness, JitterSeed(options_.jitter_seed)) {}

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

Coordinator::FeedStatus Coordinator::StatusOf(const std::string& status) {
  if (status == "paused") return FeedStatus::kPaused;
  if (status == "active") return FeedStatus::kActive;
  return FeedStatus::kDisabled;  // disabled, or anything this version does not know
}

Status Coordinator::LoadFeeds() {
  const int64_t now = clock_.NowMs();
  run_ = RunCounters{};
  run_.started_ms = now;
  items_total_ = 0;
  return store_->ForEachFeed([&](FeedRecord&& record) {
    items_total_ += record.items_total;
    if (options_.once ? record.status == "active" : IsScheduled(record)) {
      const int64_t due = options_.once ? now : std::max<int64_t>(record.next_due_ms, 0);
      scheduler_.Schedule(record.id, record.url, due);
      if (options_.once) ++run_.feeds;
    }
    feeds_.emplace(record.id, StatusOf(record.status));
  });
}

void Coordinator::ReloadFeeds() {
  std::unordered_set<uint64_t> present;
  present.reserve(feeds_.size());
  Status s = store_->ForEachFeed([&](FeedRecord&& record) {
    present.insert(record.id);
    if (auto known = feeds_.find(record.id); known != feeds_.end()) {
      AdoptStatus(known->second, record);
      return;
    }
    spdlog::info("feed {} added: {}", record.id, record.url);
    if (IsScheduled(record)) {
      scheduler_.Schedule(record.id, record.url, std::max<int64_t>(record.next_due_ms, 0));
    }
    feeds_.emplace(record.id, StatusOf(record.status));
  });
  if (!s.ok()) {
    spdlog::warn("feed reload failed: {}", s.ToString());
    return;  // a partial view must not remove the feeds it did not reach
  }
  for (auto it = feeds_.begin(); it != feeds_.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("feed {} removed", it->first);
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
      if (worker != workers_.end()) {
        const v1::Heartbeat& beat = envelope->heartbeat();
        worker->second.processed = beat.processed();
        worker->second.active = beat.active();
        worker->second.free_slots = beat.free_slots();
        worker->second.errors = beat.errors();
      }
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
  worker.worker_id = hello.worker_id();
  worker.hostname = hello.hostname();
  worker.pid = hello.pid();
  worker.capacity = hello.capacity();
  if (!known) worker.joined_ms = worker.last_seen_ms;
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
    auto stored = store_->GetFeed(*feed_id);
    if (!stored.ok()) {
      spdlog::warn("feed {} not dispatched, store unavailable: {}", *feed_id,
                   stored.status().ToString());
      scheduler_.Complete(*feed_id, now, now + kStoreRetryMs);
      break;
    }
    if (!stored->has_value() || !feeds_.count(*feed_id)) {  // removed meanwhile
      scheduler_.Complete(*feed_id, now, std::nullopt);
      scheduler_.Remove(*feed_id);
      feeds_.erase(*feed_id);
      if (options_.once) ++run_.done;  // nothing left to crawl, but the run must still end
      continue;
    }
    auto feed = in_flight_.insert_or_assign(*feed_id, std::move(**stored)).first;
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
      in_flight_.erase(*feed_id);
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
  NoteHostFetch(feed_id, clock_.NowMs() - it->second.dispatched_ms, IsSuccess(report.outcome()));
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
  in_flight_.erase(feed_id);  // re-read at the next dispatch: it may have changed meanwhile
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

void Coordinator::AdoptStatus(FeedStatus& status, const FeedRecord& stored) {
  // The coordinator writes every status it sets itself, so a difference is an operator's change.
  // A feed in flight keeps its job; the change is seen on the next reload.
  const FeedStatus wanted = StatusOf(stored.status);
  if (wanted == status || scheduler_.InFlight(stored.id)) return;
  spdlog::info("feed {} set to {} by the operator", stored.id, stored.status);
  status = wanted;
  if (IsScheduled(stored)) {
    scheduler_.Schedule(stored.id, stored.url, stored.next_due_ms);
  } else {
    scheduler_.Remove(stored.id);
  }
}

void Coordinator::MoveFeed(FeedRecord& feed, const std::string& new_url) {
  Status moved = store_->UpdateFeedUrl(feed.id, feed.url, new_url);
  if (!moved.ok()) {
    spdlog::warn("feed {} redirects permanently to {} but keeps {}: {}", feed.id, new_url,
                 feed.url, moved.ToString());
    return;
  }
  spdlog::info("feed {} moved permanently: {} -> {}", feed.id, feed.url, new_url);
  feed.url = new_url;
}

Status Coordinator::SaveFeedThroughOutage(const FeedRecord& feed) {
  // A report's state must not be lost to a Redis restart: wait for the store to come back (the
  // loop is paused meanwhile, and nothing could be stored anyway), up to kStoreOutageMs.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStoreOutageMs);
  int64_t backoff_ms = 50;
  while (true) {
    Status s = store_->SaveFeed(feed);
    if (s.ok() || s.IsNotFound() || stop_ || std::chrono::steady_clock::now() >= give_up) return s;
    spdlog::warn("saving feed {} failed ({}), retrying in {} ms", feed.id, s.ToString(),
                 backoff_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 2000);
  }
}

void Coordinator::FinishFeed(uint64_t feed_id, const v1::JobReport& report) {
  const int64_t now = clock_.NowMs();
  attempts_.erase(feed_id);
  auto it = in_flight_.find(feed_id);
  auto known = feeds_.find(feed_id);
  if (it == in_flight_.end() || known == feeds_.end()) {  // removed while in flight
    if (it != in_flight_.end()) in_flight_.erase(it);
    scheduler_.Complete(feed_id, now, std::nullopt);
    return;
  }
  FeedRecord feed = std::move(it->second);
  in_flight_.erase(it);
  const uint64_t items_before = feed.items_total;
  const std::string url_before = feed.url;
  FreshnessDecision decision = freshness_.Apply(feed, report, now);
  if (decision.pause_host_until_ms) {
    // One feed's 429 speaks for its whole host: every feed there waits.
    scheduler_.PauseHost(url_before, *decision.pause_host_until_ms);
  }
  if (decision.move_to_url) MoveFeed(feed, *decision.move_to_url);
  items_total_ += feed.items_total - std::min(items_before, feed.items_total);
  known->second = StatusOf(feed.status);
  if (Status s = SaveFeedThroughOutage(feed); !s.ok()) {
    spdlog::error("saving feed {} failed: {}", feed_id, s.ToString());
  }
  ++fetches_total_;
  const bool success = IsSuccess(report.outcome());
  if (!success) ++errors_total_;
  if (report.outcome() == v1::OUTCOME_OK) ++ok_total_;
  if (report.outcome() == v1::OUTCOME_NOT_MODIFIED) ++not_modified_total_;
  if (!success) ++errors_by_class_[FailureReason(report)];
  items_new_total_ += report.new_items();
  // The run counters cover the coordinator's lifetime in continuous mode, the pass in --once.
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
  if (options_.once) {
    scheduler_.Complete(feed_id, now, std::nullopt);
  } else if (feed.url != url_before && decision.next_due_ms) {
    // The host may have changed with the URL: the feed re-enters under its new host.
    scheduler_.Complete(feed_id, now, std::nullopt);
    scheduler_.Remove(feed_id);
    scheduler_.Schedule(feed_id, feed.url, *decision.next_due_ms);
  } else {
    scheduler_.Complete(feed_id, now, decision.next_due_ms);
  }
  if (!success) {
    spdlog::debug("feed {} {} failed: {} {}", feed_id, feed.url, FailureReason(report),
                  report.error());
  }
}

Status Coordinator::WriteStats(bool final_write) {
  const int64_t now = clock_.NowMs();
  uint64_t credit = 0, capacity = 0, fetching = 0, active = 0;
  size_t fetchers = 0, processors = 0;
  for (const auto& [peer, worker] : workers_) {
    if (worker.role == v1::ROLE_FETCHER) {
      ++fetchers;
      credit += worker.credit;
      capacity += worker.capacity;
      active += worker.active;
      // Jobs a fetcher holds (transferring or waiting to hand the result on), as of its last
      // heartbeat.
      fetching += worker.capacity - std::min(worker.capacity, worker.free_slots);
    } else {
      ++processors;
    }
  }
  size_t paused = 0, disabled = 0;
  for (const auto& [id, status] : feeds_) {
    if (status == FeedStatus::kPaused) ++paused;
    if (status == FeedStatus::kDisabled) ++disabled;
  }
  const size_t due = scheduler_.DueWaiting();
  const size_t dispatchable = scheduler_.DispatchableNow(now);
  const uint64_t in_flight = leases_.size();
  auto number = [](auto value) { return std::to_string(value); };
  std::map<std::string, std::string> stats = {
      {"updated_ms", number(now)},
      {"epoch", number(epoch_)},
      {"feeds_total", number(feeds_.size())},
      {"feeds_paused", number(paused)},
      {"feeds_disabled", number(disabled)},
      {"due_now", number(due)},
      {"dispatchable", number(dispatchable)},
      {"waiting_host", number(due - std::min(due, dispatchable))},
      {"in_flight", number(in_flight)},
      {"fetching", number(std::min(fetching, in_flight))},
      // Leases whose fetch is over but whose report has not come: results on their way through
      // the forwarder or queued at processors. Derived from heartbeats, so about a second late.
      {"backlog_results", number(in_flight - std::min(fetching, in_flight))},
      {"fetchers_live", number(fetchers)},
      {"processors_live", number(processors)},
      {"credit_total", number(credit)},
      {"capacity_total", number(capacity)},
      {"transfers_active", number(active)},
      {"fetches_total", number(fetches_total_)},
      {"ok_total", number(ok_total_)},
      {"not_modified_total", number(not_modified_total_)},
      {"errors_total", number(errors_total_)},
      {"items_total", number(items_total_)},
      {"items_new_total", number(items_new_total_)},
      {"stale_reports", number(stale_reports_)},
      {"bad_messages", number(bad_messages_)},
      {"run_once", options_.once ? "1" : "0"},
  };
  for (const auto& [reason, count] : errors_by_class_) {
    stats["errors_" + reason + "_total"] = number(count);
  }
  AddRates(now, stats);
  stats["run_feeds"] = number(options_.once ? run_.feeds : feeds_.size());
  stats["run_done"] = number(run_.done);
  stats["run_ok"] = number(run_.ok);
  stats["run_not_modified"] = number(run_.not_modified);
  stats["run_failed"] = number(run_.failed);
  for (const auto& [reason, count] : run_.failed_by_reason) {
    stats["run_failed_" + reason] = number(count);
  }
  stats["run_items_new"] = number(run_.items_new);
  stats["run_items_parsed"] = number(run_.items_parsed);
  stats["run_bytes"] = number(run_.bytes);
  stats["run_started_ms"] = number(run_.started_ms);
  stats["run_elapsed_ms"] = number(now - run_.started_ms);
  if (options_.once) stats["run_complete"] = final_write && RunComplete() ? "1" : "0";
  if (options_.metrics != nullptr) {
    options_.metrics->Publish(MetricsFromStats("coordinator", stats));
  }
  Status s = store_->WriteStats(stats);
  if (!s.ok()) spdlog::warn("writing stats failed: {}", s.ToString());
  WriteWorkerHashes(now);
  WriteHostStats();
  return s;
}

void Coordinator::AddRates(int64_t now, std::map<std::string, std::string>& stats) {
  rate_samples_.push_back(
      RateSample{now, fetches_total_, not_modified_total_, errors_total_, items_new_total_});
  constexpr int64_t kMinute = 60'000;
  while (rate_samples_.size() > 2 && rate_samples_[1].ms <= now - kMinute) {
    rate_samples_.pop_front();
  }
  const RateSample& first = rate_samples_.front();
  const int64_t span = now - first.ms;
  // Over the last minute, or scaled up from the time since the start when that is shorter.
  auto per_minute = [&](uint64_t current, uint64_t before) {
    if (span <= 0 || current < before) return std::string("0");
    return std::to_string((current - before) * kMinute / static_cast<uint64_t>(span));
  };
  stats["fetches_per_min"] = per_minute(fetches_total_, first.fetches);
  stats["not_modified_per_min"] = per_minute(not_modified_total_, first.not_modified);
  stats["errors_per_min"] = per_minute(errors_total_, first.errors);
  stats["items_per_min"] = per_minute(items_new_total_, first.items_new);
}

void Coordinator::WriteWorkerHashes(int64_t now) {
  // Fetchers have no store access: their hashes are written here from their heartbeats.
  std::vector<WorkerHash> hashes;
  for (const auto& [peer, worker] : workers_) {
    if (worker.role != v1::ROLE_FETCHER || worker.worker_id.empty()) continue;
    WorkerHash hash;
    hash.role = "fetcher";
    hash.id = worker.worker_id;
    hash.fields = {{"hostname", worker.hostname},
                   {"pid", std::to_string(worker.pid)},
                   {"capacity", std::to_string(worker.capacity)},
                   {"credit", std::to_string(worker.credit)},
                   {"active", std::to_string(worker.active)},
                   {"free_slots", std::to_string(worker.free_slots)},
                   {"processed", std::to_string(worker.processed)},
                   {"errors", std::to_string(worker.errors)},
                   {"last_seen_ms", std::to_string(worker.last_seen_ms)},
                   {"joined_ms", std::to_string(worker.joined_ms)},
                   {"updated_ms", std::to_string(now)}};
    hashes.push_back(std::move(hash));
  }
  Status s = store_->WriteWorkers(hashes, options_.worker_ttl_ms, now);
  if (!s.ok()) spdlog::warn("writing worker hashes failed: {}", s.ToString());
}

void Coordinator::NoteHostFetch(uint64_t feed_id, int64_t elapsed_ms, bool success) {
  auto feed = in_flight_.find(feed_id);
  if (feed == in_flight_.end()) return;
  HostNumbers& host = hosts_[UrlHost(feed->second.url)];
  ++host.fetches;
  if (!success) ++host.errors;
  host.total_ms += std::max<int64_t>(elapsed_ms, 0);
  host.max_ms = std::max(host.max_ms, elapsed_ms);
}

void Coordinator::WriteHostStats() {
  using Entry = std::pair<const std::string, HostNumbers>;
  std::vector<const Entry*> all;
  all.reserve(hosts_.size());
  for (const Entry& entry : hosts_) all.push_back(&entry);
  auto average = [](const Entry* e) { return e->second.total_ms / int64_t(e->second.fetches); };
  std::map<std::string, std::string> published;
  auto publish_top = [&](auto better) {
    const size_t n = std::min(options_.stats_hosts, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
    for (size_t i = 0; i < n; ++i) {
      const HostNumbers& h = all[i]->second;
      nlohmann::json json = {{"fetches", h.fetches}, {"errors", h.errors},
                             {"avg_ms", average(all[i])}, {"max_ms", h.max_ms}};
      published[all[i]->first] = json.dump();
    }
  };
  publish_top([](const Entry* a, const Entry* b) { return a->second.fetches > b->second.fetches; });
  publish_top([&](const Entry* a, const Entry* b) { return average(a) > average(b); });
  Status s = store_->WriteHostStats(published);
  if (!s.ok()) spdlog::warn("writing host stats failed: {}", s.ToString());
}

void Coordinator::SendTo(const std::string& peer, const v1::Envelope& envelope) {
  Status s = control_->Send(WireMessage{peer, {EncodeEnvelope(envelope)}});
  if (!s.ok()) spdlog::debug("send to {} failed: {}", peer, s.ToString());
}

}  // namespace feedcrawl
