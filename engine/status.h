// aps/engine/status.h — error codes and results without exceptions or heap.
//
// Every fallible call in engine/, platform/ and stores/ returns a Status or a Result<T>.
// A Status is a canonical code plus a short human-readable message held inline (no heap),
// so it can be created on any thread, in an ISR-free context, with -fno-exceptions.
//
//   aps::Result<aps::TimeZonePtr> tz = aps::LoadTimeZone("Europe/Helsinki");
//   if (!tz.ok()) { fprintf(stderr, "%s\n", tz.status().message()); return 1; }
//   UseZone(*tz);
#ifndef APS_ENGINE_STATUS_H_
#define APS_ENGINE_STATUS_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "engine/check.h"

namespace aps {

// Canonical codes. Choose the most specific one that applies.
enum class StatusCode : std::uint8_t {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong (bad expression, bad zone name); fix the input
  kResourceExhausted,  // a capacity or an allocation ran out; retry later or configure more
  kNotFound,           // the named thing (job id, zone, store alias) does not exist
  kAlreadyExists,      // the id or name is taken
  kFailedPrecondition,  // wrong state for this call (not running, already running); retrying won't
                        // help
  kOutOfRange,          // a value or a search left the supported range (e.g. past year 9999)
  kUnavailable,         // transient: retry
  kDataLoss,            // store corruption, unreadable record
  kInternal,            // a bug in aps
};

// ToString(StatusCode) — "InvalidArgument" etc. Never allocates, never blocks; any thread.
const char* ToString(StatusCode code) noexcept;

class [[nodiscard]] Status {
 public:
  static constexpr std::size_t kMaxMessage = 240;  // longer messages are truncated with "..."

  // OK. Only the first message byte is written: OK results are on hot paths.
  Status() noexcept : code_(StatusCode::kOk) { message_[0] = '\0'; }
  // Status(code, message): copies up to kMaxMessage bytes of `message`. Never allocates.
  Status(StatusCode code, std::string_view message) noexcept;

  // Builds a message printf-style. Never allocates (formats into the inline buffer).
  [[gnu::format(printf, 2, 3)]] static Status Format(StatusCode code, const char* fmt,
                                                     ...) noexcept;

  bool ok() const noexcept { return code_ == StatusCode::kOk; }
  StatusCode code() const noexcept { return code_; }
  // NUL-terminated; empty for OK.
  const char* message() const noexcept { return message_; }

 private:
  StatusCode code_;
  char message_[kMaxMessage + 1];
};

inline Status OkStatus() noexcept { return Status(); }
inline Status InvalidArgument(std::string_view m) noexcept {
  return Status(StatusCode::kInvalidArgument, m);
}

// Result<T>: a T or a non-OK Status. Access to the value of a failed Result is a
// programmer error (APS_CHECK).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : has_value_(true) { new (&storage_) T(value); }        // NOLINT
  Result(T&& value) : has_value_(true) { new (&storage_) T(std::move(value)); }  // NOLINT
  Result(Status status) noexcept : status_(status), has_value_(false) {          // NOLINT
    APS_CHECK(!status_.ok());
  }
  Result(const Result& o) : status_(o.status_), has_value_(o.has_value_) {
    if (has_value_) new (&storage_) T(*o);
  }
  Result(Result&& o) noexcept : status_(o.status_), has_value_(o.has_value_) {
    if (has_value_) new (&storage_) T(std::move(*o));
  }
  Result& operator=(const Result& o) {
    if (this != &o) {
      this->~Result();
      new (this) Result(o);
    }
    return *this;
  }
  Result& operator=(Result&& o) noexcept {
    if (this != &o) {
      this->~Result();
      new (this) Result(std::move(o));
    }
    return *this;
  }
  ~Result() {
    if (has_value_) value_ptr()->~T();
  }

  bool ok() const noexcept { return has_value_; }
  const Status& status() const noexcept { return status_; }

  T& operator*() & {
    APS_CHECK(has_value_);
    return *value_ptr();
  }
  const T& operator*() const& {
    APS_CHECK(has_value_);
    return *value_ptr();
  }
  T&& operator*() && {
    APS_CHECK(has_value_);
    return std::move(*value_ptr());
  }
  T* operator->() {
    APS_CHECK(has_value_);
    return value_ptr();
  }
  const T* operator->() const {
    APS_CHECK(has_value_);
    return value_ptr();
  }
  T value() && { return std::move(**this); }

 private:
  T* value_ptr() { return std::launder(reinterpret_cast<T*>(&storage_)); }
  const T* value_ptr() const { return std::launder(reinterpret_cast<const T*>(&storage_)); }

  Status status_;
  bool has_value_;
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace aps

// APS_RETURN_IF_ERROR(expr): returns the Status of `expr` from the enclosing function if not OK.
#define APS_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::aps::Status aps_status_ = (expr);        \
    if (!aps_status_.ok()) return aps_status_; \
  } while (0)

#endif  // APS_ENGINE_STATUS_H_
