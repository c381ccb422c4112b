#include "common/wire.h"

#include <spdlog/spdlog.h>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace feedcrawl {

namespace {

zmq::socket_t& Z(void* p) { return *static_cast<zmq::socket_t*>(p); }

zmq::socket_type ToZmq(SocketKind kind) {
  switch (kind) {
    case SocketKind::kRouter: return zmq::socket_type::router;
    case SocketKind::kDealer: return zmq::socket_type::dealer;
    case SocketKind::kPush: return zmq::socket_type::push;
    case SocketKind::kPull: return zmq::socket_type::pull;
    case SocketKind::kPair: return zmq::socket_type::pair;
  }
  return zmq::socket_type::pair;
}

Status FromError(const zmq::error_t& e, const std::string& what) {
  if (e.num() == EAGAIN) return Status::WouldBlock(what + ": " + e.what());
  if (e.num() == EHOSTUNREACH) return Status::Unavailable(what + ": " + e.what());
  if (e.num() == ETERM) return Status::Cancelled(what + ": " + e.what());
  return Status::Unavailable(what + ": " + e.what());
}

// Where libzmq sends ZAP requests (RFC 27): one handler per context may bind it.
constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr size_t kZ85KeyChars = 40;
constexpr size_t kBinaryKeyBytes = 32;
constexpr char kZ85Alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
// How much of a refused key the log shows: enough to tell keys apart, too little to matter.
constexpr size_t kLoggedKeyChars = 8;

// The 32 bytes of a Z85 key; nullopt when it is not one.
std::optional<std::string> DecodeKey(const std::string& z85) {
  if (z85.size() != kZ85KeyChars) return std::nullopt;
  if (z85.find_first_not_of(kZ85Alphabet) != std::string::npos) return std::nullopt;
  uint8_t binary[kBinaryKeyBytes];
  if (zmq_z85_decode(binary, z85.c_str()) == nullptr) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(binary), sizeof(binary));
}

std::string EncodeKey(const std::string& binary) {
  if (binary.size() != kBinaryKeyBytes) return "";
  char z85[kZ85KeyChars + 1] = {0};
  if (zmq_z85_encode(z85, reinterpret_cast<const uint8_t*>(binary.data()), binary.size()) ==
      nullptr) {
    return "";
  }
  return z85;
}

