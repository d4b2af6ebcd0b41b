// Persistence benchmarks (issue 4 §7): how many jobs per second become durable, how long a caller
// waits for that, and how long a restart with a million stored jobs takes. Every store here
// flushes each commit to the disk (LMDB kSync: fdatasync; SQLite WAL with synchronous=FULL).
//
// Baselines (one store used directly, no scheduler):
//   Lmdb_PerChangeCommit    aps::LmdbJobStore (kSync), AddJob outside a batch: every job is its
//                           own write transaction and fdatasync. One iteration = one job.
//   Lmdb_Batch1000          the same store, BeginBatch + 1000 AddJob + CommitBatch. One
//                           iteration = one batch (items = 1000 jobs).
//   Sqlite_PerChangeCommit  SQLite as APScheduler's SQLAlchemyJobStore uses it: the table
//                           apscheduler_jobs (id VARCHAR(191) PRIMARY KEY, next_run_time FLOAT
//                           indexed, job_state BLOB), journal_mode=WAL, synchronous=FULL, one
//                           INSERT per transaction (autocommit: what APScheduler's add_job does).
//                           job_state = aps::EncodeJobRecord of the same record the LMDB rows
//                           store. One iteration = one job.
//   Sqlite_Batch1000        BEGIN, 1000 INSERTs, COMMIT. One iteration = one batch.
// txn_p50_us / txn_p99_us: duration of one committed transaction (one job, or 1000 jobs: the
// wait of the batch's first job).
//
// Through the scheduler (aps::Scheduler, kBackground, system clock, default options, an
// LmdbJobStore kSync as "default", a registered task; each job is a one-shot task job due a day
// from now, so nothing runs, and beyond the default 10-minute store horizon, so the scheduler
// drops it from memory once committed; the scheduler commits everything one loop iteration
// applied in one transaction):
//   Scheduler_AddJobAsync/threads:T/window:W   T producer threads each keep at most W
//                           AddJobAsync(spec, &handle) calls outstanding: when W handles are
//                           pending, the producer waits for its oldest. A window models a
//                           client that pipelines requests and acknowledges each once durable.
//   Scheduler_AddJobSync/threads:T             T threads calling AddJob (it returns after the
//                           group commit that made the job durable): window 1 per thread.
// Each runs for APS_STORE_BENCH_SECONDS (default 3) of adding, then waits for every outstanding
// handle; one iteration, timed by hand from the producers' start to the last handle. items/s =
// durable jobs per second. lat_p50_us / lat_p99_us / lat_max_us: per job, from the call to
// the producer seeing its handle ready (AddJob: to its return). A producer checks its oldest
// handles with Ready() before each call and waits with Wait() when its window is full, so a
// sample can be late by up to one AddJobAsync call (a few µs). jobs_per_commit = jobs / LMDB
// write transactions (the group size). cpu_us_per_job: CPU time of the whole process (producers,
// scheduler thread, idle executor workers) per durable job. map_growths: times the LMDB map
// doubled (each replays the open batch). in_memory: job_count() at the end. Afterwards the
// store is opened read-only and must hold every acknowledged job.
//
// Recovery_1M/cold:C/all:A: a store of APS_STORE_BENCH_RECOVERY_JOBS (default 1 000 000) jobs,
// written once per process with kNoSync batches of 10 000 and then flushed: half one-shot date
// jobs, a quarter interval(minutes=1..60), a quarter cron(hour=9, minute=M,
// day_of_week='mon-fri', timezone='Europe/Helsinki'); all first due from a day after the
// process started. One iteration: construct Scheduler + LmdbJobStore (kSync), AddTask,
// AddJobStore, Start() — timed until Start() returns (ready to run). Then, untimed, Shutdown
// and destruction (teardown_s).
//   all:0  default options: the scheduler pages the store and loads only jobs due within
//          store_horizon_us (10 minutes): here none (in_memory = 0), so this is the fixed cost
//          of opening a large store.
//   all:1  store_horizon_us = 0: every job is loaded, bound to its task and put in the timing
//          wheel (in_memory = 1 000 000): the cost per loaded job.
//   cold:1 first drops data.mdb from the page cache (fdatasync + posix_fadvise DONTNEED;
//          resident_pct shows what was still cached; a VM's host may still cache the disk);
//          cold:0 first reads the file through, so Start() finds it in the page cache.
// heap_MB: heap growth across Start (mallinfo2); rss_MB: resident-set growth (includes data.mdb
// pages mapped by LMDB).
// Recovery_1M_StoreLoadJobsOnly: the store's part of all:1 alone (LmdbJobStore Start +
// LoadJobs: read and decode every record), warm.
//
// Temporary stores live in mkdtemp directories under $TMPDIR (default /tmp) and are removed
// when the benchmark (or, for the recovery store, the process) ends. The fsync rates depend on
// the disk under $TMPDIR. Run (Release):
//   build-sbench/bench/store_bench
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <malloc.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/date_trigger.h"
#include "engine/datetime.h"
#include "engine/scheduler.h"
#include "engine/time_zone.h"
#include "engine/trigger_text.h"
#include "engine/value.h"
#include "platform/clock.h"
#include "stores/lmdb/lmdb_store.h"

