// CURVE on real ZeroMQ sockets over tcp://127.0.0.1: the ZAP handler admits only the allowed
// client keys and counts the others, a client that trusts the wrong server key gets nothing, and
// malformed keys are refused with InvalidArgument before any socket exists.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/wire.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl {
namespace {

constexpr int kTimeoutMs = 10'000;
// How long a message that must not arrive is waited for. It only has to outlast a CURVE
// handshake on loopback; a slow machine makes the test weaker, never wrong.
constexpr int kAbsenceMs = 1'500;

CurveKeyPair NewKeys() {
  auto pair = MakeCurveKeyPair();
  EXPECT_OK(pair.status());
  return pair.ok() ? *pair : CurveKeyPair{};
}

SocketOptions ServerOptions(const CurveKeyPair& server, std::vector<std::string> allowed) {
  SocketOptions options;
  options.security.secret_key = server.secret_key;
  options.security.allowed_client_keys = std::move(allowed);
  options.curve_server = true;
  return options;
}

SocketOptions ClientOptions(const CurveKeyPair& client, const std::string& server_public_key,
                            const std::string& identity = "") {
  SocketOptions options;
  options.security.secret_key = client.secret_key;
  options.security.server_public_key = server_public_key;
  options.identity = identity;
  return options;
}

std::unique_ptr<Socket> MakeSocket(WireContext& context, SocketKind kind,
                                   const SocketOptions& options) {
  auto socket = Socket::Create(context, kind, options);
  EXPECT_OK(socket.status());
  return socket.ok() ? std::move(socket).value() : nullptr;
}

// The next message on `socket` within timeout_ms; nullopt when none came.
std::optional<WireMessage> Receive(Socket& socket, int timeout_ms = kTimeoutMs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    auto got = socket.TryRecv();
    EXPECT_OK(got.status());
    if (!got.ok()) return std::nullopt;
    if (got->has_value()) return std::move(*got);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    EXPECT_OK(PollReadable({&socket}, static_cast<int>(left.count())).status());
  }
}

WireMessage Frames(std::vector<std::string> frames, std::string peer = "") {
  WireMessage m;
  m.peer = std::move(peer);
  m.frames = std::move(frames);
  return m;
}

// Waits until `context` has refused at least one client.
bool WaitForRefusal(const WireContext& context) {
  for (int i = 0; i < kTimeoutMs / 20; ++i) {
    if (context.zap_refused() > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(WireCurveTest, KeyHelpersAgree) {
  ASSERT_TRUE(CurveSupported()) << "this libzmq lacks CURVE; feedcrawl needs it for security";
  const CurveKeyPair pair = NewKeys();
  EXPECT_EQ(pair.public_key.size(), 40u);
  EXPECT_EQ(pair.secret_key.size(), 40u);
  EXPECT_NE(pair.public_key, pair.secret_key);
  auto derived = CurvePublicKey(pair.secret_key);
  ASSERT_OK(derived.status());
  EXPECT_EQ(*derived, pair.public_key);
  EXPECT_NE(NewKeys().secret_key, pair.secret_key);
  EXPECT_OK(CheckCurveKey(pair.public_key, "key"));
}

TEST(WireCurveTest, AdmittedClientExchangesMessagesBothWays) {
  const CurveKeyPair server_keys = NewKeys(), client_keys = NewKeys();
  WireContext server_context, client_context;
  auto server = MakeSocket(server_context, SocketKind::kRouter,
                           ServerOptions(server_keys, {client_keys.public_key}));
  ASSERT_OK(server->Bind("tcp://127.0.0.1:*"));
  auto client = MakeSocket(client_context, SocketKind::kDealer,
                           ClientOptions(client_keys, server_keys.public_key, "worker-a"));
  ASSERT_OK(client->Connect(server->LastEndpoint()));

  ASSERT_OK(client->Send(Frames({"hello", std::string("\0binary", 7)}), false));
  auto request = Receive(*server);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->peer, "worker-a");
  EXPECT_EQ(request->frames, (std::vector<std::string>{"hello", std::string("\0binary", 7)}));
  ASSERT_OK(server->Send(Frames({"welcome"}, request->peer), false));
  auto reply = Receive(*client);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->frames, std::vector<std::string>{"welcome"});
  EXPECT_EQ(server_context.zap_refused(), 0u);
}

TEST(WireCurveTest, UnknownKeyIsRefusedAndCountedWhileAllowedOnesGetThrough) {
  const CurveKeyPair server_keys = NewKeys(), allowed_keys = NewKeys(), stranger_keys = NewKeys();
  WireContext server_context, client_context;
  auto server = MakeSocket(server_context, SocketKind::kPull,
                           ServerOptions(server_keys, {allowed_keys.public_key}));
  ASSERT_OK(server->Bind("tcp://127.0.0.1:*"));

  auto stranger = MakeSocket(client_context, SocketKind::kPush,
                             ClientOptions(stranger_keys, server_keys.public_key));
  ASSERT_OK(stranger->Connect(server->LastEndpoint()));
  ASSERT_OK(stranger->Send(Frames({"from a stranger"}), false));
  ASSERT_TRUE(WaitForRefusal(server_context)) << "the unknown key was never refused";
  EXPECT_FALSE(Receive(*server, kAbsenceMs).has_value());

  auto allowed = MakeSocket(client_context, SocketKind::kPush,
                            ClientOptions(allowed_keys, server_keys.public_key));
  ASSERT_OK(allowed->Connect(server->LastEndpoint()));
  ASSERT_OK(allowed->Send(Frames({"from a friend"}), false));
  auto got = Receive(*server);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->frames, std::vector<std::string>{"from a friend"});
  // The stranger's message never arrives, however long the server keeps reading.
  EXPECT_FALSE(Receive(*server, kAbsenceMs).has_value());
  EXPECT_GT(server_context.zap_refused(), 0u);
}

