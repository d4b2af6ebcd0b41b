// aps/engine/scheduler.h — the scheduler: jobs, triggers, executors, stores and events.
//
// APScheduler 3.x's scheduler API on a single-owner core: one scheduler thread owns the job
// table, the timing wheel and the stores; any thread submits commands through a lock-free
// queue; due runs go to executors (a fixed thread pool by default) and their completions come
// back lock-free.
//
//   aps::Scheduler s;                                        // background mode, memory store
//   s.Start();
//   auto id = s.AddJob([] { std::puts("tick"); }, *aps::ParseTrigger("interval(seconds=5)", now));
//   ...
//   s.Shutdown();                                            // waits for running jobs
//
// Modes: kBackground (Start() spawns the scheduler thread), kBlocking (Start() runs the loop
// in the caller until Shutdown() is called from a job, a listener or another thread), and
// kHostDriven (no thread: the application calls RunDue() when NextDeadline() passes, or when
// WakeFd() — Linux — becomes readable).
//
// Defaults (ours, not APScheduler's): misfire_grace_time unlimited (3.x: 1 s, its most common
// complaint), coalesce on, max_instances 1; when max_instances is reached the run is dropped
// with a JOB_MAX_INSTANCES event (3.x), or with MaxInstancesPolicy::kWait it waits for a
// running instance to finish.
//
// Time: triggers produce wall-clock instants; the scheduler sleeps on the monotonic clock and
// re-reads the wall clock on every wake. When the wall clock is stepped (NTP, settimeofday) or
// the host resumes from suspend, deadlines are re-mapped, so a job due at 09:00 wall time runs
// at 09:00 wall time. Steps are noticed within SchedulerOptions::max_sleep.
//
// Calls: unless noted, every method may be called from any thread, including from inside a job
// or a listener. Calls that return information (AddJob's id conflict, GetJobs, ...) wait for
// the scheduler thread to answer (microseconds when it is idle); when the scheduler is
// stopped they act directly on the pending jobs.
//
// Persistent stores (stores/lmdb/lmdb_store.h): jobs there run registered tasks (AddTask,
// JobSpec::task). A call that changes such a job returns once the change is committed (group
// commit: one transaction per scheduler iteration); if the commit fails, the call returns
// kUnavailable "not yet durable: ..." — the change is applied and kept, and written again after
// jobstore_retry_interval. AddJobAsync() does not wait; its CommitHandle does. A call made from
// a job or a listener (on the scheduler thread) returns before its iteration's commit.
#ifndef APS_ENGINE_SCHEDULER_H_
#define APS_ENGINE_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/events.h"
#include "engine/job_function.h"
#include "engine/status.h"
#include "engine/task.h"
#include "engine/time.h"
#include "engine/time_zone.h"
#include "engine/trigger.h"
#include "engine/value.h"
#include "platform/clock.h"
#include "stores/job_store.h"

