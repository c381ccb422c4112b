// Coordinator: the one process per cluster that owns the schedule. It loads the feeds from the
// Store (a batch per loop turn, dispatching as it goes), hands FetchJobs to fetchers that have
// announced credit (free transfer slots), keeps a lease on every job until a processor's
// JobReport ends it, writes each feed's state back, and publishes P stats. It also runs the
// results forwarder (fetchers PUSH -> processors PULL), so every worker connects to stable
// endpoints on the coordinator and needs no other address.
//
// In once mode the run is kept in the store (P run, and a run marker in each feed's record written
// with its state), so a coordinator killed mid-run and started again resumes that run: feeds it
// already reported count as done and are not fetched again. A run that ends is marked finished,
// and the next once-mode start begins a new one.
//
// Store round trips are batched: one Dispatch() turn reads the records of up to kDispatchBatch
// feeds at once, and the reports of one pass over the control socket are written together (up to
// kReportBatch), after the jobs for the slots they freed have gone out, so a loop turn costs two
// round trips, not one per job.
//
// Run() owns the calling thread until stopped (or, in once mode, until every feed is reported);
// the forwarder runs on a thread of its own. Stop() may be called from a signal handler's flag.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/store.h"
#include "common/wire.h"
#include "coordinator/freshness.h"
#include "coordinator/latency_histogram.h"
#include "coordinator/scheduler.h"
#include "proto/feedcrawl.pb.h"

namespace feedcrawl {

struct CoordinatorOptions {
  std::string control_bind = "tcp://*:7301";      // ROUTER: fetchers and processors (DEALER)
  std::string results_in_bind = "tcp://*:7302";   // PULL: fetchers PUSH results here
  std::string results_out_bind = "tcp://*:7303";  // PUSH: processors PULL results from here
  // Off when fetchers bind their own results sockets and processors connect to them (the
  // direct data plane of `feedcrawl run`): the two results endpoints are then not bound.
  bool results_forwarder = true;
  bool once = false;                              // crawl every feed once, then exit
  PolitenessOptions politeness;
  uint32_t connect_timeout_ms = 10'000;
  uint32_t fetch_timeout_ms = 30'000;
  uint64_t max_body_bytes = 10ULL << 20;
  uint32_t max_redirects = 5;
  int64_t lease_grace_ms = 60'000;     // lease = fetch timeout + this (processing, queues)
  uint32_t max_attempts = 3;           // lease expiries before a feed counts as failed
  FreshnessOptions freshness;          // intervals, hints, backoff, pausing, redirects
  uint64_t jitter_seed = 0;            // 0: a different seed each start
  int64_t worker_timeout_ms = 5'000;   // a silent worker is dead after this
  int64_t stats_interval_ms = 1'000;
  int64_t reload_interval_ms = 10'000; // continuous mode: how often P feeds:version is checked
  // Continuous mode: the feed records are read again when P feeds:version moved, and also this
  // often whatever it says (changes made by hand in Redis, which do not move it).
  int64_t full_reload_interval_ms = 600'000;
  int forward_hwm = 16;                // messages buffered by the forwarder each way
  int64_t worker_ttl_ms = 10'000;      // TTL of the P worker:fetcher:<id> hashes
  size_t stats_hosts = 10;             // busiest and slowest hosts published in P stats:hosts
  MetricsSnapshot* metrics = nullptr;  // when set, receives the numbers of every stats write
  WireSecurity security;               // CURVE on the three bound sockets when enabled
};

class Coordinator {
 public:
  // Feeds read from the store per round trip when dispatching, and feed states written per round
  // trip when reports come: enough to amortise the round trip, small enough that one turn of the
  // loop stays short.
  static constexpr size_t kDispatchBatch = 512;
  // Hosts walked per stats write, at most, by the figures that walk every host (the ranking in
  // P stats:hosts, the dispatchable count; see WriteStats).
  static constexpr size_t kHostsWalkedPerWrite = 10'000;
  static constexpr size_t kReportBatch = 512;

  Coordinator(CoordinatorOptions options, std::unique_ptr<Store> store, Clock& clock);
  ~Coordinator();

