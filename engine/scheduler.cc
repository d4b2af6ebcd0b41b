// The scheduler core.
//
// Design
// ------
// Ownership. One scheduler thread (the background thread, the caller of a blocking Start(), or
// the host thread calling RunDue()) owns the job table, the timing wheel, the in-flight runs and
// the stores; nothing on it takes a lock. Other threads talk to it through a lock-free MPMC
// command queue (moodycamel) and wait for a reply when the call returns information. A call made
// on the scheduler thread itself (from a listener or an inline job) is applied directly. While
// the scheduler is stopped there is no scheduler thread: calls act on the table under
// `stopped_mu_`, and the jobs they add are "pending" until Start() schedules them.
//
// The stop/start hand-over. A producer announces itself in `producers_` before it reads the state
// and enqueues; FinishShutdown() publishes kStopped and then waits until no producer is inside,
// and only then drains the queue, so no command is stranded (Dekker-style, seq_cst on both sides).
//
// Time. The wheel runs on the wall clock in microseconds (Instant.us = one tick), so fire times
// go in unconverted and expire exactly. The scheduler sleeps on the monotonic clock: the wait is
// earliest_wall - wall_now, capped at max_sleep so that a stepped wall clock or a resume is
// noticed; a backward step rebuilds the wheel (re-inserting every scheduled job), a forward step
// simply makes jobs due (and the misfire policy decides).
//
// One iteration (RunOnce): clock-step check; drain commands; drain executor completions
// (instances, JOB_EXECUTED/ERROR, next backlog run, waiting jobs); if running, advance the wheel
// to now and process every due job; write store changes (one batch per store); dispatch events.
//
// A due job: executor lookup (missing: removed, as APScheduler); max_instances (drop with
// JOB_MAX_INSTANCES, or wait); run times = [next_run_time] when coalescing, computed as the
// LAST fire time <= now without enumerating the backlog (a bisection on FirstAtOrAfter: at most
// ~64 trigger calls however long the outage); otherwise the missed fire times in order, at most
// kMaxBatch per iteration; misfire grace checked per run time (JOB_MISSED); the runs of one
// batch are one instance and run one after another (APScheduler); JOB_SUBMITTED; the next run
// time is computed from the last run time (advanced at submission: at-most-once).
#include "engine/scheduler.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "engine/date_trigger.h"
#include "engine/datetime.h"
#include "engine/executor.h"
#include "engine/internal/command_queue.h"
#include "engine/internal/id_index.h"
#include "engine/internal/region_arena.h"
#include "engine/internal/short_id.h"
#include "engine/internal/thread.h"
#include "engine/log.h"
#include "engine/timing_wheel.h"
#include "engine/trigger_text.h"
#include "platform/wake_fd.h"
#include "stores/memory_store.h"

namespace aps {
namespace {

constexpr std::size_t kMaxBatch = 1024;  // missed runs enumerated per job per iteration
constexpr std::uint32_t kDefaultExecutorIdleSpinUs = 10;  // see Start()
constexpr std::size_t kAsyncBacklogWake = 4096;   // queued async commands that wake the loop
constexpr std::size_t kCommandsPerCommit = 4096;  // commands applied per group commit, at most

using engine_internal::InJob;

}  // namespace

// A caller's wait for the scheduler thread's answer.
struct Reply {
  std::atomic<std::uint32_t> done{0};
  Status status;
  std::string id;
  bool flag = false;
  std::optional<JobInfo> info;
  std::vector<JobInfo> infos;
  std::string text;

  void Complete() {
    done.store(1, std::memory_order_release);  // publishes the fields above to Wait()
    done.notify_all();
  }
  void Wait() {
    while (done.load(std::memory_order_acquire) == 0) done.wait(0, std::memory_order_acquire);
  }
};

namespace engine_internal {
// A CommitHandle's shared state: completed once by the scheduler thread.
struct CommitState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  void Complete(const Status& st) {
    {
      std::lock_guard<std::mutex> lk(mu);
      status = st;
      done = true;
    }
    cv.notify_all();
  }
};
}  // namespace engine_internal

struct Command {
  enum class Kind : std::uint8_t {
    kAdd,
    kModify,
    kReschedule,
    kPauseJob,
    kResumeJob,
    kRemove,
    kRemoveAll,
    kGet,
    kGetAll,
    kPrint,
    kPause,
    kResume,
    kShutdown,
    kWakeup
  };
  Kind kind = Kind::kWakeup;
  JobSpec spec;
  // kModify: the caller's changes. ModifyJob() waits for its answer, so they outlive the
  // command; a pointer keeps the JobChanges (288 bytes) out of every queued add.
  JobChanges* changes = nullptr;
  std::unique_ptr<Trigger> trigger;
  std::string id;
  std::string jobstore;
  bool wait = true;
  Reply* reply = nullptr;
  bool owned = false;  // heap-allocated fire-and-forget command: the scheduler deletes it
  // The caller's CommitHandle (AddJobAsync, or a call given one): completed at the commit.
  std::shared_ptr<engine_internal::CommitState> commit;
  // A call given a CommitHandle: answered once applied, not after the commit.
  bool answer_when_applied = false;
};

// An AddJobAsync() add that travels whole in the command queue: what adds by the million are
// — a C++ callable for the "default" store and executor, with a trigger or a run date, an id
// and the admission options — in the queue's own (recycled) blocks, with no allocation of its
// own. An add with anything else (a task, a name, another store or executor, replace_existing,
// at_least_once, a CommitHandle) travels as a Command.
struct AsyncAdd {
  JobFunction fn;
  std::unique_ptr<Trigger> trigger;  // nullptr: one-shot, run date = when it is applied
  engine_internal::ShortId id;
  std::int64_t at_us = 0;  // NextRunTime::at
  std::optional<std::int64_t> misfire_grace_us;
  std::optional<std::int32_t> max_instances;
  std::optional<bool> coalesce;
  std::optional<MaxInstancesPolicy> max_instances_policy;
  NextRunTime::Kind when = NextRunTime::Kind::kFromTrigger;
};

// One entry of the command queue: a whole async add (command == nullptr), or any other
// command, owned by its caller (who waits for the reply) or, with Command::owned, by the
// scheduler.
struct QueuedCommand {
  QueuedCommand() = default;
  explicit QueuedCommand(Command* c) : command(c) {}
  Command* command = nullptr;
  AsyncAdd add;
};
static_assert(sizeof(QueuedCommand) <= 144, "a queued add grew: it is copied into every block");
static_assert(std::is_nothrow_move_constructible_v<QueuedCommand>);

constexpr std::string_view kDefaultAlias = "default";

// How a job's due runs are admitted: shared by every job with the same settings (most jobs
// use the job defaults), so a record names it by a 16-bit index (see Impl::SetPolicy).
struct JobPolicy {
  std::int64_t grace_us = kUnlimitedGrace;
  std::int32_t max_instances = 1;
  bool coalesce = true;
  bool wait = false;           // MaxInstancesPolicy::kWait
  bool at_least_once = false;  // JobSpec::at_least_once
  bool operator==(const JobPolicy&) const = default;
};
struct JobPolicyHash {
  std::size_t operator()(const JobPolicy& p) const {
    std::uint64_t h = static_cast<std::uint64_t>(p.grace_us) * 0x9e3779b97f4a7c15ull;
    h ^= (static_cast<std::uint64_t>(static_cast<std::uint32_t>(p.max_instances)) << 3) |
         (std::uint64_t{p.coalesce} << 2) | (std::uint64_t{p.wait} << 1) | p.at_least_once;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};

// The wheel's payload is a job's slot in the table (32 bits: 4 bytes less per node than a
// 64-bit key). A slot names the right job whenever its entry fires: a job's entry is cancelled
// whenever its record stops being that job's (Unschedule before Unlink), so an entry never
// outlives its job.
struct JobWheelTraits : DefaultWheelTraits {
  using Payload = std::uint32_t;
};
using JobWheel = TimingWheel<JobWheelTraits>;

// A job's rarely used parts, allocated only when needed.
struct JobExtra {
  std::string name;              // empty: the name is the id
  std::vector<Instant> backlog;  // runs of the current batch not yet started (front first)
  // Callables set by ModifyJob() while runs were in flight: those runs still use the older
  // ones (an executor holds a pointer to them). The last is the current callable; when no run
  // is in flight it moves back into Job::fn and these are freed.
  std::vector<std::unique_ptr<JobFunction>> fns;
  std::string task;  // the registered task the callable was bound from; empty: a C++ callable
  std::string args;  // the task's arguments, encoded (engine/value.h), as stored
  // At-least-once jobs: the scheduled time of the run in flight (stored, so a restart runs it
  // again), and whether the trigger is exhausted (the job is removed when that run ends).
  std::optional<Instant> inflight_run;
  bool finished = false;
  // The job's policy when Job::policy == kPolicyInExtra (every 16-bit index in use).
  JobPolicy policy;
};

// A job's trigger or, for a one-shot job added without one (APScheduler's default
// DateTrigger(when it was added)), just that run date: most jobs added by the millions are
// one-shot, and need no trigger object. One 8-byte word: 0 (neither), an owned Trigger*
// (aligned, so its low bit is 0), or (run_date_us << 1) | 1.
class TriggerOrDate {
 public:
  TriggerOrDate() = default;
  ~TriggerOrDate() { reset(); }
  TriggerOrDate(const TriggerOrDate&) = delete;
  TriggerOrDate& operator=(const TriggerOrDate&) = delete;
  TriggerOrDate& operator=(std::unique_ptr<Trigger> t) {
    reset();
    bits_ = reinterpret_cast<std::uintptr_t>(t.release());
    return *this;
  }
  // A one-shot job's run date (the trigger object, if any, is deleted).
  void SetDate(std::int64_t us) {
    reset();
    bits_ = (static_cast<std::uint64_t>(us) << 1) | 1u;
  }
  std::int64_t date() const { return static_cast<std::int64_t>(bits_) >> 1; }
  Trigger* get() const { return (bits_ & 1u) ? nullptr : reinterpret_cast<Trigger*>(bits_); }
  explicit operator bool() const { return get() != nullptr; }
  Trigger* operator->() const { return get(); }
  Trigger& operator*() const { return *get(); }
  void reset() {
    delete get();
    bits_ = 0;
  }

 private:
  std::uint64_t bits_ = 0;
};
static_assert(alignof(Trigger) >= 2);

// One record of the job table: 128 bytes, 64 of them the callable. Records live in a segmented
// array (JobTable) and never move, so executors may hold pointers to `fn`.
//
// Invariants:
//   * live ⇔ the id is in the index. A record that is !live but has running > 0 is a "zombie":
//     its job was removed while a run was in flight; it keeps id, fn and jobstore for that run's
//     completion (events, the callable's lifetime) and is freed by the last completion.
//   * in_wheel ⇔ `handle` names a wheel entry whose payload is this record's slot and whose
//     deadline is next_us.
//   * has_next is false while paused; a pending job (added while stopped) keeps in next_us the
//     instant of NextRunTime::At and in pending_kind how Start() computes its first run time.
//   * !trigger: a one-shot job with APScheduler's default trigger, DateTrigger(run date = when
//     it was added), kept as trigger.date().
//   * a record with an id holds one reference to its policy (Impl::policies), or keeps the
//     policy in extra (policy == kPolicyInExtra); a free record has policy == kNoPolicy.
//   * executor / jobstore index Impl::aliases.
constexpr std::uint16_t kPolicyInExtra = 0xFFFF;
constexpr std::uint16_t kNoPolicy = 0xFFFE;
struct Job {
  engine_internal::ShortId id;  // empty: a free record
  JobFunction fn;
  TriggerOrDate trigger;
  std::unique_ptr<JobExtra> extra;
  std::int64_t next_us = 0;
  JobWheel::Handle handle{};
  std::uint32_t generation = 0;
  std::int32_t running = 0;  // batches submitted and not finished
  std::uint16_t executor = 0;
  std::uint16_t jobstore = 0;
  std::uint16_t policy = kNoPolicy;
  bool has_next : 1 = false;
  bool in_wheel : 1 = false;
  bool pending : 1 = false;
  bool waiting : 1 = false;  // a due run waits for an instance (kWait)
  bool live : 1 = false;
  bool replace_existing : 1 = false;  // pending: replaces a stored job of the same id at Start()
  NextRunTime::Kind pending_kind : 2 = NextRunTime::Kind::kFromTrigger;

  std::optional<Instant> next() const {
    return has_next ? std::optional<Instant>(Instant{next_us}) : std::nullopt;
  }
  void set_next(std::optional<Instant> t) {
    has_next = t.has_value();
    next_us = t ? t->us : 0;
  }
  JobExtra& Extra() {
    if (!extra) extra = std::make_unique<JobExtra>();
    return *extra;
  }
  bool has_backlog() const { return extra && !extra->backlog.empty(); }
  // With no run in flight, nothing uses the older callables: the current one moves back into
  // `fn` and the others are freed.
  void SettleFns() {
    if (running != 0 || !extra || extra->fns.empty()) return;
    fn = std::move(*extra->fns.back());
    extra->fns.clear();
  }
  const JobFunction* current_fn() const {
    return extra && !extra->fns.empty() ? extra->fns.back().get() : &fn;
  }
  // Frees everything but the generation (the policy is released first: Impl::FreeRecord).
  void Clear() {
    id.clear();
    fn = JobFunction();
    trigger.reset();
    extra.reset();
    in_wheel = has_next = pending = waiting = live = replace_existing = false;
    running = 0;
  }
};
static_assert(sizeof(Job) <= 128, "a job record grew: see docs/scheduler.md, Job records");

// The records: a segmented array (64, 64, 128, ..., 2048, then 4096 per segment) so small
// schedulers stay small, large ones waste at most one segment, and records never move. The
// segments are carved from a RegionArena (engine/internal/region_arena.h): its regions of
// 2 MiB and more are offered huge pages, so a table growing by a million records takes a few
// hundred first-touch faults instead of ~32 000 (docs/scheduler.md, "Tenth pass"). Segments are
// never freed before the table.
class JobTable {
 public:
  static constexpr std::uint32_t kBigSegment = 4096;

  JobTable() = default;
  JobTable(const JobTable&) = delete;
  JobTable& operator=(const JobTable&) = delete;
  ~JobTable() {
    for (std::size_t seg = 0; seg < segments_.size(); ++seg) {
      Job* const jobs = segments_[seg];
      for (std::size_t i = 0, n = SegmentSize(seg); i < n; ++i) jobs[i].~Job();
    }
  }

  Job& operator[](std::uint32_t slot) {
    if (slot >= kBigSegment) return segments_[6 + (slot >> 12)][slot & (kBigSegment - 1)];
    if (slot < 64) return segments_[0][slot];
    const int c = std::bit_width(slot) - 6;
    return segments_[static_cast<std::size_t>(c)][slot - (64u << (c - 1))];
  }
  std::uint32_t records() const { return records_; }
  // A new record (slot == records() before the call).
  std::uint32_t Grow() {
    const std::uint32_t slot = records_;
    if (SegmentOf(slot) >= segments_.size()) AddSegment();
    ++records_;
    return slot;
  }
  // Allocates (and, constructing them, writes) the segments that records [0, n) need, so that
  // Grow() up to n allocates nothing.
  void Reserve(std::uint32_t n) {
    while (n > 0 && SegmentOf(n - 1) >= segments_.size()) AddSegment();
  }

 private:
  static std::size_t SegmentOf(std::uint32_t slot) {
    return slot >= kBigSegment ? 6 + (slot >> 12)
           : slot < 64         ? 0
                               : static_cast<std::size_t>(std::bit_width(slot) - 6);
  }
  static std::size_t SegmentSize(std::size_t seg) {
    return seg == 0 ? 64 : seg < 7 ? (64u << (seg - 1)) : kBigSegment;
  }
  // Constructing the records writes their pages, so later Grow() calls take no fault. Out of
  // memory aborts, as operator new does without exceptions.
  void AddSegment() {
    static_assert(alignof(Job) <= RegionArena::kAlign);
    const std::size_t seg = segments_.size();
    const std::size_t n = SegmentSize(seg);
    void* const mem = arena_.Allocate(n * sizeof(Job));
    APS_CHECK(mem != nullptr);
    Job* const jobs = static_cast<Job*>(mem);
    for (std::size_t i = 0; i < n; ++i) new (&jobs[i]) Job();
    segments_.push_back(jobs);
  }

  RegionArena arena_;           // before segments_: outlives the records
  std::vector<Job*> segments_;  // segment k holds SegmentSize(k) constructed records
  std::uint32_t records_ = 0;
};

struct InFlight {
  std::uint64_t job_key = 0;
  Instant scheduled;
  bool used = false;
};

// In host-driven mode the loop is woken through the wake fd: executors and producers call this
// Waiter's Wake(), which signals the fd the application polls.
class FdWaiter final : public platform::Waiter {
 public:
  explicit FdWaiter(platform::WakeFd* fd) : fd_(fd) {}
  void WaitUntil(platform::Deadline) noexcept override {}
  void Wake() noexcept override { fd_->Signal(); }

 private:
  platform::WakeFd* fd_;
};

struct Scheduler::Impl {
  explicit Impl(SchedulerOptions o)
      : opts(std::move(o)),
        clock(opts.clock ? opts.clock : &platform::SystemClock()),
        zone(opts.timezone ? opts.timezone : UtcZone()),
        commands(opts.max_queued_bytes) {}

