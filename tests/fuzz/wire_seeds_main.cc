// Writes the wire fuzzer's seed corpus: one file per message of ValidWireSeeds() and
// HostileWireSeeds(), frames joined as the fuzzer splits them. Usage: wire_fuzz_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/fuzz/wire_seeds.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  int written = 0;
  for (const auto& seeds : {feedcrawl::fuzz::ValidWireSeeds(), feedcrawl::fuzz::HostileWireSeeds()}) {
    for (const feedcrawl::fuzz::WireSeed& seed : seeds) {
      const std::string path = std::string(argv[1]) + "/" + seed.name;
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << feedcrawl::fuzz::JoinFrames(seed.frames);
      if (!out) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        return 1;
      }
      ++written;
    }
  }
  std::printf("%d seeds in %s\n", written, argv[1]);
  return 0;
}
