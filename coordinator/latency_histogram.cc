#include "coordinator/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace feedcrawl {

namespace {

// Position of the highest set bit; v > 0.
int Log2Floor(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

size_t LatencyHistogram::BucketOf(int64_t ms) {
  if (ms < kSubBuckets) return static_cast<size_t>(std::max<int64_t>(ms, 0));
  const int exponent = Log2Floor(static_cast<uint64_t>(ms));
  if (exponent >= kMaxExponent) return kBuckets - 1;
  const int shift = exponent - kSubBucketBits;
  const int64_t sub = (ms >> shift) - kSubBuckets;  // the bits below the leading one
  return static_cast<size_t>(kSubBuckets + shift * kSubBuckets + sub);
}

int64_t LatencyHistogram::BucketLow(size_t index) {
  const int64_t i = static_cast<int64_t>(index);
  if (i < kSubBuckets) return i;
  const int64_t shift = (i - kSubBuckets) / kSubBuckets;
  const int64_t sub = (i - kSubBuckets) % kSubBuckets;
  return (kSubBuckets + sub) << shift;
}

int64_t LatencyHistogram::BucketHigh(size_t index) {
  const int64_t i = static_cast<int64_t>(index);
  if (i < kSubBuckets) return i + 1;
  const int64_t shift = (i - kSubBuckets) / kSubBuckets;
  return BucketLow(index) + (int64_t{1} << shift);
}

void LatencyHistogram::Record(int64_t ms) {
  ms = std::max<int64_t>(ms, 0);
  ++counts_[BucketOf(ms)];
  ++count_;
  max_ = std::max(max_, ms);
}

void LatencyHistogram::AddToBucket(size_t index, uint64_t count) {
  if (index >= kBuckets || count == 0) return;
  counts_[index] += count;
  count_ += count;
  max_ = std::max(max_, BucketHigh(index) - 1);
}

void LatencyHistogram::Reset() {
  counts_.fill(0);
  count_ = 0;
  max_ = 0;
}

int64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The small slack keeps a product like 0.99 * 100 from rounding up to the next rank.
  const double exact_rank = q * static_cast<double>(count_) - 1e-9;
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(exact_rank)));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const int64_t middle = BucketLow(i) + (BucketHigh(i) - 1 - BucketLow(i)) / 2;
      return std::min(middle, max_);
    }
  }
  return max_;
}

}  // namespace feedcrawl
