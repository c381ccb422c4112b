#include "processor/processor.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <thread>
#include <vector>

#include "common/feed_model.h"
#include "common/messages.h"
#include "processor/parser.h"

namespace feedcrawl {

namespace {

// How long a report may wait for room on the control socket. A connection ZeroMQ dropped for
// good blocks sends for ever; past this the job is left to its lease and the silence check
// reconnects.
constexpr int64_t kReportSendMs = 1000;
// How often a busy processor reads its control socket, which carries only the coordinator's
// answers to its heartbeats (one a second by default): often enough that a restarted
// coordinator is noticed at once.
constexpr int64_t kControlReadMs = 10;
// Reports leave in bursts: ZeroMQ wakes its I/O thread once for messages sent back to back, and
// the coordinator's I/O thread reads them in one go, where each report sent alone cost a wake-up
// at both ends (an eventfd write and read, a poll, epoll changes). A report waits at most this
// long (ProcessorOptions::report_hold_ms), and none waits while the processor is idle.
constexpr size_t kReportBatch = 32;
// Asking which items are stored costs a round trip and its wake-ups, ~36 µs of processor CPU
// (measured with 30,000 feeds of one 2 KB item, each of them new), and saves a few µs per known
// item: it pays from a few items on, not for a feed of one or two.
constexpr size_t kAskKnownMinItems = 4;

std::string DefaultWorkerId() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

// Median gap between the publication times of the newest items (at most 20), 0 when fewer than
// two items carry a date. A median, not a mean, so one old item re-dated or a burst of posts does
// not swing the feed's schedule.
int64_t PublishIntervalMs(const std::vector<Item>& items) {
  std::vector<int64_t> times;
  for (const Item& item : items) {
    if (auto t = item.published_ms ? item.published_ms : item.updated_ms) times.push_back(*t);
  }
  std::sort(times.begin(), times.end(), std::greater<>());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  if (times.size() > 20) times.resize(20);
  if (times.size() < 2) return 0;
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < times.size(); ++i) gaps.push_back(times[i - 1] - times[i]);
  std::nth_element(gaps.begin(), gaps.begin() + gaps.size() / 2, gaps.end());
  return gaps[gaps.size() / 2];
}

// About the length of an item's JSON text, so that it is written into one allocation: the
// strings as they are plus the member names and dates (escapes rarely add much).
size_t JsonSizeHint(const Item& item) {
  size_t size = 256 + item.key.size() + (item.id ? item.id->size() : 0) + item.title.size() +
                item.link.size() + item.author.size() + item.summary.size() + item.content.size();
  for (const std::string& category : item.categories) size += category.size() + 3;
  for (const Enclosure& e : item.enclosures) size += e.url.size() + e.type.size() + 48;
  return size + size / 16;
}

}  // namespace

Processor::Processor(ProcessorOptions options, std::unique_ptr<Store> store, Clock& clock)
    : options_(std::move(options)), store_(std::move(store)), clock_(clock) {
  if (options_.worker_id.empty()) options_.worker_id = DefaultWorkerId();
}

Status Processor::Start() {
  SocketOptions control_options;
  control_options.identity = "p:" + options_.worker_id;
  control_options.max_message_bytes = 1 << 20;
  control_options.security = options_.security;
  auto control = Socket::Create(context_, SocketKind::kDealer, control_options);
  if (!control.ok()) return control.status();
  control_ = std::move(*control);
  SocketOptions results_options;
  results_options.recv_hwm = options_.recv_hwm;
  results_options.security = options_.security;
  auto results = Socket::Create(context_, SocketKind::kPull, results_options);
  if (!results.ok()) return results.status();
  results_ = std::move(*results);
  if (Status s = control_->Connect(options_.control_endpoint); !s.ok()) return s;
  if (options_.results_endpoints.empty()) {
    return Status::InvalidArgument("processor needs at least one results endpoint");
  }
  std::string from;
  for (const std::string& endpoint : options_.results_endpoints) {
    if (Status s = results_->Connect(endpoint); !s.ok()) return s;
    from += (from.empty() ? "" : ", ") + endpoint;
  }
  spdlog::info("processor {} started: control {}, results from {}", options_.worker_id,
               options_.control_endpoint, from);
  SayHello();
  last_heard_ms_ = clock_.MonotonicMs();
  return Status::Ok();
}

