// feedcrawl: the command line for running and querying a local crawler (see cli/cli.h).
#include "cli/cli.h"

int main(int argc, char** argv) { return feedcrawl::cli::RunCli(argc, argv); }
