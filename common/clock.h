// Clock: the one source of time for scheduling, leases and backoff. Production code gets a
// SystemClock; tests drive a FakeClock so nothing sleeps. Implementations are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace feedcrawl {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch (stored in Redis, shown to users).
  virtual int64_t NowMs() const = 0;
  // Monotonic milliseconds, for measuring intervals within one process.
  virtual int64_t MonotonicMs() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t MonotonicMs() const override;
  static SystemClock& Instance();
};

// A clock that moves only when told to. Monotonic time equals wall time.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  int64_t MonotonicMs() const override { return now_ms_.load(); }
  void AdvanceMs(int64_t ms) { now_ms_ += ms; }
  void SetMs(int64_t ms) { now_ms_ = ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace feedcrawl
