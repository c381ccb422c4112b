#include "common/wire.h"

#include <gtest/gtest.h>

#include <zmq.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tests/support/status_matchers.h"
#include "tests/support/test_env.h"

namespace feedcrawl {
namespace {

constexpr int kTimeoutMs = 10000;

std::unique_ptr<Socket> MakeSocket(WireContext& context, SocketKind kind,
                                   const SocketOptions& options = {}) {
  StatusOr<std::unique_ptr<Socket>> socket = Socket::Create(context, kind, options);
  EXPECT_TRUE(socket.ok()) << socket.status().ToString();
  return socket.ok() ? std::move(socket).value() : nullptr;
}

// Calls `take` (one receive without waiting: true when it got a message) until it gets one,
// polling the socket in between, for up to timeout_ms; false when none came or a receive failed.
template <typename Take>
bool ReceiveWithin(Socket& socket, int timeout_ms, Take&& take) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    StatusOr<bool> got = take();
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) return false;
    if (*got) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    EXPECT_OK(PollReadable({&socket}, static_cast<int>(left.count())).status());
  }
}

// The next message on `socket`, waiting up to timeout_ms; nullopt when none came.
std::optional<WireMessage> Receive(Socket& socket, int timeout_ms = kTimeoutMs) {
  std::optional<WireMessage> message;
  ReceiveWithin(socket, timeout_ms, [&]() -> StatusOr<bool> {
    StatusOr<std::optional<WireMessage>> got = socket.TryRecv();
    if (!got.ok()) return got.status();
    message = std::move(*got);
    return message.has_value();
  });
  return message;
}

// The next message on `socket` received in place, waiting up to kTimeoutMs; false when none came.
bool ReceiveInPlace(Socket& socket, InPlaceMessage* message) {
  return ReceiveWithin(socket, kTimeoutMs, [&] { return socket.TryRecv(message); });
}

// A DEALER with routing id `identity`, connected to `endpoint`.
std::unique_ptr<Socket> ConnectedDealer(WireContext& context, const std::string& identity,
                                        const std::string& endpoint) {
  SocketOptions options;
  options.identity = identity;
  auto dealer = MakeSocket(context, SocketKind::kDealer, options);
  if (dealer != nullptr) EXPECT_OK(dealer->Connect(endpoint));
  return dealer;
}

WireMessage Frames(std::vector<std::string> frames) {
  WireMessage m;
  m.frames = std::move(frames);
  return m;
}

TEST(WireTest, AMessageReceivedInPlaceHasEveryFrameUntilTheNextReceive) {
  WireContext context;
  auto router = MakeSocket(context, SocketKind::kRouter);
  ASSERT_OK(router->Bind("inproc://in-place"));
  auto dealer = ConnectedDealer(context, "fetcher-a", "inproc://in-place");
  ASSERT_NE(dealer, nullptr);

  const std::string body(100000, 'x');  // larger than any frame ZeroMQ stores inline
  ASSERT_OK(dealer->Send(Frames({"envelope", body}), false));
  ASSERT_OK(dealer->Send(Frames({std::string("\0binary\xff", 8)}), false));

  InPlaceMessage message;
  ASSERT_TRUE(ReceiveInPlace(*router, &message));
  EXPECT_EQ(message.peer(), "fetcher-a");
  ASSERT_EQ(message.frames().size(), 2u);
  EXPECT_EQ(message.frames()[0], "envelope");
  EXPECT_EQ(message.frames()[1], body);

  // The next receive replaces the frames, and a receive with nothing waiting leaves none.
  ASSERT_TRUE(ReceiveInPlace(*router, &message));
  EXPECT_EQ(message.peer(), "fetcher-a");
  EXPECT_EQ(message.frames(), (std::vector<std::string_view>{std::string_view("\0binary\xff", 8)}));
  StatusOr<bool> nothing = router->TryRecv(&message);
  ASSERT_OK(nothing.status());
  EXPECT_FALSE(*nothing);
  EXPECT_TRUE(message.frames().empty());
  EXPECT_TRUE(message.peer().empty());

  // On a socket without routing ids there is no peer frame.
  ASSERT_OK(router->Send(WireMessage{"fetcher-a", {"job", "body"}}));
  ASSERT_TRUE(ReceiveInPlace(*dealer, &message));
  EXPECT_TRUE(message.peer().empty());
  EXPECT_EQ(message.frames(), (std::vector<std::string_view>{"job", "body"}));
}

