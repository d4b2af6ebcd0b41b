// The log hook: a function pointer, stderr by default.
#include "engine/log.h"

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

}  // namespace

void SetLogHandler(LogHandler handler) noexcept { g_handler = handler ? handler : &DefaultLog; }

void Log(LogLevel level, const char* fmt, ...) noexcept {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  g_handler(level, buf);
}

}  // namespace aps
