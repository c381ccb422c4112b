// Processor::Process against a real redis-server: a feed stored before sends only its new items'
// JSON (it first asks which keys the store has), and the counts in its report are the store's.
// Processor::Run with real ZeroMQ sockets: a busy processor still hears the coordinator, and its
// reports, held to leave in bursts, all arrive, at once when it is idle.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/feed_model.h"
#include "common/messages.h"
#include "common/store.h"
#include "common/wire.h"
#include "processor/parser.h"
#include "processor/processor.h"
#include "proto/feedcrawl.pb.h"
#include "tests/support/item_stream.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

using testing::CommandCalls;
using testing::RedisServer;

// An RSS document listing items first..last, newest first; `edited` changes item `edited`'s title.
std::string Rss(int first, int last, int edited = -1) {
  std::string x = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>";
  for (int i = last; i >= first; --i) {
    x += "<item><title>Item " + std::to_string(i) + (i == edited ? " (edited)" : "") +
         "</title><guid isPermaLink=\"false\">item-" + std::to_string(i) +
         "</guid><description>Text of item " + std::to_string(i) + "</description></item>";
  }
  return x + "</channel></rss>";
}

// `items_stored`: the coordinator's count of the feed's stored items, when the job carries it.
v1::FetchResult Result(uint64_t feed_id, const std::string& body, const std::string& last_digest,
                       std::optional<uint64_t> items_stored = std::nullopt) {
  v1::FetchResult result;
  if (items_stored.has_value()) result.mutable_job()->set_items_stored(*items_stored);
  result.mutable_job()->set_job_id(feed_id * 100 + last_digest.size());
  result.mutable_job()->set_feed_id(feed_id);
  result.mutable_job()->set_url("http://127.0.0.1/feed.xml");
  result.mutable_job()->set_body_digest(last_digest);
  result.set_outcome(v1::OUTCOME_OK);
  result.set_http_status(200);
  result.set_content_type("application/rss+xml");
  result.set_body_bytes(body.size());
  result.set_body_digest("digest-of-" + std::to_string(body.size()));
  return result;
}

class ProcessorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, Store::Open(redis_.Url()));
    store->set_item_stream_max_len(Store::kDefaultItemStreamMaxLen);
    ASSERT_OK_AND_ASSIGN(raw_, redis_.Connect());
    processor_ = std::make_unique<Processor>(ProcessorOptions{}, std::move(store), clock_);
  }
  int64_t Integer(const std::vector<std::string>& argv) {
    StatusOr<RedisReply> r = raw_->Command(argv);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->integer : -1;
  }
  // A number of INFO stats, such as total_net_input_bytes (every byte clients sent the server).
  int64_t Stat(const std::string& name) {
    StatusOr<RedisReply> info = raw_->Command({"INFO", "stats"});
    EXPECT_TRUE(info.ok());
    if (!info.ok()) return -1;
    const size_t at = info->str.find(name + ":");
    return at == std::string::npos ? -1 : std::stoll(info->str.substr(at + name.size() + 1));
  }
  int64_t Calls(const std::string& command) { return CommandCalls(*raw_, command); }
  // Process() of feed `feed_id`'s `body`, whose job carries `last_digest`; a failure (and an
  // empty report) when it gives none.
  v1::JobReport Crawl(Processor& processor, uint64_t feed_id, const std::string& body,
                      const std::string& last_digest,
                      std::optional<uint64_t> items_stored = std::nullopt) {
    std::optional<v1::JobReport> report =
        processor.Process(Result(feed_id, body, last_digest, items_stored), body);
    EXPECT_TRUE(report.has_value()) << "no report: the store failed";
    return report.value_or(v1::JobReport());
  }

  FakeClock clock_;
  RedisServer redis_;
  std::unique_ptr<RedisClient> raw_;
  std::unique_ptr<Processor> processor_;
};

