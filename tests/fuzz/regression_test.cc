// Replays the fuzzer's seed corpus and every input in tests/fuzz/regressions/ (hostile inputs and
// any crash a fuzzing run found) through the fuzz target itself, so its checks run in every test
// build, sanitizers or not. A failing input aborts the test binary.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> InputsUnder(const char* folder) {
  std::vector<fs::path> inputs;
  for (const auto& entry : fs::directory_iterator(fs::path(FEEDCRAWL_SOURCE_DIR) / folder)) {
    if (entry.is_regular_file()) inputs.push_back(entry.path());
  }
  return inputs;
}

void Replay(const std::vector<fs::path>& inputs) {
  for (const fs::path& input : inputs) {
    SCOPED_TRACE(input.string());
    std::ifstream in(input, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    std::string data = bytes.str();
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
              0);
  }
}

TEST(FuzzRegressionTest, SeedCorpus) {
  std::vector<fs::path> inputs = InputsUnder("tests/fuzz/corpus");
  EXPECT_GE(inputs.size(), 10u);
  Replay(inputs);
}

TEST(FuzzRegressionTest, RegressionInputs) {
  std::vector<fs::path> inputs = InputsUnder("tests/fuzz/regressions");
  EXPECT_GE(inputs.size(), 1u);
  Replay(inputs);
}

}  // namespace
