#include "coordinator/coordinator.h"

int main(int argc, char** argv) { return feedcrawl::CoordinatorMain(argc, argv); }
