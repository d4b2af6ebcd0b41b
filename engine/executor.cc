// aps/engine/executor.cc — CompletionQueue, the Executor base, ThreadPoolExecutor, InlineExecutor.
//
// Design
// ======
//
// Two lock-free queues connect the scheduler thread with the workers, both moodycamel
// ConcurrentQueues wrapped by engine/internal/mpmc_queue.h, both fully preallocated, both used
// only through try_ operations with explicit producer/consumer tokens, so nothing allocates
// after Start():
//
//   scheduler ──RunRequest──▶ request queue (1 producer, N consumers) ──▶ worker 1..N
//   scheduler ◀─RunCompletion── CompletionQueue (N producers, 1 consumer) ◀── worker 1..N
//
// Counters instead of queue sizes. moodycamel has no exact size or capacity (see mpmc_queue.h,
// "Capacity"), so three counters give exact answers and let each queue be sized to never fail:
//
//   pushed_ − popped_   requests pushed and not yet popped. pushed_ counts the scheduler
//               thread's pushes (only it writes it); popped_ the workers' pops, each counted
//               only after its pop has released the slot. Submit() checks the difference
//               against queue_capacity before pushing, reading popped_ only when its last reading
//               says the queue may be full (so a submission does not touch the line the workers
//               keep writing). So the request queue never holds more than queue_capacity, and its
//               preallocated blocks (MpmcQueue::BlocksFor(queue_capacity), one producer) suffice
//               as long as slots are released in order. With several workers they may not be: a
//               worker preempted between taking a slot and releasing it keeps that slot's
//               32-entry block from being recycled, and pushes meanwhile consume spare pool
//               blocks. If those run out, Submit() reports kResourceExhausted early (nothing is
//               lost; the scheduler retries as for a full queue). The spare blocks are the ones
//               the current occupancy does not use, so this needs a long preemption at a high
//               submit rate. (32-bit counters; differences are taken modulo 2^32.)
//   claimable   requests pushed, published, and not yet claimed by a worker. A worker claims
//               one (CAS decrement) before popping; incremented after the push, so a claim
//               guarantees a published element and the pop that follows succeeds (it may retry
//               while other claimants' pops are mid-flight, never longer). Runs submitted with
//               defer_wake are published in groups (one increment for up to kWakeEvery runs, and
//               the rest at Flush()), so a batch costs one read-modify-write of this shared line
//               per group instead of one per run.
//   outstanding (CompletionQueue) runs submitted whose completion the scheduler has not popped.
//               Reserved in Submit(), released by the pop. Every completion in the queue holds
//               a reservation, so each producer holds at most `capacity` completions and the
//               preallocation (BlocksFor(capacity) per producer) makes every push succeed:
//               completions are never dropped, and workers never wait for the scheduler.
//
// Wake-up protocol (no lost wake-up, no thundering herd). Each worker has its own Waiter and a
// sleep_state word: kBusy, kIdle (about to sleep or asleep), kWoken (a Submit() chose it).
//
//   worker, when it finds nothing to claim:       Submit(), after its push:
//     sleep_state = kIdle            (W1)           claimable += 1            (S1)
//     if claimable != 0 or stopping: retry          for each worker:
//     WaitUntil(Infinite)                             if sleep_state == kIdle (S2) and
//     sleep_state = kBusy                               CAS kIdle -> kWoken: Wake(), stop
//
// W1/S1 and the loads after them are seq_cst (a store-load "Dekker" pair): in the single total
// order either the worker's load sees S1 and it does not sleep, or Submit()'s load S2 sees kIdle
// and wakes it. Wake() is sticky, so a wake that lands between the check and WaitUntil() makes
// WaitUntil() return at once. Exactly one worker is woken per request; when all are busy, none
// is, and the busy ones claim the request when they finish. A worker woken for a request that
// another worker took first just goes back to sleep. Scanning is O(threads) loads, no RMW on
// busy workers' lines.
//
// Batches (Submit(..., defer_wake = true), then Flush()). The scheduler thread submits a whole
// pass of due runs at once. Runs are staged (up to kWakeEvery = 32) and pushed with one bulk
// enqueue, then published with one `claimable` increment followed by one S2 scan (the same
// Dekker pair as above, per group instead of per run): at a group's first run, at every 32nd,
// and at Flush(). Flush() also wakes one more sleeper per run still unclaimed, so a batch of
// long runs gets the workers single submissions would have had. Every published group does an
// S2 scan, so no published run is left with every worker asleep; staged runs are published by
// Flush() at the latest, or by StopAndJoin() before the mode store. If a bulk push finds no
// free block (the pinned-block case under "Counters"), the runs are pushed one by one and the
// rest stay staged; Flush() returns false and the caller flushes again later.
//
// Primed workers. Prime() (the scheduler about to spin to a deadline) chooses one sleeping
// worker to poll. Inside a batch, while such a worker polls, a published group wakes no
// sleeper, and Flush() wakes one per unclaimed run beyond the polling ones: the poller takes
// the run. (Waking a second worker as well only had it compete for a core with the poller
// and the spinning scheduler just as the run started: on 2 cores, 100 runs a second started
// 23-34 µs late at the median, 7-10 µs without.) This must never leave a run with no worker
// to look at it, so the pollers are counted exactly, in the high bits of `claimable`:
//   * Prime() adds one (seq_cst) and stores the spin in prime_us before its choosing CAS
//     (kIdle -> kWoken); if the CAS fails it takes both back before choosing again (every
//     chooser runs on the scheduler thread, so nobody reads the count meanwhile).
//   * The chosen worker sees kWoken (a seq_cst exchange, after its sleep or in its idle
//     re-check), which makes prime_us visible, and polls. It stops counting exactly once:
//     in the CAS that claims a run (both counts drop together) or, when its poll ends or the
//     pool stops, by a seq_cst decrement made before its W1 re-check.
//   * Publish() reads the count in its S1 increment, Flush() in one load of the word. A
//     poller counted there either claims later (the word's order puts its claim after the
//     increment) or decrements and then re-checks, seeing the run. Flush() wakes enough
//     sleepers for the runs the pollers cannot take, so no run waits for another one's job.
// Outside a batch (Submit() without defer_wake, shutdown) a published run always wakes a
// sleeper, as before.
//
// Why workers pop one request at a time (no bulk dequeue): a worker that grabbed a batch would
// sit on runs behind a long job while other workers sleep. The scheduler's side does drain
// completions in bulk (CompletionQueue::TryDequeueBulk).
//
// Shutdown. DoShutdown() publishes mode = kDrain (wait) or kDrop (!wait), wakes every worker and
// joins them. A worker reads mode *before* trying to claim; it exits only when that read said
// "stopping" and the claim then failed. All Submit() calls precede the mode store on the
// scheduler thread, so such a claim saw every submitted request: nothing is stranded. Under
// kDrop a claimed request gets a ran = false completion instead of running; jobs already
// running finish (they cannot be interrupted) and are joined. When Join() returns, every
// accepted run's completion has been pushed.
//
// Threads come from engine_internal::Thread (internal/thread.h): std::thread on hosted builds,
// "none" on bare metal, where ThreadPoolExecutor::Start() returns kUnavailable and the
// InlineExecutor is the executor.
#include "engine/executor.h"

