// aps-loadgen: end-to-end workloads through the public API, one result line each:
//   peer=aps workload=W key=value ...
//
//   aps-loadgen --workload=throughput --n=1000000 --window-ms=0 --lead-ms=3000 [--threads=T]
//   aps-loadgen --workload=addrate --n=1000000
//   aps-loadgen --workload=lateness --m=100 --interval-ms=1000 --duration-s=10 --lead-ms=500
//   aps-loadgen --workload=timer --n=1000000 --lead-ms=3000 --range-ms=1000 --cancel-frac=0.5
//   --seed=42
//
// Every run checks its own result (each job ran exactly once, none early) and prints
// check=ok|FAILED; the exit status is 1 when a check failed.
//
// Store (throughput, addrate, lateness): --store=memory (the default) or --store=lmdb:DIR, a
// persistent LmdbJobStore in DIR (created when missing; it must hold no jobs) as the "default"
// store, with --durability=sync|nometasync|nosync (default sync). Jobs are then task jobs (a
// registered task with the job's numbers as arguments; a persistent store keeps no C++
// callables), and every change is written to the store (one group commit per scheduler loop
// iteration). --store-horizon-s=S sets SchedulerOptions::store_horizon_us (0: keep every job in
// memory). The result line then also says store=lmdb durability=MODE; for addrate, "absorbed"
// is when the last add is durable (its CommitHandle), and it adds in_memory (job_count(): jobs
// beyond the horizon stay on disk only), stored (read back from the store) and the store's disk
// use per job. With the memory store it adds callable_bytes (sizeof(JobFunction), which holds
// each job's callable) and bytes_beyond_callable (heap_bytes_per_job minus that). Every addrate
// line gives heap_bytes_per_job (malloc's bytes in use) and rss_bytes_per_job (resident
// memory, which also shows memory freed to malloc but kept by it).
//
// --batch=K (addrate): the adds go through AddJobsAsync(), K specs per call; the line then says
// batch=K. (The default, 1, is one AddJobAsync() per job.)
//
// --reserve-jobs=N (throughput, addrate, lateness): SchedulerOptions::reserve_jobs, room for N
// jobs made at Start(); addrate then counts memory from before Start(), so the reservation
// (and Start()'s fixed allocations) are in its per-job figures.
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/executor.h"
#include "engine/interval_trigger.h"
#include "engine/scheduler.h"
#include "engine/timing_wheel.h"
#include "platform/clock.h"
#include "platform/memory.h"
#include "stores/lmdb/lmdb_store.h"

namespace aps {
namespace {

using Args = std::map<std::string, std::string>;

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0 || s.find('=') == std::string::npos) {
      std::fprintf(stderr, "aps-loadgen: arguments are --key=value, got \"%s\"\n", argv[i]);
      std::exit(2);
    }
    a[s.substr(2, s.find('=') - 2)] = s.substr(s.find('=') + 1);
  }
  return a;
}

double Num(const Args& a, const char* key, double def) {
  auto it = a.find(key);
  if (it == a.end()) return def;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0' || !std::isfinite(v) || v < 0) {
    std::fprintf(stderr, "aps-loadgen: --%s must be a non-negative number, got \"%s\"\n", key,
                 it->second.c_str());
    std::exit(2);
  }
  return v;
}

// Whether a count argument is at least 1; says which one when it is not.
bool Positive(const char* key, double v) {
  if (v >= 1) return true;
  std::fprintf(stderr, "aps-loadgen: --%s must be at least 1, got %g\n", key, v);
  return false;
}

std::int64_t WallUs() { return platform::SystemClock().WallMicros(); }
double Secs(std::int64_t us) { return static_cast<double>(us) / 1e6; }
// Heap bytes in use: small chunks (uordblks), the large ones glibc maps separately (hblkhd),
// and the regions aps maps itself (platform::MapRegion(): the command queue's blocks), counted
// whole although pages never written are not resident.
std::size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd + platform::MappedBytes();
}