TEST(WireCurveTest, ClientWithTheWrongServerKeyGetsNothing) {
  const CurveKeyPair server_keys = NewKeys(), impostor_keys = NewKeys(), client_keys = NewKeys();
  WireContext server_context, client_context;
  auto server = MakeSocket(server_context, SocketKind::kRouter,
                           ServerOptions(server_keys, {client_keys.public_key}));
  ASSERT_OK(server->Bind("tcp://127.0.0.1:*"));
  // The client trusts another server's key, so the handshake fails before any message.
  auto client = MakeSocket(client_context, SocketKind::kDealer,
                           ClientOptions(client_keys, impostor_keys.public_key, "misled"));
  ASSERT_OK(client->Connect(server->LastEndpoint()));
  ASSERT_OK(client->Send(Frames({"anyone there?"}), false));
  EXPECT_FALSE(Receive(*server, kAbsenceMs).has_value());
  EXPECT_EQ(server->Send(Frames({"reply"}, "misled"), true).code(), StatusCode::kUnavailable)
      << "the server must not know the misled client as a peer";
  EXPECT_FALSE(Receive(*client, kAbsenceMs).has_value());
}

TEST(WireCurveTest, PlainClientGetsNothingFromACurveServer) {
  const CurveKeyPair server_keys = NewKeys(), client_keys = NewKeys();
  WireContext server_context, client_context;
  auto server = MakeSocket(server_context, SocketKind::kPush,
                           ServerOptions(server_keys, {client_keys.public_key}));
  ASSERT_OK(server->Bind("tcp://127.0.0.1:*"));
  auto plain = MakeSocket(client_context, SocketKind::kPull, SocketOptions{});
  ASSERT_OK(plain->Connect(server->LastEndpoint()));
  auto secured = MakeSocket(client_context, SocketKind::kPull,
                            ClientOptions(client_keys, server_keys.public_key));
  ASSERT_OK(secured->Connect(server->LastEndpoint()));
  // PUSH hands messages only to peers whose handshake succeeded: all go to the secured client.
  for (int i = 0; i < 4; ++i) ASSERT_OK(server->Send(Frames({std::to_string(i)}), false));
  for (int i = 0; i < 4; ++i) {
    auto got = Receive(*secured);
    ASSERT_TRUE(got.has_value()) << i;
    EXPECT_EQ(got->frames, std::vector<std::string>{std::to_string(i)});
  }
  EXPECT_FALSE(Receive(*plain, kAbsenceMs).has_value());
}