void Processor::SayHello() {
  v1::Envelope envelope;
  v1::Hello* hello = envelope.mutable_hello();
  hello->set_role(v1::ROLE_PROCESSOR);
  hello->set_worker_id(options_.worker_id);
  hello->set_capacity(1);
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  hello->set_hostname(host);
  hello->set_pid(static_cast<uint32_t>(getpid()));
  (void)control_->Send(WireMessage{"", {EncodeEnvelope(envelope)}});
}

void Processor::SendHeartbeat() {
  CompletePending(0);  // the store's connection is needed for the worker hash
  v1::Envelope envelope;
  v1::Heartbeat* beat = envelope.mutable_heartbeat();
  beat->set_role(v1::ROLE_PROCESSOR);
  beat->set_worker_id(options_.worker_id);
  beat->set_processed(processed_);
  beat->set_errors(errors_);
  beat->set_coordinator_epoch(coordinator_epoch_);  // the coordinator this processor knows
  (void)control_->Send(WireMessage{"", {EncodeEnvelope(envelope)}});

  // The same numbers for operators: a hash that outlives this process by its TTL at most.
  const int64_t now = clock_.NowMs();
  WorkerHash hash;
  hash.role = "processor";
  hash.id = options_.worker_id;
  hash.fields = {{"pid", std::to_string(getpid())},
                 {"capacity", std::to_string(options_.recv_hwm)},
                 {"processed", std::to_string(processed_)},
                 {"errors", std::to_string(errors_)},
                 {"bad_messages", std::to_string(bad_messages_)},
                 {"items_known", std::to_string(items_known_)},
                 {"coordinator_epoch", std::to_string(coordinator_epoch_)},
                 {"updated_ms", std::to_string(now)}};
  if (Status s = store_->WriteWorkers({hash}, options_.worker_ttl_ms, now); !s.ok()) {
    spdlog::warn("writing the worker hash failed: {}", s.ToString());
  }
  if (options_.metrics != nullptr) {
    options_.metrics->Publish(
        {{"processor_processed_total", "Fetch results processed", true, {},
          static_cast<double>(processed_)},
         {"processor_errors_total", "Results that ended in an error", true, {},
          static_cast<double>(errors_)},
         {"processor_bad_messages_total", "Unreadable messages dropped", true, {},
          static_cast<double>(bad_messages_)},
         {"processor_items_known_total",
          "Parsed items found stored already, whose JSON was not sent to the store", true, {},
          static_cast<double>(items_known_)},
         {"processor_capacity", "Results buffered by this processor at most", false, {},
          static_cast<double>(options_.recv_hwm)}});
  }
}

Status Processor::Run() {
  while (!stop_) {
    const int64_t now = clock_.MonotonicMs();
    if (now >= next_heartbeat_ms_) {
      SendHeartbeat();
      next_heartbeat_ms_ = now + options_.heartbeat_ms;
      // A coordinator that stays silent may have restarted without our noticing: say Hello again.
      if (now - last_heard_ms_ > 5 * options_.heartbeat_ms) {
        // A fresh connection too: ZeroMQ never reconnects one it dropped for a protocol error
        // (such as a frame above the maximum size).
        (void)control_->Disconnect(options_.control_endpoint);
        if (Status s = control_->Connect(options_.control_endpoint); !s.ok()) {
          spdlog::warn("cannot reconnect to the coordinator: {}", s.ToString());
        }
        SayHello();
        last_heard_ms_ = now;
      }
    }
    // The control socket only carries the coordinator's heartbeats: while results keep coming
    // it is read every kControlReadMs, not at every turn (an empty read costs system calls).
    if (now >= next_control_read_ms_) {
      DrainControl();
      next_control_read_ms_ = now + kControlReadMs;
    }
    if (!held_reports_.empty() && now - held_since_ms_ >= options_.report_hold_ms) {
      SendHeldReports();
    }
    // One result per turn keeps heartbeats flowing while a backlog is worked through. A queued
    // result is taken without polling: ZeroMQ hands it over without a system call, where a
    // poll makes several (one per socket, then the poll itself).
    // The body is read where ZeroMQ received it; the parser makes the one copy it parses in.
    StatusOr<bool> received = results_->TryRecv(&result_);
    if (received.ok() && *received) {
      HandleResult(result_);
      continue;
    }
    CompletePending(0);  // no more work at hand: finish what Redis is storing
    SendHeldReports();
    // Reports held back for a store reply are not left waiting on an idle socket.
    const int timeout =
        pending_.empty()
            ? static_cast<int>(std::clamp<int64_t>(next_heartbeat_ms_ - now, 0, 200))
            : 0;
    auto ready = PollReadable({control_.get(), results_.get()}, timeout);
    if (!ready.ok()) return ready.status();
    if (std::find(ready->begin(), ready->end(), 0) != ready->end()) DrainControl();
  }
  CompletePending(0);
  SendHeldReports();
  (void)store_->DeleteWorker("processor", options_.worker_id);
  return Status::Ok();
}

