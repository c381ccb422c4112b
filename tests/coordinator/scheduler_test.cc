#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

#include <set>

namespace feedcrawl {
namespace {

std::vector<uint64_t> DrainAt(Scheduler& s, int64_t now) {
  std::vector<uint64_t> out;
  while (auto id = s.NextDispatch(now)) out.push_back(*id);
  return out;
}

TEST(SchedulerTest, DispatchesDueFeedsInDueOrder) {
  Scheduler s({0, 0});
  s.Schedule(1, "http://a.example/1", 300);
  s.Schedule(2, "http://b.example/2", 100);
  s.Schedule(3, "http://c.example/3", 200);
  EXPECT_TRUE(DrainAt(s, 50).empty());
  EXPECT_EQ(DrainAt(s, 250), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(DrainAt(s, 300), (std::vector<uint64_t>{1}));
  EXPECT_EQ(s.in_flight(), 3u);
}

TEST(SchedulerTest, SaysWhetherMoreDueFeedsOfTheHostWait) {
  Scheduler s({1, 0});  // one fetch at a time per host
  s.Schedule(1, "http://a.example/1", 0);
  s.Schedule(2, "http://a.example/2", 0);
  s.Schedule(3, "http://b.example/3", 100);
  s.Schedule(4, "http://b.example/4", 5000);
  std::optional<uint64_t> first = s.NextDispatch(0);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(s.HostNextStartsSoon(*first)) << "the other feed of a.example waits for the slot";
  EXPECT_FALSE(s.NextDispatch(0).has_value());
  s.Complete(*first, 10, 100'000);
  std::optional<uint64_t> second = s.NextDispatch(10);
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(*second, *first);
  EXPECT_FALSE(s.HostNextStartsSoon(*second)) << "nothing of a.example is left";
  EXPECT_EQ(s.NextDispatch(100), std::optional<uint64_t>(3));
  EXPECT_FALSE(s.HostNextStartsSoon(3)) << "feed 4 of b.example is not due yet";
  EXPECT_FALSE(s.HostNextStartsSoon(99)) << "unknown feed";
}

TEST(SchedulerTest, ANextStartBehindABacklogOfReadyHostsIsNotSoon) {
  Scheduler s({1, 0});
  const uint64_t hosts = Scheduler::kSoonReadyHosts + 10;
  for (uint64_t h = 0; h < hosts; ++h) {
    const std::string host = "http://h" + std::to_string(h) + ".example/";
    s.Schedule(2 * h + 1, host + "a", 0);
    s.Schedule(2 * h + 2, host + "b", 0);
  }
  s.Schedule(100'000, "http://h0.example/c", 0);
  EXPECT_EQ(s.NextDispatch(0), std::optional<uint64_t>(1));
  EXPECT_FALSE(s.HostNextStartsSoon(1)) << "every other host is ready before h0's next feed";
  while (s.NextDispatch(0).has_value()) {
  }
  s.Complete(1, 10, 1'000'000);  // the others are all in flight: nothing is ready but h0
  EXPECT_EQ(s.NextDispatch(10), std::optional<uint64_t>(2));
  EXPECT_TRUE(s.HostNextStartsSoon(2)) << "h0/c is next, with no backlog ahead of it";
}

TEST(SchedulerTest, NextWakeIsEarliestDueTime) {
  Scheduler s({0, 0});
  EXPECT_FALSE(s.NextWakeMs().has_value());
  s.Schedule(1, "http://a.example/", 500);
  s.Schedule(2, "http://a.example/x", 400);
  EXPECT_EQ(s.NextWakeMs(), 400);
}

TEST(SchedulerTest, HostConcurrencyLimitsJobsInFlightPerHost) {
  Scheduler s({2, 0});
  for (uint64_t id = 1; id <= 5; ++id) s.Schedule(id, "http://one.example/f" + std::to_string(id), 0);
  s.Schedule(10, "http://other.example/f", 0);
  auto first = DrainAt(s, 0);
  // Two from the busy host, and the other host is not held back by it.
  EXPECT_EQ(first.size(), 3u);
  EXPECT_EQ(std::count(first.begin(), first.end(), 10u), 1);
  EXPECT_TRUE(DrainAt(s, 1000).empty());
  s.Complete(first[0] == 10 ? first[1] : first[0], 1000, std::nullopt);
  EXPECT_EQ(DrainAt(s, 1000).size(), 1u);
}

TEST(SchedulerTest, HostIntervalSpacesStartsOnOneHost) {
  Scheduler s({0, 250});
  for (uint64_t id = 1; id <= 3; ++id) s.Schedule(id, "http://h.example/" + std::to_string(id), 0);
  EXPECT_EQ(DrainAt(s, 0).size(), 1u);
  EXPECT_EQ(s.NextWakeMs(), 250);
  EXPECT_TRUE(DrainAt(s, 249).empty());
  EXPECT_EQ(DrainAt(s, 250).size(), 1u);
  EXPECT_EQ(DrainAt(s, 500).size(), 1u);
}

TEST(SchedulerTest, HostNamesAreCaseInsensitiveAndIgnorePorts) {
  Scheduler s({1, 0});
  s.Schedule(1, "http://Example.COM/a", 0);
  s.Schedule(2, "http://example.com:8080/b", 0);
  EXPECT_EQ(DrainAt(s, 0).size(), 1u);
}

TEST(SchedulerTest, CompleteWithNextDueReschedules) {
  Scheduler s({0, 0});
  s.Schedule(7, "http://a.example/", 0);
  ASSERT_EQ(DrainAt(s, 0), (std::vector<uint64_t>{7}));
  s.Complete(7, 10, 1000);
  EXPECT_FALSE(s.InFlight(7));
  EXPECT_TRUE(DrainAt(s, 999).empty());
  EXPECT_EQ(DrainAt(s, 1000), (std::vector<uint64_t>{7}));
}

TEST(SchedulerTest, RescheduleReplacesEarlierDueTime) {
  Scheduler s({0, 0});
  s.Schedule(1, "http://a.example/", 100);
  s.Schedule(1, "http://a.example/", 500);
  EXPECT_TRUE(DrainAt(s, 200).empty());
  EXPECT_EQ(DrainAt(s, 500), (std::vector<uint64_t>{1}));
}

TEST(SchedulerTest, RemovedFeedsAreNeverDispatched) {
  Scheduler s({1, 0});
  s.Schedule(1, "http://a.example/1", 0);
  s.Schedule(2, "http://a.example/2", 0);
  s.Schedule(3, "http://a.example/3", 0);
  auto first = DrainAt(s, 0);
  ASSERT_EQ(first.size(), 1u);
  s.Remove(2);
  s.Remove(first[0]);  // in flight: frees the host slot
  auto next = DrainAt(s, 0);
  EXPECT_EQ(next, (std::vector<uint64_t>{3}));
}

TEST(SchedulerTest, PausedHostWaitsUntilPauseEnds) {
  Scheduler s({0, 0});
  s.Schedule(1, "http://slow.example/1", 0);
  s.Schedule(2, "http://fast.example/2", 0);
  s.PauseHost("http://slow.example/", 5000);
  EXPECT_EQ(DrainAt(s, 0), (std::vector<uint64_t>{2}));
  EXPECT_TRUE(DrainAt(s, 4999).empty());
  EXPECT_EQ(DrainAt(s, 5000), (std::vector<uint64_t>{1}));
}

TEST(SchedulerTest, ManyFeedsOnOneHostDrainAtPoliteRateWhileOthersRunFree) {
  Scheduler s({1, 100});
  for (uint64_t id = 1; id <= 50; ++id) s.Schedule(id, "http://blog.example/" + std::to_string(id), 0);
  for (uint64_t id = 100; id < 150; ++id) {
    s.Schedule(id, "http://site" + std::to_string(id) + ".example/", 0);
  }
  std::set<uint64_t> started;
  int64_t now = 0;
  for (; now <= 10'000 && started.size() < 100; now += 10) {
    while (auto id = s.NextDispatch(now)) {
      EXPECT_TRUE(started.insert(*id).second);
      s.Complete(*id, now, std::nullopt);
    }
  }
  EXPECT_EQ(started.size(), 100u);
  // 50 starts on one host spaced 100 ms apart need 4.9 s.
  EXPECT_GE(now, 4900);
}

}  // namespace
}  // namespace feedcrawl
