#include "coordinator/scheduler.h"

#include <algorithm>

#include "common/url.h"

namespace feedcrawl {

uint32_t Scheduler::HostIndex(const std::string& url) {
  std::string host = UrlHost(url);
  auto it = host_index_.find(host);
  if (it != host_index_.end()) return it->second;
  uint32_t index = static_cast<uint32_t>(hosts_.size());
  hosts_.push_back(Host{host, 0, 0, false, {}});
  host_index_.emplace(std::move(host), index);
  return index;
}

bool Scheduler::HostFull(const Host& host) const {
  return options_.host_concurrency > 0 && host.in_flight >= options_.host_concurrency;
}

void Scheduler::Schedule(uint64_t feed_id, const std::string& url, int64_t due_ms) {
  auto [it, inserted] = feeds_.try_emplace(feed_id);
  Feed& feed = it->second;
  if (inserted) feed.host = HostIndex(url);
  if (feed.state == State::kInFlight || feed.state == State::kWaitingHost) return;
  feed.state = State::kScheduled;
  feed.due_ms = due_ms;
  due_.emplace(due_ms, feed_id);
}

void Scheduler::Remove(uint64_t feed_id) {
  auto it = feeds_.find(feed_id);
  if (it == feeds_.end()) return;
  if (it->second.state == State::kInFlight) {
    const uint32_t host = it->second.host;
    --hosts_[host].in_flight;
    --in_flight_;
    feeds_.erase(it);
    MaybeQueueHost(host, 0);
    return;
  } else if (it->second.state == State::kWaitingHost) {
    --waiting_;  // its entry in the host queue is skipped when reached
  }
  feeds_.erase(it);
}

bool Scheduler::InFlight(uint64_t feed_id) const {
  auto it = feeds_.find(feed_id);
  return it != feeds_.end() && it->second.state == State::kInFlight;
}

std::optional<uint32_t> Scheduler::HostOf(uint64_t feed_id) const {
  auto it = feeds_.find(feed_id);
  if (it == feeds_.end()) return std::nullopt;
  return it->second.host;
}

bool Scheduler::HostNextStartsSoon(uint64_t feed_id) const {
  auto it = feeds_.find(feed_id);
  return it != feeds_.end() && !hosts_[it->second.host].waiting.empty() &&
         ready_.size() <= kSoonReadyHosts;
}

void Scheduler::MaybeQueueHost(uint32_t index, int64_t now_ms) {
  Host& host = hosts_[index];
  if (host.queued || host.waiting.empty() || HostFull(host)) return;
  host.queued = true;
  ready_.emplace(std::max(now_ms, host.next_start_ms), index);
}

void Scheduler::PromoteDue(int64_t now_ms) {
  while (!due_.empty() && due_.top().first <= now_ms) {
    auto [due_ms, feed_id] = due_.top();
    due_.pop();
    auto it = feeds_.find(feed_id);
    if (it == feeds_.end()) continue;
    Feed& feed = it->second;
    if (feed.state != State::kScheduled || feed.due_ms != due_ms) continue;  // stale entry
    feed.state = State::kWaitingHost;
    ++waiting_;
    hosts_[feed.host].waiting.push_back(feed_id);
    MaybeQueueHost(feed.host, now_ms);
  }
}

std::optional<uint64_t> Scheduler::NextDispatch(int64_t now_ms) {
  PromoteDue(now_ms);
  while (!ready_.empty() && ready_.top().first <= now_ms) {
    uint32_t index = static_cast<uint32_t>(ready_.top().second);
    ready_.pop();
    Host& host = hosts_[index];
    host.queued = false;
    if (HostFull(host)) continue;  // re-queued when a job of this host completes
    if (host.next_start_ms > now_ms) {
      MaybeQueueHost(index, now_ms);
      continue;
    }
    while (!host.waiting.empty()) {
      uint64_t feed_id = host.waiting.front();
      host.waiting.pop_front();
      auto it = feeds_.find(feed_id);
      if (it == feeds_.end() || it->second.state != State::kWaitingHost) continue;
      --waiting_;
      it->second.state = State::kInFlight;
      ++host.in_flight;
      ++in_flight_;
      host.next_start_ms = now_ms + options_.host_interval_ms;
      MaybeQueueHost(index, now_ms);
      return feed_id;
    }
  }
  return std::nullopt;
}

void Scheduler::Complete(uint64_t feed_id, int64_t now_ms, std::optional<int64_t> next_due_ms) {
  auto it = feeds_.find(feed_id);
  if (it == feeds_.end() || it->second.state != State::kInFlight) return;
  Feed& feed = it->second;
  Host& host = hosts_[feed.host];
  --host.in_flight;
  --in_flight_;
  feed.state = State::kIdle;
  MaybeQueueHost(feed.host, now_ms);
  if (next_due_ms) {
    feed.state = State::kScheduled;
    feed.due_ms = *next_due_ms;
    due_.emplace(*next_due_ms, feed_id);
  }
}

void Scheduler::PauseHost(const std::string& url, int64_t until_ms) {
  uint32_t index = HostIndex(url);
  Host& host = hosts_[index];
  host.next_start_ms = std::max(host.next_start_ms, until_ms);
  if (host.queued) {
    // The queued entry is earlier than until_ms; NextDispatch re-queues it at next_start_ms.
    return;
  }
  MaybeQueueHost(index, until_ms);
}

size_t Scheduler::DispatchableNow(int64_t now_ms) const {
  size_t dispatchable = 0;
  for (const Host& host : hosts_) {
    if (host.waiting.empty() || HostFull(host) || host.next_start_ms > now_ms) continue;
    size_t room = host.waiting.size();
    // With spacing, a host starts one feed now and the next only after the interval.
    if (options_.host_interval_ms > 0) room = 1;
    if (options_.host_concurrency > 0) {
      room = std::min(room, static_cast<size_t>(options_.host_concurrency - host.in_flight));
    }
    dispatchable += room;
  }
  return std::min(dispatchable, waiting_);  // host queues may still hold removed feeds
}

std::optional<int64_t> Scheduler::NextWakeMs() const {
  std::optional<int64_t> wake;
  if (!due_.empty()) wake = due_.top().first;
  if (!ready_.empty()) wake = wake ? std::min(*wake, ready_.top().first) : ready_.top().first;
  return wake;
}

}  // namespace feedcrawl