  // ---- configuration and state -----------------------------------------------------------
  SchedulerOptions opts;
  platform::Clock* clock;
  TimeZonePtr zone;
  // What every API call reads (rarely written: at start, stop, pause) and `producers`, which
  // callers write: on a line of their own, away from what the scheduler thread writes per
  // iteration (sleeping_until), so a stream of AddJobAsync() calls keeps this line in its cache.
  alignas(64) std::atomic<SchedulerState> state{SchedulerState::kStopped};
  std::atomic<bool> loop_active{false};  // a scheduler thread owns the table
  std::atomic<int> producers{0};         // callers between their state check and enqueue
  std::atomic<std::thread::id> loop_thread{};
  // The wall instant (µs) the sleeping loop will wake at, or kAwake. A producer of a job due
  // earlier wakes it. Hosted only (a 64-bit atomic). seq_cst: paired with the loop's queue
  // check after publishing (see Loop()). Written by the loop only when it is about to sleep.
  static constexpr std::int64_t kAwake = INT64_MIN;
  alignas(64) std::atomic<std::int64_t> sleeping_until{kAwake};
  alignas(64) std::mutex stopped_mu;  // the table while no scheduler thread owns it
  std::thread thread;
  std::unique_ptr<platform::Waiter> waiter;     // the loop's sleep (background/blocking)
  std::unique_ptr<platform::WakeFd> wake_fd;    // host-driven mode on Linux
  std::unique_ptr<platform::Waiter> fd_waiter;  // Wake() signals wake_fd
  platform::Waiter* loop_waiter = nullptr;      // what wakes the loop: waiter or fd_waiter
  bool stopping = false;                        // scheduler thread: shutdown requested
  bool in_iteration = false;                    // scheduler thread: inside RunOnce()
  bool stop_wait = true;

  std::vector<std::pair<std::string, std::unique_ptr<Executor>>> executors;
  std::vector<std::pair<std::string, std::unique_ptr<JobStore>>> stores;
  TaskRegistry tasks;  // changed only while stopped (AddTask)

  // Stored jobs the last Start() could not load: they stay in their stores, are listed, and
  // can be removed. Scheduler thread (stopped_mu when stopped).
  struct Unresolved {
    std::uint16_t jobstore;  // alias index
    JobInfo info;            // what the record said (id at least), with the problem
  };
  std::vector<Unresolved> unresolved;

  // ---- the table (scheduler thread, or stopped_mu when stopped) ---------------------------
  JobTable table;
  engine_internal::IdIndex index;  // live jobs' ids → slots
  std::vector<std::uint32_t> free_slots;
  std::atomic<std::size_t> count{0};
  // Job policies (JobPolicy), reference counted: policies[i] is in use while policy_refs[i] > 0,
  // and then policy_index maps it back to i; unused indices are in free_policies.
  std::vector<JobPolicy> policies;
  std::vector<std::uint32_t> policy_refs;
  std::vector<std::uint16_t> free_policies;
  std::unordered_map<JobPolicy, std::uint16_t, JobPolicyHash> policy_index;
  std::uint16_t last_policy = kNoPolicy;  // the policy set most recently (adds repeat it)
  // Executor and job store names that jobs refer to (Job::executor / jobstore index it), and
  // which executor / store each names: -2 not looked up yet, -1 none. The lists cannot change
  // while the scheduler runs; the caches are reset at Start().
  std::vector<std::string> aliases;
  std::vector<int> executor_of_alias, store_of_alias;
  std::unique_ptr<JobWheel> wheel = std::make_unique<JobWheel>(1024);
  std::int64_t wheel_now = INT64_MIN;
  std::uint32_t wall_epoch = 0;
  std::vector<InFlight> inflight;
  std::vector<std::uint32_t> free_inflight;
  std::unique_ptr<CompletionQueue> completions;  // made at Start(), sized for the executors
  CommandQueue<QueuedCommand> commands;
  // Due jobs an executor had no room for, retried in order: blocked[blocked_head..]. A cursor,
  // not erase-from-front: a burst of a million due runs drains through a full executor in
  // O(runs), each iteration taking what fits from the head.
  std::vector<std::uint64_t> blocked;
  std::size_t blocked_head = 0;
  std::vector<Executor*> to_flush;  // executors given runs since the last FlushExecutors()
  std::vector<std::uint64_t> blocked_backlog;  // jobs whose next batch run could not be submitted
  bool executor_full = false;                  // a Submit() failed in this iteration
  std::int64_t primed_for = INT64_MIN;         // the deadline executors were last primed for
  // Answers held until this drain's group commit: a call's reply and/or an async add's commit
  // handle, with the persistent stores its change touched.
  struct HeldAnswer {
    Reply* reply;
    std::shared_ptr<engine_internal::CommitState> commit;
    Status applied;
    std::vector<std::size_t> stores;
  };
  std::vector<HeldAnswer> held;
  std::vector<std::size_t> applying_stores;  // persistent stores the applied command touched
  bool collecting = false;                   // StoreChange records into applying_stores
  // Jobs to examine in ProcessDue(): keys (jobs whose wait for an instance ended), then the
  // slots whose wheel entries fired (see JobWheelTraits).
  std::vector<std::uint64_t> due;
  std::vector<std::uint32_t> due_slots;
  std::vector<Instant> run_times, live_times, missed_times;  // ProcessDueJob's scratch
  std::vector<Event> events;
  // DrainCommands()'s dequeue buffer (scheduler thread; an iteration never nests, see
  // RunDue()): built once, not on every loop iteration (64 queued commands are 9 KB to construct
  // and destroy).
  std::array<QueuedCommand, 64> drain_batch;
  std::array<RunCompletion, 64> completion_batch;  // DrainCompletions()'s, likewise (11 KB)
  std::atomic<std::uint64_t> id_prefix{0};
  std::atomic<std::uint64_t> id_counter{0};

  // ---- listeners ---------------------------------------------------------------------------
  std::recursive_mutex listeners_mu;
  std::recursive_mutex dispatch_mu;
  struct ListenerEntry {
    ListenerId id;
    std::uint32_t mask;
    ListenerFn fn;
    std::atomic<bool> removed{false};  // set by RemoveListener; a running dispatch skips it
  };
  std::vector<std::shared_ptr<ListenerEntry>> listeners;
  std::atomic<std::uint32_t> listener_mask{0};  // union of masks: events nobody wants are not built
  ListenerId next_listener = 1;

  // ---------------------------------------------------------------------------------------
  Instant WallNow() const { return Instant{clock->WallMicros()}; }
  bool OnLoopThread() const {
    return loop_active.load(std::memory_order_acquire) &&
           loop_thread.load(std::memory_order_acquire) == std::this_thread::get_id();
  }
  bool Wants(std::uint32_t code) const {
    return (listener_mask.load(std::memory_order_relaxed) & code) != 0;
  }

  // A job event with its run time(s), built only when a listener wants it.
  void EmitRun(std::uint32_t code, const Job& j, std::optional<Instant> run_time,
               const std::vector<Instant>* times = nullptr) {
    if (!Wants(code)) return;
    Event e;
    e.code = code;
    e.alias = aliases[j.jobstore];
    e.job_id = j.id;
    e.scheduled_run_time = run_time;
    if (times) e.scheduled_run_times = *times;
    events.push_back(std::move(e));
  }

  void Emit(std::uint32_t code, std::string_view alias, std::string_view job_id = {}) {
    if (!Wants(code)) return;
    Event e;
    e.code = code;
    e.alias = std::string(alias);
    e.job_id = std::string(job_id);
    events.push_back(std::move(e));
  }

  // Delivers the collected events. Listeners may add or remove listeners (themselves too) and
  // call the API; they see a snapshot of the listener list taken per event.
  void DispatchEvents() {
    while (!events.empty()) {
      std::vector<Event> batch;
      batch.swap(events);
      DispatchBatch(batch);
    }
  }

  // Listeners never run concurrently: `dispatch_mu` serializes the scheduler thread's dispatch
  // with dispatches made by callers while the scheduler is stopped (recursive: a listener may
  // call the API, which may dispatch).
  void DispatchBatch(const std::vector<Event>& batch) {
    std::lock_guard<std::recursive_mutex> dl(dispatch_mu);
    {
      for (const Event& e : batch) {
        std::vector<std::shared_ptr<ListenerEntry>> snapshot;
        {
          std::lock_guard<std::recursive_mutex> lk(listeners_mu);
          snapshot = listeners;
        }
        for (const auto& l : snapshot) {
          if ((l->mask & e.code) != 0 && !l->removed.load(std::memory_order_acquire)) l->fn(e);
        }
      }
    }
  }

  // Generated ids: 15 hex digits (short enough for std::string's inline buffer), a per-scheduler
  // random prefix and a counter, so any thread can make one without asking the table.
  std::string GenerateId() {
    // Relaxed: only uniqueness matters.
    return FormatId(IdPrefix(), id_counter.fetch_add(1, std::memory_order_relaxed));
  }
  // Reserves `how_many` consecutive id numbers (one atomic update for a batch); returns the first.
  std::uint64_t ReserveIds(std::uint64_t how_many) {
    return id_counter.fetch_add(how_many, std::memory_order_relaxed);
  }
  std::uint64_t IdPrefix() {
    std::uint64_t prefix = id_prefix.load(std::memory_order_relaxed);
    if (prefix == 0) {
      std::uint64_t z = static_cast<std::uint64_t>(clock->WallMicros()) ^
                        (static_cast<std::uint64_t>(clock->Now().ns) << 17) ^
                        reinterpret_cast<std::uintptr_t>(this);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      std::uint64_t expected = 0;
      const std::uint64_t mine = ((z ^ (z >> 31)) & 0xfffffull) | 0x100000ull;  // never 0
      prefix = id_prefix.compare_exchange_strong(expected, mine) ? mine : expected;
    }
    return prefix;
  }
  // The id of number `n`: 5 hex digits of the scheduler's prefix, 10 of the number.
  static std::string FormatId(std::uint64_t prefix, std::uint64_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    char buf[15];
    for (int i = 0; i < 5; ++i) buf[i] = kHex[(prefix >> (4 * (4 - i))) & 0xf];
    for (int i = 0; i < 10; ++i) buf[5 + i] = kHex[(n >> (4 * (9 - i))) & 0xf];
    return std::string(buf, sizeof(buf));
  }

  // ---- table ----------------------------------------------------------------------------
  static std::uint64_t KeyOf(std::uint32_t slot, const Job& j) {
    return (std::uint64_t{slot} << 32) | j.generation;
  }
  static std::uint32_t SlotOfKey(std::uint64_t key) {
    return static_cast<std::uint32_t>(key >> 32);
  }
  // A key whose generation half is kSlotsCurrentJob names "the job slot `slot` holds when the key
  // is used", as a fired wheel slot does (generations skip this value). `blocked` holds such keys
  // for fired slots that a full executor left over, so that blocking the rest of a burst does
  // not read each of its records only to build a key (a cache miss per job: a seventh of a
  // million-job burst drain). Resolve() turns one into the ordinary key.
  static constexpr std::uint32_t kSlotsCurrentJob = 0xFFFFFFFFu;
  static std::uint64_t SlotsCurrentJobKey(std::uint32_t slot) {
    return (std::uint64_t{slot} << 32) | kSlotsCurrentJob;
  }
  std::uint64_t Resolve(std::uint64_t key) {
    if (static_cast<std::uint32_t>(key) != kSlotsCurrentJob) return key;
    const std::uint32_t slot = SlotOfKey(key);
    return slot < table.records() ? KeyOf(slot, table[slot]) : key;  // (ByKey(key) is nullptr)
  }
  // The record of `key`, live or zombie; nullptr once it was freed (or reused).
  Job* RecordByKey(std::uint64_t key) {
    const std::uint32_t slot = SlotOfKey(key);
    if (slot >= table.records()) return nullptr;
    Job& j = table[slot];
    return j.generation == static_cast<std::uint32_t>(key) && !j.id.empty() ? &j : nullptr;
  }
  // The live job of `key`, or nullptr.
  Job* ByKey(std::uint64_t key) {
    Job* j = RecordByKey(key);
    return j && j->live ? j : nullptr;
  }
  auto IdOfSlot() {
    return [this](std::uint32_t slot) -> std::string_view { return table[slot].id; };
  }
  Job* Find(std::string_view id, std::string_view jobstore, std::uint32_t* slot_out = nullptr) {
    const std::optional<std::uint32_t> slot = index.Find(id, IdOfSlot());
    if (!slot) return nullptr;
    Job* j = &table[*slot];
    if (!jobstore.empty() && aliases[j->jobstore] != jobstore) return nullptr;
    if (slot_out) *slot_out = *slot;
    return j;
  }
  // A free record for a new job (its id still empty).
  std::uint32_t NewRecord() {
    if (!free_slots.empty()) {
      const std::uint32_t slot = free_slots.back();
      free_slots.pop_back();
      return slot;
    }
    return table.Grow();
  }
  // Makes the record at `slot` (id set) a live job.
  void Link(std::uint32_t slot) {
    Job& j = table[slot];
    j.live = true;
    index.Insert(j.id, slot, IdOfSlot());
    count.store(index.size(), std::memory_order_relaxed);
  }
  // Returns a record to the free list; keys naming it go stale.
  void FreeRecord(std::uint32_t slot) {
    Job& j = table[slot];
    ReleasePolicy(j);
    j.Clear();
    if (++j.generation == kSlotsCurrentJob) j.generation = 0;  // never kSlotsCurrentJob
    free_slots.push_back(slot);
  }
  // Removes a live job from the index and the wheel; the record is freed, or kept as a zombie
  // while runs are in flight.
  void Unlink(std::uint32_t slot) {
    Job& j = table[slot];
    Unschedule(j);
    index.Erase(j.id, IdOfSlot());
    j.live = false;
    count.store(index.size(), std::memory_order_relaxed);
    if (j.running > 0) {
      j.trigger.reset();
      if (j.extra) j.extra->backlog.clear();
      j.has_next = j.waiting = false;
    } else {
      FreeRecord(slot);
    }
  }
  // ---- job policies --------------------------------------------------------------------
  const JobPolicy& PolicyOf(const Job& j) const {
    return j.policy == kPolicyInExtra ? j.extra->policy : policies[j.policy];
  }
  // Gives `j` the policy `p`, releasing its old one. Allocates only for a policy not in use
  // yet; past 65534 distinct policies in use, the job keeps its own in its JobExtra.
  void SetPolicy(Job& j, JobPolicy p) {
    if (j.policy != kNoPolicy && PolicyOf(j) == p) return;
    ReleasePolicy(j);
    std::uint16_t i = kNoPolicy;
    if (last_policy != kNoPolicy && policy_refs[last_policy] > 0 && policies[last_policy] == p) {
      i = last_policy;
    } else if (auto it = policy_index.find(p); it != policy_index.end()) {
      i = it->second;
    } else {
      if (!free_policies.empty()) {
        i = free_policies.back();
        free_policies.pop_back();
        policies[i] = p;
      } else if (policies.size() < kNoPolicy) {
        i = static_cast<std::uint16_t>(policies.size());
        policies.push_back(p);
        policy_refs.push_back(0);
      } else {
        j.Extra().policy = p;
        j.policy = kPolicyInExtra;
        return;
      }
      policy_index.emplace(p, i);
    }
    ++policy_refs[i];
    j.policy = last_policy = i;
  }
  void ReleasePolicy(Job& j) {
    if (j.policy < kNoPolicy && --policy_refs[j.policy] == 0) {
      policy_index.erase(policies[j.policy]);
      free_policies.push_back(j.policy);
    }
    j.policy = kNoPolicy;
  }
  // A new job's policy: the spec's (or whole add's) options, the job defaults for those it
  // leaves unset.
  template <typename Spec>
  JobPolicy PolicyFrom(const Spec& spec, bool at_least_once) const {
    const JobDefaults& d = opts.job_defaults;
    JobPolicy p;
    p.grace_us = spec.misfire_grace_us.value_or(d.misfire_grace_us);
    p.max_instances = spec.max_instances.value_or(d.max_instances);
    p.wait =
        spec.max_instances_policy.value_or(d.max_instances_policy) == MaxInstancesPolicy::kWait;
    p.coalesce = spec.coalesce.value_or(d.coalesce);
    p.at_least_once = at_least_once;
    return p;
  }

  template <typename F>
  void ForEachLive(const F& f) {
    index.ForEach([&](std::uint32_t slot) { f(slot, table[slot]); });
  }
  std::uint16_t Intern(std::string_view alias) {
    for (std::size_t i = 0; i < aliases.size(); ++i) {
      if (aliases[i] == alias) return static_cast<std::uint16_t>(i);
    }
    APS_CHECK(aliases.size() < 0xFFFF);
    aliases.emplace_back(alias);
    executor_of_alias.push_back(-2);
    store_of_alias.push_back(-2);
    return static_cast<std::uint16_t>(aliases.size() - 1);
  }
  void ResetAliasCaches() {
    std::fill(executor_of_alias.begin(), executor_of_alias.end(), -2);
    std::fill(store_of_alias.begin(), store_of_alias.end(), -2);
  }

  // ---- wheel ----------------------------------------------------------------------------
  void Schedule(std::uint32_t slot, Job& j) {
    NoteIfBeyondHorizon(slot, j);
    Unschedule(j);
    if (!j.has_next || j.pending) return;
    Result<JobWheel::Handle> h = wheel->Insert(j.next_us, slot);
    if (!h.ok()) {
      Log(LogLevel::kError, "job \"%s\" cannot be scheduled: %s", j.id.c_str(),
          h.status().message());
      return;
    }
    j.handle = *h;
    j.in_wheel = true;
  }
  void Unschedule(Job& j) {
    if (j.in_wheel) wheel->Cancel(j.handle);
    j.in_wheel = false;
  }

  // ---- triggers of one-shot jobs (no trigger object) --------------------------------------
  std::optional<Instant> TriggerNext(const Job& j, std::optional<Instant> prev, Instant now) const {
    if (j.trigger) return j.trigger->Next(prev, now);
    if (prev) return std::nullopt;  // DateTrigger: its one date, then nothing
    return Instant{j.trigger.date()};
  }
  std::unique_ptr<Trigger> MaterializedTrigger(const Job& j) const {
    if (j.trigger) return nullptr;
    return std::move(DateTrigger::Create(Instant{j.trigger.date()}, zone)).value();
  }
  std::string TriggerText(const Job& j) const {
    return j.trigger ? j.trigger->ToText() : MaterializedTrigger(j)->ToText();
  }
  std::string TriggerDescription(const Job& j) const {
    return j.trigger ? j.trigger->Describe() : MaterializedTrigger(j)->Describe();
  }
  std::string_view NameOf(const Job& j) const {
    return j.extra && !j.extra->name.empty() ? std::string_view(j.extra->name) : j.id.view();
  }

