// A persistent scheduler (docs/stores.md): jobs in an LMDB store survive the process. Run it
// twice with the same directory: the first run adds the job, the second finds it stored.
//   persistent_quickstart [DIR]      (default: ./persistent-jobs)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "engine/scheduler.h"
#include "engine/trigger_text.h"
#include "stores/lmdb/lmdb_store.h"

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "persistent-jobs";
  aps::Scheduler s;  // background mode, a thread pool
  aps::LmdbStoreOptions store;
  store.path = dir;
  if (aps::Status st = s.AddJobStore("default", std::make_unique<aps::LmdbJobStore>(store));
      !st.ok()) {
    std::fprintf(stderr, "%s\n", st.message());
    return 1;
  }
  // Stored jobs name a task; register every task before Start().
  std::atomic<int> runs{0};
  (void)s.AddTask("greet", [&](const aps::TaskArgs& a) {
    ++runs;
    std::printf("hello, %s\n", a.args.at(0).as_string().c_str());
  });
  if (aps::Status st = s.Start(); !st.ok()) {  // opens the store, loads its jobs
    std::fprintf(stderr, "%s\n", st.message());
    return 1;
  }
  const bool stored = s.GetJob("greeter").has_value();
  std::printf("%s\n", stored ? "the greeter job was stored by an earlier run"
                             : "no greeter job yet: adding it");
  if (!stored) {
    const aps::Instant now{aps::platform::SystemClock().WallMicros()};
    aps::JobSpec spec;
    spec.id = "greeter";
    spec.task = "greet";
    spec.args.args = {aps::Value("world")};
    spec.trigger = std::move(*aps::ParseTrigger("interval(seconds=0.2)", now));
    aps::Result<std::string> id = s.AddJob(std::move(spec));  // returns once it is on disk
    if (!id.ok()) {
      std::fprintf(stderr, "%s\n", id.status().message());
      return 1;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  (void)s.Shutdown();
  std::printf("%d runs; the job stays in %s for the next run\n", runs.load(), dir.c_str());
  return runs.load() > 0 ? 0 : 1;
}
