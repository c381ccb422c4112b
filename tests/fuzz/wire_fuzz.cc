// libFuzzer entry point for the receive path of every ZeroMQ socket: the input is cut into the
// frames of one multipart message (tests/fuzz/wire_seeds.h) and handed to DecodeInbound for each
// socket kind, the same call the coordinator, fetchers and processors make on every message.
// Beyond "does not crash", it checks the contract the roles rely on: an accepted message has a
// supported version, a kind its socket carries, a body frame that matches its result, and it
// survives being encoded again unchanged in meaning.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages.h"
#include "tests/fuzz/wire_seeds.h"

namespace {

namespace v1 = feedcrawl::v1;
using feedcrawl::DecodeInbound;
using feedcrawl::InboundSocket;

constexpr InboundSocket kSockets[] = {
    InboundSocket::kCoordinatorControl, InboundSocket::kFetcherControl,
    InboundSocket::kProcessorControl, InboundSocket::kProcessorResults};

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

void CheckAccepted(InboundSocket socket, const std::vector<std::string>& frames,
                   const feedcrawl::InboundMessage& message) {
  const v1::Envelope& envelope = message.envelope;
  Check(envelope.version() >= 1 && envelope.version() <= feedcrawl::kProtocolVersion);
  Check(envelope.body_case() != v1::Envelope::BODY_NOT_SET);
  Check(frames.size() == (socket == InboundSocket::kProcessorResults ? 2u : 1u));
  if (envelope.has_result()) {
    Check(socket == InboundSocket::kProcessorResults);
    Check(message.body.size() == envelope.result().body_bytes());
    Check(message.body.data() == frames[1].data());
    Check(envelope.result().job().job_id() != 0);
    (void)feedcrawl::OutcomeName(envelope.result().outcome());
  } else {
    Check(message.body.empty());
  }
  if (envelope.has_report()) {
    Check(envelope.report().publish_interval_ms() >= 0);
    (void)feedcrawl::OutcomeName(envelope.report().outcome());
  }
  // What a role accepts must read back the same after re-encoding (results are forwarded as
  // received, reports and jobs are rebuilt from decoded fields).
  std::vector<std::string> again = frames;
  again[0] = feedcrawl::EncodeEnvelope(envelope);
  auto reread = DecodeInbound(socket, again);
  Check(reread.ok());
  Check(reread->envelope.body_case() == envelope.body_case());
  Check(reread->envelope.SerializeAsString() == envelope.SerializeAsString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> frames = feedcrawl::fuzz::SplitFrames(
      std::string_view(reinterpret_cast<const char*>(data), size));
  int accepted = 0;
  for (InboundSocket socket : kSockets) {
    auto message = DecodeInbound(socket, frames);
    if (!message.ok()) continue;
    ++accepted;
    CheckAccepted(socket, frames, *message);
  }
  // Each kind belongs to one socket, except Heartbeat (to the coordinator and to both workers).
  Check(accepted <= 3);
  return 0;
}
