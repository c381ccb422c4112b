// `feedcrawl keygen`: makes a CURVE keypair for a coordinator or a worker of a secured cluster
// (docs/OPERATIONS.md, "Securing a cluster"). With an output prefix it writes PREFIX.key_secret
// (mode 0600, created afresh so no older mode survives) and PREFIX.key (the public key, to share
// or add to the coordinator's allow-list); existing files are kept unless forced. Without one it
// prints both keys. Not thread-safe (writes to the given streams).
#pragma once

#include <ostream>
#include <string>

namespace feedcrawl::cli {

struct KeygenOptions {
  std::string out_prefix;  // empty: print the keys instead of writing files
  bool force = false;      // replace existing key files
};

// Returns the exit code: kExitOk, kExitFailure (no CURVE in libzmq, files not writable) or
// kExitUsage (files exist and force is off).
int KeygenCommand(const KeygenOptions& options, std::ostream& out, std::ostream& err);

}  // namespace feedcrawl::cli
