// aps/engine/log.h — the engine's log hook.
//
// The engine reports what a user should know (a job that was removed because its executor is
// missing, a store error being retried, a listener that threw) through one hook. The default
// handler writes "aps: <level>: <message>" to stderr; firmware or services install their own.
// Messages below the log level (default kInfo) are dropped before they are formatted, so the
// debug messages (back-pressure notes such as "executor ... is full", which a burst of due runs
// meets once per loop iteration) cost nothing unless asked for.
//
//   aps::SetLogHandler([](aps::LogLevel level, const char* message) { my_log(level, message); });
//   aps::SetLogLevel(aps::LogLevel::kDebug);  // everything, debug messages included
#ifndef APS_ENGINE_LOG_H_
#define APS_ENGINE_LOG_H_

namespace aps {

enum class LogLevel : unsigned char { kDebug, kInfo, kWarning, kError };

using LogHandler = void (*)(LogLevel level, const char* message);

// SetLogHandler() — nullptr restores the default. Call at init, before other threads log.
void SetLogHandler(LogHandler handler) noexcept;

// SetLogLevel() — the least severe level passed to the handler (default kInfo). Never
// allocates, never blocks; any thread, at any time (a relaxed atomic: a Log() racing with it
// may use either level).
void SetLogLevel(LogLevel level) noexcept;
// LogLevelEnabled() — whether a message at `level` reaches the handler. Same threads.
bool LogLevelEnabled(LogLevel level) noexcept;

// Log() — printf-style; a message below the log level is dropped at once; else it is
// formatted into a fixed buffer (messages are truncated at 512 bytes).
// Never allocates; any thread; the handler decides whether it blocks.
[[gnu::format(printf, 2, 3)]] void Log(LogLevel level, const char* fmt, ...) noexcept;

}  // namespace aps

#endif  // APS_ENGINE_LOG_H_
