// A host-driven scheduler inside an application's own epoll loop (Linux).
//
// The scheduler owns no thread: the loop waits on the scheduler's wake fd together with its
// own fds and calls RunDue() when it is readable. Jobs run on the "default" thread pool.
//
//   build/examples/host_driven_epoll            # runs 3 ticks of a 200 ms interval job, exits
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "engine/scheduler.h"
#include "engine/trigger_text.h"

int main() {
  aps::SchedulerOptions options;
  options.mode = aps::SchedulerMode::kHostDriven;
  aps::Scheduler scheduler(options);

  std::atomic<int> ticks{0};
  const aps::Instant now{aps::platform::SystemClock().WallMicros()};
  auto trigger = aps::ParseTrigger("interval(seconds=0.2)", now);
  if (!trigger.ok()) return 1;
  auto id = scheduler.AddJob([&] { std::printf("tick %d\n", ++ticks); }, std::move(*trigger));
  if (!id.ok() || !scheduler.Start().ok()) return 1;

  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = scheduler.WakeFd();
  epoll_ctl(ep, EPOLL_CTL_ADD, scheduler.WakeFd(), &ev);  // ... next to the application's fds

  while (ticks.load() < 3) {
    epoll_event ready[8];
    const int n = epoll_wait(ep, ready, 8, 5000);  // the application's own timeout
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      if (ready[i].data.fd == scheduler.WakeFd()) (void)scheduler.RunDue();
    }
  }
  (void)scheduler.Shutdown();
  close(ep);
  std::printf("%s\n", ticks.load() >= 3 ? "ok" : "FAILED");
  return ticks.load() >= 3 ? 0 : 1;
}
