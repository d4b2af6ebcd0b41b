// aps/engine/executor.h — where due runs execute, and how their completions come back.
//
// The scheduler thread hands each due run to an Executor as a RunRequest. The executor runs
// the job's JobFunction somewhere, pushes exactly one RunCompletion per accepted request into the
// scheduler's CompletionQueue (lock-free), and wakes the scheduler's Waiter, so the scheduler
// thread can account max_instances and emit JOB_EXECUTED / JOB_ERROR. Two executors ship:
//
//   ThreadPoolExecutor  a fixed number of worker threads, started by Start() and never grown,
//                       fed by a lock-free queue; idle workers sleep on a platform Waiter.
//   InlineExecutor      runs each job inside Submit(), on the scheduler thread: for tiny jobs,
//                       and for firmware without threads.
//
// Others implement Executor's protected interface (see "For implementers" below).
//
//   aps::CompletionQueue completions({.capacity = 1024, .max_producers = 16});
//   aps::ThreadPoolExecutor pool(/*threads=*/4, /*queue_capacity=*/256, clock);
//   APS_RETURN_IF_ERROR(pool.Start(completions, scheduler_waiter));
//   APS_RETURN_IF_ERROR(pool.Submit({.job_key = 7, .run_id = 1, .fn = &job.fn, .scheduled = t}));
//   aps::RunCompletion done[16];
//   std::size_t n = completions.TryDequeueBulk(done, 16);  // after scheduler_waiter wakes
//   pool.Shutdown(/*wait=*/true);
//
// Threads. "The scheduler thread" below is whichever thread drives the scheduler: Start(),
// Submit() and Shutdown() of every executor and the pops of their CompletionQueue must not run
// concurrently with each other. running() and queued() may be called from any thread.
//
// Lifetimes. The CompletionQueue and the scheduler's Waiter must outlive every executor started
// on them, or at least its Shutdown(). A RunRequest's JobFunction must stay alive and unmodified
// until the request's completion has been popped (or the executor has shut down).
//
// Not promised: runs submitted to a thread pool start in submission order only approximately
// (workers race for them), and completions of different runs may be popped in any order.
#ifndef APS_ENGINE_EXECUTOR_H_
#define APS_ENGINE_EXECUTOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/check.h"
#include "engine/job_function.h"
#include "engine/status.h"
#include "engine/time.h"
#include "platform/clock.h"

namespace aps {

// One due run, as the scheduler hands it to an executor. Copied by value.
struct RunRequest {
  std::uint64_t job_key = 0;  // the scheduler's handle for the job; echoed in the completion
  std::uint32_t run_id = 0;   // the scheduler's number for this run; echoed
  // The job's callable: not null, not empty. Must stay valid until the completion is popped.
  const JobFunction* fn = nullptr;
  Instant scheduled;  // the fire time this run is for; echoed
};

// What happened to one accepted RunRequest. Trivially copyable.
struct RunCompletion {
  std::uint64_t job_key = 0;
  std::uint32_t run_id = 0;
  // False: the run never started, because Shutdown(/*wait=*/false) dropped it from the queue
  // (then ok is false, error says so, and started == finished == the time it was dropped).
  bool ran = false;
  // The job ran and succeeded (RunOutcome::ok).
  bool ok = false;
  Instant scheduled;
  platform::Deadline started;   // monotonic, read just before the job was called
  platform::Deadline finished;  // monotonic, read just after it returned
  // NUL-terminated; empty when ok. The exception's what(), the RunOutcome's message, or
  // "not run: executor shut down".
  char error[RunOutcome::kMaxError + 1] = {};
};

class Executor;

// CompletionQueue
//
// The lock-free multi-producer queue that carries RunCompletions from executors (any number of
// worker threads) back to the scheduler thread, its only consumer. Everything is preallocated
// by the constructor; pushes and pops never allocate and never block.
//
// Completions are never lost: every Submit() reserves one completion slot and fails with
// kResourceExhausted when `capacity` runs are outstanding (submitted to any executor sharing the
// queue and not yet popped), so a push always finds room. Drain the queue to make room.
class CompletionQueue {
 public:
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 20;
  static constexpr std::size_t kMaxProducers = 1024;