  // ---- stores ---------------------------------------------------------------------------
  JobStore* StoreByAlias(std::string_view alias) {
    for (auto& [a, s] : stores) {
      if (a == alias) return s.get();
    }
    return nullptr;
  }
  Executor* ExecutorByAlias(std::string_view alias) {
    for (auto& [a, e] : executors) {
      if (a == alias) return e.get();
    }
    return nullptr;
  }
  // By alias index, cached (the lists are fixed while running).
  // The index in `list` of the item named aliases[alias], or -1; looked up once per Start().
  template <typename List>
  int Resolve(std::vector<int>& cache, const List& list, std::uint16_t alias) const {
    int& c = cache[alias];
    if (c == -2) {
      c = -1;
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (list[i].first == aliases[alias]) c = static_cast<int>(i);
      }
    }
    return c;
  }
  Executor* ExecutorOf(const Job& j) {
    const int c = Resolve(executor_of_alias, executors, j.executor);
    return c < 0 ? nullptr : executors[static_cast<std::size_t>(c)].second.get();
  }
  // The index in `stores` of the job's store, or -1.
  int StoreIndexOf(const Job& j) { return Resolve(store_of_alias, stores, j.jobstore); }
  JobState StateOf(const Job& j) const {
    JobState s;
    s.id = j.id;
    s.name = NameOf(j);
    s.trigger = TriggerText(j);
    s.executor = aliases[j.executor];
    if (j.extra) {
      s.task = j.extra->task;
      s.args = j.extra->args;
      s.inflight_run = j.extra->inflight_run;
    }
    const JobPolicy& p = PolicyOf(j);
    s.at_least_once = p.at_least_once;
    s.next_run_time = j.next();
    s.misfire_grace_us = p.grace_us;
    s.coalesce = p.coalesce;
    s.max_instances = p.max_instances;
    return s;
  }
  // ---- persistent stores: group commit and retry --------------------------------------
  //
  // Persistent stores get every change; the memory store is the table itself. The changes of
  // one iteration (and of the API calls it applies) go into one batch per store, committed at
  // the end of the iteration, before the callers of those calls get their answer: a change is
  // in the store when the call that made it returns. A failing store (a failed write, begin or
  // commit) is not written again until jobstore_retry_interval has passed; the ids it missed
  // are kept and rewritten from the table then (upserts and removals), so the store converges
  // to the table. The loop never stops for a store.
  enum class StoreOp : std::uint8_t { kAdd, kUpdate, kRemove, kClear };
  struct StoreSync {
    bool in_batch = false;
    bool failing = false;
    std::int64_t retry_at_us = 0;
    std::vector<std::string> touched;          // ids written in the open batch
    std::set<std::string, std::less<>> dirty;  // ids the store missed, rewritten at the retry
    Status last_error;                         // why it is failing
    bool clear_pending = false;                // a RemoveAllJobs the store missed
    // Paging (JobStore::pages() and store_horizon_us > 0): every stored job due at or before
    // loaded_until (wall µs) is in the table (or unresolved); later ones only in the store.
    bool paging = false;
    std::int64_t loaded_until = INT64_MIN;
  };
  std::vector<StoreSync> store_sync;  // parallel to `stores` (sized at Start())
  std::vector<std::size_t> open_batches;
  bool stores_started = false;

  void StoreFailed(std::size_t si, const char* what, const Status& st) {
    StoreSync& ss = store_sync[si];
    if (ss.in_batch) stores[si].second->AbortBatch();
    ss.in_batch = false;
    for (std::string& id : ss.touched) ss.dirty.insert(std::move(id));
    ss.touched.clear();
    ss.failing = true;
    ss.last_error = Status::Format(st.code(), "job store \"%s\": %s failed: %s",
                                   stores[si].first.c_str(), what, st.message());
    ss.retry_at_us = WallNow().us + opts.jobstore_retry_interval_us;
    Log(LogLevel::kError, "job store \"%s\": %s failed: %s; retrying in %s",
        stores[si].first.c_str(), what, st.message(),
        FormatTimedelta(opts.jobstore_retry_interval_us).c_str());
  }

  // One change of job `id` (`j`: its record, for kAdd/kUpdate) in store `si`.
  void StoreChange(std::size_t si, StoreOp op, std::string_view id, const Job* j) {
    if (si >= store_sync.size()) return;  // a store added while stopped: not started yet
    JobStore& s = *stores[si].second;
    if (!s.persistent()) return;
    if (collecting &&
        std::find(applying_stores.begin(), applying_stores.end(), si) == applying_stores.end()) {
      applying_stores.push_back(si);
    }
    StoreSync& ss = store_sync[si];
    if (op == StoreOp::kClear && (ss.failing || !stores_started)) {
      ss.clear_pending = true;
      return;
    }
    if (ss.failing || !stores_started) {
      ss.dirty.emplace(id);
      return;
    }
    if (!ss.in_batch) {
      if (Status b = s.BeginBatch(); !b.ok()) {
        StoreFailed(si, "beginning a batch", b);
        ss.dirty.emplace(id);
        return;
      }
      ss.in_batch = true;
      open_batches.push_back(si);
    }
    ss.touched.emplace_back(id);
    Status st;
    if (op == StoreOp::kClear) {
      st = s.RemoveAllJobs();
      if (st.ok()) ss.clear_pending = false;
    } else if (op == StoreOp::kRemove) {
      st = s.RemoveJob(id);
      if (st.code() == StatusCode::kNotFound) st = OkStatus();
    } else {
      const JobState js = StateOf(*j);
      st = op == StoreOp::kAdd ? s.AddJob(js) : s.UpdateJob(js);
      // Upsert: the store may already hold the job (a retry) or have lost it.
      if (st.code() == StatusCode::kAlreadyExists) st = s.UpdateJob(js);
      if (st.code() == StatusCode::kNotFound) st = s.AddJob(js);
    }
    if (!st.ok()) StoreFailed(si, op == StoreOp::kRemove ? "removing a job" : "writing a job", st);
  }
  void StoreWrite(const Job& j, bool added) {
    const int si = StoreIndexOf(j);
    if (si >= 0)
      StoreChange(static_cast<std::size_t>(si), added ? StoreOp::kAdd : StoreOp::kUpdate, j.id, &j);
  }
  void StoreRemove(const Job& j) {
    const int si = StoreIndexOf(j);
    if (si >= 0) StoreChange(static_cast<std::size_t>(si), StoreOp::kRemove, j.id, nullptr);
  }

  // Commits the open batches (end of an iteration, or of a call applied outside one).
  void CommitBatches() {
    for (std::size_t si : open_batches) {
      StoreSync& ss = store_sync[si];
      if (!ss.in_batch) continue;  // failed meanwhile
      ss.in_batch = false;
      if (Status c = stores[si].second->CommitBatch(); !c.ok()) {
        StoreFailed(si, "committing", c);
        continue;
      }
      ss.touched.clear();
      if (ss.touched.capacity() > 65536) std::vector<std::string>().swap(ss.touched);
    }
    open_batches.clear();
    EvictIdle();
  }

  // Rewrites what failing stores missed, once their retry time has come.
  void RetryStores(Instant now) {
    for (std::size_t si = 0; si < store_sync.size(); ++si) {
      StoreSync& ss = store_sync[si];
      if (!stores_started || (ss.failing && now.us < ss.retry_at_us) ||
          (ss.dirty.empty() && !ss.clear_pending)) {
        continue;
      }
      ss.failing = false;
      if (ss.clear_pending) StoreChange(si, StoreOp::kClear, std::string(), nullptr);
      std::set<std::string, std::less<>> ids;
      ids.swap(ss.dirty);
      Log(LogLevel::kInfo, "job store \"%s\": writing %zu changed jobs", stores[si].first.c_str(),
          ids.size());
      for (const std::string& id : ids) {
        Job* j = Find(id, stores[si].first);
        if (j && !j->pending) {
          StoreChange(si, StoreOp::kUpdate, id, j);
        } else {
          StoreChange(si, StoreOp::kRemove, id, nullptr);
        }
      }
    }
  }
  // The earliest retry of a failing store (wall µs), if any.
  std::optional<std::int64_t> NextStoreRetry() const {
    std::optional<std::int64_t> t;
    for (const StoreSync& ss : store_sync) {
      if (ss.failing && !ss.dirty.empty() && (!t || ss.retry_at_us < *t)) t = ss.retry_at_us;
      if (ss.paging && !ss.failing) {  // the next page-in (see PageIn())
        const std::int64_t at = ss.loaded_until - opts.store_horizon_us / 2;
        if (!t || at < *t) t = at;
      }
    }
    return t;
  }

  JobInfo InfoOf(const Job& j) const {
    JobInfo i;
    i.id = j.id;
    i.name = NameOf(j);
    i.trigger = TriggerDescription(j);
    i.trigger_text = TriggerText(j);
    i.executor = aliases[j.executor];
    i.jobstore = aliases[j.jobstore];
    i.next_run_time = j.next();
    i.pending = j.pending;
    if (j.extra && !j.extra->task.empty()) {
      i.task = j.extra->task;
      i.args = ArgsText(DecodeArgs(j.extra->args));
    }
    const JobPolicy& p = PolicyOf(j);
    i.misfire_grace_us = p.grace_us;
    i.coalesce = p.coalesce;
    i.max_instances = p.max_instances;
    i.at_least_once = p.at_least_once;
    return i;
  }

  // ---- operations (scheduler thread when running; stopped_mu when stopped) -------------
  static Status ValidateOptions(const std::optional<std::int64_t>& grace,
                                const std::optional<std::int32_t>& max) {
    if (grace && *grace != kUnlimitedGrace && *grace <= 0) {
      return InvalidArgument("misfire_grace_time must be either unlimited or a positive duration");
    }
    if (max && *max <= 0) return InvalidArgument("max_instances must be a positive integer");
    return OkStatus();
  }

  void RemoveJobAt(std::uint32_t slot, bool emit) {
    Job& j = table[slot];
    if (!j.pending) StoreRemove(j);
    if (emit) Emit(kEventJobRemoved, aliases[j.jobstore], j.id);  // before the id goes
    Unlink(slot);
  }

  // A task job's callable, and the encoded arguments its store keeps.
  Status BindTask(const std::string& task, const TaskArgs& args, JobFunction* fn,
                  std::string* encoded) const {
    if (!tasks.Contains(task)) {
      return Status::Format(StatusCode::kNotFound,
                            "task \"%.100s\" is not registered (Scheduler::AddTask, before Start)",
                            task.c_str());
    }
    Result<std::string> e = EncodeArgs(args);
    if (!e.ok()) return e.status();
    *fn = tasks.Bind(task, args);
    if (!*fn) return Status(StatusCode::kResourceExhausted, "out of memory binding a task");
    *encoded = std::move(e).value();
    return OkStatus();
  }

  // What runs: a task (bound here) or a C++ callable — which a persistent store cannot keep.
  Status CheckWhatRuns(JobSpec& spec, JobFunction* task_fn, std::string* encoded) const {
    if (!spec.task.empty()) {
      if (spec.fn) return InvalidArgument("a job runs a callable (fn) or a task, not both");
      return BindTask(spec.task, spec.args, task_fn, encoded);
    }
    if (!spec.args.empty()) {
      return InvalidArgument(
          "args are a task's arguments: set JobSpec::task, or bind a callable's arguments with "
          "JobFunction::Bind");
    }
    if (!spec.fn) return InvalidArgument("the job has no callable");
    for (const auto& [alias, store] : stores) {
      if (alias == spec.jobstore && store->persistent()) return PersistentNeedsTask(alias);
    }
    return OkStatus();
  }
  static Status PersistentNeedsTask(std::string_view alias) {
    return Status::Format(StatusCode::kInvalidArgument,
                          "job store \"%.*s\" is persistent: its jobs must name a registered "
                          "task (JobSpec::task), not a C++ callable",
                          static_cast<int>(alias.size()), alias.data());
  }

  Status AddJob(JobSpec& spec, bool running, std::string* id_out) {
    APS_RETURN_IF_ERROR(ValidateOptions(spec.misfire_grace_us, spec.max_instances));
    if (running && !StoreByAlias(spec.jobstore)) {
      return Status::Format(StatusCode::kNotFound, "No such job store: %s", spec.jobstore.c_str());
    }
    JobFunction task_fn;
    std::string encoded_args;
    APS_RETURN_IF_ERROR(CheckWhatRuns(spec, &task_fn, &encoded_args));
    const Instant now = WallNow();
    if (spec.id.empty()) spec.id = GenerateId();
    const std::optional<std::uint32_t> old = index.Find(spec.id, IdOfSlot());
    const std::size_t old_unresolved = UnresolvedIndex(spec.id, spec.jobstore);
    if (IdTaken(spec.id, old, old_unresolved, running) && !spec.replace_existing) {
      return ConflictingIdError(spec.id);
    }
    if (old) RemoveJobAt(*old, /*emit=*/false);
    // (a replaced unresolved record is overwritten in its store by this job's upsert)
    if (old_unresolved != kNone)
      unresolved.erase(unresolved.begin() + static_cast<std::ptrdiff_t>(old_unresolved));
    const std::uint32_t slot = NewRecord();
    Job& j = table[slot];
    j.id = std::move(spec.id);  // (spec.id stays intact on every error path above)
    if (!spec.name.empty() && spec.name != j.id) j.Extra().name = std::move(spec.name);
    j.trigger = std::move(spec.trigger);
    if (!j.trigger) j.trigger.SetDate(now.us);  // APScheduler's default DateTrigger(now)
    if (!spec.task.empty()) {
      j.fn = std::move(task_fn);
      j.Extra().task = std::move(spec.task);
      j.extra->args = std::move(encoded_args);
    } else {
      j.fn = std::move(spec.fn);
    }
    j.replace_existing = spec.replace_existing;
    SetPolicy(j, PolicyFrom(spec, spec.at_least_once));
    j.executor = Intern(spec.executor);
    j.jobstore = Intern(spec.jobstore);
    *id_out = j.id.view();
    if (!running) {
      j.pending = true;
      j.pending_kind = spec.next_run_time.kind;
      j.next_us = spec.next_run_time.at.us;
      Link(slot);
      return OkStatus();
    }
    Activate(slot, j, spec.next_run_time, now);
    return OkStatus();
  }

  // Whether a new job may not take `id`: a job in memory (`old`), an unresolved stored one, or
  // (running) one that a paging store keeps on disk only.
  bool IdTaken(std::string_view id, const std::optional<std::uint32_t>& old,
               std::size_t old_unresolved, bool running) {
    return old || old_unresolved != kNone || (running && StoredOnly(id));
  }

  // A new record (slot) of a running scheduler becomes a scheduled, stored job: JOB_ADDED.
  void Activate(std::uint32_t slot, Job& j, const NextRunTime& first, Instant now) {
    j.set_next(FirstRunTime(j, first, now));
    Link(slot);
    Schedule(slot, j);
    StoreWrite(j, /*added=*/true);
    Emit(kEventJobAdded, aliases[j.jobstore], j.id);
  }

  // AddJob() of an add that travelled whole (AsyncAdd), without building a JobSpec: a C++
  // callable in the "default" store and executor. The scheduler is running.
  Status AddWhole(AsyncAdd& a, Instant now) {
    const std::uint16_t alias = Intern(kDefaultAlias);
    const int si = Resolve(store_of_alias, stores, alias);
    if (si < 0) return Status(StatusCode::kNotFound, "No such job store: default");
    if (stores[static_cast<std::size_t>(si)].second->persistent()) {
      return PersistentNeedsTask(kDefaultAlias);
    }
    const std::optional<std::uint32_t> old = index.Find(a.id, IdOfSlot());
    if (IdTaken(a.id, old, UnresolvedIndex(a.id, kDefaultAlias), /*running=*/true)) {
      return ConflictingIdError(a.id);
    }
    const std::uint32_t slot = NewRecord();
    Job& j = table[slot];
    j.id = std::move(a.id);
    j.trigger = std::move(a.trigger);
    if (!j.trigger) j.trigger.SetDate(now.us);  // APScheduler's default DateTrigger(now)
    j.fn = std::move(a.fn);
    SetPolicy(j, PolicyFrom(a, /*at_least_once=*/false));
    j.executor = j.jobstore = alias;
    Activate(slot, j, NextRunTime{a.when, Instant{a.at_us}}, now);
    return OkStatus();
  }

  // A whole add as the JobSpec it stands for (applied while stopped: a pending job).
  static JobSpec SpecOf(AsyncAdd& a) {
    JobSpec spec;
    spec.fn = std::move(a.fn);
    spec.trigger = std::move(a.trigger);
    spec.id = std::string(a.id.view());
    spec.misfire_grace_us = a.misfire_grace_us;
    spec.max_instances = a.max_instances;
    spec.coalesce = a.coalesce;
    spec.max_instances_policy = a.max_instances_policy;
    spec.next_run_time = NextRunTime{a.when, Instant{a.at_us}};
    return spec;
  }

  std::optional<Instant> FirstRunTime(const Job& j, const NextRunTime& first, Instant now) {
    switch (first.kind) {
      case NextRunTime::Kind::kNow: return now;
      case NextRunTime::Kind::kPaused: return std::nullopt;
      case NextRunTime::Kind::kAt: return first.at;
      case NextRunTime::Kind::kFromTrigger: break;
    }
    return TriggerNext(j, std::nullopt, now);  // none: the job is added paused (APScheduler)
  }

  // A new callable. The old one may be running (an executor holds a pointer to it): it is then
  // kept until the job's runs finish.
  static void ReplaceFn(Job& j, JobFunction fn) {
    if (j.running == 0) {
      j.fn = std::move(fn);
      if (j.extra) j.extra->fns.clear();
      return;
    }
    j.Extra().fns.push_back(std::make_unique<JobFunction>(std::move(fn)));
  }

