// Inputs for the wire fuzzer: how a fuzz input is cut into the frames of one multipart message,
// and valid encoded messages of every kind (the seed corpus, also the starting point of the
// mutated messages the end-to-end test sends). Plain functions: safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace feedcrawl::fuzz {

// Frames of one fuzz input are separated by this marker (also in wire.dict, so the fuzzer finds
// it quickly). An input without it is one frame; an empty input is a message with no frames.
inline constexpr std::string_view kFrameSeparator = "~frame~";

std::vector<std::string> SplitFrames(std::string_view input);
std::string JoinFrames(const std::vector<std::string>& frames);

// One message: a file name for the corpus and its frames (no routing frame).
struct WireSeed {
  std::string name;
  std::vector<std::string> frames;
};

// A valid message of every kind, with and without optional fields, the kinds each socket
// carries and a FetchResult with and without a body.
std::vector<WireSeed> ValidWireSeeds();

// Messages every socket must refuse: a newer version, no version, no body, extra frames, a body
// frame that disagrees with its result, zero ids, unknown enum values.
std::vector<WireSeed> HostileWireSeeds();

}  // namespace feedcrawl::fuzz