// The keys of `security`, checked before any of them reaches libzmq (which would only say
// EINVAL). Fills in the public key when only the secret was given.
Status CheckSecurity(WireSecurity& security, bool server) {
  if (!CurveSupported()) {
    return Status::Unavailable(
        "this libzmq was built without CURVE support (it needs libsodium), so sockets cannot be "
        "secured");
  }
  if (Status s = CheckCurveKey(security.secret_key, "curve secret key"); !s.ok()) return s;
  auto derived = CurvePublicKey(security.secret_key);
  if (!derived.ok()) return derived.status();
  if (security.public_key.empty()) {
    security.public_key = *derived;
  } else if (security.public_key != *derived) {
    return Status::InvalidArgument("curve public key does not belong to the curve secret key");
  }
  if (server) {
    if (security.allowed_client_keys.empty()) {
      return Status::InvalidArgument(
          "a CURVE server needs at least one allowed client key: CURVE alone admits any client");
    }
    for (size_t i = 0; i < security.allowed_client_keys.size(); ++i) {
      Status s = CheckCurveKey(security.allowed_client_keys[i],
                               "allowed client key #" + std::to_string(i + 1));
      if (!s.ok()) return s;
    }
  } else {
    if (security.server_public_key.empty()) {
      return Status::InvalidArgument("a CURVE client needs the server's public key");
    }
    if (Status s = CheckCurveKey(security.server_public_key, "curve server public key"); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace

bool CurveSupported() { return zmq_has("curve") == 1; }

StatusOr<CurveKeyPair> MakeCurveKeyPair() {
  if (!CurveSupported()) {
    return Status::Unavailable("this libzmq was built without CURVE support (it needs libsodium)");
  }
  char public_key[kZ85KeyChars + 1] = {0};
  char secret_key[kZ85KeyChars + 1] = {0};
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return Status::Internal(std::string("zmq_curve_keypair: ") + zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{public_key, secret_key};
}

StatusOr<std::string> CurvePublicKey(const std::string& secret_key) {
  if (Status s = CheckCurveKey(secret_key, "curve secret key"); !s.ok()) return s;
  if (!CurveSupported()) {
    return Status::Unavailable("this libzmq was built without CURVE support (it needs libsodium)");
  }
  char public_key[kZ85KeyChars + 1] = {0};
  if (zmq_curve_public(public_key, secret_key.c_str()) != 0) {
    return Status::InvalidArgument(std::string("curve secret key: ") + zmq_strerror(zmq_errno()));
  }
  return std::string(public_key);
}

Status CheckCurveKey(const std::string& key, const std::string& what) {
  if (key.size() != kZ85KeyChars) {
    return Status::InvalidArgument(what + " must be 40 characters of Z85 text, not " +
                                   std::to_string(key.size()));
  }
  if (!DecodeKey(key)) {
    return Status::InvalidArgument(what + " is not valid Z85 text");
  }
  return Status::Ok();
}

// The ZAP handler: a REP socket on kZapEndpoint served by a thread. Server sockets name a ZAP
// domain; each domain has its own allow-list, so two servers in one context may admit
// different clients. Fails closed: the socket stays bound until the context goes, so if the
// thread ever stops, handshakes wait for an answer instead of passing unchecked.
struct WireContext::Impl {
  zmq::context_t context{1};

  std::mutex mutex;  // guards the fields below
  std::unique_ptr<zmq::socket_t> zap;
  std::thread zap_thread;
  std::map<std::string, std::set<std::string>> allowed;  // ZAP domain -> binary client keys
  std::set<std::string> logged_refusals;                 // binary keys already warned about
  std::atomic<uint64_t> refused{0};

  ~Impl() {
    if (zap_thread.joinable()) {
      context.shutdown();  // the handler's blocking receive returns ETERM
      zap_thread.join();
    }
    zap.reset();
  }

  // Starts the handler if needed; returns the ZAP domain whose allow-list is `keys`.
  StatusOr<std::string> AllowClients(const std::vector<std::string>& keys) {
    std::set<std::string> binary;
    for (const std::string& key : keys) {
      auto decoded = DecodeKey(key);
      if (!decoded) return Status::InvalidArgument("allowed client key is not valid Z85 text");
      binary.insert(*decoded);
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (!zap) {
      try {
        auto socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::rep);
        socket->set(zmq::sockopt::linger, 0);
        socket->bind(kZapEndpoint);
        zap = std::move(socket);
      } catch (const zmq::error_t& e) {
        return Status::Unavailable(std::string("cannot start the ZAP handler that checks CURVE "
                                               "clients: ") +
                                   e.what());
      }
      zap_thread = std::thread([this] { ServeZap(); });
    }
    for (const auto& [domain, domain_keys] : allowed) {
      if (domain_keys == binary) return domain;
    }
    const std::string domain = "feedcrawl-" + std::to_string(allowed.size() + 1);
    allowed[domain] = std::move(binary);
    return domain;
  }

  void ServeZap() {
    zmq::socket_t& socket = *zap;
    while (true) {
      std::vector<zmq::message_t> request;
      try {
        if (!zmq::recv_multipart(socket, std::back_inserter(request))) continue;
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        if (e.num() != ETERM) {
          spdlog::error("ZAP handler stopped ({}): no CURVE client is admitted any more", e.what());
        }
        return;
      }
      const std::vector<std::string> reply = Answer(request);
      try {
        for (size_t i = 0; i < reply.size(); ++i) {
          socket.send(zmq::buffer(reply[i]),
                      i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
      } catch (const zmq::error_t& e) {
        if (e.num() != ETERM) {
          spdlog::error("ZAP handler stopped ({}): no CURVE client is admitted any more", e.what());
        }
        return;
      }
    }
  }

  // The reply to one ZAP request: version, request id, status code and text, user id, metadata.
  std::vector<std::string> Answer(const std::vector<zmq::message_t>& request) {
    auto frame = [&request](size_t i) {
      return i < request.size() ? request[i].to_string() : std::string();
    };
    const std::string id = frame(1);
    if (request.size() < 6 || frame(0) != "1.0") {
      return {"1.0", id, "500", "malformed ZAP request", "", ""};
    }
    const std::string domain = frame(2);
    const std::string address = frame(3);
    const std::string mechanism = frame(5);
    std::lock_guard<std::mutex> lock(mutex);
    auto policy = allowed.find(domain);
    if (mechanism != "CURVE") {
      // Only our CURVE servers name our domains; other sockets of the context are not ours to
      // judge.
      if (policy == allowed.end()) return {"1.0", id, "200", "OK", "", ""};
      return {"1.0", id, "400", "CURVE required", "", ""};
    }
    const std::string key = frame(6);
    if (policy != allowed.end() && policy->second.count(key) > 0) {
      return {"1.0", id, "200", "OK", EncodeKey(key), ""};
    }
    refused.fetch_add(1);
    if (logged_refusals.insert(key).second) {
      spdlog::warn("refused a CURVE client from {}: key {}... is not in the allow-list",
                   address.empty() ? "an unknown address" : address,
                   EncodeKey(key).substr(0, kLoggedKeyChars));
    }
    return {"1.0", id, "400", "client key not allowed", "", ""};
  }
};

WireContext::WireContext() : impl_(std::make_unique<Impl>()) {}
WireContext::~WireContext() = default;
void* WireContext::native() { return &impl_->context; }
uint64_t WireContext::zap_refused() const { return impl_->refused.load(); }

Socket::Socket(SocketKind kind, void* socket) : kind_(kind), socket_(socket) {}

Socket::~Socket() {
  delete static_cast<zmq::socket_t*>(monitor_);
  delete static_cast<zmq::socket_t*>(socket_);
}

Status Socket::WatchConnections(WireContext& context) {
  if (monitor_ != nullptr) return Status::Ok();
  static std::atomic<uint64_t> next_monitor{0};
  const std::string address = "inproc://feedcrawl-monitor-" + std::to_string(next_monitor++);
  if (zmq_socket_monitor(Z(socket_).handle(), address.c_str(),
                         ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) != 0) {
    return FromError(zmq::error_t(), "socket monitor");
  }
  try {
    auto pair = std::make_unique<zmq::socket_t>(*static_cast<zmq::context_t*>(context.native()),
                                                zmq::socket_type::pair);
    pair->set(zmq::sockopt::linger, 0);
    pair->connect(address);
    monitor_ = pair.release();
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromError(e, "socket monitor");
  }
}

bool Socket::Connected() {
  if (monitor_ == nullptr) return true;
  auto& pair = Z(monitor_);
  try {
    // Each event is two frames: 2 bytes of event id and 4 of value, then the endpoint.
    zmq::message_t event;
    while (pair.recv(event, zmq::recv_flags::dontwait)) {
      uint16_t id = 0;
      if (event.size() >= sizeof(id)) std::memcpy(&id, event.data(), sizeof(id));
      if (id == ZMQ_EVENT_CONNECTED) {
        ++connections_;
      } else if (id == ZMQ_EVENT_DISCONNECTED && connections_ > 0) {
        --connections_;
      }
      while (event.more() && pair.recv(event, zmq::recv_flags::dontwait)) {
      }
    }
  } catch (const zmq::error_t&) {
    // The context is closing: keep the last state.
  }
  return connections_ > 0;
}

StatusOr<std::unique_ptr<Socket>> Socket::Create(WireContext& context, SocketKind kind,
                                                 const SocketOptions& options) {
  WireSecurity security = options.security;
  std::string zap_domain;
  if (security.enabled()) {
    if (Status s = CheckSecurity(security, options.curve_server); !s.ok()) return s;
    if (options.curve_server) {
      auto domain = context.impl_->AllowClients(security.allowed_client_keys);
      if (!domain.ok()) return domain.status();
      zap_domain = *domain;
    }
  }
  try {
    auto* raw = new zmq::socket_t(*static_cast<zmq::context_t*>(context.native()), ToZmq(kind));
    std::unique_ptr<Socket> socket(new Socket(kind, raw));
    raw->set(zmq::sockopt::sndhwm, options.send_hwm);
    raw->set(zmq::sockopt::rcvhwm, options.recv_hwm);
    raw->set(zmq::sockopt::maxmsgsize, options.max_message_bytes);
    raw->set(zmq::sockopt::linger, options.linger_ms);
    raw->set(zmq::sockopt::reconnect_ivl, options.reconnect_ivl_ms);
    raw->set(zmq::sockopt::reconnect_ivl_max, options.reconnect_ivl_max_ms);
    if (!options.identity.empty()) raw->set(zmq::sockopt::routing_id, options.identity);
    if (kind == SocketKind::kRouter && options.router_mandatory) {
      raw->set(zmq::sockopt::router_mandatory, 1);
    }
    if (options.heartbeat_ivl_ms > 0) {
      raw->set(zmq::sockopt::heartbeat_ivl, options.heartbeat_ivl_ms);
      raw->set(zmq::sockopt::heartbeat_timeout, options.heartbeat_ivl_ms * 3);
    }
    if (security.enabled() && options.curve_server) {
      raw->set(zmq::sockopt::curve_server, 1);
      raw->set(zmq::sockopt::curve_secretkey, security.secret_key);
      raw->set(zmq::sockopt::zap_domain, zap_domain);
    } else if (security.enabled()) {
      raw->set(zmq::sockopt::curve_serverkey, security.server_public_key);
      raw->set(zmq::sockopt::curve_publickey, security.public_key);
      raw->set(zmq::sockopt::curve_secretkey, security.secret_key);
    }
    return socket;
  } catch (const zmq::error_t& e) {
    return FromError(e, "create socket");
  }
}

Status Socket::Bind(const std::string& endpoint) {
  try {
    Z(socket_).bind(endpoint);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("bind " + endpoint + ": " + e.what());
  }
}

Status Socket::Connect(const std::string& endpoint) {
  try {
    Z(socket_).connect(endpoint);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("connect " + endpoint + ": " + e.what());
  }
}

Status Socket::Disconnect(const std::string& endpoint) {
  try {
    Z(socket_).disconnect(endpoint);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("disconnect " + endpoint + ": " + e.what());
  }
}

Status Socket::SetLinger(int ms) {
  try {
    Z(socket_).set(zmq::sockopt::linger, ms);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(std::string("linger: ") + e.what());
  }
}

std::string Socket::LastEndpoint() const {
  try {
    return Z(socket_).get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t&) {
    return "";
  }
}

Status Socket::Send(const WireMessage& message, bool dont_wait) {
  const zmq::send_flags wait = dont_wait ? zmq::send_flags::dontwait : zmq::send_flags::none;
  try {
    const size_t total = message.frames.size() + (kind_ == SocketKind::kRouter ? 1 : 0);
    size_t index = 0;
    auto send_frame = [&](const std::string& data) -> bool {
      ++index;
      auto flags = index < total ? (wait | zmq::send_flags::sndmore) : wait;
      return Z(socket_).send(zmq::buffer(data), flags).has_value();
    };
    // A multipart message is atomic in ZeroMQ: once the first frame is accepted the remaining
    // frames are queued with it, so would-block can only happen on the first frame.
    if (kind_ == SocketKind::kRouter && !send_frame(message.peer)) return Status::WouldBlock();
    for (const auto& frame : message.frames) {
      if (!send_frame(frame)) return Status::WouldBlock();
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return FromError(e, "send");
  }
}

struct InPlaceMessage::Parts {
  std::vector<zmq::message_t> messages;
};

InPlaceMessage::InPlaceMessage() : parts_(std::make_unique<Parts>()) {}
InPlaceMessage::~InPlaceMessage() = default;
InPlaceMessage::InPlaceMessage(InPlaceMessage&&) noexcept = default;
InPlaceMessage& InPlaceMessage::operator=(InPlaceMessage&&) noexcept = default;

StatusOr<bool> Socket::TryRecv(InPlaceMessage* message) {
  if (message->parts_ == nullptr) message->parts_ = std::make_unique<InPlaceMessage::Parts>();
  std::vector<zmq::message_t>& parts = message->parts_->messages;
  parts.clear();
  message->peer_ = {};
  message->frames_.clear();
  try {
    auto got = zmq::recv_multipart(Z(socket_), std::back_inserter(parts),
                                   zmq::recv_flags::dontwait);
    if (!got) return false;
  } catch (const zmq::error_t& e) {
    parts.clear();
    return FromError(e, "recv");
  }
  size_t first = 0;
  if (kind_ == SocketKind::kRouter && !parts.empty()) {
    message->peer_ = parts[0].to_string_view();
    first = 1;
  }
  for (size_t i = first; i < parts.size(); ++i) {
    message->frames_.push_back(parts[i].to_string_view());
  }
  return true;
}

StatusOr<std::optional<WireMessage>> Socket::TryRecv() {
  try {
    std::vector<zmq::message_t> parts;
    auto got = zmq::recv_multipart(Z(socket_), std::back_inserter(parts),
                                   zmq::recv_flags::dontwait);
    if (!got) return std::optional<WireMessage>();
    WireMessage message;
    size_t first = 0;
    if (kind_ == SocketKind::kRouter && !parts.empty()) {
      message.peer = parts[0].to_string();
      first = 1;
    }
    message.frames.reserve(parts.size() - first);
    for (size_t i = first; i < parts.size(); ++i) message.frames.push_back(parts[i].to_string());
    return std::optional<WireMessage>(std::move(message));
  } catch (const zmq::error_t& e) {
    return FromError(e, "recv");
  }
}

int Socket::Fd() const { return static_cast<int>(Z(socket_).get(zmq::sockopt::fd)); }

bool Socket::CanRecv() const {
  return (Z(socket_).get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
}

bool Socket::CanSend() const {
  return (Z(socket_).get(zmq::sockopt::events) & ZMQ_POLLOUT) != 0;
}

void* Socket::native() { return socket_; }

StatusOr<std::vector<size_t>> PollReadable(const std::vector<Socket*>& sockets, int timeout_ms) {
  std::vector<zmq::pollitem_t> items;
  items.reserve(sockets.size());
  for (Socket* s : sockets) {
    items.push_back({Z(s->native()).handle(), 0, ZMQ_POLLIN, 0});
  }
  try {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(timeout_ms));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::vector<size_t>();
    return FromError(e, "poll");
  }
  std::vector<size_t> ready;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].revents & ZMQ_POLLIN) ready.push_back(i);
  }
  return ready;
}

Status RunForwarder(Socket& in, Socket& out, Socket& control) {
  while (true) {
    try {
      zmq::proxy_steerable(zmq::socket_ref(Z(in.native())), zmq::socket_ref(Z(out.native())),
                           zmq::socket_ref(), zmq::socket_ref(Z(control.native())));
      return Status::Ok();
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return Status::Ok();
      // libzmq's proxy gives up with EAGAIN when a socket it was told is readable has no whole
      // message yet, which happens while peers (CURVE ones above all) complete their
      // handshakes. Nothing was read, so starting it again loses nothing.
      if (e.num() == EAGAIN || e.num() == EINTR) continue;
      return FromError(e, "forwarder");
    }
  }
}

}  // namespace feedcrawl
