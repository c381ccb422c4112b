// feedcrawl-memprobe: what this machine charges for memory a process touches for the first time,
// on 4 KB pages and on 2 MB (transparent huge) pages. A first pass grows Redis by ~450 MB per
// 10,000 feeds and the page cache by the append-only file's size, so this price is part of
// every first-pass figure; on a VM that hands free memory back to its host (free page reporting)
// it varies from hour to hour, and scripts/bench prints it beside its figures so that they can be
// read against it. Prints one JSON line:
//   {"fresh_4k_page_us":11.3,"fresh_2m_page_us":660,"huge_pages_used_mb":256,"mb":256}
// fresh_2m_page_us is per 2 MB page (512 times the memory of a 4 KB one). huge_pages_used_mb is
// how much of the second mapping the kernel gave huge pages (0: transparent huge pages are off).
#include <CLI/CLI.hpp>
#include <sys/mman.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

constexpr size_t kSmallPage = 4096;
constexpr size_t kHugePage = 2 << 20;

// AnonHugePages of this process, in kB (0 when unknown).
int64_t AnonHugePagesKb() {
  std::ifstream smaps("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(smaps, line)) {
    if (line.rfind("AnonHugePages:", 0) == 0) return std::stoll(line.substr(14));
  }
  return 0;
}

struct Touched {
  double seconds = 0;
  int64_t huge_kb = 0;
};

// Maps `bytes` of fresh memory (2 MB-aligned), touches one byte per 4 KB page, and unmaps it.
// The time is the kernel's: a fault per page (per 2 MB page when huge), each zeroing the page
// and, on such a VM, first taking it back from the host.
bool Touch(size_t bytes, bool huge, Touched& out) {
  const size_t mapped = bytes + kHugePage;
  void* base = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return false;
  const uintptr_t aligned = (reinterpret_cast<uintptr_t>(base) + kHugePage - 1) & ~(kHugePage - 1);
  volatile char* memory = reinterpret_cast<volatile char*>(aligned);
  ::madvise(const_cast<char*>(memory), bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  const int64_t huge_before = AnonHugePagesKb();
  const auto start = std::chrono::steady_clock::now();
  for (size_t offset = 0; offset < bytes; offset += kSmallPage) memory[offset] = 1;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.huge_kb = AnonHugePagesKb() - huge_before;
  ::munmap(base, mapped);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"What this machine charges for memory touched for the first time"};
  size_t mb = 256;
  app.add_option("--mb", mb, "Memory touched per page size, in MB")->check(CLI::Range(8, 65536));
  CLI11_PARSE(app, argc, argv);

  const size_t bytes = mb << 20;
  Touched small, huge;
  if (!Touch(bytes, /*huge=*/false, small) || !Touch(bytes, /*huge=*/true, huge)) {
    std::perror("feedcrawl-memprobe: mmap");
    return 1;
  }
  std::printf("{\"fresh_4k_page_us\":%.2f,\"fresh_2m_page_us\":%.0f,\"huge_pages_used_mb\":%lld,"
              "\"mb\":%zu}\n",
              small.seconds * 1e6 / static_cast<double>(bytes / kSmallPage),
              huge.seconds * 1e6 / static_cast<double>(bytes / kHugePage),
              static_cast<long long>(huge.huge_kb / 1024), mb);
  return 0;
}
