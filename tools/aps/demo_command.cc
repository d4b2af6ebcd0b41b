// `aps demo`: a background scheduler on the real clock running an interval heartbeat, a cron
// job, a one-off date job, an or-combination, a slow job held to one instance, and a job that
// fails once; it prints what runs (with its lateness) and the events, then shuts down after
// --duration seconds or on Ctrl-C, and prints a summary that checks itself.
//
// The jobs are tasks in an LMDB job store (./aps-jobs unless --store or --memory): the first
// run adds them; a later run loads them with their next run times, so stopping and starting
// the demo shows persistence (runs missed while it was stopped are coalesced into one).
#include "tools/aps/demo_command.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/datetime.h"
#include "engine/log.h"
#include "engine/scheduler.h"
#include "engine/trigger_text.h"
#include "stores/lmdb/lmdb_store.h"
#include "tools/aps/cli_util.h"

namespace aps::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void OnSignal(int) { g_interrupted.store(true); }

struct DemoArgs {
  double duration_s = 20;
  std::string tz;
  std::string store = "aps-jobs";
  bool memory = false;
};

std::mutex g_out_mu;
void Say(const char* fmt, const std::string& a = {}, const std::string& b = {}) {
  std::lock_guard<std::mutex> lk(g_out_mu);
  std::printf(fmt, a.c_str(), b.c_str());
  std::fflush(stdout);
}

std::string Clock(const TimeZone& zone) { return FormatIso(WallNow(), zone).substr(11, 12); }

