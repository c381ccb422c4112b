// Replays inputs through the item fuzzer's target in every test build: frames cut short,
// damaged and oversized, and items round-tripped with a byte of their frame changed, so that the
// target's checks hold outside a fuzzing run too.
#include <gtest/gtest.h>
#include <lz4frame.h>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace feedcrawl::fuzz {
namespace {

int RunTarget(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

TEST(ItemFuzzRegressionTest, FrameBodiesDecodeOrAreRefused) {
  const std::string json = R"({"key":"a","content":"Zoë met José in Zürich, again and again."})";
  std::string frame(LZ4F_compressFrameBound(json.size(), nullptr), '\0');
  frame.resize(LZ4F_compressFrame(frame.data(), frame.size(), json.data(), json.size(), nullptr));
  const std::string body = frame.substr(4);  // the target puts the magic number back
  for (size_t length = 0; length <= body.size(); ++length) {
    EXPECT_EQ(RunTarget(std::string(1, '\0') + body.substr(0, length)), 0) << length;
  }
  for (size_t at = 0; at < body.size(); ++at) {
    std::string damaged = body;
    damaged[at] = static_cast<char>(~damaged[at]);
    EXPECT_EQ(RunTarget(std::string(1, '\0') + damaged), 0) << at;
  }
  // A header claiming 2^60 bytes of content.
  EXPECT_EQ(RunTarget(std::string("\0\x68\x40\0\0\0\0\0\0\0\x10\0", 12)), 0);
}

TEST(ItemFuzzRegressionTest, ItemsRoundTripWhateverByteOfTheirFrameChanges) {
  std::string item = "{\"key\":\"k\",\"title\":\"東京\"}";
  for (int mode = 1; mode < 256; mode += 2) {
    EXPECT_EQ(RunTarget(std::string(1, static_cast<char>(mode)) + item), 0) << mode;
  }
  EXPECT_EQ(RunTarget(std::string(1, '\x01')), 0);  // the empty item
  EXPECT_EQ(RunTarget(""), 0);
}

}  // namespace
}  // namespace feedcrawl::fuzz
