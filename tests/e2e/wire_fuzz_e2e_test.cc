// Hostile peers on every ZeroMQ port, through real processes.
//
// A crawl of 300 generated feeds runs through the role executables (a coordinator, 2 fetchers,
// 2 processors) while the test, from its own sockets, sends to every coordinator port: random
// frames from DEALER and PUSH peers, mutated valid messages (bit flips, truncation, kinds the
// socket does not carry, a newer version, reports for leases and feeds that do not exist),
// frames above the socket's maximum size, empty and very long multipart messages, and raw TCP
// bytes that are not ZMTP. Every process must stay up, the crawl must complete with exactly the
// generated items, and the coordinator must have counted what it dropped.
//
// The workers' side: a fake coordinator (the test's own ROUTER, PULL and PUSH) sends the same
// kinds of garbage to a real fetcher and a real processor, which must then still fetch, process
// and report a real job; two more workers whose coordinator address answers with raw bytes must
// keep running and stop cleanly.
//
// Nothing here acts as a fake worker that takes jobs (a Hello followed by Credit, a processor
// pulling results, or raw bytes at the results output that ZeroMQ would take for a ZMTP 1.0
// peer): keeping impostors out is CURVE's job, tested elsewhere.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "common/feed_model.h"
#include "common/messages.h"
#include "common/store.h"
#include "common/wire.h"
#include "tests/fuzz/wire_seeds.h"
#include "tests/gen/feed_generator.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/truth_check.h"
#include "tests/support/subprocess.h"

namespace feedcrawl {
namespace {

namespace v1 = feedcrawl::v1;
using testing::RedisServer;
using testing::Subprocess;
using testing::SubprocessOptions;
using testing::TempDir;

constexpr size_t kFeeds = 300;
constexpr uint32_t kMaxBodyBytes = 1 << 20;
// Above every limit the coordinator sets: control 1 MiB, results input max body + 1 MiB.
constexpr size_t kOversizedBytes = kMaxBodyBytes + (2 << 20);
// Ids no crawl uses: job ids are epoch << 32 | sequence with small epochs, feed ids count from 1.
constexpr uint64_t kBogusJobBase = uint64_t{0xfffe} << 32;
constexpr uint64_t kBogusFeedBase = 50'000'000;

using Frames = std::vector<std::string>;

// Garbage of every kind, reproducible from a seed. Mutations start from the valid seed messages
// of the wire fuzzer, with their ids moved out of the crawl's range.
class Garbage {
 public:
  explicit Garbage(uint64_t seed) : random_(seed) {
    for (fuzz::WireSeed& seed_message : fuzz::ValidWireSeeds()) {
      auto envelope = DecodeEnvelope(seed_message.frames[0]);
      if (!envelope.ok()) continue;
      MakeHarmless(*envelope);
      seed_message.frames[0] = EncodeEnvelope(*envelope);
      if (envelope->has_result()) {
        // A body that is no feed: a result that gets through stores nothing anywhere.
        seed_message.frames[1] = envelope->result().outcome() == v1::OUTCOME_OK ? "not a feed" : "";
        envelope->mutable_result()->set_body_bytes(seed_message.frames[1].size());
        seed_message.frames[0] = EncodeEnvelope(*envelope);
      }
      valid_.push_back(std::move(seed_message.frames));
    }
  }

  std::string Bytes(size_t max_size) {
    std::string bytes(std::uniform_int_distribution<size_t>(0, max_size)(random_), '\0');
    for (char& c : bytes) c = static_cast<char>(random_() & 0xff);
    return bytes;
  }