  Status Modify(std::string_view id, std::string_view jobstore, JobChanges& c, bool running) {
    std::uint32_t slot = 0;
    Job* j = running ? FindAny(id, jobstore, &slot) : Find(id, jobstore, &slot);
    if (!j) return MissingJob(id, jobstore);
    // All-or-nothing: every change is checked before any is applied (APScheduler's _modify).
    APS_RETURN_IF_ERROR(ValidateOptions(c.misfire_grace_us, c.max_instances));
    if (c.name && c.name->empty()) return InvalidArgument("name must be a nonempty string");
    if (c.executor && c.executor->empty())
      return InvalidArgument("executor must be a nonempty string");
    if (c.fn && !*c.fn) return InvalidArgument("the job has no callable");
    const bool is_task = j->extra && !j->extra->task.empty();
    if (c.fn && is_task) {
      return InvalidArgument("the job runs a task: change its args, not its callable");
    }
    if (c.args && !is_task) return InvalidArgument("args are for jobs that run a task");
    JobFunction task_fn;
    std::string encoded_args;
    if (c.args) APS_RETURN_IF_ERROR(BindTask(j->extra->task, *c.args, &task_fn, &encoded_args));
    if (c.name) {
      if (*c.name != j->id || j->extra) j->Extra().name = *c.name;
    }
    JobPolicy p = PolicyOf(*j);
    if (c.misfire_grace_us) p.grace_us = *c.misfire_grace_us;
    if (c.coalesce) p.coalesce = *c.coalesce;
    if (c.max_instances) p.max_instances = *c.max_instances;
    if (c.max_instances_policy) p.wait = *c.max_instances_policy == MaxInstancesPolicy::kWait;
    SetPolicy(*j, p);
    if (c.executor) j->executor = Intern(*c.executor);
    if (c.trigger) j->trigger = std::move(c.trigger);
    if (c.fn) ReplaceFn(*j, std::move(*c.fn));
    if (c.args) {
      ReplaceFn(*j, std::move(task_fn));
      j->extra->args = std::move(encoded_args);
    }
    if (c.next_run_time) {
      j->set_next(*c.next_run_time);
      if (j->pending) {
        j->pending_kind = *c.next_run_time ? NextRunTime::Kind::kAt : NextRunTime::Kind::kPaused;
      }
    }
    if (running && !j->pending) {
      if (c.next_run_time) Schedule(slot, *j);
      StoreWrite(*j, /*added=*/false);
    }
    Emit(kEventJobModified,
         j->pending ? std::string_view() : std::string_view(aliases[j->jobstore]), j->id);
    return OkStatus();
  }

  Status Reschedule(std::string_view id, std::string_view jobstore, std::unique_ptr<Trigger> t,
                    bool running) {
    JobChanges c;
    const std::optional<Instant> next = t->Next(std::nullopt, WallNow());
    c.trigger = std::move(t);
    c.next_run_time = next;
    return Modify(id, jobstore, c, running);
  }

  Status ResumeJob(std::string_view id, std::string_view jobstore, bool running, bool* kept) {
    std::uint32_t slot = 0;
    Job* j = running ? FindAny(id, jobstore, &slot) : Find(id, jobstore, &slot);
    if (!j) return MissingJob(id, jobstore);
    const std::optional<Instant> next = TriggerNext(*j, std::nullopt, WallNow());
    if (!next) {
      RemoveJobAt(slot, /*emit=*/true);
      *kept = false;
      return OkStatus();
    }
    JobChanges c;
    c.next_run_time = next;
    *kept = true;
    return Modify(id, jobstore, c, running);
  }

  Status Remove(std::string_view id, std::string_view jobstore) {
    std::uint32_t slot = 0;
    if (stores_started ? FindAny(id, jobstore, &slot) : Find(id, jobstore, &slot)) {
      RemoveJobAt(slot, /*emit=*/true);
      return OkStatus();
    }
    const std::size_t u = UnresolvedIndex(id, jobstore);
    if (u == kNone) return JobLookupError(id);
    RemoveUnresolved(u, /*emit=*/true);
    return OkStatus();
  }

  void RemoveAll(std::string_view jobstore) {
    std::vector<std::uint32_t> victims;
    ForEachLive([&](std::uint32_t slot, const Job& j) {
      if (jobstore.empty() || aliases[j.jobstore] == jobstore) victims.push_back(slot);
    });
    for (std::uint32_t slot : victims) RemoveJobAt(slot, /*emit=*/false);
    for (std::size_t si = 0; si < stores.size(); ++si) {  // what is only in paging stores
      if (Paging(si) && (jobstore.empty() || stores[si].first == jobstore)) {
        StoreChange(si, StoreOp::kClear, std::string(), nullptr);
      }
    }
    for (std::size_t u = unresolved.size(); u-- > 0;) {
      if (jobstore.empty() || aliases[unresolved[u].jobstore] == jobstore) {
        RemoveUnresolved(u, /*emit=*/false);
      }
    }
    Emit(kEventAllJobsRemoved, jobstore);
  }

  // ---- unresolved stored jobs ----------------------------------------------------------
  static constexpr std::size_t kNone = SIZE_MAX;
  std::size_t UnresolvedIndex(std::string_view id, std::string_view jobstore) const {
    for (std::size_t u = 0; u < unresolved.size(); ++u) {
      if (unresolved[u].info.id == id &&
          (jobstore.empty() || aliases[unresolved[u].jobstore] == jobstore)) {
        return u;
      }
    }
    return kNone;
  }
  // JobLookupError, or for an unresolved job what is wrong with it.
  Status MissingJob(std::string_view id, std::string_view jobstore) const {
    const std::size_t u = UnresolvedIndex(id, jobstore);
    if (u == kNone) return JobLookupError(id);
    return Status::Format(StatusCode::kFailedPrecondition,
                          "job \"%.100s\" is not loaded (%s); it can only be removed",
                          unresolved[u].info.id.c_str(), unresolved[u].info.problem.c_str());
  }
  void RemoveUnresolved(std::size_t u, bool emit) {
    const Unresolved& x = unresolved[u];
    const int si = Resolve(store_of_alias, stores, x.jobstore);
    if (si >= 0) StoreChange(static_cast<std::size_t>(si), StoreOp::kRemove, x.info.id, nullptr);
    if (emit) Emit(kEventJobRemoved, aliases[x.jobstore], x.info.id);
    unresolved.erase(unresolved.begin() + static_cast<std::ptrdiff_t>(u));
  }
  // A stored job that cannot be loaded: kept in its store, logged, reported, listed.
  void ReportUnresolved(std::uint16_t jobstore, const std::string& id, const JobState* s,
                        const std::string& problem) {
    if (UnresolvedIndex(id, aliases[jobstore]) != kNone) return;  // reported once
    Unresolved x{jobstore, {}};
    if (s) {
      x.info = InfoOfState(*s, aliases[jobstore]);
    } else {  // the record did not read: only its id is known
      x.info.id = x.info.name = id;
      x.info.jobstore = aliases[jobstore];
    }
    x.info.unresolved = true;
    x.info.problem = problem;
    Log(LogLevel::kWarning,
        "job store \"%s\": job \"%s\" is not loaded: %s; it stays in the store (listed as "
        "unresolved)",
        aliases[jobstore].c_str(), id.c_str(), problem.c_str());
    if (Wants(kEventJobUnresolved)) {
      Event e;
      e.code = kEventJobUnresolved;
      e.alias = aliases[jobstore];
      e.job_id = id;
      e.error = problem;
      events.push_back(std::move(e));
    }
    unresolved.push_back(std::move(x));
  }

  // Why a stored job naming `task` cannot be loaded, or empty.
  std::string TaskProblem(const std::string& task) const {
    if (task.empty()) return "it names no task (a job stored with a C++ callable cannot be loaded)";
    if (!tasks.Contains(task)) {
      return "task \"" + task + "\" is not registered (register it with AddTask before Start)";
    }
    return {};
  }

  // Paging stores keep most jobs on disk until they come due; the jobs of unregistered tasks
  // among them are reported at Start() all the same (found by the store's task index, without
  // reading the other jobs).
  void ReportJobsOfMissingTasks(std::size_t si) {
    JobStore& store = *stores[si].second;
    std::vector<std::string> ids;
    const Status st =
        store.JobsNamingTasks([&](std::string_view task) { return !tasks.Contains(task); }, &ids);
    if (!st.ok()) {
      Log(LogLevel::kError, "job store \"%s\": looking for jobs of unregistered tasks failed: %s",
          stores[si].first.c_str(), st.message());
      return;
    }
    const std::uint16_t alias = Intern(stores[si].first);
    for (const std::string& id : ids) {
      if (Find(id, {}) != nullptr) continue;
      Result<std::optional<JobState>> s = store.LookupJob(id);
      if (!s.ok()) {
        ReportUnresolved(alias, id, nullptr, s.status().message());
      } else if (s->has_value()) {
        ReportUnresolved(alias, id, &**s, TaskProblem((*s)->task));
      }
    }
  }

  // Builds and links the record of a stored job (Start(), paging, a lookup by id). A job that
  // cannot be loaded is reported (unresolved) and nullopt returned. Not scheduled yet.
  std::optional<std::uint32_t> LinkStored(std::uint16_t store_alias, JobState& s, Instant now) {
    std::string problem = TaskProblem(s.task);
    std::unique_ptr<Trigger> trigger;
    TaskArgs args;
    if (problem.empty()) {
      if (Result<TaskArgs> a = DecodeArgs(s.args); !a.ok()) {
        problem = a.status().message();
      } else if (Result<std::unique_ptr<Trigger>> t = ParseTrigger(s.trigger, now, zone); !t.ok()) {
        problem = std::string("its trigger does not read: ") + t.status().message();
      } else {
        args = std::move(a).value();
        trigger = std::move(t).value();
      }
    }
    JobFunction fn;
    if (problem.empty()) {
      fn = tasks.Bind(s.task, std::move(args));
      if (!fn) problem = "out of memory binding its task";
    }
    if (!problem.empty()) {
      ReportUnresolved(store_alias, s.id, &s, problem);
      return std::nullopt;
    }
    const std::uint32_t slot = NewRecord();
    Job& j = table[slot];
    j.id = std::move(s.id);
    if (!s.name.empty() && s.name != j.id) j.Extra().name = std::move(s.name);
    j.trigger = std::move(trigger);
    j.fn = std::move(fn);
    j.Extra().task = std::move(s.task);
    j.extra->args = std::move(s.args);
    JobPolicy policy;  // as stored; the wait policy is not stored (the default applies)
    policy.grace_us = s.misfire_grace_us;
    policy.max_instances = s.max_instances;
    policy.coalesce = s.coalesce;
    policy.wait = opts.job_defaults.max_instances_policy == MaxInstancesPolicy::kWait;
    policy.at_least_once = s.at_least_once;
    SetPolicy(j, policy);
    j.executor = Intern(s.executor.empty() ? std::string_view("default") : s.executor);
    j.jobstore = store_alias;
    j.set_next(s.next_run_time);
    if (s.at_least_once && s.inflight_run) {
      // A run that started and did not finish before the process stopped: run it again
      // (late, so the misfire policy applies to it as to any late run).
      j.extra->inflight_run = s.inflight_run;
      j.set_next(s.inflight_run);
      Log(LogLevel::kWarning,
          "job \"%s\": its run of %s did not finish before the scheduler stopped; running it "
          "again (at_least_once)",
          j.id.c_str(), FormatIsoUtc(*s.inflight_run).c_str());
    }
    Link(slot);
    return slot;
  }

  // ---- paging (large persistent stores) ------------------------------------------------
  bool Paging(std::size_t si) const { return si < store_sync.size() && store_sync[si].paging; }

  // Jobs of paging stores due within the horizon join the table: at Start() (LoadStore), then
  // whenever the loaded part reaches less than half a horizon ahead (every iteration checks).
  void PageIn(Instant now) {
    for (std::size_t si = 0; si < store_sync.size(); ++si) {
      const StoreSync& ss = store_sync[si];
      if (!ss.paging || ss.failing || now.us < ss.loaded_until - opts.store_horizon_us / 2) {
        continue;
      }
      std::vector<std::uint32_t> linked;
      if (Status st = PageInStore(si, now, &linked); !st.ok()) {
        StoreFailed(si, "paging in jobs", st);
        continue;
      }
      for (std::uint32_t slot : linked) Schedule(slot, table[slot]);
    }
  }
  // Links the jobs of store `si` due in (loaded_until, now + horizon] (not scheduled yet).
  Status PageInStore(std::size_t si, Instant now, std::vector<std::uint32_t>* linked) {
    StoreSync& ss = store_sync[si];
    const std::int64_t until =
        now.us > INT64_MAX - opts.store_horizon_us ? INT64_MAX : now.us + opts.store_horizon_us;
    std::vector<JobState> states;
    std::vector<std::pair<std::string, Status>> problems;
    const std::optional<Instant> after = ss.loaded_until == INT64_MIN
                                             ? std::nullopt
                                             : std::optional<Instant>(Instant{ss.loaded_until});
    APS_RETURN_IF_ERROR(stores[si].second->LoadJobsDue(after, Instant{until}, &states, &problems));
    const std::uint16_t alias = Intern(stores[si].first);
    for (auto& [id, problem] : problems) {
      if (UnresolvedIndex(id, {}) == kNone) ReportUnresolved(alias, id, nullptr, problem.message());
    }
    for (JobState& js : states) {
      if (ss.dirty.count(js.id) != 0 || Find(js.id, {}) || UnresolvedIndex(js.id, {}) != kNone) {
        continue;
      }
      if (std::optional<std::uint32_t> slot = LinkStored(alias, js, now)) linked->push_back(*slot);
    }
    ss.loaded_until = until;
    return OkStatus();
  }

  // A job of a paging store due after the loaded part (or paused) may leave memory once its
  // state is committed: noted here, decided by EvictIdle().
  std::vector<std::uint64_t> evict;
  void NoteIfBeyondHorizon(std::uint32_t slot, const Job& j) {
    if (j.pending || store_sync.empty()) return;
    const int si = Resolve(store_of_alias, stores, j.jobstore);
    if (si < 0 || !Paging(static_cast<std::size_t>(si))) return;
    if (!j.has_next || j.next_us > store_sync[static_cast<std::size_t>(si)].loaded_until) {
      evict.push_back(KeyOf(slot, j));
    }
  }
  // After a commit: the noted jobs that are idle, committed and still beyond the loaded part
  // leave memory (they stay in their store and come back with PageIn() or a lookup by id).
  void EvictIdle() {
    for (std::uint64_t key : evict) {
      Job* j = ByKey(key);
      if (!j || j->pending || j->running != 0 || j->waiting || j->has_backlog()) continue;
      if (j->extra && j->extra->inflight_run) continue;
      const int si = Resolve(store_of_alias, stores, j->jobstore);
      if (si < 0 || !Paging(static_cast<std::size_t>(si))) continue;
      const StoreSync& ss = store_sync[static_cast<std::size_t>(si)];
      if (ss.failing || ss.in_batch || ss.dirty.count(j->id.view()) != 0) continue;
      if (j->has_next && j->next_us <= ss.loaded_until) continue;
      Unlink(SlotOfKey(key));
    }
    evict.clear();
  }

  // True when a paging store holds job `id` that is not in memory.
  bool StoredOnly(std::string_view id) {
    for (std::size_t si = 0; si < stores.size(); ++si) {
      if (!Paging(si) || store_sync[si].dirty.count(id) != 0) continue;
      Result<std::optional<JobState>> r = stores[si].second->LookupJob(id);
      if (!r.ok() || r->has_value()) return true;  // (unreadable: taken, not overwritten)
    }
    return false;
  }

  // Find(), and for a job only in a paging store: page it in (it leaves again when idle).
  Job* FindAny(std::string_view id, std::string_view jobstore, std::uint32_t* slot_out = nullptr) {
    if (Job* j = Find(id, jobstore, slot_out)) return j;
    if (UnresolvedIndex(id, jobstore) != kNone) return nullptr;  // known, cannot be loaded
    for (std::size_t si = 0; si < stores.size(); ++si) {
      if (!Paging(si) || !(jobstore.empty() || stores[si].first == jobstore)) continue;
      if (store_sync[si].dirty.count(id) != 0) continue;  // removed, not written
      Result<std::optional<JobState>> r = stores[si].second->LookupJob(id);
      if (!r.ok() || !r->has_value()) continue;
      std::optional<std::uint32_t> slot = LinkStored(Intern(stores[si].first), **r, WallNow());
      if (!slot) return nullptr;
      Job& j = table[*slot];
      Schedule(*slot, j);
      if (slot_out) *slot_out = *slot;
      return &j;
    }
    return nullptr;
  }

  // Loads the jobs of persistent store `si` (Start()). The table's own copy of a job of this
  // store (kept across Shutdown()/Start() in one process) wins, as do changes made while
  // stopped (removals too: they are written right after); a pending job of the same id
  // replaces the stored one when added with replace_existing, else it is a conflict.
  Status LoadStore(std::size_t si, Instant now, std::vector<std::uint32_t>* loaded) {
    const std::string& alias = stores[si].first;
    if (opts.store_horizon_us > 0 && stores[si].second->pages()) {
      // Paging: only what is due within the horizon. Pending jobs conflict with stored jobs
      // that stay on disk too.
      StoreSync& ss = store_sync[si];
      ss.paging = true;
      ss.loaded_until = INT64_MIN;
      Status conflict;
      ForEachLive([&](std::uint32_t, const Job& j) {
        if (!conflict.ok() || !j.pending || j.replace_existing || aliases[j.jobstore] != alias) {
          return;
        }
        Result<std::optional<JobState>> r = stores[si].second->LookupJob(j.id);
        if (r.ok() && r->has_value()) conflict = ConflictingIdError(j.id);
      });
      APS_RETURN_IF_ERROR(conflict);
      if (Status st = PageInStore(si, now, loaded); !st.ok()) {
        return Status::Format(st.code(), "job store \"%s\" failed to load: %s", alias.c_str(),
                              st.message());
      }
      ReportJobsOfMissingTasks(si);
      return OkStatus();
    }
    std::vector<JobState> states;
    std::vector<std::pair<std::string, Status>> problems;
    Status st = stores[si].second->LoadJobs(&states, &problems);
    if (!st.ok()) {
      return Status::Format(st.code(), "job store \"%s\" failed to load: %s", alias.c_str(),
                            st.message());
    }
    const std::uint16_t store_alias = Intern(alias);
    for (auto& [id, problem] : problems)
      ReportUnresolved(store_alias, id, nullptr, problem.message());
    for (JobState& s : states) {
      // A change this scheduler made while stopped (written at this Start) is newer.
      if (si < store_sync.size() && store_sync[si].dirty.count(s.id) != 0) continue;
      if (Job* have = Find(s.id, {})) {
        if (have->jobstore == store_alias && (!have->pending || have->replace_existing)) continue;
        return ConflictingIdError(s.id);
      }
      if (std::optional<std::uint32_t> slot = LinkStored(store_alias, s, now)) {
        loaded->push_back(*slot);
      }
    }
    return OkStatus();
  }