#include <new>
#include <optional>
#include <utility>

#include "engine/check.h"
#include "engine/internal/mpmc_queue.h"
#include "engine/internal/thread.h"

namespace aps {

using engine_internal::MpmcQueue;

// Firmware constraint (shared/firmware-target.md §15.3): only always-lock-free atomics, so no
// 64-bit ones.
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// ---- CompletionQueue --------------------------------------------------------------------------

struct CompletionQueue::Impl {
  Impl(std::size_t capacity, std::size_t max_producers)
      : queue(capacity, max_producers), consumer(queue) {}
  MpmcQueue<RunCompletion> queue;
  MpmcQueue<RunCompletion>::Consumer consumer;  // the scheduler thread's
};

struct CompletionQueue::Producer::Impl {
  std::unique_ptr<MpmcQueue<RunCompletion>::Producer> token;
};

CompletionQueue::Producer::Producer(Producer&& other) noexcept
    : queue_(std::exchange(other.queue_, nullptr)), impl_(std::exchange(other.impl_, nullptr)) {}

CompletionQueue::Producer& CompletionQueue::Producer::operator=(Producer&& other) noexcept {
  if (this != &other) {
    Reset();
    queue_ = std::exchange(other.queue_, nullptr);
    impl_ = std::exchange(other.impl_, nullptr);
  }
  return *this;
}

CompletionQueue::Producer::~Producer() { Reset(); }

void CompletionQueue::Producer::Reset() noexcept {
  if (impl_ == nullptr) return;
  delete impl_;  // the moodycamel producer goes inactive; a later NewProducer() recycles it
  impl_ = nullptr;
  // Relaxed: a count of slots; the moodycamel token hand-over is ordered by moodycamel itself.
  queue_->producers_.fetch_sub(1, std::memory_order_relaxed);
  queue_ = nullptr;
}

CompletionQueue::CompletionQueue() : CompletionQueue(Options{}) {}

CompletionQueue::CompletionQueue(const Options& options)
    : capacity_(options.capacity), max_producers_(options.max_producers) {
  if (options.capacity == 0 || options.capacity > kMaxCapacity) {
    status_ = Status::Format(StatusCode::kInvalidArgument,
                             "completion queue capacity must be 1..%zu, got %zu", kMaxCapacity,
                             options.capacity);
    return;
  }
  if (options.max_producers == 0 || options.max_producers > kMaxProducers) {
    status_ = Status::Format(StatusCode::kInvalidArgument,
                             "completion queue max_producers must be 1..%zu, got %zu",
                             kMaxProducers, options.max_producers);
    return;
  }
  impl_.reset(new (std::nothrow) Impl(options.capacity, options.max_producers));
  if (impl_ == nullptr || !impl_->queue.ok()) {
    impl_.reset();
    status_ = Status(StatusCode::kResourceExhausted, "out of memory for the completion queue");
  }
}

CompletionQueue::~CompletionQueue() { APS_CHECK(producers_.load() == 0); }

bool CompletionQueue::TryReserve() noexcept {
  // Relaxed: only the scheduler thread increments, so a stale read can only be too high (the
  // safe side). No data is published through this counter: a worker's push finds its slots
  // free because their release (inside the pop) is ordered before the reserving Submit() on
  // the scheduler thread, and Submit() → worker is ordered by the request queue.
  if (outstanding_.load(std::memory_order_relaxed) >= capacity_) return false;
  outstanding_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void CompletionQueue::CancelReservation() noexcept {
  outstanding_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: see TryReserve()
}

Status CompletionQueue::NewProducer(Producer* out) {
  if (impl_ == nullptr) return status_;
  // Relaxed: a bounded count of slots; it publishes nothing.
  std::uint32_t n = producers_.load(std::memory_order_relaxed);
  do {
    if (n >= max_producers_) {
      return Status::Format(StatusCode::kResourceExhausted,
                            "completion queue has no producer slot left (max_producers = %zu)",
                            max_producers_);
    }
  } while (!producers_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  Producer::Impl* impl = new (std::nothrow) Producer::Impl;
  if (impl != nullptr) impl->token = impl_->queue.NewProducer();
  if (impl == nullptr || impl->token == nullptr) {
    delete impl;
    producers_.fetch_sub(1, std::memory_order_relaxed);
    return Status(StatusCode::kResourceExhausted, "out of memory for a completion producer");
  }
  *out = Producer(this, impl);
  return OkStatus();
}

void CompletionQueue::Push(Producer& producer, const RunCompletion& completion) noexcept {
  APS_CHECK(producer.queue_ == this);
  // Cannot fail: this completion holds a reservation, so the producer holds at most capacity_
  // completions, for which its preallocated blocks suffice (see the design notes above).
  const bool pushed = impl_->queue.TryPush(*producer.impl_->token, completion);
  APS_CHECK(pushed);
}

bool CompletionQueue::TryDequeue(RunCompletion* out) noexcept {
  if (impl_ == nullptr || !impl_->queue.TryPop(impl_->consumer, *out)) return false;
  outstanding_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: see TryReserve()
  return true;
}

std::size_t CompletionQueue::TryDequeueBulk(RunCompletion* out, std::size_t max) noexcept {
  if (impl_ == nullptr) return 0;
  const std::size_t n = impl_->queue.TryPopBulk(impl_->consumer, out, max);
  if (n != 0) {
    outstanding_.fetch_sub(static_cast<std::uint32_t>(n), std::memory_order_relaxed);  // ditto
  }
  return n;
}

std::size_t CompletionQueue::SizeApprox() const noexcept {
  return impl_ == nullptr ? 0 : impl_->queue.SizeApprox();
}

// ---- Executor ---------------------------------------------------------------------------------

Status Executor::Start(CompletionQueue& completions, platform::Waiter* scheduler_waiter) {
  if (started_) return Status(StatusCode::kFailedPrecondition, "executor is already started");
  if (!completions.status().ok()) return completions.status();
  completions_ = &completions;
  scheduler_waiter_ = scheduler_waiter;
  Status s = DoStart();
  if (!s.ok()) {
    completions_ = nullptr;
    scheduler_waiter_ = nullptr;
    return s;
  }
  started_ = true;
  return OkStatus();
}

Status Executor::Submit(const RunRequest& request, bool defer_wake) noexcept {
  if (!started_) return Status(StatusCode::kFailedPrecondition, "executor is not started");
  if (request.fn == nullptr || !*request.fn) {
    return Status(StatusCode::kInvalidArgument, "run request without a job function");
  }
  if (!completions_->TryReserve()) {
    return Status(StatusCode::kResourceExhausted,
                  "completion queue is full: pop completions before submitting more");
  }
  Status s = DoSubmit(request, defer_wake);
  if (!s.ok()) completions_->CancelReservation();
  return s;
}

void Executor::Shutdown(bool wait) noexcept {
  if (!started_) return;
  DoShutdown(wait);
  started_ = false;
  completions_ = nullptr;
  scheduler_waiter_ = nullptr;
}

Status Executor::NewCompletionProducer(CompletionQueue::Producer* out) {
  APS_CHECK(completions_ != nullptr);  // only from DoStart()
  return completions_->NewProducer(out);
}

void Executor::Push(CompletionQueue::Producer& producer, const RunCompletion& completion) noexcept {
  completions_->Push(producer, completion);
  // After the push: a scheduler that wakes (or is already awake and drains later) finds it.
  if (scheduler_waiter_ != nullptr) scheduler_waiter_->Wake();
}

platform::Deadline Executor::RunAndComplete(CompletionQueue::Producer& producer,
                                            const RunRequest& request) noexcept {
  RunCompletion c;
  c.job_key = request.job_key;
  c.run_id = request.run_id;
  c.scheduled = request.scheduled;
  c.ran = true;
  // Relaxed: running() is a statistic.
  running_.fetch_add(1, std::memory_order_relaxed);
  c.started = clock_.Now();
  engine_internal::SetInJob(true);
  const RunOutcome outcome = request.fn->Invoke();
  engine_internal::SetInJob(false);
  c.finished = clock_.Now();
  running_.fetch_sub(1, std::memory_order_relaxed);
  c.ok = outcome.ok;
  if (!outcome.ok) engine_internal::CopyMessage(outcome.error, c.error, sizeof c.error);
  Push(producer, c);
  return c.finished;
}

void Executor::DropAndComplete(CompletionQueue::Producer& producer,
                               const RunRequest& request) noexcept {
  RunCompletion c;
  c.job_key = request.job_key;
  c.run_id = request.run_id;
  c.scheduled = request.scheduled;
  c.ran = false;
  c.ok = false;
  c.started = c.finished = clock_.Now();
  engine_internal::CopyMessage("not run: executor shut down", c.error, sizeof c.error);
  Push(producer, c);
}

// ---- ThreadPoolExecutor -----------------------------------------------------------------------

struct ThreadPoolExecutor::State {
  using RequestQueue = MpmcQueue<RunRequest>;

  enum Mode : std::uint32_t { kRunning, kDrain, kDrop };
  enum SleepState : std::uint32_t { kBusy, kIdle, kWoken };

  // One per worker thread; on its own cache line so sleep_state polling by Submit() and the
  // worker's writes do not false-share with a neighbour.
  struct alignas(64) Worker {
    State* state = nullptr;
    std::unique_ptr<platform::Waiter> waiter;  // owned (waited on) by this worker's thread
    // kIdle: the worker found nothing to claim and is about to sleep or asleep. kWoken: a
    // Submit() chose it (and called Wake()). kBusy: otherwise. See the design notes.
    std::atomic<std::uint32_t> sleep_state{kBusy};
    // Stored by Prime() before its choosing CAS; read and cleared by this worker when it sees
    // kWoken (see "Primed workers"): poll this many µs. Relaxed: the sleep_state exchange
    // orders it.
    std::atomic<std::uint32_t> prime_us{0};
    CompletionQueue::Producer completions;           // this thread's
    std::optional<RequestQueue::Consumer> requests;  // this thread's
    engine_internal::Thread thread;
  };

  State(ThreadPoolExecutor& owner_in, std::size_t queue_capacity)
      : owner(owner_in), queue(queue_capacity, /*max_producers=*/1) {}

  // `claimable` holds two counts (see "Primed workers" in the design): requests pushed,
  // published and not yet claimed in the low kCountBits, and primed pollers above them. One
  // word, so that a primed poller's claim takes a request and ends its polling at once.
  static constexpr std::uint32_t kCountBits = 21;
  static constexpr std::uint32_t kCountMask = (std::uint32_t{1} << kCountBits) - 1;
  static constexpr std::uint32_t kOnePoller = std::uint32_t{1} << kCountBits;
  static_assert(kMaxQueueCapacity <= kCountMask, "unclaimed requests must fit their bits");
  static_assert(kMaxThreads < (std::uint32_t{1} << (32 - kCountBits)), "pollers must fit too");
  static std::uint32_t Unclaimed(std::uint32_t word) noexcept { return word & kCountMask; }
  static std::uint32_t Pollers(std::uint32_t word) noexcept { return word >> kCountBits; }

  // Takes one unclaimed request, if any; a primed poller (`poller`) stops counting as one in
  // the same step. Any worker.
  bool TryClaim(bool poller) noexcept {
    std::uint32_t n = claimable.load(std::memory_order_seq_cst);
    while (Unclaimed(n) != 0) {
      APS_DCHECK(!poller || Pollers(n) != 0);
      // seq_cst: a successful claim synchronizes with the Submit() that counted the request (so
      // its push is visible), and the counter takes part in the Dekker pair (see the design).
      if (claimable.compare_exchange_weak(n, n - 1 - (poller ? kOnePoller : 0),
                                          std::memory_order_seq_cst)) {
        return true;
      }
    }
    return false;
  }

  void Work(Worker& w) noexcept;
  // Wakes one sleeping worker, if any is asleep; false when none was.
  bool WakeOneIdleWorker() noexcept;
  // Pushes the staged runs (in order, in one bulk push when it fits), makes them claimable and
  // wakes a sleeper — unless `in_batch` (a Flush() follows) and a primed worker polls, which
  // takes them (see "Primed workers"). False when some stay staged: the queue's spare blocks
  // are pinned by workers in the middle of a pop (see the design notes); a later call pushes
  // them. Scheduler thread.
  bool Publish(bool in_batch) noexcept;

  // Layout: what the workers write (claimable; the queue's own counters) sits on cache lines
  // of its own, away from what the scheduler thread reads on every submission; sharing a line
  // with `claimable` made each submission wait for the line a worker had just claimed from.
  // What the workers read on every iteration (owner, mode) shares no line with what the
  // scheduler thread writes on every submission (deferred, staged_count, staged): with both
  // on one line, each submission's first load waited for that line (perf annotate of a burst
  // drain: the largest item on the scheduler thread once the executor's own line was fixed).

  // Read by the workers (owner on every iteration; rarely written).
  ThreadPoolExecutor& owner;
  std::unique_ptr<Worker[]> workers;
  std::size_t worker_count = 0;
  // kRunning until DoShutdown(); then kDrain (wait) or kDrop.
  std::atomic<std::uint32_t> mode{kRunning};

  // Scheduler thread only.
  alignas(64) std::unique_ptr<RequestQueue::Producer> submitter;  // the scheduler thread's
  // Runs submitted with defer_wake since the last DoFlush(), and pushes not yet counted in
  // `claimable`.
  static constexpr std::uint32_t kWakeEvery = 32;
  std::uint32_t deferred = 0;
  // Runs accepted and not yet pushed, in order: a batch is pushed kWakeEvery at a time, so
  // the queue's tail (a line the workers' pops keep writing) is written once per group.
  std::uint32_t staged_count = 0;
  RunRequest staged[kWakeEvery];

  // Requests pushed and not yet claimed by a worker, and primed pollers (see TryClaim()).
  alignas(64) std::atomic<std::uint32_t> claimable{0};
  alignas(64) RequestQueue queue;
};

void ThreadPoolExecutor::State::Work(Worker& w) noexcept {
  RunRequest request;
  platform::Clock& clock = owner.clock();
  const std::uint32_t idle_spin_us = owner.options_.idle_spin_us;
  // Poll instead of sleeping until then (after work, and after Prime()), for at most
  // `spins_left` iterations: a simulated clock may never reach spin_until.
  platform::Deadline spin_until = clock.Now();
  std::uint32_t spins_left = 0;
  bool primed_spin = false;  // this worker counts as a primed poller in `claimable`
  auto spin_for_from = [&](platform::Deadline now, std::uint32_t us) {
    spin_until = now + platform::Delay::Micros(us);
    spins_left = us * 64;  // PAUSE takes ~10-140 cycles: 64 per µs outlasts the real clock
  };
  auto spin_for = [&](std::uint32_t us) { spin_for_from(clock.Now(), us); };
  // seq_cst, and before the idle re-check (W1): see "Primed workers" in the design.
  auto end_primed_spin = [&] {
    if (primed_spin) claimable.fetch_sub(kOnePoller, std::memory_order_seq_cst);
    primed_spin = false;
  };
  // After being chosen (sleep_state was kWoken): a Prime() stored prime_us before its choosing
  // CAS, which our exchange that saw kWoken read, so a prime is visible here. Prime() counted us.
  auto take_prime = [&] {
    if (const std::uint32_t p = w.prime_us.exchange(0, std::memory_order_relaxed); p != 0) {
      spin_for(p);
      primed_spin = true;
    }
  };
  for (;;) {
    // Read before the claim: when it says "stopping", every Submit() happened before the mode
    // store (same scheduler thread, then release/acquire), so a failed claim below means
    // nothing is left. seq_cst (at least acquire) for that edge.
    const std::uint32_t m = mode.load(std::memory_order_seq_cst);
    if (TryClaim(primed_spin)) {
      primed_spin = false;  // (the claim ended it)
      // Claimed ⇒ pushed and published; a miss means another claimant's pop is mid-flight.
      while (!queue.TryPop(*w.requests, request)) {
      }
      // Release: the popped slot is free before the count says so (Submit() acquires it).
      owner.popped_.fetch_add(1, std::memory_order_release);
      if (mode.load(std::memory_order_relaxed) == kDrop) {  // relaxed: any recent value will do
        owner.DropAndComplete(w.completions, request);
        if (idle_spin_us > 0) spin_for(idle_spin_us);
      } else {
        // The run's end time starts the idle poll: one clock read fewer per run.
        const platform::Deadline finished = owner.RunAndComplete(w.completions, request);
        if (idle_spin_us > 0) spin_for_from(finished, idle_spin_us);
      }
      continue;
    }
    if (m != kRunning) {
      end_primed_spin();
      return;
    }
    // The clock is read every 16th poll only: a read costs tens of ns on a VM, and a polling
    // worker shares the cores with the scheduler thread.
    if (spins_left > 0 && ((spins_left & 15) != 0 || spin_until > clock.Now())) {
      // Mostly PAUSE; now and then a yield, so a poller never holds a core another thread needs.
      if ((--spins_left & 31) == 0) {
        engine_internal::YieldThread();
      } else {
        engine_internal::CpuRelax();
      }
      continue;
    }
    end_primed_spin();
    // Dekker half W1: announce, then re-check (seq_cst store, seq_cst loads).
    w.sleep_state.store(kIdle, std::memory_order_seq_cst);
    if (Unclaimed(claimable.load(std::memory_order_seq_cst)) != 0 ||
        mode.load(std::memory_order_seq_cst) != kRunning) {
      // A chooser (Submit() or Prime()) may have picked us meanwhile: honour a prime. Its Wake()
      // is sticky, so our next sleep returns at once (harmless).
      if (w.sleep_state.exchange(kBusy, std::memory_order_seq_cst) == kWoken) take_prime();
      continue;
    }
    w.waiter->WaitUntil(platform::Deadline::Infinite());
    // seq_cst exchange (not a store): seeing kWoken is what makes a chooser's prime_us visible.
    if (w.sleep_state.exchange(kBusy, std::memory_order_seq_cst) == kWoken) take_prime();
  }
}

void ThreadPoolExecutor::Prime(std::uint32_t spin_us) noexcept {
  if (state_ == nullptr || spin_us == 0) return;
  if (spin_us > kMaxSpinUs) spin_us = kMaxSpinUs;
  State& st = *state_;
  // One worker polls at a time; a busy worker will look for the run anyway when it finishes.
  // Relaxed: a heuristic.
  if (State::Pollers(st.claimable.load(std::memory_order_relaxed)) != 0) return;
  for (std::size_t i = 0; i < st.worker_count; ++i) {
    State::Worker& w = st.workers[i];
    if (w.sleep_state.load(std::memory_order_seq_cst) != State::kIdle) continue;
    // Counted before it can poll, and the spin stored before the choosing CAS (which the
    // worker reads when it sees kWoken): see "Primed workers" in the design. If the CAS loses
    // (the worker woke by itself), both are undone before this thread makes another choice.
    st.claimable.fetch_add(State::kOnePoller, std::memory_order_seq_cst);
    w.prime_us.store(spin_us, std::memory_order_relaxed);
    std::uint32_t expected = State::kIdle;
    if (w.sleep_state.compare_exchange_strong(expected, State::kWoken, std::memory_order_seq_cst)) {
      w.waiter->Wake();
      return;
    }
    w.prime_us.store(0, std::memory_order_relaxed);
    st.claimable.fetch_sub(State::kOnePoller, std::memory_order_seq_cst);
  }
}

bool ThreadPoolExecutor::State::WakeOneIdleWorker() noexcept {
  for (std::size_t i = 0; i < worker_count; ++i) {
    Worker& w = workers[i];
    // Dekker half S2 (seq_cst load), then claim the sleeper so no other Submit() wakes it too.
    if (w.sleep_state.load(std::memory_order_seq_cst) != kIdle) continue;
    std::uint32_t expected = kIdle;
    if (w.sleep_state.compare_exchange_strong(expected, kWoken, std::memory_order_seq_cst)) {
      w.waiter->Wake();
      return true;
    }
  }
  return false;
}

ThreadPoolExecutor::ThreadPoolExecutor(const Options& options, platform::Clock& clock) noexcept
    : Executor(clock), options_(options) {}

ThreadPoolExecutor::~ThreadPoolExecutor() { Shutdown(/*wait=*/false); }

Status ThreadPoolExecutor::DoStart() {
  if (options_.threads == 0 || options_.threads > kMaxThreads) {
    return Status::Format(StatusCode::kInvalidArgument,
                          "thread pool threads must be 1..%zu, got %zu", kMaxThreads,
                          options_.threads);
  }
  if (options_.queue_capacity == 0 || options_.queue_capacity > kMaxQueueCapacity) {
    return Status::Format(StatusCode::kInvalidArgument,
                          "thread pool queue_capacity must be 1..%zu, got %zu", kMaxQueueCapacity,
                          options_.queue_capacity);
  }
  if (options_.idle_spin_us > kMaxSpinUs) {
    return Status::Format(StatusCode::kInvalidArgument,
                          "thread pool idle_spin_us must be 0..%u, got %u", kMaxSpinUs,
                          options_.idle_spin_us);
  }
  const Status oom(StatusCode::kResourceExhausted, "out of memory starting the thread pool");
  std::unique_ptr<State> st(new (std::nothrow) State(*this, options_.queue_capacity));
  if (st == nullptr || !st->queue.ok()) return oom;
  st->submitter = st->queue.NewProducer();
  st->workers.reset(new (std::nothrow) State::Worker[options_.threads]);
  if (st->submitter == nullptr || st->workers == nullptr) return oom;
  st->worker_count = options_.threads;
  for (std::size_t i = 0; i < st->worker_count; ++i) {
    State::Worker& w = st->workers[i];
    w.state = st.get();
    w.waiter = clock().NewWaiter();
    if (w.waiter == nullptr) return oom;
    APS_RETURN_IF_ERROR(NewCompletionProducer(&w.completions));
    w.requests.emplace(st->queue);
  }
  pushed_.store(0, std::memory_order_relaxed);  // relaxed: no worker runs yet
  popped_.store(0, std::memory_order_relaxed);
  popped_seen_ = 0;
  state_ = std::move(st);
  for (std::size_t i = 0; i < state_->worker_count; ++i) {
    // Thread creation orders everything written above before the worker's first instruction.
    const bool started = state_->workers[i].thread.Start(
        [](void* arg) {
          State::Worker& self = *static_cast<State::Worker*>(arg);
          self.state->Work(self);
        },
        &state_->workers[i]);
    if (!started) {
      StopAndJoin(/*wait=*/false);  // nothing was submitted yet: just stops the started ones
      return Status(StatusCode::kUnavailable,
                    "cannot start worker threads on this platform (use InlineExecutor)");
    }
  }
  return OkStatus();
}

Status ThreadPoolExecutor::DoSubmit(const RunRequest& request, bool defer_wake) noexcept {
  State& st = *state_;
  // Only this thread writes pushed_ (it counts staged runs too). popped_ is read again only
  // when the last reading says the queue may be full. Acquire: pairs with the workers' release
  // increments, so when the count says a slot is free its release inside moodycamel's pop is
  // visible to the push.
  const std::uint32_t pushed = pushed_.load(std::memory_order_relaxed);
  if (pushed - popped_seen_ >= options_.queue_capacity) {
    popped_seen_ = popped_.load(std::memory_order_acquire);
    if (pushed - popped_seen_ >= options_.queue_capacity) {
      return Status(StatusCode::kResourceExhausted, "thread pool queue is full");
    }
  }
  // Only when workers preempted mid-pop pin blocks and the spare ones ran out (see the design
  // notes): refuse, as for a full queue, rather than lose the run. (A function, not a local:
  // a Status is 248 bytes, too many to build on every submission.)
  auto pinned = [] { return Status(StatusCode::kResourceExhausted, "thread pool queue is full"); };
  if (st.staged_count == State::kWakeEvery && !st.Publish(defer_wake) &&
      st.staged_count == State::kWakeEvery) {
    return pinned();
  }
  st.staged[st.staged_count++] = request;
  // In a batch, the first run and every kWakeEvery-th push what is staged and wake a sleeper
  // (so workers start while the batch is still being submitted); DoFlush() does the rest. With
  // short jobs a worker finishes each run before the next arrives and sleeps in between: a
  // wake-up (a system call) per run was the drain's main cost.
  if (!defer_wake || st.deferred++ % State::kWakeEvery == 0) {
    if (!st.Publish(defer_wake) && !defer_wake) {
      // Not deferred: the caller expects the run to be under way without a Flush(). Take it
      // back (it is the last staged) and refuse it.
      --st.staged_count;
      return pinned();
    }
  }
  // Relaxed: a count for queued() and the capacity check, both on this thread's terms.
  pushed_.store(pushed + 1, std::memory_order_relaxed);
  return OkStatus();
}

bool ThreadPoolExecutor::State::Publish(bool in_batch) noexcept {
  if (staged_count == 0) return true;
  std::uint32_t n = staged_count;
  if (!queue.TryPushBulk(*submitter, staged, n)) {
    n = 0;
    while (n < staged_count && queue.TryPush(*submitter, staged[n])) ++n;
    std::copy(staged + n, staged + staged_count, staged);
  }
  staged_count -= n;
  if (n == 0) return false;
  // Dekker half S1; also publishes the pushes to the workers whose claims read this increment.
  const std::uint32_t before = claimable.fetch_add(n, std::memory_order_seq_cst);
  if (!in_batch || Pollers(before) == 0) WakeOneIdleWorker();
  return staged_count == 0;
}

bool ThreadPoolExecutor::DoFlush() noexcept {
  State& st = *state_;
  if (st.deferred == 0 && st.staged_count == 0) return true;
  st.deferred = 0;
  const bool all = st.Publish(/*in_batch=*/true);
  // One sleeper per run not yet claimed, as many as there are: the wakes the runs would have
  // had one by one, less those whose runs a worker already took, and less one per primed
  // poller (it takes one). (A worker woken above that has not claimed yet may make one wake
  // too many: it finds nothing and sleeps again.)
  const std::uint32_t word = st.claimable.load(std::memory_order_seq_cst);
  const std::uint32_t unclaimed = State::Unclaimed(word), pollers = State::Pollers(word);
  std::uint32_t waiting = unclaimed > pollers ? unclaimed - pollers : 0;
  while (waiting-- > 0 && st.WakeOneIdleWorker()) {
  }
  return all;
}

void ThreadPoolExecutor::DoShutdown(bool wait) noexcept { StopAndJoin(wait); }

void ThreadPoolExecutor::StopAndJoin(bool wait) noexcept {
  if (state_ == nullptr) return;
  State& st = *state_;
  // Runs of a batch not yet flushed are accepted runs: hand them over first. Only pinned
  // blocks can hold them back, and the workers (still running) release those.
  while (!st.Publish(/*in_batch=*/false)) engine_internal::YieldThread();
  // seq_cst: the workers' idle re-check reads it in the Dekker pair; release for the
  // "everything submitted is visible" edge described in Work().
  st.mode.store(wait ? State::kDrain : State::kDrop, std::memory_order_seq_cst);
  for (std::size_t i = 0; i < st.worker_count; ++i) {
    if (st.workers[i].thread.running()) st.workers[i].waiter->Wake();
  }
  for (std::size_t i = 0; i < st.worker_count; ++i) st.workers[i].thread.Join();
  state_.reset();  // frees the completion producers and waiters: no thread uses them any more
}

// ---- InlineExecutor ---------------------------------------------------------------------------

InlineExecutor::~InlineExecutor() { Shutdown(/*wait=*/false); }

Status InlineExecutor::DoStart() { return NewCompletionProducer(&producer_); }

Status InlineExecutor::DoSubmit(const RunRequest& request, bool /*defer_wake*/) noexcept {
  RunAndComplete(producer_, request);
  return OkStatus();
}

void InlineExecutor::DoShutdown(bool /*wait*/) noexcept { producer_ = CompletionQueue::Producer(); }

}  // namespace aps
