// Tests for engine/job_function.h and engine/executor.h: JobFunction storage, binding and
// failure reporting; the CompletionQueue's capacity rules; InlineExecutor; ThreadPoolExecutor's
// exactly-once delivery, fixed worker count, idle sleeping, wake-ups, full queues and both kinds
// of shutdown.
//
// Nothing sleeps. Tests wait for completions on a real Waiter that the executors wake (with a
// generous timeout that only a broken wake-up would reach), for jobs to start on latches, and
// for workers to park on SimClock::WaitForSleepers().
#include "engine/executor.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "engine/job_function.h"
#include "gtest/gtest.h"
#include "platform/clock.h"
#include "platform/fake/sim_clock.h"

// ---- Allocation counting --------------------------------------------------------------------
//
// Replaces the global operator new/delete. Counting is off except inside an AllocationCounter's
// lifetime; it then counts allocations on every thread (workers included). Not inlined, so GCC
// pairs new with delete rather than an inlined malloc with a library delete
// (-Wmismatched-new-delete).

namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<long> g_allocations{0};
std::atomic<long> g_deallocations{0};

void* CountedAlloc(std::size_t n) noexcept {
  if (g_count_allocations.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  return std::malloc(n == 0 ? 1 : n);
}
void CountedFree(void* p) noexcept {
  if (p != nullptr && g_count_allocations.load(std::memory_order_relaxed)) {
    g_deallocations.fetch_add(1, std::memory_order_relaxed);
  }
  std::free(p);
}
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t n) {
  void* p = CountedAlloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
[[gnu::noinline]] void* operator new[](std::size_t n) {
  void* p = CountedAlloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return CountedAlloc(n);
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return CountedAlloc(n);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { CountedFree(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { CountedFree(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { CountedFree(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { CountedFree(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { CountedFree(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept {
  CountedFree(p);
}

namespace aps {
namespace test {
// job_function_noexcept_tu.cc, built with -fno-exceptions -fno-rtti.
JobFunction BindWithoutExceptions(void (*fn)());
RunOutcome InvokeWithoutExceptions(void (*fn)());
}  // namespace test

namespace {

using platform::Deadline;
using platform::Delay;

// Counts operator new/delete calls, on all threads, during its lifetime.
class AllocationCounter {
 public:
  AllocationCounter() {
    g_allocations = 0;
    g_deallocations = 0;
    g_count_allocations = true;
  }
  ~AllocationCounter() { g_count_allocations = false; }
  long allocations() const { return g_allocations.load(); }
  long deallocations() const { return g_deallocations.load(); }
};

// ---- JobFunction ----------------------------------------------------------------------------

// Counts live instances, to check that every stored callable is destroyed exactly once.
struct Tracked {
  static inline std::atomic<int> live{0};
  Tracked() { ++live; }
  Tracked(const Tracked&) { ++live; }
  Tracked(Tracked&&) noexcept { ++live; }
  ~Tracked() { --live; }
};

TEST(JobFunction, IsEmptyByDefault) {
  JobFunction f;
  EXPECT_FALSE(f);
  EXPECT_FALSE(f.on_heap());
}

TEST(JobFunction, SmallCallableIsStoredInlineWithoutAllocating) {
  int calls = 0;
  JobFunction f;
  long allocations = 0;
  {
    AllocationCounter count;
    f = JobFunction::Bind([&calls] { ++calls; });
    (void)f.Invoke();
    JobFunction moved = std::move(f);
    (void)moved.Invoke();
    f = std::move(moved);
    allocations = count.allocations();
  }
  EXPECT_EQ(allocations, 0);
  EXPECT_TRUE(f);
  EXPECT_FALSE(f.on_heap());
  EXPECT_EQ(calls, 2);
}

TEST(JobFunction, CallableOfExactlyInlineBytesStaysInline) {
  struct Exact {
    unsigned char bytes[JobFunction::kInlineBytes];
    void operator()() const {}
  };
  static_assert(sizeof(Exact) == JobFunction::kInlineBytes);
  AllocationCounter count;
  JobFunction f = JobFunction::Bind(Exact{});
  EXPECT_EQ(count.allocations(), 0);
  EXPECT_FALSE(f.on_heap());
}

TEST(JobFunction, LargeCallableAllocatesOnceAtBindAndNeverAgain) {
  struct Large {
    unsigned char bytes[JobFunction::kInlineBytes + 1] = {};
    int* calls;
    void operator()() { ++*calls; }
  };
  int calls = 0;
  long at_bind = 0, after = 0, freed = 0;
  {
    AllocationCounter count;
    JobFunction f = JobFunction::Bind(Large{{}, &calls});
    at_bind = count.allocations();
    JobFunction g = std::move(f);  // moves the pointer
    (void)g.Invoke();
    (void)g.Invoke();
    after = count.allocations();
    g = JobFunction();
    freed = count.deallocations();
  }
  EXPECT_EQ(at_bind, 1);
  EXPECT_EQ(after, 1);
  EXPECT_EQ(freed, 1);
  EXPECT_EQ(calls, 2);
}

TEST(JobFunction, OverAlignedOrThrowingMoveCallablesGoToTheHeap) {
  struct alignas(64) OverAligned {
    void operator()() const {}
  };
  struct ThrowingMove {
    ThrowingMove() = default;
    ThrowingMove(ThrowingMove&&) noexcept(false) {}
    void operator()() const {}
  };
  EXPECT_TRUE(JobFunction::Bind(OverAligned{}).on_heap());
  EXPECT_TRUE(JobFunction::Bind(ThrowingMove{}).on_heap());
}

TEST(JobFunction, BindStoresCopiesOfArguments) {
  std::string seen;
  std::string arg = "first";
  JobFunction f = JobFunction::Bind(
      [&seen](const std::string& s, int n) { seen = s + std::to_string(n); }, arg, 7);
  arg = "changed";
  EXPECT_TRUE(f.Invoke().ok);
  EXPECT_EQ(seen, "first7");
}

TEST(JobFunction, BindMovesRvalueArgumentsAndAcceptsMoveOnlyOnes) {
  int seen = 0;
  auto owned = std::make_unique<int>(41);
  JobFunction f =
      JobFunction::Bind([&seen](std::unique_ptr<int>& p) { seen = ++*p; }, std::move(owned));
  EXPECT_EQ(owned, nullptr);
  (void)f.Invoke();
  (void)f.Invoke();  // the bound argument persists across runs
  EXPECT_EQ(seen, 43);
}

TEST(JobFunction, MoveOnlyCallableIsAccepted) {
  int seen = 0;
  auto p = std::make_unique<int>(5);
  JobFunction f = JobFunction::Bind([q = std::move(p), &seen] { seen = *q; });
  JobFunction g = std::move(f);
  EXPECT_FALSE(f);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  (void)g.Invoke();
  EXPECT_EQ(seen, 5);
}

TEST(JobFunction, BindCallsAMemberFunctionOnTheBoundObject) {
  struct Device {
    int polls = 0;
    void Poll(int by) { polls += by; }
  };
  Device d;
  JobFunction f = JobFunction::Bind(&Device::Poll, &d, 3);
  (void)f.Invoke();
  EXPECT_EQ(d.polls, 3);
}

TEST(JobFunction, FunctionPointerWorks) {
  static int calls;
  calls = 0;
  struct Local {
    static void Job() { ++calls; }
  };
  JobFunction f = JobFunction::Bind(&Local::Job);
  EXPECT_TRUE(f.Invoke().ok);
  EXPECT_EQ(calls, 1);
}

TEST(JobFunction, MutableStateSurvivesBetweenRuns) {
  int last = 0;
  JobFunction f = JobFunction::Bind([n = 0, &last]() mutable { last = ++n; });
  (void)f.Invoke();
  (void)f.Invoke();
  (void)f.Invoke();
  EXPECT_EQ(last, 3);
}

TEST(JobFunction, StoredCallableIsDestroyedExactlyOnceInlineAndOnHeap) {
  struct Big {
    Tracked t;
    unsigned char pad[JobFunction::kInlineBytes + 8] = {};
    void operator()() const {}
  };
  ASSERT_EQ(Tracked::live.load(), 0);
  {
    JobFunction a = JobFunction::Bind([t = Tracked()] { (void)t; });
    JobFunction b = JobFunction::Bind(Big{});
    EXPECT_FALSE(a.on_heap());
    EXPECT_TRUE(b.on_heap());
    EXPECT_EQ(Tracked::live.load(), 2);
    JobFunction c = std::move(a);
    JobFunction d = std::move(b);
    EXPECT_EQ(Tracked::live.load(), 2);
    c = std::move(d);  // destroys c's inline callable, takes d's heap one
    EXPECT_EQ(Tracked::live.load(), 1);
  }
  EXPECT_EQ(Tracked::live.load(), 0);
}

TEST(JobFunction, ResultOfTheCallableIsIgnoredUnlessItIsARunOutcome) {
  JobFunction returns_int = JobFunction::Bind([] { return 42; });
  EXPECT_TRUE(returns_int.Invoke().ok);

  JobFunction fails = JobFunction::Bind([] { return RunOutcome::Failure("sensor offline"); });
  const RunOutcome r = fails.Invoke();
  EXPECT_FALSE(r.ok);
  EXPECT_STREQ(r.error, "sensor offline");
}

TEST(JobFunction, ThrownStdExceptionBecomesAFailedOutcomeWithItsMessage) {
  JobFunction f = JobFunction::Bind([] { throw std::runtime_error("disk full"); });
  const RunOutcome r = f.Invoke();
  EXPECT_FALSE(r.ok);
  EXPECT_STREQ(r.error, "disk full");
}

TEST(JobFunction, ThrownNonStdExceptionBecomesUnknownException) {
  JobFunction f = JobFunction::Bind([] { throw 17; });
  const RunOutcome r = f.Invoke();
  EXPECT_FALSE(r.ok);
  EXPECT_STREQ(r.error, "unknown exception");
}

TEST(JobFunction, LongErrorMessagesAreTruncatedToTheBuffer) {
  const std::string long_text(1000, 'x');
  JobFunction f = JobFunction::Bind([long_text] { throw std::runtime_error(long_text); });
  const RunOutcome r = f.Invoke();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(std::strlen(r.error), RunOutcome::kMaxError);
  EXPECT_EQ(std::string(RunOutcome::Failure(long_text).error), long_text.substr(0, 127));
}

void ThrowsThroughAFunctionPointer() { throw std::runtime_error("thrown via a function pointer"); }
void ReturnsQuietly() {}

TEST(JobFunction, TranslationUnitsWithAndWithoutExceptionsKeepTheirOwnBoundary) {
  // Both translation units instantiate JobFunction for the same stored type, void (*)(). Were the
  // two instantiations merged by the linker, one side would lose (or gain) the catch, and the
  // throw below would end the process through the noexcept invoke function.
  JobFunction there = test::BindWithoutExceptions(&ReturnsQuietly);
  EXPECT_TRUE(there.Invoke().ok);
  EXPECT_TRUE(test::InvokeWithoutExceptions(&ReturnsQuietly).ok);
  JobFunction here = JobFunction::Bind(&ThrowsThroughAFunctionPointer);
  const RunOutcome r = here.Invoke();
  EXPECT_FALSE(r.ok);
  EXPECT_STREQ(r.error, "thrown via a function pointer");
}

// ---- Test doubles and the scheduler side ----------------------------------------------------

// A Waiter that forwards to another and counts Wake() calls (and notifies the count, so a test
// can std::atomic::wait for it). Optionally runs a probe at each Wake(), before forwarding.
class CountingWaiter final : public platform::Waiter {
 public:
  CountingWaiter(std::unique_ptr<platform::Waiter> inner, std::atomic<int>* wakes)
      : inner_(std::move(inner)), wakes_(wakes) {}
  void WaitUntil(Deadline d) noexcept override { inner_->WaitUntil(d); }
  void Wake() noexcept override {
    if (probe_) probe_();
    wakes_->fetch_add(1);
    wakes_->notify_all();
    inner_->Wake();
  }
  std::function<void()> probe_;

 private:
  std::unique_ptr<platform::Waiter> inner_;
  std::atomic<int>* wakes_;
};

// The system clock, except that its waiters (the thread pool's workers') count their wake-ups.
class WakeCountingClock final : public platform::Clock {
 public:
  Deadline Now() const noexcept override { return platform::SystemClock().Now(); }
  std::int64_t WallMicros() const noexcept override { return platform::SystemClock().WallMicros(); }
  std::uint32_t WallEpoch() const noexcept override { return platform::SystemClock().WallEpoch(); }
  std::unique_ptr<platform::Waiter> NewWaiter() override {
    return std::make_unique<CountingWaiter>(platform::SystemClock().NewWaiter(), &wakes);
  }
  std::atomic<int> wakes{0};
};

// A SimClock whose waiters count their wake-ups: parked workers show in SleepingWaiters(), and
// every Wake() of a worker is counted.
class SimWakeCountingClock final : public platform::Clock {
 public:
  Deadline Now() const noexcept override { return sim.Now(); }
  std::int64_t WallMicros() const noexcept override { return sim.WallMicros(); }
  std::uint32_t WallEpoch() const noexcept override { return sim.WallEpoch(); }
  std::unique_ptr<platform::Waiter> NewWaiter() override {
    return std::make_unique<CountingWaiter>(sim.NewWaiter(), &wakes);
  }
  platform::SimClock sim;
  std::atomic<int> wakes{0};
};

// Plays the scheduler thread: owns the completion queue and the Waiter executors wake.
class SchedulerSide {
 public:
  explicit SchedulerSide(CompletionQueue::Options options = {})
      : completions(options), waiter(platform::SystemClock().NewWaiter()) {}

  // Pops what is ready into `done`; returns how many.
  std::size_t Drain() {
    RunCompletion batch[64];
    std::size_t total = 0;
    for (;;) {
      const std::size_t n = completions.TryDequeueBulk(batch, 64);
      if (n == 0) return total;
      done.insert(done.end(), batch, batch + n);
      total += n;
    }
  }

  // Drains until `done` holds `count` completions, sleeping on the waiter in between. False on
  // timeout (a lost wake-up, or a lost completion).
  bool AwaitDone(std::size_t count, Delay timeout = Delay::Seconds(60)) {
    const Deadline give_up = platform::SystemClock().Now() + timeout;
    for (;;) {
      Drain();
      if (done.size() >= count) return true;
      const Deadline now = platform::SystemClock().Now();
      if (now >= give_up) return false;
      // A lost wake-up would show as returns at this deadline.
      const Deadline slice = now + Delay::Seconds(2);
      waiter->WaitUntil(slice);
      if (platform::SystemClock().Now() >= slice) ++timed_out_waits;
    }
  }

  // Submits, draining and waiting while the executor or the completion queue is full.
  Status SubmitRetrying(Executor& ex, const RunRequest& r) {
    for (;;) {
      Status s = ex.Submit(r);
      if (s.code() != StatusCode::kResourceExhausted) return s;
      ++full_retries;
      if (Drain() == 0) waiter->WaitUntil(platform::SystemClock().Now() + Delay::Millis(100));
    }
  }

  CompletionQueue completions;
  std::unique_ptr<platform::Waiter> waiter;
  std::vector<RunCompletion> done;
  int timed_out_waits = 0;
  long full_retries = 0;
};

RunRequest Request(std::uint64_t key, const JobFunction& fn, std::uint32_t run_id = 0) {
  RunRequest r;
  r.job_key = key;
  r.run_id = run_id;
  r.fn = &fn;
  r.scheduled = Instant::FromUnixSeconds(1'700'000'000 + static_cast<std::int64_t>(key));
  return r;
}

// ---- CompletionQueue ------------------------------------------------------------------------

TEST(CompletionQueue, OutOfRangeOptionsMakeItUnusableAndExecutorsRefuseToStartOnIt) {
  platform::SimClock clock;
  for (CompletionQueue::Options bad :
       {CompletionQueue::Options{0, 4}, CompletionQueue::Options{4, 0},
        CompletionQueue::Options{CompletionQueue::kMaxCapacity + 1, 1}}) {
    CompletionQueue q(bad);
    EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument) << q.status().message();
    InlineExecutor ex(clock);
    EXPECT_EQ(ex.Start(q, nullptr).code(), StatusCode::kInvalidArgument);
    RunCompletion c;
    EXPECT_FALSE(q.TryDequeue(&c));
  }
}

TEST(CompletionQueue, ExecutorsNeedAProducerSlotPerPushingThread) {
  platform::SimClock clock;
  CompletionQueue q({.capacity = 8, .max_producers = 3});
  ThreadPoolExecutor too_big(/*threads=*/4, /*queue_capacity=*/8, clock);
  const Status s = too_big.Start(q, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.message();
  EXPECT_EQ(clock.SleepingWaiters(), 0);  // nothing left running

  ThreadPoolExecutor fits(/*threads=*/2, /*queue_capacity=*/8, clock);
  InlineExecutor inline_ex(clock);
  ASSERT_TRUE(fits.Start(q, nullptr).ok());
  ASSERT_TRUE(inline_ex.Start(q, nullptr).ok());
  InlineExecutor one_too_many(clock);
  EXPECT_EQ(one_too_many.Start(q, nullptr).code(), StatusCode::kResourceExhausted);
  fits.Shutdown(true);  // frees its two slots
  EXPECT_TRUE(one_too_many.Start(q, nullptr).ok());
  one_too_many.Shutdown(true);
  inline_ex.Shutdown(true);
}

// ---- InlineExecutor -------------------------------------------------------------------------

TEST(InlineExecutor, RunsTheJobInsideSubmitOnTheCallingThreadAndQueuesItsCompletion) {
  platform::SimClock clock(Deadline{5'000});
  SchedulerSide sched;
  InlineExecutor ex(clock);
  ASSERT_TRUE(ex.Start(sched.completions, sched.waiter.get()).ok());
  EXPECT_STREQ(ex.kind(), "inline");

  std::thread::id ran_on;
  JobFunction fn = JobFunction::Bind([&ran_on] { ran_on = std::this_thread::get_id(); });
  ASSERT_TRUE(ex.Submit(Request(9, fn, 4)).ok());
  EXPECT_EQ(ran_on, std::this_thread::get_id());

  EXPECT_EQ(sched.Drain(), 1u);
  const RunCompletion& c = sched.done.at(0);
  EXPECT_EQ(c.job_key, 9u);
  EXPECT_EQ(c.run_id, 4u);
  EXPECT_TRUE(c.ran);
  EXPECT_TRUE(c.ok);
  EXPECT_STREQ(c.error, "");
  EXPECT_EQ(c.scheduled, Request(9, fn).scheduled);
  EXPECT_EQ(c.started, Deadline{5'000});
  EXPECT_EQ(c.finished, Deadline{5'000});
  ex.Shutdown(true);
}

TEST(InlineExecutor, AJobThatThrowsGivesAFailedCompletionAndTheNextJobStillRuns) {
  platform::SimClock clock;
  SchedulerSide sched;
  InlineExecutor ex(clock);
  ASSERT_TRUE(ex.Start(sched.completions, nullptr).ok());
  JobFunction bad = JobFunction::Bind([] { throw std::logic_error("bad input"); });
  JobFunction good = JobFunction::Bind([] {});
  ASSERT_TRUE(ex.Submit(Request(1, bad)).ok());
  ASSERT_TRUE(ex.Submit(Request(2, good)).ok());
  ASSERT_EQ(sched.Drain(), 2u);
  EXPECT_TRUE(sched.done[0].ran);
  EXPECT_FALSE(sched.done[0].ok);
  EXPECT_STREQ(sched.done[0].error, "bad input");
  EXPECT_TRUE(sched.done[1].ok);
  ex.Shutdown(true);
}

TEST(InlineExecutor, RefusesRequestsWhenNotStartedOrWithoutAFunction) {
  platform::SimClock clock;
  SchedulerSide sched;
  InlineExecutor ex(clock);
  JobFunction fn = JobFunction::Bind([] {});
  EXPECT_EQ(ex.Submit(Request(1, fn)).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(ex.Start(sched.completions, nullptr).ok());
  EXPECT_EQ(ex.Start(sched.completions, nullptr).code(), StatusCode::kFailedPrecondition);
  JobFunction empty;
  EXPECT_EQ(ex.Submit(Request(1, empty)).code(), StatusCode::kInvalidArgument);
  RunRequest no_fn;
  EXPECT_EQ(ex.Submit(no_fn).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sched.completions.outstanding(), 0u);  // refused runs hold no reservation
  ex.Shutdown(true);
  EXPECT_EQ(ex.Submit(Request(1, fn)).code(), StatusCode::kFailedPrecondition);
}

TEST(InlineExecutor, FullCompletionQueueRefusesSubmitUntilTheSchedulerDrainsIt) {
  platform::SimClock clock;
  SchedulerSide sched({.capacity = 2, .max_producers = 1});
  InlineExecutor ex(clock);
  ASSERT_TRUE(ex.Start(sched.completions, nullptr).ok());
  int runs = 0;
  JobFunction fn = JobFunction::Bind([&runs] { ++runs; });
  ASSERT_TRUE(ex.Submit(Request(1, fn)).ok());
  ASSERT_TRUE(ex.Submit(Request(2, fn)).ok());
  const Status full = ex.Submit(Request(3, fn));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full.message();
  EXPECT_EQ(runs, 2);  // the refused run did not run
  EXPECT_EQ(sched.completions.outstanding(), 2u);
  RunCompletion c;
  ASSERT_TRUE(sched.completions.TryDequeue(&c));
  EXPECT_EQ(c.job_key, 1u);
  EXPECT_TRUE(ex.Submit(Request(3, fn)).ok());
  EXPECT_EQ(sched.Drain(), 2u);
  EXPECT_EQ(runs, 3);
  ex.Shutdown(true);
}

TEST(InlineExecutor, WakesTheSchedulerWaiterAfterEachCompletion) {
  platform::SimClock clock;
  SchedulerSide sched;
  std::atomic<int> wakes{0};
  CountingWaiter waiter(clock.NewWaiter(), &wakes);
  InlineExecutor ex(clock);
  ASSERT_TRUE(ex.Start(sched.completions, &waiter).ok());
  JobFunction fn = JobFunction::Bind([] {});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ex.Submit(Request(1, fn)).ok());
  EXPECT_EQ(wakes.load(), 3);
  ex.Shutdown(true);
}

TEST(InlineExecutor, SubmitAndDrainNeverAllocateAfterStart) {
  platform::SimClock clock;
  SchedulerSide sched;
  InlineExecutor ex(clock);
  ASSERT_TRUE(ex.Start(sched.completions, nullptr).ok());
  JobFunction fn = JobFunction::Bind([] {});
  RunCompletion out[8];
  long allocations = 0;
  bool all_ok = true;
  {
    AllocationCounter count;
    for (int round = 0; round < 100; ++round) {
      for (int i = 0; i < 8; ++i) all_ok &= ex.Submit(Request(1, fn)).ok();
      all_ok &= sched.completions.TryDequeueBulk(out, 8) == 8;
    }
    allocations = count.allocations();
  }
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(allocations, 0);
  ex.Shutdown(true);
}

// ---- Executor (the interface for other executors) -------------------------------------------

// An executor written only against Executor's protected interface: it keeps accepted runs until
// the test calls RunAll() (on the test thread); Shutdown(true) runs them, Shutdown(false) drops
// them. Built with RTTI, like an application's executor would be.
class ManualExecutor final : public Executor {
 public:
  static constexpr std::size_t kCapacity = 4;
  explicit ManualExecutor(platform::Clock& clock) : Executor(clock) { pending_.reserve(kCapacity); }
  ~ManualExecutor() override { Shutdown(false); }
  const char* kind() const noexcept override { return "manual"; }

  void RunAll() {
    for (const RunRequest& r : pending_) RunAndComplete(producer_, r);
    pending_.clear();
  }

 private:
  Status DoStart() override { return NewCompletionProducer(&producer_); }
  Status DoSubmit(const RunRequest& r, bool) noexcept override {
    if (pending_.size() == kCapacity) {
      return Status(StatusCode::kResourceExhausted, "manual executor is full");
    }
    pending_.push_back(r);  // never reallocates: reserved
    return OkStatus();
  }
  void DoShutdown(bool wait) noexcept override {
    if (wait) {
      RunAll();
    } else {
      for (const RunRequest& r : pending_) DropAndComplete(producer_, r);
      pending_.clear();
    }
    producer_ = CompletionQueue::Producer();
  }

  std::vector<RunRequest> pending_;
  CompletionQueue::Producer producer_;
};

TEST(Executor, ASubclassUsingTheProtectedInterfaceGetsReservationsCompletionsAndShutdown) {
  platform::SimClock clock;
  SchedulerSide sched;
  ManualExecutor manual(clock);
  Executor& ex = manual;
  EXPECT_NE(dynamic_cast<ManualExecutor*>(&ex), nullptr);  // links: Executor's typeinfo exists
  ASSERT_TRUE(ex.Start(sched.completions, sched.waiter.get()).ok());
  int runs = 0;
  JobFunction fn = JobFunction::Bind([&runs] { ++runs; });
  for (std::size_t i = 0; i < ManualExecutor::kCapacity; ++i) {
    ASSERT_TRUE(ex.Submit(Request(i, fn)).ok());
  }
  EXPECT_EQ(ex.Submit(Request(99, fn)).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(sched.completions.outstanding(), ManualExecutor::kCapacity);  // refusal released
  manual.RunAll();
  EXPECT_EQ(runs, 4);
  EXPECT_EQ(sched.Drain(), 4u);
  ASSERT_TRUE(ex.Submit(Request(5, fn)).ok());
  ASSERT_TRUE(ex.Submit(Request(6, fn)).ok());
  ex.Shutdown(/*wait=*/false);
  EXPECT_EQ(runs, 4);
  ASSERT_EQ(sched.Drain(), 2u);
  EXPECT_FALSE(sched.done[4].ran);
  EXPECT_FALSE(sched.done[5].ran);
  EXPECT_EQ(sched.completions.outstanding(), 0u);
}

// ---- ThreadPoolExecutor ---------------------------------------------------------------------

TEST(ThreadPoolExecutor, RunsEverySubmittedJobExactlyOnceAcrossThreads) {
  const std::size_t kJobs = 100'000;
  SchedulerSide sched({.capacity = 512, .max_producers = 4});
  ThreadPoolExecutor pool(/*threads=*/4, /*queue_capacity=*/256, platform::SystemClock());
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  EXPECT_STREQ(pool.kind(), "threadpool");

  std::vector<std::atomic<int>> runs(kJobs);
  std::vector<JobFunction> fns;
  fns.reserve(kJobs);
  for (std::size_t i = 0; i < kJobs; ++i) {
    fns.push_back(JobFunction::Bind([&runs](std::size_t k) { runs[k].fetch_add(1); }, i));
  }
  for (std::size_t i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(sched.SubmitRetrying(pool, Request(i, fns[i], static_cast<std::uint32_t>(i))).ok());
  }
  ASSERT_TRUE(sched.AwaitDone(kJobs)) << "got " << sched.done.size() << " of " << kJobs;
  pool.Shutdown(/*wait=*/true);
  EXPECT_EQ(sched.Drain(), 0u);  // nothing extra

  std::vector<int> completions_per_job(kJobs, 0);
  for (const RunCompletion& c : sched.done) {
    ASSERT_LT(c.job_key, kJobs);
    EXPECT_EQ(c.run_id, c.job_key);
    EXPECT_TRUE(c.ran && c.ok);
    EXPECT_LE(c.started, c.finished);
    ++completions_per_job[c.job_key];
  }
  for (std::size_t i = 0; i < kJobs; ++i) {
    ASSERT_EQ(runs[i].load(), 1) << "job " << i;
    ASSERT_EQ(completions_per_job[i], 1) << "job " << i;
  }
  EXPECT_EQ(sched.completions.outstanding(), 0u);
  EXPECT_EQ(pool.running(), 0u);
  EXPECT_EQ(pool.queued(), 0u);
  std::printf(
      "[          ] %zu jobs; Submit() found a queue full %ld times; %d wait slices "
      "timed out\n",
      kJobs, sched.full_retries, sched.timed_out_waits);
}

TEST(ThreadPoolExecutor, UsesExactlyItsFixedWorkerThreadsAndNeverGrows) {
  constexpr std::size_t kThreads = 3;
  SchedulerSide sched;
  ThreadPoolExecutor pool(kThreads, /*queue_capacity=*/16, platform::SystemClock());
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());

  std::latch all_started(kThreads);
  std::latch gate(1);
  std::mutex mu;
  std::set<std::thread::id> threads;
  JobFunction blocking = JobFunction::Bind([&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    all_started.count_down();
    gate.wait();
  });
  JobFunction quick = JobFunction::Bind([&] {
    std::lock_guard<std::mutex> lock(mu);
    threads.insert(std::this_thread::get_id());
  });
  for (std::size_t i = 0; i < kThreads; ++i) ASSERT_TRUE(pool.Submit(Request(i, blocking)).ok());
  all_started.wait();
  for (std::size_t i = 0; i < 10; ++i) ASSERT_TRUE(pool.Submit(Request(100 + i, quick)).ok());
  EXPECT_EQ(pool.running(), kThreads);  // every worker is busy: the rest wait, no thread is added
  EXPECT_EQ(pool.queued(), 10u);
  gate.count_down();
  ASSERT_TRUE(sched.AwaitDone(kThreads + 10));
  pool.Shutdown(true);
  EXPECT_EQ(threads.size(), kThreads);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(ThreadPoolExecutor, IdleWorkersSleepAndSubmitWakesExactlyOne) {
  platform::SimClock clock;  // parked workers are visible in SleepingWaiters()
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/4, /*queue_capacity=*/16, clock);
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  clock.WaitForSleepers(4);  // all idle workers are asleep, not spinning

  std::latch started(1);
  std::latch gate(1);
  JobFunction blocking = JobFunction::Bind([&] {
    started.count_down();
    gate.wait();
  });
  ASSERT_TRUE(pool.Submit(Request(1, blocking)).ok());
  EXPECT_EQ(clock.SleepingWaiters(), 3);  // one woken, synchronously, inside Submit()
  started.wait();
  gate.count_down();
  ASSERT_TRUE(sched.AwaitDone(1));
  clock.WaitForSleepers(4);  // and it goes back to sleep
  pool.Shutdown(true);
  EXPECT_EQ(clock.SleepingWaiters(), 0);
}

// A batch (defer_wake): the first run wakes one sleeper at once, the rest of the batch wakes no
// one until Flush(), which wakes one sleeper per run still unclaimed: here every worker, as
// each run blocks its worker.
TEST(ThreadPoolExecutor, DeferredWakesWakeOneForTheBatchThenFlushWakesWhatTheRunsNeed) {
  platform::SimClock clock;  // parked workers are visible in SleepingWaiters()
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/4, /*queue_capacity=*/16, clock);
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  clock.WaitForSleepers(4);

  std::latch all_started(4);
  std::latch gate(1);
  JobFunction blocking = JobFunction::Bind([&] {
    all_started.count_down();
    gate.wait();
  });
  ASSERT_TRUE(pool.Submit(Request(0, blocking), /*defer_wake=*/true).ok());
  EXPECT_EQ(clock.SleepingWaiters(), 3);  // the batch's first run woke one worker
  for (std::uint64_t i = 1; i < 4; ++i) {
    ASSERT_TRUE(pool.Submit(Request(i, blocking), /*defer_wake=*/true).ok());
  }
  // The three deferred runs are not even claimable yet: a worker that is awake finishes its
  // run (blocked here) before it looks again, and the sleepers were not woken.
  EXPECT_EQ(clock.SleepingWaiters(), 3);
  pool.Flush();
  // The four runs can only all start if Flush() woke the three sleepers (each run blocks).
  all_started.wait();
  EXPECT_EQ(pool.running(), 4u);
  gate.count_down();
  ASSERT_TRUE(sched.AwaitDone(4));
  pool.Flush();  // nothing deferred: does nothing
  clock.WaitForSleepers(4);
  pool.Shutdown(true);
}

// A long batch publishes and wakes every 32 runs without waiting for Flush(), and a run left
// unflushed at Shutdown() still runs (wait) or is dropped with a completion (no wait): a
// forgotten Flush() never loses a run.
TEST(ThreadPoolExecutor, LongBatchesStartBeforeFlushAndShutdownKeepsUnflushedRuns) {
  for (const bool wait : {true, false}) {
    SCOPED_TRACE(wait ? "Shutdown(wait=true)" : "Shutdown(wait=false)");
    SchedulerSide sched({.capacity = 4096, .max_producers = 2});
    ThreadPoolExecutor pool(/*threads=*/2, /*queue_capacity=*/4096, platform::SystemClock());
    ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
    std::atomic<int> runs{0};
    JobFunction quick = JobFunction::Bind([&] { runs.fetch_add(1); });
    constexpr int kBatch = 1000;
    for (int i = 0; i < kBatch; ++i) {
      ASSERT_TRUE(pool.Submit(Request(i, quick), /*defer_wake=*/true).ok());
    }
    // Without Flush(): everything up to the last group of 32 gets run.
    ASSERT_TRUE(sched.AwaitDone(kBatch - 31)) << "got " << sched.done.size();
    ASSERT_TRUE(pool.Submit(Request(kBatch, quick), /*defer_wake=*/true).ok());
    pool.Shutdown(wait);
    sched.Drain();
    ASSERT_EQ(sched.done.size(), static_cast<std::size_t>(kBatch + 1));
    if (wait) {
      EXPECT_EQ(runs.load(), kBatch + 1);
    }
    EXPECT_EQ(sched.completions.outstanding(), 0u);
  }
}

TEST(ThreadPoolExecutor, PrimeWakesOneSleepingWorkerToPollAndItSleepsAgainAfterwards) {
  platform::SimClock clock;  // parked workers are visible in SleepingWaiters()
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/3, /*queue_capacity=*/16, clock);
  pool.Prime(100);  // not started: nothing to prime, no crash
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  clock.WaitForSleepers(3);
  pool.Prime(0);  // zero: no-op
  EXPECT_EQ(clock.SleepingWaiters(), 3);
  pool.Prime(50);  // one worker leaves its sleep to poll (bounded: the sim clock stands still)
  EXPECT_EQ(clock.SleepingWaiters(), 2);
  pool.Prime(50);  // at most one polls at a time: no second wake
  EXPECT_GE(clock.SleepingWaiters(), 2);
  clock.WaitForSleepers(3);  // its poll ends and it sleeps again
  // A run submitted afterwards still runs.
  std::atomic<int> ran{0};
  JobFunction fn = JobFunction::Bind([&] { ran.fetch_add(1); });
  pool.Prime(1000);
  ASSERT_TRUE(pool.Submit(Request(1, fn)).ok());
  ASSERT_TRUE(sched.AwaitDone(1));
  EXPECT_EQ(ran.load(), 1);
  clock.WaitForSleepers(3);
  pool.Shutdown(true);
}

// A worker primed to poll takes the next batch's run itself: no sleeper is woken for it (one
// woken as well only competes for a core just as the run starts). Runs beyond what the
// pollers can take still wake sleepers.
TEST(ThreadPoolExecutor, APrimedWorkerTakesTheBatchsRunWithoutWakingAnother) {
  SimWakeCountingClock clock;
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/3, /*queue_capacity=*/16, clock);
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  clock.sim.WaitForSleepers(3);
  EXPECT_EQ(clock.wakes.load(), 0);
  pool.Prime(1'000'000);  // polls until it takes a run (the sim clock stands still)
  EXPECT_EQ(clock.wakes.load(), 1);
  std::atomic<int> ran{0};
  JobFunction fn = JobFunction::Bind([&] { ran.fetch_add(1); });
  ASSERT_TRUE(pool.Submit(Request(1, fn), /*defer_wake=*/true).ok());
  EXPECT_TRUE(pool.Flush());
  ASSERT_TRUE(sched.AwaitDone(1));
  EXPECT_EQ(clock.wakes.load(), 1) << "a sleeper was woken for a run the primed worker took";
  // Three runs, nobody primed: each may wake a sleeper, and all of them run.
  for (std::uint64_t i = 2; i <= 4; ++i) {
    ASSERT_TRUE(pool.Submit(Request(i, fn), /*defer_wake=*/true).ok());
  }
  EXPECT_TRUE(pool.Flush());
  ASSERT_TRUE(sched.AwaitDone(4));
  EXPECT_EQ(ran.load(), 4);
  EXPECT_LE(clock.wakes.load(), 1 + 3);
  pool.Shutdown(true);
}

// Primes, batches and runs that hold a worker, interleaved at random: no run ever waits for a
// wake-up that never comes, or for another run's job to end (each batch's free runs must finish
// while its held run still holds its worker). A stranded run shows as a timeout.
TEST(ThreadPoolExecutor, PrimedPollersNeverStrandARun) {
  SimWakeCountingClock clock;
  SchedulerSide sched({.capacity = 64, .max_producers = 3});
  ThreadPoolExecutor pool(/*threads=*/3, /*queue_capacity=*/64, clock);
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  std::mt19937 rng(7);
  std::atomic<int> ran{0};
  JobFunction quick = JobFunction::Bind([&] { ran.fetch_add(1); });
  std::size_t expected = 0;
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE(round);
    if (rng() % 2 == 0) clock.sim.WaitForSleepers(3);  // then Prime() surely chooses one
    if (rng() % 3 != 0) pool.Prime(1 + rng() % 200);
    const int runs = 1 + static_cast<int>(rng() % 5);
    const bool hold = rng() % 4 == 0;
    std::latch gate(1);
    std::atomic<bool> held_started{false};
    JobFunction held = JobFunction::Bind([&] {
      held_started = true;
      gate.wait();
    });
    for (int i = 0; i < runs; ++i) {
      const JobFunction& fn = hold && i == 0 ? held : quick;
      ASSERT_TRUE(
          pool.Submit(Request(static_cast<std::uint64_t>(i), fn), /*defer_wake=*/true).ok());
    }
    EXPECT_TRUE(pool.Flush());
    const std::size_t free_runs = static_cast<std::size_t>(hold ? runs - 1 : runs);
    const bool done = sched.AwaitDone(expected + free_runs, Delay::Seconds(20));
    gate.count_down();
    ASSERT_TRUE(done) << "a run of round " << round << " was stranded";
    expected += static_cast<std::size_t>(runs);
    ASSERT_TRUE(sched.AwaitDone(expected));
    if (hold) {
      EXPECT_TRUE(held_started.load());
    }
  }
  pool.Shutdown(true);
  EXPECT_EQ(sched.completions.outstanding(), 0u);
}

TEST(ThreadPoolExecutor, IdleSpinRunsAStreamOfJobsAndStillSleepsWhenIdle) {
  platform::SimClock clock;
  SchedulerSide sched({.capacity = 512, .max_producers = 2});
  ThreadPoolExecutor pool({.threads = 2, .queue_capacity = 64, .idle_spin_us = 50}, clock);
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  std::atomic<int> ran{0};
  JobFunction fn = JobFunction::Bind([&] { ran.fetch_add(1); });
  for (std::uint32_t i = 0; i < 300; ++i) {
    ASSERT_TRUE(sched.SubmitRetrying(pool, Request(i, fn, i)).ok());
  }
  ASSERT_TRUE(sched.AwaitDone(300));
  EXPECT_EQ(ran.load(), 300);
  clock.WaitForSleepers(2);  // bounded polling: idle workers end up asleep
  pool.Shutdown(true);
}

TEST(ThreadPoolExecutor, WakesTheSchedulerOnlyAfterTheCompletionIsQueued) {
  constexpr int kJobs = 200;
  SchedulerSide sched({.capacity = kJobs, .max_producers = 2});
  std::atomic<int> wakes{0};
  std::atomic<int> wakes_before_push{0};
  CountingWaiter waiter(platform::SystemClock().NewWaiter(), &wakes);
  // Nobody pops until the end, so at every wake the queue holds at least the waker's completion.
  waiter.probe_ = [&] {
    if (sched.completions.SizeApprox() == 0) wakes_before_push.fetch_add(1);
  };
  ThreadPoolExecutor pool(/*threads=*/2, /*queue_capacity=*/kJobs, platform::SystemClock());
  ASSERT_TRUE(pool.Start(sched.completions, &waiter).ok());
  JobFunction fn = JobFunction::Bind([] {});
  for (int i = 0; i < kJobs; ++i) ASSERT_TRUE(pool.Submit(Request(1, fn)).ok());
  pool.Shutdown(/*wait=*/true);
  EXPECT_EQ(wakes.load(), kJobs);  // one wake per completion
  EXPECT_EQ(wakes_before_push.load(), 0);
  EXPECT_EQ(sched.Drain(), static_cast<std::size_t>(kJobs));
}

TEST(ThreadPoolExecutor, SchedulerSleepingOnItsWaiterIsWokenByACompletion) {
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/2, /*queue_capacity=*/8, platform::SystemClock());
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  JobFunction fn = JobFunction::Bind([] {});
  for (int round = 0; round < 50; ++round) {
    ASSERT_TRUE(pool.Submit(Request(round, fn)).ok());
    ASSERT_TRUE(sched.AwaitDone(static_cast<std::size_t>(round) + 1));
  }
  pool.Shutdown(true);
  EXPECT_EQ(sched.timed_out_waits, 0);  // every sleep ended by a wake, none by the timeout
}

TEST(ThreadPoolExecutor, AJobThatThrowsGivesAFailedCompletionAndTheWorkerCarriesOn) {
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/1, /*queue_capacity=*/8, platform::SystemClock());
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  JobFunction bad = JobFunction::Bind([] { throw std::runtime_error("worker-side boom"); });
  JobFunction good = JobFunction::Bind([] {});
  ASSERT_TRUE(pool.Submit(Request(1, bad)).ok());
  ASSERT_TRUE(pool.Submit(Request(2, good)).ok());
  ASSERT_TRUE(sched.AwaitDone(2));
  pool.Shutdown(true);
  for (const RunCompletion& c : sched.done) {
    EXPECT_TRUE(c.ran);
    if (c.job_key == 1) {
      EXPECT_FALSE(c.ok);
      EXPECT_STREQ(c.error, "worker-side boom");
    } else {
      EXPECT_TRUE(c.ok);
    }
  }
}

TEST(ThreadPoolExecutor, FullQueueIsResourceExhaustedAndLosesNothing) {
  constexpr std::size_t kCapacity = 4;
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/2, kCapacity, platform::SystemClock());
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  std::latch started(2);
  std::latch gate(1);
  std::atomic<int> runs{0};
  JobFunction blocking = JobFunction::Bind([&] {
    started.count_down();
    gate.wait();
    runs.fetch_add(1);
  });
  JobFunction quick = JobFunction::Bind([&] { runs.fetch_add(1); });
  ASSERT_TRUE(pool.Submit(Request(0, blocking)).ok());
  ASSERT_TRUE(pool.Submit(Request(1, blocking)).ok());
  started.wait();  // both workers busy; the queue is empty
  for (std::size_t i = 0; i < kCapacity; ++i) {
    ASSERT_TRUE(pool.Submit(Request(10 + i, quick)).ok()) << i;
  }
  const Status full = pool.Submit(Request(99, quick));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full.message();
  EXPECT_EQ(pool.queued(), kCapacity);
  EXPECT_EQ(sched.completions.outstanding(), 2 + kCapacity);  // the refused run reserved nothing
  gate.count_down();
  ASSERT_TRUE(sched.AwaitDone(2 + kCapacity));
  pool.Shutdown(true);
  EXPECT_EQ(runs.load(), static_cast<int>(2 + kCapacity));
  for (const RunCompletion& c : sched.done) {
    EXPECT_NE(c.job_key, 99u);
    EXPECT_TRUE(c.ok);
  }
}

TEST(ThreadPoolExecutor, FullCompletionQueueRefusesSubmitUntilDrained) {
  SchedulerSide sched({.capacity = 3, .max_producers = 2});
  ThreadPoolExecutor pool(/*threads=*/2, /*queue_capacity=*/16, platform::SystemClock());
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  JobFunction fn = JobFunction::Bind([] {});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.Submit(Request(i, fn)).ok());
  EXPECT_EQ(pool.Submit(Request(3, fn)).code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(sched.AwaitDone(3));
  EXPECT_TRUE(pool.Submit(Request(3, fn)).ok());
  ASSERT_TRUE(sched.AwaitDone(4));
  pool.Shutdown(true);
}

TEST(ThreadPoolExecutor, ShutdownWithWaitRunsEveryQueuedJob) {
  constexpr int kQueued = 50;
  WakeCountingClock clock;
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/1, /*queue_capacity=*/kQueued, clock);
  ASSERT_TRUE(pool.Start(sched.completions, nullptr).ok());
  std::latch started(1);
  std::latch gate(1);
  std::atomic<int> runs{0};
  JobFunction blocking = JobFunction::Bind([&] {
    started.count_down();
    gate.wait();
  });
  JobFunction quick = JobFunction::Bind([&] { runs.fetch_add(1); });
  ASSERT_TRUE(pool.Submit(Request(0, blocking)).ok());
  started.wait();
  for (int i = 0; i < kQueued; ++i) ASSERT_TRUE(pool.Submit(Request(1 + i, quick)).ok());
  // Open the gate only once Shutdown() has begun (it wakes every worker after setting its mode),
  // so the queued jobs are still queued when shutdown starts.
  const int wakes_before = clock.wakes.load();
  std::thread opener([&] {
    clock.wakes.wait(wakes_before);
    gate.count_down();
  });
  pool.Shutdown(/*wait=*/true);
  opener.join();
  EXPECT_EQ(runs.load(), kQueued);
  EXPECT_EQ(sched.Drain(), static_cast<std::size_t>(kQueued + 1));
  for (const RunCompletion& c : sched.done) EXPECT_TRUE(c.ran && c.ok);
  EXPECT_EQ(sched.completions.outstanding(), 0u);
}

TEST(ThreadPoolExecutor, ShutdownWithoutWaitDropsQueuedJobsButWaitsForRunningOnes) {
  constexpr int kQueued = 50;
  WakeCountingClock clock;
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/1, /*queue_capacity=*/kQueued, clock);
  ASSERT_TRUE(pool.Start(sched.completions, nullptr).ok());
  std::latch started(1);
  std::latch gate(1);
  std::atomic<bool> running_job_finished{false};
  std::atomic<int> runs{0};
  JobFunction blocking = JobFunction::Bind([&] {
    started.count_down();
    gate.wait();
    running_job_finished = true;
  });
  JobFunction quick = JobFunction::Bind([&] { runs.fetch_add(1); });
  ASSERT_TRUE(pool.Submit(Request(0, blocking)).ok());
  started.wait();
  for (int i = 0; i < kQueued; ++i) ASSERT_TRUE(pool.Submit(Request(1 + i, quick)).ok());
  const int wakes_before = clock.wakes.load();
  std::thread opener([&] {
    clock.wakes.wait(wakes_before);
    gate.count_down();
  });
  pool.Shutdown(/*wait=*/false);
  opener.join();
  EXPECT_TRUE(running_job_finished.load());  // Shutdown() waited for it
  EXPECT_EQ(runs.load(), 0);                 // none of the queued ones ran
  ASSERT_EQ(sched.Drain(), static_cast<std::size_t>(kQueued + 1));
  int dropped = 0;
  for (const RunCompletion& c : sched.done) {
    if (c.job_key == 0) {
      EXPECT_TRUE(c.ran && c.ok);
    } else {
      EXPECT_FALSE(c.ran);
      EXPECT_FALSE(c.ok);
      EXPECT_STREQ(c.error, "not run: executor shut down");
      ++dropped;
    }
  }
  EXPECT_EQ(dropped, kQueued);
  EXPECT_EQ(sched.completions.outstanding(), 0u);
}

TEST(ThreadPoolExecutor, ShutdownIsIdempotentAndTheExecutorCanBeStartedAgain) {
  platform::SimClock clock;
  SchedulerSide sched;
  ThreadPoolExecutor pool(/*threads=*/2, /*queue_capacity=*/8, clock);
  pool.Shutdown(true);  // not started: nothing to do
  JobFunction fn = JobFunction::Bind([] {});
  for (int cycle = 0; cycle < 3; ++cycle) {
    ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
    ASSERT_TRUE(pool.Submit(Request(cycle, fn)).ok());
    ASSERT_TRUE(sched.AwaitDone(static_cast<std::size_t>(cycle) + 1));
    pool.Shutdown(true);
    pool.Shutdown(false);
    EXPECT_EQ(pool.Submit(Request(cycle, fn)).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(clock.SleepingWaiters(), 0);  // workers joined
  }
}

TEST(ThreadPoolExecutor, RejectsOutOfRangeOptions) {
  platform::SimClock clock;
  SchedulerSide sched;
  ThreadPoolExecutor no_threads(/*threads=*/0, /*queue_capacity=*/8, clock);
  EXPECT_EQ(no_threads.Start(sched.completions, nullptr).code(), StatusCode::kInvalidArgument);
  ThreadPoolExecutor no_queue(/*threads=*/1, /*queue_capacity=*/0, clock);
  EXPECT_EQ(no_queue.Start(sched.completions, nullptr).code(), StatusCode::kInvalidArgument);
  ThreadPoolExecutor too_many({.threads = ThreadPoolExecutor::kMaxThreads + 1}, clock);
  EXPECT_EQ(too_many.Start(sched.completions, nullptr).code(), StatusCode::kInvalidArgument);
  ThreadPoolExecutor spin_too_long(
      {.threads = 1, .queue_capacity = 8, .idle_spin_us = ThreadPoolExecutor::kMaxSpinUs + 1},
      clock);
  const Status st = spin_too_long.Start(sched.completions, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(st.message()).find("idle_spin_us"), std::string::npos) << st.message();
}

TEST(ThreadPoolExecutor, DestructorDropsQueuedJobsAndJoinsWorkers) {
  SchedulerSide sched;
  std::atomic<int> runs{0};
  JobFunction quick = JobFunction::Bind([&] { runs.fetch_add(1); });
  {
    ThreadPoolExecutor pool(/*threads=*/2, /*queue_capacity=*/64, platform::SystemClock());
    ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
    for (int i = 0; i < 64; ++i) ASSERT_TRUE(pool.Submit(Request(i, quick)).ok());
  }
  // Every accepted run has exactly one completion, run or dropped.
  EXPECT_EQ(sched.Drain(), 64u);
  int ran = 0;
  for (const RunCompletion& c : sched.done) ran += c.ran ? 1 : 0;
  EXPECT_EQ(ran, runs.load());
}

TEST(ThreadPoolExecutor, SubmitRunAndCompleteNeverAllocateAfterStart) {
  SchedulerSide sched({.capacity = 64, .max_producers = 2});
  ThreadPoolExecutor pool(/*threads=*/2, /*queue_capacity=*/64, platform::SystemClock());
  ASSERT_TRUE(pool.Start(sched.completions, sched.waiter.get()).ok());
  JobFunction fn = JobFunction::Bind([] {});
  sched.done.reserve(2000);
  long allocations = 0;
  bool all_ok = true;
  {
    AllocationCounter count;
    for (int i = 0; i < 2000; ++i) all_ok &= sched.SubmitRetrying(pool, Request(i, fn)).ok();
    all_ok &= sched.AwaitDone(2000);
    allocations = count.allocations();
  }
  pool.Shutdown(true);
  EXPECT_TRUE(all_ok);
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace aps
