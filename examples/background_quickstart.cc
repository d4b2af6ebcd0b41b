// The README's quick start: a background scheduler with an interval and a cron job.
//
//   build/examples/background_quickstart
#include <chrono>
#include <cstdio>
#include <thread>

#include "engine/datetime.h"
#include "engine/scheduler.h"
#include "engine/trigger_text.h"

int main() {
  aps::Scheduler scheduler;  // background mode, "default" memory store and thread pool
  const aps::Instant now{aps::platform::SystemClock().WallMicros()};

  auto every_half_second = aps::ParseTrigger("interval(seconds=0.5)", now);
  auto even_seconds = aps::ParseTrigger("cron(second='*/2')", now);
  if (!every_half_second.ok() || !even_seconds.ok()) return 1;
  if (!scheduler.AddJob([] { std::puts("every half second"); }, std::move(*every_half_second))
           .ok() ||
      !scheduler.AddJob([] { std::puts("on even seconds"); }, std::move(*even_seconds)).ok()) {
    return 1;
  }
  scheduler.AddListener(
      [](const aps::Event& e) {
        std::printf("  %s %s\n", aps::EventName(e.code), e.job_id.c_str());
      },
      aps::kEventJobError | aps::kEventJobMaxInstances);

  if (aps::Status s = scheduler.Start(); !s.ok()) {
    std::fprintf(stderr, "start: %s\n", s.message());
    return 1;
  }
  std::fputs(scheduler.PrintJobs().c_str(), stdout);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  (void)scheduler.Shutdown();  // waits for running jobs
  return 0;
}
