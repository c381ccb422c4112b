// `feedcrawl status`: the ClusterView once, as one JSON document on stdout, for scripts and
// health checks. With max_age_ms > 0 it also exits 1 when the coordinator's numbers are missing
// or older than that (a coordinator that stopped writing them is not healthy). Not thread-safe.
#pragma once

#include <cstdint>
#include <ostream>

#include "cli/store_session.h"

namespace feedcrawl::cli {

int StatusCommand(const StoreOptions& options, int64_t max_age_ms, bool pretty, std::ostream& out,
                  std::ostream& err);

}  // namespace feedcrawl::cli
