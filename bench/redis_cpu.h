// A Redis server's own CPU time, for benchmarks that measure what their calls cost the server.
#pragma once

#include "common/redis.h"

namespace feedcrawl {

// The server's CPU seconds so far (user + system, all its threads, not its children) from
// INFO cpu; -1 when unreadable.
double ServerCpuSeconds(RedisClient& redis);

}  // namespace feedcrawl
