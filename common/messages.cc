#include "common/messages.h"

#include <google/protobuf/stubs/logging.h>

#include <limits>

namespace feedcrawl {

std::string EncodeEnvelope(feedcrawl::v1::Envelope envelope) {
  envelope.set_version(kProtocolVersion);
  return envelope.SerializeAsString();
}

StatusOr<feedcrawl::v1::Envelope> DecodeEnvelope(std::string_view bytes) {
  feedcrawl::v1::Envelope envelope;
  // protobuf logs every string that is not UTF-8: a peer sending such frames in a loop would
  // flood the log. The failed parse is reported to the caller instead, who counts it.
  google::protobuf::LogSilencer quiet;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Status::DataLoss("envelope too large");
  }
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

namespace {

namespace v1 = feedcrawl::v1;

bool Carries(InboundSocket socket, v1::Envelope::BodyCase kind) {
  switch (socket) {
    case InboundSocket::kCoordinatorControl:
      return kind == v1::Envelope::kHello || kind == v1::Envelope::kCredit ||
             kind == v1::Envelope::kHeartbeat || kind == v1::Envelope::kGoodbye ||
             kind == v1::Envelope::kReport;
    case InboundSocket::kFetcherControl:
      return kind == v1::Envelope::kJob || kind == v1::Envelope::kHeartbeat;
    case InboundSocket::kProcessorControl:
      return kind == v1::Envelope::kHeartbeat;
    case InboundSocket::kProcessorResults:
      return kind == v1::Envelope::kResult;
  }
  return false;
}

// Unknown enum numbers survive proto3 parsing as plain integers: refuse them here so no switch
// downstream meets a value it was not written for.
bool IsKnownOutcome(int outcome) {
  return v1::Outcome_IsValid(outcome) && outcome != v1::OUTCOME_UNSPECIFIED;
}

Status ValidateJob(const v1::FetchJob& job) {
  if (job.job_id() == 0 || job.feed_id() == 0) {
    return Status::InvalidArgument("job without a job id or feed id");
  }
  if (job.url().empty()) return Status::InvalidArgument("job without a URL");
  return Status::Ok();
}

Status ValidateResult(const v1::FetchResult& result, std::string_view body) {
  if (!result.has_job()) return Status::InvalidArgument("result without its job");
  if (Status s = ValidateJob(result.job()); !s.ok()) return s;
  if (!IsKnownOutcome(result.outcome())) {
    return Status::InvalidArgument("result with unknown outcome " +
                                   std::to_string(result.outcome()));
  }
  // Only a fetched document travels: a failed fetch has no body to parse.
  if (result.outcome() != v1::OUTCOME_OK && !body.empty()) {
    return Status::InvalidArgument("body frame with a failed outcome");
  }
  if (result.body_bytes() != body.size()) {
    return Status::InvalidArgument("body frame of " + std::to_string(body.size()) +
                                   " bytes, announced " + std::to_string(result.body_bytes()));
  }
  return Status::Ok();
}

Status ValidateReport(const v1::JobReport& report) {
  if (report.job_id() == 0 || report.feed_id() == 0) {
    return Status::InvalidArgument("report without a job id or feed id");
  }
  if (!IsKnownOutcome(report.outcome())) {
    return Status::InvalidArgument("report with unknown outcome " +
                                   std::to_string(report.outcome()));
  }
  if (report.publish_interval_ms() < 0 || report.publish_interval_ms() > kMaxPublishIntervalMs) {
    return Status::InvalidArgument("report with publish interval " +
                                   std::to_string(report.publish_interval_ms()));
  }
  if (report.ttl_minutes() < 0) return Status::InvalidArgument("report with a negative ttl");
  return Status::Ok();
}

}  // namespace

Status ValidateBody(const v1::Envelope& envelope, std::string_view body) {
  switch (envelope.body_case()) {
    case v1::Envelope::kHello:
      if (envelope.hello().role() != v1::ROLE_FETCHER &&
          envelope.hello().role() != v1::ROLE_PROCESSOR) {
        return Status::InvalidArgument("hello with unknown role " +
                                       std::to_string(envelope.hello().role()));
      }
      return Status::Ok();
    case v1::Envelope::kJob:
      return ValidateJob(envelope.job());
    case v1::Envelope::kResult:
      return ValidateResult(envelope.result(), body);
    case v1::Envelope::kReport:
      return ValidateReport(envelope.report());
    case v1::Envelope::BODY_NOT_SET:
      return Status::DataLoss("envelope without a body");
    default:
      return Status::Ok();
  }
}

namespace {

// Frames are std::string or std::string_view.
template <typename Frames>
StatusOr<InboundMessage> DecodeFrames(InboundSocket socket, const Frames& frames) {
  const size_t expected_frames = socket == InboundSocket::kProcessorResults ? 2 : 1;
  if (frames.size() != expected_frames) {
    return Status::InvalidArgument(std::to_string(frames.size()) + " frames, expected " +
                                   std::to_string(expected_frames));
  }
  auto envelope = DecodeEnvelope(frames[0]);
  if (!envelope.ok()) return envelope.status();
  if (!Carries(socket, envelope->body_case())) {
    return Status::InvalidArgument("unexpected message type " +
                                   std::to_string(envelope->body_case()));
  }
  InboundMessage message;
  if (expected_frames == 2) message.body = frames[1];
  if (Status s = ValidateBody(*envelope, message.body); !s.ok()) return s;
  message.envelope = std::move(*envelope);
  return message;
}

}  // namespace

StatusOr<InboundMessage> DecodeInbound(InboundSocket socket,
                                       const std::vector<std::string>& frames) {
  return DecodeFrames(socket, frames);
}

StatusOr<InboundMessage> DecodeInbound(InboundSocket socket,
                                       const std::vector<std::string_view>& frames) {
  return DecodeFrames(socket, frames);
}

v1::JobReport ReportFor(const v1::FetchResult& result) {
  v1::JobReport report;
  report.set_job_id(result.job().job_id());
  report.set_feed_id(result.job().feed_id());
  report.set_outcome(result.outcome());
  report.set_http_status(result.http_status());
  report.set_error(result.error());
  report.set_effective_url(result.effective_url());
  report.set_fetched_at_ms(result.fetched_at_ms());
  report.set_body_bytes(result.body_bytes());
  report.set_cache_control(result.cache_control());
  report.set_expires(result.expires());
  report.set_retry_after(result.retry_after());
  report.set_redirects(result.redirects());
  report.set_permanent_redirect(result.permanent_redirect());
  if (result.outcome() == v1::OUTCOME_NOT_MODIFIED) {
    report.set_etag(result.etag());
    report.set_last_modified(result.last_modified());
  }
  return report;
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