  std::vector<JobInfo> Infos(std::string_view jobstore) {
    std::vector<const Job*> js;
    ForEachLive([&](std::uint32_t, const Job& j) {
      if (jobstore.empty() || aliases[j.jobstore] == jobstore) js.push_back(&j);
    });
    // Per store in alias order (pending jobs first), then by next run time with paused last,
    // then by id (APScheduler's MemoryJobStore order).
    std::sort(js.begin(), js.end(), [this](const Job* a, const Job* b) {
      if (a->pending != b->pending) return a->pending;
      if (a->jobstore != b->jobstore) return aliases[a->jobstore] < aliases[b->jobstore];
      const std::int64_t ta = a->has_next ? a->next_us : INT64_MAX;
      const std::int64_t tb = b->has_next ? b->next_us : INT64_MAX;
      if (ta != tb) return ta < tb;
      return a->id.view() < b->id.view();
    });
    std::vector<JobInfo> out;
    out.reserve(js.size());
    for (const Job* j : js) out.push_back(InfoOf(*j));
    // Paging stores: the jobs that are only in the store, merged in order.
    const std::size_t resident = out.size();
    for (std::size_t si = 0; si < stores.size(); ++si) {
      if (!Paging(si) || !(jobstore.empty() || stores[si].first == jobstore)) continue;
      // (Every readable job; one that does not read is listed as unresolved, saying why.)
      std::vector<JobState> all;
      std::vector<std::pair<std::string, Status>> problems;
      if (Status st = stores[si].second->LoadJobs(&all, &problems); !st.ok()) {
        Log(LogLevel::kError, "job store \"%s\": listing its jobs failed: %s",
            stores[si].first.c_str(), st.message());
        continue;
      }
      for (const JobState& s : all) {
        if (!Find(s.id, {}) && UnresolvedIndex(s.id, {}) == kNone) {
          out.push_back(InfoOfState(s, stores[si].first));
        }
      }
      for (const auto& [id, problem] : problems) {
        if (UnresolvedIndex(id, {}) != kNone) continue;
        JobInfo i;
        i.id = i.name = id;
        i.jobstore = stores[si].first;
        i.unresolved = true;
        i.problem = problem.message();
        out.push_back(std::move(i));
      }
    }
    if (out.size() != resident) {
      std::stable_sort(out.begin(), out.end(), [](const JobInfo& a, const JobInfo& b) {
        if (a.pending != b.pending) return a.pending;
        if (a.jobstore != b.jobstore) return a.jobstore < b.jobstore;
        const std::int64_t ta = a.next_run_time ? a.next_run_time->us : INT64_MAX;
        const std::int64_t tb = b.next_run_time ? b.next_run_time->us : INT64_MAX;
        if (ta != tb) return ta < tb;
        return a.id < b.id;
      });
    }
    for (const Unresolved& u : unresolved) {  // after the store's loaded jobs
      if (jobstore.empty() || u.info.jobstore == jobstore) out.push_back(u.info);
    }
    return out;
  }

  // Decoded task arguments as listings show them.
  static std::string ArgsText(const Result<TaskArgs>& a) {
    return a.ok() ? DescribeArgs(*a) : std::string("<undecodable>");
  }

  // A stored job that is not in memory (paging), as GetJobs() shows it.
  JobInfo InfoOfState(const JobState& s, const std::string& alias) const {
    JobInfo i;
    i.id = s.id;
    i.name = s.name.empty() ? s.id : s.name;
    Result<std::unique_ptr<Trigger>> t = ParseTrigger(s.trigger, WallNow(), zone);
    i.trigger = t.ok() ? (*t)->Describe() : s.trigger;
    i.trigger_text = s.trigger;
    i.executor = s.executor;
    i.jobstore = alias;
    i.next_run_time = s.next_run_time;
    i.task = s.task;
    const Result<TaskArgs> args = DecodeArgs(s.args);
    i.args = ArgsText(args);
    i.misfire_grace_us = s.misfire_grace_us;
    i.coalesce = s.coalesce;
    i.max_instances = s.max_instances;
    i.at_least_once = s.at_least_once;
    i.problem = TaskProblem(s.task);
    if (i.problem.empty() && !args.ok()) i.problem = "its arguments do not decode";
    i.unresolved = !i.problem.empty();
    return i;
  }

  std::string Print(std::string_view jobstore, bool running) {
    std::string out;
    const std::vector<JobInfo> infos = Infos(jobstore);
    if (!running) {
      out = "Pending jobs:\n";
      bool any = false;
      for (const JobInfo& i : infos) {
        if (!i.pending) continue;
        out += "    " + i.ToString(*zone) + "\n";
        any = true;
      }
      if (!any) out += "    No pending jobs\n";
      return out;
    }
    std::vector<std::string> names;
    for (auto& [a, s] : stores) {
      if (jobstore.empty() || a == jobstore) names.push_back(a);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& a : names) {
      out += "Jobstore " + a + ":\n";
      bool any = false;
      for (const JobInfo& i : infos) {
        if (i.jobstore != a) continue;
        out += "    " + i.ToString(*zone) + "\n";
        any = true;
      }
      if (!any) out += "    No scheduled jobs\n";
    }
    return out;
  }

  // Applies a command. `running`: the scheduler thread owns the table.
  // Applies a command. `running`: the scheduler thread owns the table. The answer goes into
  // *out (then the caller completes it) or into c.reply (completed here).
  void Apply(Command& c, bool running, Reply* out = nullptr) {
    Reply scratch;
    Reply& r = out ? *out : c.reply ? *c.reply : scratch;
    switch (c.kind) {
      case Command::Kind::kAdd: r.status = AddJob(c.spec, running, &r.id); break;
      case Command::Kind::kModify: r.status = Modify(c.id, c.jobstore, *c.changes, running); break;
      case Command::Kind::kReschedule:
        r.status = Reschedule(c.id, c.jobstore, std::move(c.trigger), running);
        break;
      case Command::Kind::kPauseJob: {
        JobChanges ch;
        ch.next_run_time = std::optional<Instant>();
        r.status = Modify(c.id, c.jobstore, ch, running);
        break;
      }
      case Command::Kind::kResumeJob:
        r.status = ResumeJob(c.id, c.jobstore, running, &r.flag);
        break;
      case Command::Kind::kRemove: r.status = Remove(c.id, c.jobstore); break;
      case Command::Kind::kRemoveAll:
        if (!c.jobstore.empty() && running && !StoreByAlias(c.jobstore)) {
          r.status =
              Status::Format(StatusCode::kNotFound, "No such job store: %s", c.jobstore.c_str());
        } else {
          RemoveAll(c.jobstore);
        }
        break;
      case Command::Kind::kGet: {
        Job* j = running ? FindAny(c.id, c.jobstore) : Find(c.id, c.jobstore);
        if (j) r.info = InfoOf(*j);
        break;
      }
      case Command::Kind::kGetAll: r.infos = Infos(c.jobstore); break;
      case Command::Kind::kPrint: r.text = Print(c.jobstore, running); break;
      case Command::Kind::kPause:
        if (state.load() == SchedulerState::kRunning) {
          state.store(SchedulerState::kPaused);
          Emit(kEventSchedulerPaused, {});
        }
        break;
      case Command::Kind::kResume:
        if (state.load() == SchedulerState::kPaused) {
          state.store(SchedulerState::kRunning);
          Emit(kEventSchedulerResumed, {});
        }
        break;
      case Command::Kind::kShutdown:
        stopping = true;
        stop_wait = c.wait;
        break;
      case Command::Kind::kWakeup: break;
    }
    // A handle still attached here was not taken by the loop's group commit: the command was
    // applied in the stopped state (the change is written at the next Start()).
    if (c.commit) {
      c.commit->Complete(r.status);
      c.commit.reset();
    }
    // Read everything needed from `c` before completing: a waiting caller owns `c` and may
    // destroy it as soon as Complete() publishes the reply.
    const bool owned = c.owned;
    if (owned) {
      if (!r.status.ok()) {
        Log(LogLevel::kError, "AddJobAsync: job \"%s\" not added: %s", c.spec.id.c_str(),
            r.status.message());
      }
      c = Command{};  // frees what the job did not take over; reused by AddJobAsync
      if (!commands.GiveSpare(&c)) delete &c;
      return;
    }
    if (c.reply) c.reply->Complete();
  }

  // ---- the loop ---------------------------------------------------------------------------
  void CheckClock(Instant now) {
    const std::uint32_t epoch = clock->WallEpoch();
    if (epoch == wall_epoch && now.us >= wheel_now) return;
    wall_epoch = epoch;
    if (now.us < wheel_now) Rebuild(now);
  }

  // The wall clock went back: rebuild the wheel from the job table at the new time.
  void Rebuild(Instant now) {
    wheel->Clear(now.us);
    wheel_now = now.us;
    ForEachLive([&](std::uint32_t slot, Job& j) {
      j.in_wheel = false;
      Schedule(slot, j);
    });
  }

  void DrainCommands() {
    QueuedCommand* const batch = drain_batch.data();
    std::size_t since_commit = 0;
    for (;;) {
      // A group commit takes at most kCommandsPerCommit commands: under a flood of async adds,
      // a caller waiting for its answer waits for one such commit, not for the whole flood,
      // and a store's transaction stays bounded.
      if (since_commit >= kCommandsPerCommit && !open_batches.empty()) {
        CommitBatches();
        AnswerHeld();
        since_commit = 0;
      }
      const std::size_t n = commands.TryDequeueBulk(batch, 64);
      if (n == 0) break;
      since_commit += n;
      // An add looks its id up (duplicates) and inserts it: with many jobs each is a cache miss
      // in the id index, so start loading the whole batch's buckets before applying any.
      // Whole adds are applied at one reading of the clock (their run date when they have no
      // trigger): they were applied back to back, within microseconds.
      bool whole_adds = false;
      for (std::size_t i = 0; i < n; ++i) {
        const Command* c = batch[i].command;
        if (c == nullptr) {
          index.Prefetch(batch[i].add.id);
          whole_adds = true;
        } else if (c->kind == Command::Kind::kAdd) {
          index.Prefetch(c->spec.id);
        }
      }
      const Instant now = whole_adds ? WallNow() : Instant{};
      for (std::size_t i = 0; i < n; ++i) {
        if (batch[i].command == nullptr) {
          AsyncAdd& a = batch[i].add;
          if (Status st = AddWhole(a, now); !st.ok()) {
            Log(LogLevel::kError, "AddJobAsync: job \"%s\" not added: %s", a.id.c_str(),
                st.message());
          }
          a = AsyncAdd{};  // frees what the job did not take over
          DispatchEvents();
          continue;
        }
        Command& c = *batch[i].command;
        // A call's events are delivered before the call returns (APScheduler dispatches them
        // in the calling thread), and its changes are committed to persistent stores: dispatch,
        // then answer after the group commit below.
        Reply* reply = c.reply;
        c.reply = nullptr;
        std::shared_ptr<engine_internal::CommitState> commit = std::move(c.commit);
        const bool early = c.answer_when_applied;
        Reply scratch;
        Reply& r = reply ? *reply : scratch;
        applying_stores.clear();
        collecting = true;
        Apply(c, /*running=*/true, &r);  // (deletes an owned command)
        collecting = false;
        DispatchEvents();
        if (applying_stores.empty()) {
          if (commit) commit->Complete(r.status);
          if (reply) reply->Complete();
        } else if (early) {  // the caller waits for the commit on its handle, if at all
          if (commit) held.push_back({nullptr, std::move(commit), r.status, applying_stores});
          if (reply) reply->Complete();
        } else if (reply || commit) {
          held.push_back({reply, std::move(commit), r.status, applying_stores});
        }
      }
    }
    if (held.empty()) return;
    CommitBatches();
    AnswerHeld();
  }

  // A change's status once the group commit has run: `applied`, or — applied but its store
  // is failing — kUnavailable saying so (the change is kept and written again at the retry).
  Status Durability(const Status& applied, const std::vector<std::size_t>& touched) const {
    for (std::size_t si : touched) {
      if (applied.ok() && store_sync[si].failing) {
        return Status::Format(StatusCode::kUnavailable,
                              "not yet durable: %s (the change is kept and written again in %s)",
                              store_sync[si].last_error.message(),
                              FormatTimedelta(opts.jobstore_retry_interval_us).c_str());
      }
    }
    return applied;
  }

  // Answers the held calls and handles (after CommitBatches()).
  void AnswerHeld() {
    for (HeldAnswer& h : held) {
      const Status st = Durability(h.applied, h.stores);
      if (h.commit) h.commit->Complete(st);
      if (h.reply) {
        h.reply->status = st;
        h.reply->Complete();
      }
    }
    held.clear();
  }

  // Applies a command on the scheduler thread outside DrainCommands() (a call from a job, a
  // listener, or the host between RunDue() calls) and completes `r` before returning. Outside
  // an iteration its changes are committed first and `r` (and `commit`) say whether they are
  // durable; inside one the iteration's end commits them: `r` says what was applied and
  // `commit` completes then.
  void ApplyOnLoop(Command& c, Reply& r, std::shared_ptr<engine_internal::CommitState> commit) {
    std::vector<std::size_t> outer;
    outer.swap(applying_stores);
    const bool was_collecting = collecting;
    collecting = true;
    c.reply = nullptr;
    Apply(c, /*running=*/true, &r);
    collecting = was_collecting;
    std::vector<std::size_t> touched;
    touched.swap(applying_stores);
    applying_stores.swap(outer);
    if (in_iteration) {
      if (commit) held.push_back({nullptr, std::move(commit), r.status, std::move(touched)});
    } else {
      CommitBatches();
      DispatchEvents();
      r.status = Durability(r.status, touched);
      if (commit) commit->Complete(r.status);
    }
    r.Complete();
  }

  // Hands one run to `ex`; false when the executor (or the completion queue) is full. The run
  // counts in j.running from before the hand-over: an inline executor runs it inside Submit(),
  // and a job that removes itself must find its record kept (a zombie) for the completion.
  bool Submit(std::uint32_t slot, Job& j, Executor* ex, Instant scheduled) {
    std::uint32_t run_id;
    if (!free_inflight.empty()) {
      run_id = free_inflight.back();
      free_inflight.pop_back();
    } else {
      run_id = static_cast<std::uint32_t>(inflight.size());
      inflight.emplace_back();
    }
    InFlight& f = inflight[run_id];
    f.job_key = KeyOf(slot, j);
    f.scheduled = scheduled;
    f.used = true;
    RunRequest req;
    req.job_key = f.job_key;
    req.run_id = run_id;
    req.fn = j.current_fn();
    req.scheduled = scheduled;
    ++j.running;
    // Deferred wake: FlushExecutors() wakes the workers once the iteration has submitted.
    Status st = ex->Submit(req, /*defer_wake=*/true);
    if (st.ok()) {
      if (std::find(to_flush.begin(), to_flush.end(), ex) == to_flush.end()) {
        to_flush.push_back(ex);
      }
      return true;
    }
    // Full: nothing was queued; the caller keeps the run and retries after completions.
    --j.running;
    inflight[run_id] = InFlight{};
    free_inflight.push_back(run_id);
    if (!executor_full) {
      Log(LogLevel::kDebug, "executor for job \"%s\" is full (%s); due runs wait", j.id.c_str(),
          st.message());
    }
    executor_full = true;
    return false;
  }

  void DrainCompletions() {
    RunCompletion* const batch = completion_batch.data();
    for (;;) {
      const std::size_t n = completions ? completions->TryDequeueBulk(batch, 64) : 0;
      if (n == 0) return;
      for (std::size_t i = 0; i < n; ++i) Complete(batch[i]);
    }
  }

  // A run's executor call has returned: one run of a batch (the batch's instance ends with its
  // last run).
  void Complete(const RunCompletion& c) {
    if (c.run_id >= inflight.size() || !inflight[c.run_id].used) return;
    const InFlight f = inflight[c.run_id];
    inflight[c.run_id] = InFlight{};
    free_inflight.push_back(c.run_id);
    Job* j = RecordByKey(f.job_key);
    if (!j) return;
    const std::uint32_t slot = SlotOfKey(f.job_key);
    if (c.ran && Wants(c.ok ? kEventJobExecuted : kEventJobError)) {
      Event e;
      e.code = c.ok ? kEventJobExecuted : kEventJobError;
      e.alias = aliases[j->jobstore];
      e.job_id = j->id;
      e.scheduled_run_time = f.scheduled;
      if (!c.ok) e.error = c.error;
      events.push_back(std::move(e));
    }
    if (c.ran && !c.ok)
      Log(LogLevel::kError, "Job \"%s\" raised an exception: %s", j->id.c_str(), c.error);
    --j->running;  // this run is over (a backlog run counts again when submitted)
    if (!j->live) {
      if (j->running == 0) FreeRecord(slot);  // the zombie's last run
      return;
    }
    if (j->has_backlog() && c.ran) {  // the next run of the same batch (same instance)
      if (SubmitBacklog(slot, *j)) return;
      if (j->has_backlog()) {
        ++j->running;  // the instance stays open while its next run waits for room
        blocked_backlog.push_back(f.job_key);
        return;
      }
    }
    if (j->extra) j->extra->backlog.clear();
    j->SettleFns();
    if (j->running == 0) NoteIfBeyondHorizon(slot, *j);           // (may leave memory now)
    if (j->running == 0 && j->extra && j->extra->inflight_run) {  // at-least-once: done
      j->extra->inflight_run.reset();
      if (j->extra->finished) {
        RemoveJobAt(slot, /*emit=*/true);
        return;
      }
      StoreWrite(*j, /*added=*/false);
    }
    if (j->waiting && j->running < PolicyOf(*j).max_instances &&
        state.load() != SchedulerState::kStopped) {
      j->waiting = false;
      if (j->has_next) due.push_back(f.job_key);  // re-examined in this iteration
    }
  }

