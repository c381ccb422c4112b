// Scheduler: the coordinator's in-memory due queue with per-host politeness. It decides which feed
// to fetch next: the earliest due feed whose host has a free slot (at most host_concurrency jobs in
// flight per host) and whose host's last start is at least host_interval_ms ago. Feeds of a busy
// host wait in that host's queue without blocking other hosts. Every operation is O(log n).
//
// Time is passed in by the caller (from a Clock), so tests drive it without sleeping.
// Not thread-safe: the coordinator's loop owns it.
#pragma once

#include <cstdint>
#include <cstddef>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace feedcrawl {

struct PolitenessOptions {
  int host_concurrency = 2;        // 0: no limit
  int64_t host_interval_ms = 250;  // minimum time between two starts on one host; 0: none
};

class Scheduler {
 public:
  explicit Scheduler(PolitenessOptions options) : options_(options) {}

  // Adds a feed (or re-times an idle one) to become due at due_ms. A feed in flight keeps its
  // slot; its next due time comes with Complete().
  void Schedule(uint64_t feed_id, const std::string& url, int64_t due_ms);
  // Forgets a feed. A job in flight for it still frees its host slot on Complete().
  void Remove(uint64_t feed_id);
  bool Contains(uint64_t feed_id) const { return feeds_.count(feed_id) != 0; }
  bool InFlight(uint64_t feed_id) const;
  // Whether another feed of this feed's host is due and should start soon, so that a connection
  // to the host is worth keeping open after this feed's fetch: the host has feeds waiting, and
  // at most kSoonReadyHosts hosts are ready to start (behind a backlog of many hosts, such as
  // the first crawl of a long list, their turn is seconds away, too long to hold a connection
  // idle). False for an unknown feed.
  bool HostNextStartsSoon(uint64_t feed_id) const;
  static constexpr size_t kSoonReadyHosts = 256;

  // The next feed to start now, marked in flight; nullopt when none may start yet.
  std::optional<uint64_t> NextDispatch(int64_t now_ms);
  // Ends the job of an in-flight feed: frees its host slot. With next_due_ms the feed is due
  // again then; without, it stays idle until Schedule() is called.
  void Complete(uint64_t feed_id, int64_t now_ms, std::optional<int64_t> next_due_ms);
  // Pauses a whole host until until_ms (e.g. after 429 Retry-After).
  void PauseHost(const std::string& url, int64_t until_ms);

  // The earliest time something may become dispatchable; nullopt when nothing is waiting.
  std::optional<int64_t> NextWakeMs() const;

  size_t size() const { return feeds_.size(); }
  // Hosts are numbered 0..hosts()-1 in the order they were first seen; a number never changes.
  size_t hosts() const { return hosts_.size(); }
  const std::string& HostName(uint32_t host) const { return hosts_[host].name; }
  // The number of the host a known feed is scheduled under; nullopt for an unknown feed.
  std::optional<uint32_t> HostOf(uint64_t feed_id) const;
  size_t in_flight() const { return in_flight_; }
  // Feeds that are due but not started yet (held back by host politeness or by fetcher credit),
  // as of the last NextDispatch().
  size_t DueWaiting() const { return waiting_; }
  // Of those, how many could start at now_ms if a fetcher had credit; the rest wait on host
  // politeness. O(hosts): for the stats, not for the dispatch path.
  size_t DispatchableNow(int64_t now_ms) const;

 private:
  enum class State : uint8_t { kIdle, kScheduled, kWaitingHost, kInFlight };
  struct Feed {
    uint32_t host = 0;
    State state = State::kIdle;
    int64_t due_ms = 0;
  };
  // A FIFO of feed ids that allocates nothing while empty. std::deque allocates a block even
  // when empty, which with hundreds of thousands of one-feed hosts is most of the memory.
  class FeedQueue {
   public:
    bool empty() const { return head_ == ids_.size(); }
    size_t size() const { return ids_.size() - head_; }
    uint64_t front() const { return ids_[head_]; }
    void push_back(uint64_t id) { ids_.push_back(id); }
    void pop_front() {
      if (++head_ < ids_.size()) {
        // Drop the consumed prefix once it is the larger part, so pops stay O(1) amortised.
        if (head_ >= 64 && head_ * 2 >= ids_.size()) {
          ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(head_));
          head_ = 0;
        }
        return;
      }
      std::vector<uint64_t>().swap(ids_);
      head_ = 0;
    }

   private:
    std::vector<uint64_t> ids_;
    size_t head_ = 0;
  };
  struct Host {
    std::string name;
    int in_flight = 0;
    int64_t next_start_ms = 0;
    bool queued = false;  // present in ready_
    FeedQueue waiting;
  };
  using TimedId = std::pair<int64_t, uint64_t>;
  using MinHeap = std::priority_queue<TimedId, std::vector<TimedId>, std::greater<TimedId>>;

  uint32_t HostIndex(const std::string& url);
  void PromoteDue(int64_t now_ms);
  void MaybeQueueHost(uint32_t host, int64_t now_ms);
  bool HostFull(const Host& host) const;

  PolitenessOptions options_;
  std::unordered_map<uint64_t, Feed> feeds_;
  std::vector<Host> hosts_;
  std::unordered_map<std::string, uint32_t> host_index_;
  MinHeap due_;    // (due_ms, feed id); stale entries skipped lazily
  MinHeap ready_;  // (earliest start, host index) for hosts with waiting feeds and a free slot
  size_t in_flight_ = 0;
  size_t waiting_ = 0;
};

}  // namespace feedcrawl
