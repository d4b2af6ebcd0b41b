// aps/platform/linux/clock_linux.cc — SystemClock() for Linux.
//
// Design
// ======
//
// Now()         CLOCK_MONOTONIC in ns (vDSO, no syscall). Does not advance while the machine is
//               suspended; never steps.
// WallMicros()  CLOCK_REALTIME in µs, floored. Steps on settimeofday/clock_settime, NTP/PTP steps,
//               leap seconds, and resume from suspend.
// WallEpoch()   A 32-bit counter bumped when the wall clock moved relative to the monotonic clock.
// NewWaiter()   A futex Waiter (below).
//
// Wall-step detection
// -------------------
// On Linux, CLOCK_REALTIME = CLOCK_MONOTONIC + offs_real and CLOCK_BOOTTIME = CLOCK_MONOTONIC +
// offs_boot. Both clocks read the same timekeeper, so NTP frequency and phase slewing (adjtime(3),
// adjtimex ADJ_OFFSET/ADJ_FREQUENCY) change both at the same rate and leave the offsets alone. The
// kernel writes offs_real only in tk_set_wall_to_mono() (clock_settime, ADJ_SETOFFSET, leap second,
// sleep-time injection on resume) and offs_boot only when it injects sleep time on resume. So each
// offset is piecewise constant and every change is a discontinuity the scheduler cares about:
//
//   wall_minus_mono = REALTIME - MONOTONIC    changes on a wall step or a resume (if the RTC told
//                                             the kernel how long it slept)
//   boot_minus_mono = BOOTTIME - MONOTONIC    grows by the time spent suspended; nothing else
//
// Each WallEpoch() call samples both offsets and compares them with a baseline per offset. The
// baseline is the sample taken when the epoch last changed (the first call sets it), not the
// previous call's sample: the promise is "within one epoch, wall - mono stays within
// kStepToleranceNs of what it was when the epoch began", so many small steps cannot add up
// unseen, and a caller that looks once a day is as safe as one that looks every millisecond. When
// a sample differs from its baseline by more than the tolerance, the caller bumps the epoch and
// publishes its sample as the new baseline.
//
// No drift allowance (the usual "500 ppm x elapsed" for slewing) is added: as shown above, slewing
// does not move these offsets on Linux, and an allowance would only let steps of up to 1.8 s per
// hour between calls go unseen.
//
// Tolerance: kStepToleranceNs = 1 ms. Below that, re-mapping wall-clock triggers is pointless
// (the engine's tick is coarser), and it is 10x the worst sampling error we accept.
//
// Sampling error: the three clocks are read one after another, not atomically. A sample reads
// MONOTONIC, REALTIME, BOOTTIME, MONOTONIC and uses the midpoint of the two monotonic reads, so
// its error is at most half the spread between them. A sample whose spread exceeds
// kMaxSampleSpreadNs (the thread was preempted between the reads) is retried; after
// kSampleAttempts bad samples the call returns the current epoch without judging, so preemption
// can delay a detection by one call but never produce a false one.
//
// Concurrency: the baselines and the epoch are separate atomics. A thread that detects a change
// bumps the epoch *before* it publishes the new baseline (release), and every reader loads the
// baseline (acquire) before it loads the epoch. So a caller that sees a post-step baseline also
// sees the bump, and a step can never be absorbed into a baseline without a bump. Two threads
// racing around a step may both bump (the counter moves by 2; callers only compare it for
// inequality), and a thread preempted between sampling and publishing may publish a stale
// baseline, which costs one extra bump later. So WallEpoch() may change without a step, rarely;
// it never stays the same across a step larger than the tolerance.
//
// Not promised: a step of less than kStepToleranceNs may go unseen; and the epoch is not tied to
// a particular WallMicros() reading. To map wall time to monotonic time, read WallEpoch(), then
// Now() and WallMicros(), then WallEpoch() again, and retry while the two epochs differ.
//
// Why no timerfd(TFD_TIMER_CANCEL_ON_SET): it reports every clock_was_set() exactly, but the only
// extra it would catch is a step below 1 ms. It costs a read() syscall per WallEpoch() (the
// offset check is 4 vDSO reads, ~100 ns), a file descriptor that daemonizing code may close
// behind our back (we would then read() someone else's fd), and an open file shared with fork()ed
// children, where one process's read() consumes the other's notification.
//
// Waiter
// ------
// One 32-bit futex word per Waiter, three states:
//
//   kIdle         no wake pending, the owner is not sleeping
//   kWakePending  Wake() happened since the owner last returned from WaitUntil()
//   kSleeping     the owner announced it is about to sleep, or is asleep, in FUTEX_WAIT
//
// Only the owner moves the word to kSleeping (from kIdle) or to kIdle (on return). Wake() moves
// any state to kWakePending with one exchange and calls FUTEX_WAKE only if the previous state
// was kSleeping, so waking an awake owner, or waking twice, costs no syscall. The owner sleeps with
// FUTEX_WAIT_BITSET (absolute CLOCK_MONOTONIC deadline, FUTEX_BITSET_MATCH_ANY; no timeout for
// Deadline::Infinite()) while the word is kSleeping. If Wake() lands between the announcement and
// FUTEX_WAIT, the kernel sees the word is no longer kSleeping and returns EAGAIN at once: no lost
// wake-up. Every return from WaitUntil() exchanges the word back to kIdle and so consumes a
// pending wake; the caller re-checks its condition after any return, which is what the wake asked
// for. EINTR and stray FUTEX_WAKEs (a late Wake() from a previous round) put the owner back to
// sleep; unexpected futex errors (e.g. ENOSYS under a seccomp filter) return early, which the
// contract allows as a spurious return. As with any futex, the owner must not destroy a Waiter
// while another thread may still be inside Wake() on it (Wake() touches the word after the owner
// may already have returned).
//
// Timer slack: Linux delays timer expiry by the thread's timer slack (50 µs by default) to batch
// wake-ups. The first WaitUntil() on each thread sets that thread's slack to 1 ns with
// prctl(PR_SET_TIMERSLACK) (0 would mean "reset to the default"); a thread_local flag remembers it.
// This affects every later sleep of that thread, which is what a thread that runs the scheduler
// wants, and threads it creates inherit it. Threads under SCHED_FIFO/RR have no slack anyway. (A
// per-Waiter record of pthread_self() would not do: a new thread may reuse a joined thread's
// pthread_t.)
#include <errno.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "platform/clock.h"

