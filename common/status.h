// Status and StatusOr<T>: the error values that cross every module boundary in feedcrawl.
// Library exceptions (protobuf, cppzmq, nlohmann::json) are caught in the adapter that wraps the
// library and turned into a Status here. Both types are cheap to move and not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace feedcrawl {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kUnavailable,   // a peer or service could not be reached; retrying may help
  kWouldBlock,    // a non-blocking operation could not proceed now
  kDataLoss,      // malformed or truncated data
  kResourceExhausted,
  kCancelled,
  kInternal,
};

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status WouldBlock(std::string m = "would block") { return {StatusCode::kWouldBlock, std::move(m)}; }
  static Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  bool IsWouldBlock() const { return code_ == StatusCode::kWouldBlock; }
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Ends the process with `status` on stderr: the value of an error was asked for.
[[noreturn]] void DieOnValueOfError(const Status& status);

// Holds either a value or a non-ok Status. Built from an OK status (which carries no value) it
// holds an Internal error instead. Asking for the value of an error is a programming error and
// ends the process in every build, rather than reading a value that is not there.
template <typename T>
class StatusOr {
 public:
  StatusOr(Status status)  // NOLINT
      : status_(status.ok() ? Status::Internal("StatusOr built from an OK status")
                            : std::move(status)) {}
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const T& value() const& {
    if (!ok()) DieOnValueOfError(status_);
    return *value_;
  }
  T& value() & {
    if (!ok()) DieOnValueOfError(status_);
    return *value_;
  }
  T&& value() && {
    if (!ok()) DieOnValueOfError(status_);
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace feedcrawl
