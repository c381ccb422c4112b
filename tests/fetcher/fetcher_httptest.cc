// The fetcher's event loop against real ZeroMQ sockets: the test plays the coordinator (ROUTER)
// and the processors (PULL), and a real HTTP server on 127.0.0.1 serves the feeds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "common/messages.h"
#include "tests/support/status_matchers.h"
#include "fetcher/fetcher.h"
#include "tests/fetcher/feed_server.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

namespace v1 = feedcrawl::v1;
using test::FeedServer;
using test::kFeedBody;

constexpr char kWorkerId[] = "fetcher-under-test";
// Upper bound for anything the test waits for; reaching it means the behaviour is missing.
constexpr int kPatienceMs = 5000;

int64_t NowMs() { return SystemClock::Instance().MonotonicMs(); }

struct Result {
  v1::FetchResult result;
  std::string body;
  size_t frames = 0;
};

class FetcherTest : public ::testing::Test {
 protected:
  void SetUp() override { Bind(SocketOptions()); }

  void TearDown() override {
    if (fetcher_ != nullptr) Stop();
  }

  // Re-creates the PULL socket with other limits (for back-pressure).
  void Bind(const SocketOptions& pull_options) {
    control_.reset();
    results_.reset();
    SocketOptions router_options;
    auto router = Socket::Create(context_, SocketKind::kRouter, router_options);
    ASSERT_TRUE(router.ok()) << router.status().ToString();
    control_ = std::move(router).value();
    ASSERT_TRUE(control_->Bind("tcp://127.0.0.1:*").ok());
    auto pull = Socket::Create(context_, SocketKind::kPull, pull_options);
    ASSERT_TRUE(pull.ok()) << pull.status().ToString();
    results_ = std::move(pull).value();
    ASSERT_TRUE(results_->Bind("tcp://127.0.0.1:*").ok());
  }

  FetcherOptions Options() const {
    FetcherOptions options;
    options.control_endpoint = control_->LastEndpoint();
    options.results_endpoint = results_->LastEndpoint();
    options.worker_id = kWorkerId;
    options.concurrency = 4;
    options.heartbeat_ms = 1000;
    options.drain_ms = 1000;
    options.http.allow_private_networks = true;  // the feed server is on loopback
    options.http.proxy = "";
    return options;
  }

  void Start(const FetcherOptions& options) {
    fetcher_ = std::make_unique<Fetcher>(options, context_);
    thread_ = std::thread([this] { run_status_ = fetcher_->Run(); });
  }

  void Stop() {
    fetcher_->RequestStop();
    thread_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
    fetcher_.reset();
  }

