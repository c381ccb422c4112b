#include "cli/signals.h"

#include <signal.h>

#include <atomic>
#include <cstring>
#include <initializer_list>

namespace feedcrawl::cli {
namespace {

std::atomic<int> stop_count{0};
std::atomic<int> last_signal{0};

extern "C" void OnStopSignal(int signal_number) {
  last_signal.store(signal_number);
  stop_count.fetch_add(1);
}

// Does nothing: delivering it is what interrupts poll(). Children are reaped by their owners.
extern "C" void OnChildExit(int) {}

}  // namespace

void InstallStopSignalHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a sleeping poll loop should wake at once.
  action.sa_flags = 0;
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal_number, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void InstallChildExitWakeup() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnChildExit;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &action, nullptr);
}

int StopSignalCount() { return stop_count.load(); }
int LastStopSignal() { return last_signal.load(); }

}  // namespace feedcrawl::cli
