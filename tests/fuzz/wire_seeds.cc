#include "tests/fuzz/wire_seeds.h"

#include "common/messages.h"
#include "proto/feedcrawl.pb.h"

namespace feedcrawl::fuzz {

namespace {

namespace v1 = feedcrawl::v1;

constexpr char kBody[] =
    "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Seed</title>"
    "<item><title>One</title><link>http://example.com/1</link><guid>1</guid></item>"
    "</channel></rss>";

v1::FetchJob Job() {
  v1::FetchJob job;
  job.set_job_id((uint64_t{3} << 32) | 17);
  job.set_feed_id(42);
  job.set_url("http://example.com/feed.xml");
  job.set_etag("\"v1\"");
  job.set_last_modified("Mon, 01 Jan 2024 00:00:00 GMT");
  job.set_attempt(1);
  job.set_max_body_bytes(1 << 20);
  job.set_connect_timeout_ms(1000);
  job.set_total_timeout_ms(3000);
  job.set_max_redirects(5);
  job.set_dispatched_at_ms(1'700'000'000'000);
  return job;
}

WireSeed One(std::string name, v1::Envelope envelope) {
  return WireSeed{std::move(name), {EncodeEnvelope(std::move(envelope))}};
}

WireSeed Result(std::string name, v1::Outcome outcome, std::string body) {
  v1::Envelope envelope;
  v1::FetchResult* result = envelope.mutable_result();
  *result->mutable_job() = Job();
  result->set_outcome(outcome);
  result->set_http_status(outcome == v1::OUTCOME_NOT_MODIFIED ? 304 : 200);
  result->set_etag("\"v2\"");
  result->set_content_type("application/rss+xml; charset=utf-8");
  result->set_effective_url("http://example.com/feed.xml");
  result->set_body_bytes(body.size());
  result->set_fetched_at_ms(1'700'000'000'500);
  result->set_total_time_ms(12);
  result->set_fetcher_id("fetcher-1");
  return WireSeed{std::move(name), {EncodeEnvelope(std::move(envelope)), std::move(body)}};
}

v1::Envelope Report(v1::Outcome outcome) {
  v1::Envelope envelope;
  v1::JobReport* report = envelope.mutable_report();
  report->set_job_id(Job().job_id());
  report->set_feed_id(Job().feed_id());
  report->set_outcome(outcome);
  report->set_http_status(outcome == v1::OUTCOME_HTTP_ERROR ? 503 : 200);
  report->set_new_items(1);
  report->set_total_items(1);
  report->set_parsed_items(1);
  report->set_feed_title("Seed");
  report->set_format("rss20");
  report->set_processor_id("processor-1");
  report->set_retry_after("120");
  report->set_ttl_minutes(60);
  report->set_skip_hours(0x3);
  report->set_skip_days(0x40);
  report->set_publish_interval_ms(3'600'000);
  return envelope;
}

}  // namespace

std::vector<std::string> SplitFrames(std::string_view input) {
  std::vector<std::string> frames;
  if (input.empty()) return frames;
  while (true) {
    const size_t at = input.find(kFrameSeparator);
    frames.emplace_back(input.substr(0, at));
    if (at == std::string_view::npos) return frames;
    input.remove_prefix(at + kFrameSeparator.size());
  }
}

std::string JoinFrames(const std::vector<std::string>& frames) {
  std::string joined;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (i > 0) joined += kFrameSeparator;
    joined += frames[i];
  }
  return joined;
}