namespace aps::platform {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::int64_t kStepToleranceNs = 1'000'000;
constexpr std::int64_t kMaxSampleSpreadNs = 100'000;
constexpr int kSampleAttempts = 4;

// Reads `id` in nanoseconds. clock_gettime() fails only with EINVAL (unknown clock) or EFAULT,
// neither possible for the clocks used here on Linux >= 2.6.39, so a failure means a broken
// environment and aborts rather than returning a wrong time.
std::int64_t ReadClockNs(clockid_t id) noexcept {
  timespec ts;
  if (clock_gettime(id, &ts) != 0) std::abort();
  return static_cast<std::int64_t>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

// |a - b| without signed overflow (offsets can be anywhere in int64 after a wild clock_settime).
constexpr std::uint64_t AbsDiff(std::int64_t a, std::int64_t b) {
  return a >= b ? static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b)
                : static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a);
}

struct OffsetSample {
  std::int64_t wall_minus_mono_ns;
  std::int64_t boot_minus_mono_ns;
};

// Fills `out` and returns true, or returns false when kSampleAttempts samples in a row were too
// spread out to trust (see "Sampling error" above).
bool SampleOffsets(OffsetSample* out) noexcept {
  for (int attempt = 0; attempt < kSampleAttempts; ++attempt) {
    const std::int64_t mono_before = ReadClockNs(CLOCK_MONOTONIC);
    const std::int64_t wall = ReadClockNs(CLOCK_REALTIME);
    const std::int64_t boot = ReadClockNs(CLOCK_BOOTTIME);
    const std::int64_t mono_after = ReadClockNs(CLOCK_MONOTONIC);
    const std::int64_t spread = mono_after - mono_before;
    if (spread <= kMaxSampleSpreadNs) {
      const std::int64_t mono = mono_before + spread / 2;
      out->wall_minus_mono_ns = wall - mono;
      out->boot_minus_mono_ns = boot - mono;
      return true;
    }
  }
  return false;
}

