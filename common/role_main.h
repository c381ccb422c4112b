// What every role executable's main() does around its role object: serve metrics when asked,
// take the CURVE key files from flags or FEEDCRAWL_CURVE_* variables, and run the role until
// SIGINT or SIGTERM asks it to stop. Header-only; call from main's thread.
#pragma once

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <malloc.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>

#include "common/cpu_scheduling.h"
#include "common/curve_keys.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/wire.h"

namespace feedcrawl {

// Lets a role keep the memory it frees for its next jobs. With glibc's defaults the heap gave
// back its top as soon as more than ~128 KB was free there, and a role's heap rises and falls by
// a few bodies with every job: it shrank and grew again all the time, paying each time for the
// unmapping (a TLB flush on every core) and for the page faults that map the memory back; in a
// processor that was ~8 % of its CPU. Bounded: at most 16 MB stay free at the top of a heap, and
// blocks above 4 MB (only very large bodies) still get their own mapping, returned when freed.
// These are glibc's settings: a fetcher or processor linked with jemalloc (FEEDCRAWL_JEMALLOC)
// does not use that allocator, and jemalloc keeps what is freed for some seconds by itself.
inline void KeepFreedMemory() {
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  mallopt(M_TOP_PAD, 1 << 20);
}

// --cpu-scheduling (FEEDCRAWL_CPU_SCHEDULING): how the role is scheduled (common/cpu_scheduling.h).
inline void AddCpuSchedulingFlag(CLI::App& app, std::string& scheduling) {
  app.add_option("--cpu-scheduling", scheduling,
                 "batch: run this role under the kernel's SCHED_BATCH policy, so that the "
                 "messages it wakes up for do not preempt the crawl's other processes; inherit: "
                 "keep the policy it was started with")
      ->envname("FEEDCRAWL_CPU_SCHEDULING")
      ->check(CLI::IsMember({kCpuSchedulingBatch, kCpuSchedulingInherit}))
      ->capture_default_str();
}

// Starts the metrics endpoint when port > 0; a null server when metrics are off. Logs and
// returns the error when the address cannot be bound.
inline StatusOr<std::unique_ptr<MetricsServer>> StartMetricsIfEnabled(
    const std::string& bind_address, int port, MetricsServer::Collector collector) {
  if (port <= 0) return std::unique_ptr<MetricsServer>();
  auto server = MetricsServer::Start(bind_address, port, std::move(collector));
  if (!server.ok()) spdlog::error("{}", server.status().ToString());
  return server;
}

// The coordinator's CURVE flags: its secret key and the allow-list of worker public keys.
inline void AddCurveServerFlags(CLI::App& app, CurveKeyFiles& files) {
  app.add_option("--curve-secret-key-file", files.secret_key_file,
                 "CURVE: this coordinator's secret key (from `feedcrawl keygen`); with "
                 "--curve-allow-keys-file it turns encryption and authentication on")
      ->envname("FEEDCRAWL_CURVE_SECRET_KEY_FILE");
  app.add_option("--curve-allow-keys-file", files.allow_keys_file,
                 "CURVE: the workers' public keys it admits, one per line (# comments)")
      ->envname("FEEDCRAWL_CURVE_ALLOW_KEYS_FILE");
}

// A worker's CURVE flags: its secret key and the coordinator's public key.
inline void AddCurveClientFlags(CLI::App& app, CurveKeyFiles& files) {
  app.add_option("--curve-secret-key-file", files.secret_key_file,
                 "CURVE: this worker's secret key (from `feedcrawl keygen`); with "
                 "--curve-server-key-file it turns encryption and authentication on")
      ->envname("FEEDCRAWL_CURVE_SECRET_KEY_FILE");
  app.add_option("--curve-server-key-file", files.server_key_file,
                 "CURVE: the coordinator's public key")
      ->envname("FEEDCRAWL_CURVE_SERVER_KEY_FILE");
}

// Reads the key files named by the flags above into `security` (left disabled when none is
// named). Logs why and returns false when they cannot be used; call after InitLogging.
inline bool LoadCurveSecurity(const CurveKeyFiles& files, bool server, WireSecurity& security) {
  auto loaded = server ? LoadCurveServerSecurity(files) : LoadCurveClientSecurity(files);
  if (!loaded.ok()) {
    spdlog::error("cannot use the CURVE keys: {}", loaded.status().ToString());
    return false;
  }
  security = std::move(*loaded);
  if (!security.enabled()) {
    spdlog::info("CURVE is off: ZeroMQ traffic is neither encrypted nor authenticated");
  } else if (server) {
    spdlog::info("CURVE on: public key {}, {} worker keys admitted", security.public_key,
                 security.allowed_client_keys.size());
  } else {
    spdlog::info("CURVE on: public key {}", security.public_key);
  }
  return true;
}

namespace role_main_internal {
template <typename Role>
inline std::atomic<Role*> running{nullptr};

template <typename Role>
void StopRunning(int) {
  if (Role* role = running<Role>.load()) role->Stop();  // Stop() only sets an atomic flag
}
}  // namespace role_main_internal

// Runs role.Run() with SIGINT and SIGTERM wired to role.Stop(). Returns main's exit code: 0
// after a clean stop, 1 (with the error logged) when Run() failed.
template <typename Role>
int RunUntilSignalled(Role& role) {
  role_main_internal::running<Role>.store(&role);
  std::signal(SIGINT, &role_main_internal::StopRunning<Role>);
  std::signal(SIGTERM, &role_main_internal::StopRunning<Role>);
  Status s = role.Run();
  role_main_internal::running<Role>.store(nullptr);
  if (!s.ok()) {
    spdlog::error("stopped on error: {}", s.ToString());
    return 1;
  }
  return 0;
}

}  // namespace feedcrawl