namespace aps {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}
std::int64_t WallUs() { return platform::SystemClock().WallMicros(); }
// CPU time of the whole process (every thread), user + system.
std::int64_t ProcessCpuUs() {
  struct rusage ru;
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * std::int64_t{1'000'000} + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

double EnvNumber(const char* name, double def) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def;
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  return (end != v && *end == '\0' && d > 0) ? d : def;
}
double AddSeconds() { return EnvNumber("APS_STORE_BENCH_SECONDS", 3); }
std::size_t RecoveryJobs() {
  return static_cast<std::size_t>(EnvNumber("APS_STORE_BENCH_RECOVERY_JOBS", 1'000'000));
}

// ---- temporary directories --------------------------------------------------------------
class TempDir {
 public:
  explicit TempDir(const char* tag) {
    const char* base = std::getenv("TMPDIR");
    std::string t = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                    "/aps-store-bench-" + tag + "-XXXXXX";
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      std::perror("store_bench: mkdtemp");
      std::abort();
    }
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- records ------------------------------------------------------------------------------
// Job ids shaped like the scheduler's generated ones (15 hex digits).
void SetHexId(std::string* id, std::uint64_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  id->resize(15);
  (*id)[0] = 'b';
  for (int i = 0; i < 14; ++i)
    (*id)[static_cast<std::size_t>(1 + i)] = kHex[(n >> (4 * (13 - i))) & 0xf];
}

// The record the scheduler writes for a one-shot task job (AddJobAsync below): a date trigger,
// task "bench.noop" with one integer argument. Per job only the id, the argument and the run
// time change (the trigger text keeps its length).
class RecordMaker {
 public:
  RecordMaker() : base_us_(WallUs() + 86'400'000'000LL) {
    s_.trigger = DateTrigger::Create(Instant{base_us_}, nullptr).value()->ToText();
    s_.executor = "default";
    s_.task = "bench.noop";
  }
  const JobState& Next() {
    const std::uint64_t n = n_++;
    SetHexId(&s_.id, n);
    s_.name = s_.id;
    TaskArgs a;
    a.args.emplace_back(static_cast<std::int64_t>(n));
    s_.args = EncodeArgs(a).value();
    s_.next_run_time = Instant{base_us_ + static_cast<std::int64_t>(n)};
    return s_;
  }

 private:
  std::int64_t base_us_;
  std::uint64_t n_ = 0;
  JobState s_;
};

// ---- latency samples -----------------------------------------------------------------------
double Percentile(std::vector<std::int64_t>* v, double p) {
  if (v->empty()) return 0;
  const std::size_t k =
      std::min(v->size() - 1, static_cast<std::size_t>(p * static_cast<double>(v->size())));
  std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(k), v->end());
  return static_cast<double>((*v)[k]);
}

void ReportTxn(benchmark::State& state, std::vector<std::int64_t>* ns) {
  state.counters["txn_p50_us"] = Percentile(ns, 0.50) / 1e3;
  state.counters["txn_p99_us"] = Percentile(ns, 0.99) / 1e3;
}

// ---- LMDB baselines -------------------------------------------------------------------------
bool StartStore(benchmark::State& state, LmdbJobStore* store) {
  if (Status st = store->Start("bench"); !st.ok()) {
    state.SkipWithError(st.message());
    return false;
  }
  return true;
}