using FutexWord = std::atomic<std::uint32_t>;
static_assert(FutexWord::is_always_lock_free);
static_assert(sizeof(FutexWord) == sizeof(std::uint32_t) &&
                  alignof(FutexWord) == alignof(std::uint32_t),
              "the kernel reads the futex word as a plain aligned u32");

long Futex(FutexWord* word, int op, std::uint32_t val, const timespec* timeout,
           std::uint32_t val3) noexcept {
  return syscall(SYS_futex, static_cast<void*>(word), op, static_cast<unsigned long>(val), timeout,
                 static_cast<std::uint32_t*>(nullptr), static_cast<unsigned long>(val3));
}

// On a cache line of its own: executors' workers Wake() the scheduler's waiter after every
// completion, so a neighbouring heap object on the same line would be fought over.
class alignas(64) FutexWaiter final : public Waiter {
 public:
  void WaitUntil(Deadline deadline) noexcept override;
  void Wake() noexcept override;

 private:
  static constexpr std::uint32_t kIdle = 0;
  static constexpr std::uint32_t kWakePending = 1;
  static constexpr std::uint32_t kSleeping = 2;

  // The futex word; see "Waiter" in the design comment. Holds kSleeping only while the owner is
  // inside WaitUntil(); only the owner stores kSleeping or kIdle.
  FutexWord state_{kIdle};
};

// True once this thread's timer slack is 1 ns. Constant-initialized (no TLS guard) and
// initial-exec, so reading it never calls __tls_get_addr, which may allocate on a thread's first
// access to a dlopen()ed library's TLS.
[[gnu::tls_model("initial-exec")]] thread_local bool t_timer_slack_set = false;

