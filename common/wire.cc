#include "common/wire.h"

#include <zmq.hpp>
#include <zmq_addon.hpp>

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

}  // namespace

struct WireContext::Impl {
  zmq::context_t context{1};
};

WireContext::WireContext() : impl_(std::make_unique<Impl>()) {}
WireContext::~WireContext() = default;
void* WireContext::native() { return &impl_->context; }

Socket::Socket(SocketKind kind, void* socket) : kind_(kind), socket_(socket) {}

Socket::~Socket() { delete static_cast<zmq::socket_t*>(socket_); }

StatusOr<std::unique_ptr<Socket>> Socket::Create(WireContext& context, SocketKind kind,
                                                 const SocketOptions& options) {
  try {
    auto* raw = new zmq::socket_t(*static_cast<zmq::context_t*>(context.native()), ToZmq(kind));
    std::unique_ptr<Socket> socket(new Socket(kind, raw));
    raw->set(zmq::sockopt::sndhwm, options.send_hwm);
    raw->set(zmq::sockopt::rcvhwm, options.recv_hwm);
    raw->set(zmq::sockopt::maxmsgsize, options.max_message_bytes);
    raw->set(zmq::sockopt::linger, options.linger_ms);
    if (!options.identity.empty()) raw->set(zmq::sockopt::routing_id, options.identity);
    if (kind == SocketKind::kRouter && options.router_mandatory) {
      raw->set(zmq::sockopt::router_mandatory, 1);
    }
    if (options.heartbeat_ivl_ms > 0) {
      raw->set(zmq::sockopt::heartbeat_ivl, options.heartbeat_ivl_ms);
      raw->set(zmq::sockopt::heartbeat_timeout, options.heartbeat_ivl_ms * 3);
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
  try {
    zmq::proxy_steerable(zmq::socket_ref(Z(in.native())), zmq::socket_ref(Z(out.native())),
                         zmq::socket_ref(), zmq::socket_ref(Z(control.native())));
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    if (e.num() == ETERM) return Status::Ok();
    return FromError(e, "forwarder");
  }
}

}  // namespace feedcrawl