namespace aps {

class Executor;

enum class SchedulerMode : std::uint8_t { kBackground, kBlocking, kHostDriven };
enum class SchedulerState : std::uint8_t { kStopped = 0, kRunning = 1, kPaused = 2 };

// What happens to a run that comes due while max_instances runs of its job are running.
enum class MaxInstancesPolicy : std::uint8_t {
  kDrop,  // skip it and emit JOB_MAX_INSTANCES (APScheduler 3.x)
  kWait,  // run it when an instance finishes (coalesced with later due runs if coalesce)
};

struct JobDefaults {
  std::int64_t misfire_grace_us = kUnlimitedGrace;  // kUnlimitedGrace or > 0
  bool coalesce = true;
  std::int32_t max_instances = 1;  // > 0
  MaxInstancesPolicy max_instances_policy = MaxInstancesPolicy::kDrop;
};

struct SchedulerOptions {
  static constexpr std::size_t kMaxReserveJobs = std::size_t{1} << 28;
  SchedulerMode mode = SchedulerMode::kBackground;
  // The clock the scheduler reads and sleeps on; nullptr = platform::SystemClock(). Tests and
  // simulations pass a platform::SimClock and run a year of schedules in milliseconds.
  platform::Clock* clock = nullptr;
  // Zone for print_jobs and for triggers the scheduler builds; nullptr = UTC.
  TimeZonePtr timezone;
  JobDefaults job_defaults;
  // Worker threads of the "default" thread-pool executor created at Start() when no executor
  // named "default" was added; 0 = the number of CPU cores.
  std::size_t default_executor_threads = 0;
  // After a store error the scheduler retries the store after this long (APScheduler: 10 s).
  std::int64_t jobstore_retry_interval_us = 10'000'000;
  // Longest sleep: wall-clock steps and resumes are noticed within it.
  std::int64_t max_sleep_us = 1'000'000;
  // Precise starts (background and blocking modes on the system clock): the loop wakes this
  // long before the next deadline, asks the executors to have a worker polling (Executor::
  // Prime), and spins to the deadline, so a job starts within a few µs of its time instead of
  // the OS's wake-up latency (~20-70 µs on a VM, twice: the scheduler's and a worker's). Costs
  // up to twice this much CPU per wake-up; 0 turns it off (sleep straight to the deadline).
  std::int64_t spin_us = 100;
  // Large persistent stores (JobStore::pages(), e.g. the LMDB store): only jobs due within this
  // horizon are kept in memory (in the timing wheel); the rest stay in the store and are paged
  // in as their time approaches (each time less than half a horizon is loaded). Jobs looked up
  // by id (GetJob, ModifyJob, ...) are paged in for the call. Memory is then bounded by the
  // jobs due within the horizon, not by the store's size. 0: every stored job is loaded at
  // Start() and kept in memory.
  std::int64_t store_horizon_us = 600'000'000;  // 10 minutes
  // Jobs to make room for at Start(): the job table, its id index and the timing wheel are
  // allocated and written for this many jobs then, so that adding up to this many jobs never
  // allocates or takes a first-touch page fault on the scheduler thread (a page fault costs
  // 0.1-10 µs per 4 KB: on a VM, a cold burst of adds spent most of its time there). Memory:
  // about 125 bytes per job beyond the callables, resident from Start() on. 0..kMaxReserveJobs
  // (268,435,456); 0 = grow as jobs are added (the default). The reservation is never given
  // back while the scheduler lives, like the room that jobs added without it leave behind.
  std::size_t reserve_jobs = 0;
  // The most memory (bytes of address space) that async adds queued for the scheduler thread
  // may hold (~150 bytes each, in blocks of 32). When it is reached, AddJobAsync() and
  // AddJobsAsync() return kResourceExhausted and change nothing (nothing queued is lost); calls
  // that wait for their reply (AddJob(), Pause(), Shutdown(), ...) are not held to it, since a
  // thread has at most one of those queued. Room comes back as
  // the loop drains the queue, whose blocks are reused, never returned, while the scheduler
  // lives. 0 = no limit (the default): a producer outrunning the loop grows the queue until
  // memory runs out. Counted in whole regions of 64 KiB to 4 MiB, so a limit of a few KiB
  // admits only a few blocks.
  std::size_t max_queued_bytes = 0;
  // Runs handed to executors and not yet accounted (the completion queue's capacity). Due runs
  // beyond it wait, in order, for completions. Memory: about max_completion_producers *
  // (max_outstanding_runs + 64) * 180 bytes, preallocated at Start().
  std::size_t max_outstanding_runs = 4096;
  // Executor threads that may push completions (all thread-pool workers plus one per inline
  // executor); Start() fails with kResourceExhausted if the executors need more.
  std::size_t max_completion_producers = 16;
};

// The first run time of a new job.
struct NextRunTime {
  enum class Kind : std::uint8_t { kFromTrigger, kNow, kPaused, kAt };
  Kind kind = Kind::kFromTrigger;
  Instant at;
  static NextRunTime FromTrigger() { return {}; }
  static NextRunTime Now() { return {Kind::kNow, {}}; }
  static NextRunTime Paused() { return {Kind::kPaused, {}}; }
  static NextRunTime At(Instant t) { return {Kind::kAt, t}; }
};

// add_job's arguments. Unset optionals take the scheduler's job_defaults.
//
// What the job runs: `fn` (a C++ callable), or `task` (the name of a task registered with
// AddTask) with `args`. A job in a persistent store must name a task: only the name and the
// encoded arguments are stored, and the scheduler binds them again when it loads the job.
struct JobSpec {
  JobFunction fn;
  std::string task;                  // a registered task (instead of fn)
  TaskArgs args;                     // the task's arguments (only with task)
  std::unique_ptr<Trigger> trigger;  // nullptr: run once, now (APScheduler's default DateTrigger)
  std::string id;                    // empty: a generated id
  std::string name;                  // empty: the id
  std::optional<std::int64_t> misfire_grace_us;
  std::optional<bool> coalesce;
  std::optional<std::int32_t> max_instances;
  std::optional<MaxInstancesPolicy> max_instances_policy;
  NextRunTime next_run_time;
  std::string jobstore = "default";
  std::string executor = "default";
  bool replace_existing = false;
  // At-least-once (persistent stores): a run that started and did not finish before the
  // process died runs again when the job is loaded (Quartz's "requests recovery"). The default,
  // at-most-once, advances the run time as the run is handed to an executor (APScheduler 3.x).
  bool at_least_once = false;
};

// modify_job's changes; only the set fields change. A new trigger does not recompute the next
// run time (APScheduler); use RescheduleJob for that.
struct JobChanges {
  std::optional<std::string> name;
  std::optional<std::int64_t> misfire_grace_us;
  std::optional<bool> coalesce;
  std::optional<std::int32_t> max_instances;
  std::optional<MaxInstancesPolicy> max_instances_policy;
  std::optional<std::string> executor;
  std::unique_ptr<Trigger> trigger;
  std::optional<JobFunction> fn;  // not for task jobs (change their args instead)
  std::optional<TaskArgs> args;   // task jobs only
  // Set to change the next run time; nullopt inside = pause.
  std::optional<std::optional<Instant>> next_run_time;
};

// A snapshot of a job.
struct JobInfo {
  std::string id;
  std::string name;
  std::string trigger;       // Trigger::Describe(): "cron[hour='9']"
  std::string trigger_text;  // Trigger::ToText()
  std::string executor;
  std::string jobstore;
  std::optional<Instant> next_run_time;  // nullopt: paused (or pending without one yet)
  bool pending = false;                  // added before Start(), not yet scheduled
  std::string task;                      // the registered task; empty for a C++ callable
  std::string args;                      // the task's arguments as text: ('a', 3, to='x')
  // A stored job that could not be loaded (task not registered, record unreadable): it stays
  // in its store, is listed here with `problem` saying why, and can only be removed.
  bool unresolved = false;
  std::string problem;
  std::int64_t misfire_grace_us = kUnlimitedGrace;
  bool coalesce = true;
  std::int32_t max_instances = 1;
  bool at_least_once = false;
  // APScheduler's str(job): "name (trigger: cron[hour='9'], next run at: 2024-01-01 09:00:00 EET)"
  // with times in `zone`.
  std::string ToString(const TimeZone& zone) const;
};

using ListenerId = std::uint64_t;

namespace engine_internal {
struct CommitState;
}

// CommitHandle — when an asynchronous change is durable.
//
// AddJobAsync() and every call that changes a job (ModifyJob(), PauseJob(), RemoveJob(), ...)
// can hand one back: it completes once the scheduler has applied the change and
// committed it to the job's store (group commit: with everything else of that iteration), or
// at once when the store is not persistent. Its status is the change's: a conflict found when
// it was applied, or kUnavailable when the store's commit failed (the scheduler keeps the job
// and writes it again after jobstore_retry_interval; the handle does not wait for that).
//
//   aps::CommitHandle done;
//   auto id = s.AddJobAsync(std::move(spec), &done);    // returns at once
//   ...                                                  // more adds: one commit for many
//   if (aps::Status st = done.Wait(); !st.ok()) ...      // durable (or why not)
//
// Copyable (shared state); Ready() never blocks, Wait() blocks; any thread. An empty
// (default-constructed) handle is ready with OK.
class CommitHandle {
 public:
  CommitHandle() = default;
  bool Ready() const;
  Status Wait() const;
  // (internal: made by the scheduler)
  explicit CommitHandle(std::shared_ptr<engine_internal::CommitState> s) : state_(std::move(s)) {}