  // Submits the next run of the job's current batch; false (backlog kept) when the executor is
  // full, false (backlog cleared) when the executor is gone.
  bool SubmitBacklog(std::uint32_t slot, Job& j) {
    Executor* ex = ExecutorOf(j);
    if (!ex) {
      j.extra->backlog.clear();
      return false;
    }
    if (!Submit(slot, j, ex, j.extra->backlog.front())) return false;
    j.extra->backlog.erase(j.extra->backlog.begin());
    return true;
  }

  // Retries batch runs that found their executor full. Each such job holds one count in
  // `running` for its open instance (see Complete()).
  void RetryBlockedBacklog(bool stop_when_full) {
    std::vector<std::uint64_t> retry;
    retry.swap(blocked_backlog);
    for (std::uint64_t key : retry) {
      Job* j = ByKey(key);
      if (!j) {
        if (Job* z = RecordByKey(key); z && --z->running == 0) FreeRecord(SlotOfKey(key));
        continue;
      }
      if (stop_when_full && executor_full) {
        blocked_backlog.push_back(key);
        continue;
      }
      --j->running;  // Submit() counts the run itself
      if (SubmitBacklog(SlotOfKey(key), *j)) continue;
      if (j->has_backlog()) {
        ++j->running;
        blocked_backlog.push_back(key);
      } else {
        j->SettleFns();
      }
    }
  }

  // The latest fire time <= now, starting from t0 (a fire time <= now): a few steps forward,
  // then a bisection over FirstAtOrAfter, so a long outage costs O(log range) trigger calls.
  Instant LastFireAtOrBefore(const Trigger& t, Instant t0, Instant now) {
    Instant last = t0;
    for (int i = 0; i < 16; ++i) {
      const std::optional<Instant> n = t.Next(last, now);
      if (!n || *n > now || *n <= last) return last;
      last = *n;
    }
    std::int64_t lo = last.us, hi = now.us;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo + 1) / 2;
      const std::optional<Instant> f = t.FirstAtOrAfter(Instant{mid}, Instant{lo});
      if (f && f->us <= now.us) {
        lo = f->us;
      } else {
        hi = mid - 1;
      }
    }
    return Instant{lo};
  }

  void CollectRunTimes(const Job& j, Instant now) {
    run_times.clear();
    const Instant t0{j.next_us};
    if (!j.trigger) {  // one-shot: its one run
      run_times.push_back(t0);
      return;
    }
    if (PolicyOf(j).coalesce) {
      run_times.push_back(LastFireAtOrBefore(*j.trigger, t0, now));
      return;
    }
    run_times.push_back(t0);
    while (run_times.size() < kMaxBatch) {
      const std::optional<Instant> n = j.trigger->Next(run_times.back(), now);
      if (!n || *n > now || *n <= run_times.back()) break;
      run_times.push_back(*n);
    }
  }

  // After a batch (submitted, dropped or missed): the next run time from the last run time.
  void AdvanceAfter(std::uint32_t slot, Job& j, Instant last, Instant now) {
    const std::optional<Instant> next = TriggerNext(j, last, now);
    if (!next) {
      RemoveJobAt(slot, /*emit=*/true);
      return;
    }
    j.set_next(next);
    Schedule(slot, j);
    StoreWrite(j, /*added=*/false);
  }

  void ProcessDueJob(std::uint64_t key, Instant now) {
    Job* jp = ByKey(key);
    if (!jp || jp->pending || !jp->has_next || jp->next_us > now.us) return;
    Job& j = *jp;
    const std::uint32_t slot = SlotOfKey(key);
    Unschedule(j);
    Executor* ex = ExecutorOf(j);
    if (!ex) {
      Log(LogLevel::kError,
          "Executor lookup (\"%s\") failed for job \"%s\" -- removing it from the job store",
          aliases[j.executor].c_str(), j.id.c_str());
      RemoveJobAt(slot, /*emit=*/true);
      return;
    }
    // A copy: an inline run may change the job's policy (and the policy table) below.
    const JobPolicy policy = PolicyOf(j);
    if (j.running >= policy.max_instances || j.waiting) {
      if (policy.wait || j.waiting) {
        j.waiting = true;  // re-examined when an instance finishes
        return;
      }
      CollectRunTimes(j, now);
      Log(LogLevel::kWarning,
          "Execution of job \"%s\" skipped: maximum number of running instances reached (%d)",
          j.id.c_str(), policy.max_instances);
      EmitRun(kEventJobMaxInstances, j, std::nullopt, &run_times);
      AdvanceAfter(slot, j, run_times.back(), now);
      return;
    }
    CollectRunTimes(j, now);
    const Instant last = run_times.back();
    // Misfire grace per run time; the rest form one batch (one instance, run in order).
    live_times.clear();
    missed_times.clear();
    for (Instant rt : run_times) {
      (policy.grace_us != kUnlimitedGrace && now.us - rt.us > policy.grace_us ? missed_times
                                                                              : live_times)
          .push_back(rt);
    }
    // The next run time moves before the run starts, so a running job sees its next one.
    const std::optional<Instant> old = j.next();
    std::optional<Instant> next = TriggerNext(j, last, now);
    // Bounded work after a long outage (coalesce off, finite grace): once a whole batch was
    // missed, the fire times up to the grace window are skipped in one step (a trigger search)
    // instead of being enumerated and reported one by one; a log line names the span.
    if (live_times.empty() && run_times.size() == kMaxBatch && j.trigger && next &&
        policy.grace_us != kUnlimitedGrace && now.us - next->us > policy.grace_us) {
      const std::optional<Instant> resume =
          j.trigger->FirstAtOrAfter(Instant{now.us - policy.grace_us}, last);
      if (resume && resume->us > next->us) {
        Log(LogLevel::kWarning,
            "Run times of job \"%s\" from %s to before %s were missed (a long outage: not "
            "listed one by one)",
            j.id.c_str(), FormatIsoUtc(*next).c_str(), FormatIsoUtc(*resume).c_str());
        next = resume;
      }
    }
    j.set_next(next);
    if (!live_times.empty()) {
      if (!Submit(slot, j, ex, live_times.front())) {
        j.set_next(old);         // retried after completions, from where it was
        blocked.push_back(key);  // (no events yet: none are repeated by the retry)
        return;
      }
      if (ByKey(key) != &j) return;  // an inline job removed itself while it ran
      if (policy.at_least_once && j.running > 0 && !(j.extra && j.extra->inflight_run)) {
        j.Extra().inflight_run = live_times.front();  // committed with the advance below
      }
      if (live_times.size() > 1) {
        j.Extra().backlog.assign(live_times.begin() + 1, live_times.end());
      }
      EmitRun(kEventJobSubmitted, j, std::nullopt, &live_times);
    }
    for (Instant rt : missed_times) {
      Log(LogLevel::kWarning, "Run time of job \"%s\" was missed by %s", j.id.c_str(),
          FormatTimedelta(now.us - rt.us).c_str());
      EmitRun(kEventJobMissed, j, rt);
    }
    // An exhausted trigger ends the job — unless the job itself (inline) gave it a new time.
    // An at-least-once job whose run is in flight stays (stored, without a next run time)
    // until that run ends, so a crash before then still finds it to run again.
    if (!next && !j.has_next) {
      if (policy.at_least_once && j.extra && j.extra->inflight_run) {
        j.extra->finished = true;
        StoreWrite(j, /*added=*/false);
        return;
      }
      RemoveJobAt(slot, /*emit=*/true);
      return;
    }
    Schedule(slot, j);
    StoreWrite(j, /*added=*/false);
  }

  void ProcessDue() {
    const Instant now = WallNow();
    CheckClock(now);
    // Also when time has not moved: entries inserted due at the wheel's current time wait for
    // the next AdvanceTo (a simulated clock may stand still).
    if (now.us >= wheel_now) {
      wheel->AdvanceTo(now.us, [this](std::uint32_t slot, std::int64_t, JobWheel::Handle) {
        due_slots.push_back(slot);
      });
      wheel_now = now.us;
    }
    // Jobs an executor had no room for go first, in their order; once an executor is full the
    // rest of this iteration's due jobs wait too (no retry storm), after the earlier ones.
    while (blocked_head < blocked.size() && !executor_full) {
      PrefetchDue(blocked, blocked_head);
      const std::uint64_t key = Resolve(blocked[blocked_head++]);
      const std::size_t before = blocked.size();
      ProcessDueJob(key, now);
      if (blocked.size() < blocked_head) {  // an inline job reset the scheduler's state
        blocked_head = blocked.size();
        break;
      }
      if (blocked.size() > before && blocked.back() == key) {
        blocked.pop_back();  // still blocked: it stays at the head, not behind the others
        --blocked_head;
      }
    }
    if (blocked_head == blocked.size()) {
      blocked.clear();
      blocked_head = 0;
      // A burst's worth of capacity is given back once it has drained.
      if (blocked.capacity() > 65536) blocked.shrink_to_fit();
    }
    ProcessDueList(due, now);
    // A fired slot names the job its record holds now. An inline run earlier in this pass may
    // have removed that job and reused the record for a new one: ProcessDueJob() then finds
    // the new job and runs it only if it is due too (as it would be at the next pass).
    ProcessDueList(due_slots, now);
  }

  // Due-list items are keys (`due`) or fired slots (`due_slots`).
  static std::uint32_t DueSlot(std::uint64_t key) { return SlotOfKey(key); }
  static std::uint32_t DueSlot(std::uint32_t slot) { return slot; }
  static std::uint64_t DueKey(std::uint64_t key) { return key; }
  std::uint64_t DueKey(std::uint32_t slot) { return KeyOf(slot, table[slot]); }
  // What `blocked` keeps of an item: fired slots stay "the slot's job" (see kSlotsCurrentJob).
  static std::uint64_t BlockedKey(std::uint64_t key) { return key; }
  static std::uint64_t BlockedKey(std::uint32_t slot) { return SlotsCurrentJobKey(slot); }

  // Examines each job of `list` (which may grow meanwhile), then empties it. Once an executor
  // is full the rest wait in `blocked`.
  template <typename T>
  void ProcessDueList(std::vector<T>& list, Instant now) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (executor_full) {
        blocked.push_back(BlockedKey(list[i]));
        continue;
      }
      PrefetchDue(list, i);
      ProcessDueJob(DueKey(list[i]), now);
    }
    list.clear();
  }

  // Processing a due job touches its record and, when it is removed (a one-shot job), its
  // id-index bucket: both random in memory with many jobs. Prefetching the record kDueAhead
  // jobs ahead, then the bucket (which needs the id from the record) half as far ahead, hides
  // those misses; a burst drain spent a fifth of its time waiting for index buckets.
  template <typename T>
  void PrefetchDue(const std::vector<T>& list, std::size_t i) {
    static constexpr std::size_t kDueAhead = 16;
    if (i + kDueAhead < list.size()) {
      const std::uint32_t slot = DueSlot(list[i + kDueAhead]);
      if (slot < table.records()) __builtin_prefetch(&table[slot]);
    }
    if (i + kDueAhead / 2 < list.size()) {
      const std::uint32_t slot = DueSlot(list[i + kDueAhead / 2]);
      if (slot < table.records()) index.Prefetch(table[slot].id);
    }
  }

  // Ends the batch of runs submitted since the last call: every executor that got one wakes
  // the workers its runs need (Executor::Flush()). Called after each step that submits, before
  // the loop sleeps or returns to a host.
  // An executor whose Flush() could not hand everything over (rare: see Executor::Flush())
  // stays listed and is flushed again next time; the loop then sleeps at most a millisecond.
  void FlushExecutors() {
    std::size_t kept = 0;
    for (Executor* ex : to_flush) {
      if (!ex->Flush()) to_flush[kept++] = ex;
    }
    to_flush.resize(kept);
  }

  void RunOnce() {
    in_iteration = true;
    RetryStores(WallNow());
    PageIn(WallNow());
    DrainCommands();
    executor_full = false;
    DrainCompletions();
    if (!blocked_backlog.empty()) RetryBlockedBacklog(/*stop_when_full=*/true);
    FlushExecutors();
    if (state.load() == SchedulerState::kRunning && !stopping) {
      ProcessDue();
    } else {
      due.clear();
      due_slots.clear();
    }
    FlushExecutors();
    CommitBatches();
    AnswerHeld();
    DispatchEvents();
    in_iteration = false;
  }

  // Spinning to deadlines (SchedulerOptions::spin_us) needs a clock that moves on its own.
  std::int64_t SpinWindowUs() const {
    return opts.spin_us > 0 && clock == &platform::SystemClock() ? opts.spin_us : 0;
  }

  // How long the loop may sleep (monotonic), given the earliest wheel deadline: until the spin
  // window before it opens.
  platform::Deadline SleepDeadline() {
    const platform::Deadline now_mono = clock->Now();
    std::int64_t wait_us = opts.max_sleep_us;
    if (state.load() == SchedulerState::kRunning) {
      if (std::optional<std::int64_t> next = wheel->NextDeadline()) {
        const std::int64_t until = *next - clock->WallMicros() - SpinWindowUs();
        if (until < wait_us) wait_us = until < 0 ? 0 : until;
      }
    }
    if (std::optional<std::int64_t> retry = NextStoreRetry()) {
      const std::int64_t until = *retry - clock->WallMicros();
      if (until < wait_us) wait_us = until < 0 ? 0 : until;
    }
    if (!to_flush.empty() && wait_us > 1000) wait_us = 1000;  // runs still to hand over
    return now_mono + platform::Delay::Micros(wait_us);
  }

  // Inside the spin window of the next deadline: primes the executors once per deadline and
  // polls the clock until the deadline passes or a command or completion arrives. False when
  // the deadline is not that close (the loop sleeps instead).
  bool SpinToNextDeadline() {
    const std::int64_t window = SpinWindowUs();
    if (window == 0 || state.load() != SchedulerState::kRunning) return false;
    const std::optional<std::int64_t> next = wheel->NextDeadline();
    if (!next) return false;
    const std::int64_t gap = *next - clock->WallMicros();
    if (gap > window) return false;
    if (gap <= 0) return true;
    if (primed_for != *next) {
      primed_for = *next;
      // Workers poll a little past the deadline: the hand-over itself takes a few µs.
      const auto spin = static_cast<std::uint32_t>(std::min<std::int64_t>(gap + 50, 1'000'000));
      for (auto& [alias, ex] : executors) ex->Prime(spin);
    }
    for (std::uint32_t i = 1; clock->WallMicros() < *next; ++i) {
      if (commands.SizeApprox() != 0 || completions->SizeApprox() != 0) break;
      // Yield now and then: with more threads than cores, a worker may need this core.
      if ((i & 31) == 0) {
        engine_internal::YieldThread();
      } else {
        engine_internal::CpuRelax();
      }
    }
    return true;
  }

  void Loop() {
    loop_thread.store(std::this_thread::get_id(), std::memory_order_release);
    while (!stopping) {
      RunOnce();
      if (stopping) break;
      if (SpinToNextDeadline()) continue;
      const platform::Deadline d = SleepDeadline();
      // Work already waiting: no sleep, and nothing published (a busy loop does not write the
      // line that every producer reads).
      if (d <= clock->Now() || commands.SizeApprox() != 0 || completions->SizeApprox() != 0) {
        continue;
      }
      // Publish the wake-up instant, then look at the queue: a producer that enqueued after
      // the look sees the published instant and wakes us if its job is due earlier.
      sleeping_until.store(clock->WallMicros() + (d - clock->Now()).ns / 1000,
                           std::memory_order_seq_cst);
      // Runs blocked by a full executor wait too: only a completion frees room, and every
      // completion wakes this waiter.
      if (d > clock->Now() && commands.SizeApprox() == 0 && completions->SizeApprox() == 0) {
        waiter->WaitUntil(d);
      }
      sleeping_until.store(kAwake, std::memory_order_seq_cst);
    }
    if (stop_wait) FinishBatches();
    FinishShutdown();
  }

  // Shutdown(wait=true): batches of missed runs in progress finish (APScheduler runs a batch in
  // one worker call). Commands are still applied meanwhile, so jobs may call the API; no new
  // runs start.
  void FinishBatches() {
    // Only batches need the loop: other accepted runs finish in the executors' own Shutdown()
    // (an executor may hold runs until then).
    auto busy = [this] {
      if (!blocked_backlog.empty()) return true;
      bool any = false;
      ForEachLive([&](std::uint32_t, const Job& j) { any = any || j.has_backlog(); });
      return any;
    };
    while (busy()) {
      DrainCommands();
      executor_full = false;
      DrainCompletions();
      RetryBlockedBacklog(/*stop_when_full=*/false);
      FlushExecutors();
      DispatchEvents();
      if (inflight.size() == free_inflight.size()) continue;  // only blocked runs: retry now
      // Runs in flight: their completions wake the loop's waiter (sticky: none is lost). A
      // host-driven loop's wake-ups go to its fd instead, so it polls.
      if (loop_waiter == waiter.get()) {
        waiter->WaitUntil(platform::Deadline::Infinite());
      } else {
        std::this_thread::yield();
      }
    }
  }

  // Runs on the scheduler thread. The table is handed to the stopped state first (so API calls
  // made by jobs during a waiting shutdown act directly instead of waiting for this thread),
  // then executors stop, then their last completions are accounted under the lock.
  void FinishShutdown() {
    std::vector<Event> out;
    {
      std::lock_guard<std::mutex> lk(stopped_mu);
      state.store(SchedulerState::kStopped, std::memory_order_seq_cst);
      while (producers.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
      loop_active.store(false, std::memory_order_release);
      // Commands that arrived during shutdown are answered in the stopped state (a whole add
      // becomes a pending job).
      QueuedCommand q;
      while (commands.TryDequeueBulk(&q, 1) == 1) {
        if (q.command != nullptr) {
          Apply(*q.command, /*running=*/false);
          continue;
        }
        JobSpec spec = SpecOf(q.add);
        std::string id;
        if (Status st = AddJob(spec, /*running=*/false, &id); !st.ok()) {
          Log(LogLevel::kError, "AddJobAsync: job \"%s\" not added: %s", spec.id.c_str(),
              st.message());
        }
        q.add = AsyncAdd{};
      }
      out.swap(events);  // taken under the lock: stopped-state callers share `events` now
    }
    DispatchBatch(out);
    out.clear();
    FlushExecutors();
    for (auto& [alias, ex] : executors) ex->Shutdown(stop_wait);
    // Shutdown() hands over whatever a failed Flush() left; and an executor may be removed
    // while stopped, so none may stay listed.
    to_flush.clear();
    {
      std::lock_guard<std::mutex> lk(stopped_mu);
      DrainCompletions();
      CommitBatches();
      stores_started = false;
      for (auto& [alias, st] : stores) st->Shutdown();
      // Every run's completion is in: only open batch instances still count (blocked_backlog).
      for (std::uint32_t slot = 0; slot < table.records(); ++slot) {
        Job& j = table[slot];
        if (j.id.empty()) continue;
        if (!j.live) {
          FreeRecord(slot);  // a zombie whose batch never got to run its remaining runs
          continue;
        }
        j.in_wheel = false;
        j.running = 0;
        j.waiting = false;
        if (j.extra) j.extra->backlog.clear();
        j.SettleFns();
      }
      blocked.clear();
      blocked_head = 0;
      blocked_backlog.clear();
      due.clear();
      due_slots.clear();
      wheel->Clear(0);
      wheel_now = INT64_MIN;
      inflight.clear();
      free_inflight.clear();
      Emit(kEventSchedulerShutdown, {});
      out.swap(events);
    }
    stopping = false;
    DispatchBatch(out);
  }
};