void SetThreadTimerSlackOnce() noexcept {
  if (t_timer_slack_set) return;
  t_timer_slack_set = true;
  // Best effort: if it fails, wake-ups are up to the default slack (50 µs) late.
  (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

void FutexWaiter::WaitUntil(Deadline deadline) noexcept {
  SetThreadTimerSlackOnce();
  std::uint32_t expected = kIdle;
  // Relaxed: announcing "about to sleep" publishes no data; on failure (kWakePending) we consume
  // the wake with the acquire exchange below.
  if (deadline > SystemClock().Now() &&
      state_.compare_exchange_strong(expected, kSleeping, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
    timespec abs_deadline{};
    const timespec* timeout = nullptr;  // Deadline::Infinite(): sleep until woken.
    if (!deadline.is_infinite()) {
      // deadline > Now() >= 0 here, so both fields are in range.
      abs_deadline.tv_sec = static_cast<time_t>(deadline.ns / kNanosPerSecond);
      abs_deadline.tv_nsec = static_cast<long>(deadline.ns % kNanosPerSecond);
      timeout = &abs_deadline;
    }
    // Relaxed: this load only decides whether to sleep again; the data a waker published is
    // acquired by the exchange below.
    while (state_.load(std::memory_order_relaxed) == kSleeping) {
      const long rc = Futex(&state_, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, kSleeping, timeout,
                            FUTEX_BITSET_MATCH_ANY);
      if (rc == 0 || errno == EINTR || errno == EAGAIN) continue;  // Re-check the word.
      break;  // ETIMEDOUT: the deadline passed. Anything else: return spuriously.
    }
  }
  // Acquire: pairs with the release exchange in Wake(), so whatever the waker wrote before Wake()
  // is visible to the owner once WaitUntil() returns. Also consumes a pending wake.
  state_.exchange(kIdle, std::memory_order_acquire);
}

void FutexWaiter::Wake() noexcept {
  // Release: pairs with the owner's acquire exchange (see WaitUntil()). No acquire needed: the
  // previous value only tells us whether a syscall is needed, and RMW atomicity alone guarantees
  // that an owner who announced kSleeping before this exchange is seen.
  if (state_.exchange(kWakePending, std::memory_order_release) == kSleeping) {
    const int saved_errno = errno;  // Keeps Wake() usable from a signal handler.
    Futex(&state_, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, nullptr, 0);
    errno = saved_errno;
  }
}

class LinuxClock final : public Clock {
 public:
  constexpr LinuxClock() = default;

  Deadline Now() const noexcept override { return Deadline{ReadClockNs(CLOCK_MONOTONIC)}; }

  std::int64_t WallMicros() const noexcept override {
    timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) std::abort();  // See ReadClockNs().
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  }

  std::uint32_t WallEpoch() const noexcept override {
    OffsetSample sample;
    if (SampleOffsets(&sample)) {
      TrackOffset(wall_baseline_ns_, sample.wall_minus_mono_ns);
      TrackOffset(boot_baseline_ns_, sample.boot_minus_mono_ns);
    }
    return epoch_.load();
  }

  std::unique_ptr<Waiter> NewWaiter() override {
    // nullptr when out of memory: the build has no exceptions to report it with.
    return std::unique_ptr<Waiter>(new (std::nothrow) FutexWaiter());
  }

 private:
  // No real offset equals this: REALTIME cannot be set before 1970, BOOTTIME >= MONOTONIC.
  static constexpr std::int64_t kUnset = INT64_MIN;

  // Compares `observed` with `baseline`, bumping epoch_ and publishing `observed` as the new
  // baseline when they differ by more than kStepToleranceNs. Lock-free: a failed CAS means
  // another thread published a baseline, and we judge our sample against that one.
  void TrackOffset(std::atomic<std::int64_t>& baseline, std::int64_t observed) const noexcept {
    // Acquire: if this reads a baseline published after a bump, the bump is visible to our later
    // epoch_.load() (see "Concurrency" in the design comment).
    std::int64_t current = baseline.load(std::memory_order_acquire);
    for (;;) {
      if (current != kUnset && AbsDiff(observed, current) <= kStepToleranceNs) return;
      // The first sample only sets the baseline: there is nothing to compare it with.
      if (current != kUnset) epoch_.fetch_add(1);
      // Release on success: publishes the bump above together with the baseline. Acquire on
      // failure: same reason as the initial load.
      if (baseline.compare_exchange_strong(current, observed, std::memory_order_release,
                                           std::memory_order_acquire)) {
        return;
      }
    }
  }

  // wall - mono (resp. boot - mono) in ns when epoch_ last changed; kUnset before the first call.
  mutable std::atomic<std::int64_t> wall_baseline_ns_{kUnset};
  mutable std::atomic<std::int64_t> boot_baseline_ns_{kUnset};
  // Bumped (wrapping) whenever an offset left its baseline's tolerance band.
  mutable std::atomic<std::uint32_t> epoch_{0};
};

static_assert(std::atomic<std::int64_t>::is_always_lock_free, "Linux targets have 64-bit atomics");

// Holds the process-wide clock without ever destroying it: threads still running during exit()
// may keep using SystemClock(). Constant-initialized, so there is no first-use race and no
// initialization-order problem.
union SystemClockStorage {
  constexpr SystemClockStorage() : clock() {}
  constexpr ~SystemClockStorage() {}
  LinuxClock clock;
};

constinit SystemClockStorage g_system_clock;

}  // namespace

Clock& SystemClock() noexcept { return g_system_clock.clock; }

}  // namespace aps::platform
