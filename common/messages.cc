#include "common/messages.h"

namespace feedcrawl {

std::string EncodeEnvelope(feedcrawl::v1::Envelope envelope) {
  envelope.set_version(kProtocolVersion);
  return envelope.SerializeAsString();
}

StatusOr<feedcrawl::v1::Envelope> DecodeEnvelope(std::string_view bytes) {
  feedcrawl::v1::Envelope envelope;
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::DataLoss("not a feedcrawl envelope");
  }
  if (envelope.version() == 0) return Status::DataLoss("envelope without a protocol version");
  if (envelope.version() > kProtocolVersion) {
    return Status::InvalidArgument("protocol version " + std::to_string(envelope.version()) +
                                   " is newer than " + std::to_string(kProtocolVersion));
  }
  if (envelope.body_case() == feedcrawl::v1::Envelope::BODY_NOT_SET) {
    return Status::DataLoss("envelope without a body");
  }
  return envelope;
}

const char* OutcomeName(feedcrawl::v1::Outcome outcome) {
  using feedcrawl::v1::Outcome;
  switch (outcome) {
    case feedcrawl::v1::OUTCOME_OK: return "ok";
    case feedcrawl::v1::OUTCOME_NOT_MODIFIED: return "not_modified";
    case feedcrawl::v1::OUTCOME_HTTP_ERROR: return "http_error";
    case feedcrawl::v1::OUTCOME_DNS_ERROR: return "dns_error";
    case feedcrawl::v1::OUTCOME_CONNECT_ERROR: return "connect_error";
    case feedcrawl::v1::OUTCOME_TLS_ERROR: return "tls_error";
    case feedcrawl::v1::OUTCOME_TIMEOUT: return "timeout";
    case feedcrawl::v1::OUTCOME_TOO_LARGE: return "too_large";
    case feedcrawl::v1::OUTCOME_TOO_MANY_REDIRECTS: return "too_many_redirects";
    case feedcrawl::v1::OUTCOME_NETWORK_ERROR: return "network_error";
    case feedcrawl::v1::OUTCOME_PARSE_ERROR: return "parse_error";
    case feedcrawl::v1::OUTCOME_STORE_ERROR: return "store_error";
    case feedcrawl::v1::OUTCOME_BLOCKED: return "blocked";
    case feedcrawl::v1::OUTCOME_LEASE_EXPIRED: return "lease_expired";
    default: return "unspecified";
  }
}

}  // namespace feedcrawl