void Processor::DrainControl() {
  while (true) {
    auto message = control_->TryRecv();
    if (!message.ok() || !message->has_value()) return;
    HandleControl(**message);
  }
}

void Processor::HandleControl(const WireMessage& message) {
  auto inbound = DecodeInbound(InboundSocket::kProcessorControl, message.frames);
  if (!inbound.ok()) {
    ++bad_messages_;
    return;
  }
  last_heard_ms_ = clock_.MonotonicMs();
  const uint64_t epoch = inbound->envelope.heartbeat().coordinator_epoch();
  if (coordinator_epoch_ != 0 && epoch != coordinator_epoch_) {
    spdlog::info("coordinator restarted (epoch {} -> {}), announcing again", coordinator_epoch_,
                 epoch);
    SayHello();
  }
  coordinator_epoch_ = epoch;
}

void Processor::HandleResult(const InPlaceMessage& message) {
  auto inbound = DecodeInbound(InboundSocket::kProcessorResults, message.frames());
  if (!inbound.ok()) {
    ++bad_messages_;
    spdlog::debug("dropped data-plane message: {}", inbound.status().ToString());
    return;
  }
  PendingStore job = Prepare(inbound->envelope.result(), inbound->body);
  if (!job.needs_store) {
    SendReport(job.report);
    return;
  }
  // The items go to Redis now and the report once Redis has answered, so parsing the next
  // results overlaps with the store; the report (which ends the lease) still waits for the items.
  if (Status s = SendNext(job); !s.ok()) {
    spdlog::warn("job {}: sending items to the store failed ({}), storing synchronously",
                 job.report.job_id(), s.ToString());
    CompletePending(0);
    StoreAndReport(job);
    return;
  }
  pending_.push_back(std::move(job));
  const size_t depth = static_cast<size_t>(std::max(1, options_.store_pipeline_depth));
  if (pending_.size() >= depth) CompletePending(depth - 1);
}

void Processor::SendReport(v1::JobReport& report) {
  v1::Envelope out;
  *out.mutable_report() = std::move(report);
  if (held_reports_.empty()) held_since_ms_ = clock_.MonotonicMs();
  const uint64_t job_id = out.report().job_id();
  held_reports_.push_back({job_id, EncodeEnvelope(std::move(out))});
  if (held_reports_.size() >= kReportBatch) SendHeldReports();
}

void Processor::SendHeldReports() {
  for (HeldReport& report : held_reports_) {
    const WireMessage message_out{"", {std::move(report.envelope)}};
    Status s = control_->Send(message_out, /*dont_wait=*/true);
    const int64_t give_up = clock_.MonotonicMs() + kReportSendMs;
    while (s.IsWouldBlock() && !stop_ && clock_.MonotonicMs() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      s = control_->Send(message_out, /*dont_wait=*/true);
    }
    if (!s.ok()) spdlog::warn("report for job {} not sent: {}", report.job_id, s.ToString());
  }
  held_reports_.clear();
}

Status Processor::SendNext(PendingStore& job) {
  if (job.step == PendingStore::Step::kAskKnown) {
    if (Status s = store_->SendKnownItems(job.report.feed_id(), job.items, job.items_stored);
        s.ok()) {
      job.step = PendingStore::Step::kAwaitKnown;
      return s;
    }
    job.step = PendingStore::Step::kStore;  // the connection failed: the caller stores every item
  }
  WriteJson(job);
  return store_->SendStoreItems(job.report.feed_id(), job.items, job.hint);
}

bool Processor::DropKnown(PendingStore& job, const KnownItems& known) {
  if (known.known.size() != job.items.size()) return false;  // not an answer: send every item
  size_t kept = 0;
  for (size_t i = 0; i < job.items.size(); ++i) {
    if (known.known[i]) continue;
    if (kept != i) {
      job.items[kept] = std::move(job.items[i]);
      job.positions[kept] = job.positions[i];
    }
    ++kept;
  }
  items_known_ += job.items.size() - kept;
  job.items.resize(kept);
  job.positions.resize(kept);
  if (kept > 0) return false;
  StoreItemsResult nothing_new;
  nothing_new.total_items = known.total_items;
  SetStored(job.report, nothing_new);
  return true;
}

