// Encoding and decoding of the Envelope that heads every ZeroMQ message (proto/feedcrawl.proto),
// and the checks every role runs on what it receives (DecodeInbound). Decode never throws:
// unreadable bytes, an empty envelope, a newer protocol version, a message kind the socket does
// not carry or fields no honest peer sends are errors that the caller counts and drops.
// Stateless functions: safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "proto/feedcrawl.pb.h"

namespace feedcrawl {

// Version this build speaks. A peer with a newer version is refused, an older one accepted.
constexpr uint32_t kProtocolVersion = 1;

std::string EncodeEnvelope(feedcrawl::v1::Envelope envelope);
StatusOr<feedcrawl::v1::Envelope> DecodeEnvelope(std::string_view bytes);

// The sockets a role reads, each with the message kinds and frame layout it carries.
enum class InboundSocket {
  kCoordinatorControl,  // Hello, Credit, Heartbeat, Goodbye, JobReport; one frame
  kFetcherControl,      // FetchJob, Heartbeat; one frame
  kProcessorControl,    // Heartbeat; one frame
  kProcessorResults,    // FetchResult, then its body frame
};

// A received message that passed DecodeInbound. `body` is the FetchResult's body frame (empty for
// other kinds); it points into the frames given to DecodeInbound, which must outlive it.
struct InboundMessage {
  feedcrawl::v1::Envelope envelope;
  std::string_view body;
};

// The whole receive check of a multipart message (without a ROUTER's routing frame): frame
// count, envelope and version, the kinds `socket` carries, and the fields of that kind (see
// ValidateBody). Every role calls this on every message, so the wire fuzzer tests exactly it.
StatusOr<InboundMessage> DecodeInbound(InboundSocket socket, const std::vector<std::string>& frames);
// The same for frames read in place (InPlaceMessage): `body` points into them.
StatusOr<InboundMessage> DecodeInbound(InboundSocket socket,
                                       const std::vector<std::string_view>& frames);

// Field checks of one decoded message body: what a peer following this protocol never sends and
// the receiver must not act on (zero job or feed ids, outcomes outside the enum, a FetchResult
// whose body frame disagrees with body_bytes or comes with a failed outcome, a report's interval
// out of range). `body` is the FetchResult's body frame.
Status ValidateBody(const feedcrawl::v1::Envelope& envelope, std::string_view body = {});

// Longest publish interval a JobReport may carry (about a thousand years): bounds the
// scheduler's arithmetic on it.
constexpr int64_t kMaxPublishIntervalMs = 1000LL * 366 * 24 * 3600 * 1000;

// The report of a fetch, from its result: the fields every report carries, and for a 304 the
// validators to keep. A result without a body (a 304, a failure) needs nothing more, so its
// fetcher sends this report to the coordinator itself; a processor adds what it parsed.
feedcrawl::v1::JobReport ReportFor(const feedcrawl::v1::FetchResult& result);

const char* OutcomeName(feedcrawl::v1::Outcome outcome);  // "ok", "not_modified", "http_error", ...

}  // namespace feedcrawl