  struct Options {
    // Most outstanding runs (submitted, completion not yet popped) over all executors sharing
    // this queue. 1..kMaxCapacity. Larger absorbs longer scheduler stalls; costs memory.
    std::size_t capacity = 256;
    // Most completion producers alive at once: a started ThreadPoolExecutor holds one per
    // worker thread, a started InlineExecutor one. 1..kMaxProducers. Each producer may at some
    // point hold every outstanding completion, so the constructor preallocates, per producer,
    // room for `capacity` completions rounded up to whole 32-entry blocks plus one block: at
    // most max_producers * (capacity + 64) * sizeof(RunCompletion) bytes (168 B each on 64-bit
    // hosts; the defaults take about 0.8 MB).
    std::size_t max_producers = 16;
  };

  // A pushing context for one thread (see Executor::NewCompletionProducer()). Move-only; an
  // empty (default or moved-from) Producer cannot push. Destroying one frees its slot in
  // max_producers; destroy it before the queue.
  class Producer {
   public:
    Producer() noexcept = default;
    Producer(Producer&& other) noexcept;
    Producer& operator=(Producer&& other) noexcept;
    ~Producer();
    explicit operator bool() const noexcept { return impl_ != nullptr; }

   private:
    friend class CompletionQueue;
    struct Impl;
    Producer(CompletionQueue* queue, Impl* impl) noexcept : queue_(queue), impl_(impl) {}
    void Reset() noexcept;
    CompletionQueue* queue_ = nullptr;
    Impl* impl_ = nullptr;
  };

  // A queue with `options`, fully preallocated. If a field is out of range or memory runs out,
  // the queue is unusable and status() says why (executors refuse to start on it). Allocates;
  // any thread (call at init).
  explicit CompletionQueue(const Options& options);
  CompletionQueue();  // default Options

  // Every Producer must have been destroyed (executors shut down) first.
  ~CompletionQueue();
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  // status() — OK, or why the constructor failed: kInvalidArgument (an option out of range) or
  // kResourceExhausted (out of memory). Never allocates, never blocks; any thread.
  const Status& status() const noexcept { return status_; }

  // TryDequeue() / TryDequeueBulk()
  //
  // Pop one completion into *out (false when none is ready), or up to `max` into out[0..)
  // (returns how many). Each popped completion frees its slot for a new Submit(). A completion
  // whose push is still in progress may be missed; the pusher's Wake() follows its push, so
  // drain again after every wake. Never allocate, never block; the scheduler thread only.
  bool TryDequeue(RunCompletion* out) noexcept;
  std::size_t TryDequeueBulk(RunCompletion* out, std::size_t max) noexcept;

  // SizeApprox() — completions ready to pop (approximate: may miss pushes in progress). Never
  // allocates, never blocks; any thread.
  std::size_t SizeApprox() const noexcept;

  // Outstanding runs: submitted and their completion not yet popped. Exact on the scheduler
  // thread; approximate elsewhere. Never allocates, never blocks; any thread.
  std::size_t outstanding() const noexcept {
    // Relaxed: a count for checks and metrics; it orders nothing.
    return outstanding_.load(std::memory_order_relaxed);
  }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  friend class Executor;
  struct Impl;

  // Reserves a completion slot for a run about to be submitted; false when `capacity` runs are
  // outstanding. CancelReservation() undoes it when the executor then refuses the run.
  // Scheduler thread only.
  bool TryReserve() noexcept;
  void CancelReservation() noexcept;
  // NewProducer(): kResourceExhausted when max_producers producers exist or memory ran out.
  // Allocates; any thread.
  Status NewProducer(Producer* out);
  // Push(): never fails for a run that holds a reservation (aborts otherwise: a bug). Never
  // allocates, never blocks; the thread using `producer`.
  void Push(Producer& producer, const RunCompletion& completion) noexcept;