 private:
  std::shared_ptr<engine_internal::CommitState> state_;
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options = {});
  // Shuts down (waiting for running jobs) if still running.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // --- configuration (stopped only: kFailedPrecondition "Scheduler is already running") ----
  // AddExecutor / AddJobStore: kAlreadyExists 'This scheduler already has an executor by the
  // alias of "x"'. A "default" memory store and thread-pool executor are created at Start()
  // when missing.
  Status AddExecutor(std::string alias, std::unique_ptr<Executor> executor);
  Status AddJobStore(std::string alias, std::unique_ptr<JobStore> store);
  Status RemoveExecutor(std::string_view alias);  // kNotFound "No such executor: x"
  Status RemoveJobStore(std::string_view alias);  // kNotFound "No such job store: x"
  // AddTask(): registers `fn` (called as fn(const TaskArgs&), returning void or RunOutcome)
  // under `name`, for jobs that name a task (JobSpec::task) — the only kind a persistent store
  // keeps. kAlreadyExists for a taken name, kInvalidArgument for a bad one (engine/task.h).
  // Register every task before Start(): stored jobs are bound to their tasks when loaded.
  template <typename F>
  Status AddTask(std::string name, F fn) {
    TaskRegistry* r = TasksWhileStopped();
    if (r == nullptr) return TasksWhileRunningError();
    return r->Add(std::move(name), std::move(fn));
  }
  // The registered tasks. Any thread while nobody calls AddTask.
  const TaskRegistry& tasks() const;

