// Small file-system helpers for the feedcrawl command: whole-file reads and writes, directory
// creation and absolute paths, with errors as Status. Thread-safe (no shared state).
#pragma once

#include <string>

#include "common/status.h"

namespace feedcrawl::cli {

// NotFound (with the OS reason) when the file cannot be opened or read, or is a directory.
StatusOr<std::string> ReadFileToString(const std::string& path);

// Replaces the file's content (written to a temporary name and renamed, so readers never see
// half a file).
Status WriteFileAtomically(const std::string& path, const std::string& content);

// mkdir -p.
Status MakeDirectories(const std::string& path);

// `path` made absolute against the working directory and lexically normalised.
std::string AbsolutePath(const std::string& path);

// The last `max_lines` lines of a (log) file, for error messages; "" if unreadable.
std::string TailOfFile(const std::string& path, size_t max_lines);

}  // namespace feedcrawl::cli
