// Status formatting and the check-failure handler.
#include "engine/status.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace aps {
namespace {

void DefaultCheckFailure(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "aps: check failed at %s:%d: %s\n", file, line, condition);
  std::abort();
}

// Written once at init (SetCheckFailureHandler contract), read on failure only.
CheckFailureHandler g_check_handler = &DefaultCheckFailure;

void Truncate(char* buf, std::size_t cap, std::size_t wanted) {
  if (wanted > cap) std::memcpy(buf + cap - 3, "...", 3);
}

}  // namespace

void SetCheckFailureHandler(CheckFailureHandler handler) noexcept {
  g_check_handler = handler != nullptr ? handler : &DefaultCheckFailure;
}

void CheckFailed(const char* file, int line, const char* condition) noexcept {
  g_check_handler(file, line, condition);
  std::abort();  // a handler must not return
}

const char* ToString(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kResourceExhausted: return "ResourceExhausted";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kOutOfRange: return "OutOfRange";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kDataLoss: return "DataLoss";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

Status::Status(StatusCode code, std::string_view message) noexcept : code_(code) {
  std::size_t n = message.size() < kMaxMessage ? message.size() : kMaxMessage;
  std::memcpy(message_, message.data(), n);
  message_[n] = '\0';
  Truncate(message_, kMaxMessage, message.size());
}

Status Status::Format(StatusCode code, const char* fmt, ...) noexcept {
  Status s;
  s.code_ = code;
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(s.message_, sizeof(s.message_), fmt, ap);
  va_end(ap);
  if (n > 0) Truncate(s.message_, kMaxMessage, static_cast<std::size_t>(n));
  return s;
}

}  // namespace aps
