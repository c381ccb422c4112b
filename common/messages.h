// Encoding and decoding of the Envelope that heads every ZeroMQ message (proto/feedcrawl.proto).
// Decode never throws: unreadable bytes, an empty envelope, or a newer protocol version are
// errors that the caller counts and drops.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "proto/feedcrawl.pb.h"

namespace feedcrawl {

// Version this build speaks. A peer with a newer version is refused, an older one accepted.
constexpr uint32_t kProtocolVersion = 1;

std::string EncodeEnvelope(feedcrawl::v1::Envelope envelope);
StatusOr<feedcrawl::v1::Envelope> DecodeEnvelope(std::string_view bytes);

const char* OutcomeName(feedcrawl::v1::Outcome outcome);  // "ok", "not_modified", "http_error", ...

}  // namespace feedcrawl