  // Binds the sockets and begins loading the feeds (Run() reads the rest of a long list while it
  // dispatches). Call once before Run().
  Status Start();
  // Serves until Stop() or, in once mode, until every feed of the run has been reported.
  Status Run();
  void Stop() { stop_ = true; }

  // Bound endpoints (with the ports chosen for tcp://...:*), valid after Start().
  std::string control_endpoint() const { return control_->LastEndpoint(); }
  std::string results_in_endpoint() const { return results_in_endpoint_; }
  std::string results_out_endpoint() const { return results_out_endpoint_; }

 private:
  struct Worker {
    std::string peer;
    feedcrawl::v1::Role role = feedcrawl::v1::ROLE_UNSPECIFIED;
    uint32_t credit = 0;
    int64_t last_seen_ms = 0;
    uint64_t processed = 0;
    // From Hello and the last Heartbeat, for the worker hashes and the stats.
    std::string worker_id;
    std::string hostname;
    uint32_t pid = 0;
    uint32_t capacity = 0;
    uint32_t active = 0;
    uint32_t free_slots = 0;
    uint64_t errors = 0;
    int64_t joined_ms = 0;
  };
  // Per host, since the coordinator started: for the busiest and slowest hosts of P stats:hosts.
  // Kept by the scheduler's host number, so a report costs no host name.
  struct HostNumbers {
    uint64_t fetches = 0;
    uint64_t errors = 0;
    int64_t total_ms = 0;  // dispatch to report, summed
    int64_t max_ms = 0;
  };
  // Totals at one stats write, to derive per-minute rates.
  struct RateSample {
    int64_t ms = 0;
    uint64_t fetches = 0, not_modified = 0, errors = 0, items_new = 0;
  };
  struct Lease {
    uint64_t feed_id = 0;
    std::string fetcher;
    int64_t deadline_ms = 0;
    int64_t dispatched_ms = 0;
  };
  struct RunCounters {
    uint64_t id = 0;       // once mode: the P run this coordinator works on
    uint64_t resumes = 0;  // how many coordinators took the run over from a killed one
    uint64_t feeds = 0, done = 0, ok = 0, not_modified = 0, failed = 0;
    uint64_t items_new = 0, items_parsed = 0, bytes = 0;
    std::map<std::string, uint64_t> failed_by_reason;
    int64_t started_ms = 0;
  };
  // What one report adds to the run counters, by their names in P run ("done", "ok",
  // "failed_<reason>", ...). The same map updates the memory and the store, so they agree.
  using RunIncrements = std::map<std::string, int64_t>;
  // What a queued report still has to do once its feed state is written.
  struct ReportFollowUp {
    std::string url_before;              // the feed's URL before a permanent redirect moved it
    std::optional<int64_t> next_due_ms;  // continuous mode: when the feed is due again
  };

  // What the coordinator keeps of a feed that is not in flight: one byte beside the
  // scheduler's entry. The full record lives in the store and is read when the feed is dispatched.
  enum class FeedStatus : uint8_t { kActive, kPaused, kDisabled };  // kDisabled stays last
  static FeedStatus StatusOf(const std::string& status);
  // Every known feed's status and whether it was ever fetched, with how many feeds have each
  // status and how many active feeds were never fetched, so that the stats count them without
  // walking a million entries at every write.
  class FeedStatuses {
   public:
    size_t size() const { return statuses_.size(); }
    bool contains(uint64_t feed_id) const { return statuses_.count(feed_id) != 0; }
    std::optional<FeedStatus> Find(uint64_t feed_id) const;
    // Adds the feed or changes its status; fetched: whether a job of it was ever reported
    // (unchanged when not given; false for a feed added without it).
    void Set(uint64_t feed_id, FeedStatus status, std::optional<bool> fetched = std::nullopt);
    void Erase(uint64_t feed_id);
    // Erases every feed for which keep(id) is false; calls removed(id) for each first.
    template <typename Keep, typename Removed>
    void EraseUnless(Keep keep, Removed removed) {
      for (auto it = statuses_.begin(); it != statuses_.end();) {
        if (keep(it->first)) {
          ++it;
          continue;
        }
        removed(it->first);
        RemoveFromCounts(it->second);
        it = statuses_.erase(it);
      }
    }
    size_t Count(FeedStatus status) const { return counts_[static_cast<size_t>(status)]; }
    // Active feeds never fetched: the part of a first crawl (or of a large import) still to go.
    size_t NeverFetched() const { return never_fetched_; }

