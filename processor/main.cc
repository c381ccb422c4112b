#include "processor/processor.h"

int main(int argc, char** argv) { return feedcrawl::ProcessorMain(argc, argv); }
