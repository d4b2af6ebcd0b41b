// aps/platform/wake_fd.h — a file descriptor that becomes readable when a loop should run.
//
// For host-driven schedulers: the application adds fd() to its epoll set / Asio reactor; the
// fd is readable after Signal() (any thread) or once the armed monotonic deadline passes.
// Linux: an epoll fd over an eventfd (signals) and a timerfd (the deadline). Elsewhere Create()
// returns nullptr.
//
//   std::unique_ptr<aps::platform::WakeFd> w = aps::platform::WakeFd::Create();
//   w->ArmAt(deadline);            // owner thread
//   w->Signal();                   // any thread
//   // ... poll(w->fd()) says readable ...
//   w->Clear();                    // owner thread, before doing the work
#ifndef APS_PLATFORM_WAKE_FD_H_
#define APS_PLATFORM_WAKE_FD_H_

#include <memory>
#include <optional>

#include "platform/clock.h"

namespace aps::platform {

class WakeFd {
 public:
  virtual ~WakeFd() = default;
  // Create() — nullptr where the platform has no such fd (or the fds could not be made).
  // Allocates; any thread.
  static std::unique_ptr<WakeFd> Create();
  // The pollable fd (readable = run the loop). Never allocates; any thread.
  virtual int fd() const noexcept = 0;
  // Signal() — make fd() readable now. Never allocates, never blocks; any thread (a write(2)).
  virtual void Signal() noexcept = 0;
  // ArmAt() — make fd() readable once the monotonic clock reaches `deadline`; nullopt disarms.
  // Replaces the previous deadline. Never allocates; owner thread.
  virtual void ArmAt(std::optional<Deadline> deadline) noexcept = 0;
  // Clear() — consume pending signals and an expired deadline so fd() is no longer readable
  // (until the next Signal() or deadline). Never allocates; owner thread.
  virtual void Clear() noexcept = 0;
};

}  // namespace aps::platform

#endif  // APS_PLATFORM_WAKE_FD_H_
