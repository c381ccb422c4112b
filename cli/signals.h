// Stop signals for long-running commands: SIGINT, SIGTERM and SIGHUP are recorded, not acted on,
// so the command can stop its children in order. A second signal asks to hurry. SIGPIPE is
// ignored so a closed pipe is a write error, not death. The counters are async-signal-safe and may
// be read from any thread.
#pragma once

namespace feedcrawl::cli {

void InstallStopSignalHandlers();
// Makes SIGCHLD interrupt a waiting poll() (other calls restart), so a loop that watches its
// children sees an exit at once rather than at its next turn.
void InstallChildExitWakeup();
// How many stop signals arrived since installation.
int StopSignalCount();
// The last one (SIGINT, SIGTERM, SIGHUP), 0 if none.
int LastStopSignal();

}  // namespace feedcrawl::cli