std::vector<WireSeed> ValidWireSeeds() {
  std::vector<WireSeed> seeds;
  for (v1::Role role : {v1::ROLE_FETCHER, v1::ROLE_PROCESSOR}) {
    v1::Envelope envelope;
    v1::Hello* hello = envelope.mutable_hello();
    hello->set_role(role);
    hello->set_worker_id(role == v1::ROLE_FETCHER ? "fetcher-1" : "processor-1");
    hello->set_capacity(64);
    hello->set_hostname("host");
    hello->set_pid(4242);
    seeds.push_back(One(role == v1::ROLE_FETCHER ? "hello-fetcher" : "hello-processor", envelope));
  }
  {
    v1::Envelope envelope;
    envelope.mutable_credit()->set_slots(32);
    seeds.push_back(One("credit", envelope));
  }
  {
    v1::Envelope envelope;
    v1::Heartbeat* beat = envelope.mutable_heartbeat();
    beat->set_role(v1::ROLE_FETCHER);
    beat->set_worker_id("fetcher-1");
    beat->set_active(3);
    beat->set_free_slots(29);
    beat->set_processed(1000);
    beat->set_errors(7);
    seeds.push_back(One("heartbeat-worker", envelope));
  }
  {
    v1::Envelope envelope;
    envelope.mutable_heartbeat()->set_coordinator_epoch(3);
    seeds.push_back(One("heartbeat-coordinator", envelope));
  }
  {
    v1::Envelope envelope;
    v1::Goodbye* goodbye = envelope.mutable_goodbye();
    goodbye->set_worker_id("fetcher-1");
    goodbye->add_returned_job_ids(Job().job_id());
    goodbye->add_returned_job_ids(Job().job_id() + 1);
    seeds.push_back(One("goodbye", envelope));
  }
  {
    v1::Envelope envelope;
    *envelope.mutable_job() = Job();
    seeds.push_back(One("job", envelope));
  }
  seeds.push_back(Result("result-ok", v1::OUTCOME_OK, kBody));
  seeds.push_back(Result("result-not-modified", v1::OUTCOME_NOT_MODIFIED, ""));
  seeds.push_back(Result("result-too-large", v1::OUTCOME_TOO_LARGE, ""));
  seeds.push_back(One("report-ok", Report(v1::OUTCOME_OK)));
  seeds.push_back(One("report-http-error", Report(v1::OUTCOME_HTTP_ERROR)));
  return seeds;
}

std::vector<WireSeed> HostileWireSeeds() {
  std::vector<WireSeed> seeds;
  seeds.push_back({"no-frames", {}});
  seeds.push_back({"empty-frame", {""}});
  seeds.push_back({"not-protobuf", {"\xff\xfe not a protobuf"}});
  {
    v1::Envelope envelope;
    envelope.mutable_credit()->set_slots(1);
    envelope.set_version(kProtocolVersion + 1);
    seeds.push_back({"newer-version", {envelope.SerializeAsString()}});
    envelope.set_version(0);
    seeds.push_back({"no-version", {envelope.SerializeAsString()}});
  }
  {
    v1::Envelope envelope;
    envelope.set_version(kProtocolVersion);
    seeds.push_back({"no-body", {envelope.SerializeAsString()}});
  }
  {
    WireSeed job = One("job-extra-frames", [] {
      v1::Envelope envelope;
      *envelope.mutable_job() = Job();
      return envelope;
    }());
    job.frames.push_back("extra");
    job.frames.push_back("");
    seeds.push_back(std::move(job));
  }
  {
    WireSeed result = Result("result-body-mismatch", v1::OUTCOME_OK, kBody);
    result.frames[1].pop_back();
    seeds.push_back(std::move(result));
    WireSeed failed = Result("result-body-with-failure", v1::OUTCOME_TIMEOUT, "");
    failed.frames[1] = "unexpected";
    seeds.push_back(std::move(failed));
    WireSeed lone = Result("result-without-body-frame", v1::OUTCOME_NOT_MODIFIED, "");
    lone.frames.pop_back();
    seeds.push_back(std::move(lone));
  }
  {
    v1::Envelope envelope = Report(v1::OUTCOME_OK);
    envelope.mutable_report()->set_job_id(0);
    seeds.push_back(One("report-zero-job", envelope));
    envelope = Report(v1::OUTCOME_OK);
    envelope.mutable_report()->set_outcome(static_cast<v1::Outcome>(99));
    seeds.push_back(One("report-unknown-outcome", envelope));
    envelope = Report(v1::OUTCOME_OK);
    envelope.mutable_report()->set_publish_interval_ms(INT64_MAX);
    seeds.push_back(One("report-endless-interval", envelope));
    envelope = Report(v1::OUTCOME_OK);
    envelope.mutable_report()->set_publish_interval_ms(-1);
    seeds.push_back(One("report-negative-interval", envelope));
  }
  {
    v1::Envelope envelope;
    envelope.mutable_hello()->set_role(static_cast<v1::Role>(7));
    seeds.push_back(One("hello-unknown-role", envelope));
    envelope.Clear();
    *envelope.mutable_job() = Job();
    envelope.mutable_job()->clear_url();
    seeds.push_back(One("job-without-url", envelope));
  }
  return seeds;
}

}  // namespace feedcrawl::fuzz
