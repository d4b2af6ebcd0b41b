// aps/engine/log.h — the engine's log hook.
//
// The engine reports what a user should know (a job that was removed because its executor is
// missing, a store error being retried, a listener that threw) through one hook. The default
// handler writes "aps: <level>: <message>" to stderr; firmware or services install their own.
//
//   aps::SetLogHandler([](aps::LogLevel level, const char* message) { my_log(level, message); });
#ifndef APS_ENGINE_LOG_H_
#define APS_ENGINE_LOG_H_

namespace aps {

enum class LogLevel : unsigned char { kDebug, kInfo, kWarning, kError };

using LogHandler = void (*)(LogLevel level, const char* message);

// SetLogHandler() — nullptr restores the default. Call at init, before other threads log.
void SetLogHandler(LogHandler handler) noexcept;

// Log() — printf-style; formats into a fixed buffer (messages are truncated at 512 bytes).
// Never allocates; any thread; the handler decides whether it blocks.
[[gnu::format(printf, 2, 3)]] void Log(LogLevel level, const char* fmt, ...) noexcept;

}  // namespace aps

#endif  // APS_ENGINE_LOG_H_