// How late a job on a whole-second schedule started: the time past the second it ran for.
std::string LateForWholeSecond() {
  const std::int64_t us = WallNow().subsecond_micros();
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%+.3f ms",
                static_cast<double>(us < 500'000 ? us : us - 1'000'000) / 1000.0);
  return buf;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  if (!(f >> a >> b >> c)) return "unavailable";
  return a + " " + b + " " + c;
}

int RunDemo(const DemoArgs& args) {
  Result<TimeZonePtr> zone = LoadTimeZone(args.tz.empty() ? LocalZoneName() : args.tz);
  if (!zone.ok()) {
    std::fprintf(stderr, "aps demo: --tz: %s\n", zone.status().message());
    return 2;
  }
  const TimeZone& z = **zone;
  // The engine's log lines go to stdout too, in order with the jobs' output.
  SetLogHandler([](LogLevel, const char* message) { Say("  log: %s%s\n", message); });
  SchedulerOptions o;
  o.timezone = *zone;
  o.default_executor_threads = 4;
  Scheduler s(o);

  std::map<std::string, int> counts;
  std::mutex counts_mu;
  std::atomic<int> heartbeats{0}, crons{0}, slow_runs{0}, date_runs{0}, or_runs{0};
  s.AddListener(
      [&](const Event& e) {
        {
          std::lock_guard<std::mutex> lk(counts_mu);
          ++counts[EventName(e.code)];
        }
        if (e.code == kEventJobError) Say("  event JOB_ERROR %s: %s\n", e.job_id, e.error);
        if (e.code == kEventJobMaxInstances)
          Say("  event JOB_MAX_INSTANCES %s: previous run still busy, run dropped\n", e.job_id);
        if (e.code == kEventJobRemoved) Say("  event JOB_REMOVED %s\n", e.job_id);
      },
      kEventAll);

  if (!args.memory) {
    LmdbStoreOptions so;
    so.path = args.store;
    if (Status st = s.AddJobStore("default", std::make_unique<LmdbJobStore>(so)); !st.ok()) {
      std::fprintf(stderr, "aps demo: %s\n", st.message());
      return 1;
    }
  }
  // The tasks: what the stored jobs run (a store keeps the task's name, not the function).
  std::atomic<bool> failed{false};
  auto task = [&](const char* name, auto fn) {
    if (Status st = s.AddTask(name, [fn](const TaskArgs&) { fn(); }); !st.ok()) {
      std::fprintf(stderr, "aps demo: task %s: %s\n", name, st.message());
      std::exit(1);
    }
  };
  task("heartbeat", [&] {
    ++heartbeats;
    Say("%s heartbeat  (interval 1 s)          started %s late\n", Clock(z), LateForWholeSecond());
  });
  task("loadavg", [&] {
    ++crons;
    Say("%s loadavg    (cron second='*/3')     %s\n", Clock(z), LoadAverage());
  });
  task("hello-once", [&] {
    ++date_runs;
    Say("%s hello-once (date, +5 s)            runs once, then is removed%s\n", Clock(z));
  });
  task("either", [&] {
    ++or_runs;
    Say("%s either     (or: every 7 s | :30)  %s\n", Clock(z));
  });
  task("slow", [&] {
    ++slow_runs;
    Say("%s slow       (every 1 s, takes 2.5 s, max_instances=1)%s\n", Clock(z));
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  });
  task("flaky", [&] {
    if (!failed.exchange(true)) throw std::runtime_error("simulated failure on the first run");
    Say("%s flaky      (every 4 s)             recovered after its failure%s\n", Clock(z));
  });

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  if (Status st = s.Start(); !st.ok()) {
    std::fprintf(stderr, "aps demo: start: %s\n", st.message());
    return 1;
  }
  const std::size_t loaded = s.GetJobs().size();
  const bool heartbeat_was_stored = s.GetJob("heartbeat").has_value();

  const Instant now = WallNow();
  auto make = [&](const std::string& text) {
    Result<std::unique_ptr<Trigger>> t = ParseTrigger(text, now, *zone);
    if (!t.ok()) {
      std::fprintf(stderr, "aps demo: %s: %s\n", text.c_str(), t.status().message());
      std::exit(1);
    }
    return std::move(t).value();
  };
  // Jobs the store does not hold yet (all of them on the first run; hello-once every run).
  int added = 0;
  auto add = [&](const char* id, std::unique_ptr<Trigger> t, std::int32_t max_instances = 1) {
    if (s.GetJob(id)) return;
    JobSpec spec;
    spec.id = id;
    spec.task = id;
    spec.trigger = std::move(t);
    spec.max_instances = max_instances;
    Result<std::string> r = s.AddJob(std::move(spec));
    if (!r.ok()) {
      std::fprintf(stderr, "aps demo: adding %s: %s\n", id, r.status().message());
      std::exit(1);
    }
    ++added;
  };
  const Instant start = Instant{now.us - now.subsecond_micros() + 2 * kMicrosPerSecond};
  char start_text[64];
  std::snprintf(start_text, sizeof(start_text), "%s", FormatIso(start, z).c_str());
  add("heartbeat", make(std::string("interval(seconds=1, start_date='") + start_text + "')"));
  add("loadavg", make("cron(second='*/3')"));
  add("hello-once",
      make("date(run_date='" + FormatIso(Instant{start.us + 3 * kMicrosPerSecond}, z) + "')"));
  add("either", make("or(interval(seconds=7, start_date='" + std::string(start_text) +
                     "'), cron(second='30'))"));
  add("slow", make(std::string("interval(seconds=1, start_date='") + start_text + "')"));
  add("flaky", make(std::string("interval(seconds=4, start_date='") + start_text + "')"));

  std::printf("aps demo: a background scheduler in %s, running for %.0f s (Ctrl-C stops it)\n\n",
              std::string(z.name()).c_str(), args.duration_s);
  if (args.memory) {
    std::printf("jobs in memory (--memory): gone when the demo stops\n\n");
  } else if (loaded == 0) {
    std::printf(
        "job store: %s (LMDB; new): added %d jobs — run the demo again to see them "
        "loaded\n\n",
        args.store.c_str(), added);
  } else {
    std::printf(
        "job store: %s (LMDB): loaded %zu stored jobs with their next run times, added "
        "%d; runs missed while stopped are coalesced into one\n\n",
        args.store.c_str(), loaded, added);
  }
  std::printf("%s\n", s.PrintJobs().c_str());
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(args.duration_s);
  while (std::chrono::steady_clock::now() < end && !g_interrupted.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const Instant stopped = WallNow();
  std::printf("\naps demo: %s; shutting down (waiting for running jobs)\n",
              g_interrupted.load() ? "interrupted" : "time is up");
  (void)s.Shutdown(/*wait=*/true);

  std::printf("\nevents:");
  for (const auto& [name, n] : counts) std::printf(" %s=%d", name.c_str(), n);
  std::printf("\nruns: heartbeat=%d loadavg=%d hello-once=%d either=%d slow=%d\n",
              heartbeats.load(), crons.load(), date_runs.load(), or_runs.load(), slow_runs.load());
  // The demo checks itself: the heartbeat fires once per whole second from its first due time
  // (2 s after the demo began for a new job; at once for a stored one, whose missed runs are
  // coalesced) to the moment the demo stopped: one either way for a run at the window's edge.
  // The one-off job runs once and the flaky job fails once.
  const bool long_enough = args.duration_s >= 6 && !g_interrupted.load();
  const Instant first_due = heartbeat_was_stored ? now : start;
  const int expect_hb = stopped.us < first_due.us
                            ? 0
                            : static_cast<int>((stopped.us - first_due.us) / kMicrosPerSecond) + 1;
  const bool ok =
      !long_enough || (heartbeats.load() >= expect_hb - 1 && heartbeats.load() <= expect_hb + 1 &&
                       date_runs.load() == 1 && counts["JOB_ERROR"] == 1);
  if (!ok) std::printf("check: expected about %d heartbeats\n", expect_hb);
  std::printf("check: %s\n", ok ? "ok" : "FAILED (see counts above)");
  return ok ? 0 : 1;
}

}  // namespace

std::function<int()> AddDemoCommand(CLI::App& app) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* cmd =
      app.add_subcommand("demo", "run a real scheduler with example jobs (the README's main job)");
  cmd->add_option("-d,--duration", args->duration_s,
                  "seconds to run before shutting down (default 20)")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_option("--tz", args->tz, "the scheduler's zone (default: the system's)");
  cmd->add_option("--store", args->store,
                  "the LMDB job store's directory (default ./aps-jobs; created if missing)");
  cmd->add_flag("--memory", args->memory, "keep the jobs in memory instead (nothing persists)");
  return [args] { return RunDemo(*args); };
}

}  // namespace aps::cli
