// ApplyCpuScheduling: what each --cpu-scheduling value does to the thread that starts a role.
// Each case runs in a thread of its own, since the policy belongs to the calling thread.
#include <gtest/gtest.h>
#include <sched.h>

#include <string>
#include <thread>

#include "common/cpu_scheduling.h"

namespace feedcrawl {
namespace {

struct Policies {
  int returned = -1;
  int after = -1;
  int child = -1;  // of a thread started afterwards
};

// Runs ApplyCpuScheduling(scheduling) in a new thread that first takes `start_policy`.
Policies ApplyInThread(const std::string& scheduling, int start_policy) {
  Policies policies;
  std::thread([&] {
    sched_param param{};
    if (sched_setscheduler(0, start_policy, &param) != 0) return;
    policies.returned = ApplyCpuScheduling(scheduling);
    policies.after = sched_getscheduler(0);
    std::thread([&] { policies.child = sched_getscheduler(0); }).join();
  }).join();
  return policies;
}

TEST(CpuSchedulingTest, BatchPutsTheThreadAndTheThreadsItStartsUnderSchedBatch) {
  Policies policies = ApplyInThread(kCpuSchedulingBatch, SCHED_OTHER);
  EXPECT_EQ(policies.returned, SCHED_BATCH);
  EXPECT_EQ(policies.after, SCHED_BATCH);
  EXPECT_EQ(policies.child, SCHED_BATCH);
}

TEST(CpuSchedulingTest, InheritLeavesTheNormalPolicy) {
  Policies policies = ApplyInThread(kCpuSchedulingInherit, SCHED_OTHER);
  EXPECT_EQ(policies.returned, SCHED_OTHER);
  EXPECT_EQ(policies.after, SCHED_OTHER);
  EXPECT_EQ(policies.child, SCHED_OTHER);
}

// An operator who started the role under another policy (here SCHED_IDLE, which needs no
// privilege) keeps it.
TEST(CpuSchedulingTest, BatchKeepsAPolicyTheRoleWasStartedWith) {
  Policies policies = ApplyInThread(kCpuSchedulingBatch, SCHED_IDLE);
  EXPECT_EQ(policies.returned, SCHED_IDLE);
  EXPECT_EQ(policies.after, SCHED_IDLE);
  EXPECT_EQ(policies.child, SCHED_IDLE);
}

}  // namespace
}  // namespace feedcrawl