TEST(WireCurveTest, EachServerSocketKeepsItsOwnAllowList) {
  const CurveKeyPair server_keys = NewKeys(), a_keys = NewKeys(), b_keys = NewKeys();
  WireContext server_context, client_context;
  auto only_a = MakeSocket(server_context, SocketKind::kPull,
                           ServerOptions(server_keys, {a_keys.public_key}));
  auto only_b = MakeSocket(server_context, SocketKind::kPull,
                           ServerOptions(server_keys, {b_keys.public_key}));
  ASSERT_OK(only_a->Bind("tcp://127.0.0.1:*"));
  ASSERT_OK(only_b->Bind("tcp://127.0.0.1:*"));
  auto b_at_a =
      MakeSocket(client_context, SocketKind::kPush, ClientOptions(b_keys, server_keys.public_key));
  auto b_at_b =
      MakeSocket(client_context, SocketKind::kPush, ClientOptions(b_keys, server_keys.public_key));
  ASSERT_OK(b_at_a->Connect(only_a->LastEndpoint()));
  ASSERT_OK(b_at_b->Connect(only_b->LastEndpoint()));
  ASSERT_OK(b_at_a->Send(Frames({"b to a"}), false));
  ASSERT_OK(b_at_b->Send(Frames({"b to b"}), false));
  auto at_b = Receive(*only_b);
  ASSERT_TRUE(at_b.has_value());
  EXPECT_EQ(at_b->frames, std::vector<std::string>{"b to b"});
  ASSERT_TRUE(WaitForRefusal(server_context));
  EXPECT_FALSE(Receive(*only_a, kAbsenceMs).has_value());
}

TEST(WireCurveTest, MalformedKeysAreInvalidArguments) {
  const CurveKeyPair server_keys = NewKeys(), client_keys = NewKeys();
  WireContext context;
  auto expect_invalid = [&context](SocketKind kind, const SocketOptions& options,
                                   const std::string& mentions) {
    auto socket = Socket::Create(context, kind, options);
    ASSERT_FALSE(socket.ok()) << mentions;
    EXPECT_EQ(socket.status().code(), StatusCode::kInvalidArgument) << socket.status().ToString();
    EXPECT_NE(socket.status().message().find(mentions), std::string::npos)
        << socket.status().ToString();
  };

  SocketOptions short_secret = ClientOptions(client_keys, server_keys.public_key);
  short_secret.security.secret_key = client_keys.secret_key.substr(0, 39);
  expect_invalid(SocketKind::kDealer, short_secret, "40 characters");

  SocketOptions not_z85 = ClientOptions(client_keys, server_keys.public_key);
  not_z85.security.secret_key[5] = ' ';
  expect_invalid(SocketKind::kDealer, not_z85, "Z85");

  SocketOptions no_server_key = ClientOptions(client_keys, "");
  expect_invalid(SocketKind::kDealer, no_server_key, "server's public key");

  SocketOptions bad_server_key = ClientOptions(client_keys, server_keys.public_key + "x");
  expect_invalid(SocketKind::kDealer, bad_server_key, "server public key");

  SocketOptions wrong_public = ClientOptions(client_keys, server_keys.public_key);
  wrong_public.security.public_key = server_keys.public_key;
  expect_invalid(SocketKind::kDealer, wrong_public, "does not belong");

  expect_invalid(SocketKind::kRouter, ServerOptions(server_keys, {}), "allowed client key");
  expect_invalid(SocketKind::kRouter, ServerOptions(server_keys, {client_keys.public_key, "abc"}),
                 "allowed client key #2");

  EXPECT_EQ(CurvePublicKey("too short").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(context.zap_refused(), 0u);
}

TEST(WireCurveTest, SecurityOffLeavesSocketsPlain) {
  WireContext context;
  auto server = MakeSocket(context, SocketKind::kPull, SocketOptions{});
  ASSERT_OK(server->Bind("tcp://127.0.0.1:*"));
  auto client = MakeSocket(context, SocketKind::kPush, SocketOptions{});
  ASSERT_OK(client->Connect(server->LastEndpoint()));
  ASSERT_OK(client->Send(Frames({"plain"}), false));
  auto got = Receive(*server);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->frames, std::vector<std::string>{"plain"});
}

}  // namespace
}  // namespace feedcrawl