TEST(WireTest, RouterAndDealersRouteByPeerId) {
  WireContext context;
  auto router = MakeSocket(context, SocketKind::kRouter);
  ASSERT_OK(router->Bind("inproc://routing"));
  auto a = ConnectedDealer(context, "fetcher-a", "inproc://routing");
  auto b = ConnectedDealer(context, "fetcher-b", "inproc://routing");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);

  ASSERT_OK(a->Send(Frames({"hello from a"}), false));
  ASSERT_OK(b->Send(Frames({"hello from b", std::string("\0binary\xff", 8)}), false));
  std::map<std::string, std::vector<std::string>> seen;
  for (int i = 0; i < 2; ++i) {
    std::optional<WireMessage> m = Receive(*router);
    ASSERT_TRUE(m.has_value());
    seen[m->peer] = m->frames;
  }
  EXPECT_EQ(seen["fetcher-a"], (std::vector<std::string>{"hello from a"}));
  EXPECT_EQ(seen["fetcher-b"],
            (std::vector<std::string>{"hello from b", std::string("\0binary\xff", 8)}));

  WireMessage reply;
  reply.peer = "fetcher-b";
  reply.frames = {"job", "body"};
  ASSERT_OK(router->Send(reply));
  std::optional<WireMessage> got = Receive(*b);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->peer.empty());
  EXPECT_EQ(got->frames, (std::vector<std::string>{"job", "body"}));
  // Nothing went to the other dealer.
  EXPECT_FALSE(Receive(*a, 50).has_value());
}

TEST(WireTest, RouterRefusesAnUnknownPeer) {
  WireContext context;
  auto router = MakeSocket(context, SocketKind::kRouter);
  ASSERT_OK(router->Bind("inproc://unknown-peer"));
  WireMessage m;
  m.peer = "nobody";
  m.frames = {"job"};
  Status s = router->Send(m);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

TEST(WireTest, PushPullOverTcpWithAChosenPort) {
  WireContext context;
  auto pull = MakeSocket(context, SocketKind::kPull);
  ASSERT_OK(pull->Bind("tcp://127.0.0.1:*"));
  const std::string endpoint = pull->LastEndpoint();
  ASSERT_EQ(endpoint.rfind("tcp://127.0.0.1:", 0), 0u) << endpoint;
  EXPECT_NE(endpoint, "tcp://127.0.0.1:*");
  auto push = MakeSocket(context, SocketKind::kPush);
  ASSERT_OK(push->Connect(endpoint));
  for (int i = 0; i < 5; ++i) ASSERT_OK(push->Send(Frames({"result", std::to_string(i)}), false));
  for (int i = 0; i < 5; ++i) {
    std::optional<WireMessage> m = Receive(*pull);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->frames, (std::vector<std::string>{"result", std::to_string(i)}));
  }
  EXPECT_GE(pull->Fd(), 0);
  EXPECT_FALSE(pull->CanRecv());
}

