// LatencyHistogram: bucket layout, and quantiles of known distributions against the exact
// quantiles of the same values, within the width of the bucket that holds them.
#include "coordinator/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace feedcrawl {
namespace {

// The exact value at quantile q, by the same rank rule as the histogram.
int64_t ExactQuantile(std::vector<int64_t> values, double q) {
  std::sort(values.begin(), values.end());
  const double exact_rank = q * static_cast<double>(values.size()) - 1e-9;
  const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(exact_rank)));
  return values[rank - 1];
}

// Records `values` and checks p50/p90/p99 against the exact ones: the estimate lies in the
// bucket of the exact value, so it is off by less than that bucket's width.
void ExpectQuantilesWithinABucket(const std::vector<int64_t>& values) {
  LatencyHistogram histogram;
  for (int64_t v : values) histogram.Record(v);
  ASSERT_EQ(histogram.count(), values.size());
  EXPECT_EQ(histogram.max(), *std::max_element(values.begin(), values.end()));
  for (double q : {0.5, 0.9, 0.99}) {
    const int64_t exact = ExactQuantile(values, q);
    const size_t bucket = LatencyHistogram::BucketOf(exact);
    const int64_t width =
        LatencyHistogram::BucketHigh(bucket) - LatencyHistogram::BucketLow(bucket);
    const int64_t estimate = histogram.Quantile(q);
    EXPECT_LT(std::abs(estimate - exact), width) << "q " << q << " exact " << exact;
    EXPECT_EQ(LatencyHistogram::BucketOf(estimate), bucket) << "q " << q;
    // A bucket is at most 1/16 of its values wide: the relative error stays near 6 %.
    EXPECT_LE(width, std::max<int64_t>(1, LatencyHistogram::BucketLow(bucket) / 16));
  }
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithoutGaps) {
  EXPECT_EQ(LatencyHistogram::BucketLow(0), 0);
  for (size_t i = 0; i + 1 < LatencyHistogram::kBuckets; ++i) {
    const int64_t low = LatencyHistogram::BucketLow(i);
    const int64_t high = LatencyHistogram::BucketHigh(i);
    ASSERT_LT(low, high) << i;
    ASSERT_EQ(high, LatencyHistogram::BucketLow(i + 1)) << i;
    ASSERT_EQ(LatencyHistogram::BucketOf(low), i);
    ASSERT_EQ(LatencyHistogram::BucketOf(high - 1), i);
  }
  // Below 16 ms every millisecond has its own bucket.
  for (int64_t ms = 0; ms < 16; ++ms) EXPECT_EQ(LatencyHistogram::BucketOf(ms), size_t(ms));
  // Two years and more share the last bucket; negative values count as 0.
  EXPECT_EQ(LatencyHistogram::BucketOf(int64_t{1} << 40), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::BucketOf(INT64_MAX), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::BucketOf(-5), 0u);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.Quantile(0.5), 0);
  EXPECT_EQ(histogram.Quantile(0.99), 0);
  EXPECT_EQ(histogram.max(), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (int64_t ms = 1; ms <= 10; ++ms) histogram.Record(ms);
  EXPECT_EQ(histogram.Quantile(0.5), 5);
  EXPECT_EQ(histogram.Quantile(0.9), 9);
  EXPECT_EQ(histogram.Quantile(1.0), 10);
  EXPECT_EQ(histogram.Quantile(0.01), 1);
  histogram.Record(-3);  // a clock step backwards
  EXPECT_EQ(histogram.Quantile(0.01), 0);
  EXPECT_EQ(histogram.count(), 11u);
}

TEST(LatencyHistogramTest, OneValueRepeatedIsReportedExactly) {
  LatencyHistogram histogram;
  for (int i = 0; i < 1000; ++i) histogram.Record(250);
  // The middle of 250's bucket is above 250; the maximum caps it.
  EXPECT_EQ(histogram.Quantile(0.5), 250);
  EXPECT_EQ(histogram.Quantile(0.99), 250);
  EXPECT_EQ(histogram.max(), 250);
}

TEST(LatencyHistogramTest, UniformDistribution) {
  std::vector<int64_t> values;
  for (int64_t ms = 1; ms <= 10'000; ++ms) values.push_back(ms);
  ExpectQuantilesWithinABucket(values);
  LatencyHistogram histogram;
  for (int64_t v : values) histogram.Record(v);
  EXPECT_NEAR(histogram.Quantile(0.5), 5000, 5000 / 16);
  EXPECT_NEAR(histogram.Quantile(0.99), 9900, 9900 / 16);
}

TEST(LatencyHistogramTest, LogNormalDistribution) {
  // Job latencies are skewed: most jobs take tens of milliseconds, a few take seconds.
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> latency(std::log(40.0), 1.2);
  std::vector<int64_t> values;
  for (int i = 0; i < 50'000; ++i) values.push_back(static_cast<int64_t>(latency(random)));
  ExpectQuantilesWithinABucket(values);
}

TEST(LatencyHistogramTest, BimodalDistribution) {
  // 95 % fast 304s, 5 % slow timeouts near 30 s: p99 must land among the slow ones.
  std::mt19937_64 random(11);
  std::uniform_int_distribution<int64_t> fast(2, 20), slow(29'000, 31'000);
  std::vector<int64_t> values;
  for (int i = 0; i < 20'000; ++i) values.push_back(i % 20 == 0 ? slow(random) : fast(random));
  ExpectQuantilesWithinABucket(values);
  LatencyHistogram histogram;
  for (int64_t v : values) histogram.Record(v);
  EXPECT_LE(histogram.Quantile(0.5), 20);
  EXPECT_GE(histogram.Quantile(0.99), 29'000 - 29'000 / 16);
}

TEST(LatencyHistogramTest, BucketCountsCarryTheQuantilesToAnotherHistogram) {
  std::mt19937_64 random(3);
  std::exponential_distribution<double> latency(1.0 / 300);
  LatencyHistogram original;
  for (int i = 0; i < 10'000; ++i) original.Record(static_cast<int64_t>(latency(random)));
  LatencyHistogram copy;
  original.ForEachBucket([&copy](size_t index, uint64_t count) { copy.AddToBucket(index, count); });
  EXPECT_EQ(copy.count(), original.count());
  for (double q : {0.5, 0.9, 0.99}) EXPECT_EQ(copy.Quantile(q), original.Quantile(q)) << q;
  // Without the values, the maximum is the top of the highest bucket: at most a bucket above.
  const size_t top = LatencyHistogram::BucketOf(original.max());
  EXPECT_EQ(copy.max(), LatencyHistogram::BucketHigh(top) - 1);
  copy.AddToBucket(LatencyHistogram::kBuckets, 5);  // out of range: ignored
  EXPECT_EQ(copy.count(), original.count());
  copy.Reset();
  EXPECT_EQ(copy.count(), 0u);
  EXPECT_EQ(copy.Quantile(0.5), 0);
}

}  // namespace
}  // namespace feedcrawl
