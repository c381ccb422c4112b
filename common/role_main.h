// What every role executable's main() does around its role object: serve metrics when asked,
// and run the role until SIGINT or SIGTERM asks it to stop. Header-only; call from main's thread.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/status.h"

namespace feedcrawl {

// Starts the metrics endpoint when port > 0; a null server when metrics are off. Logs and
// returns the error when the address cannot be bound.
inline StatusOr<std::unique_ptr<MetricsServer>> StartMetricsIfEnabled(
    const std::string& bind_address, int port, MetricsServer::Collector collector) {
  if (port <= 0) return std::unique_ptr<MetricsServer>();
  auto server = MetricsServer::Start(bind_address, port, std::move(collector));
  if (!server.ok()) spdlog::error("{}", server.status().ToString());
  return server;
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