  // --- state machine -----------------------------------------------------------------------
  // Start(): stopped → running (or paused). Creates missing defaults, starts executors and
  // stores, loads stored jobs, schedules pending ones; emits EXECUTOR_ADDED / JOBSTORE_ADDED
  // for created defaults, then SCHEDULER_STARTED. kBlocking: does not return until Shutdown().
  // kFailedPrecondition "Scheduler is already running"; kInvalidArgument naming the option
  // for max_sleep_us <= 0, spin_us outside 0..1000000, jobstore_retry_interval_us <= 0 (the
  // scheduler then stays stopped). A store that fails to start (in use by another process,
  // damaged) makes Start() fail naming it. Stored jobs of persistent stores are loaded: runs
  // missed while the process was down follow the misfire policy; a job that cannot be loaded
  // stays in its store, is logged and reported by JOB_UNRESOLVED, and is listed with
  // JobInfo::unresolved. A pending job whose id is already stored replaces it when added with
  // replace_existing; otherwise Start() fails with kAlreadyExists and leaves the scheduler
  // stopped (APScheduler's start() raises ConflictingIdError).
  Status Start(bool paused = false);
  // Shutdown(): → stopped; executors shut down (wait: let queued and running jobs finish;
  // !wait: drop queued runs, running ones finish on their own); emits SCHEDULER_SHUTDOWN.
  // Jobs stay in their stores (a restart finds them). kFailedPrecondition "Scheduler is not
  // running". Blocks until the scheduler thread has stopped (not when called from a job or
  // listener on that thread).
  Status Shutdown(bool wait = true);
  Status Pause();   // running → paused (SCHEDULER_PAUSED); paused: no-op
  Status Resume();  // paused → running (SCHEDULER_RESUMED); running: no-op
  void Wakeup();    // process now
  SchedulerState state() const;

