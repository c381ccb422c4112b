// feedcrawl-fetcher: the fetcher role. Everything lives in the library so tests run the same code.
#include "fetcher/fetcher.h"

int main(int argc, char** argv) { return feedcrawl::FetcherMain(argc, argv); }
