// aps/engine/check.h — programmer-error checks (not Statuses).
//
// APS_CHECK(cond) stays on in release builds: it guards cheap invariants whose violation
// means a bug, and calls the failure handler (default: print file:line and abort).
// Firmware installs its own handler with SetCheckFailureHandler() (e.g. log and reset).
// APS_DCHECK(cond) is compiled only with APS_DEBUG.
#ifndef APS_ENGINE_CHECK_H_
#define APS_ENGINE_CHECK_H_

namespace aps {

using CheckFailureHandler = void (*)(const char* file, int line, const char* condition);

// SetCheckFailureHandler() — call once at init, before any other thread starts.
// The handler must not return. Never allocates, never blocks.
void SetCheckFailureHandler(CheckFailureHandler handler) noexcept;

[[noreturn]] void CheckFailed(const char* file, int line, const char* condition) noexcept;

}  // namespace aps

#define APS_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::aps::CheckFailed(__FILE__, __LINE__, #cond))

#if defined(APS_DEBUG)
#define APS_DCHECK(cond) APS_CHECK(cond)
#else
#define APS_DCHECK(cond) static_cast<void>(0)
#endif

#endif  // APS_ENGINE_CHECK_H_
