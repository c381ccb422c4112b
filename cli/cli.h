// The feedcrawl command line: parses arguments with CLI11 (the only file that includes it) and
// dispatches to the subcommands (run, feeds, items, status, top, parse, version). main() is one
// call into RunCli so tests run the same code. Call from the main thread.
#pragma once

namespace feedcrawl::cli {

// Returns the process exit code: 0 success, 1 failure, 2 usage error, 128+n after signal n.
int RunCli(int argc, char** argv);

}  // namespace feedcrawl::cli
