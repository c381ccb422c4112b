#include "cli/version.h"

#include "common/messages.h"

#ifndef FEEDCRAWL_VERSION
#define FEEDCRAWL_VERSION "unknown"
#endif

namespace feedcrawl::cli {

std::string VersionText() {
  return std::string("feedcrawl ") + FEEDCRAWL_VERSION + " (protocol " +
         std::to_string(kProtocolVersion) + ")";
}

}  // namespace feedcrawl::cli