TEST_F(ProcessorStoreTest, AFeedStoredBeforeSendsOnlyItsNewItems) {
  // First crawl: no digest in the job, every item goes to the store.
  const std::string first = Rss(1, 20);
  v1::JobReport report = Crawl(*processor_, 3, first, "");
  EXPECT_EQ(report.new_items(), 20u);
  EXPECT_EQ(report.total_items(), 20u);
  EXPECT_EQ(processor_->items_known(), 0u);
  // Its JSON went in one HSET of a staging hash, which became the items hash.
  EXPECT_EQ(Calls("hsetnx"), 0);
  EXPECT_EQ(Calls("hset"), 1);
  EXPECT_EQ(Calls("rename"), 1);
  EXPECT_EQ(Integer({"HLEN", "fc:items:3"}), 20);
  EXPECT_EQ(Integer({"PTTL", "fc:items:3"}), -1);
  StatusOr<RedisReply> staged = raw_->Command({"KEYS", "fc:items:*:staged:*"});
  ASSERT_OK(staged.status());
  EXPECT_TRUE(staged->elements.empty());
  StatusOr<RedisReply> old_json = raw_->Command({"HGET", "fc:items:3", "item-5"});
  ASSERT_OK(old_json.status());

  // The feed moved on by two items, and item 5 was edited: 18 items are known, 2 are sent.
  const std::string second = Rss(3, 22, /*edited=*/5);
  const int64_t before = Stat("total_net_input_bytes");
  report = Crawl(*processor_, 3, second, "digest-1");
  const int64_t received = Stat("total_net_input_bytes") - before;
  EXPECT_EQ(report.outcome(), v1::OUTCOME_OK);
  EXPECT_EQ(report.parsed_items(), 20u);
  EXPECT_EQ(report.new_items(), 2u);
  EXPECT_EQ(report.total_items(), 22u);
  EXPECT_EQ(processor_->items_known(), 18u);
  // Two items' JSON is ~200 bytes each; all twenty would be over 2 KB.
  EXPECT_LT(received, 1500) << "known items were sent again";
  EXPECT_EQ(Integer({"HLEN", "fc:items:3"}), 22);
  EXPECT_EQ(Integer({"ZCARD", "fc:items:3:order"}), 22);
  ASSERT_OK_AND_ASSIGN(std::vector<testing::StreamEntry> streamed,
                       testing::ReadItemStream(*raw_, "fc:"));
  EXPECT_EQ(testing::StreamedItems(streamed).size(), 22u);
  // A stored item stays as first stored, as it did when every item was sent.
  StatusOr<RedisReply> json = raw_->Command({"HGET", "fc:items:3", "item-5"});
  ASSERT_OK(json.status());
  EXPECT_EQ(json->str, old_json->str);
  // The new items were read for their keys first, then whole: they are stored as ParseFeed
  // reads them (the edited item 5 kept its first JSON above).
  const ParsedFeed parsed = ParseFeed(second, ParseOptions{"http://127.0.0.1/feed.xml", ""});
  for (const Item& item : parsed.items) {
    if (item.key != "item-22" && item.key != "item-21") continue;
    StatusOr<RedisReply> stored = raw_->Command({"HGET", "fc:items:3", item.key});
    ASSERT_OK(stored.status());
    std::string expected;
    AppendItemJson(item, &expected);
    EXPECT_EQ(stored->str, expected);
    EXPECT_NE(stored->str.find("Text of item"), std::string::npos) << stored->str;
  }

  // Nothing new at all (the body changed elsewhere): no store call, the feed's count reported.
  report = Crawl(*processor_, 3, second, "digest-2");
  EXPECT_EQ(report.new_items(), 0u);
  EXPECT_EQ(report.total_items(), 22u);
  EXPECT_EQ(processor_->items_known(), 38u);
}

// A job that says how many items the feed has stored, few enough for a compact order set, has
// the processor read the whole set rather than ask for each key: the same answer, for a fraction
// of Redis's work. A larger count, or none, asks key by key.
TEST_F(ProcessorStoreTest, AFeedWithFewItemsStoredIsAskedByItsWholeOrderSet) {
  Crawl(*processor_, 3, Rss(1, 20), "");
  ASSERT_OK(raw_->Command({"CONFIG", "RESETSTAT"}).status());
  v1::JobReport report = Crawl(*processor_, 3, Rss(3, 22, /*edited=*/5), "digest-1", 20);
  EXPECT_EQ(report.new_items(), 2u);
  EXPECT_EQ(report.total_items(), 22u);
  EXPECT_EQ(processor_->items_known(), 18u);
  EXPECT_EQ(Calls("zrange"), 1);
  EXPECT_EQ(Calls("zmscore"), 0);
  EXPECT_EQ(Calls("hsetnx"), 2);
  EXPECT_EQ(Integer({"ZCARD", "fc:items:3:order"}), 22);

  // A hint behind the store (another job stored items since) reads the set as it is.
  report = Crawl(*processor_, 3, Rss(4, 23), "digest-2", 20);
  EXPECT_EQ(report.new_items(), 1u);
  EXPECT_EQ(report.total_items(), 23u);
  EXPECT_EQ(Calls("zrange"), 2);

  // Past what a compact set holds, and without a hint, each key is asked for.
  report = Crawl(*processor_, 3, Rss(5, 24), "digest-3", Store::kWholeOrderSetMax + 1);
  EXPECT_EQ(report.new_items(), 1u);
  report = Crawl(*processor_, 3, Rss(6, 25), "digest-4");
  EXPECT_EQ(report.new_items(), 1u);
  EXPECT_EQ(report.total_items(), 25u);
  EXPECT_EQ(Calls("zrange"), 2);
  EXPECT_EQ(Calls("zmscore"), 2);
  EXPECT_EQ(processor_->items_known(), 18u + 19u + 19u + 19u);
}

