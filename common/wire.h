// Wire: feedcrawl's adapter over ZeroMQ (the only file that includes zmq.hpp). It offers the
// socket kinds the system uses, multipart messages as strings, non-blocking send and receive,
// polling, and the results forwarder. ZeroMQ errors become Status values; nothing here throws.
//
// CURVE: sockets whose options enable security encrypt and authenticate every peer. The first
// CURVE server socket of a WireContext starts the context's ZAP handler (RFC 27) on a thread of
// its own; it admits only the client keys the server sockets allow and lives until the context
// is destroyed, so a server socket never runs without it.
//
// A Socket belongs to one thread at a time. A WireContext may be shared by threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace feedcrawl {

class WireContext {
 public:
  WireContext();
  ~WireContext();
  WireContext(const WireContext&) = delete;
  WireContext& operator=(const WireContext&) = delete;
  void* native();  // zmq::context_t*, for Socket only

  // CURVE clients refused by this context's ZAP handler (their key is not allowed); 0 while no
  // CURVE server socket has been created. Thread-safe.
  uint64_t zap_refused() const;

 private:
  friend class Socket;  // starts the ZAP handler and registers allow-lists
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class SocketKind { kRouter, kDealer, kPush, kPull, kPair };

// CURVE security for the sockets between hosts (docs/RELIABILITY.md, "Securing a cluster").
// Keys are Z85 text (40 characters), as `feedcrawl keygen` prints them. Off while secret_key is
// empty. The coordinator's sockets are CURVE servers that admit only allowed_client_keys (checked
// by a ZAP handler in the WireContext); workers' sockets are CURVE clients of server_public_key.
struct WireSecurity {
  std::string public_key;                        // this process's keypair
  std::string secret_key;
  std::string server_public_key;                 // workers: the coordinator's public key
  std::vector<std::string> allowed_client_keys;  // coordinator: the workers it admits
  bool enabled() const { return !secret_key.empty(); }
};

// Whether this libzmq was built with CURVE support (it needs libsodium or its bundled
// tweetnacl). Without it every socket with security enabled fails to be created.
bool CurveSupported();

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;
};

// A new random keypair (zmq_curve_keypair). Unavailable when libzmq lacks CURVE.
StatusOr<CurveKeyPair> MakeCurveKeyPair();
// The public key of a Z85 secret key (zmq_curve_public). InvalidArgument for a malformed key.
StatusOr<std::string> CurvePublicKey(const std::string& secret_key);
// Ok when `key` is 40 characters of Z85 that decode to 32 bytes; otherwise InvalidArgument
// naming `what` (e.g. "curve secret key") without quoting a secret.
Status CheckCurveKey(const std::string& key, const std::string& what);

// Limits are set deliberately on every socket (see docs/ARCHITECTURE.md, "ZeroMQ limits").
struct SocketOptions {
  int send_hwm = 1000;                        // messages queued per peer before send blocks
  int recv_hwm = 1000;
  int64_t max_message_bytes = 80LL << 20;     // larger inbound messages drop the connection
  int linger_ms = 0;
  std::string identity;                       // routing id for DEALER sockets
  bool router_mandatory = true;               // ROUTER: error on unroutable peers, not silence
  int heartbeat_ivl_ms = 0;                   // ZMTP heartbeats (0: off)
  // A connect whose peer is not there yet (or is gone) is retried after reconnect_ivl_ms, then
  // at intervals doubling up to reconnect_ivl_max_ms, plus a random part of reconnect_ivl_ms.
  // Roles started together race their binds: ZeroMQ's default of a flat 100 ms (plus up to
  // 100) left a processor that connected first idle for that long.
  int reconnect_ivl_ms = 10;
  int reconnect_ivl_max_ms = 100;
  WireSecurity security;                      // CURVE, when security.enabled()
  bool curve_server = false;                  // this socket is the CURVE server side
};

// One multipart message. `peer` is the routing id on ROUTER sockets (first frame) and empty
// elsewhere; `frames` are the remaining frames.
struct WireMessage {
  std::string peer;
  std::vector<std::string> frames;
};

// A received message whose frames stay in ZeroMQ's buffers, for a receiver that only reads them:
// nothing is copied out. The views are valid until the next receive into it, or its end.
class InPlaceMessage {
 public:
  InPlaceMessage();
  ~InPlaceMessage();
  InPlaceMessage(InPlaceMessage&&) noexcept;
  InPlaceMessage& operator=(InPlaceMessage&&) noexcept;

  // As in WireMessage: the routing id on ROUTER sockets (empty elsewhere), then the frames.
  std::string_view peer() const { return peer_; }
  const std::vector<std::string_view>& frames() const { return frames_; }

 private:
  friend class Socket;
  struct Parts;  // ZeroMQ's messages, kept from one receive to the next
  std::unique_ptr<Parts> parts_;
  std::string_view peer_;
  std::vector<std::string_view> frames_;
};

class Socket {
 public:
  static StatusOr<std::unique_ptr<Socket>> Create(WireContext& context, SocketKind kind,
                                                  const SocketOptions& options = {});
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Binds (or connects) to a ZeroMQ endpoint such as tcp://127.0.0.1:* or ipc:///path.
  Status Bind(const std::string& endpoint);
  Status Connect(const std::string& endpoint);
  Status Disconnect(const std::string& endpoint);
  // How long closing the socket may wait for queued messages to leave (ZMQ_LINGER).
  Status SetLinger(int ms);
  // Starts following this socket's connections (ZeroMQ's socket monitor) for Connected(). Call
  // before Connect, so that no event is missed.
  Status WatchConnections(WireContext& context);
  // Whether a connection to a peer is up, as the monitor last told (true when not watched).
  // Reads the monitor's queued events; call it now and then so that they do not pile up.
  bool Connected();
  // The endpoint actually bound last, with the chosen port for tcp://...:*.
  std::string LastEndpoint() const;

  // Sends a whole message. With dont_wait, returns WouldBlock instead of waiting when the peer's
  // queue is full; Unavailable when a ROUTER peer is unknown.
  Status Send(const WireMessage& message, bool dont_wait = true);
  // Receives one whole message; nullopt when nothing is waiting.
  StatusOr<std::optional<WireMessage>> TryRecv();
  // The same without copying the frames out of ZeroMQ: true when a message was received into
  // *message (whose earlier frames are released), false when nothing is waiting.
  StatusOr<bool> TryRecv(InPlaceMessage* message);

  // File descriptor that becomes readable when the socket's state may have changed (edge
  // signalled: drain with TryRecv until nullopt after each wake-up).
  int Fd() const;
  bool CanRecv() const;
  bool CanSend() const;
  void* native();  // zmq::socket_t*, for Poll and RunForwarder (and tests reading options)

 private:
  Socket(SocketKind kind, void* socket);
  SocketKind kind_;
  void* socket_;             // owned zmq::socket_t
  void* monitor_ = nullptr;  // owned zmq::socket_t (PAIR) receiving monitor events, if watched
  int connections_ = 0;      // connections up, from the monitor's events
};

// Waits up to timeout_ms (-1: forever) until one of the sockets can receive; returns the
// indices of those that can.
StatusOr<std::vector<size_t>> PollReadable(const std::vector<Socket*>& sockets, int timeout_ms);

// Moves every message from `in` to `out` until `control` receives "TERMINATE". Blocks; run it on
// its own thread. Back-pressure carries through: when `out` cannot send, `in` is not read.
Status RunForwarder(Socket& in, Socket& out, Socket& control);

}  // namespace feedcrawl