Processor::KnownAnswer Processor::TakeKnownAnswer(PendingStore& job,
                                                  const StatusOr<KnownItems>& known) {
  job.step = PendingStore::Step::kStore;
  if (known.ok()) {
    return DropKnown(job, *known) ? KnownAnswer::kNothingNew : KnownAnswer::kSendItems;
  }
  if (known.status().code() == StatusCode::kUnavailable) {
    spdlog::warn("job {}: known-items reply failed ({}), storing every item", job.report.job_id(),
                 known.status().ToString());
    return KnownAnswer::kLost;
  }
  // An answer, but not one to use (a server without ZMSCORE): stop asking, send every item.
  if (ask_known_) {
    ask_known_ = false;
    spdlog::warn("the store cannot say which items it has ({}); every parsed item is sent from "
                 "now on (Redis 6.2 or later has ZMSCORE)", known.status().ToString());
  }
  return KnownAnswer::kSendItems;
}

void Processor::WriteJson(PendingStore& job) {
  if (job.positions.empty()) return;  // no items, or their JSON is written already
  const std::vector<Item> parsed = job.document.ReadWhole(job.positions);
  job.document = FeedDocument();
  job.positions.clear();
  for (size_t i = 0; i < parsed.size() && i < job.items.size(); ++i) {
    if (parsed[i].key != job.items[i].key) {
      // Never expected (both steps give ParseFeed's keys); the whole item's key is the one
      // ParseFeed, and so every earlier store of this feed, used.
      spdlog::error("job {}: item key {} read whole as {}", job.report.job_id(), job.items[i].key,
                    parsed[i].key);
      job.items[i].key = parsed[i].key;
    }
    job.items[i].json.reserve(JsonSizeHint(parsed[i]));
    AppendItemJson(parsed[i], &job.items[i].json);
  }
}

void Processor::CompletePending(size_t keep) {
  std::vector<PendingStore> failed;
  // After a failure every reply still due is read (or comes back lost with the connection) so
  // that the store can be used synchronously again.
  while (pending_.size() > keep || (!failed.empty() && !pending_.empty())) {
    PendingStore job = std::move(pending_.front());
    pending_.pop_front();
    if (job.step == PendingStore::Step::kAwaitKnown) {
      const KnownAnswer answer = TakeKnownAnswer(job, store_->ReceiveKnownItems());
      if (answer == KnownAnswer::kNothingNew) {
        SendReport(job.report);
        continue;
      }
      // The new items go next, behind the calls still pending; after a failure, synchronously.
      if (answer == KnownAnswer::kSendItems && failed.empty() && SendNext(job).ok()) {
        pending_.push_back(std::move(job));
        continue;
      }
      failed.push_back(std::move(job));
      continue;
    }
    StatusOr<StoreItemsResult> stored = store_->ReceiveStoreItems();
    if (!stored.ok()) {
      spdlog::warn("job {}: store reply failed ({}), storing again", job.report.job_id(),
                   stored.status().ToString());
      failed.push_back(std::move(job));
      continue;
    }
    SetStored(job.report, *stored);
    SendReport(job.report);
  }
  for (PendingStore& job : failed) {
    // Once the store stays unavailable for one job it is for the others too: they are left to
    // their leases without waiting out the retry time again.
    if (!StoreAndReport(job)) break;
  }
}

bool Processor::StoreAndReport(PendingStore& job) {
  // The store may hold this call for up to store_retry_ms: the jobs already stored are reported
  // first, before their leases run out.
  SendHeldReports();
  WriteJson(job);
  auto stored = StoreWithRetry(job.report.feed_id(), job.items, job.hint);
  if (!stored.ok()) {
    ++errors_;
    spdlog::error("job {}: store unavailable, leaving the job to its lease: {}",
                  job.report.job_id(), stored.status().ToString());
    return false;
  }
  SetStored(job.report, *stored);
  SendReport(job.report);
  return true;
}

void Processor::SetStored(v1::JobReport& report, const StoreItemsResult& stored) {
  report.set_new_items(stored.new_items);
  report.set_total_items(static_cast<uint32_t>(stored.total_items));
}

