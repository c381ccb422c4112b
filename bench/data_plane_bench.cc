// The fetcher-to-processor data plane, both ways a cluster can wire it (docs/ARCHITECTURE.md,
// "Two data planes"):
// - forwarder: a fetcher's PUSH socket connects to the coordinator's results forwarder (PULL in,
//   PUSH out, RunForwarder on its own thread, both bound on ipc://), and a processor's PULL
//   socket connects to the forwarder's output: two ipc:// transfers and the forwarder's relay;
// - direct (`feedcrawl run`): the fetcher's PUSH binds on ipc:// and the processor's PULL
//   connects to it: one transfer.
// Each message is an encoded FetchResult envelope plus the body as a second frame. A sender
// thread keeps the pipe full; the timed loop receives. Figures are MB/s of bodies and messages/s.
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

// Receives and drops messages until `done` is set.
void DrainUntil(Socket& socket, const std::atomic<bool>& done) {
  while (!done.load()) {
    auto got = socket.TryRecv();
    if (!got.ok()) return;
    if (!got->has_value()) (void)PollReadable({&socket}, 10);
  }
}

void BM_DataPlane(benchmark::State& state) {
  const size_t body_bytes = static_cast<size_t>(state.range(0));
  const bool direct = state.range(1) == 1;
  const std::string dir = MakeTempDir();
  if (dir.empty()) {
    state.SkipWithError("cannot create a temporary directory");
    return;
  }
  const std::string in_endpoint = "ipc://" + dir + "/results-in";
  const std::string out_endpoint = "ipc://" + dir + "/results-out";
  {
    // One context per role, as in separate processes: each has its own I/O thread. They are
    // torn down sender first, so no connection drops under a socket that is still closing
    // (libzmq 4.3 can abort on a peer leaving mid-message while the socket terminates).
    WireContext processor_context;
    auto pull = Socket::Create(processor_context, SocketKind::kPull);
    bool setup_ok = pull.ok();
    {
      WireContext coordinator_context;
      auto in = Socket::Create(coordinator_context, SocketKind::kPull);
      auto out = Socket::Create(coordinator_context, SocketKind::kPush);
      auto control = Socket::Create(coordinator_context, SocketKind::kPair);
      auto stopper = Socket::Create(coordinator_context, SocketKind::kPair);
      std::thread forwarder;
      std::atomic<bool> forwarder_done{false};
      {
        WireContext fetcher_context;
        auto push = Socket::Create(fetcher_context, SocketKind::kPush);
        for (const Status* s :
             {&in.status(), &out.status(), &control.status(), &stopper.status(), &push.status()}) {
          setup_ok = setup_ok && s->ok();
        }
        if (setup_ok && direct) {
          setup_ok = (*push)->Bind(in_endpoint).ok() && (*pull)->Connect(in_endpoint).ok();
        } else if (setup_ok) {
          setup_ok = (*in)->Bind(in_endpoint).ok() && (*out)->Bind(out_endpoint).ok() &&
                     (*control)->Bind("inproc://bench-forwarder-stop").ok() &&
                     (*stopper)->Connect("inproc://bench-forwarder-stop").ok() &&
                     (*push)->Connect(in_endpoint).ok() && (*pull)->Connect(out_endpoint).ok();
          if (setup_ok) {
            forwarder = std::thread([&] {
              (void)RunForwarder(**in, **out, **control);
              forwarder_done = true;
            });
          }
        }
        if (!setup_ok) {
          state.SkipWithError("cannot set up the sockets");
        } else {
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
          DrainUntil(**pull, sender_done);
          sender.join();
        }
        if (push.ok()) push->reset();
      }  // the fetcher's context ends here
      if (forwarder.joinable()) {
        // The forwarder may be blocked handing on what the sender left: drain that too.
        (void)(*stopper)->Send(WireMessage{"", {"TERMINATE"}}, /*dont_wait=*/false);
        DrainUntil(**pull, forwarder_done);
        forwarder.join();
      }
      for (auto* socket : {&in, &out, &control, &stopper}) {
        if (socket->ok()) (*socket)->reset();
      }
    }  // the coordinator's context ends here
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body_bytes));
}
BENCHMARK(BM_DataPlane)
    ->ArgNames({"body_bytes", "direct"})
    ->ArgsProduct({{1 << 10, 35 << 10, 1 << 20}, {0, 1}})
    ->UseRealTime();

}  // namespace
}  // namespace feedcrawl

BENCHMARK_MAIN();