  const std::size_t capacity_;
  const std::size_t max_producers_;
  // Runs that hold a reservation: Submit()ted, completion not yet popped. Always <= capacity_,
  // so the completions in the queue never exceed capacity_ either. Incremented only by the
  // scheduler thread (TryReserve), decremented by it (pops, CancelReservation); atomic so other
  // threads may read it.
  std::atomic<std::uint32_t> outstanding_{0};
  // Live Producers; <= max_producers_.
  std::atomic<std::uint32_t> producers_{0};
  Status status_;
  std::unique_ptr<Impl> impl_;  // null when !status_.ok()
};

// Executor
//
// The interface the scheduler drives. Lifecycle: constructed → Start() → Submit()* →
// Shutdown(), and Start() again after Shutdown() (a scheduler that is restarted restarts its
// executors). A failed Start() leaves the executor stopped.
class Executor {
 public:
  // Must not be started (see "For implementers"). Defined inline on purpose: with no
  // out-of-line virtual function, Executor has no key function, so its vtable and typeinfo are
  // emitted wherever they are needed. A subclass in an application built with RTTI then links
  // although the engine itself is built with -fno-rtti (which emits no typeinfo).
  virtual ~Executor() { APS_CHECK(!started_); }
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Start()
  //
  // Binds the executor to `completions` and starts its workers. `scheduler_waiter` is woken
  // after every completion push; nullptr means the scheduler polls the queue instead. Both must
  // outlive Shutdown(). Returns kFailedPrecondition when already started, kInvalidArgument
  // for bad options, kResourceExhausted when memory ran out or `completions` has no producer
  // slot left (raise CompletionQueue::Options::max_producers), `completions.status()` when the
  // queue is unusable, kUnavailable when the platform cannot start threads (bare metal: use
  // InlineExecutor). On failure nothing is left running. Allocates; blocks while threads
  // start; the scheduler thread.
  [[nodiscard]] Status Start(CompletionQueue& completions, platform::Waiter* scheduler_waiter);

  // Submit()
  //
  // Hands one run over. OK means exactly one RunCompletion for it will be pushed (before
  // Shutdown() returns at the latest). kResourceExhausted when the executor's queue or the
  // completion queue is full: nothing was queued; pop completions (or wait for a wake) and
  // retry. kFailedPrecondition when not started (or shut down); kInvalidArgument when
  // request.fn is null or empty. Never allocates; never blocks (InlineExecutor runs the job
  // inside Submit() and takes as long as the job); the scheduler thread, never from a job.
  //
  // defer_wake = true: part of a batch. The executor may leave a sleeping worker asleep for
  // now (a busy one takes the run when it finishes); Flush() after the batch wakes as many as
  // the waiting runs need. A thread pool then makes one wake-up system call per batch, or per
  // 32 runs of a long one, instead of one per run.
  [[nodiscard]] Status Submit(const RunRequest& request, bool defer_wake = false) noexcept;

  // Flush() — ends a batch of Submit(..., defer_wake = true): every run submitted so far will
  // start without another call, unless it returns false. False (rare) when some runs could
  // not be handed to the workers yet: a thread pool's queue had no free block because workers
  // preempted in the middle of a pop hold them; call Flush() again after the next completion
  // (the scheduler does). True when not started. Never allocates, never blocks; the scheduler
  // thread.
  bool Flush() noexcept { return started_ ? DoFlush() : true; }

  // Shutdown()
  //
  // Stops the executor. wait = true: every accepted run still runs, then the workers stop.
  // wait = false: queued runs are dropped (each still gets a completion, with ran = false) and
  // jobs already running are waited for (they cannot be interrupted). Either way, when it
  // returns every accepted run has its completion pushed and the executor touches neither the
  // queue nor the waiter again. Does nothing when not started. Blocks; the scheduler thread,
  // never from a job running on this executor (it would wait for itself).
  void Shutdown(bool wait) noexcept;

  // running() — jobs executing right now (approximate). Never allocates, never blocks; any
  // thread.
  virtual std::size_t running() const noexcept {
    // Relaxed: a statistic; it orders nothing.
    return running_.load(std::memory_order_relaxed);
  }

  // kind() — "threadpool", "inline", ...: a static string for logs. Any thread.
  virtual const char* kind() const noexcept = 0;

  // Prime() — a run is expected within `spin_us` microseconds: have a worker awake and polling
  // for that long, so the run starts without an OS wake-up (tens of µs on a VM). The scheduler
  // calls it when it wakes early to spin to a deadline (SchedulerOptions::spin_us). The default
  // does nothing. Never allocates, never blocks; the scheduler thread, after Start().
  virtual void Prime(std::uint32_t /*spin_us*/) noexcept {}