  // Next control message from the fetcher, or nullopt after `timeout_ms`.
  std::optional<v1::Envelope> NextControl(int timeout_ms = kPatienceMs,
                                          bool skip_heartbeats = true) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (true) {
      auto message = control_->TryRecv();
      EXPECT_TRUE(message.ok());
      if (!message.ok()) return std::nullopt;
      if (message->has_value()) {
        EXPECT_EQ((*message)->peer, kWorkerId);
        EXPECT_EQ((*message)->frames.size(), 1u);
        auto envelope = DecodeEnvelope((*message)->frames.at(0));
        EXPECT_TRUE(envelope.ok()) << envelope.status().ToString();
        if (!envelope.ok()) return std::nullopt;
        if (skip_heartbeats && envelope->has_heartbeat()) continue;
        return std::move(envelope).value();
      }
      const int64_t left = deadline - NowMs();
      if (left <= 0) return std::nullopt;
      (void)PollReadable({control_.get()}, static_cast<int>(std::min<int64_t>(left, 50)));
    }
  }

  // Skips control messages until one of the wanted kind arrives.
  std::optional<v1::Envelope> Expect(v1::Envelope::BodyCase kind, int timeout_ms = kPatienceMs) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (true) {
      auto envelope = NextControl(static_cast<int>(std::max<int64_t>(deadline - NowMs(), 0)),
                                  kind != v1::Envelope::kHeartbeat);
      if (!envelope.has_value()) return std::nullopt;
      if (envelope->body_case() == kind) return envelope;
    }
  }

  // Processors that never read (a PULL with room for one message) and this test acting as the
  // coordinator: 1 MiB jobs, one per credit but `spare` credits kept back, until the credit
  // dries up because the socket buffers are full and the fetcher holds finished bodies.
  // Returns how many jobs were sent (ids 1 to n), nullopt if the credit kept flowing; `credit`
  // is left with the credits kept back.
  std::optional<uint64_t> FillWithUnreadBodies(uint32_t concurrency, int64_t spare,
                                               int64_t& credit) {
    SocketOptions tiny;
    tiny.recv_hwm = 1;
    Bind(tiny);
    FetcherOptions options = Options();
    options.concurrency = concurrency;
    options.results_send_hwm = 1;
    Start(options);
    credit = Handshake();
    constexpr uint64_t kMaxJobs = 400;
    uint64_t sent = 0;
    while (sent < kMaxJobs) {
      while (credit > spare) {
        SendJob(++sent, "/body?size=1048576");
        --credit;
      }
      auto envelope = Expect(v1::Envelope::kCredit, 500);
      if (!envelope.has_value()) return sent;
      credit += envelope->credit().slots();
    }
    ADD_FAILURE() << "credit kept flowing for " << sent << " jobs of 1 MiB";
    return std::nullopt;
  }

  std::optional<Result> NextResult(int timeout_ms = kPatienceMs) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (true) {
      auto message = results_->TryRecv();
      EXPECT_TRUE(message.ok());
      if (!message.ok()) return std::nullopt;
      if (message->has_value()) {
        // Every result must pass the check a processor runs on what it receives.
        StatusOr<InboundMessage> inbound =
            DecodeInbound(InboundSocket::kProcessorResults, (*message)->frames);
        EXPECT_TRUE(inbound.ok()) << inbound.status().ToString();
        Result out;
        out.frames = (*message)->frames.size();
        auto envelope = DecodeEnvelope((*message)->frames.at(0));
        EXPECT_TRUE(envelope.ok() && envelope->has_result());
        if (!envelope.ok()) return std::nullopt;
        out.result = envelope->result();
        if (out.frames > 1) out.body = (*message)->frames[1];
        return out;
      }
      const int64_t left = deadline - NowMs();
      if (left <= 0) return std::nullopt;
      (void)PollReadable({results_.get()}, static_cast<int>(std::min<int64_t>(left, 50)));
    }
  }

  void Send(const v1::Envelope& envelope) { SendRaw({EncodeEnvelope(envelope)}); }

  void SendRaw(std::vector<std::string> frames) {
    WireMessage message;
    message.peer = kWorkerId;
    message.frames = std::move(frames);
    ASSERT_TRUE(control_->Send(message, /*dont_wait=*/false).ok());
  }

  void SendJob(uint64_t job_id, const std::string& path, const std::string& body_digest = "") {
    v1::Envelope envelope;
    v1::FetchJob* job = envelope.mutable_job();
    job->set_job_id(job_id);
    job->set_feed_id(job_id * 10);
    job->set_url(server_.Url(path));
    job->set_body_digest(body_digest);
    Send(envelope);
  }

  // Waits for Hello and the first Credit; returns the credit's slots.
  uint32_t Handshake() {
    auto hello = NextControl();
    EXPECT_TRUE(hello.has_value() && hello->has_hello());
    auto credit = NextControl();
    EXPECT_TRUE(credit.has_value() && credit->has_credit());
    return credit.has_value() ? credit->credit().slots() : 0;
  }

  template <typename Predicate>
  bool WaitFor(Predicate predicate, int timeout_ms = kPatienceMs) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (!predicate()) {
      if (NowMs() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  FeedServer server_;
  WireContext context_;
  std::unique_ptr<Socket> control_;
  std::unique_ptr<Socket> results_;
  std::unique_ptr<Fetcher> fetcher_;
  std::thread thread_;
  Status run_status_;
};

TEST_F(FetcherTest, SaysHelloThenGrantsCreditForEverySlot) {
  Start(Options());
  auto hello = NextControl();
  ASSERT_TRUE(hello.has_value());
  ASSERT_TRUE(hello->has_hello());
  EXPECT_EQ(hello->hello().role(), v1::ROLE_FETCHER);
  EXPECT_EQ(hello->hello().worker_id(), kWorkerId);
  EXPECT_EQ(hello->hello().capacity(), 4u);
  EXPECT_EQ(hello->hello().pid(), static_cast<uint32_t>(getpid()));
  EXPECT_FALSE(hello->hello().hostname().empty());
  auto credit = NextControl();
  ASSERT_TRUE(credit.has_value());
  ASSERT_TRUE(credit->has_credit());
  EXPECT_EQ(credit->credit().slots(), 4u);
}

TEST_F(FetcherTest, JobGivesTwoFrameResultThenOneCredit) {
  Start(Options());
  ASSERT_EQ(Handshake(), 4u);
  SendJob(7, "/feed.xml");
  auto result = NextResult();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->frames, 2u);
  EXPECT_EQ(result->result.outcome(), v1::OUTCOME_OK) << result->result.error();
  EXPECT_EQ(result->result.job().job_id(), 7u);
  EXPECT_EQ(result->result.job().feed_id(), 70u);
  EXPECT_EQ(result->result.fetcher_id(), kWorkerId);
  EXPECT_EQ(result->body, kFeedBody);
  EXPECT_EQ(result->result.body_bytes(), result->body.size());
  auto credit = NextControl();
  ASSERT_TRUE(credit.has_value());
  ASSERT_TRUE(credit->has_credit());
  EXPECT_EQ(credit->credit().slots(), 1u);
}

