// Memory per feed and dispatch cost of the coordinator's in-memory state, for docs/SCHEDULING.md.
// Loads N feeds (default 1,000,000, spread over hosts like a real list: a few big platforms and
// a long tail) into a Scheduler plus the coordinator's per-feed status map, reads the resident
// set from /proc/self/statm before and after, then dispatches and completes every feed and
// reports the time per operation at several sizes. Numbers are printed, never asserted.
//
// Usage: feedcrawl_coordinator_memory [feeds]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <unordered_map>

#include "coordinator/scheduler.h"

namespace {

int64_t ResidentBytes() {
  long pages_total = 0, pages_resident = 0;
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  if (std::fscanf(statm, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
  std::fclose(statm);
  return static_cast<int64_t>(pages_resident) * sysconf(_SC_PAGESIZE);
}

std::string UrlOf(uint64_t i) {
  // One feed in ten on one of ten blog platforms, the rest on their own site.
  const uint64_t host = i % 10 == 0 ? i % 100 / 10 : 10 + i / 3;
  return "https://host" + std::to_string(host) + ".example/feed/" + std::to_string(i) + ".xml";
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void Measure(uint64_t feeds, bool report_memory) {
  const int64_t before = ResidentBytes();
  feedcrawl::Scheduler scheduler(feedcrawl::PolitenessOptions{0, 0});
  std::unordered_map<uint64_t, uint8_t> status;  // as Coordinator::feeds_: one status per feed
  status.reserve(feeds);
  auto start = std::chrono::steady_clock::now();
  for (uint64_t id = 1; id <= feeds; ++id) {
    scheduler.Schedule(id, UrlOf(id), static_cast<int64_t>((id * 7919) % 86'400'000));
    status.emplace(id, 0);
  }
  const double load_s = Seconds(start);
  const int64_t after = ResidentBytes();
  // Dispatch everything due within the day, completing each job with a new due time: the
  // steady-state cycle of a continuous crawl.
  start = std::chrono::steady_clock::now();
  uint64_t dispatched = 0;
  const int64_t now = 86'400'000;
  while (auto id = scheduler.NextDispatch(now)) {
    scheduler.Complete(*id, now, now + 1'800'000 + static_cast<int64_t>(*id % 1000));
    ++dispatched;
  }
  const double cycle_s = Seconds(start);
  std::printf("%9llu feeds: load %.2f s, dispatch+complete %.0f ns per feed (%llu dispatched)",
              static_cast<unsigned long long>(feeds), load_s,
              dispatched ? cycle_s * 1e9 / static_cast<double>(dispatched) : 0.0,
              static_cast<unsigned long long>(dispatched));
  if (report_memory) {
    std::printf(", resident +%.1f MiB = %.0f bytes per feed",
                static_cast<double>(after - before) / (1 << 20),
                static_cast<double>(after - before) / static_cast<double>(feeds));
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t feeds = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  // The largest size runs first, so its memory is measured on a fresh heap.
  Measure(feeds, /*report_memory=*/true);
  for (uint64_t n = 10'000; n < feeds; n *= 10) Measure(n, false);
  return 0;
}
