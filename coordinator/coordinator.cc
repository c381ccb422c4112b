#include "coordinator/coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>

#include "common/messages.h"

namespace feedcrawl {

namespace {

constexpr int kMaxMessagesPerTurn = 2000;  // control messages read per loop turn

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

// What the coordinator reads of every feed when it loads or reloads them; the whole record is
// read when the feed is dispatched.
const std::vector<std::string>& LoadedFields() {
  static const auto* fields =
      new std::vector<std::string>{"url",    "status",      "next_due_ms",
                                   "run_id", "items_total", "last_fetch_ms"};
  return *fields;
}

// How long a feed waits when its record could not be read to dispatch it.
constexpr int64_t kStoreRetryMs = 5'000;
// How long a report's feed state is retried while Redis is unreachable (e.g. restarting).
constexpr int64_t kStoreOutageMs = 60'000;
// P run counters "job_latency_bucket_<index>": the run's job latencies by LatencyHistogram bucket.
constexpr char kLatencyBucketPrefix[] = "job_latency_bucket_";

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
  if (Status s = store_->RemoveRetiredKeys(); !s.ok()) return s;

  SocketOptions control_options;
  control_options.send_hwm = 100'000;
  control_options.recv_hwm = 100'000;
  control_options.max_message_bytes = 1 << 20;  // control messages are small
  control_options.security = options_.security;
  control_options.curve_server = true;
  auto control = Socket::Create(context_, SocketKind::kRouter, control_options);
  if (!control.ok()) return control.status();
  control_ = std::move(*control);
  if (Status s = control_->Bind(options_.control_bind); !s.ok()) return s;

  if (options_.results_forwarder) {
    if (Status s = StartForwarder(); !s.ok()) return s;
  }

