// WakeFd on Linux: epoll over an eventfd (Signal) and a CLOCK_MONOTONIC timerfd (ArmAt).
// An epoll fd is itself pollable: readable while any member is ready.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <new>

#include "platform/wake_fd.h"

namespace aps::platform {
namespace {

class LinuxWakeFd final : public WakeFd {
 public:
  LinuxWakeFd(int ep, int ev, int tm) : ep_(ep), ev_(ev), tm_(tm) {}
  ~LinuxWakeFd() override {
    close(tm_);
    close(ev_);
    close(ep_);
  }
  int fd() const noexcept override { return ep_; }
  void Signal() noexcept override {
    const int saved = errno;  // callable from signal handlers
    const std::uint64_t one = 1;
    ssize_t r = write(ev_, &one, sizeof(one));
    (void)r;  // EAGAIN: the counter is saturated, i.e. already readable
    errno = saved;
  }
  void ArmAt(std::optional<Deadline> deadline) noexcept override {
    itimerspec its{};
    if (deadline) {
      // An absolute time of 0 would disarm: clamp to 1 ns.
      const std::int64_t ns = deadline->ns > 0 ? deadline->ns : 1;
      its.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
      its.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
    }
    timerfd_settime(tm_, deadline ? TFD_TIMER_ABSTIME : 0, &its, nullptr);
  }
  void Clear() noexcept override {
    std::uint64_t v;
    while (read(ev_, &v, sizeof(v)) > 0) {
    }
    while (read(tm_, &v, sizeof(v)) > 0) {
    }
  }

 private:
  int ep_, ev_, tm_;
};

}  // namespace

std::unique_ptr<WakeFd> WakeFd::Create() {
  const int ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const int tm = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ev < 0 || tm < 0 || ep < 0) {
    if (ev >= 0) close(ev);
    if (tm >= 0) close(tm);
    if (ep >= 0) close(ep);
    return nullptr;
  }
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = ev;
  bool ok = epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) == 0;
  e.data.fd = tm;
  ok = ok && epoll_ctl(ep, EPOLL_CTL_ADD, tm, &e) == 0;
  if (!ok) {
    close(ev);
    close(tm);
    close(ep);
    return nullptr;
  }
  return std::unique_ptr<WakeFd>(new (std::nothrow) LinuxWakeFd(ep, ev, tm));
}

}  // namespace aps::platform
