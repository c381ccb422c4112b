// ControlPeer: a fetcher or processor played by a coordinator test over a real DEALER socket
// connected to the coordinator's control endpoint. Sends envelopes (or raw frames) and collects
// what the coordinator sends back. Use from the test's thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/messages.h"
#include "common/wire.h"
#include "proto/feedcrawl.pb.h"
#include "tests/support/status_matchers.h"

namespace feedcrawl::testing {

class ControlPeer {
 public:
  ControlPeer(WireContext& context, const std::string& identity, const std::string& endpoint) {
    SocketOptions options;
    options.identity = identity;
    socket_ = std::move(*Socket::Create(context, SocketKind::kDealer, options));
    EXPECT_OK(socket_->Connect(endpoint));
  }
  void Send(const v1::Envelope& envelope) {
    EXPECT_OK(socket_->Send(WireMessage{"", {EncodeEnvelope(envelope)}}, false));
  }
  void SendRaw(std::vector<std::string> frames) {
    EXPECT_OK(socket_->Send(WireMessage{"", std::move(frames)}, false));
  }
  // Next envelope of the given kind within timeout; others (heartbeats) are skipped.
  std::optional<v1::Envelope> Next(v1::Envelope::BodyCase kind, int timeout_ms = 3000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      auto ready = PollReadable({socket_.get()}, 50);
      if (!ready.ok()) return std::nullopt;
      while (true) {
        auto message = socket_->TryRecv();
        if (!message.ok() || !message->has_value()) break;
        auto envelope = DecodeEnvelope((**message).frames.at(0));
        if (envelope.ok() && envelope->body_case() == kind) return *envelope;
      }
    }
    return std::nullopt;
  }
  // Every job that arrives until none came for quiet_ms (after at_least), or timeout_ms passed.
  std::vector<v1::FetchJob> Jobs(size_t at_least, int quiet_ms = 300, int timeout_ms = 10'000) {
    std::vector<v1::FetchJob> jobs;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    auto quiet_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(quiet_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (jobs.size() >= at_least && std::chrono::steady_clock::now() >= quiet_until) break;
      auto ready = PollReadable({socket_.get()}, 20);
      if (!ready.ok()) break;
      while (true) {
        auto message = socket_->TryRecv();
        if (!message.ok() || !message->has_value()) break;
        auto envelope = DecodeEnvelope((**message).frames.at(0));
        if (!envelope.ok() || envelope->body_case() != v1::Envelope::kJob) continue;
        jobs.push_back(envelope->job());
        quiet_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(quiet_ms);
      }
    }
    return jobs;
  }
  void Hello(v1::Role role, uint32_t credit) {
    v1::Envelope hello;
    hello.mutable_hello()->set_role(role);
    hello.mutable_hello()->set_worker_id("test");
    Send(hello);
    if (credit > 0) {
      v1::Envelope more;
      more.mutable_credit()->set_slots(credit);
      Send(more);
    }
  }
  void Heartbeat() {
    v1::Envelope beat;
    beat.mutable_heartbeat()->set_worker_id("test");
    Send(beat);
  }

 private:
  std::unique_ptr<Socket> socket_;
};

}  // namespace feedcrawl::testing