// Waits up to kTimeoutMs for socket.Connected() to be `want`.
bool WaitConnected(Socket& socket, bool want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (socket.Connected() != want) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(WireTest, AWatchedSocketKnowsWhetherItsPeerIsConnected) {
  WireContext context;
  auto dealer = MakeSocket(context, SocketKind::kDealer);
  EXPECT_TRUE(dealer->Connected());  // not watched: no knowledge, no claim otherwise
  ASSERT_OK(dealer->WatchConnections(context));
  EXPECT_FALSE(dealer->Connected());

  // The peer lives in its own context, as in another process.
  auto peer_context = std::make_unique<WireContext>();
  auto router = MakeSocket(*peer_context, SocketKind::kRouter);
  ASSERT_OK(router->Bind("tcp://127.0.0.1:*"));
  const std::string endpoint = router->LastEndpoint();
  ASSERT_OK(dealer->Connect(endpoint));
  EXPECT_TRUE(WaitConnected(*dealer, true));

  // The peer goes away: the connection is seen down.
  router.reset();
  peer_context.reset();
  EXPECT_TRUE(WaitConnected(*dealer, false));

  // A peer on the same endpoint again: the socket reconnects and says so.
  peer_context = std::make_unique<WireContext>();
  router = MakeSocket(*peer_context, SocketKind::kRouter);
  ASSERT_OK(router->Bind(endpoint));
  EXPECT_TRUE(WaitConnected(*dealer, true));
  router.reset();
  peer_context.reset();
}

// Roles started together race their binds: a socket that connects before its peer binds keeps
// trying, soon (ZeroMQ's own default waits 100-200 ms between tries), and gets through once the
// peer is there.
TEST(WireTest, ASocketConnectedBeforeItsPeerBindsGetsThroughOnceItDoes) {
  testing::TempDir dir;
  const std::string endpoint = "ipc://" + dir.File("results.sock");
  WireContext context;
  auto pull = MakeSocket(context, SocketKind::kPull);
  auto* native = static_cast<zmq::socket_t*>(pull->native());
  EXPECT_EQ(native->get(zmq::sockopt::reconnect_ivl), 10);
  EXPECT_EQ(native->get(zmq::sockopt::reconnect_ivl_max), 100);
  ASSERT_OK(pull->Connect(endpoint));  // nothing bound there yet

  SocketOptions slow;
  slow.reconnect_ivl_ms = 250;
  slow.reconnect_ivl_max_ms = 2000;
  auto other = MakeSocket(context, SocketKind::kPull, slow);
  auto* other_native = static_cast<zmq::socket_t*>(other->native());
  EXPECT_EQ(other_native->get(zmq::sockopt::reconnect_ivl), 250);
  EXPECT_EQ(other_native->get(zmq::sockopt::reconnect_ivl_max), 2000);

  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a few refused tries
  WireContext peer_context;  // as in another process
  auto push = MakeSocket(peer_context, SocketKind::kPush);
  ASSERT_OK(push->Bind(endpoint));
  ASSERT_OK(push->Send(Frames({"first result"}), /*dont_wait=*/false));
  std::optional<WireMessage> got = Receive(*pull);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->frames, std::vector<std::string>({"first result"}));
}

TEST(WireTest, NoPeerMeansWouldBlock) {
  WireContext context;
  auto push = MakeSocket(context, SocketKind::kPush);
  ASSERT_OK(push->Bind("inproc://lonely"));
  EXPECT_EQ(push->Send(Frames({"x"})).code(), StatusCode::kWouldBlock);
  EXPECT_FALSE(push->CanSend());
}

TEST(WireTest, FullQueueMeansWouldBlock) {
  WireContext context;
  SocketOptions small;
  small.send_hwm = 2;
  small.recv_hwm = 2;
  auto pull = MakeSocket(context, SocketKind::kPull, small);
  ASSERT_OK(pull->Bind("inproc://full"));
  auto push = MakeSocket(context, SocketKind::kPush, small);
  ASSERT_OK(push->Connect("inproc://full"));
  int sent = 0;
  Status s;
  for (; sent < 10000; ++sent) {
    s = push->Send(Frames({"job", std::to_string(sent)}));
    if (!s.ok()) break;
  }
  EXPECT_EQ(s.code(), StatusCode::kWouldBlock) << s.ToString();
  EXPECT_GT(sent, 0);
  EXPECT_LT(sent, 10000);
  // Reading one makes room again, and every accepted message arrives whole.
  std::optional<WireMessage> first = Receive(*pull);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->frames, (std::vector<std::string>{"job", "0"}));
  int received = 1;
  while (Receive(*pull, 100).has_value()) ++received;
  EXPECT_EQ(received, sent);
  EXPECT_OK(push->Send(Frames({"again"})));
}

