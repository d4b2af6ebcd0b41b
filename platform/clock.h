// aps/platform/clock.h — the platform seam for time and waiting.
//
// The engine never reads an OS clock and never includes an OS header: it talks to a Clock
// (monotonic time, the UTC wall clock, and a counter that moves when the wall clock is stepped)
// and to a Waiter (sleep until a monotonic deadline, woken early from any thread or ISR).
// Each target provides one implementation file: platform/linux/ (clock_gettime + futex),
// platform/fake/ (SimClock: time moves only when a test advances it), and later bare-metal
// SysTick and RTOS ports (see ../shared/firmware-target.md §14).
//
//   aps::platform::Clock& clock = aps::platform::SystemClock();
//   aps::platform::Deadline d = clock.Now() + aps::platform::Delay::Millis(5);
//   std::unique_ptr<aps::platform::Waiter> w = clock.NewWaiter();
//   w->WaitUntil(d);                  // returns at d, after Wake(), or spuriously
//
// Time inside the core is 64-bit nanoseconds; Deadline (absolute, monotonic) and Delay
// (relative) are distinct types so they cannot be mixed up.
#ifndef APS_PLATFORM_CLOCK_H_
#define APS_PLATFORM_CLOCK_H_

#include <compare>
#include <cstdint>
#include <memory>

namespace aps::platform {

// A relative span of monotonic time in nanoseconds.
struct Delay {
  std::int64_t ns = 0;
  static constexpr Delay Nanos(std::int64_t v) { return Delay{v}; }
  static constexpr Delay Micros(std::int64_t v) { return Delay{v * 1000}; }
  static constexpr Delay Millis(std::int64_t v) { return Delay{v * 1000000}; }
  static constexpr Delay Seconds(std::int64_t v) { return Delay{v * 1000000000}; }
  constexpr auto operator<=>(const Delay&) const = default;
};

// An absolute point on the monotonic clock (nanoseconds since an arbitrary, per-boot origin).
struct Deadline {
  std::int64_t ns = 0;
  // Later than any real deadline: "wait until woken".
  static constexpr Deadline Infinite() { return Deadline{INT64_MAX}; }
  constexpr bool is_infinite() const { return ns == INT64_MAX; }
  constexpr auto operator<=>(const Deadline&) const = default;
  friend constexpr Deadline operator+(Deadline d, Delay x) {
    return d.is_infinite() || x.ns > INT64_MAX - d.ns ? Infinite() : Deadline{d.ns + x.ns};
  }
  friend constexpr Delay operator-(Deadline a, Deadline b) { return Delay{a.ns - b.ns}; }
};

// A sleeping context's wake-up primitive. One Waiter per sleeping thread; Wake() may be called
// from any thread (and, on firmware, from an ISR).
class Waiter {
 public:
  virtual ~Waiter() = default;

  // WaitUntil()
  //
  // Returns once the clock has reached `deadline`, after Wake(), or spuriously; callers re-check
  // their condition. A Wake() that happened since the previous WaitUntil() returned makes the
  // next WaitUntil() return at once (wake-ups are sticky and coalesce). Never allocates; blocks;
  // only the thread that owns this Waiter.
  virtual void WaitUntil(Deadline deadline) noexcept = 0;

  // Wake() — wakes the owner (or makes its next WaitUntil() return at once). Never allocates,
  // never blocks; any thread (async-signal-safe on Linux). The Waiter must outlive every
  // concurrent Wake() call.
  virtual void Wake() noexcept = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;

  // Now() — monotonic time; never goes back. Never allocates, never blocks; any thread.
  virtual Deadline Now() const noexcept = 0;

  // WallMicros() — UTC wall-clock time, microseconds since the Unix epoch. May jump (NTP step,
  // settimeofday, resume from suspend). Never allocates, never blocks; any thread.
  virtual std::int64_t WallMicros() const noexcept = 0;

  // To read a consistent (epoch, monotonic, wall) triple: read WallEpoch(), then Now() and
  // WallMicros(), then WallEpoch() again, and retry if the two epochs differ.
  //
  // WallEpoch() — a counter that changes whenever the wall clock was stepped relative to the
  // monotonic clock (by more than the platform's tolerance, see the implementation) since the
  // last call by anyone. A scheduler compares it with the value it saw last and re-maps
  // wall-clock deadlines when it differs. 32-bit and wrap-safe (compare for inequality only).
  // Never allocates, never blocks; any thread.
  virtual std::uint32_t WallEpoch() const noexcept = 0;

  // NewWaiter() — a Waiter driven by this clock, or nullptr when memory ran out. Allocates; any
  // thread (call at init).
  virtual std::unique_ptr<Waiter> NewWaiter() = 0;
};

// SystemClock() — the process-wide real clock of this platform (Linux: CLOCK_MONOTONIC,
// CLOCK_REALTIME, futex waiters with 1 ns timer slack). Never allocates after first use; any
// thread.
Clock& SystemClock() noexcept;

}  // namespace aps::platform

#endif  // APS_PLATFORM_CLOCK_H_
