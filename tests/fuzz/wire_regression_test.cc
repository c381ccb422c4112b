// Replays the wire fuzzer's seed corpus (generated in-process, as scripts/fuzz writes it) and
// every input in tests/fuzz/wire_regressions/ (hostile inputs and any crash a fuzzing run found)
// through the fuzz target itself, so its checks run in every test build. It also pins down what
// the seeds are for: every valid seed is accepted by the sockets that carry it, every hostile one
// refused by all.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/messages.h"
#include "tests/fuzz/wire_seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace feedcrawl::fuzz {
namespace {

namespace fs = std::filesystem;

constexpr InboundSocket kSockets[] = {
    InboundSocket::kCoordinatorControl, InboundSocket::kFetcherControl,
    InboundSocket::kProcessorControl, InboundSocket::kProcessorResults};

int RunTarget(const std::string& input) {
  return LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

int AcceptedBy(const std::vector<std::string>& frames) {
  int accepted = 0;
  for (InboundSocket socket : kSockets) accepted += DecodeInbound(socket, frames).ok() ? 1 : 0;
  return accepted;
}

TEST(WireFuzzRegressionTest, FramesSplitAndJoinBack) {
  const std::vector<std::string> frames = {"a", "", "b~fra", "c"};
  EXPECT_EQ(SplitFrames(JoinFrames(frames)), frames);
  EXPECT_TRUE(SplitFrames("").empty());
  EXPECT_EQ(SplitFrames("~frame~"), (std::vector<std::string>{"", ""}));
}

TEST(WireFuzzRegressionTest, ValidSeedsAreAcceptedWhereTheyBelong) {
  std::vector<WireSeed> seeds = ValidWireSeeds();
  EXPECT_GE(seeds.size(), 10u);
  for (const WireSeed& seed : seeds) {
    SCOPED_TRACE(seed.name);
    const int accepted = AcceptedBy(seed.frames);
    EXPECT_EQ(accepted, seed.name.rfind("heartbeat", 0) == 0 ? 3 : 1);
    EXPECT_EQ(RunTarget(JoinFrames(seed.frames)), 0);
  }
}

TEST(WireFuzzRegressionTest, HostileSeedsAreRefusedEverywhere) {
  std::vector<WireSeed> seeds = HostileWireSeeds();
  EXPECT_GE(seeds.size(), 10u);
  for (const WireSeed& seed : seeds) {
    SCOPED_TRACE(seed.name);
    EXPECT_EQ(AcceptedBy(seed.frames), 0);
    EXPECT_EQ(RunTarget(JoinFrames(seed.frames)), 0);
  }
}

TEST(WireFuzzRegressionTest, EachSocketRefusesTheKindsItDoesNotCarry) {
  for (const WireSeed& seed : ValidWireSeeds()) {
    SCOPED_TRACE(seed.name);
    auto envelope = DecodeEnvelope(seed.frames[0]);
    ASSERT_TRUE(envelope.ok());
    const auto kind = envelope->body_case();
    const bool control_kind = kind != v1::Envelope::kResult;
    EXPECT_EQ(DecodeInbound(InboundSocket::kProcessorResults, seed.frames).ok(), !control_kind);
    EXPECT_EQ(DecodeInbound(InboundSocket::kFetcherControl, seed.frames).ok(),
              kind == v1::Envelope::kJob || kind == v1::Envelope::kHeartbeat);
    EXPECT_EQ(DecodeInbound(InboundSocket::kProcessorControl, seed.frames).ok(),
              kind == v1::Envelope::kHeartbeat);
    EXPECT_EQ(DecodeInbound(InboundSocket::kCoordinatorControl, seed.frames).ok(),
              control_kind && kind != v1::Envelope::kJob);
  }
}

TEST(WireFuzzRegressionTest, ResultBodyFrameIsTheSecondFrame) {
  for (const WireSeed& seed : ValidWireSeeds()) {
    if (seed.frames.size() != 2) continue;
    SCOPED_TRACE(seed.name);
    auto message = DecodeInbound(InboundSocket::kProcessorResults, seed.frames);
    ASSERT_TRUE(message.ok()) << message.status().ToString();
    EXPECT_EQ(message->body, seed.frames[1]);
  }
}

TEST(WireFuzzRegressionTest, RegressionInputs) {
  const fs::path folder = fs::path(FEEDCRAWL_SOURCE_DIR) / "tests/fuzz/wire_regressions";
  size_t replayed = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    SCOPED_TRACE(entry.path().string());
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    EXPECT_EQ(RunTarget(bytes.str()), 0);
    ++replayed;
  }
  EXPECT_GE(replayed, 1u);
}

}  // namespace
}  // namespace feedcrawl::fuzz
