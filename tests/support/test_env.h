// Scratch space and ports for tests: TempDir is a fresh directory removed (recursively) when the
// object dies; FreeTcpPort asks the kernel for a loopback port nobody is using right now.
// Thread-safe: each TempDir is independent.
#pragma once

#include <string>

#include "common/status.h"

namespace feedcrawl::testing {

class TempDir {
 public:
  // Creates <TMPDIR or /tmp>/feedcrawl-XXXXXX. Aborts the test binary when the system cannot
  // create a temporary directory, since no test could run anyway.
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago. Prefer binding to port 0 and reading the
// port back; use this only for programs that must be told a port up front.
StatusOr<int> FreeTcpPort();

// Writes `contents` to `path`, replacing the file.
Status WriteFile(const std::string& path, const std::string& contents);
// The whole file; NotFound when it cannot be opened.
StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace feedcrawl::testing