TEST(WireTest, OversizedMessageIsDropped) {
  WireContext context;
  SocketOptions limited;
  limited.max_message_bytes = 1024;
  auto pull = MakeSocket(context, SocketKind::kPull, limited);
  ASSERT_OK(pull->Bind("tcp://127.0.0.1:*"));
  auto push = MakeSocket(context, SocketKind::kPush);
  ASSERT_OK(push->Connect(pull->LastEndpoint()));
  ASSERT_OK(push->Send(Frames({"small-before"}), false));
  std::optional<WireMessage> before = Receive(*pull);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->frames[0], "small-before");

  ASSERT_OK(push->Send(Frames({std::string(64 * 1024, 'x')}), false));
  // The receiver drops the connection that carried the big message; the sender reconnects and
  // later small messages get through. Keep sending until one arrives.
  std::optional<WireMessage> after;
  for (int attempt = 0; attempt < 200 && !after; ++attempt) {
    push->Send(Frames({"small-after"}));
    after = Receive(*pull, 50);
    if (after) {
      for (const auto& frame : after->frames) EXPECT_LE(frame.size(), 1024u);
    }
  }
  ASSERT_TRUE(after.has_value()) << "no message arrived after the oversized one";
  EXPECT_EQ(after->frames, (std::vector<std::string>{"small-after"}));
  while (auto more = Receive(*pull, 50)) {
    for (const auto& frame : more->frames) EXPECT_LE(frame.size(), 1024u);
  }
}

TEST(WireTest, ForwarderMovesMessagesUntilTerminate) {
  WireContext context;
  auto in = MakeSocket(context, SocketKind::kPull);
  auto out = MakeSocket(context, SocketKind::kPush);
  auto control = MakeSocket(context, SocketKind::kPair);
  ASSERT_OK(in->Bind("inproc://fwd-in"));
  ASSERT_OK(out->Bind("inproc://fwd-out"));
  ASSERT_OK(control->Bind("inproc://fwd-control"));
  auto producer = MakeSocket(context, SocketKind::kPush);
  auto consumer = MakeSocket(context, SocketKind::kPull);
  auto controller = MakeSocket(context, SocketKind::kPair);
  ASSERT_OK(producer->Connect("inproc://fwd-in"));
  ASSERT_OK(consumer->Connect("inproc://fwd-out"));
  ASSERT_OK(controller->Connect("inproc://fwd-control"));

  Status forwarder_status = Status::Internal("forwarder did not return");
  std::thread forwarder([&] { forwarder_status = RunForwarder(*in, *out, *control); });

  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(producer->Send(Frames({"envelope-" + std::to_string(i), "body"}), false));
  }
  for (int i = 0; i < 20; ++i) {
    std::optional<WireMessage> m = Receive(*consumer);
    ASSERT_TRUE(m.has_value()) << "message " << i << " was not forwarded";
    EXPECT_EQ(m->frames, (std::vector<std::string>{"envelope-" + std::to_string(i), "body"}));
  }
  ASSERT_OK(controller->Send(Frames({"TERMINATE"}), false));
  forwarder.join();
  EXPECT_OK(forwarder_status);
}

TEST(WireTest, BadEndpointsAreErrors) {
  WireContext context;
  auto s = MakeSocket(context, SocketKind::kPull);
  EXPECT_FALSE(s->Bind("nonsense://x").ok());
  EXPECT_FALSE(s->Connect("tcp://").ok());
}

}  // namespace
}  // namespace feedcrawl
