// LatencyHistogram: counts of durations in milliseconds in log-spaced buckets, for the job
// latency (dispatch to report) the coordinator publishes as p50/p90/p99/max. Memory is fixed
// (kBuckets counters, about 4 KB) however many values are recorded, and recording is O(1).
//
// Buckets: values 0..15 ms have one bucket each; above, every power of two is split into 16
// buckets of equal width, so a bucket spans at most 1/16 of its lower bound (6.25 %). A quantile
// is reported as the middle of its bucket, within half a bucket of the true value. Values from
// 2^36 ms (about two years) up share the last bucket. Bucket indexes are stable: the coordinator
// keeps a run's counts in the store by index (see docs/REDIS.md) and a later version must read
// them the same way.
//
// Not thread-safe: the coordinator's loop owns it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace feedcrawl {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 4;
  static constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;
  static constexpr int kMaxExponent = 36;  // values below 2^kMaxExponent ms are bucketed apart
  static constexpr size_t kBuckets =
      static_cast<size_t>(kSubBuckets + (kMaxExponent - kSubBucketBits) * kSubBuckets);

  // Adds one value; a negative one (a clock step backwards) counts as 0.
  void Record(int64_t ms);
  // Adds `count` values to bucket `index` at once (counts read back from the store). Indexes
  // out of range are ignored.
  void AddToBucket(size_t index, uint64_t count);
  void Reset();

  uint64_t count() const { return count_; }
  // The largest value recorded (exact for Record(), the bucket's upper end for AddToBucket());
  // 0 when empty.
  int64_t max() const { return max_; }
  // The value at quantile q (0 < q <= 1): the middle of the bucket holding the ceil(q * count)-th
  // smallest value, never above max(). 0 when empty.
  int64_t Quantile(double q) const;

  // Non-empty buckets, for storing them: calls visit(index, count) in index order.
  template <typename Visit>
  void ForEachBucket(Visit visit) const {
    for (size_t i = 0; i < kBuckets; ++i) {
      if (counts_[i] != 0) visit(i, counts_[i]);
    }
  }

  static size_t BucketOf(int64_t ms);
  // The values of bucket `index`: [BucketLow, BucketHigh).
  static int64_t BucketLow(size_t index);
  static int64_t BucketHigh(size_t index);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace feedcrawl
