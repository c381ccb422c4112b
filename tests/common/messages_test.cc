#include "common/messages.h"

#include <gtest/gtest.h>

#include <string>

namespace feedcrawl {
namespace {

using feedcrawl::v1::Envelope;

TEST(MessagesTest, RoundTripsAJob) {
  Envelope envelope;
  auto* job = envelope.mutable_job();
  job->set_job_id(77);
  job->set_feed_id(5);
  job->set_url("https://example.org/feed.xml");
  job->set_etag("\"abc\"");
  job->set_max_body_bytes(1 << 20);
  const std::string bytes = EncodeEnvelope(envelope);

  StatusOr<Envelope> decoded = DecodeEnvelope(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->version(), kProtocolVersion);
  ASSERT_EQ(decoded->body_case(), Envelope::kJob);
  EXPECT_EQ(decoded->job().job_id(), 77u);
  EXPECT_EQ(decoded->job().feed_id(), 5u);
  EXPECT_EQ(decoded->job().url(), "https://example.org/feed.xml");
  EXPECT_EQ(decoded->job().etag(), "\"abc\"");
  EXPECT_EQ(decoded->job().max_body_bytes(), 1u << 20);
}

TEST(MessagesTest, RoundTripsAReport) {
  Envelope envelope;
  auto* report = envelope.mutable_report();
  report->set_job_id(9);
  report->set_outcome(feedcrawl::v1::OUTCOME_NOT_MODIFIED);
  report->set_http_status(304);
  report->set_feed_title("Caf\xc3\xa9 news");
  StatusOr<Envelope> decoded = DecodeEnvelope(EncodeEnvelope(envelope));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->body_case(), Envelope::kReport);
  EXPECT_EQ(decoded->report().outcome(), feedcrawl::v1::OUTCOME_NOT_MODIFIED);
  EXPECT_EQ(decoded->report().http_status(), 304);
  EXPECT_EQ(decoded->report().feed_title(), "Caf\xc3\xa9 news");
}

TEST(MessagesTest, EncodeStampsTheCurrentVersion) {
  Envelope envelope;
  envelope.set_version(99);  // whatever the caller put there
  envelope.mutable_credit()->set_slots(3);
  StatusOr<Envelope> decoded = DecodeEnvelope(EncodeEnvelope(envelope));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->version(), kProtocolVersion);
  EXPECT_EQ(decoded->credit().slots(), 3u);
}

TEST(MessagesTest, AcceptsAnOlderOrEqualVersion) {
  Envelope envelope;
  envelope.set_version(1);
  envelope.mutable_heartbeat()->set_worker_id("f-1");
  StatusOr<Envelope> decoded = DecodeEnvelope(envelope.SerializeAsString());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->heartbeat().worker_id(), "f-1");
}

TEST(MessagesTest, RefusesANewerVersion) {
  Envelope envelope;
  envelope.set_version(kProtocolVersion + 1);
  envelope.mutable_credit()->set_slots(1);
  StatusOr<Envelope> decoded = DecodeEnvelope(envelope.SerializeAsString());
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("newer"), std::string::npos);
}

TEST(MessagesTest, RefusesGarbage) {
  // An unterminated varint, an invalid wire type, and plain text.
  for (const std::string& bytes :
       {std::string("\xff\xff\xff\xff\xff", 5), std::string("\x0f\x01", 2),
        std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    StatusOr<Envelope> decoded = DecodeEnvelope(bytes);
    EXPECT_FALSE(decoded.ok()) << "accepted " << bytes.size() << " garbage bytes";
  }
}

TEST(MessagesTest, RefusesEmptyInputAndEmptyBody) {
  EXPECT_EQ(DecodeEnvelope("").status().code(), StatusCode::kDataLoss);

  Envelope no_body;
  no_body.set_version(kProtocolVersion);
  StatusOr<Envelope> decoded = DecodeEnvelope(no_body.SerializeAsString());
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kDataLoss);

  Envelope no_version;
  no_version.mutable_credit()->set_slots(1);
  EXPECT_EQ(DecodeEnvelope(no_version.SerializeAsString()).status().code(), StatusCode::kDataLoss);
}

TEST(MessagesTest, ReportForCopiesTheResultAndKeepsValidatorsOnlyFromA304) {
  v1::FetchResult result;
  result.mutable_job()->set_job_id(7);
  result.mutable_job()->set_feed_id(3);
  result.set_outcome(v1::OUTCOME_NOT_MODIFIED);
  result.set_http_status(304);
  result.set_etag("\"v2\"");
  result.set_last_modified("Fri, 04 Dec 2026 08:00:00 GMT");
  result.set_effective_url("https://example.org/feed");
  result.set_fetched_at_ms(1234);
  result.set_cache_control("max-age=600");
  result.set_retry_after("120");
  result.set_redirects(1);
  v1::JobReport report = ReportFor(result);
  EXPECT_EQ(report.job_id(), 7u);
  EXPECT_EQ(report.feed_id(), 3u);
  EXPECT_EQ(report.outcome(), v1::OUTCOME_NOT_MODIFIED);
  EXPECT_EQ(report.http_status(), 304);
  EXPECT_EQ(report.etag(), "\"v2\"");
  EXPECT_EQ(report.last_modified(), "Fri, 04 Dec 2026 08:00:00 GMT");
  EXPECT_EQ(report.effective_url(), "https://example.org/feed");
  EXPECT_EQ(report.fetched_at_ms(), 1234);
  EXPECT_EQ(report.cache_control(), "max-age=600");
  EXPECT_EQ(report.retry_after(), "120");
  EXPECT_EQ(report.redirects(), 1u);

  // A failure's validators say nothing about the stored document: they are not kept.
  result.set_outcome(v1::OUTCOME_HTTP_ERROR);
  result.set_http_status(503);
  result.set_error("HTTP 503");
  report = ReportFor(result);
  EXPECT_EQ(report.outcome(), v1::OUTCOME_HTTP_ERROR);
  EXPECT_EQ(report.error(), "HTTP 503");
  EXPECT_TRUE(report.etag().empty());
  EXPECT_TRUE(report.last_modified().empty());
}

TEST(MessagesTest, NamesOutcomes) {
  EXPECT_STREQ(OutcomeName(feedcrawl::v1::OUTCOME_OK), "ok");
  EXPECT_STREQ(OutcomeName(feedcrawl::v1::OUTCOME_NOT_MODIFIED), "not_modified");
  EXPECT_STREQ(OutcomeName(feedcrawl::v1::OUTCOME_TIMEOUT), "timeout");
  EXPECT_STREQ(OutcomeName(feedcrawl::v1::OUTCOME_LEASE_EXPIRED), "lease_expired");
  EXPECT_STREQ(OutcomeName(feedcrawl::v1::OUTCOME_UNSPECIFIED), "unspecified");
}

}  // namespace
}  // namespace feedcrawl
