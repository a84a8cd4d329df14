// File: common/status.h
//
// Status and Result<T>: how every module boundary in shardhose reports
// failure. Exceptions never cross a module boundary on the data path; a
// function that can fail returns a Status (or a Result<T> holding either a T
// or a non-OK Status), and callers must look at it ([[nodiscard]]).
//
// The code says what the caller should do next, in the spirit of absl's
// guidance on choosing codes:
//   kOk               - success.
//   kInvalidArgument  - the input is wrong (config, template, CLI); fix it
//                       and run again. Never retried.
//   kCorruption       - stored data failed its integrity check (checkpoint
//                       file, gzip stream). Stop; an operator must decide.
//   kNotFound         - the named thing does not exist.
//   kIOError          - local I/O failed (disk full, EIO). Usually fatal for
//                       the write that failed; may succeed later.
//   kUnavailable      - a remote service failed in a way that a later retry
//                       can fix (network, 5xx, throttling). Retry with
//                       backoff; see aws/retry_class.h for the finer class.
//   kPermissionDenied - credentials rejected or access denied. Not retried
//                       by the request layer.
//   kFailedPrecondition - the system is not in a state where the call can
//                       work (e.g. checkpoint belongs to another stream).
//   kAborted          - the operation was cancelled (shutdown).
//   kInternal         - a bug or an unexpected answer from a peer.
//
// Thread-safety: Status and Result are values; const methods may be called
// concurrently.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace shardhose {

// Why a remote call failed, decided once at the AWS edge (aws/retry_class.h)
// so that retry loops elsewhere never parse error strings.
enum class RetryClass : unsigned char {
  kNone = 0,     // not a remote failure, or success
  kThrottled,    // ProvisionedThroughputExceeded, SlowDown, 429: back off longer
  kServerError,  // 5xx, InternalFailure: retry with backoff
  kNetwork,      // no HTTP answer: connect refused, reset, timeout
  kClientError,  // 4xx the caller must fix (access denied, bad request)
};
std::string_view RetryClassName(RetryClass c);

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kCorruption,
  kNotFound,
  kIOError,
  kUnavailable,
  kPermissionDenied,
  kFailedPrecondition,
  kAborted,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsIOError() const { return code_ == StatusCode::kIOError; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  bool IsAborted() const { return code_ == StatusCode::kAborted; }

  // "IOError: write /var/lib/x: No space left on device"
  std::string ToString() const;

  // Returns a copy with `context + ": "` prepended to the message.
  Status WithContext(std::string_view context) const;

  // Remote failures: the class decided at the edge and the peer's own error
  // code (e.g. "ExpiredIteratorException", "SlowDown"); empty otherwise.
  RetryClass retry_class() const { return retry_class_; }
  const std::string& peer_code() const { return peer_code_; }
  bool IsRetryable() const {
    return retry_class_ == RetryClass::kThrottled || retry_class_ == RetryClass::kServerError ||
           retry_class_ == RetryClass::kNetwork;
  }
  Status WithPeer(RetryClass cls, std::string peer_code) && {
    retry_class_ = cls;
    peer_code_ = std::move(peer_code);
    return std::move(*this);
  }

  // Explicitly discards a status (easy to grep for).
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  RetryClass retry_class_ = RetryClass::kNone;
  std::string peer_code_;
};

// Either a T or a non-OK Status. Constructing from an OK Status is a bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace shardhose

// Returns early from the enclosing function if `expr` is not OK.
#define SHARDHOSE_RETURN_IF_ERROR(expr) \
  do {                                  \
    ::shardhose::Status _st = (expr);   \
    if (!_st.ok()) return _st;          \
  } while (0)