// ---- JobInfo ----------------------------------------------------------------------------

std::string JobInfo::ToString(const TimeZone& zone) const {
  if (unresolved) return name + " (unresolved: " + problem + ")";
  std::string s = name + " (trigger: " + trigger + ", ";
  if (pending) {
    s += "pending)";
  } else if (next_run_time) {
    // APScheduler prints whole seconds and the zone abbreviation.
    s += "next run at: " +
         FormatCivilSpace(Instant{next_run_time->us - next_run_time->subsecond_micros()}, zone) +
         ")";
  } else {
    s += "paused)";
  }
  return s;
}

const char* EventName(std::uint32_t code) noexcept {
  switch (code) {
    case kEventSchedulerStarted: return "SCHEDULER_STARTED";
    case kEventSchedulerShutdown: return "SCHEDULER_SHUTDOWN";
    case kEventSchedulerPaused: return "SCHEDULER_PAUSED";
    case kEventSchedulerResumed: return "SCHEDULER_RESUMED";
    case kEventExecutorAdded: return "EXECUTOR_ADDED";
    case kEventExecutorRemoved: return "EXECUTOR_REMOVED";
    case kEventJobstoreAdded: return "JOBSTORE_ADDED";
    case kEventJobstoreRemoved: return "JOBSTORE_REMOVED";
    case kEventAllJobsRemoved: return "ALL_JOBS_REMOVED";
    case kEventJobAdded: return "JOB_ADDED";
    case kEventJobRemoved: return "JOB_REMOVED";
    case kEventJobModified: return "JOB_MODIFIED";
    case kEventJobExecuted: return "JOB_EXECUTED";
    case kEventJobError: return "JOB_ERROR";
    case kEventJobMissed: return "JOB_MISSED";
    case kEventJobSubmitted: return "JOB_SUBMITTED";
    case kEventJobMaxInstances: return "JOB_MAX_INSTANCES";
    case kEventJobUnresolved: return "JOB_UNRESOLVED";
    default: return "UNKNOWN";
  }
}

// ---- Scheduler --------------------------------------------------------------------------

Scheduler::Scheduler(SchedulerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Scheduler::~Scheduler() {
  if (state() != SchedulerState::kStopped) (void)Shutdown(true);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->commands.TakeAllSpares([](Command* c) { delete c; });
}

SchedulerState Scheduler::state() const { return impl_->state.load(); }
std::size_t Scheduler::job_count() const { return impl_->count.load(std::memory_order_relaxed); }

void Scheduler::ListenerThrew(const Event& e) noexcept {
  Log(LogLevel::kError, "Error notifying listener of %s: the listener threw", EventName(e.code));
}

ListenerId Scheduler::AddListenerImpl(ListenerFn fn, std::uint32_t mask) {
  Impl& m = *impl_;
  std::lock_guard<std::recursive_mutex> lk(m.listeners_mu);
  const ListenerId id = m.next_listener++;
  auto entry = std::make_shared<Impl::ListenerEntry>();
  entry->id = id;
  entry->mask = mask;
  entry->fn = std::move(fn);
  m.listeners.push_back(std::move(entry));
  m.listener_mask.fetch_or(mask, std::memory_order_relaxed);
  return id;
}

Status Scheduler::RemoveListener(ListenerId id) {
  Impl& m = *impl_;
  std::lock_guard<std::recursive_mutex> lk(m.listeners_mu);
  auto it = std::find_if(m.listeners.begin(), m.listeners.end(),
                         [id](const auto& l) { return l->id == id; });
  if (it == m.listeners.end()) return Status(StatusCode::kNotFound, "no such listener");
  (*it)->removed.store(true, std::memory_order_release);  // a dispatch in progress skips it
  m.listeners.erase(it);
  std::uint32_t mask = 0;
  for (const auto& l : m.listeners) mask |= l->mask;
  m.listener_mask.store(mask, std::memory_order_relaxed);
  return OkStatus();
}

namespace {

// The four configuration calls differ only in the list and the noun of their messages.
template <typename T>
Status AddNamed(Scheduler::Impl& m, std::vector<std::pair<std::string, std::unique_ptr<T>>>& list,
                std::string alias, std::unique_ptr<T> item, const char* noun) {
  std::lock_guard<std::mutex> lk(m.stopped_mu);
  if (m.state.load() != SchedulerState::kStopped) {
    return Status(StatusCode::kFailedPrecondition, "Scheduler is already running");
  }
  for (const auto& [a, x] : list) {
    if (a == alias) {
      return Status::Format(StatusCode::kAlreadyExists,
                            "This scheduler already has %s by the alias of \"%s\"", noun,
                            alias.c_str());
    }
  }
  if (!item) return Status::Format(StatusCode::kInvalidArgument, "%s is null", noun);
  list.emplace_back(std::move(alias), std::move(item));
  m.ResetAliasCaches();
  return OkStatus();
}

template <typename T>
Status RemoveNamed(Scheduler::Impl& m,
                   std::vector<std::pair<std::string, std::unique_ptr<T>>>& list,
                   std::string_view alias, const char* noun) {
  std::lock_guard<std::mutex> lk(m.stopped_mu);
  if (m.state.load() != SchedulerState::kStopped) {
    return Status(StatusCode::kFailedPrecondition, "Scheduler is already running");
  }
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& e) { return e.first == alias; });
  if (it == list.end()) {
    return Status::Format(StatusCode::kNotFound, "No such %s: %.*s", noun,
                          static_cast<int>(alias.size()), alias.data());
  }
  list.erase(it);
  m.ResetAliasCaches();
  return OkStatus();
}

}  // namespace

Status Scheduler::AddExecutor(std::string alias, std::unique_ptr<Executor> executor) {
  return AddNamed(*impl_, impl_->executors, std::move(alias), std::move(executor), "an executor");
}

Status Scheduler::AddJobStore(std::string alias, std::unique_ptr<JobStore> store) {
  return AddNamed(*impl_, impl_->stores, std::move(alias), std::move(store), "a job store");
}

Status Scheduler::RemoveExecutor(std::string_view alias) {
  return RemoveNamed(*impl_, impl_->executors, alias, "executor");
}

TaskRegistry* Scheduler::TasksWhileStopped() {
  Impl& m = *impl_;
  if (m.state.load() != SchedulerState::kStopped || m.loop_active.load()) return nullptr;
  return &m.tasks;
}

Status Scheduler::TasksWhileRunningError() {
  return Status(StatusCode::kFailedPrecondition,
                "tasks are registered while the scheduler is stopped (before Start)");
}

const TaskRegistry& Scheduler::tasks() const { return impl_->tasks; }