  // Every kind of hostile message, once. `oversized` adds one frame above every size limit.
  std::vector<Frames> Catalog(bool oversized) {
    std::vector<Frames> catalog;
    for (int i = 0; i < 20; ++i) {
      Frames frames;
      const int count = 1 + static_cast<int>(random_() % 4);
      for (int f = 0; f < count; ++f) frames.push_back(Bytes(200));
      catalog.push_back(std::move(frames));
    }
    for (const Frames& valid : valid_) {
      catalog.push_back(valid);  // on every socket that does not carry this kind: the wrong kind
      for (int i = 0; i < 3; ++i) catalog.push_back(FlipBits(valid));
      catalog.push_back(Truncate(valid));
      catalog.push_back(NewerVersion(valid));
      Frames extra = valid;
      extra.push_back(Bytes(50));
      catalog.push_back(std::move(extra));
    }
    for (int i = 0; i < 5; ++i) {
      v1::Envelope envelope;
      v1::JobReport* report = envelope.mutable_report();
      // Existing feeds with leases that do not exist, then feeds that do not exist.
      report->set_job_id(kBogusJobBase + random_() % 1000);
      report->set_feed_id(i < 3 ? 1 + random_() % kFeeds : kBogusFeedBase + i);
      report->set_outcome(v1::OUTCOME_OK);
      report->set_new_items(5);
      catalog.push_back({EncodeEnvelope(envelope)});
    }
    {
      v1::Envelope envelope;
      envelope.mutable_goodbye()->add_returned_job_ids(kBogusJobBase + 1);
      catalog.push_back({EncodeEnvelope(envelope)});
    }
    catalog.push_back({""});
    catalog.push_back({"", ""});
    Frames many;
    for (int i = 0; i < 300; ++i) many.push_back(Bytes(20));
    catalog.push_back(std::move(many));
    catalog.push_back(Frames(300, valid_.front()[0]));
    if (oversized) catalog.push_back({std::string(kOversizedBytes, '\xff')});
    return catalog;
  }

 private:
  void MakeHarmless(v1::Envelope& envelope) {
    const uint64_t job_id = kBogusJobBase + random_() % 1000;
    const uint64_t feed_id = kBogusFeedBase + random_() % 1000;
    if (envelope.has_job()) {
      envelope.mutable_job()->set_job_id(job_id);
      envelope.mutable_job()->set_feed_id(feed_id);
    }
    if (envelope.has_result()) {
      envelope.mutable_result()->mutable_job()->set_job_id(job_id);
      envelope.mutable_result()->mutable_job()->set_feed_id(feed_id);
    }
    if (envelope.has_report()) {
      envelope.mutable_report()->set_job_id(job_id);
      envelope.mutable_report()->set_feed_id(feed_id);
    }
    if (envelope.has_goodbye()) {
      envelope.mutable_goodbye()->clear_returned_job_ids();
      envelope.mutable_goodbye()->add_returned_job_ids(job_id);
    }
  }

  Frames FlipBits(Frames frames) {
    std::string& frame = frames[0];
    if (frame.empty()) return frames;
    const int flips = 1 + static_cast<int>(random_() % 3);
    for (int i = 0; i < flips; ++i) {
      frame[random_() % frame.size()] ^= static_cast<char>(1u << (random_() % 8));
    }
    return frames;
  }

  Frames Truncate(Frames frames) {
    frames[0].resize(random_() % std::max<size_t>(frames[0].size(), 1));
    return frames;
  }

  static Frames NewerVersion(Frames frames) {
    v1::Envelope envelope;
    if (envelope.ParseFromString(frames[0])) {
      envelope.set_version(kProtocolVersion + 1);
      frames[0] = envelope.SerializeAsString();
    }
    return frames;
  }

