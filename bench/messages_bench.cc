// Encoding and decoding of the envelopes that cross every ZeroMQ hop: the FetchJob the
// coordinator sends, the FetchResult a fetcher sends with its 35 KB body as a second frame, and
// the JobReport a processor sends back. Figures are per message; the FetchResult cases count the
// body in their bytes/s because that is what a stage moves per job.
#include <benchmark/benchmark.h>

#include <string>
#include <utility>

#include "common/messages.h"
#include "common/wire.h"

namespace feedcrawl {
namespace {

constexpr size_t kBodyBytes = 35 << 10;

v1::FetchJob SampleJob() {
  v1::FetchJob job;
  job.set_job_id(1'234'567'890'123);
  job.set_feed_id(987'654);
  job.set_url("http://127.0.0.1:39017/f/04217.xml");
  job.set_etag("\"665f1c2a-8c3b\"");
  job.set_last_modified("Tue, 04 Jun 2024 13:37:46 GMT");
  job.set_attempt(1);
  job.set_max_body_bytes(10 << 20);
  job.set_connect_timeout_ms(10'000);
  job.set_total_timeout_ms(30'000);
  job.set_max_redirects(5);
  job.set_dispatched_at_ms(1'717'508'266'123);
  return job;
}

v1::Envelope JobEnvelope() {
  v1::Envelope envelope;
  *envelope.mutable_job() = SampleJob();
  return envelope;
}

v1::Envelope ResultEnvelope() {
  v1::Envelope envelope;
  v1::FetchResult* result = envelope.mutable_result();
  *result->mutable_job() = SampleJob();
  result->set_outcome(v1::OUTCOME_OK);
  result->set_http_status(200);
  result->set_etag("\"665f1c2a-8c3b\"");
  result->set_last_modified("Tue, 04 Jun 2024 13:37:46 GMT");
  result->set_content_type("application/rss+xml; charset=utf-8");
  result->set_effective_url("http://127.0.0.1:39017/f/04217.xml");
  result->set_body_bytes(kBodyBytes);
  result->set_fetched_at_ms(1'717'508'266'140);
  result->set_total_time_ms(17);
  result->set_fetcher_id("fetcher-1-4242");
  return envelope;
}

v1::Envelope ReportEnvelope() {
  v1::Envelope envelope;
  v1::JobReport* report = envelope.mutable_report();
  report->set_job_id(1'234'567'890'123);
  report->set_feed_id(987'654);
  report->set_outcome(v1::OUTCOME_OK);
  report->set_http_status(200);
  report->set_etag("\"665f1c2a-8c3b\"");
  report->set_last_modified("Tue, 04 Jun 2024 13:37:46 GMT");
  report->set_new_items(20);
  report->set_total_items(20);
  report->set_parsed_items(20);
  report->set_feed_title("Журнал «Пример» — weekly notes");
  report->set_format("rss20");
  report->set_effective_url("http://127.0.0.1:39017/f/04217.xml");
  report->set_fetched_at_ms(1'717'508'266'140);
  report->set_body_bytes(kBodyBytes);
  report->set_processor_id("processor-1-4243");
  report->set_ttl_minutes(60);
  return envelope;
}

std::string Body() {
  std::string body;
  body.reserve(kBodyBytes);
  while (body.size() < kBodyBytes) body += "<item><title>Ünïcödé ✓</title><link>x</link></item>\n";
  body.resize(kBodyBytes);
  return body;
}

void BM_FetchJobEncode(benchmark::State& state) {
  const v1::Envelope envelope = JobEnvelope();
  for (auto _ : state) {
    std::string bytes = EncodeEnvelope(envelope);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FetchJobEncode);

void BM_FetchJobDecode(benchmark::State& state) {
  const std::string bytes = EncodeEnvelope(JobEnvelope());
  for (auto _ : state) {
    auto envelope = DecodeEnvelope(bytes);
    if (!envelope.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(envelope);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FetchJobDecode);

// What the fetcher does per finished transfer: encode the header and move the body in as the
// second frame (no copy of the body at this step).
void BM_FetchResultEncode(benchmark::State& state) {
  const v1::Envelope envelope = ResultEnvelope();
  std::string body = Body();
  for (auto _ : state) {
    WireMessage message;
    message.frames.reserve(2);
    message.frames.push_back(EncodeEnvelope(envelope));
    message.frames.push_back(std::move(body));
    benchmark::DoNotOptimize(message);
    body = std::move(message.frames[1]);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kBodyBytes));
}
BENCHMARK(BM_FetchResultEncode);

// The same message when the body is copied once into the frame, as a receive or a send through
// a copying API does: the cost the separate frame avoids paying more than once.
void BM_FetchResultEncodeCopyingBody(benchmark::State& state) {
  const v1::Envelope envelope = ResultEnvelope();
  const std::string body = Body();
  for (auto _ : state) {
    WireMessage message;
    message.frames.reserve(2);
    message.frames.push_back(EncodeEnvelope(envelope));
    message.frames.push_back(body);
    benchmark::DoNotOptimize(message);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kBodyBytes));
}
BENCHMARK(BM_FetchResultEncodeCopyingBody);

void BM_FetchResultDecode(benchmark::State& state) {
  const std::string header = EncodeEnvelope(ResultEnvelope());
  for (auto _ : state) {
    auto envelope = DecodeEnvelope(header);
    if (!envelope.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(envelope);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kBodyBytes));
}
BENCHMARK(BM_FetchResultDecode);

void BM_JobReportEncode(benchmark::State& state) {
  const v1::Envelope envelope = ReportEnvelope();
  for (auto _ : state) {
    std::string bytes = EncodeEnvelope(envelope);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JobReportEncode);

void BM_JobReportDecode(benchmark::State& state) {
  const std::string bytes = EncodeEnvelope(ReportEnvelope());
  for (auto _ : state) {
    auto envelope = DecodeEnvelope(bytes);
    if (!envelope.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(envelope);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JobReportDecode);

}  // namespace
}  // namespace feedcrawl

BENCHMARK_MAIN();
