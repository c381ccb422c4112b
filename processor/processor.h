// Processor: the role that turns fetch results into stored items. It pulls FetchResults from the
// coordinator's results forwarder, parses the body (ParseFeed), stores each item whose key is new
// for the feed (Store::StoreItems, idempotent), and sends a JobReport to the coordinator's control
// socket, which ends the job's lease. Results are taken one at a time with a small receive
// buffer, so a processor that dies loses little, and what it loses comes back by lease expiry.
// Stores are pipelined: a result's items are sent to Redis and the next result is parsed while
// Redis stores them (up to store_pipeline_depth results at once); each report is sent only after
// Redis confirmed that result's items, so a processor killed in between has reported nothing.
//
// Run() owns the calling thread; Stop() is safe to call from a signal handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/feed_model.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/store.h"
#include "common/wire.h"
#include "processor/parser.h"
#include "proto/feedcrawl.pb.h"

namespace feedcrawl {

struct ProcessorOptions {
  std::string control_endpoint = "tcp://127.0.0.1:7301";  // coordinator ROUTER
  // Where results come from: the coordinator's forwarder output, or every fetcher's bound
  // results socket (the direct data plane); the socket fair-queues between them.
  std::vector<std::string> results_endpoints = {"tcp://127.0.0.1:7303"};
  std::string worker_id;                                   // default: hostname-pid
  int64_t heartbeat_ms = 1000;
  // Results taken ahead of the work in hand (ZeroMQ's receive high-water mark). ZeroMQ asks
  // the sender for more each time half of them are used: with 4, a busy processor found its
  // queue empty about once per feed, and let its store pipeline run dry each time
  // (docs/PERFORMANCE.md, "A deeper results queue"). Each result can be as large as the fetchers'
  // --max-body-bytes.
  int recv_hwm = 32;
  int64_t store_retry_ms = 30'000;   // how long to retry an unavailable store before giving up
  int64_t worker_ttl_ms = 10'000;    // TTL of this processor's P worker:processor:<id> hash
  // Results whose items may be on their way into Redis at once (1: wait for each before the
  // next). Their reports are sent as the store confirms them.
  int store_pipeline_depth = 8;
  // How long a report may be held so that reports leave in bursts (32 at most); none is held
  // while the processor is idle.
  int64_t report_hold_ms = 5;
  MetricsSnapshot* metrics = nullptr;  // when set, receives this processor's numbers
  WireSecurity security;               // CURVE client of the coordinator when enabled
};

class Processor {
 public:
  Processor(ProcessorOptions options, std::unique_ptr<Store> store, Clock& clock);

  Status Start();   // creates and connects the sockets, says Hello
  Status Run();     // until Stop()
  void Stop() { stop_ = true; }

  // Parses and stores one fetch result and returns the report to send. A store that stays
  // unavailable for store_retry_ms gives nullopt: no report, so the lease expires and the job is
  // done again later rather than recorded as a failure.
  std::optional<feedcrawl::v1::JobReport> Process(const feedcrawl::v1::FetchResult& result,
                                                  std::string_view body);

  uint64_t processed() const { return processed_; }
  uint64_t errors() const { return errors_; }
  uint64_t items_known() const { return items_known_; }  // parsed items found stored already

 private:
  void SayHello();
  void SendHeartbeat();
  void DrainControl();  // handles every message queued on the control socket
  void HandleControl(const WireMessage& message);
  void HandleResult(const InPlaceMessage& message);
  StatusOr<StoreItemsResult> StoreWithRetry(uint64_t feed_id, const std::vector<StoredItem>& items,
                                            StoreHint hint);

  // A result on its way through the processor: its report, and the items the store must confirm
  // before the report may go (kept until then, to store again if a reply is lost).
  struct PendingStore {
    feedcrawl::v1::JobReport report;
    bool needs_store = false;
    // A feed stored before first asks which of its items the store has (their JSON is written
    // only for the others), then waits for the answer; every job ends by storing its items.
    enum class Step { kAskKnown, kAwaitKnown, kStore };
    Step step = Step::kStore;
    // kNoneStored for a feed's first successful crawl (its job carries no body digest yet).
    StoreHint hint = StoreHint::kMaybeStored;
    // The items the coordinator believed stored for the feed (FetchJob.items_stored), if told.
    std::optional<uint64_t> items_stored;
    std::vector<StoredItem> items;  // key and time; json once WriteJson ran
    // The parsed feed, until the items' JSON is written: whole, or, for a feed that asks first,
    // read for its items' keys and dates only. positions[i] is items[i]'s place in it.
    FeedDocument document;
    std::vector<size_t> positions;
  };
  // Parses the result and fills everything of the report but the store's counts.
  PendingStore Prepare(const feedcrawl::v1::FetchResult& result, std::string_view body);
  // What the answer to the known-items question leaves to do: nothing (no item is new; the
  // report is complete), sending the items left, or storing again because the reply was lost.
  enum class KnownAnswer { kNothingNew, kSendItems, kLost };
  KnownAnswer TakeKnownAnswer(PendingStore& job, const StatusOr<KnownItems>& known);
  // Drops the items the store has already; true when none is left (the report is then
  // complete: no new item, the feed's count from the store).
  bool DropKnown(PendingStore& job, const KnownItems& known);
  // Writes the JSON of the job's items (once: they are read whole from its document for it).
  static void WriteJson(PendingStore& job);
  // Sends the job's next store call (the known-items question or the items) and queues it.
  Status SendNext(PendingStore& job);
  // Reads store replies until at most `keep` calls are pending, sending their reports; calls
  // whose reply failed are stored again synchronously.
  void CompletePending(size_t keep);
  // Stores synchronously (with retries) and reports; false when the store stayed unavailable.
  bool StoreAndReport(PendingStore& job);
  static void SetStored(feedcrawl::v1::JobReport& report, const StoreItemsResult& stored);
  // Holds the report; held reports go out together (SendHeldReports) once there are
  // kReportBatch of them, once the oldest has waited report_hold_ms, or when no result is at hand.
  void SendReport(feedcrawl::v1::JobReport& report);
  void SendHeldReports();

  ProcessorOptions options_;
  std::unique_ptr<Store> store_;
  Clock& clock_;
  std::atomic<bool> stop_{false};
  WireContext context_;
  std::unique_ptr<Socket> control_;
  std::unique_ptr<Socket> results_;
  InPlaceMessage result_;  // the result being handled, left in ZeroMQ's buffers
  uint64_t coordinator_epoch_ = 0;
  int64_t last_heard_ms_ = 0;
  int64_t next_heartbeat_ms_ = 0;
  int64_t next_control_read_ms_ = 0;
  uint64_t processed_ = 0;
  uint64_t errors_ = 0;
  uint64_t bad_messages_ = 0;
  uint64_t items_known_ = 0;  // parsed items found stored already, whose JSON was not sent
  bool ask_known_ = true;     // false once the store answered the question with an error
  std::deque<PendingStore> pending_;  // sent to the store, oldest first
  struct HeldReport {
    uint64_t job_id = 0;
    std::string envelope;  // encoded
  };
  std::vector<HeldReport> held_reports_;   // oldest first
  int64_t held_since_ms_ = 0;              // when the oldest held report was made
};

// Flag parsing, logging and signal handling around Processor; the body of main().
int ProcessorMain(int argc, char** argv);

}  // namespace feedcrawl