TEST_F(ProcessorStoreTest, AFeedOfAFewItemsSendsThemWithoutAsking) {
  // For one or two items the question costs more than it can save: they go to the script,
  // which stores only the new one.
  const std::string first = Rss(1, 2);
  v1::JobReport report = Crawl(*processor_, 4, first, "");
  const std::string second = Rss(2, 3);
  report = Crawl(*processor_, 4, second, "digest-1");
  EXPECT_EQ(report.new_items(), 1u);
  EXPECT_EQ(report.total_items(), 3u);
  EXPECT_EQ(processor_->items_known(), 0u);
  EXPECT_EQ(Integer({"HLEN", "fc:items:4"}), 3);
}

TEST_F(ProcessorStoreTest, ADigestWithoutStoredItemsStoresThemAll) {
  // The record says the feed was stored, but its items are gone (removed by hand, or a store
  // restored from an older copy): the question finds none known and every item is stored.
  const std::string body = Rss(1, 5);
  v1::JobReport report = Crawl(*processor_, 8, body, "digest-0");
  EXPECT_EQ(report.new_items(), 5u);
  EXPECT_EQ(report.total_items(), 5u);
  EXPECT_EQ(processor_->items_known(), 0u);
  EXPECT_EQ(Integer({"HLEN", "fc:items:8"}), 5);
}

TEST_F(ProcessorStoreTest, AServerThatCannotAnswerStillGetsEveryItem) {
  // A user who may not run ZMSCORE stands for a server without it (before Redis 6.2): the
  // question fails once, the processor stops asking, and items are stored as before.
  ASSERT_OK(raw_->Command({"ACL", "SETUSER", "old", "on", ">secret", "~*", "+@all", "-zmscore"})
                .status());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store,
                       Store::Open(redis_.Url() + "?user=old&password=secret"));
  Processor processor(ProcessorOptions{}, std::move(store), clock_);
  const std::string first = Rss(1, 4);
  v1::JobReport report = Crawl(processor, 9, first, "digest-0");
  EXPECT_EQ(report.new_items(), 4u);
  const std::string second = Rss(2, 6);
  report = Crawl(processor, 9, second, "digest-1");
  EXPECT_EQ(report.new_items(), 2u);
  EXPECT_EQ(report.total_items(), 6u);
  EXPECT_EQ(processor.items_known(), 0u);
  EXPECT_EQ(Integer({"HLEN", "fc:items:9"}), 6);
  // The server refused the question once: the second document went without asking. (ACL LOG
  // counts repeats of one refusal in its entry's "count".)
  StatusOr<RedisReply> log = raw_->Command({"ACL", "LOG"});
  ASSERT_OK(log.status());
  ASSERT_EQ(log->elements.size(), 1u);
  int64_t refusals = 0;
  const auto& fields = log->elements[0].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "count") refusals = fields[i + 1].integer;
  }
  EXPECT_EQ(refusals, 1);
}

