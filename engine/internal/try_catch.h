// aps/engine/internal/try_catch.h — the one exception boundary, compiled away without exceptions.
//
// engine/, platform/ and stores/ build with -fno-exceptions; job callbacks in hosted builds may
// throw. The worker boundary that turns an exception into a failed run is written once, with
// these macros, in code that is instantiated in the *caller's* translation unit (see
// engine/job_function.h), so it is a real try/catch exactly when the user's code can throw:
//
//   APS_TRY { return Call(); }
//   APS_CATCH(...) { return FailureFromCurrentException(); }
//
// With exceptions the pair is `try { } catch (...) { }`. Without, it is moodycamel's
// `if constexpr (true) { } else if constexpr (false) { }`: the handler is still parsed but never
// runs, so it must not name a caught object; describe the exception with
// DescribeCurrentException() instead (the "Lippincott function": rethrow inside a helper and
// catch by type there).
//
// One-definition rule: an inline function whose body depends on the exception mode would have
// two different definitions in a program that mixes -fexceptions and -fno-exceptions translation
// units (every hosted program that links the engine), and the linker would keep an arbitrary one.
// So such functions live in an inline namespace named after the mode, and templates take the mode
// as a template argument (APS_INTERNAL_HAS_EXCEPTIONS): each mode gets its own symbols.
#ifndef APS_ENGINE_INTERNAL_TRY_CATCH_H_
#define APS_ENGINE_INTERNAL_TRY_CATCH_H_

#include <cstddef>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#include <exception>
#define APS_INTERNAL_HAS_EXCEPTIONS 1
#define APS_TRY try
#define APS_CATCH(...) catch (__VA_ARGS__)
#define APS_INTERNAL_EH_NAMESPACE eh
#else
#define APS_INTERNAL_HAS_EXCEPTIONS 0
#define APS_TRY if constexpr (true)
#define APS_CATCH(...) else if constexpr (false)
#define APS_INTERNAL_EH_NAMESPACE noeh
#endif

namespace aps::engine_internal {

// CopyMessage() — copies the NUL-terminated `text` into out[0..size), truncating; `size` > 0.
// Never allocates, never blocks; any thread.
inline void CopyMessage(const char* text, char* out, std::size_t size) noexcept {
  std::size_t i = 0;
  if (text != nullptr) {
    for (; i + 1 < size && text[i] != '\0'; ++i) out[i] = text[i];
  }
  out[i] = '\0';
}

inline namespace APS_INTERNAL_EH_NAMESPACE {

// DescribeCurrentException() — writes the exception being handled into out[0..size): its
// std::exception::what(), or "unknown exception" for anything else. Call only inside an
// APS_CATCH handler. Never allocates, never throws; the handling thread.
inline void DescribeCurrentException(char* out, std::size_t size) noexcept {
#if APS_INTERNAL_HAS_EXCEPTIONS
  try {
    throw;
  } catch (const std::exception& e) {
    CopyMessage(e.what(), out, size);
  } catch (...) {
    CopyMessage("unknown exception", out, size);
  }
#else
  CopyMessage("unknown exception", out, size);  // unreachable: nothing is ever thrown
#endif
}

}  // namespace APS_INTERNAL_EH_NAMESPACE
}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_TRY_CATCH_H_