  std::mt19937_64 random_;
  std::vector<Frames> valid_;
};

// True when a message would make the test a worker that takes jobs, or would make a real fetcher
// fetch a mutated URL (which could leave loopback): such messages are not sent.
// A receiver that reads only the first frame would take such a message even with extra frames,
// so the first frame alone decides.
bool WouldImpersonateOrFetch(const Frames& frames) {
  if (frames.empty()) return false;
  auto envelope = DecodeEnvelope(frames[0]);
  return envelope.ok() && (envelope->has_hello() || envelope->has_job());
}

int PortOf(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

// Connects to 127.0.0.1:port and writes `bytes`; false when nothing listens.
bool SendRawTcp(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  if (connected) (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  ::close(fd);
  return connected;
}

// Raw bytes that are not ZMTP, and ZMTP greetings that go wrong halfway.
//
// With `zmtp3_only`, every stream starts with a ZMTP 3 signature and fails after it. Bytes that
// do not start that way make ZeroMQ take the connection for a ZMTP 1.0 peer, which has no socket
// type to check: at the results output such a connection is handed results like a processor and
// loses them (they come back only by lease expiry). That is a fake processor, kept out by CURVE
// (which refuses ZMTP 1.0 peers), not something this test may do during the crawl.
std::vector<std::string> RawTcpGarbage(Garbage& garbage, bool zmtp3_only) {
  const std::string signature("\xff\0\0\0\0\0\0\0\x01\x7f", 10);
  std::string bogus_mechanism = signature + std::string("\x03\x01", 2) + "BOGUS";
  bogus_mechanism.resize(64, '\0');
  std::vector<std::string> streams = {
      signature + std::string("\x03\x00", 2) + std::string(20, 'x') + garbage.Bytes(100),
      bogus_mechanism + garbage.Bytes(4096),
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x03\x01", 12),
  };
  if (!zmtp3_only) {
    streams.push_back(garbage.Bytes(4096));
    streams.push_back("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    streams.push_back(std::string(64 * 1024, '\0'));
  }
  return streams;
}

// One sending peer per socket kind and port, owned by the thread that floods.
class Flooder {
 public:
  explicit Flooder(uint64_t seed) : garbage_(seed) {}

  // `hands_out_work`: the port gives messages to whoever connects (the results output).
  Status AddPort(const std::string& endpoint, bool hands_out_work) {
    endpoints_.emplace_back(endpoint, hands_out_work);
    for (SocketKind kind : {SocketKind::kDealer, SocketKind::kPush}) {
      SocketOptions options;
      options.send_hwm = 10'000;
      auto socket = Socket::Create(context_, kind, options);
      if (!socket.ok()) return socket.status();
      if (Status s = (*socket)->Connect(endpoint); !s.ok()) return s;
      peers_.push_back(std::move(*socket));
    }
    return Status::Ok();
  }

  // One pass of everything at every port. Returns how many messages were queued.
  size_t Pass() {
    size_t sent = 0;
    std::vector<Frames> catalog = garbage_.Catalog(/*oversized=*/true);
    catalog.erase(std::remove_if(catalog.begin(), catalog.end(), WouldImpersonateOrFetch),
                  catalog.end());
    for (auto& peer : peers_) {
      for (const Frames& frames : catalog) {
        if (peer->Send(WireMessage{"", frames}, /*dont_wait=*/true).ok()) ++sent;
      }
      // Heartbeat replies for the DEALERs: read and ignore them.
      while (true) {
        auto message = peer->TryRecv();
        if (!message.ok() || !message->has_value()) break;
      }
    }
    for (const auto& [endpoint, hands_out_work] : endpoints_) {
      for (const std::string& bytes : RawTcpGarbage(garbage_, /*zmtp3_only=*/hands_out_work)) {
        if (SendRawTcp(PortOf(endpoint), bytes)) ++sent;
      }
    }
    return sent;
  }

 private:
  WireContext context_;
  Garbage garbage_;
  std::vector<std::pair<std::string, bool>> endpoints_;
  std::vector<std::unique_ptr<Socket>> peers_;
};

// Waits until something accepts TCP connections on the port.
bool WaitForListener(int port, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (SendRawTcp(port, "")) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class WireFuzzE2eTest : public ::testing::Test {
 protected:
  void StartFeedServer() {
    SubprocessOptions options;
    options.capture_stdout = true;
    auto server = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl-testserver",
                                    {"--root", www_.path(), "--port", "0", "--threads", "32"},
                                    options);
    ASSERT_OK(server.status());
    server_ = std::move(*server);
    auto line = server_->ReadLine(10'000);
    ASSERT_OK(line.status());
    const std::string marker = "listening on ";
    ASSERT_EQ(line->rfind(marker, 0), 0u) << *line;
    base_url_ = line->substr(marker.size());
  }

  std::unique_ptr<Subprocess> StartRole(const std::string& role, std::vector<std::string> args) {
    SubprocessOptions options;
    options.stderr_path = work_.File(role + ".stderr");
    args.insert(args.end(), {"--log-level", "warn"});
    auto process = Subprocess::Start(std::string(FEEDCRAWL_BIN_DIR) + "/feedcrawl-" +
                                         role.substr(0, role.find('-')),
                                     args, options);
    EXPECT_OK(process.status());
    return process.ok() ? std::move(*process) : nullptr;
  }

  std::unique_ptr<Subprocess> StartFetcher(const std::string& id, const std::string& control,
                                           const std::string& results,
                                           std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--control", control, "--results", results, "--id", id,
                                     "--concurrency", "32", "--allow-private-networks",
                                     "--heartbeat-ms", "200", "--drain-ms", "2000"};
    args.insert(args.end(), extra.begin(), extra.end());
    return StartRole("fetcher-" + id, args);
  }

  std::unique_ptr<Subprocess> StartProcessor(const std::string& id, const std::string& control,
                                             const std::string& results) {
    return StartRole("processor-" + id, {"--control", control, "--results", results, "--redis",
                                         redis_.Url(), "--id", id, "--heartbeat-ms", "200"});
  }

  std::string Logs(const std::string& role) {
    auto text = testing::ReadFile(work_.File(role + ".stderr"));
    return text.ok() ? role + ":\n" + *text : role + ": no log";
  }

  // SIGTERM, then a clean exit within the bounded drain time.
  void ExpectCleanStop(Subprocess& process, const std::string& role) {
    EXPECT_TRUE(process.Running()) << role << " died\n" << Logs(role);
    ASSERT_OK(process.Signal(SIGTERM));
    auto exit = process.Wait(20'000);
    ASSERT_TRUE(exit.ok()) << role << " did not stop: " << exit.status().ToString() << "\n"
                           << Logs(role);
    EXPECT_TRUE(exit->Success()) << role << ": " << exit->ToString() << "\n" << Logs(role);
  }

  TempDir www_;
  TempDir work_;
  RedisServer redis_;
  std::unique_ptr<Subprocess> server_;
  std::string base_url_;
};

TEST_F(WireFuzzE2eTest, CrawlCompletesWhileEveryCoordinatorPortIsFlooded) {
  GenOptions gen;
  gen.feeds = kFeeds;
  gen.items_per_feed = 8;
  gen.item_bytes = 400;
  gen.seed = 4;
  auto truth = GenerateFeeds(gen, www_.path());
  ASSERT_OK(truth.status());
  StartFeedServer();
  ASSERT_OK(redis_.Start());
  auto store = Store::Open(redis_.Url());
  ASSERT_OK(store.status());
  std::vector<std::string> urls;
  for (const GeneratedFeed& feed : *truth) urls.push_back(base_url_ + "/" + feed.path);
  ASSERT_OK((*store)->AddFeeds(urls, 0).status());

  std::vector<std::string> endpoints;
  for (int i = 0; i < 3; ++i) {
    auto port = testing::FreeTcpPort();
    ASSERT_OK(port.status());
    endpoints.push_back("tcp://127.0.0.1:" + std::to_string(*port));
  }
  const std::string& control = endpoints[0];
  const std::string& results_in = endpoints[1];
  const std::string& results_out = endpoints[2];
  auto coordinator = StartRole(
      "coordinator", {"--redis", redis_.Url(), "--control-bind", control, "--results-in-bind",
                      results_in, "--results-out-bind", results_out, "--once",
                      "--host-concurrency", "0", "--host-interval-ms", "0", "--fetch-timeout-ms",
                      "5000", "--max-body-bytes", std::to_string(kMaxBodyBytes),
                      // A job the garbage made disappear would come back only after this, long
                      // after the wait below: lost work fails the test instead of hiding.
                      "--lease-grace-ms", "600000"});
  ASSERT_NE(coordinator, nullptr);
  for (const std::string& endpoint : endpoints) {
    ASSERT_TRUE(WaitForListener(PortOf(endpoint), 15'000))
        << endpoint << " never listened\n" << Logs("coordinator");
  }

  // A first round before any worker is there, then more while the crawl runs.
  std::atomic<bool> stop{false};
  std::atomic<size_t> passes{0};
  std::atomic<size_t> sent{0};
  Flooder flooder(7);
  for (const std::string& endpoint : endpoints) {
    ASSERT_OK(flooder.AddPort(endpoint, /*hands_out_work=*/endpoint == results_out));
  }
  sent += flooder.Pass();
  std::thread flood([&] {
    while (!stop) {
      sent += flooder.Pass();
      ++passes;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  std::vector<std::pair<std::string, std::unique_ptr<Subprocess>>> workers;
  for (int i = 1; i <= 2; ++i) {
    const std::string id = std::to_string(i);
    workers.emplace_back("processor-p" + id, StartProcessor("p" + id, control, results_out));
    workers.emplace_back("fetcher-f" + id, StartFetcher("f" + id, control, results_in));
  }
  auto exit = coordinator->Wait(180'000);
  const size_t passes_during_crawl = passes;
  stop = true;
  flood.join();
  ASSERT_TRUE(exit.ok()) << "the crawl stalled: " << exit.status().ToString() << "\n"
                         << Logs("coordinator");
  EXPECT_GE(passes_during_crawl, 1u) << "the crawl ended before the flood met it";
  EXPECT_TRUE(exit->Success()) << exit->ToString() << "\n" << Logs("coordinator");
  EXPECT_GT(sent.load(), 1000u);
  for (auto& [role, process] : workers) {
    ASSERT_NE(process, nullptr);
    ExpectCleanStop(*process, role);
  }

  auto stats = (*store)->ReadStats();
  ASSERT_OK(stats.status());
  EXPECT_EQ((*stats)["run_complete"], "1");
  EXPECT_EQ((*stats)["run_done"], std::to_string(kFeeds));
  EXPECT_EQ((*stats)["run_ok"], std::to_string(kFeeds));
  EXPECT_GT(std::stoll((*stats)["bad_messages"]), 0);

  size_t expected_items = 0;
  for (const GeneratedFeed& feed : *truth) {
    SCOPED_TRACE(feed.path);
    auto id = (*store)->FindFeedId(base_url_ + "/" + feed.path);
    ASSERT_OK(id.status());
    ASSERT_TRUE(id->has_value());
    testing::ExpectStoredItemsMatch(**store, **id, feed.items);
    expected_items += feed.items.size();
  }
  EXPECT_EQ((*stats)["run_items_new"], std::to_string(expected_items));
}

// The test's side of the fake coordinator: the sockets real workers connect to.
class FakeCoordinator {
 public:
  static constexpr uint64_t kFakeEpoch = 5;

  Status Bind() {
    SocketOptions options;
    options.send_hwm = 10'000;
    options.recv_hwm = 10'000;
    auto control = Socket::Create(context_, SocketKind::kRouter, options);
    auto results_in = Socket::Create(context_, SocketKind::kPull, options);
    auto results_out = Socket::Create(context_, SocketKind::kPush, options);
    for (auto* made : {&control, &results_in, &results_out}) {
      if (!made->ok()) return made->status();
    }
    control_ = std::move(*control);
    results_in_ = std::move(*results_in);
    results_out_ = std::move(*results_out);
    for (Socket* socket : {control_.get(), results_in_.get(), results_out_.get()}) {
      if (Status s = socket->Bind("tcp://127.0.0.1:*"); !s.ok()) return s;
    }
    return Status::Ok();
  }

  std::string control() const { return control_->LastEndpoint(); }
  std::string results_in() const { return results_in_->LastEndpoint(); }
  std::string results_out() const { return results_out_->LastEndpoint(); }
  Socket& control_socket() { return *control_; }
  Socket& results_out_socket() { return *results_out_; }

  // The next control message from `peer` (any peer when empty) for which `want` holds, within timeout_ms; others are
  // read and dropped.
  std::optional<v1::Envelope> NextFrom(const std::string& peer,
                                       const std::function<bool(const v1::Envelope&)>& want,
                                       int timeout_ms = 15'000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      auto message = control_->TryRecv();
      if (!message.ok()) return std::nullopt;
      if (!message->has_value()) {
        (void)PollReadable({control_.get()}, 50);
        continue;
      }
      auto inbound = DecodeInbound(InboundSocket::kCoordinatorControl, (*message)->frames);
      if (!inbound.ok()) continue;
      Answer((*message)->peer, inbound->envelope);
      if ((peer.empty() || (*message)->peer == peer) && want(inbound->envelope)) {
        return inbound->envelope;
      }
    }
    return std::nullopt;
  }

  // The next result a fetcher pushed, as sent (header and body frame).
  std::optional<WireMessage> NextResult(int timeout_ms = 15'000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      auto message = results_in_->TryRecv();
      if (!message.ok()) return std::nullopt;
      if (message->has_value()) return std::move(**message);
      (void)PollReadable({results_in_.get()}, 50);
    }
    return std::nullopt;
  }

  // Sends to a worker's control socket, retrying while the worker is reconnecting (an oversized
  // frame made ZeroMQ drop its connection).
  Status SendTo(const std::string& peer, const v1::Envelope& envelope, int timeout_ms = 15'000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      Status s = control_->Send(WireMessage{peer, {EncodeEnvelope(envelope)}});
      if (s.ok() || std::chrono::steady_clock::now() >= deadline) return s;
      (void)PollReadable({control_.get()}, 50);  // waits, and lets the socket admit the worker
    }
  }

  // Answers a Hello or Heartbeat as the coordinator does, so the workers do not take the fake
  // coordinator for a silent one.
  void Answer(const std::string& peer, const v1::Envelope& envelope) {
    if (!envelope.has_hello() && !envelope.has_heartbeat()) return;
    v1::Envelope reply;
    reply.mutable_heartbeat()->set_coordinator_epoch(kFakeEpoch);
    (void)control_->Send(WireMessage{peer, {EncodeEnvelope(reply)}});
  }

  // Reads and drops everything that arrives for `ms`, answering heartbeats. The ROUTER must keep being used while
  // workers reconnect: ZeroMQ retires a dropped connection's routing id only when the socket's
  // owner calls into it, and a worker reconnecting under that id before then is never admitted.
  void PumpFor(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      while (true) {
        auto message = control_->TryRecv();
        if (!message.ok() || !message->has_value()) break;
        auto inbound = DecodeInbound(InboundSocket::kCoordinatorControl, (*message)->frames);
        if (inbound.ok()) Answer((*message)->peer, inbound->envelope);
      }
      DrainResults();
      (void)PollReadable({control_.get(), results_in_.get()}, 10);
    }
  }

  void DrainResults() {
    while (true) {
      auto message = results_in_->TryRecv();
      if (!message.ok() || !message->has_value()) return;
    }
  }

 private:
  WireContext context_;
  std::unique_ptr<Socket> control_;
  std::unique_ptr<Socket> results_in_;
  std::unique_ptr<Socket> results_out_;
};

// Accepts TCP connections and answers each with bytes that are not ZMTP, until destroyed.
class RawTcpGarbageServer {
 public:
  RawTcpGarbageServer() : garbage_(11) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawTcpGarbageServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  int port() const { return port_; }
  size_t connections() const { return connections_; }

 private:
  void Serve() {
    size_t turn = 0;
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      ++connections_;
      std::vector<std::string> answers = RawTcpGarbage(garbage_, /*zmtp3_only=*/false);
      const std::string& bytes = answers[turn++ % answers.size()];
      (void)!::send(client, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  Garbage garbage_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> connections_{0};
  std::thread thread_;
};

// The metric's value in a Prometheus text page, -1 when absent.
double MetricValue(const std::string& page, const std::string& name) {
  size_t at = 0;
  while ((at = page.find(name, at)) != std::string::npos) {
    const bool line_start = at == 0 || page[at - 1] == '\n';
    at += name.size();
    if (line_start && at < page.size() && page[at] == ' ') return std::stod(page.substr(at + 1));
  }
  return -1;
}

TEST_F(WireFuzzE2eTest, WorkersSurviveAHostileCoordinator) {
  GenOptions gen;
  gen.feeds = 1;
  gen.items_per_feed = 5;
  gen.seed = 9;
  auto truth = GenerateFeeds(gen, www_.path());
  ASSERT_OK(truth.status());
  StartFeedServer();
  ASSERT_OK(redis_.Start());
  auto store = Store::Open(redis_.Url());
  ASSERT_OK(store.status());
  const std::string url = base_url_ + "/" + truth->front().path;
  auto added = (*store)->AddFeeds({url}, 0);
  ASSERT_OK(added.status());
  const uint64_t feed_id = added->ids.front();

  FakeCoordinator fake;
  ASSERT_OK(fake.Bind());
  auto metrics_port = testing::FreeTcpPort();
  ASSERT_OK(metrics_port.status());
  auto fetcher = StartFetcher("wf", fake.control(), fake.results_in(),
                              {"--metrics-port", std::to_string(*metrics_port),
                               "--metrics-bind", "127.0.0.1"});
  auto processor = StartProcessor("wp", fake.control(), fake.results_out());
  ASSERT_NE(fetcher, nullptr);
  ASSERT_NE(processor, nullptr);
  std::set<std::string> greeted;
  for (int i = 0; i < 2; ++i) {
    // Either may say Hello first; NextFrom with an empty peer takes any.
    auto hello = fake.NextFrom("", [&](const v1::Envelope& e) { return e.has_hello(); });
    ASSERT_TRUE(hello.has_value()) << Logs("fetcher-wf") << Logs("processor-wp");
    greeted.insert(hello->hello().worker_id());
  }
  ASSERT_EQ(greeted, (std::set<std::string>{"wf", "wp"}));

  // Workers whose coordinator address answers with raw bytes.
  RawTcpGarbageServer raw;
  ASSERT_GT(raw.port(), 0);
  const std::string raw_endpoint = "tcp://127.0.0.1:" + std::to_string(raw.port());
  auto raw_fetcher = StartFetcher("rf", raw_endpoint, raw_endpoint);
  auto raw_processor = StartProcessor("rp", raw_endpoint, raw_endpoint);
  ASSERT_NE(raw_fetcher, nullptr);
  ASSERT_NE(raw_processor, nullptr);

  Garbage garbage(13);
  size_t sent = 0;
  for (int round = 0; round < 3; ++round) {
    for (const std::string peer : {"wf", "p:wp"}) {
      // The last round ends with a frame above the workers' maximum: ZeroMQ drops the connection
      // (and what the worker had not read yet), and the worker must connect again by itself.
      for (const Frames& frames : garbage.Catalog(/*oversized=*/round == 2)) {
        if (WouldImpersonateOrFetch(frames)) continue;
        if (fake.control_socket().Send(WireMessage{peer, frames}).ok()) ++sent;
      }
    }
    for (const Frames& frames : garbage.Catalog(/*oversized=*/false)) {
      // The processor's data plane: a FetchResult that still decodes refers to a feed that does
      // not exist and carries no feed, so it ends as a parse error.
      if (fake.results_out_socket().Send(WireMessage{"", frames}, /*dont_wait=*/false).ok()) ++sent;
    }
    fake.PumpFor(300);
  }
  EXPECT_GT(sent, 300u);
  // What the workers sent while the garbage arrived is not what this test is after.
  fake.PumpFor(500);

  // Still alive and still speaking the protocol: a fresh Heartbeat and Credit from the fetcher.
  auto fetcher_heartbeat = fake.NextFrom("wf", [](const v1::Envelope& e) {
    return e.has_heartbeat() && e.heartbeat().role() == v1::ROLE_FETCHER;
  });
  ASSERT_TRUE(fetcher_heartbeat.has_value()) << Logs("fetcher-wf");
  EXPECT_TRUE(fetcher->Running()) << Logs("fetcher-wf");
  EXPECT_TRUE(processor->Running()) << Logs("processor-wp");
  // A new coordinator epoch makes the fetcher say Hello again, and a Hello restarts the credit:
  // the next Credit offers every free slot. (The first reply may be the first epoch it learns.)
  for (uint64_t epoch : {77, 78}) {
    v1::Envelope reply;
    reply.mutable_heartbeat()->set_coordinator_epoch(epoch);
    ASSERT_OK(fake.SendTo("wf", reply));
  }
  auto credit = fake.NextFrom("wf", [](const v1::Envelope& e) { return e.has_credit(); });
  ASSERT_TRUE(credit.has_value()) << Logs("fetcher-wf");
  EXPECT_GT(credit->credit().slots(), 0u);

  // A real job through the fetcher, its result through the processor, the report back.
  fake.DrainResults();
  v1::Envelope job;
  job.mutable_job()->set_job_id(1001);
  job.mutable_job()->set_feed_id(feed_id);
  job.mutable_job()->set_url(url);
  job.mutable_job()->set_max_body_bytes(kMaxBodyBytes);
  job.mutable_job()->set_total_timeout_ms(5000);
  ASSERT_OK(fake.SendTo("wf", job));
  std::optional<WireMessage> result;
  for (int i = 0; i < 20 && !result; ++i) {
    result = fake.NextResult();
    if (!result) break;
    auto decoded = DecodeInbound(InboundSocket::kProcessorResults, result->frames);
    if (!decoded.ok() || decoded->envelope.result().job().job_id() != 1001) result.reset();
  }
  ASSERT_TRUE(result.has_value()) << "no result from the fetcher\n" << Logs("fetcher-wf");
  auto decoded = DecodeInbound(InboundSocket::kProcessorResults, result->frames);
  ASSERT_OK(decoded.status());
  EXPECT_EQ(decoded->envelope.result().outcome(), v1::OUTCOME_OK);
  ASSERT_OK(fake.results_out_socket().Send(*result, /*dont_wait=*/false));
  auto report = fake.NextFrom("p:wp", [](const v1::Envelope& e) {
    return e.has_report() && e.report().job_id() == 1001;
  });
  ASSERT_TRUE(report.has_value()) << "no report from the processor\n" << Logs("processor-wp");
  EXPECT_EQ(report->report().outcome(), v1::OUTCOME_OK) << report->report().error();
  EXPECT_EQ(report->report().feed_id(), feed_id);
  EXPECT_EQ(report->report().new_items(), truth->front().items.size());

  // Both counted what they dropped.
  httplib::Client metrics("127.0.0.1", *metrics_port);
  auto page = metrics.Get("/metrics");
  ASSERT_TRUE(page) << "fetcher metrics unreachable";
  EXPECT_GT(MetricValue(page->body, "feedcrawl_fetcher_dropped_messages_total"), 0) << page->body;
  bool processor_counted = false;
  for (int i = 0; i < 50 && !processor_counted; ++i) {
    auto workers = (*store)->ReadWorkers(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    ASSERT_OK(workers.status());
    for (const WorkerHash& worker : *workers) {
      if (worker.role == "processor" && worker.id == "wp" &&
          std::stoll(worker.fields.at("bad_messages")) > 0) {
        processor_counted = true;
      }
    }
    if (!processor_counted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(processor_counted);

  EXPECT_GT(raw.connections(), 0u) << "the raw-byte workers never connected";
  ExpectCleanStop(*fetcher, "fetcher-wf");
  ExpectCleanStop(*processor, "processor-wp");
  ExpectCleanStop(*raw_fetcher, "fetcher-rf");
  ExpectCleanStop(*raw_processor, "processor-rp");
}

}  // namespace
}  // namespace feedcrawl