   private:
    struct Entry {
      FeedStatus status;
      bool fetched;
    };  // two bytes: a map node is as large as with the status alone
    void AddToCounts(const Entry& entry);
    void RemoveFromCounts(const Entry& entry);
    std::unordered_map<uint64_t, Entry> statuses_;
    std::array<size_t, static_cast<size_t>(FeedStatus::kDisabled) + 1> counts_{};  // by status
    size_t never_fetched_ = 0;
  };

  // The start-up load of the feed records: the ids and the run at Start(), then a batch of
  // records per loop turn, so that jobs go out while the rest is read (a million feeds take
  // seconds to read). Reports are applied meanwhile; their states are written once the load has
  // ended and, in once mode, the run (with its feed count) is written.
  struct Loading {
    int64_t now = 0;             // when the load began: a once run's feeds are due then
    uint64_t resumed = 0;        // once mode: the run resumed, 0 for a new one
    RunRecord run;               // once mode: the run as written at the end of the load
    std::vector<uint64_t> ids;   // every feed in the store at the start
    size_t next = 0;             // ids[next] is the first not read yet
    uint64_t pending = 0;        // feeds scheduled so far
  };
  static constexpr size_t kLoadBatch = 1000;
  Status BeginLoad();
  Status LoadSomeFeeds();  // reads the next batch; ends the load after the last
  Status EndLoad();        // writes the run (once mode); FlushReports may write states from then
  // Once mode: the id of P run when a killed coordinator left it running (its counters are
  // loaded into run_), else 0 and the load begins a new run. Continuous mode: a run left
  // running is abandoned, since every feed is crawled anyway; always 0.
  StatusOr<uint64_t> ResumableRun();
  void AddToRun(const RunIncrements& increments);
  RunRecord RunRecordOf() const;
  Status EndRun();
  void HandleMessage(const WireMessage& message);
  void HandleHello(const std::string& peer, const feedcrawl::v1::Hello& hello);
  // Takes back a worker that heartbeats after it was dropped as silent; end() if not a worker.
  std::map<std::string, Worker>::iterator Readmit(const std::string& peer,
                                                  const feedcrawl::v1::Heartbeat& beat);
  void HandleReport(const feedcrawl::v1::JobReport& report);
  void HandleGoodbye(const std::string& peer, const feedcrawl::v1::Goodbye& goodbye);
  void Dispatch();
  void ExpireLeases();
  void ReapSilentWorkers();
  // Sends the jobs of feeds taken from the scheduler, with their records read from the store
  // (nullopt: the feed is gone). Feeds that cannot be sent go back to the scheduler.
  // last_for_host[i]: no other feed of taken[i]'s host was due to start soon at its take.
  void SendJobs(const std::vector<uint64_t>& taken, const std::vector<bool>& last_for_host,
                std::vector<std::optional<FeedRecord>>& records, int64_t now);
  // Ends a lease without a report (expired, or its fetcher left): the feed is due again, or
  // failed once its attempts are used up.
  void ReleaseLease(uint64_t job_id, bool count_attempt, const std::string& why);
  // Applies a report (latency_ms: dispatch to report, when a worker sent it) to the counters and
  // queues the feed's state for FlushReports(); the feed stays in flight in the scheduler until
  // its state is written.
  void FinishFeed(uint64_t feed_id, const feedcrawl::v1::JobReport& report,
                  std::optional<int64_t> latency_ms);
  // Writes the queued feed states in one round trip, then lets the scheduler have the feeds.
  void FlushReports();
  // Writes the states (with the run's counters in once mode), waiting through a Redis outage for
  // up to a minute. One status per save: Ok, NotFound (removed feed) or the last error.
  std::vector<Status> SaveFeedsThroughOutage(const std::vector<FeedSave>& saves);
  Status RetryThroughOutage(const std::function<Status()>& write, const std::string& what);
  // Moves a feed to the target of its confirmed permanent redirect, in the store and in the
  // scheduler's host queues. Keeps the old URL when the store refuses.
  void MoveFeed(FeedRecord& feed, const std::string& new_url);
  // An operator changed a feed's status in the store (e.g. resumed it): adopt it.
  void AdoptStatus(FeedStatus status, const FeedRecord& stored);
  Status WriteStats(bool final_write);
  void AddRates(int64_t now, std::map<std::string, std::string>& stats);
  void WriteWorkerHashes(int64_t now);
  void WriteHostStats();
  void NoteHostFetch(uint64_t feed_id, int64_t elapsed_ms, bool success);
  void SendTo(const std::string& peer, const feedcrawl::v1::Envelope& envelope);
  Worker* FindFetcherWithCredit();
  bool RunComplete() const { return options_.once && !loading_ && run_.done >= run_.feeds; }
  // Reads every feed record again when the registry's version moved (or a full reload is due).
  void MaybeReloadFeeds(int64_t now);
  bool ReloadFeeds();  // false (nothing changed) when the records could not all be read
  Status StartForwarder();  // binds the two results endpoints, starts the forwarder thread
  void StopForwarder();