void BM_Lmdb_PerChangeCommit(benchmark::State& state) {
  TempDir dir("lmdb");
  LmdbStoreOptions o;
  o.path = dir.path();
  o.durability = LmdbDurability::kSync;
  LmdbJobStore store(o);
  if (!StartStore(state, &store)) return;
  RecordMaker rec;
  std::vector<std::int64_t> lat;
  for (auto _ : state) {
    const JobState& js = rec.Next();
    const std::int64_t t0 = NowNs();
    const Status st = store.AddJob(js);
    lat.push_back(NowNs() - t0);
    if (!st.ok()) {
      state.SkipWithError(st.message());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  ReportTxn(state, &lat);
}
BENCHMARK(BM_Lmdb_PerChangeCommit)->MinTime(2)->UseRealTime();

void BM_Lmdb_Batch1000(benchmark::State& state) {
  TempDir dir("lmdb");
  LmdbStoreOptions o;
  o.path = dir.path();
  o.durability = LmdbDurability::kSync;
  LmdbJobStore store(o);
  if (!StartStore(state, &store)) return;
  RecordMaker rec;
  std::vector<std::int64_t> lat;
  for (auto _ : state) {
    const std::int64_t t0 = NowNs();
    Status st = store.BeginBatch();
    for (int i = 0; i < 1000 && st.ok(); ++i) st = store.AddJob(rec.Next());
    if (st.ok()) st = store.CommitBatch();
    lat.push_back(NowNs() - t0);
    if (!st.ok()) {
      state.SkipWithError(st.message());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  ReportTxn(state, &lat);
}
BENCHMARK(BM_Lmdb_Batch1000)->MinTime(2)->UseRealTime();

// ---- SQLite baselines (APScheduler's SQLAlchemyJobStore table) -------------------------------
class SqliteJobs {
 public:
  explicit SqliteJobs(const std::string& dir) {
    const std::string file = dir + "/jobs.sqlite";
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      Fail("open");
      return;
    }
    // What APScheduler's SQLAlchemyJobStore creates (SQLAlchemy's DDL on SQLite).
    if (!Exec("PRAGMA journal_mode=WAL") || !Exec("PRAGMA synchronous=FULL") ||
        !Exec("CREATE TABLE apscheduler_jobs (id VARCHAR(191) NOT NULL, next_run_time FLOAT, "
              "job_state BLOB NOT NULL, PRIMARY KEY (id))") ||
        !Exec("CREATE INDEX ix_apscheduler_jobs_next_run_time ON apscheduler_jobs "
              "(next_run_time)")) {
      return;
    }
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode", -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
      if (mode == nullptr || std::strcmp(mode, "wal") != 0) error_ = "journal_mode is not wal";
    }
    sqlite3_finalize(q);
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO apscheduler_jobs (id, next_run_time, job_state) VALUES "
                           "(?, ?, ?)",
                           -1, &insert_, nullptr) != SQLITE_OK) {
      Fail("prepare");
    }
  }
  ~SqliteJobs() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  SqliteJobs(const SqliteJobs&) = delete;
  SqliteJobs& operator=(const SqliteJobs&) = delete;

  const std::string& error() const { return error_; }

  bool Exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      error_ = std::string(sql) + ": " + (msg != nullptr ? msg : "?");
      sqlite3_free(msg);
      return false;
    }
    return true;
  }

  // One INSERT (its own transaction unless inside BEGIN/COMMIT). The record is encoded here,
  // as a store serializes the job it is given.
  bool Insert(const JobState& j) {
    const std::string rec = EncodeJobRecord(j);
    sqlite3_bind_text(insert_, 1, j.id.data(), static_cast<int>(j.id.size()), SQLITE_STATIC);
    sqlite3_bind_double(insert_, 2, static_cast<double>(j.next_run_time->us) / 1e6);
    sqlite3_bind_blob(insert_, 3, rec.data(), static_cast<int>(rec.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    if (rc != SQLITE_DONE) {
      Fail("insert");
      return false;
    }
    return true;
  }

 private:
  void Fail(const char* what) {
    error_ = std::string(what) + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "no database");
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  std::string error_;
};

void BM_Sqlite_PerChangeCommit(benchmark::State& state) {
  TempDir dir("sqlite");
  SqliteJobs db(dir.path());
  if (!db.error().empty()) {
    state.SkipWithError(db.error().c_str());
    return;
  }
  RecordMaker rec;
  std::vector<std::int64_t> lat;
  for (auto _ : state) {
    const JobState& js = rec.Next();
    const std::int64_t t0 = NowNs();
    const bool ok = db.Insert(js);
    lat.push_back(NowNs() - t0);
    if (!ok) {
      state.SkipWithError(db.error().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  ReportTxn(state, &lat);
}
BENCHMARK(BM_Sqlite_PerChangeCommit)->MinTime(2)->UseRealTime();

void BM_Sqlite_Batch1000(benchmark::State& state) {
  TempDir dir("sqlite");
  SqliteJobs db(dir.path());
  if (!db.error().empty()) {
    state.SkipWithError(db.error().c_str());
    return;
  }
  RecordMaker rec;
  std::vector<std::int64_t> lat;
  for (auto _ : state) {
    const std::int64_t t0 = NowNs();
    bool ok = db.Exec("BEGIN");
    for (int i = 0; i < 1000 && ok; ++i) ok = db.Insert(rec.Next());
    ok = ok && db.Exec("COMMIT");
    lat.push_back(NowNs() - t0);
    if (!ok) {
      state.SkipWithError(db.error().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  ReportTxn(state, &lat);
}
BENCHMARK(BM_Sqlite_Batch1000)->MinTime(2)->UseRealTime();

// ---- through the scheduler (group commit) ----------------------------------------------------
struct SchedulerRig {
  TempDir dir{"sched"};
  std::unique_ptr<Scheduler> s;
  LmdbJobStore* store = nullptr;  // owned by s
  Status status;

  SchedulerRig() {
    s = std::make_unique<Scheduler>(SchedulerOptions{});
    status = s->AddTask("bench.noop", [](const TaskArgs&) {});
    LmdbStoreOptions o;
    o.path = dir.path();
    o.durability = LmdbDurability::kSync;
    auto st = std::make_unique<LmdbJobStore>(o);
    store = st.get();
    if (status.ok()) status = s->AddJobStore("default", std::move(st));
    if (status.ok()) status = s->Start();
  }
  ~SchedulerRig() {
    if (s && s->state() != SchedulerState::kStopped) (void)s->Shutdown(false);
    s.reset();
  }
  SchedulerRig(const SchedulerRig&) = delete;
  SchedulerRig& operator=(const SchedulerRig&) = delete;
};

JobSpec BenchSpec(std::int64_t base_us, std::int64_t n) {
  JobSpec spec;
  spec.task = "bench.noop";
  spec.args.args.emplace_back(n);
  spec.next_run_time = NextRunTime::At(Instant{base_us + n});
  return spec;
}

struct ProducerResult {
  std::vector<std::int64_t> lat_ns;
  std::int64_t jobs = 0;
  Status error;
};

// T producers, each with at most `window` AddJobAsync handles outstanding (window 0: the
// synchronous AddJob).
void RunProducers(benchmark::State& state, std::size_t threads, std::size_t window) {
  SchedulerRig rig;
  if (!rig.status.ok()) {
    state.SkipWithError(rig.status.message());
    return;
  }
  const std::int64_t base_us = WallUs() + 86'400'000'000LL;
  const double seconds = AddSeconds();
  for (auto _ : state) {
    std::vector<ProducerResult> results(threads);
    std::atomic<bool> stop{false};
    std::latch start(static_cast<std::ptrdiff_t>(threads) + 1);
    std::vector<std::thread> producers;
    for (std::size_t t = 0; t < threads; ++t) {
      producers.emplace_back([&, t] {
        ProducerResult& r = results[t];
        r.lat_ns.reserve(1 << 16);
        std::int64_t n = static_cast<std::int64_t>(t) << 40;
        start.arrive_and_wait();
        if (window == 0) {
          while (!stop.load(std::memory_order_relaxed)) {
            JobSpec spec = BenchSpec(base_us, n++);
            const std::int64_t t0 = NowNs();
            Result<std::string> id = rig.s->AddJob(std::move(spec));
            r.lat_ns.push_back(NowNs() - t0);
            if (!id.ok()) {
              r.error = id.status();
              return;
            }
            ++r.jobs;
          }
          return;
        }
        struct Pending {
          CommitHandle h;
          std::int64_t t0 = 0;
        };
        std::vector<Pending> ring(window);
        std::size_t head = 0, count = 0;
        auto finish_oldest = [&](bool wait) {
          Pending& p = ring[head];
          if (!wait && !p.h.Ready()) return false;
          const Status st = p.h.Wait();
          r.lat_ns.push_back(NowNs() - p.t0);
          if (!st.ok() && r.error.ok()) r.error = st;
          ++r.jobs;
          p.h = CommitHandle();
          head = (head + 1) % window;
          --count;
          return true;
        };
        while (!stop.load(std::memory_order_relaxed) && r.error.ok()) {
          while (count > 0 && finish_oldest(/*wait=*/false)) {
          }
          if (count == window) finish_oldest(/*wait=*/true);
          JobSpec spec = BenchSpec(base_us, n++);
          Pending& p = ring[(head + count) % window];
          p.t0 = NowNs();
          Result<std::string> id = rig.s->AddJobAsync(std::move(spec), &p.h);
          if (!id.ok()) {
            r.error = id.status();
            break;
          }
          ++count;
        }
        while (count > 0) finish_oldest(/*wait=*/true);
      });
    }
    start.arrive_and_wait();
    const std::int64_t t0 = NowNs(), cpu0 = ProcessCpuUs();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop.store(true);
    for (std::thread& th : producers) th.join();
    const std::int64_t t1 = NowNs(), cpu1 = ProcessCpuUs();
    state.SetIterationTime(static_cast<double>(t1 - t0) / 1e9);

    std::vector<std::int64_t> lat;
    std::int64_t jobs = 0;
    for (ProducerResult& r : results) {
      if (!r.error.ok()) {
        state.SkipWithError(r.error.message());
        return;
      }
      jobs += r.jobs;
      lat.insert(lat.end(), r.lat_ns.begin(), r.lat_ns.end());
    }
    state.SetItemsProcessed(jobs);
    state.counters["jobs"] = static_cast<double>(jobs);
    state.counters["cpu_us_per_job"] =
        jobs > 0 ? static_cast<double>(cpu1 - cpu0) / static_cast<double>(jobs) : 0;
    state.counters["lat_p50_us"] = Percentile(&lat, 0.50) / 1e3;
    state.counters["lat_p99_us"] = Percentile(&lat, 0.99) / 1e3;
    state.counters["lat_max_us"] =
        lat.empty() ? 0 : static_cast<double>(*std::max_element(lat.begin(), lat.end())) / 1e3;
    state.counters["in_memory"] = static_cast<double>(rig.s->job_count());
  }
  // Stats are read once the scheduler thread (the store's only user) has stopped. The store
  // counts the write transactions that held jobs (not the one creating its databases).
  (void)rig.s->Shutdown(false);
  const LmdbStoreStats st = rig.store->stats();
  const double jobs = state.counters["jobs"];
  const double commits = static_cast<double>(st.commits > 0 ? st.commits : 1);
  state.counters["commits"] = commits;
  state.counters["jobs_per_commit"] = jobs / commits;
  state.counters["map_growths"] = static_cast<double>(st.map_growths);
  // Every acknowledged job is in the store's file (the scheduler keeps in memory only jobs due
  // within its horizon, so job_count() does not tell).
  rig.s.reset();
  LmdbStoreOptions o;
  o.path = rig.dir.path();
  o.read_only = true;
  LmdbJobStore check(o);
  Status cs = check.Start("check");
  Result<std::size_t> stored = cs.ok() ? check.Count() : Result<std::size_t>(cs);
  if (!stored.ok() || *stored != static_cast<std::size_t>(jobs)) {
    const std::string msg =
        stored.ok() ? "the store holds " + std::to_string(*stored) + " jobs, not the " +
                          std::to_string(static_cast<std::int64_t>(jobs)) + " acknowledged"
                    : std::string(stored.status().message());
    state.SkipWithError(msg.c_str());
  }
}

void BM_Scheduler_AddJobAsync(benchmark::State& state) {
  RunProducers(state, static_cast<std::size_t>(state.range(0)),
               static_cast<std::size_t>(state.range(1)));
}
BENCHMARK(BM_Scheduler_AddJobAsync)
    ->ArgNames({"threads", "window"})
    ->Args({1, 16})
    ->Args({1, 32})
    ->Args({1, 64})
    ->Args({1, 256})
    ->Args({4, 16})
    ->Args({4, 64})
    ->Args({16, 4})
    ->Args({16, 16})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_Scheduler_AddJobSync(benchmark::State& state) {
  RunProducers(state, static_cast<std::size_t>(state.range(0)), 0);
}
BENCHMARK(BM_Scheduler_AddJobSync)
    ->ArgNames({"threads"})
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// ---- recovery ----------------------------------------------------------------------------
std::size_t HeapInUse() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}
std::size_t RssBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<std::size_t>(resident) *
                      static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))
                : 0;
}
// Fraction of `file`'s pages in the page cache (mincore).
double ResidentFraction(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat sb;
  double frac = -1;
  if (::fstat(fd, &sb) == 0 && sb.st_size > 0) {
    const auto len = static_cast<std::size_t>(sb.st_size);
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) {
      const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
      std::vector<unsigned char> vec((len + page - 1) / page);
      if (::mincore(p, len, vec.data()) == 0) {
        std::size_t in = 0;
        for (unsigned char c : vec) in += c & 1;
        frac = static_cast<double>(in) / static_cast<double>(vec.size());
      }
      ::munmap(p, len);
    }
  }
  ::close(fd);
  return frac;
}
// Flushes `file` and asks the kernel to drop its pages from the page cache.
void DropFromPageCache(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fdatasync(fd);
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// Reads `file` through, so its pages are in the page cache.
void ReadThrough(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::vector<char> buf(std::size_t{1} << 20);
  while (::read(fd, buf.data(), buf.size()) > 0) {
  }
  ::close(fd);
}

struct RecoveryStore {
  TempDir dir{"recovery"};
  std::size_t jobs = 0;
  std::string error;
  double create_seconds = 0;
  double disk_mb = 0;
};

std::string BuildRecoveryStore(RecoveryStore* r, std::size_t n) {
  const Instant now{WallUs()};
  const std::int64_t day = 86'400'000'000LL;
  const Instant first{now.us + day};
  const std::string start_date = FormatIsoUtc(first);
  // Trigger texts (as ToText() writes them) and their first fire times, 60 of each kind.
  struct Template {
    std::string text;
    Instant next;
  };
  std::vector<Template> interval, cron;
  for (int k = 0; k < 60; ++k) {
    for (int kind = 0; kind < 2; ++kind) {
      char spec[256];
      if (kind == 0) {
        std::snprintf(spec, sizeof(spec), "interval(minutes=%d, start_date='%s', timezone='UTC')",
                      k + 1, start_date.c_str());
      } else {
        std::snprintf(spec, sizeof(spec),
                      "cron(hour='9', minute='%d', day_of_week='mon-fri', start_date='%s', "
                      "timezone='Europe/Helsinki')",
                      k, start_date.c_str());
      }
      Result<std::unique_ptr<Trigger>> t = ParseTrigger(spec, now);
      if (!t.ok()) return std::string(spec) + ": " + t.status().message();
      const std::optional<Instant> next = (*t)->Next(std::nullopt, now);
      if (!next) return std::string(spec) + ": no fire time";
      (kind == 0 ? interval : cron).push_back({(*t)->ToText(), *next});
    }
  }
  LmdbStoreOptions o;
  o.path = r->dir.path();
  o.durability = LmdbDurability::kNoSync;
  o.initial_map_bytes = std::size_t{1} << 30;
  LmdbJobStore store(o);
  if (Status st = store.Start("recovery"); !st.ok()) return st.message();
  const std::int64_t t0 = NowNs();
  JobState s;
  s.executor = "default";
  s.task = "bench.noop";
  for (std::size_t i = 0; i < n;) {
    if (Status st = store.BeginBatch(); !st.ok()) return st.message();
    for (std::size_t end = std::min(n, i + 10'000); i < end; ++i) {
      SetHexId(&s.id, i);
      s.name = s.id;
      TaskArgs a;
      a.args.emplace_back(static_cast<std::int64_t>(i));
      a.args.emplace_back("report.pdf");
      s.args = EncodeArgs(a).value();
      switch (i % 4) {
        case 0:
        case 1: {
          const Instant at{first.us + static_cast<std::int64_t>(i) * 1000};
          s.trigger = DateTrigger::Create(at, nullptr).value()->ToText();
          s.next_run_time = at;
          break;
        }
        case 2:
          s.trigger = interval[i % 60].text;
          s.next_run_time = interval[i % 60].next;
          break;
        default:
          s.trigger = cron[i % 60].text;
          s.next_run_time = cron[i % 60].next;
          break;
      }
      if (Status st = store.AddJob(s); !st.ok()) return st.message();
    }
    if (Status st = store.CommitBatch(); !st.ok()) return st.message();
  }
  store.Shutdown();
  const std::string data = r->dir.path() + "/data.mdb";
  DropFromPageCache(data);  // flushes it (the nosync writes) before anyone measures
  r->create_seconds = static_cast<double>(NowNs() - t0) / 1e9;
  struct stat sb;
  if (::stat(data.c_str(), &sb) == 0)
    r->disk_mb = static_cast<double>(sb.st_blocks) * 512.0 / 1048576.0;
  r->jobs = n;
  return {};
}

RecoveryStore& Recovery() {
  static RecoveryStore r;
  static bool built = false;
  if (!built) {
    built = true;
    r.error = BuildRecoveryStore(&r, RecoveryJobs());
  }
  return r;
}

void BM_Recovery_1M(benchmark::State& state) {
  const bool cold = state.range(0) != 0;
  const bool load_all = state.range(1) != 0;
  RecoveryStore& r = Recovery();
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  const std::string data = r.dir.path() + "/data.mdb";
  double heap_mb = 0, rss_mb = 0, teardown_s = 0, resident = 0;
  for (auto _ : state) {
    if (cold) {
      DropFromPageCache(data);
    } else {
      ReadThrough(data);
    }
    resident += ResidentFraction(data);
    malloc_trim(0);
    const std::size_t heap0 = HeapInUse(), rss0 = RssBytes();
    const std::int64_t t0 = NowNs();
    SchedulerOptions so;
    if (load_all) so.store_horizon_us = 0;
    auto s = std::make_unique<Scheduler>(so);
    Status st = s->AddTask("bench.noop", [](const TaskArgs&) {});
    LmdbStoreOptions o;
    o.path = r.dir.path();
    o.durability = LmdbDurability::kSync;
    if (st.ok()) st = s->AddJobStore("default", std::make_unique<LmdbJobStore>(o));
    if (st.ok()) st = s->Start();
    const std::int64_t t1 = NowNs();
    state.SetIterationTime(static_cast<double>(t1 - t0) / 1e9);
    heap_mb += static_cast<double>(HeapInUse() - heap0) / 1048576.0;
    rss_mb += static_cast<double>(RssBytes() - rss0) / 1048576.0;
    if (!st.ok()) {
      state.SkipWithError(st.message());
      return;
    }
    const std::size_t loaded = s->job_count();
    const std::int64_t t2 = NowNs();
    (void)s->Shutdown(false);
    s.reset();
    teardown_s += static_cast<double>(NowNs() - t2) / 1e9;
    state.counters["in_memory"] = static_cast<double>(loaded);
    if (load_all && loaded != r.jobs) {
      const std::string msg = "Start() loaded " + std::to_string(loaded) + " of the " +
                              std::to_string(r.jobs) + " stored jobs";
      state.SkipWithError(msg.c_str());
      return;
    }
  }
  const double iters = static_cast<double>(state.iterations());
  state.counters["jobs"] = static_cast<double>(r.jobs);
  state.counters["heap_MB"] = heap_mb / iters;
  state.counters["rss_MB"] = rss_mb / iters;
  state.counters["teardown_s"] = teardown_s / iters;
  state.counters["resident_pct"] = 100 * resident / iters;
  state.counters["store_disk_MB"] = r.disk_mb;
  state.counters["store_create_s"] = r.create_seconds;
}
BENCHMARK(BM_Recovery_1M)
    ->ArgNames({"cold", "all"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The store's share of a recovery: LmdbJobStore::Start + LoadJobs (read and decode every
// record into JobStates), warm page cache, no scheduler.
void BM_Recovery_1M_StoreLoadJobsOnly(benchmark::State& state) {
  RecoveryStore& r = Recovery();
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  const std::string data = r.dir.path() + "/data.mdb";
  for (auto _ : state) {
    ReadThrough(data);
    const std::int64_t t0 = NowNs();
    LmdbStoreOptions o;
    o.path = r.dir.path();
    auto store = std::make_unique<LmdbJobStore>(o);
    std::vector<JobState> jobs;
    std::vector<std::pair<std::string, Status>> problems;
    Status st = store->Start("default");
    if (st.ok()) st = store->LoadJobs(&jobs, &problems);
    const std::int64_t t1 = NowNs();
    state.SetIterationTime(static_cast<double>(t1 - t0) / 1e9);
    if (!st.ok() || jobs.size() != r.jobs || !problems.empty()) {
      state.SkipWithError(st.ok() ? "LoadJobs did not read every job" : st.message());
      return;
    }
  }
  state.counters["jobs"] = static_cast<double>(r.jobs);
}
BENCHMARK(BM_Recovery_1M_StoreLoadJobsOnly)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace aps

BENCHMARK_MAIN();