  if (Status s = BeginLoad(); !s.ok()) return s;
  return LoadSomeFeeds();  // a small feed list is loaded whole here
}

Status Coordinator::StartForwarder() {
  SocketOptions in_options;
  in_options.recv_hwm = options_.forward_hwm;
  in_options.max_message_bytes = static_cast<int64_t>(options_.max_body_bytes) + (1 << 20);
  in_options.security = options_.security;
  in_options.curve_server = true;
  SocketOptions out_options;
  out_options.send_hwm = options_.forward_hwm;
  out_options.security = options_.security;
  out_options.curve_server = true;
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

std::optional<Coordinator::FeedStatus> Coordinator::FeedStatuses::Find(uint64_t feed_id) const {
  auto it = statuses_.find(feed_id);
  if (it == statuses_.end()) return std::nullopt;
  return it->second.status;
}

void Coordinator::FeedStatuses::AddToCounts(const Entry& entry) {
  ++counts_[static_cast<size_t>(entry.status)];
  if (entry.status == FeedStatus::kActive && !entry.fetched) ++never_fetched_;
}

void Coordinator::FeedStatuses::RemoveFromCounts(const Entry& entry) {
  --counts_[static_cast<size_t>(entry.status)];
  if (entry.status == FeedStatus::kActive && !entry.fetched) --never_fetched_;
}

void Coordinator::FeedStatuses::Set(uint64_t feed_id, FeedStatus status,
                                    std::optional<bool> fetched) {
  auto [it, inserted] = statuses_.try_emplace(feed_id, Entry{status, fetched.value_or(false)});
  if (!inserted) {
    RemoveFromCounts(it->second);
    it->second.status = status;
    if (fetched) it->second.fetched = *fetched;
  }
  AddToCounts(it->second);
}

void Coordinator::FeedStatuses::Erase(uint64_t feed_id) {
  auto it = statuses_.find(feed_id);
  if (it == statuses_.end()) return;
  RemoveFromCounts(it->second);
  statuses_.erase(it);
}

StatusOr<uint64_t> Coordinator::ResumableRun() {
  auto stored = store_->GetRun();
  if (!stored.ok()) return stored.status();
  if (!stored->has_value() || (*stored)->state != "running") return uint64_t{0};
  const RunRecord& run = **stored;
  if (!options_.once) {
    spdlog::info("run {} was left unfinished; abandoned, every feed is crawled anyway", run.id);
    Status s = store_->EndRun(run.id, "abandoned", clock_.NowMs());
    if (!s.ok() && !s.IsNotFound()) return s;
    return uint64_t{0};
  }
  auto counter = [&run](const std::string& name) {
    auto it = run.counters.find(name);
    return it == run.counters.end() ? uint64_t{0} : it->second;
  };
  run_.id = run.id;
  run_.resumes = counter("resumes") + 1;
  run_.started_ms = run.started_ms;
  run_.done = counter("done");
  run_.ok = counter("ok");
  run_.not_modified = counter("not_modified");
  run_.failed = counter("failed");
  run_.items_new = counter("items_new");
  run_.items_parsed = counter("items_parsed");
  run_.bytes = counter("bytes");
  const std::string failed_prefix = "failed_";
  const std::string latency_prefix = kLatencyBucketPrefix;
  run_latency_.Reset();
  for (const auto& [name, value] : run.counters) {
    if (name.rfind(failed_prefix, 0) == 0) {
      run_.failed_by_reason[name.substr(failed_prefix.size())] = value;
    } else if (name.rfind(latency_prefix, 0) == 0) {
      const std::string index = name.substr(latency_prefix.size());
      if (!index.empty() && index.size() < 6 &&
          index.find_first_not_of("0123456789") == std::string::npos) {
        run_latency_.AddToBucket(std::stoul(index), value);
      }
    }
  }
  return run.id;
}

Status Coordinator::BeginLoad() {
  Loading loading;
  loading.now = clock_.NowMs();
  run_ = RunCounters{};
  run_.started_ms = loading.now;
  items_total_ = 0;
  auto resumed = ResumableRun();
  if (!resumed.ok()) return resumed.status();
  loading.resumed = *resumed;
  if (!options_.once) {
    StatusOr<uint64_t> version = store_->FeedsVersion();
    if (!version.ok()) return version.status();
    loaded_version_ = *version;
    next_full_reload_ms_ = loading.now + options_.full_reload_interval_ms;
  } else {
    if (*resumed == 0) run_.id = epoch_;
    // The run as the store will have it before any report of this coordinator is written; its
    // feed count is known once every record is read.
    loading.run = RunRecordOf();
  }
  StatusOr<std::vector<uint64_t>> ids = store_->FeedIds();
  if (!ids.ok()) return ids.status();
  loading.ids = std::move(*ids);
  loading_ = std::move(loading);
  return Status::Ok();
}

Status Coordinator::LoadSomeFeeds() {
  Loading& loading = *loading_;
  const size_t count = std::min(kLoadBatch, loading.ids.size() - loading.next);
  Status read = store_->ReadFeeds(
      loading.ids.data() + loading.next, count,
      [&](FeedRecord&& record) {
        items_total_ += record.items_total;
        // A feed reported in the resumed run is done, whatever state that report left it in.
        const bool reported = loading.resumed != 0 && record.run_id == loading.resumed;
        if (options_.once ? record.status == "active" && !reported : IsScheduled(record)) {
          const int64_t due =
              options_.once ? loading.now : std::max<int64_t>(record.next_due_ms, 0);
          scheduler_.Schedule(record.id, record.url, due);
          ++loading.pending;
        }
        feeds_.Set(record.id, StatusOf(record.status), record.last_fetch_ms != 0);
      },
      LoadedFields());
  if (!read.ok()) return read;
  loading.next += count;
  return loading.next == loading.ids.size() ? EndLoad() : Status::Ok();
}

Status Coordinator::EndLoad() {
  Loading loading = std::move(*loading_);
  loading_.reset();
  if (loading.next < loading.ids.size()) {
    spdlog::info("stopped after loading {} of {} feeds", loading.next, loading.ids.size());
  }
  spdlog::info("coordinator epoch {} serving {} feeds; control {}, {}{}", epoch_, feeds_.size(),
               control_endpoint(),
               options_.results_forwarder
                   ? "results in " + results_in_endpoint_ + ", out " + results_out_endpoint_
                   : std::string("no results forwarder (fetchers bind their results sockets)"),
               options_.once ? " (once)" : "");
  if (!options_.once) return Status::Ok();
  // The run is every feed reported in it plus every active feed still to crawl: feeds added
  // after a crash join the resumed run, feeds removed since are no longer waited for. (A load
  // cut short by a stop counts the feeds it reached; the run's next start counts them again.)
  const uint64_t reported = loading.run.counters["done"];  // by the coordinators before
  run_.feeds = reported + loading.pending;
  loading.run.counters["feeds"] = run_.feeds;
  if (loading.resumed != 0) {
    spdlog::info("resuming run {}: {} feeds reported, {} to go", run_.id, reported,
                 loading.pending);
  }
  return store_->WriteRun(loading.run);
}

RunRecord Coordinator::RunRecordOf() const {
  RunRecord record;
  record.id = run_.id;
  record.state = "running";
  record.started_ms = run_.started_ms;
  record.counters = {{"feeds", run_.feeds},
                     {"done", run_.done},
                     {"ok", run_.ok},
                     {"not_modified", run_.not_modified},
                     {"failed", run_.failed},
                     {"items_new", run_.items_new},
                     {"items_parsed", run_.items_parsed},
                     {"bytes", run_.bytes},
                     {"resumes", run_.resumes}};
  for (const auto& [reason, count] : run_.failed_by_reason) {
    record.counters["failed_" + reason] = count;
  }
  run_latency_.ForEachBucket([&record](size_t index, uint64_t count) {
    record.counters[kLatencyBucketPrefix + std::to_string(index)] = count;
  });
  return record;
}

void Coordinator::AddToRun(const RunIncrements& increments) {
  for (const auto& [name, value] : increments) {
    const uint64_t n = static_cast<uint64_t>(value);
    if (name == "done") {
      run_.done += n;
    } else if (name == "ok") {
      run_.ok += n;
    } else if (name == "not_modified") {
      run_.not_modified += n;
    } else if (name == "failed") {
      run_.failed += n;
    } else if (name == "items_new") {
      run_.items_new += n;
    } else if (name == "items_parsed") {
      run_.items_parsed += n;
    } else if (name == "bytes") {
      run_.bytes += n;
    } else if (name.rfind("failed_", 0) == 0) {
      run_.failed_by_reason[name.substr(7)] += n;
    }
    // Latency buckets are recorded exactly by FinishFeed; the bucket counter is for the store.
  }
}

Status Coordinator::EndRun() {
  const uint64_t id = run_.id;
  const int64_t now = clock_.NowMs();
  Status s = RetryThroughOutage([&] { return store_->EndRun(id, "finished", now); },
                                "ending run " + std::to_string(id));
  // Another coordinator's run in P run (an operator started one meanwhile) is not ours to end.
  return s.IsNotFound() ? Status::Ok() : s;
}

void Coordinator::MaybeReloadFeeds(int64_t now) {
  // Read before the records: a change made while they are read moves the version past this
  // value, so the next check reads them again.
  StatusOr<uint64_t> version = store_->FeedsVersion();
  if (!version.ok()) {
    spdlog::warn("feed registry version: {}", version.status().ToString());
    return;
  }
  if (loaded_version_ == *version && now < next_full_reload_ms_) return;
  if (!ReloadFeeds()) return;  // tried again at the next check
  loaded_version_ = *version;
  next_full_reload_ms_ = now + options_.full_reload_interval_ms;
}

bool Coordinator::ReloadFeeds() {
  std::unordered_set<uint64_t> present;
  present.reserve(feeds_.size());
  Status s = store_->ForEachFeed([&](FeedRecord&& record) {
    present.insert(record.id);
    if (std::optional<FeedStatus> known = feeds_.Find(record.id)) {
      AdoptStatus(*known, record);
      return;
    }
    spdlog::info("feed {} added: {}", record.id, record.url);
    if (IsScheduled(record)) {
      scheduler_.Schedule(record.id, record.url, std::max<int64_t>(record.next_due_ms, 0));
    }
    feeds_.Set(record.id, StatusOf(record.status), record.last_fetch_ms != 0);
  }, LoadedFields());
  if (!s.ok()) {
    spdlog::warn("feed reload failed: {}", s.ToString());
    return false;  // a partial view must not remove the feeds it did not reach
  }
  feeds_.EraseUnless([&](uint64_t id) { return present.count(id) != 0; },
                     [&](uint64_t id) {
                       spdlog::info("feed {} removed", id);
                       scheduler_.Remove(id);
                     });
  return true;
}

Status Coordinator::Run() {
  next_stats_ms_ = clock_.NowMs();
  next_reload_ms_ = clock_.NowMs() + options_.reload_interval_ms;
  while (!stop_) {
    if (loading_) {
      if (Status s = LoadSomeFeeds(); !s.ok()) return s;
    }
    Dispatch();
    const int64_t now = clock_.NowMs();
    int64_t wake = loading_ ? now : std::min(next_stats_ms_, now + 200);
    if (auto t = scheduler_.NextWakeMs(); t && FindFetcherWithCredit()) wake = std::min(wake, *t);
    if (!lease_deadlines_.empty()) wake = std::min(wake, lease_deadlines_.top().first);
    auto ready = PollReadable({control_.get()}, static_cast<int>(std::max<int64_t>(0, wake - now)));
    if (!ready.ok()) return ready.status();
    // Bounded, so a flood of messages (hostile or not) cannot starve dispatch, lease expiry
    // and the stats; what is left is read on the next turn.
    for (int read = 0; read < kMaxMessagesPerTurn; ++read) {
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
    // The slots this turn's reports freed get their jobs before the reports' states are written,
    // so the fetchers work while Redis takes the writes (rather than waiting for them, then for
    // the records of their next jobs): an all-304 pass of 10,000 feeds took ~15 % less time. No
    // job read here is for a reported feed: the scheduler hands a feed out again only once its
    // state is written (FlushReports completes it).
    Dispatch();
    // Before anything else reads the feeds again (a reload) or the counters (stats, the end of
    // the run), the states of this turn's reports are written.
    FlushReports();
    const int64_t after = clock_.NowMs();
    if (after >= next_stats_ms_) {
      (void)WriteStats(false);
      next_stats_ms_ = after + (options_.once ? std::min<int64_t>(options_.stats_interval_ms, 250)
                                              : options_.stats_interval_ms);
    }
    if (!options_.once && !loading_ && after >= next_reload_ms_) {
      MaybeReloadFeeds(after);
      next_reload_ms_ = after + options_.reload_interval_ms;
    }
    if (RunComplete()) {
      spdlog::info("run {} complete: {} feeds, {} ok, {} not modified, {} failed", run_.id,
                   run_.done, run_.ok, run_.not_modified, run_.failed);
      break;
    }
  }
  if (loading_) {
    // Stopped while loading: the run is written as far as it is known, so that the reports
    // applied meanwhile are written with it.
    if (Status s = EndLoad(); !s.ok()) {
      spdlog::error("run {} could not be written: {}", run_.id, s.ToString());
      StopForwarder();
      return s;
    }
  }
  FlushReports();
  // A run stopped before its end stays "running" in the store, for the next start to resume.
  Status ended = RunComplete() ? EndRun() : Status::Ok();
  if (!ended.ok()) {
    spdlog::error("run {} could not be marked finished: {}", run_.id, ended.ToString());
  }
  Status s = WriteStats(true);
  StopForwarder();
  return s;
}

void Coordinator::HandleMessage(const WireMessage& message) {
  // The same receive check as every role's: frame count, version, the kinds this socket
  // carries and their fields. Anything else is counted and dropped.
  auto inbound = DecodeInbound(InboundSocket::kCoordinatorControl, message.frames);
  if (!inbound.ok()) {
    ++bad_messages_;
    spdlog::debug("dropped control message: {}", inbound.status().ToString());
    return;
  }
  const v1::Envelope* envelope = &inbound->envelope;
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
      if (worker == workers_.end()) worker = Readmit(message.peer, envelope->heartbeat());
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

std::map<std::string, Coordinator::Worker>::iterator Coordinator::Readmit(
    const std::string& peer, const v1::Heartbeat& beat) {
  // A worker that was silent too long (a stalled host, a long pause) was dropped and its jobs
  // handed out again, but it is alive: take it back with the slots it says are free, so it does
  // not stay idle forever. Jobs it still holds from before are no longer its leases; their
  // reports will be ignored as stale.
  if (beat.role() != v1::ROLE_FETCHER && beat.role() != v1::ROLE_PROCESSOR) return workers_.end();
  // A worker that knows another epoch (or none) is about to say Hello to this coordinator: the
  // Hello and its Credit state its slots, so nothing is guessed from the heartbeat.
  if (beat.coordinator_epoch() != epoch_) return workers_.end();
  Worker& worker = workers_[peer];
  worker.peer = peer;
  worker.role = beat.role();
  worker.worker_id = beat.worker_id();
  worker.credit = beat.role() == v1::ROLE_FETCHER ? beat.free_slots() : 0;
  worker.last_seen_ms = clock_.NowMs();
  worker.joined_ms = worker.last_seen_ms;
  spdlog::info("{} {} is back; readmitted with {} free slots",
               beat.role() == v1::ROLE_FETCHER ? "fetcher" : "processor", peer, worker.credit);
  return workers_.find(peer);
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
    // Only the fetcher holding a lease may hand it back.
    auto lease = leases_.find(job_id);
    if (lease != leases_.end() && lease->second.fetcher == peer) {
      ReleaseLease(job_id, /*count_attempt=*/false, "returned");
    }
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
  // While the records load, reports are held rather than written (FlushReports): past a batch
  // of them, no more jobs go out until the load has ended, so that what is held stays bounded
  // however long the load takes.
  if (loading_ && report_saves_.size() >= kReportBatch) return;
  const int64_t now = clock_.NowMs();
  while (true) {
    uint64_t credit = 0;
    for (const auto& [peer, worker] : workers_) {
      if (worker.role == v1::ROLE_FETCHER) credit += worker.credit;
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(credit, kDispatchBatch));
    std::vector<uint64_t> taken;
    std::vector<bool> last_for_host;  // asked at the take, while the host's queue is as it was
    taken.reserve(want);
    while (taken.size() < want) {
      std::optional<uint64_t> feed_id = scheduler_.NextDispatch(now);
      if (!feed_id) break;
      taken.push_back(*feed_id);
      last_for_host.push_back(!scheduler_.HostNextStartsSoon(*feed_id));
    }
    if (taken.empty()) return;
    auto records = store_->GetFeeds(taken);
    if (!records.ok()) {
      spdlog::warn("{} feeds not dispatched, store unavailable: {}", taken.size(),
                   records.status().ToString());
      for (uint64_t feed_id : taken) scheduler_.Complete(feed_id, now, now + kStoreRetryMs);
      return;
    }
    SendJobs(taken, last_for_host, *records, now);
    if (taken.size() < want) return;  // nothing more may start now
  }
}

void Coordinator::SendJobs(const std::vector<uint64_t>& taken,
                           const std::vector<bool>& last_for_host,
                           std::vector<std::optional<FeedRecord>>& records, int64_t now) {
  for (size_t i = 0; i < taken.size(); ++i) {
    const uint64_t feed_id = taken[i];
    if (!records[i].has_value() || !feeds_.contains(feed_id)) {  // removed meanwhile
      scheduler_.Complete(feed_id, now, std::nullopt);
      scheduler_.Remove(feed_id);
      feeds_.Erase(feed_id);
      if (options_.once) ++run_.done;  // nothing left to crawl, but the run must still end
      continue;
    }
    Worker* fetcher = FindFetcherWithCredit();
    if (fetcher == nullptr) {
      // The fetchers whose credit this batch counted on were dropped: the feed waits for the
      // next one. Its host slot is freed; the host's spacing still counts from this take.
      scheduler_.Complete(feed_id, now, now);
      continue;
    }
    auto feed = in_flight_.insert_or_assign(feed_id, std::move(*records[i])).first;
    const uint64_t job_id = (epoch_ << 32) | (++next_job_seq_ & 0xffffffffULL);
    v1::Envelope envelope;
    v1::FetchJob* job = envelope.mutable_job();
    job->set_job_id(job_id);
    job->set_feed_id(feed_id);
    job->set_url(feed->second.url);
    job->set_etag(feed->second.etag);
    job->set_last_modified(feed->second.last_modified);
    job->set_body_digest(feed->second.body_digest);
    job->set_items_stored(feed->second.items_total);
    job->set_attempt(attempts_[feed_id] + 1);
    job->set_max_body_bytes(options_.max_body_bytes);
    job->set_connect_timeout_ms(options_.connect_timeout_ms);
    job->set_total_timeout_ms(options_.fetch_timeout_ms);
    job->set_max_redirects(options_.max_redirects);
    job->set_dispatched_at_ms(now);
    job->set_last_for_host(last_for_host[i]);
    Status sent = control_->Send(WireMessage{fetcher->peer, {EncodeEnvelope(envelope)}});
    if (!sent.ok()) {
      spdlog::warn("fetcher {} unreachable ({}), dropping it", fetcher->peer, sent.ToString());
      workers_.erase(fetcher->peer);
      in_flight_.erase(feed_id);
      scheduler_.Complete(feed_id, now, now);
      continue;
    }
    --fetcher->credit;
    const int64_t deadline = now + options_.fetch_timeout_ms + options_.lease_grace_ms;
    leases_[job_id] = Lease{feed_id, fetcher->peer, deadline, now};
    feed_job_[feed_id] = job_id;
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
  const int64_t latency_ms = clock_.NowMs() - it->second.dispatched_ms;
  NoteHostFetch(feed_id, latency_ms, IsSuccess(report.outcome()));
  leases_.erase(it);
  feed_job_.erase(feed_id);
  FinishFeed(feed_id, report, latency_ms);
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
    FinishFeed(feed_id, report, std::nullopt);
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

void Coordinator::AdoptStatus(FeedStatus status, const FeedRecord& stored) {
  // The coordinator writes every status it sets itself, so a difference is an operator's change.
  // A feed in flight keeps its job; the change is seen on the next reload.
  const FeedStatus wanted = StatusOf(stored.status);
  if (wanted == status || scheduler_.InFlight(stored.id)) return;
  spdlog::info("feed {} set to {} by the operator", stored.id, stored.status);
  feeds_.Set(stored.id, wanted);
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

Status Coordinator::RetryThroughOutage(const std::function<Status()>& write,
                                       const std::string& what) {
  // A report's state must not be lost to a Redis restart: wait for the store to come back (the
  // loop is paused meanwhile, and nothing could be stored anyway), up to kStoreOutageMs.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStoreOutageMs);
  int64_t backoff_ms = 50;
  while (true) {
    Status s = write();
    if (s.ok() || s.IsNotFound() || stop_ || std::chrono::steady_clock::now() >= give_up) return s;
    spdlog::warn("{} failed ({}), retrying in {} ms", what, s.ToString(), backoff_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 2000);
  }
}

std::vector<Status> Coordinator::SaveFeedsThroughOutage(const std::vector<FeedSave>& saves) {
  // Like RetryThroughOutage, for a batch: saves that are done (written, or their feed is gone)
  // are not sent again; the others are retried together. Repeating a save is harmless: the state
  // is the same, and a run's counters are added once per feed.
  std::vector<Status> statuses(saves.size());
  std::vector<size_t> todo(saves.size());
  for (size_t i = 0; i < saves.size(); ++i) todo[i] = i;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStoreOutageMs);
  int64_t backoff_ms = 50;
  auto save_todo = [&]() {
    if (todo.size() == saves.size()) return store_->SaveFeeds(saves);
    std::vector<FeedSave> subset;
    subset.reserve(todo.size());
    for (size_t i : todo) subset.push_back(saves[i]);
    return store_->SaveFeeds(subset);
  };
  while (true) {
    StatusOr<std::vector<FeedSaveResult>> results = save_todo();
    Status failure;
    if (!results.ok()) {
      failure = results.status();
      for (size_t i : todo) statuses[i] = failure;
    } else {
      std::vector<size_t> again;
      for (size_t k = 0; k < todo.size(); ++k) {
        const Status& s = (*results)[k].status;
        statuses[todo[k]] = s;
        if (s.ok() || s.IsNotFound()) continue;
        failure = s;
        again.push_back(todo[k]);
      }
      todo = std::move(again);
    }
    if (todo.empty() || stop_ || std::chrono::steady_clock::now() >= give_up) return statuses;
    spdlog::warn("saving {} feed states failed ({}), retrying in {} ms", todo.size(),
                 failure.ToString(), backoff_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 2000);
  }
}

void Coordinator::FlushReports() {
  // While the records load, the run is not written yet (once mode): the states wait for it.
  if (report_saves_.empty() || loading_) return;
  std::vector<FeedSave> saves = std::move(report_saves_);
  std::vector<ReportFollowUp> follow_ups = std::move(report_follow_ups_);
  report_saves_.clear();
  report_follow_ups_.clear();
  const std::vector<Status> statuses = SaveFeedsThroughOutage(saves);
  const int64_t now = clock_.NowMs();
  for (size_t i = 0; i < saves.size(); ++i) {
    const FeedRecord& feed = saves[i].feed;
    const ReportFollowUp& follow_up = follow_ups[i];
    if (statuses[i].IsNotFound()) {
      spdlog::info("feed {} was removed while in flight", feed.id);
    } else if (!statuses[i].ok()) {
      spdlog::error("saving feed {} failed: {}", feed.id, statuses[i].ToString());
    }
    if (options_.once) {
      scheduler_.Complete(feed.id, now, std::nullopt);
    } else if (feed.url != follow_up.url_before && follow_up.next_due_ms) {
      // The host may have changed with the URL: the feed re-enters under its new host.
      scheduler_.Complete(feed.id, now, std::nullopt);
      scheduler_.Remove(feed.id);
      scheduler_.Schedule(feed.id, feed.url, *follow_up.next_due_ms);
    } else {
      scheduler_.Complete(feed.id, now, follow_up.next_due_ms);
    }
  }
  // The queues take their buffers back, so the next batch grows into them instead of
  // reallocating (and moving every queued record) ten times on its way to kReportBatch.
  saves.clear();
  follow_ups.clear();
  if (report_saves_.empty()) report_saves_.swap(saves);
  if (report_follow_ups_.empty()) report_follow_ups_.swap(follow_ups);
}

void Coordinator::FinishFeed(uint64_t feed_id, const v1::JobReport& report,
                             std::optional<int64_t> latency_ms) {
  const int64_t now = clock_.NowMs();
  attempts_.erase(feed_id);
  auto it = in_flight_.find(feed_id);
  if (it == in_flight_.end() || !feeds_.contains(feed_id)) {  // removed while in flight
    if (it != in_flight_.end()) in_flight_.erase(it);
    scheduler_.Complete(feed_id, now, std::nullopt);
    return;
  }
  FeedRecord feed = std::move(it->second);
  in_flight_.erase(it);
  // The record as read at dispatch: the save writes only what this report changes.
  FeedRecord stored = feed;
  const uint64_t items_before = feed.items_total;
  const std::string url_before = feed.url;
  FreshnessDecision decision = freshness_.Apply(feed, report, now);
  if (decision.pause_host_until_ms) {
    // One feed's 429 speaks for its whole host: every feed there waits.
    scheduler_.PauseHost(url_before, *decision.pause_host_until_ms);
  }
  if (decision.move_to_url) MoveFeed(feed, *decision.move_to_url);
  const uint64_t growth = feed.items_total - std::min(items_before, feed.items_total);
  items_total_ += growth;
  feeds_.Set(feed_id, StatusOf(feed.status), /*fetched=*/true);
  const bool success = IsSuccess(report.outcome());
  // The run counters cover the coordinator's lifetime in continuous mode, the pass in --once.
  // New items are the growth of the feed's stored items, so items stored by a job whose report
  // was lost (its processor or the coordinator died) still count once, in the job that follows.
  RunIncrements increments = {{"done", 1}};
  if (report.outcome() == v1::OUTCOME_OK) increments["ok"] = 1;
  if (report.outcome() == v1::OUTCOME_NOT_MODIFIED) increments["not_modified"] = 1;
  if (!success) {
    increments["failed"] = 1;
    increments["failed_" + FailureReason(report)] = 1;
  }
  const uint64_t items_new = std::max<uint64_t>(growth, report.new_items());
  if (items_new > 0) increments["items_new"] = static_cast<int64_t>(items_new);
  if (report.parsed_items() > 0) increments["items_parsed"] = report.parsed_items();
  if (report.body_bytes() > 0) increments["bytes"] = static_cast<int64_t>(report.body_bytes());
  if (latency_ms) {
    job_latency_.Record(*latency_ms);
    run_latency_.Record(*latency_ms);
    increments[kLatencyBucketPrefix + std::to_string(LatencyHistogram::BucketOf(*latency_ms))] = 1;
  }
  ++fetches_total_;
  if (!success) ++errors_total_;
  if (report.outcome() == v1::OUTCOME_OK) ++ok_total_;
  if (report.outcome() == v1::OUTCOME_NOT_MODIFIED) ++not_modified_total_;
  if (!success) ++errors_by_class_[FailureReason(report)];
  items_new_total_ += report.new_items();
  AddToRun(increments);
  if (!success) {
    spdlog::debug("feed {} {} failed: {} {}", feed_id, feed.url, FailureReason(report),
                  report.error());
  }
  FeedSave save;
  if (options_.once) {
    save.run_id = run_.id;
    save.counters = std::move(increments);
  }
  save.feed = std::move(feed);
  save.stored = std::move(stored);
  report_saves_.push_back(std::move(save));
  report_follow_ups_.push_back(ReportFollowUp{url_before, decision.next_due_ms});
  if (report_saves_.size() >= kReportBatch) FlushReports();
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
  // Figures that walk every host (the dispatchable count here, the ranking in P stats:hosts
  // below) are refreshed every (1 + hosts / kHostsWalkedPerWrite)th write, and always on the last
  // one: with 66,667 hosts the ranking alone was a fifth of the coordinator's CPU when done at
  // every write. The first write refreshes them too; below 10,000 hosts, every write does.
  const size_t walk_every = 1 + scheduler_.hosts() / kHostsWalkedPerWrite;
  const bool walk_hosts = final_write || writes_to_host_walk_ == 0;
  writes_to_host_walk_ = walk_hosts ? walk_every - 1 : writes_to_host_walk_ - 1;
  if (walk_hosts) dispatchable_ = scheduler_.DispatchableNow(now);
  const size_t due = scheduler_.DueWaiting();
  const size_t dispatchable = std::min(dispatchable_, due);
  const uint64_t in_flight = leases_.size();
  auto number = [](auto value) { return std::to_string(value); };
  std::map<std::string, std::string> stats = {
      {"updated_ms", number(now)},
      {"epoch", number(epoch_)},
      {"feeds_total", number(feeds_.size())},
      {"feeds_paused", number(feeds_.Count(FeedStatus::kPaused))},
      {"feeds_disabled", number(feeds_.Count(FeedStatus::kDisabled))},
      {"feeds_never_fetched", number(feeds_.NeverFetched())},
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
      {"zap_refused_total", number(context_.zap_refused())},  // CURVE clients not admitted
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
  if (options_.once) {
    stats["run_id"] = number(run_.id);
    stats["run_resumes"] = number(run_.resumes);
  }
  stats["run_elapsed_ms"] = number(now - run_.started_ms);
  auto add_latency = [&](const std::string& prefix, const LatencyHistogram& histogram) {
    if (histogram.count() == 0) return;
    stats[prefix + "p50_ms"] = number(histogram.Quantile(0.50));
    stats[prefix + "p90_ms"] = number(histogram.Quantile(0.90));
    stats[prefix + "p99_ms"] = number(histogram.Quantile(0.99));
    stats[prefix + "max_ms"] = number(histogram.max());
  };
  add_latency("job_latency_", job_latency_);
  add_latency("run_job_latency_", run_latency_);
  if (options_.once) stats["run_complete"] = final_write && RunComplete() ? "1" : "0";
  if (options_.metrics != nullptr) {
    options_.metrics->Publish(MetricsFromStats("coordinator", stats));
  }
  Status s = store_->WriteStats(stats);
  if (!s.ok()) spdlog::warn("writing stats failed: {}", s.ToString());
  WriteWorkerHashes(now);
  if (walk_hosts) WriteHostStats();
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
  const std::optional<uint32_t> index = scheduler_.HostOf(feed_id);
  if (!index) return;  // removed while in flight
  if (*index >= hosts_.size()) hosts_.resize(scheduler_.hosts());
  HostNumbers& host = hosts_[*index];
  ++host.fetches;
  if (!success) ++host.errors;
  host.total_ms += std::max<int64_t>(elapsed_ms, 0);
  host.max_ms = std::max(host.max_ms, elapsed_ms);
}

void Coordinator::WriteHostStats() {
  std::vector<uint32_t> fetched;
  for (uint32_t i = 0; i < hosts_.size(); ++i) {
    if (hosts_[i].fetches > 0) fetched.push_back(i);
  }
  auto average = [&](uint32_t i) { return hosts_[i].total_ms / int64_t(hosts_[i].fetches); };
  std::map<std::string, std::string> published;
  auto publish_top = [&](auto better) {
    const size_t n = std::min(options_.stats_hosts, fetched.size());
    std::partial_sort(fetched.begin(), fetched.begin() + static_cast<std::ptrdiff_t>(n),
                      fetched.end(), better);
    for (size_t i = 0; i < n; ++i) {
      const HostNumbers& h = hosts_[fetched[i]];
      nlohmann::json json = {{"fetches", h.fetches}, {"errors", h.errors},
                             {"avg_ms", average(fetched[i])}, {"max_ms", h.max_ms}};
      published[scheduler_.HostName(fetched[i])] = json.dump();
    }
  };
  publish_top([&](uint32_t a, uint32_t b) { return hosts_[a].fetches > hosts_[b].fetches; });
  publish_top([&](uint32_t a, uint32_t b) { return average(a) > average(b); });
  Status s = store_->WriteHostStats(published);
  if (!s.ok()) spdlog::warn("writing host stats failed: {}", s.ToString());
}

void Coordinator::SendTo(const std::string& peer, const v1::Envelope& envelope) {
  Status s = control_->Send(WireMessage{peer, {EncodeEnvelope(envelope)}});
  if (!s.ok()) spdlog::debug("send to {} failed: {}", peer, s.ToString());
}

}  // namespace feedcrawl