TEST_F(FetcherTest, FreedSlotsAreOfferedInBatches) {
  FetcherOptions options = Options();
  options.concurrency = 32;            // a batch is two slots
  options.credit_delay_ms = 600'000;   // a lone freed slot waits for company
  Start(options);
  ASSERT_EQ(Handshake(), 32u);
  SendJob(1, "/feed.xml");
  ASSERT_TRUE(NextResult().has_value());
  EXPECT_FALSE(Expect(v1::Envelope::kCredit, 300).has_value()) << "one slot offered alone";
  SendJob(2, "/feed.xml");
  ASSERT_TRUE(NextResult().has_value());
  auto credit = Expect(v1::Envelope::kCredit);
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->credit().slots(), 2u);
}

TEST_F(FetcherTest, ALoneFreedSlotIsOfferedAfterTheDelay) {
  FetcherOptions options = Options();
  options.concurrency = 32;
  options.credit_delay_ms = 50;
  Start(options);
  ASSERT_EQ(Handshake(), 32u);
  SendJob(1, "/feed.xml");
  ASSERT_TRUE(NextResult().has_value());
  auto credit = Expect(v1::Envelope::kCredit);
  ASSERT_TRUE(credit.has_value());
  EXPECT_EQ(credit->credit().slots(), 1u);
  // The counter moves once the Credit is sent, a moment after it can be read here.
  EXPECT_TRUE(WaitFor([&] { return fetcher_->Stats().credits_granted == 33u; }));
}

TEST_F(FetcherTest, BoundResultsSocketServesEveryProcessorThatConnects) {
  // The direct data plane: the fetcher binds, two processors connect and share the results.
  testing::TempDir dir;
  FetcherOptions options = Options();
  options.results_bind = "ipc://" + dir.File("results.sock");
  results_.reset();
  std::unique_ptr<Socket> processors[2];
  for (auto& processor : processors) {
    auto pull = Socket::Create(context_, SocketKind::kPull, SocketOptions());
    ASSERT_OK(pull.status());
    processor = std::move(*pull);
    ASSERT_OK(processor->Connect(options.results_bind));
  }
  Start(options);
  ASSERT_EQ(Handshake(), 4u);
  // One job at a time until both processors were served (their connections come up
  // asynchronously); every result arrives once, at one of them.
  std::set<uint64_t> jobs;
  size_t served[2] = {0, 0};
  uint64_t sent = 0;
  while ((served[0] == 0 || served[1] == 0) && sent < 50) {
    SendJob(++sent, "/feed.xml");
    const int64_t deadline = NowMs() + kPatienceMs;
    bool received = false;
    while (!received && NowMs() < deadline) {
      (void)PollReadable({processors[0].get(), processors[1].get()}, 50);
      for (int i = 0; i < 2; ++i) {
        auto message = processors[i]->TryRecv();
        ASSERT_OK(message.status());
        if (!message->has_value()) continue;
        ASSERT_OK(DecodeInbound(InboundSocket::kProcessorResults, (*message)->frames).status());
        ASSERT_EQ((*message)->frames.size(), 2u);
        EXPECT_EQ((*message)->frames[1], kFeedBody);
        auto envelope = DecodeEnvelope((*message)->frames[0]);
        ASSERT_OK(envelope.status());
        EXPECT_EQ(envelope->result().job().job_id(), sent);
        EXPECT_TRUE(jobs.insert(envelope->result().job().job_id()).second);
        ++served[i];
        received = true;
      }
    }
    ASSERT_TRUE(received) << "no processor received job " << sent;
  }
  EXPECT_EQ(jobs.size(), sent);
  // PUSH deals round-robin over the connected processors.
  EXPECT_GT(served[0], 0u);
  EXPECT_GT(served[1], 0u);
}

