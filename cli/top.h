// `feedcrawl top`: a live terminal view of the cluster. Every second it reads the ClusterView
// (P stats, worker hashes, P stats:hosts) and redraws the screen with ANSI codes; `q` (or a stop
// signal) exits. RenderTop is pure, so the layout is tested without a terminal. Call TopCommand
// from the main thread: it switches the terminal to raw input and restores it on exit.
#pragma once

#include <ostream>
#include <string>

#include "cli/cluster_view.h"
#include "cli/store_session.h"

namespace feedcrawl::cli {

// The screen as plain lines (no control codes), each cut to `width` columns.
std::string RenderTop(const ClusterView& view, int width);

// Exit codes: 0 after `q`, 1 when the store cannot be read at start, 128 + signal when stopped.
int TopCommand(const StoreOptions& options, int interval_ms, std::ostream& out,
               std::ostream& err);

}  // namespace feedcrawl::cli
