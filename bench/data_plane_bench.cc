// The fetcher-to-processor data plane as the local cluster wires it: a fetcher's PUSH socket
// connects to the coordinator's results forwarder (PULL in, PUSH out, RunForwarder on its own
// thread, both bound on ipc://), and a processor's PULL socket connects to the forwarder's
// output. Each message is an encoded FetchResult envelope plus the body as a second frame. A
// sender thread keeps the pipe full; the timed loop receives. Figures are MB/s of bodies and
// messages/s through all three hops (two ipc:// transfers and the forwarder's relay).
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "common/messages.h"
#include "common/wire.h"

namespace feedcrawl {
namespace {

std::string MakeTempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                        "/feedcrawl-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

std::string Header(size_t body_bytes) {
  v1::Envelope envelope;
  v1::FetchResult* result = envelope.mutable_result();
  result->mutable_job()->set_job_id(42);
  result->mutable_job()->set_feed_id(7);
  result->mutable_job()->set_url("http://127.0.0.1:39017/f/04217.xml");
  result->set_outcome(v1::OUTCOME_OK);
  result->set_http_status(200);
  result->set_content_type("application/rss+xml");
  result->set_body_bytes(body_bytes);
  result->set_fetcher_id("fetcher-1");
  return EncodeEnvelope(envelope);
}

// Waits for one whole message; false on a socket error.
bool ReceiveOne(Socket& socket, WireMessage* message) {
  while (true) {
    auto got = socket.TryRecv();
    if (!got.ok()) return false;
    if (got->has_value()) {
      *message = std::move(**got);
      return true;
    }
    if (!PollReadable({&socket}, 100).ok()) return false;
  }
}

void BM_DataPlane(benchmark::State& state) {
  const size_t body_bytes = static_cast<size_t>(state.range(0));
  const std::string dir = MakeTempDir();
  if (dir.empty()) {
    state.SkipWithError("cannot create a temporary directory");
    return;
  }
  const std::string in_endpoint = "ipc://" + dir + "/results-in";
  const std::string out_endpoint = "ipc://" + dir + "/results-out";
  bool setup_ok = true;
  {
    WireContext context;
    auto in = Socket::Create(context, SocketKind::kPull);
    auto out = Socket::Create(context, SocketKind::kPush);
    auto control = Socket::Create(context, SocketKind::kPair);
    auto stopper = Socket::Create(context, SocketKind::kPair);
    auto push = Socket::Create(context, SocketKind::kPush);
    auto pull = Socket::Create(context, SocketKind::kPull);
    for (const Status* s : {&in.status(), &out.status(), &control.status(), &stopper.status(),
                            &push.status(), &pull.status()}) {
      setup_ok = setup_ok && s->ok();
    }
    setup_ok = setup_ok && (*in)->Bind(in_endpoint).ok() && (*out)->Bind(out_endpoint).ok() &&
               (*control)->Bind("inproc://bench-forwarder-stop").ok() &&
               (*stopper)->Connect("inproc://bench-forwarder-stop").ok() &&
               (*push)->Connect(in_endpoint).ok() && (*pull)->Connect(out_endpoint).ok();
    if (!setup_ok) {
      state.SkipWithError("cannot set up the sockets");
    } else {
      std::thread forwarder([&] { (void)RunForwarder(**in, **out, **control); });
      std::atomic<bool> stop{false};
      std::atomic<bool> sender_done{false};
      std::thread sender([&] {
        const std::string header = Header(body_bytes);
        const std::string body(body_bytes, 'x');
        // Blocking sends: the high-water marks hold the sender back, as they hold a fetcher.
        while (!stop.load(std::memory_order_relaxed)) {
          if (!(*push)->Send(WireMessage{"", {header, body}}, /*dont_wait=*/false).ok()) break;
        }
        sender_done = true;
      });

      WireMessage message;
      for (auto _ : state) {
        if (!ReceiveOne(**pull, &message) || message.frames.size() != 2 ||
            message.frames[1].size() != body_bytes) {
          state.SkipWithError("bad or missing message");
          break;
        }
        benchmark::DoNotOptimize(message);
      }
      // The sender may be blocked on a full pipe: keep draining until it has seen the flag.
      stop = true;
      while (!sender_done.load()) {
        auto got = (*pull)->TryRecv();
        if (!got.ok()) break;
        if (!got->has_value()) (void)PollReadable({pull->get()}, 10);
      }
      sender.join();
      (void)(*stopper)->Send(WireMessage{"", {"TERMINATE"}}, /*dont_wait=*/false);
      forwarder.join();
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body_bytes));
}
BENCHMARK(BM_DataPlane)->ArgName("body_bytes")->Arg(1 << 10)->Arg(35 << 10)->Arg(1 << 20)
    ->UseRealTime();

}  // namespace
}  // namespace feedcrawl

BENCHMARK_MAIN();
