#include "cli/status.h"

#include "cli/cluster_view.h"
#include "cli/exit_codes.h"
#include "common/clock.h"

namespace feedcrawl::cli {

int StatusCommand(const StoreOptions& options, int64_t max_age_ms, bool pretty, std::ostream& out,
                  std::ostream& err) {
  auto session = StoreSession::Open(options);
  if (!session.ok()) {
    err << "feedcrawl: error: " << session.status().message() << "\n";
    return kExitFailure;
  }
  auto view = ReadClusterView((*session)->store(), SystemClock::Instance().NowMs());
  if (!view.ok()) {
    err << "feedcrawl: error: reading the cluster's numbers: " << view.status().message() << "\n";
    return kExitFailure;
  }
  out << ClusterViewToJson(*view).dump(pretty ? 2 : -1, ' ', false,
                                       nlohmann::json::error_handler_t::replace)
      << "\n";
  if (max_age_ms > 0) {
    const int64_t age = view->AgeMs();
    if (age < 0) {
      err << "feedcrawl: no coordinator has written P stats yet\n";
      return kExitFailure;
    }
    if (age > max_age_ms) {
      err << "feedcrawl: the coordinator's numbers are " << age << " ms old (limit " << max_age_ms
          << " ms)\n";
      return kExitFailure;
    }
  }
  return kExitOk;
}

}  // namespace feedcrawl::cli
