// The log hook: a function pointer, stderr by default.
#include "engine/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace aps {
namespace {

void DefaultLog(LogLevel level, const char* message) {
  static const char* const kNames[] = {"debug", "info", "warning", "error"};
  std::fprintf(stderr, "aps: %s: %s\n", kNames[static_cast<int>(level)], message);
}

// Written at init only (SetLogHandler contract).
LogHandler g_handler = &DefaultLog;

// Relaxed: a filter; it publishes nothing.
std::atomic<unsigned char> g_level{static_cast<unsigned char>(LogLevel::kInfo)};

}  // namespace

void SetLogLevel(LogLevel level) noexcept {
  g_level.store(static_cast<unsigned char>(level), std::memory_order_relaxed);
}

bool LogLevelEnabled(LogLevel level) noexcept {
  return static_cast<unsigned char>(level) >= g_level.load(std::memory_order_relaxed);
}

void SetLogHandler(LogHandler handler) noexcept { g_handler = handler ? handler : &DefaultLog; }

void Log(LogLevel level, const char* fmt, ...) noexcept {
  if (!LogLevelEnabled(level)) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  g_handler(level, buf);
}

}  // namespace aps