std::optional<v1::JobReport> Processor::Process(const v1::FetchResult& result,
                                                std::string_view body) {
  CompletePending(0);
  PendingStore job = Prepare(result, body);
  if (!job.needs_store) return std::move(job.report);
  if (job.step == PendingStore::Step::kAskKnown &&
      TakeKnownAnswer(job, store_->FindKnownItems(job.report.feed_id(), job.items,
                                                  job.items_stored)) == KnownAnswer::kNothingNew) {
    return std::move(job.report);
  }
  WriteJson(job);
  auto stored = StoreWithRetry(job.report.feed_id(), job.items, job.hint);
  if (!stored.ok()) {
    ++errors_;
    spdlog::error("job {}: store unavailable, leaving the job to its lease: {}",
                  job.report.job_id(), stored.status().ToString());
    return std::nullopt;
  }
  SetStored(job.report, *stored);
  return std::move(job.report);
}

Processor::PendingStore Processor::Prepare(const v1::FetchResult& result, std::string_view body) {
  ++processed_;
  PendingStore job;
  v1::JobReport& report = job.report;
  report = ReportFor(result);
  report.set_processor_id(options_.worker_id);
  if (result.outcome() != v1::OUTCOME_OK) {
    // Transport outcomes and 304s pass through (fetchers report them to the coordinator
    // themselves; older ones send them here).
    if (result.outcome() != v1::OUTCOME_NOT_MODIFIED) ++errors_;
    return job;
  }
  const std::string& base = result.effective_url().empty() ? result.job().url()
                                                           : result.effective_url();
  const ParseOptions parse_options{base, result.content_type()};
  // A feed with a digest had its items stored before: most of them are known, so they are read
  // for their keys and dates first, and whole only once the store said which it lacks.
  const bool stored_before = ask_known_ && !result.job().body_digest().empty();
  job.document = stored_before ? ParseFeedKeys(body, parse_options)
                               : FeedDocument(ParseFeed(body, parse_options));
  const ParsedFeed& parsed = job.document.feed();
  report.set_format(parsed.format);
  report.set_bozo(parsed.bozo);
  if (parsed.format.empty()) {
    ++errors_;
    report.set_outcome(v1::OUTCOME_PARSE_ERROR);
    report.set_error(parsed.error.empty() ? "not a feed" : parsed.error);
    return job;
  }
  const int64_t seen_ms = result.fetched_at_ms() > 0 ? result.fetched_at_ms() : clock_.NowMs();
  job.needs_store = true;
  // A report goes out only once the items are stored, so the digest is kept only then.
  report.set_body_digest(result.body_digest());
  // Ask which of them the store has when there are enough for the answer to save more than it
  // costs.
  if (stored_before && parsed.items.size() >= kAskKnownMinItems) {
    job.step = PendingStore::Step::kAskKnown;
    if (result.job().has_items_stored()) job.items_stored = result.job().items_stored();
  }
  // No digest: as far as the scheduler knows, none of the feed's items is stored yet (the store
  // checks, and a wrong guess only costs it a copy).
  if (result.job().body_digest().empty()) job.hint = StoreHint::kNoneStored;
  job.items.resize(parsed.items.size());
  for (size_t i = 0; i < parsed.items.size(); ++i) {
    const Item& item = parsed.items[i];
    StoredItem& stored = job.items[i];
    stored.key = item.key;
    stored.time_ms = item.published_ms.value_or(item.updated_ms.value_or(seen_ms));
  }
  report.set_parsed_items(static_cast<uint32_t>(parsed.items.size()));
  report.set_feed_title(parsed.feed.title);
  report.set_ttl_minutes(parsed.feed.ttl_minutes);
  report.set_skip_hours(parsed.feed.skip_hours);
  report.set_skip_days(parsed.feed.skip_days);
  report.set_publish_interval_ms(PublishIntervalMs(parsed.items));
  report.set_etag(result.etag());
  report.set_last_modified(result.last_modified());
  if (parsed.bozo) report.set_error(parsed.error);
  job.positions.resize(parsed.items.size());
  std::iota(job.positions.begin(), job.positions.end(), size_t{0});
  return job;
}

StatusOr<StoreItemsResult> Processor::StoreWithRetry(uint64_t feed_id,
                                                     const std::vector<StoredItem>& items,
                                                     StoreHint hint) {
  const int64_t give_up = clock_.MonotonicMs() + options_.store_retry_ms;
  int64_t backoff_ms = 50;
  while (true) {
    auto stored = store_->StoreItems(feed_id, items, hint);
    if (stored.ok() || stop_ || clock_.MonotonicMs() >= give_up) return stored;
    spdlog::warn("store failed ({}), retrying in {} ms", stored.status().ToString(), backoff_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 2000);
  }
}

}  // namespace feedcrawl