// Resident memory of the process (RSS), from /proc/self/statm: what the heap figure does not
// show (memory freed to the allocator but kept by it).
std::size_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? static_cast<std::size_t>(resident) * 4096 : 0;
}

std::size_t Threads(const Args& a) {
  const double t = Num(a, "threads", 0);
  if (t >= 1) return static_cast<std::size_t>(t);
  return std::max(1u, std::thread::hardware_concurrency());
}

// --store / --durability.
struct StoreChoice {
  bool lmdb = false;
  std::string dir;
  LmdbDurability durability = LmdbDurability::kSync;
  // Appended to the result line before check= (nothing for the memory store, so its lines stay
  // as they were).
  std::string Tag() const {
    return lmdb ? std::string(" store=lmdb durability=") + ToString(durability) : std::string();
  }
};

StoreChoice Store(const Args& a) {
  StoreChoice c;
  auto it = a.find("store");
  if (it != a.end() && it->second != "memory") {
    if (it->second.rfind("lmdb:", 0) != 0 || it->second.size() == 5) {
      std::fprintf(stderr, "aps-loadgen: --store is memory or lmdb:DIR, got \"%s\"\n",
                   it->second.c_str());
      std::exit(2);
    }
    c.lmdb = true;
    c.dir = it->second.substr(5);
  }
  auto d = a.find("durability");
  if (d != a.end()) {
    Result<LmdbDurability> r = ParseLmdbDurability(d->second);
    if (!r.ok() || !c.lmdb) {
      std::fprintf(stderr, "aps-loadgen: --durability: %s\n",
                   r.ok() ? "only with --store=lmdb:DIR" : r.status().message());
      std::exit(2);
    }
    c.durability = *r;
  }
  return c;
}

// Adds the chosen persistent store to `s` as "default" (nothing for the memory store). The
// store must be empty: jobs left by an earlier run would run and spoil the checks.
bool SetUpStore(Scheduler& s, const StoreChoice& c) {
  if (!c.lmdb) return true;
  LmdbStoreOptions o;
  o.path = c.dir;
  o.durability = c.durability;
  auto store = std::make_unique<LmdbJobStore>(o);
  Status st = store->Start("default");
  if (st.ok()) {
    Result<std::size_t> n = store->Count();
    if (!n.ok()) {
      st = n.status();
    } else if (*n != 0) {
      std::fprintf(stderr,
                   "aps-loadgen: the store at %s holds %zu jobs (from an earlier run?); remove "
                   "the directory or name an empty one\n",
                   c.dir.c_str(), *n);
      return false;
    }
  }
  if (st.ok()) st = s.AddJobStore("default", std::move(store));
  if (!st.ok()) {
    std::fprintf(stderr, "aps-loadgen: %s\n", st.message());
    return false;
  }
  return true;
}

// Disk blocks used by the store's data file.
double DiskBytes(const StoreChoice& c) {
  struct stat sb;
  if (::stat((c.dir + "/data.mdb").c_str(), &sb) != 0) return 0;
  return static_cast<double>(sb.st_blocks) * 512.0;
}

// " reserve_jobs=N" for result lines of runs given --reserve-jobs.
std::string ReserveTag(const Args& a) {
  return " reserve_jobs=" + std::to_string(static_cast<long long>(Num(a, "reserve-jobs", 0)));
}

SchedulerOptions Options(const Args& a) {
  SchedulerOptions o;
  o.default_executor_threads = Threads(a);
  o.max_outstanding_runs = 16384;
  o.max_completion_producers = o.default_executor_threads + 2;
  o.spin_us = static_cast<std::int64_t>(Num(a, "spin-us", static_cast<double>(o.spin_us)));
  o.reserve_jobs = static_cast<std::size_t>(Num(a, "reserve-jobs", 0));
  if (a.count("store-horizon-s") != 0)
    o.store_horizon_us = static_cast<std::int64_t>(Num(a, "store-horizon-s", 0) * 1e6);
  return o;
}