 protected:
  // ---- For implementers --------------------------------------------------------------------
  //
  // Start(), Submit() and Shutdown() check the lifecycle and the request, reserve the
  // completion slot, then call the Do...() hooks below. An implementation
  //   * creates one CompletionQueue::Producer per thread that will push (NewCompletionProducer(),
  //     in DoStart() only);
  //   * for every request DoSubmit() accepted, calls RunAndComplete() or DropAndComplete()
  //     exactly once, before DoShutdown() returns;
  //   * destroys its Producers in DoShutdown() (or its destructor);
  //   * calls Shutdown(false) from its destructor if it may still be running (the base
  //     destructor cannot: the derived part is gone by then; it aborts if still started).

  explicit Executor(platform::Clock& clock) noexcept : clock_(clock) {}

  // DoStart(): start workers. On error, leave nothing running. Allocates; scheduler thread.
  virtual Status DoStart() = 0;
  // DoSubmit(): `request` is checked and holds a completion slot. Return OK to accept it, or
  // kResourceExhausted when full (the slot is then released). Must not allocate or block.
  // `defer_wake`: see Submit(); an executor may ignore it and start the run at once.
  virtual Status DoSubmit(const RunRequest& request, bool defer_wake) noexcept = 0;
  // DoFlush(): see Flush(). The default does nothing (for executors that ignore defer_wake).
  virtual bool DoFlush() noexcept { return true; }
  // DoShutdown(): see Shutdown(). Called once after each successful DoStart(); a later
  // DoStart() must work again.
  virtual void DoShutdown(bool wait) noexcept = 0;

  // NewCompletionProducer() — a producer on the started-on CompletionQueue (see
  // CompletionQueue::Options::max_producers). kResourceExhausted when none is left or memory
  // ran out. Allocates; only from DoStart().
  Status NewCompletionProducer(CompletionQueue::Producer* out);

  // RunAndComplete() — reads the clock, calls request.fn->Invoke() (which turns exceptions into
  // a failed outcome), reads the clock, pushes the completion through `producer`, and wakes the
  // scheduler. Counts the run in running() meanwhile. Returns the completion's `finished` (so a
  // caller timing what comes next need not read the clock again). Allocates or blocks only as
  // the job does; the thread that uses `producer`.
  platform::Deadline RunAndComplete(CompletionQueue::Producer& producer,
                                    const RunRequest& request) noexcept;

  // DropAndComplete() — pushes a ran = false completion for `request` without running it, and
  // wakes the scheduler. Never allocates, never blocks; the thread that uses `producer`.
  void DropAndComplete(CompletionQueue::Producer& producer, const RunRequest& request) noexcept;

  platform::Clock& clock() const noexcept { return clock_; }

 private:
  void Push(CompletionQueue::Producer& producer, const RunCompletion& completion) noexcept;

  platform::Clock& clock_;
  // Between a successful Start() and Shutdown(). Scheduler thread only.
  bool started_ = false;
  // Set by Start(); read by workers. Workers are started after these writes (thread creation
  // orders them), so plain pointers suffice.
  CompletionQueue* completions_ = nullptr;
  platform::Waiter* scheduler_waiter_ = nullptr;
  // Written by every worker around every run: on a cache line of its own, so that Submit()'s
  // reads of the fields above do not wait for a line a worker just wrote. The padding fills the
  // line: without it a subclass's first members went into its tail (the Itanium ABI reuses a
  // base's tail padding), and every submission read the thread pool's state pointer from the
  // line the workers kept writing (perf annotate: the largest item of a burst drain).
  alignas(64) std::atomic<std::uint32_t> running_{0};
  char running_line_[64 - sizeof(std::atomic<std::uint32_t>)] = {};
};

// ThreadPoolExecutor
//
// `threads` workers, started by Start() and never grown or shrunk, take runs from a lock-free
// queue of `queue_capacity` entries. An idle worker polls for `idle_spin_us`, then sleeps on its
// own platform Waiter (no mutex), and Submit() wakes exactly one sleeping worker, if any; a busy
// worker takes the next run without sleeping. In a batch (Submit(..., defer_wake = true)) runs
// are pushed and a sleeper woken once per 32, and Flush() wakes one sleeper per run still
// waiting; while a worker primed by Prime() polls, a batch wakes no sleeper for the run it will
// take. The design (queue, wake-up protocol, batches, primed workers, shutdown) is described at
// the top of executor.cc.
//
//   aps::ThreadPoolExecutor pool({.threads = 8, .queue_capacity = 1024}, clock);
class ThreadPoolExecutor final : public Executor {
 public:
  static constexpr std::size_t kMaxThreads = 256;
  static constexpr std::size_t kMaxQueueCapacity = std::size_t{1} << 20;
  static constexpr std::uint32_t kMaxSpinUs = 1'000'000;