Status Scheduler::RemoveJobStore(std::string_view alias) {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lk(m.stopped_mu);
    for (std::size_t i = 0; i < m.stores.size() && i < m.store_sync.size(); ++i) {
      if (m.stores[i].first == alias && m.state.load() == SchedulerState::kStopped) {
        m.store_sync.erase(m.store_sync.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  return RemoveNamed(m, m.stores, alias, "job store");
}

Status Scheduler::Start(bool paused) {
  Impl& m = *impl_;
  if (m.state.load() == SchedulerState::kStopped && m.thread.joinable() &&
      m.thread.get_id() != std::this_thread::get_id()) {
    m.thread.join();  // a previous background run has ended (or is finishing its shutdown)
  }
  {
    std::unique_lock<std::mutex> lk(m.stopped_mu);
    if (m.state.load() != SchedulerState::kStopped || m.loop_active.load()) {
      return Status(StatusCode::kFailedPrecondition, "Scheduler is already running");
    }
    // Options that would make the loop spin, never sleep, or retry in a tight loop.
    if (m.opts.max_sleep_us <= 0) {
      return InvalidArgument("SchedulerOptions::max_sleep_us must be positive");
    }
    if (m.opts.spin_us < 0 || m.opts.spin_us > 1'000'000) {
      return InvalidArgument("SchedulerOptions::spin_us must be 0..1000000 (µs; 0 = off)");
    }
    if (m.opts.jobstore_retry_interval_us <= 0) {
      return InvalidArgument("SchedulerOptions::jobstore_retry_interval_us must be positive");
    }
    if (m.opts.store_horizon_us < 0) {
      return InvalidArgument("SchedulerOptions::store_horizon_us must be 0 (off) or positive");
    }
    if (m.opts.reserve_jobs > SchedulerOptions::kMaxReserveJobs) {
      return Status::Format(StatusCode::kInvalidArgument,
                            "SchedulerOptions::reserve_jobs must be 0..%zu, got %zu",
                            SchedulerOptions::kMaxReserveJobs, m.opts.reserve_jobs);
    }
    if (m.opts.reserve_jobs > 0) {
      // Before anything else changes: a failure leaves the scheduler as it was.
      const auto n = static_cast<std::uint32_t>(m.opts.reserve_jobs);
      APS_RETURN_IF_ERROR(m.wheel->Reserve(n));
      m.table.Reserve(n);
      m.index.Reserve(n);
    }
    if (!m.ExecutorByAlias("default")) {
      std::size_t n = m.opts.default_executor_threads;
      if (n == 0)
        n = std::thread::hardware_concurrency() > 0 ? std::thread::hardware_concurrency() : 2;
      // Workers poll 10 µs before sleeping: a stream of short runs then costs no sleep and
      // wake-up per run (a burst drains ~15% faster); an idle pool costs 10 µs of CPU per
      // worker after each run.
      ThreadPoolExecutor::Options pool;
      pool.threads = n;
      pool.queue_capacity = 65536;
      pool.idle_spin_us = kDefaultExecutorIdleSpinUs;
      m.executors.emplace_back("default", std::make_unique<ThreadPoolExecutor>(pool, *m.clock));
      m.Emit(kEventExecutorAdded, "default");
    }
    if (!m.StoreByAlias("default")) {
      m.stores.emplace_back("default", std::make_unique<MemoryJobStore>());
      m.Emit(kEventJobstoreAdded, "default");
    }
    // Pending jobs must name existing stores; check before changing anything.
    Status missing_store;
    m.ForEachLive([&](std::uint32_t, const Job& j) {
      if (missing_store.ok() && j.pending && !m.StoreByAlias(m.aliases[j.jobstore])) {
        missing_store = Status::Format(StatusCode::kNotFound, "No such job store: %s (job \"%s\")",
                                       m.aliases[j.jobstore].c_str(), j.id.c_str());
      }
    });
    if (!missing_store.ok()) {
      m.events.clear();
      return missing_store;
    }
    m.ResetAliasCaches();
    if (!m.waiter) m.waiter = m.clock->NewWaiter();
    if (!m.waiter)
      return Status(StatusCode::kResourceExhausted,
                    "out of memory creating the scheduler's waiter");
    m.loop_waiter = m.waiter.get();
    if (m.opts.mode == SchedulerMode::kHostDriven) {
      if (!m.wake_fd) m.wake_fd = platform::WakeFd::Create();
      if (m.wake_fd && !m.fd_waiter) m.fd_waiter = std::make_unique<FdWaiter>(m.wake_fd.get());
      if (m.fd_waiter) m.loop_waiter = m.fd_waiter.get();
    }
    if (!m.completions) {
      CompletionQueue::Options q;
      q.capacity = m.opts.max_outstanding_runs;
      q.max_producers = m.opts.max_completion_producers;
      m.completions = std::make_unique<CompletionQueue>(q);
      if (!m.completions->status().ok()) {
        Status st = m.completions->status();
        m.completions.reset();
        return st;
      }
    }
    for (std::size_t i = 0; i < m.executors.size(); ++i) {
      Status st = m.executors[i].second->Start(*m.completions, m.loop_waiter);
      if (!st.ok()) {
        for (std::size_t k = 0; k < i; ++k) m.executors[k].second->Shutdown(false);
        return st;
      }
    }
    // On failure from here on, leave nothing running: the scheduler stays stopped and can be
    // started again.
    auto undo = [&](std::size_t started_stores, Status st) {
      for (std::size_t k = 0; k < started_stores; ++k) m.stores[k].second->Shutdown();
      for (auto& [alias, ex] : m.executors) ex->Shutdown(false);
      m.events.clear();
      return st;
    };
    for (std::size_t i = 0; i < m.stores.size(); ++i) {
      Status st = m.stores[i].second->Start(m.stores[i].first);
      if (!st.ok()) {
        return undo(i, Status::Format(st.code(), "job store \"%s\" failed to start: %s",
                                      m.stores[i].first.c_str(), st.message()));
      }
    }
    const Instant now = m.WallNow();
    m.store_sync.resize(m.stores.size());
    // Persistent stores' jobs join the table (the memory store's jobs are the table).
    m.unresolved.clear();
    std::vector<std::uint32_t> loaded;
    for (std::size_t i = 0; i < m.stores.size(); ++i) {
      if (!m.stores[i].second->persistent()) continue;
      if (Status st = m.LoadStore(i, now, &loaded); !st.ok()) {
        for (std::uint32_t slot : loaded) m.Unlink(slot);
        m.unresolved.clear();
        return undo(m.stores.size(), st);
      }
    }
    m.stores_started = true;
    m.wheel->Clear(now.us);
    m.wheel_now = now.us;
    m.wall_epoch = m.clock->WallEpoch();
    m.ForEachLive([&](std::uint32_t slot, Job& j) {
      if (j.pending) {
        j.pending = false;
        j.set_next(m.FirstRunTime(j, NextRunTime{j.pending_kind, Instant{j.next_us}}, now));
        m.StoreWrite(j, /*added=*/true);
        m.Emit(kEventJobAdded, m.aliases[j.jobstore], j.id);
      }
      m.Schedule(slot, j);
    });
    // The stores were started afresh: one that failed before the last Shutdown() is written
    // now, not after the rest of its retry interval.
    for (auto& ss : m.store_sync) ss.failing = false;
    m.RetryStores(now);  // changes made while stopped to jobs of persistent stores
    m.CommitBatches();
    m.stopping = false;
    m.loop_active.store(true, std::memory_order_release);
    m.state.store(paused ? SchedulerState::kPaused : SchedulerState::kRunning,
                  std::memory_order_seq_cst);
    m.Emit(kEventSchedulerStarted, {});
  }
  // Start's events go out now, on the caller's thread, before the loop exists (APScheduler
  // dispatches them inside start()).
  m.DispatchEvents();
  switch (m.opts.mode) {
    case SchedulerMode::kBackground:
      m.loop_thread.store(std::thread::id(), std::memory_order_release);
      m.thread = std::thread([&m] { m.Loop(); });
      return OkStatus();
    case SchedulerMode::kBlocking: m.Loop(); return OkStatus();
    case SchedulerMode::kHostDriven:
      m.loop_thread.store(std::this_thread::get_id(), std::memory_order_release);
      m.DispatchEvents();
      if (m.wake_fd) m.wake_fd->Signal();  // the first RunDue() arms the deadline
      return OkStatus();
  }
  return OkStatus();
}

namespace {

// A call from outside the loop enters `producers` (the stop/start hand-over, see the top of
// this file) and returns whether the loop runs; the caller leaves with LeaveProducers() once
// its command is queued, or at once if it does not queue one.
bool EnterProducers(Scheduler::Impl& m) {
  m.producers.fetch_add(1, std::memory_order_seq_cst);
  return m.state.load(std::memory_order_seq_cst) != SchedulerState::kStopped &&
         m.loop_active.load();
}

void LeaveProducers(Scheduler::Impl& m) { m.producers.fetch_sub(1, std::memory_order_seq_cst); }

// The command queue could not take a command (an async add past max_queued_bytes, or the OS
// refused memory): the call fails, nothing applied. Calls that wait for their reply (Call())
// are not held to the limit: a thread has at most one in the queue, so they cannot pile up,
// and Shutdown(), Pause() and the rest keep working while async adds are refused.
constexpr std::string_view kQueueFull =
    "the scheduler's command queue is full (SchedulerOptions::max_queued_bytes reached, or out "
    "of memory); nothing was changed: retry once the scheduler has caught up";
Status QueueFullError() { return Status(StatusCode::kResourceExhausted, kQueueFull); }
void FailUnqueued(Command& c, Reply& r) {
  r.status = QueueFullError();
  if (c.commit) c.commit->Complete(r.status);  // a CommitHandle the caller holds says so too
}

// Runs `c` on the scheduler: directly when stopped (under the lock) or when called on the
// scheduler thread, else through the queue, waiting for the reply.
void Call(Scheduler::Impl& m, Command& c) {
  Reply reply;
  if (!c.reply) c.reply = &reply;
  Reply* const waiting = c.reply;  // the scheduler may clear c.reply while applying
  if (!EnterProducers(m)) {
    LeaveProducers(m);
    std::vector<Event> events;
    {
      std::lock_guard<std::mutex> lk(m.stopped_mu);
      if (m.state.load() == SchedulerState::kStopped) {
        m.Apply(c, /*running=*/false);
        events.swap(m.events);
      } else {
        // Started meanwhile: go through the queue.
        (void)EnterProducers(m);  // under stopped_mu: it is running now
        const bool queued = m.commands.Enqueue(QueuedCommand(&c), /*unlimited=*/true);
        LeaveProducers(m);
        if (!queued) return FailUnqueued(c, *waiting);
        if (m.loop_waiter) m.loop_waiter->Wake();
      }
    }
    if (!events.empty()) m.DispatchBatch(events);
    waiting->Wait();
    return;
  }
  if (m.OnLoopThread()) {
    LeaveProducers(m);
    std::shared_ptr<engine_internal::CommitState> commit = std::move(c.commit);
    m.ApplyOnLoop(c, *waiting, std::move(commit));
    return;
  }
  const bool queued = m.commands.Enqueue(QueuedCommand(&c), /*unlimited=*/true);
  LeaveProducers(m);
  if (!queued) return FailUnqueued(c, *waiting);
  m.loop_waiter->Wake();
  waiting->Wait();
}

}  // namespace

Status Scheduler::Shutdown(bool wait) {
  Impl& m = *impl_;
  if (m.state.load() == SchedulerState::kStopped)
    return Status(StatusCode::kFailedPrecondition, "Scheduler is not running");
  Command c;
  c.kind = Command::Kind::kShutdown;
  c.wait = wait;
  const bool on_loop = m.OnLoopThread();
  Reply r;
  c.reply = &r;
  Call(m, c);
  if (!r.status.ok()) return r.status;  // not queued (out of memory): still running
  if (m.opts.mode == SchedulerMode::kHostDriven && on_loop) {
    if (wait) m.FinishBatches();
    m.FinishShutdown();
    return OkStatus();
  }
  if (!on_loop && !InJob() && m.opts.mode == SchedulerMode::kBackground && m.thread.joinable() &&
      m.thread.get_id() != std::this_thread::get_id()) {
    m.thread.join();
  }
  return OkStatus();
}

Status Scheduler::Pause() {
  if (state() == SchedulerState::kStopped)
    return Status(StatusCode::kFailedPrecondition, "Scheduler is not running");
  Command c;
  c.kind = Command::Kind::kPause;
  Reply r;
  c.reply = &r;
  Call(*impl_, c);
  return r.status;
}

Status Scheduler::Resume() {
  if (state() == SchedulerState::kStopped)
    return Status(StatusCode::kFailedPrecondition, "Scheduler is not running");
  Command c;
  c.kind = Command::Kind::kResume;
  Reply r;
  c.reply = &r;
  Call(*impl_, c);
  return r.status;
}

void Scheduler::Wakeup() {
  if (impl_->loop_waiter) impl_->loop_waiter->Wake();
}

Result<std::string> Scheduler::AddJob(JobSpec spec) {
  Command c;
  c.kind = Command::Kind::kAdd;
  c.spec = std::move(spec);
  Reply r;
  c.reply = &r;
  Call(*impl_, c);
  if (!r.status.ok()) return r.status;
  return r.id;
}

bool CommitHandle::Ready() const {
  if (!state_) return true;
  std::lock_guard<std::mutex> lk(state_->mu);
  return state_->done;
}

Status CommitHandle::Wait() const {
  if (!state_) return OkStatus();
  std::unique_lock<std::mutex> lk(state_->mu);
  state_->cv.wait(lk, [&] { return state_->done; });
  return state_->status;
}

namespace {

// Whether an async add can travel whole (AsyncAdd): a C++ callable for the default store and
// executor, with nothing an AsyncAdd does not carry.
bool TravelsWhole(const JobSpec& spec, const CommitHandle* committed) {
  return committed == nullptr && spec.fn && spec.task.empty() && spec.args.empty() &&
         spec.name.empty() && !spec.replace_existing && !spec.at_least_once &&
         spec.jobstore == kDefaultAlias && spec.executor == kDefaultAlias;
}

// When an async add first runs, for the wake-up decision; reads the clock (once, into `now`)
// only when the answer depends on it.
std::optional<Instant> FirstRun(Scheduler::Impl& m, const JobSpec& spec,
                                std::optional<Instant>& now) {
  const auto wall = [&] {
    if (!now) now = m.WallNow();
    return *now;
  };
  switch (spec.next_run_time.kind) {
    case NextRunTime::Kind::kNow: return wall();
    case NextRunTime::Kind::kAt: return spec.next_run_time.at;
    case NextRunTime::Kind::kPaused: return std::nullopt;
    case NextRunTime::Kind::kFromTrigger:
      return spec.trigger ? spec.trigger->Next(std::nullopt, wall()) : wall();
  }
  return std::nullopt;
}

// Fills queue entry `q` with the add of `spec` (its id chosen): whole when it can travel
// whole, else a heap command. Moves everything out of `spec` but its id.
void FillEntry(Scheduler::Impl& m, QueuedCommand& q, JobSpec& spec, CommitHandle* committed) {
  if (TravelsWhole(spec, committed)) {
    AsyncAdd& a = q.add;
    q.command = nullptr;
    a.id = spec.id;
    a.fn = std::move(spec.fn);
    a.trigger = std::move(spec.trigger);
    a.at_us = spec.next_run_time.at.us;
    a.when = spec.next_run_time.kind;
    a.misfire_grace_us = spec.misfire_grace_us;
    a.max_instances = spec.max_instances;
    a.coalesce = spec.coalesce;
    a.max_instances_policy = spec.max_instances_policy;
    return;
  }
  Command* c = m.commands.TakeSpare();
  if (c == nullptr) c = new Command;
  c->kind = Command::Kind::kAdd;
  c->spec = std::move(spec);
  spec.id = c->spec.id;
  c->owned = true;
  if (committed) {
    c->commit = std::make_shared<engine_internal::CommitState>();
    *committed = CommitHandle(c->commit);
  }
  q.command = c;
}

// An entry FillEntry() made that the queue refused: its heap command (and the callable in
// either form) is released, and a CommitHandle the caller holds reports the error.
void DropUnqueued(QueuedCommand& q) {
  if (q.command == nullptr) return;  // travels whole: `q` owns everything, freed with it
  if (q.command->commit) q.command->commit->Complete(QueueFullError());
  delete q.command;
  q.command = nullptr;
}

// After an async add entered the queue (and left `producers`): wakes the sleeping loop when a
// job is due before its planned wake-up (`first`), when commands pile up (they hold memory
// until applied), or for a caller holding a CommitHandle (a busy loop drains every queued add
// into its next group commit). Host-driven: always (the host decides when to call RunDue()).
void WakeAfterAsync(Scheduler::Impl& m, std::optional<Instant> first, bool committed) {
  const std::int64_t until = m.sleeping_until.load(std::memory_order_seq_cst);
  if (m.opts.mode == SchedulerMode::kHostDriven ||
      (until != Scheduler::Impl::kAwake && (committed || (first && first->us < until) ||
                                            m.commands.SizeApprox() > kAsyncBacklogWake))) {
    m.loop_waiter->Wake();
  }
}

// The checks an async add makes before it queues anything: a callable, and valid options.
Status CheckAsyncSpec(const JobSpec& spec) {
  if (!spec.fn && spec.task.empty()) return InvalidArgument("the job has no callable");
  return Scheduler::Impl::ValidateOptions(spec.misfire_grace_us, spec.max_instances);
}

// "job 3 of the batch: <the error>"
Status BatchError(std::size_t index, const Status& st) {
  return Status::Format(st.code(), "job %zu of the batch: %s", index, st.message());
}
}  // namespace

Result<std::string> Scheduler::AddJobAsync(JobSpec spec, CommitHandle* committed) {
  Impl& m = *impl_;
  APS_RETURN_IF_ERROR(CheckAsyncSpec(spec));
  const bool running = EnterProducers(m);
  if (m.OnLoopThread() && running) {
    // A job, a listener or the host: applied now; durable now, or at this iteration's end.
    LeaveProducers(m);
    Command c;
    c.kind = Command::Kind::kAdd;
    c.spec = std::move(spec);
    Reply r;
    std::shared_ptr<engine_internal::CommitState> state;
    if (committed) {
      state = std::make_shared<engine_internal::CommitState>();
      *committed = CommitHandle(state);
    }
    m.ApplyOnLoop(c, r, std::move(state));
    if (!r.status.ok()) return r.status;
    return r.id;
  }
  if (!running) {
    LeaveProducers(m);
    Result<std::string> r = AddJob(std::move(spec));  // pending: written at Start()
    if (committed) {
      auto st = std::make_shared<engine_internal::CommitState>();
      st->Complete(r.status());
      *committed = CommitHandle(std::move(st));
    }
    return r;
  }
  if (spec.id.empty()) spec.id = m.GenerateId();
  std::optional<Instant> now;
  const std::optional<Instant> first = FirstRun(m, spec, now);
  QueuedCommand q;
  FillEntry(m, q, spec, committed);
  if (!m.commands.Enqueue(std::move(q))) {
    LeaveProducers(m);
    DropUnqueued(q);
    return QueueFullError();
  }
  LeaveProducers(m);
  WakeAfterAsync(m, first, committed != nullptr);
  return std::move(spec.id);
}

Status Scheduler::AddJobsAsync(std::span<JobSpec> specs) {
  Impl& m = *impl_;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    Status st = CheckAsyncSpec(specs[i]);
    if (!st.ok()) return BatchError(i, st);
  }
  if (specs.empty()) return OkStatus();
  const bool running = EnterProducers(m);
  if (!running || m.OnLoopThread()) {
    // Stopped (pending jobs, under stopped_mu_) or applied at once: one by one, as
    // AddJobAsync() does them.
    LeaveProducers(m);
    for (std::size_t i = 0; i < specs.size(); ++i) {
      Result<std::string> r = AddJobAsync(std::move(specs[i]));
      if (!r.ok()) return BatchError(i, r.status());
      specs[i].id = std::move(*r);
    }
    return OkStatus();
  }
  // Running, from another thread: one block of ids, then the entries in chunks of kChunk,
  // each chunk one bulk enqueue (its entries are built on this stack, hot in cache).
  std::size_t unnamed = 0;
  for (const JobSpec& spec : specs) unnamed += spec.id.empty() ? 1 : 0;
  if (unnamed > 0) {
    std::uint64_t n = m.ReserveIds(unnamed);
    const std::uint64_t prefix = m.IdPrefix();
    for (JobSpec& spec : specs)
      if (spec.id.empty()) spec.id = Impl::FormatId(prefix, n++);
  }
  constexpr std::size_t kChunk = 32;  // one moodycamel block
  std::array<QueuedCommand, kChunk> chunk;
  std::size_t filled = 0;
  std::size_t queued = 0;  // jobs of the batch enqueued
  std::optional<Instant> now;
  std::optional<Instant> earliest;
  for (JobSpec& spec : specs) {
    const std::optional<Instant> first = FirstRun(m, spec, now);
    if (first && (!earliest || first->us < earliest->us)) earliest = first;
    FillEntry(m, chunk[filled++], spec, nullptr);
    if (filled == kChunk && !m.commands.EnqueueBulk(chunk.data(), filled)) break;
    if (filled == kChunk) {
      queued += filled;
      filled = 0;
    }
  }
  if (filled > 0 && filled < kChunk && m.commands.EnqueueBulk(chunk.data(), filled)) {
    queued += filled;
    filled = 0;
  }
  LeaveProducers(m);
  if (queued > 0) WakeAfterAsync(m, earliest, false);
  if (filled > 0) {
    // The queue could not grow: this chunk and the rest of the batch were not added.
    for (std::size_t k = 0; k < filled; ++k) DropUnqueued(chunk[k]);
    return Status::Format(StatusCode::kResourceExhausted,
                          "job %zu of the batch: %s (the jobs before it were added, it and the "
                          "rest were not)",
                          queued, kQueueFull.data());
  }
  return OkStatus();
}

namespace {

// A command about job `id` in `jobstore` (empty: any store).
Command JobCommand(Command::Kind kind, std::string_view id = {}, std::string_view jobstore = {}) {
  Command c;
  c.kind = kind;
  c.id = std::string(id);
  c.jobstore = std::string(jobstore);
  return c;
}

// Runs `c` and leaves the answer in `r`. With `committed`, the call is answered once applied
// and the handle completes when the change is durable (or at once for a memory store).
Reply& Run(Scheduler::Impl& m, Command& c, Reply& r, CommitHandle* committed = nullptr) {
  c.reply = &r;
  if (committed) {
    c.commit = std::make_shared<engine_internal::CommitState>();
    c.answer_when_applied = true;
    *committed = CommitHandle(c.commit);
  }
  Call(m, c);
  return r;
}

}  // namespace

Status Scheduler::ModifyJob(std::string_view id, JobChanges changes, std::string_view jobstore,
                            CommitHandle* committed) {
  Command c = JobCommand(Command::Kind::kModify, id, jobstore);
  c.changes = &changes;
  Reply r;
  return Run(*impl_, c, r, committed).status;
}

Status Scheduler::RescheduleJob(std::string_view id, std::unique_ptr<Trigger> trigger,
                                std::string_view jobstore, CommitHandle* committed) {
  if (!trigger) return InvalidArgument("trigger is null");
  Command c = JobCommand(Command::Kind::kReschedule, id, jobstore);
  c.trigger = std::move(trigger);
  Reply r;
  return Run(*impl_, c, r, committed).status;
}

Status Scheduler::PauseJob(std::string_view id, std::string_view jobstore,
                           CommitHandle* committed) {
  Command c = JobCommand(Command::Kind::kPauseJob, id, jobstore);
  Reply r;
  return Run(*impl_, c, r, committed).status;
}

Result<bool> Scheduler::ResumeJob(std::string_view id, std::string_view jobstore,
                                  CommitHandle* committed) {
  Command c = JobCommand(Command::Kind::kResumeJob, id, jobstore);
  Reply r;
  if (!Run(*impl_, c, r, committed).status.ok()) return r.status;
  return r.flag;
}

Status Scheduler::RemoveJob(std::string_view id, std::string_view jobstore,
                            CommitHandle* committed) {
  Command c = JobCommand(Command::Kind::kRemove, id, jobstore);
  Reply r;
  return Run(*impl_, c, r, committed).status;
}

Status Scheduler::RemoveAllJobs(std::string_view jobstore, CommitHandle* committed) {
  Command c = JobCommand(Command::Kind::kRemoveAll, {}, jobstore);
  Reply r;
  return Run(*impl_, c, r, committed).status;
}

std::optional<JobInfo> Scheduler::GetJob(std::string_view id, std::string_view jobstore) {
  Command c = JobCommand(Command::Kind::kGet, id, jobstore);
  Reply r;
  return std::move(Run(*impl_, c, r).info);
}

std::vector<JobInfo> Scheduler::GetJobs(std::string_view jobstore) {
  Command c = JobCommand(Command::Kind::kGetAll, {}, jobstore);
  Reply r;
  return std::move(Run(*impl_, c, r).infos);
}

std::string Scheduler::PrintJobs(std::string_view jobstore) {
  Command c = JobCommand(Command::Kind::kPrint, {}, jobstore);
  Reply r;
  return std::move(Run(*impl_, c, r).text);
}

std::optional<platform::Deadline> Scheduler::NextDeadline() {
  Impl& m = *impl_;
  if (!m.loop_active.load()) return std::nullopt;
  // Runs blocked by a full executor are retried when a completion arrives (it signals the wake
  // fd / shows up here), not by polling.
  if (m.commands.SizeApprox() != 0 || (m.completions && m.completions->SizeApprox() != 0)) {
    return m.clock->Now();
  }
  if (m.state.load() != SchedulerState::kRunning) return std::nullopt;
  // No later than max_sleep: a host following NextDeadline() also notices wall-clock steps.
  std::int64_t until = m.opts.max_sleep_us;
  if (std::optional<std::int64_t> next = m.wheel->NextDeadline()) {
    until = std::min(until, *next - m.clock->WallMicros());
  }
  if (std::optional<std::int64_t> retry = m.NextStoreRetry()) {
    until = std::min(until, *retry - m.clock->WallMicros());
  }
  return m.clock->Now() + platform::Delay::Micros(until < 0 ? 0 : until);
}

Status Scheduler::RunDue() {
  Impl& m = *impl_;
  if (m.opts.mode != SchedulerMode::kHostDriven) {
    return Status(StatusCode::kFailedPrecondition, "RunDue() is for SchedulerMode::kHostDriven");
  }
  if (!m.loop_active.load())
    return Status(StatusCode::kFailedPrecondition, "Scheduler is not running");
  if (m.in_iteration && m.OnLoopThread()) {
    // A job (inline executor) or a listener calling RunDue() would run an iteration inside the
    // one that called it.
    return Status(StatusCode::kFailedPrecondition,
                  "RunDue() was called from inside RunDue() (a job or a listener); return and let "
                  "the host call it again");
  }
  m.loop_thread.store(std::this_thread::get_id(), std::memory_order_release);
  if (m.wake_fd) m.wake_fd->Clear();  // before the work: a signal during it re-arms the fd
  m.RunOnce();
  if (m.stopping) {
    if (m.stop_wait) m.FinishBatches();
    m.FinishShutdown();
    return OkStatus();
  }
  // The fd's timer runs on the real monotonic clock; with a simulated clock only signals count.
  if (m.wake_fd && m.clock == &platform::SystemClock()) m.wake_fd->ArmAt(NextDeadline());
  return OkStatus();
}

int Scheduler::WakeFd() { return impl_->wake_fd ? impl_->wake_fd->fd() : -1; }

}  // namespace aps