TEST_F(FetcherTest, BoundResultsSocketIsRefusedWithCurve) {
  FetcherOptions options = Options();
  options.results_bind = "tcp://127.0.0.1:*";
  StatusOr<CurveKeyPair> keys = MakeCurveKeyPair();
  if (!keys.ok()) GTEST_SKIP() << "this libzmq has no CURVE";
  options.security.secret_key = keys->secret_key;
  options.security.public_key = keys->public_key;
  options.security.server_public_key = keys->public_key;
  Fetcher fetcher(options, context_);
  Status status = fetcher.Run();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find("CURVE"), std::string::npos) << status.ToString();
}

TEST_F(FetcherTest, FailedFetchIsReportedToTheCoordinatorNotToProcessors) {
  Start(Options());
  Handshake();
  SendJob(8, "/status/404");
  auto report = Expect(v1::Envelope::kReport);
  ASSERT_TRUE(report.has_value());
  EXPECT_OK(ValidateBody(*report));  // the coordinator's receive check
  EXPECT_EQ(report->report().job_id(), 8u);
  EXPECT_EQ(report->report().outcome(), v1::OUTCOME_HTTP_ERROR);
  EXPECT_EQ(report->report().http_status(), 404);
  EXPECT_NE(report->report().error().find("404"), std::string::npos) << report->report().error();
  EXPECT_FALSE(NextResult(200).has_value());
}

TEST_F(FetcherTest, UnchangedBodyIsReportedAsNotModifiedWithoutGoingToProcessors) {
  Start(Options());
  Handshake();
  SendJob(1, "/body?size=3000");
  auto first = NextResult();
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(first->body.size(), 3000u);
  SendJob(2, "/body?size=3000", first->result.body_digest());
  auto again = Expect(v1::Envelope::kReport);
  ASSERT_TRUE(again.has_value());
  EXPECT_OK(ValidateBody(*again));
  EXPECT_EQ(again->report().job_id(), 2u);
  EXPECT_EQ(again->report().outcome(), v1::OUTCOME_NOT_MODIFIED);
  EXPECT_EQ(again->report().http_status(), 200);
  EXPECT_EQ(again->report().body_bytes(), 0u);
  EXPECT_FALSE(NextResult(200).has_value());
}

TEST_F(FetcherTest, ManyJobsNeverExceedTheCredit) {
  FetcherOptions options = Options();
  options.concurrency = 4;
  Start(options);
  int64_t credit = Handshake();
  constexpr uint64_t kJobs = 40;
  uint64_t sent = 0;
  std::set<uint64_t> finished;
  const int64_t deadline = NowMs() + 4 * kPatienceMs;
  while (finished.size() < kJobs && NowMs() < deadline) {
    // Like the coordinator: one job per credit, never more.
    while (credit > 0 && sent < kJobs) {
      SendJob(++sent, "/feed.xml?delay_ms=20");
      --credit;
    }
    const FetcherStats stats = fetcher_->Stats();
    EXPECT_LE(stats.active + stats.pending_results, 4u);
    while (auto result = NextResult(5)) {
      EXPECT_EQ(result->result.outcome(), v1::OUTCOME_OK);
      EXPECT_TRUE(finished.insert(result->result.job().job_id()).second);
    }
    while (auto envelope = NextControl(5)) {
      if (envelope->has_credit()) credit += envelope->credit().slots();
    }
    // Credit held by the coordinator plus jobs in the fetcher never exceed the slots.
    EXPECT_LE(credit, 4);
  }
  EXPECT_EQ(finished.size(), kJobs);
  EXPECT_EQ(fetcher_->Stats().jobs_received, kJobs);
}