  struct Options {
    // Worker threads. 1..kMaxThreads. Each needs a producer slot in the CompletionQueue.
    std::size_t threads = 4;
    // Runs that may wait for a free worker; Submit() fails with kResourceExhausted beyond it.
    // 1..kMaxQueueCapacity. Preallocated at Start() (about 40 B per entry).
    std::size_t queue_capacity = 256;
    // A worker that finds the queue empty polls it this long before it sleeps, so a stream of
    // runs does not pay a sleep and a wake-up per run. Costs up to this much CPU per idle
    // period and worker; 0 = sleep at once. 0..kMaxSpinUs.
    std::uint32_t idle_spin_us = 0;
  };

  // Allocates nothing; Start() does. `clock` stamps runs and makes the workers' Waiters; it
  // must outlive the executor.
  ThreadPoolExecutor(const Options& options, platform::Clock& clock) noexcept;
  ThreadPoolExecutor(std::size_t threads, std::size_t queue_capacity,
                     platform::Clock& clock) noexcept
      : ThreadPoolExecutor(Options{threads, queue_capacity, Options{}.idle_spin_us}, clock) {}
  // Shutdown(/*wait=*/false) if still running.
  ~ThreadPoolExecutor() override;

  const char* kind() const noexcept override { return "threadpool"; }

  // Prime(): wakes one sleeping worker (if any is asleep and none is primed already) to poll
  // for `spin_us`; it takes the next batch's first run (see the class comment).
  void Prime(std::uint32_t spin_us) noexcept override;

  // queued() — accepted runs no worker has taken yet (approximate). Never allocates, never
  // blocks; any thread.
  std::size_t queued() const noexcept {
    // Relaxed: a statistic here; Submit()'s own reads are the ordered ones. Read popped_ first
    // so that a pop racing with the reads cannot make the difference negative.
    const std::uint32_t popped = popped_.load(std::memory_order_relaxed);
    const std::uint32_t pushed = pushed_.load(std::memory_order_relaxed);
    const std::uint32_t queued = pushed - popped;
    return queued > (1u << 31) ? 0 : queued;
  }

 private:
  struct State;

  Status DoStart() override;
  Status DoSubmit(const RunRequest& request, bool defer_wake) noexcept override;
  bool DoFlush() noexcept override;
  void DoShutdown(bool wait) noexcept override;
  void StopAndJoin(bool wait) noexcept;

  const Options options_;
  // Workers, queue and wake-up state; exists from Start() to the end of Shutdown().
  std::unique_ptr<State> state_;
  // Requests pushed by the scheduler thread (its only writer) and popped by workers (each
  // counted after its pop has released the slot): pushed_ - popped_ is the queue's occupancy,
  // which queue_capacity bounds. Modulo 2^32. On separate cache lines: workers keep writing
  // popped_, the scheduler thread pushed_ (and reads the fields above on every submission).
  alignas(64) std::atomic<std::uint32_t> pushed_{0};
  std::uint32_t popped_seen_ = 0;  // the scheduler thread's last reading of popped_
  alignas(64) std::atomic<std::uint32_t> popped_{0};  // last: nothing shares its line
};

// InlineExecutor
//
// Runs each job inside Submit(), on the scheduler thread, then pushes its completion like any
// executor (so the scheduler's accounting is the same). A job therefore delays the scheduler
// for as long as it runs: use it for tiny jobs, or where there are no threads (firmware).
// Shutdown() has nothing to wait for.
//
//   aps::InlineExecutor inline_exec(clock);
class InlineExecutor final : public Executor {
 public:
  // Allocates nothing; Start() takes one completion producer. `clock` must outlive it.
  explicit InlineExecutor(platform::Clock& clock) noexcept : Executor(clock) {}
  ~InlineExecutor() override;

  const char* kind() const noexcept override { return "inline"; }

 private:
  Status DoStart() override;
  Status DoSubmit(const RunRequest& request, bool defer_wake) noexcept override;
  void DoShutdown(bool wait) noexcept override;

  CompletionQueue::Producer producer_;
};

}  // namespace aps

#endif  // APS_ENGINE_EXECUTOR_H_
