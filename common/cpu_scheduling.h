// How a role's threads share the CPU with the crawl's other processes: the values of
// --cpu-scheduling (every role's, and `feedcrawl run`'s, which passes it on) and what they do.
// Header-only.
#pragma once

#include <sched.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace feedcrawl {

inline constexpr const char* kCpuSchedulingBatch = "batch";  // the default
inline constexpr const char* kCpuSchedulingInherit = "inherit";

// Puts the calling thread, and so every thread it starts afterwards, under SCHED_BATCH when
// `scheduling` is "batch" and the thread runs under the normal policy; call it from main()
// once logging is set up, before ZeroMQ, libcurl or the metrics server start threads. A role
// is a throughput job: under the normal policy each message that wakes one of its threads (a
// job, a body, a Redis reply) may preempt the process that sent it. On two cores a first pass
// of 10,000 feeds took ~48,000 context switches that way, against ~28,000 under SCHED_BATCH,
// which took a fifth off its time (docs/PERFORMANCE.md, "Roles under SCHED_BATCH"). A policy
// the operator chose (chrt, a container's settings) is kept, and a refusal is logged and the
// role runs on. Returns the thread's policy afterwards.
inline int ApplyCpuScheduling(const std::string& scheduling) {
  int policy = sched_getscheduler(0);
  if (scheduling != kCpuSchedulingBatch) return policy;
  if (policy != SCHED_OTHER) {
    spdlog::info("keeping the CPU scheduling policy this role was started with ({})", policy);
    return policy;
  }
  sched_param param{};
  param.sched_priority = 0;
  if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
    spdlog::warn("cannot run under SCHED_BATCH ({}); keeping the normal policy",
                 std::strerror(errno));
    return policy;
  }
  spdlog::info("running under SCHED_BATCH (--cpu-scheduling batch)");
  return SCHED_BATCH;
}

}  // namespace feedcrawl