TEST_F(FetcherTest, SlowProcessorsStopTheCredit) {
  // 1 MiB results soon fill the socket buffers, then the fetcher holds finished results and must
  // stop asking for work.
  int64_t credit = 0;
  const std::optional<uint64_t> filled = FillWithUnreadBodies(2, 0, credit);
  ASSERT_TRUE(filled.has_value());
  const uint64_t sent = *filled;
  const FetcherStats stats = fetcher_->Stats();
  EXPECT_EQ(stats.pending_results, 2u);
  EXPECT_EQ(stats.active, 0u);
  EXPECT_EQ(stats.credits_granted, sent);  // every credit was used: none left to send work with

  // Processors catch up: every result arrives and credit flows again.
  uint64_t results = 0;
  while (results < sent) {
    auto result = NextResult();
    ASSERT_TRUE(result.has_value()) << results << " of " << sent;
    EXPECT_EQ(result->result.outcome(), v1::OUTCOME_OK);
    ++results;
  }
  auto resumed = Expect(v1::Envelope::kCredit);
  ASSERT_TRUE(resumed.has_value());
  EXPECT_GE(resumed->credit().slots(), 1u);
}

TEST_F(FetcherTest, AReportDoesNotWaitBehindBodiesTheProcessorsHaveNoRoomFor) {
  // Bodies fill every buffer on the way, and the fetcher holds the rest; one slot is kept back
  // for the failure.
  int64_t credit = 0;
  const std::optional<uint64_t> filled = FillWithUnreadBodies(8, 1, credit);
  ASSERT_TRUE(filled.has_value());
  const uint64_t sent = *filled;
  ASSERT_GE(fetcher_->Stats().pending_results, 1u);
  ASSERT_EQ(credit, 1);
  // A failure behind them reaches the coordinator at once, and frees its slot.
  const uint64_t failing = sent + 1;
  SendJob(failing, "/status/404");
  auto report = Expect(v1::Envelope::kReport);
  ASSERT_TRUE(report.has_value()) << "the report waited behind the bodies";
  EXPECT_EQ(report->report().job_id(), failing);
  EXPECT_EQ(report->report().outcome(), v1::OUTCOME_HTTP_ERROR);
  // The bodies still arrive, each once, when processors catch up.
  std::set<uint64_t> bodies;
  while (bodies.size() < sent) {
    auto result = NextResult();
    ASSERT_TRUE(result.has_value()) << bodies.size() << " of " << sent << " bodies";
    EXPECT_TRUE(bodies.insert(result->result.job().job_id()).second);
    EXPECT_EQ(result->body.size(), 1048576u);
  }
}

TEST_F(FetcherTest, StopLetsTransfersFinishThenSaysGoodbye) {
  FetcherOptions options = Options();
  options.drain_ms = kPatienceMs;
  Start(options);
  Handshake();
  SendJob(1, "/slow?ms=300");
  ASSERT_TRUE(WaitFor([&] { return fetcher_->Stats().active == 1; }));
  fetcher_->RequestStop();
  auto result = NextResult();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->result.outcome(), v1::OUTCOME_OK);
  auto goodbye = Expect(v1::Envelope::kGoodbye);
  ASSERT_TRUE(goodbye.has_value());
  EXPECT_EQ(goodbye->goodbye().worker_id(), kWorkerId);
  EXPECT_EQ(goodbye->goodbye().returned_job_ids_size(), 0);
  Stop();
}