// --- throughput --------------------------------------------------------------------------
struct Shared {
  std::vector<std::atomic<std::uint8_t>> ran;
  std::atomic<std::int64_t> done{0};
  std::atomic<std::int64_t> early{0};
  std::atomic<std::int64_t> last_exec_us{0};
  std::int64_t n = 0;
  explicit Shared(std::int64_t count) : ran(static_cast<std::size_t>(count)), n(count) {}
};

// One throughput job's run: job i, due at `due`.
void ThroughputRun(Shared* sh, std::int64_t i, std::int64_t due) {
  const std::int64_t now = WallUs();
  if (now < due) sh->early.fetch_add(1, std::memory_order_relaxed);
  sh->ran[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
  if (sh->done.fetch_add(1, std::memory_order_acq_rel) + 1 == sh->n) sh->last_exec_us.store(now);
}

int Throughput(const Args& a) {
  const std::int64_t n = static_cast<std::int64_t>(Num(a, "n", 100000));
  if (!Positive("n", static_cast<double>(n))) return 2;
  const double window_ms = Num(a, "window-ms", 0), lead_ms = Num(a, "lead-ms", 3000);
  const StoreChoice store = Store(a);
  Scheduler s(Options(a));
  auto shared = std::make_shared<Shared>(n);
  if (store.lmdb) {
    Shared* sh = shared.get();
    if (!s.AddTask("loadgen.throughput",
                   [sh](const TaskArgs& t) {
                     ThroughputRun(sh, t.args.at(0).as_int(), t.args.at(1).as_int());
                   })
             .ok() ||
        !SetUpStore(s, store)) {
      return 1;
    }
  }
  if (!s.Start().ok()) return 1;
  const std::int64_t t0 = WallUs();
  const std::int64_t first_due = t0 + static_cast<std::int64_t>(lead_ms * 1000);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t due =
        first_due + static_cast<std::int64_t>(window_ms * 1000 * static_cast<double>(i) /
                                              static_cast<double>(n));
    JobSpec spec;
    Shared* sh = shared.get();
    if (store.lmdb) {
      spec.task = "loadgen.throughput";
      spec.args.args = {Value(i), Value(due)};
    } else {
      spec.fn = JobFunction::Bind([sh, i, due] { ThroughputRun(sh, i, due); });
    }
    spec.next_run_time = NextRunTime::At(Instant{due});
    if (!s.AddJobAsync(std::move(spec)).ok()) return 1;
  }
  const std::int64_t added = WallUs();
  const std::int64_t last_due =
      first_due + static_cast<std::int64_t>(window_ms * 1000 * static_cast<double>(n - 1) /
                                            static_cast<double>(n));
  const std::int64_t deadline = last_due + 120'000'000;
  while (shared->done.load() < n && WallUs() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  (void)s.Shutdown(true);
  std::int64_t once = 0;
  for (auto& r : shared->ran) once += r.load() == 1;
  const std::int64_t last = shared->last_exec_us.load();
  const bool ok = once == n && shared->early.load() == 0 && shared->done.load() == n;
  const double seconds = Secs(last - t0), drain = Secs(last - first_due);
  std::printf(
      "peer=aps workload=throughput n=%lld window_ms=%g lead_ms=%g threads=%zu add_seconds=%.3f "
      "seconds=%.3f "
      "jobs_per_s=%.0f lag_ms=%.3f drain_seconds=%.3f drain_jobs_per_s=%.0f drain_valid=%s "
      "ran_once=%lld "
      "early=%lld%s check=%s\n",
      static_cast<long long>(n), window_ms, lead_ms, Threads(a), Secs(added - t0), seconds,
      static_cast<double>(n) / seconds, static_cast<double>(last - last_due) / 1000.0, drain,
      static_cast<double>(n) / drain, added <= first_due ? "yes" : "no",
      static_cast<long long>(once), static_cast<long long>(shared->early.load()),
      store.Tag().c_str(), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

// --- addrate -----------------------------------------------------------------------------
// The addrate line: the fields both stores report, then `extra` (already formatted, starting
// with a space, or empty), then the check.
// Heap in use and resident memory at one moment.
struct MemMark {
  std::size_t heap = HeapInUse();
  std::size_t rss = ResidentBytes();
};
double PerJob(std::size_t before, std::size_t after, std::int64_t n) {
  return (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(n);
}

void PrintAddRate(std::int64_t n, std::int64_t t0, std::int64_t added, std::int64_t absorbed,
                  const MemMark& m0, const MemMark& m1, const std::string& extra, bool ok) {
  std::printf(
      "peer=aps workload=addrate n=%lld adds_per_s=%.0f absorbed_per_s=%.0f add_seconds=%.3f "
      "absorb_seconds=%.3f heap_bytes_per_job=%.0f rss_bytes_per_job=%.0f%s check=%s\n",
      static_cast<long long>(n), static_cast<double>(n) / Secs(added - t0),
      static_cast<double>(n) / Secs(absorbed - t0), Secs(added - t0), Secs(absorbed - t0),
      PerJob(m0.heap, m1.heap, n), PerJob(m0.rss, m1.rss, n), extra.c_str(), ok ? "ok" : "FAILED");
}

int AddRate(const Args& a) {
  const std::int64_t n = static_cast<std::int64_t>(Num(a, "n", 100000));
  if (!Positive("n", static_cast<double>(n))) return 2;
  const StoreChoice store = Store(a);
  Scheduler s(Options(a));
  if (store.lmdb &&
      (!s.AddTask("loadgen.noop", [](const TaskArgs&) {}).ok() || !SetUpStore(s, store))) {
    return 1;
  }
  // With --reserve-jobs, Start() allocates the jobs' room: it then counts from before Start()
  // (with Start()'s fixed allocations, a pessimistic figure); otherwise from after it.
  const bool reserving = Num(a, "reserve-jobs", 0) > 0;
  MemMark m0;
  if (!s.Start().ok()) return 1;
  if (!reserving) m0 = MemMark();
  const std::int64_t day = WallUs() + 86'400'000'000LL;
  const std::int64_t t0 = WallUs();
  // Persistent store: the last add carries a CommitHandle. One producer's adds are applied in
  // order and every loop iteration commits what it applied, so when the last add is durable,
  // all are.
  CommitHandle last;
  const auto make = [&](std::int64_t i) {
    JobSpec spec;
    if (store.lmdb) {
      spec.task = "loadgen.noop";
    } else {
      spec.fn = JobFunction::Bind([] {});
    }
    spec.next_run_time = NextRunTime::At(Instant{day + i});
    return spec;
  };
  // --batch=K: AddJobsAsync() with K specs per call (the last job alone, with the handle).
  const std::int64_t batch = std::max<std::int64_t>(1, Num(a, "batch", 1));
  std::vector<JobSpec> specs;
  std::int64_t i = 0;
  if (batch > 1) {
    specs.reserve(static_cast<std::size_t>(batch));
    while (i < n - 1) {
      specs.clear();
      for (; i < n - 1 && static_cast<std::int64_t>(specs.size()) < batch; ++i)
        specs.push_back(make(i));
      if (const Status st = s.AddJobsAsync(specs); !st.ok()) {
        std::fprintf(stderr, "aps-loadgen: AddJobsAsync: %s\n", st.message());
        return 1;
      }
    }
  }
  for (; i < n; ++i) {
    if (!s.AddJobAsync(make(i), store.lmdb && i == n - 1 ? &last : nullptr).ok()) return 1;
  }
  const std::int64_t added = WallUs();
  const std::string batch_tag = batch > 1 ? " batch=" + std::to_string(batch) : "";
  if (!store.lmdb) {
    while (s.job_count() < static_cast<std::size_t>(n))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    const std::int64_t absorbed = WallUs();
    const MemMark m1;
    const bool ok = s.job_count() == static_cast<std::size_t>(n);
    // Every job's callable sits in a JobFunction (its inline buffer holds this one): what the
    // scheduler adds per job is the rest.
    char extra[128];
    std::snprintf(extra, sizeof(extra), " callable_bytes=%zu bytes_beyond_callable=%.0f%s",
                  sizeof(JobFunction),
                  PerJob(m0.heap, m1.heap, n) - static_cast<double>(sizeof(JobFunction)),
                  reserving ? ReserveTag(a).c_str() : "");
    PrintAddRate(n, t0, added, absorbed, m0, m1, extra + batch_tag, ok);
    (void)s.Shutdown(false);
    return ok ? 0 : 1;
  }
  // Persistent: "absorbed" is when the last add is durable. The jobs are due in a day, beyond
  // the store horizon (SchedulerOptions::store_horizon_us, --store-horizon-s), so the scheduler
  // keeps them on disk only and job_count() does not count them; the check reads the store.
  const Status st = last.Wait();
  const std::int64_t absorbed = WallUs();
  const MemMark m1;
  const std::size_t in_memory = s.job_count();
  (void)s.Shutdown(false);
  if (!st.ok())
    std::fprintf(stderr, "aps-loadgen: the last add is not durable: %s\n", st.message());
  std::size_t stored = 0;
  {
    LmdbStoreOptions o;
    o.path = store.dir;
    o.read_only = true;
    LmdbJobStore check(o);
    Result<std::size_t> c = check.Start("check").ok() ? check.Count() : Result<std::size_t>(0);
    if (c.ok()) stored = *c;
  }
  const bool ok = st.ok() && stored == static_cast<std::size_t>(n);
  char extra[160];
  std::snprintf(extra, sizeof(extra), " in_memory=%zu stored=%zu store_disk_bytes_per_job=%.0f%s",
                in_memory, stored, DiskBytes(store) / static_cast<double>(n), store.Tag().c_str());
  PrintAddRate(n, t0, added, absorbed, m0, m1, extra + batch_tag, ok);
  return ok ? 0 : 1;
}

// --- lateness ----------------------------------------------------------------------------
int Lateness(const Args& a) {
  const std::int64_t m = static_cast<std::int64_t>(Num(a, "m", 100));
  const double period_ms = Num(a, "interval-ms", 1000), duration_s = Num(a, "duration-s", 10),
               lead_ms = Num(a, "lead-ms", 500);
  const std::int64_t period = static_cast<std::int64_t>(period_ms * 1000);
  if (!Positive("m", static_cast<double>(m))) return 2;
  if (period <= 0) {
    std::fprintf(stderr, "aps-loadgen: --interval-ms must be at least 0.001, got %g\n", period_ms);
    return 2;
  }
  const StoreChoice store = Store(a);
  std::vector<std::int64_t> samples;
  std::atomic<std::size_t> count{0};
  std::atomic<std::int64_t> early{0};
  // One run of the job that started at `start`.
  auto record = [&, period](std::int64_t start) {
    const std::int64_t now = WallUs();
    // The drift-free instant this run is for: the nearest start + k*period not after now.
    const std::int64_t k = (now - start) / period;
    const std::int64_t late = now - (start + k * period);
    if (now < start) early.fetch_add(1);
    const std::size_t idx = count.fetch_add(1);
    if (idx < samples.size()) samples[idx] = late;
  };
  Scheduler s(Options(a));
  if (store.lmdb && (!s.AddTask("loadgen.lateness",
                                [&record](const TaskArgs& t) { record(t.args.at(0).as_int()); })
                          .ok() ||
                     !SetUpStore(s, store))) {
    return 1;
  }
  if (!s.Start().ok()) return 1;
  const std::int64_t t0 = WallUs() + static_cast<std::int64_t>(lead_ms * 1000);
  const std::int64_t end = t0 + static_cast<std::int64_t>(duration_s * 1e6);
  std::int64_t expected = 0;
  std::vector<std::int64_t> starts(static_cast<std::size_t>(m));
  for (std::int64_t i = 0; i < m; ++i) {
    starts[static_cast<std::size_t>(i)] = t0 + period * i / m;
    expected += (end - starts[static_cast<std::size_t>(i)] + period - 1) / period;
  }
  samples.resize(static_cast<std::size_t>(expected + m * 4));
  for (std::int64_t i = 0; i < m; ++i) {
    const std::int64_t start = starts[static_cast<std::size_t>(i)];
    JobSpec spec;
    if (store.lmdb) {
      spec.task = "loadgen.lateness";
      spec.args.args = {Value(start)};
    } else {
      spec.fn = JobFunction::Bind([&record, start] { record(start); });
    }
    char text[96];
    std::snprintf(text, sizeof(text), "interval(microseconds=%lld)",
                  static_cast<long long>(period));
    IntervalOptions io;
    io.interval = std::chrono::microseconds(period);
    io.start_date = Instant{start};
    io.end_date = Instant{end - 1};
    spec.trigger = std::move(IntervalTrigger::Create(io, Instant{WallUs()})).value();
    spec.max_instances = 1000;
    if (!s.AddJob(std::move(spec)).ok()) return 1;
  }
  while (WallUs() < end + 200'000) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  (void)s.Shutdown(true);
  const std::size_t runs = std::min(count.load(), samples.size());
  std::vector<std::int64_t> v(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(runs));
  std::sort(v.begin(), v.end());
  auto pct = [&](double p) {
    return v.empty() ? 0
                     : v[std::min(v.size() - 1,
                                  static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  };
  double mean = 0;
  for (std::int64_t x : v) mean += static_cast<double>(x);
  mean = v.empty() ? 0 : mean / static_cast<double>(v.size());
  const bool ok = static_cast<std::int64_t>(runs) == expected && early.load() == 0 &&
                  (v.empty() || v.front() >= 0);
  std::printf(
      "peer=aps workload=lateness m=%lld interval_ms=%g duration_s=%g threads=%zu runs=%zu "
      "expected_runs=%lld "
      "p50_us=%lld p99_us=%lld p999_us=%lld max_us=%lld mean_us=%.1f%s check=%s\n",
      static_cast<long long>(m), period_ms, duration_s, Threads(a), runs,
      static_cast<long long>(expected), static_cast<long long>(pct(0.50)),
      static_cast<long long>(pct(0.99)), static_cast<long long>(pct(0.999)),
      static_cast<long long>(v.empty() ? 0 : v.back()), mean, store.Tag().c_str(),
      ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

// --- timer (the wheel alone) -------------------------------------------------------------
int Timer(const Args& a) {
  const std::int64_t n = static_cast<std::int64_t>(Num(a, "n", 1000000));
  const double lead_ms = Num(a, "lead-ms", 3000), range_ms = Num(a, "range-ms", 1000),
               cancel_frac = Num(a, "cancel-frac", 0.5);
  std::mt19937_64 rng(static_cast<std::uint64_t>(Num(a, "seed", 42)));
  const std::int64_t base = WallUs();
  const std::int64_t lead = static_cast<std::int64_t>(lead_ms * 1000),
                     range = static_cast<std::int64_t>(range_ms * 1000);
  if (!Positive("n", static_cast<double>(n))) return 2;
  if (n > std::int64_t{TimingWheel<>::kMaxCapacity}) {
    std::fprintf(stderr, "aps-loadgen: --n must be at most %u for the timer workload, got %lld\n",
                 TimingWheel<>::kMaxCapacity, static_cast<long long>(n));
    return 2;
  }
  if (cancel_frac > 1) {
    std::fprintf(stderr, "aps-loadgen: --cancel-frac must be 0..1, got %g\n", cancel_frac);
    return 2;
  }
  if (range < 1) {
    std::fprintf(stderr, "aps-loadgen: --range-ms must be at least 0.001, got %g\n", range_ms);
    return 2;
  }
  std::vector<std::int64_t> deadlines(static_cast<std::size_t>(n));
  for (auto& d : deadlines)
    d = base + lead + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(range));
  std::vector<std::size_t> order(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  const std::size_t cancels = static_cast<std::size_t>(cancel_frac * static_cast<double>(n));

  TimingWheel<> wheel(static_cast<std::uint32_t>(n), base);
  std::vector<TimingWheel<>::Handle> handles(static_cast<std::size_t>(n));
  const auto i0 = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < n; ++i) {
    handles[static_cast<std::size_t>(i)] =
        *wheel.TryInsert(deadlines[static_cast<std::size_t>(i)], static_cast<std::uint64_t>(i));
  }
  const auto i1 = std::chrono::steady_clock::now();
  // (untimed) The handles to cancel, gathered in random order: a caller holds a timer's
  // handle where it keeps that timer, so the timed loop reads them in sequence and measures
  // Cancel() alone, not a random read of this harness's handle array (another cache miss per
  // cancel, which before 2026-12-07 was part of cancel_ns: see docs/scheduler.md).
  std::vector<TimingWheel<>::Handle> to_cancel(cancels);
  for (std::size_t k = 0; k < cancels; ++k) to_cancel[k] = handles[order[k]];
  const auto c0 = std::chrono::steady_clock::now();
  std::size_t cancelled = 0;
  for (const TimingWheel<>::Handle h : to_cancel) cancelled += wheel.Cancel(h) ? 1u : 0u;
  const auto c1 = std::chrono::steady_clock::now();
  while (WallUs() < base + lead + range)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // untimed
  std::int64_t early = 0, fired = 0;
  const std::int64_t now = WallUs();
  const auto e0 = std::chrono::steady_clock::now();
  wheel.AdvanceTo(now, [&](std::uint64_t, std::int64_t deadline, TimingWheel<>::Handle) {
    early += deadline > now;
    ++fired;
  });
  const auto e1 = std::chrono::steady_clock::now();
  auto ns = [](auto a0, auto a1) {
    return static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(a1 - a0).count());
  };
  const double insert_ns = ns(i0, i1) / static_cast<double>(n);
  const double cancel_ns = cancels ? ns(c0, c1) / static_cast<double>(cancels) : 0;
  const double expire_ns = fired ? ns(e0, e1) / static_cast<double>(fired) : 0;
  const double ops =
      static_cast<double>(n) + static_cast<double>(cancels) + static_cast<double>(fired);
  const double ops_s = ops / ((ns(i0, i1) + ns(c0, c1) + ns(e0, e1)) / 1e9);
  const bool ok = early == 0 && cancelled == cancels &&
                  fired == n - static_cast<std::int64_t>(cancels) && wheel.empty();
  std::printf(
      "peer=aps workload=timer n=%lld cancel_frac=%g insert_ns=%.1f cancel_ns=%.1f expire_ns=%.1f "
      "ops_per_s=%.0f "
      "fired=%lld early_expiries=%lld check=%s\n",
      static_cast<long long>(n), cancel_frac, insert_ns, cancel_ns, expire_ns, ops_s,
      static_cast<long long>(fired), static_cast<long long>(early), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace aps

int main(int argc, char** argv) {
  const aps::Args a = aps::Parse(argc, argv);
  auto w = a.find("workload");
  if (w == a.end()) {
    std::fprintf(
        stderr,
        "usage: aps-loadgen --workload=throughput|addrate|lateness|timer [--key=value ...]\n"
        "  throughput: --n --window-ms --lead-ms --threads --store --durability\n"
        "  addrate:    --n --batch --store --durability\n"
        "  lateness:   --m --interval-ms --duration-s --lead-ms --threads --store --durability\n"
        "  timer:      --n --lead-ms --range-ms --cancel-frac --seed\n"
        "  --store=memory (default) or lmdb:DIR; --durability=sync|nometasync|nosync;\n"
        "  --store-horizon-s=S (lmdb: jobs due within S seconds stay in memory; 0 = all)\n"
        "  --reserve-jobs=N (SchedulerOptions::reserve_jobs: room for N jobs made at Start())\n");
    return 2;
  }
  if (w->second == "throughput") return aps::Throughput(a);
  if (w->second == "addrate") return aps::AddRate(a);
  if (w->second == "lateness") return aps::Lateness(a);
  if (w->second == "timer") return aps::Timer(a);
  std::fprintf(stderr, "aps-loadgen: unknown workload \"%s\"\n", w->second.c_str());
  return 2;
}