// A processor running in its own thread between a fake coordinator (a ROUTER socket, as the
// coordinator's control socket is) and a fake fetcher (a PUSH socket holding the results).
class LiveProcessor {
 public:
  LiveProcessor(const RedisServer& redis, int queued_results, ProcessorOptions options)
      : started_(Init(redis, queued_results, std::move(options))) {}
  // Whether the sockets and the processor started; check it before anything else.
  const Status& started() const { return started_; }
  ~LiveProcessor() {
    if (processor_) processor_->Stop();
    if (runner_.joinable()) runner_.join();
  }
  // Next message from the processor; nullopt after 20 s.
  std::optional<std::pair<std::string, v1::Envelope>> Next() {
    for (int turn = 0; turn < 400; ++turn) {
      StatusOr<std::optional<WireMessage>> message = coordinator_->TryRecv();
      if (message.ok() && message->has_value()) {
        StatusOr<v1::Envelope> envelope = DecodeEnvelope((*message)->frames.at(0));
        if (envelope.ok()) return std::make_pair((*message)->peer, *envelope);
      }
      (void)PollReadable({coordinator_.get()}, 50);
    }
    return std::nullopt;
  }
  Status Heartbeat(const std::string& peer, uint64_t epoch) {
    v1::Envelope envelope;
    envelope.mutable_heartbeat()->set_coordinator_epoch(epoch);
    return coordinator_->Send(WireMessage{peer, {EncodeEnvelope(envelope)}}, false);
  }
  // Queues the results of feeds first..last, each a one-item RSS document.
  Status QueueResults(uint64_t first, uint64_t last) {
    const std::string body = Rss(1, 1);
    for (uint64_t feed_id = first; feed_id <= last; ++feed_id) {
      v1::Envelope envelope;
      *envelope.mutable_result() = Result(feed_id, body, "");
      if (Status s = fetcher_->Send(WireMessage{"", {EncodeEnvelope(envelope), body}}, false);
          !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }
  Status Finish() {
    processor_->Stop();
    runner_.join();
    return run_status_;
  }

 private:
  Status Init(const RedisServer& redis, int queued_results, ProcessorOptions options) {
    auto coordinator = Socket::Create(context_, SocketKind::kRouter);
    if (!coordinator.ok()) return coordinator.status();
    coordinator_ = std::move(*coordinator);
    if (Status s = coordinator_->Bind("tcp://127.0.0.1:*"); !s.ok()) return s;
    SocketOptions queue;
    queue.send_hwm = queued_results;
    auto fetcher = Socket::Create(context_, SocketKind::kPush, queue);
    if (!fetcher.ok()) return fetcher.status();
    fetcher_ = std::move(*fetcher);
    if (Status s = fetcher_->Bind("tcp://127.0.0.1:*"); !s.ok()) return s;
    options.control_endpoint = coordinator_->LastEndpoint();
    options.results_endpoints = {fetcher_->LastEndpoint()};
    options.worker_id = "live";
    options.heartbeat_ms = 600'000;  // no heartbeat or silence check of its own during a test
    auto store = Store::Open(redis.Url());
    if (!store.ok()) return store.status();
    processor_ = std::make_unique<Processor>(options, std::move(*store), SystemClock::Instance());
    if (Status s = processor_->Start(); !s.ok()) return s;
    runner_ = std::thread([this] { run_status_ = processor_->Run(); });
    return Status::Ok();
  }
  // Declared first: Init (run when started_ is initialized, after every other member) uses them.
  WireContext context_;
  std::unique_ptr<Socket> coordinator_;
  std::unique_ptr<Socket> fetcher_;
  std::unique_ptr<Processor> processor_;
  std::thread runner_;
  Status run_status_;
  Status started_;
};

// While results keep coming, the processor reads its control socket only now and then; a
// coordinator that restarted (a heartbeat with a new epoch) must still get a Hello at once, not
// once the results run out. The test plays the coordinator (ROUTER) and a fetcher (PUSH), and
// queues far more results than the processor gets through before the restart.
TEST_F(ProcessorStoreTest, ARestartedCoordinatorIsGreetedWhileResultsKeepComing) {
  constexpr int kResults = 3000;
  ProcessorOptions options;
  options.recv_hwm = kResults;  // the whole backlog sits in the processor's queue
  LiveProcessor live(redis_, kResults, options);
  ASSERT_OK(live.started());
  auto hello = live.Next();
  ASSERT_TRUE(hello.has_value() && hello->second.has_hello());
  const std::string peer = hello->first;
  ASSERT_OK(live.Heartbeat(peer, 1));
  ASSERT_OK(live.QueueResults(1, kResults));
  int reports = 0;
  int reports_before_hello = -1;
  while (auto message = live.Next()) {
    if (message->second.has_report() && ++reports == 100) ASSERT_OK(live.Heartbeat(peer, 2));
    if (message->second.has_hello()) reports_before_hello = reports;
    if (reports == kResults) break;
  }
  EXPECT_OK(live.Finish());
  EXPECT_EQ(reports, kResults);
  ASSERT_GE(reports_before_hello, 100)
      << "no Hello for the restarted coordinator while results were queued";
  // Sent while ~2,900 results were still queued: the Hello comes long before they run out.
  EXPECT_LT(reports_before_hello, kResults / 2);
}

// Reports are held to leave in bursts, but never while the processor has nothing else to do:
// with a hold far longer than the test, a lone result's report still comes at once.
TEST_F(ProcessorStoreTest, AnIdleProcessorSendsItsReportAtOnce) {
  ProcessorOptions options;
  options.report_hold_ms = 600'000;
  LiveProcessor live(redis_, 1, options);
  ASSERT_OK(live.started());
  auto hello = live.Next();
  ASSERT_TRUE(hello.has_value() && hello->second.has_hello());
  ASSERT_OK(live.QueueResults(7, 7));
  auto report = live.Next();
  while (report.has_value() && !report->second.has_report()) report = live.Next();  // heartbeats
  ASSERT_TRUE(report.has_value()) << "the report was held while the processor was idle";
  EXPECT_EQ(report->second.report().feed_id(), 7u);
  EXPECT_EQ(report->second.report().new_items(), 1u);
  EXPECT_OK(live.Finish());
}

// A store that fails holds the processor in its retries (up to store_retry_ms, 30 s here): the
// reports it held for jobs already stored go out first, before their leases could run out.
TEST_F(ProcessorStoreTest, StoredJobsAreReportedBeforeAFailingStoreIsRetried) {
  constexpr int kResults = 21;  // fewer than a full batch of reports
  ProcessorOptions options;
  options.recv_hwm = kResults;
  options.report_hold_ms = 600'000;  // only an idle processor, or the store's failure, sends them
  // The last feed's items cannot be stored: its items key holds a string.
  ASSERT_OK(raw_->Command({"SET", "fc:items:" + std::to_string(kResults), "not a hash"}));
  LiveProcessor live(redis_, kResults, options);
  ASSERT_OK(live.started());
  auto hello = live.Next();
  ASSERT_TRUE(hello.has_value() && hello->second.has_hello());
  // Writes wait while every result is queued, so that the processor is never idle before the
  // failure (an idle processor sends what it holds anyway).
  ASSERT_OK(raw_->Command({"CLIENT", "PAUSE", "1000", "WRITE"}));
  ASSERT_OK(live.QueueResults(1, kResults));
  const auto failed_from = std::chrono::steady_clock::now();
  std::vector<int> reported(kResults + 1, 0);
  for (int reports = 0; reports < kResults - 1;) {
    auto message = live.Next();
    ASSERT_TRUE(message.has_value()) << reports << " reports, then silence";
    if (!message->second.has_report()) continue;
    ++reported[message->second.report().feed_id()];
    ++reports;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - failed_from, std::chrono::seconds(15))
      << "the reports waited for the store's retries";
  for (int feed_id = 1; feed_id < kResults; ++feed_id) {
    EXPECT_EQ(reported[feed_id], 1) << "feed " << feed_id;
  }
  EXPECT_EQ(reported[kResults], 0);  // its store is still being retried
  EXPECT_OK(live.Finish());
}

// A backlog's reports leave in batches (full ones, then the rest once the queue is empty), and
// every job is reported exactly once.
TEST_F(ProcessorStoreTest, EveryReportOfABacklogArrivesOnce) {
  constexpr int kResults = 1000;
  ProcessorOptions options;
  options.recv_hwm = kResults;
  options.report_hold_ms = 600'000;  // only a full batch or an idle processor sends them
  LiveProcessor live(redis_, kResults, options);
  ASSERT_OK(live.started());
  auto hello = live.Next();
  ASSERT_TRUE(hello.has_value() && hello->second.has_hello());
  ASSERT_OK(live.QueueResults(1, kResults));
  std::vector<int> reported(kResults + 1, 0);
  int reports = 0;
  while (reports < kResults) {
    auto message = live.Next();
    ASSERT_TRUE(message.has_value()) << reports << " reports, then silence";
    if (!message->second.has_report()) continue;
    const uint64_t feed_id = message->second.report().feed_id();
    ASSERT_GE(feed_id, 1u);
    ASSERT_LE(feed_id, static_cast<uint64_t>(kResults));
    ++reported[feed_id];
    ++reports;
  }
  EXPECT_OK(live.Finish());
  for (int feed_id = 1; feed_id <= kResults; ++feed_id) {
    EXPECT_EQ(reported[feed_id], 1) << "feed " << feed_id;
  }
  EXPECT_EQ(Integer({"HLEN", "fc:items:500"}), 1);
}

}  // namespace
}  // namespace feedcrawl