TEST_F(FetcherTest, GoodbyeReturnsUnfinishedAndLateJobs) {
  FetcherOptions options = Options();
  options.drain_ms = 1000;
  Start(options);
  Handshake();
  SendJob(1, "/hold");  // never answers within the drain time
  SendJob(2, "/feed.xml");
  auto result = NextResult();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->result.job().job_id(), 2u);
  ASSERT_TRUE(WaitFor([&] { return fetcher_->Stats().active == 1; }));
  fetcher_->RequestStop();
  SendJob(3, "/feed.xml");  // arrives while draining: handed back unstarted
  auto goodbye = Expect(v1::Envelope::kGoodbye);
  ASSERT_TRUE(goodbye.has_value());
  const std::set<uint64_t> returned(goodbye->goodbye().returned_job_ids().begin(),
                                    goodbye->goodbye().returned_job_ids().end());
  EXPECT_EQ(returned, (std::set<uint64_t>{1, 3}));
  Stop();
  EXPECT_FALSE(NextResult(200).has_value()) << "no result for a returned job";
  server_.ReleaseHeld();
}

TEST_F(FetcherTest, GarbageOnTheControlSocketIsDropped) {
  Start(Options());
  Handshake();
  SendRaw({"garbage"});
  SendRaw({""});
  SendRaw({"\x0a\x03xyz", "more", "frames"});
  v1::Envelope newer;
  newer.mutable_credit()->set_slots(1);
  newer.set_version(kProtocolVersion + 1);
  SendRaw({newer.SerializeAsString()});
  v1::Envelope unexpected;
  unexpected.mutable_goodbye()->set_worker_id("nobody");
  Send(unexpected);
  SendJob(5, "/feed.xml");
  auto result = NextResult();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->result.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(fetcher_->Stats().dropped_messages, 5u);
}

TEST_F(FetcherTest, HeartbeatsReportCounters) {
  FetcherOptions options = Options();
  options.heartbeat_ms = 50;
  Start(options);
  Handshake();
  SendJob(1, "/status/500");
  ASSERT_TRUE(Expect(v1::Envelope::kReport).has_value());
  // The first heartbeat after the report was sent shows it.
  std::optional<v1::Envelope> heartbeat;
  ASSERT_TRUE(WaitFor([&] {
    heartbeat = Expect(v1::Envelope::kHeartbeat);
    return heartbeat.has_value() && heartbeat->heartbeat().processed() == 1;
  }));
  EXPECT_EQ(heartbeat->heartbeat().role(), v1::ROLE_FETCHER);
  EXPECT_EQ(heartbeat->heartbeat().worker_id(), kWorkerId);
  EXPECT_EQ(heartbeat->heartbeat().errors(), 1u);
  EXPECT_EQ(heartbeat->heartbeat().active(), 0u);
  EXPECT_EQ(heartbeat->heartbeat().free_slots(), 4u);
}

TEST_F(FetcherTest, NewCoordinatorEpochGetsHelloAndFullCredit) {
  Start(Options());
  Handshake();
  v1::Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_coordinator_epoch(11);
  Send(heartbeat);
  heartbeat.mutable_heartbeat()->set_coordinator_epoch(12);
  Send(heartbeat);
  auto hello = NextControl();
  ASSERT_TRUE(hello.has_value());
  EXPECT_TRUE(hello->has_hello());
  auto credit = NextControl();
  ASSERT_TRUE(credit.has_value());
  ASSERT_TRUE(credit->has_credit());
  EXPECT_EQ(credit->credit().slots(), 4u);
  EXPECT_EQ(fetcher_->Stats().hellos_sent, 2u);
}

TEST_F(FetcherTest, SilentCoordinatorGetsHelloAgain) {
  FetcherOptions options = Options();
  options.heartbeat_ms = 40;
  Start(options);
  Handshake();
  // Nothing is sent to the fetcher: after five heartbeat intervals it says Hello again.
  auto hello = Expect(v1::Envelope::kHello);
  ASSERT_TRUE(hello.has_value());
  auto credit = NextControl();
  ASSERT_TRUE(credit.has_value());
  ASSERT_TRUE(credit->has_credit());
  EXPECT_EQ(credit->credit().slots(), 4u);
}

}  // namespace
}  // namespace feedcrawl