  // --- jobs ------------------------------------------------------------------------------
  // AddJob(): returns the job's id. kAlreadyExists on a duplicate id (unless
  // replace_existing), kNotFound for an unknown job store when running, kInvalidArgument for
  // bad options or a missing callable. A job whose trigger has no fire time is added paused
  // (APScheduler).
  Result<std::string> AddJob(JobSpec spec);
  template <typename F>
  Result<std::string> AddJob(F&& fn, std::unique_ptr<Trigger> trigger, JobSpec spec = {}) {
    spec.fn = JobFunction::Bind(std::forward<F>(fn));
    spec.trigger = std::move(trigger);
    return AddJob(std::move(spec));
  }
  // AddJobAsync(): AddJob without waiting for the scheduler thread: the spec is checked and
  // the id chosen now (a generated id is unique), the job is added when the scheduler next
  // runs. A conflict found then (a duplicate explicit id without replace_existing, an unknown
  // store) is logged and the job is dropped. Wakes the scheduler only if the job is due before
  // its planned wake-up. While stopped it is AddJob. Allocates (the command); never blocks
  // while running; any thread. With `committed`, it receives a handle that completes when the
  // job is durable in its store (see CommitHandle); while stopped, when the job is pending
  // (it is written at Start()).
  Result<std::string> AddJobAsync(JobSpec spec, CommitHandle* committed = nullptr);
  // AddJobsAsync(): AddJobAsync() for many jobs at once, in order: what a service adding jobs
  // by the thousand calls. One call enters the queue once (one moodycamel bulk enqueue per
  // 32 jobs, one shutdown hand-over, one wake-up decision, one block of generated ids), so
  // each job costs far less than its own AddJobAsync() (docs/scheduler.md, "Batched adds").
  // Every spec is checked first: a bad one (no callable, bad options) returns
  // kInvalidArgument naming its index ("job 3 of the batch: ...") and queues nothing. On
  // success each spec's `id` holds its job's id (generated when it was empty) and the rest of
  // every spec is moved from. Conflicts found when the jobs are applied are logged and those
  // jobs dropped, as with AddJobAsync(). While stopped, or from the scheduler thread, each
  // spec is added as AddJobAsync() would, in order, stopping at the first error (the specs
  // before it are added; the error names the index). Allocates (queue blocks, commands of
  // adds that do not travel whole); never blocks while running; any thread. The calling
  // thread's calls stay in order with its other calls.
  Status AddJobsAsync(std::span<JobSpec> specs);
  // The calls that change jobs. Each blocks until the scheduler thread has applied it and —
  // for a job of a persistent store — committed it: a returned OK is durable (kUnavailable
  // "not yet durable: ..." when the commit failed; the change is kept and written again).
  // With `committed` the call does not wait for the commit: it returns once the change is
  // applied (its status says whether it was: not found, bad option, ...), and the handle
  // completes when the change is durable, with the same status a waiting call would return.
  // Any thread; from a job or listener they apply at once.
  Status ModifyJob(std::string_view id, JobChanges changes, std::string_view jobstore = {},
                   CommitHandle* committed = nullptr);
  // RescheduleJob(): new trigger, next run time recomputed from now.
  Status RescheduleJob(std::string_view id, std::unique_ptr<Trigger> trigger,
                       std::string_view jobstore = {}, CommitHandle* committed = nullptr);
  Status PauseJob(std::string_view id, std::string_view jobstore = {},
                  CommitHandle* committed = nullptr);
  // ResumeJob(): next run time from the trigger; a trigger with no further fire time removes
  // the job (JOB_REMOVED) and the result is false.
  Result<bool> ResumeJob(std::string_view id, std::string_view jobstore = {},
                         CommitHandle* committed = nullptr);
  Status RemoveJob(std::string_view id, std::string_view jobstore = {},
                   CommitHandle* committed = nullptr);
  Status RemoveAllJobs(std::string_view jobstore = {}, CommitHandle* committed = nullptr);
  std::optional<JobInfo> GetJob(std::string_view id, std::string_view jobstore = {});
  // GetJobs(): per store (alias order), ascending by next run time, paused last.
  std::vector<JobInfo> GetJobs(std::string_view jobstore = {});
  // PrintJobs(): APScheduler's print_jobs text.
  std::string PrintJobs(std::string_view jobstore = {});

  // --- events ----------------------------------------------------------------------------
  // AddListener(): `fn(const Event&)` for events whose code & mask != 0. In hosted builds a
  // listener that throws is caught (the catch is compiled into the caller's translation unit).
  template <typename F>
  ListenerId AddListener(F&& fn, std::uint32_t mask = kEventAll) {
    return AddListenerImpl(WrapListener(std::forward<F>(fn)), mask);
  }
  Status RemoveListener(ListenerId id);  // kNotFound

  // --- host-driven mode (kHostDriven; the calling thread acts as the scheduler thread) ----
  // NextDeadline(): when RunDue() should next be called (monotonic), or nullopt: only after a
  // command (WakeFd readable / Wakeup). Host thread only.
  std::optional<platform::Deadline> NextDeadline();
  // RunDue(): processes commands, completions and due jobs once. Host thread only, and not from
  // inside RunDue() itself (an inline job or a listener): that returns kFailedPrecondition.
  Status RunDue();
  // WakeFd(): Linux (after Start()): a file descriptor that is readable when RunDue() should
  // be called — a command or completion arrived, or the next deadline passed (the deadline
  // only with the system clock). Add it to epoll/Asio for reading; RunDue() clears it. -1 where
  // there is none. Any thread.
  int WakeFd();

  // Jobs the scheduler currently holds in memory (scheduled + paused; with paging stores, only
  // their jobs due within the horizon); for tests and metrics. Any thread.
  std::size_t job_count() const;

  struct Impl;

 private:
  using ListenerFn = std::function<void(const Event&)>;
  template <typename F>
  static ListenerFn WrapListener(F&& f) {
#if defined(__cpp_exceptions)
    return [f = std::forward<F>(f)](const Event& e) {
      try {
        f(e);
      } catch (...) {
        ListenerThrew(e);
      }
    };
#else
    return ListenerFn(std::forward<F>(f));
#endif
  }
  static void ListenerThrew(const Event& e) noexcept;
  TaskRegistry* TasksWhileStopped();  // nullptr when not stopped
  static Status TasksWhileRunningError();
  ListenerId AddListenerImpl(ListenerFn fn, std::uint32_t mask);

  std::unique_ptr<Impl> impl_;
};

}  // namespace aps

#endif  // APS_ENGINE_SCHEDULER_H_
