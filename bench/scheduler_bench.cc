// The coordinator's Scheduler at scale: loading N feeds spread over ~10k hosts (100 feeds per
// host), and the steady state of dispatching the next feed and completing it (one job's worth of
// scheduler work) with 1M feeds loaded, with politeness relaxed as in the local benchmark and
// with the default per-host limits. Loading also reports the heap bytes the scheduler holds per
// feed, one part of the coordinator's per-feed memory.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coordinator/scheduler.h"

namespace feedcrawl {
namespace {

constexpr size_t kFeedsPerHost = 100;
constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int64_t kIntervalMs = 3'600'000;

std::vector<std::string> Urls(size_t feeds) {
  std::vector<std::string> urls;
  urls.reserve(feeds);
  char buffer[96];
  for (size_t i = 0; i < feeds; ++i) {
    std::snprintf(buffer, sizeof(buffer), "https://h%05zu.example.org/feeds/%zu.xml",
                  i / kFeedsPerHost, i);
    urls.emplace_back(buffer);
  }
  return urls;
}

// Due times spread over an hour, as after the first crawl.
int64_t DueMs(size_t feed) { return kStartMs + static_cast<int64_t>((feed * 7919) % kIntervalMs); }

size_t HeapInUse() { return mallinfo2().uordblks; }

void BM_SchedulerLoad(benchmark::State& state) {
  const size_t feeds = static_cast<size_t>(state.range(0));
  const std::vector<std::string> urls = Urls(feeds);
  double bytes_per_feed = 0;
  for (auto _ : state) {
    const size_t before = HeapInUse();
    auto scheduler = std::make_unique<Scheduler>(PolitenessOptions{});
    for (size_t i = 0; i < feeds; ++i) scheduler->Schedule(i + 1, urls[i], DueMs(i));
    bytes_per_feed = static_cast<double>(HeapInUse() - before) / static_cast<double>(feeds);
    state.PauseTiming();
    scheduler.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(feeds));
  state.counters["heap_bytes_per_feed"] = bytes_per_feed;
}
BENCHMARK(BM_SchedulerLoad)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

// One iteration is one job's scheduler work: NextDispatch + Complete with the next due time an
// interval later. Every feed starts due within the first second, as in `feedcrawl run --once`,
// so there is always a backlog. The clock advances 1 ms per job; when nothing may start (the
// politeness limits, or every feed done) it jumps to the next wake-up within the same iteration.
void BM_SchedulerDispatchComplete(benchmark::State& state) {
  const size_t feeds = static_cast<size_t>(state.range(0));
  const bool polite = state.range(1) != 0;
  PolitenessOptions politeness;
  if (!polite) {
    politeness.host_concurrency = 0;
    politeness.host_interval_ms = 0;
  }
  Scheduler scheduler(politeness);
  {
    const std::vector<std::string> urls = Urls(feeds);
    for (size_t i = 0; i < feeds; ++i) {
      scheduler.Schedule(i + 1, urls[i], kStartMs + static_cast<int64_t>(i % 1000));
    }
  }
  int64_t now = kStartMs + 1000;
  // The first call moves the whole backlog from the due heap to the host queues; that is a
  // one-off cost of O(feeds log feeds) and would otherwise be smeared over the timed jobs.
  if (std::optional<uint64_t> first = scheduler.NextDispatch(now)) {
    scheduler.Complete(*first, now, now + kIntervalMs);
  }
  int64_t idle_jumps = 0;
  for (auto _ : state) {
    std::optional<uint64_t> feed = scheduler.NextDispatch(now);
    while (!feed.has_value()) {
      std::optional<int64_t> wake = scheduler.NextWakeMs();
      if (!wake.has_value()) break;
      now = std::max(now + 1, *wake);
      ++idle_jumps;
      feed = scheduler.NextDispatch(now);
    }
    if (!feed.has_value()) {
      state.SkipWithError("scheduler ran dry");
      break;
    }
    scheduler.Complete(*feed, now, now + kIntervalMs + static_cast<int64_t>(*feed % 1000));
    ++now;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["idle_jumps"] = static_cast<double>(idle_jumps);
}
BENCHMARK(BM_SchedulerDispatchComplete)
    ->ArgNames({"feeds", "polite"})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1});

}  // namespace
}  // namespace feedcrawl

BENCHMARK_MAIN();
