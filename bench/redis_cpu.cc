#include "bench/redis_cpu.h"

#include <cstdlib>
#include <string>
#include <string_view>

namespace feedcrawl {

double ServerCpuSeconds(RedisClient& redis) {
  StatusOr<RedisReply> info = redis.Command({"INFO", "cpu"});
  if (!info.ok() || info->IsError()) return -1;
  double total = 0;
  for (std::string_view field : {"used_cpu_sys:", "used_cpu_user:"}) {
    const size_t at = info->str.find(field);
    if (at == std::string::npos) return -1;
    total += std::strtod(info->str.c_str() + at + field.size(), nullptr);
  }
  return total;
}

}  // namespace feedcrawl