  CoordinatorOptions options_;
  std::unique_ptr<Store> store_;
  Clock& clock_;
  std::atomic<bool> stop_{false};

  WireContext context_;
  std::unique_ptr<Socket> control_;
  std::unique_ptr<Socket> forwarder_stop_;
  std::thread forwarder_;
  std::string results_in_endpoint_;
  std::string results_out_endpoint_;

  uint64_t epoch_ = 0;
  uint64_t next_job_seq_ = 0;
  Scheduler scheduler_;
  FreshnessPolicy freshness_;
  FeedStatuses feeds_;                                  // every known feed
  std::unordered_map<uint64_t, FeedRecord> in_flight_;  // records of dispatched feeds
  std::unordered_map<uint64_t, uint32_t> attempts_;  // lease expiries of the current job
  std::unordered_map<uint64_t, Lease> leases_;        // job id -> lease
  std::unordered_map<uint64_t, uint64_t> feed_job_;   // feed id -> open job id
  std::priority_queue<std::pair<int64_t, uint64_t>, std::vector<std::pair<int64_t, uint64_t>>,
                      std::greater<>>
      lease_deadlines_;
  std::map<std::string, Worker> workers_;  // by peer routing id

  RunCounters run_;
  // Dispatch to report of every job reported to this coordinator, and of the run's jobs (kept in
  // P run with the counters, so a resumed run keeps the times of the reports before the crash).
  LatencyHistogram job_latency_;
  LatencyHistogram run_latency_;
  // Reports applied in memory whose feed states wait for FlushReports(); one follow-up per save.
  std::vector<FeedSave> report_saves_;
  std::vector<ReportFollowUp> report_follow_ups_;
  uint64_t fetches_total_ = 0, errors_total_ = 0, stale_reports_ = 0, bad_messages_ = 0;
  uint64_t items_total_ = 0;
  uint64_t ok_total_ = 0, not_modified_total_ = 0, items_new_total_ = 0;
  std::map<std::string, uint64_t> errors_by_class_;  // FailureReason -> count
  std::vector<HostNumbers> hosts_;  // by the scheduler's host number; fetches 0: none yet
  std::deque<RateSample> rate_samples_;
  int64_t next_stats_ms_ = 0;
  size_t writes_to_host_walk_ = 0;  // stats writes left before the figures that walk every host
  size_t dispatchable_ = 0;         // the last walk's Scheduler::DispatchableNow
  int64_t next_reload_ms_ = 0;
  int64_t next_full_reload_ms_ = 0;
  std::optional<uint64_t> loaded_version_;  // P feeds:version read before the last load
  std::optional<Loading> loading_;           // set while the start-up load goes on
};

// Flag parsing, logging and signal handling around Coordinator; the body of main().
int CoordinatorMain(int argc, char** argv);

}  // namespace feedcrawl
