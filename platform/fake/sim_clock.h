// aps/platform/fake/sim_clock.h — a simulated Clock: time moves only when you move it.
//
// For tests, and for running a year of schedules in milliseconds. Monotonic time, wall time and the
// wall-clock epoch change only inside Advance(), AdvanceTo(), StepWall() and Suspend(); a Waiter
// parked in WaitUntil() wakes exactly when simulated time reaches its deadline or on Wake(), never
// spuriously. SleepingWaiters() and WaitForSleepers() let a test wait, without sleeping, until the
// thread under test has parked, so every step is deterministic.
//
//   aps::platform::SimClock clock;                       // Now() == Deadline{0}
//   std::unique_ptr<aps::platform::Waiter> w = clock.NewWaiter();
//   std::thread t([&] { w->WaitUntil(clock.Now() + aps::platform::Delay::Seconds(60)); });
//   clock.WaitForSleepers(1);                            // t is parked
//   clock.Advance(aps::platform::Delay::Seconds(60));    // t wakes
//   t.join();
//
// A hosted test tool: it uses std::mutex and std::condition_variable (and builds with
// -fno-exceptions -fno-rtti), so every call, including Now() and Wake(), may block briefly on an
// internal mutex that is never held across a wait. Do not use it where real-time guarantees matter.
#ifndef APS_PLATFORM_FAKE_SIM_CLOCK_H_
#define APS_PLATFORM_FAKE_SIM_CLOCK_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "platform/clock.h"

namespace aps::platform {

class SimClock final : public Clock {
 public:
  // 2023-11-14T22:13:20Z, an arbitrary but fixed default for WallMicros().
  static constexpr std::int64_t kDefaultWallStartUs = 1'700'000'000'000'000;

  // Starts with Now() == `start`, WallMicros() == `wall_start_us` and WallEpoch() == 0.
  // `start` must not be Deadline::Infinite(). Allocates nothing.
  explicit SimClock(Deadline start = Deadline{0},
                    std::int64_t wall_start_us = kDefaultWallStartUs) noexcept;

  // Every Waiter from NewWaiter() must be destroyed first (aborts otherwise).
  ~SimClock() override;

  SimClock(const SimClock&) = delete;
  SimClock& operator=(const SimClock&) = delete;

  // Clock. Now(), WallMicros() and WallEpoch() never allocate and never wait; they take the
  // internal mutex briefly. Any thread.
  Deadline Now() const noexcept override;
  std::int64_t WallMicros() const noexcept override;
  std::uint32_t WallEpoch() const noexcept override;

  // NewWaiter() — a Waiter on simulated time. Its WaitUntil() blocks until Now() >= deadline or a
  // Wake() is pending, and never returns spuriously. Destroy it before the clock. Allocates
  // (returns nullptr when out of memory); any thread.
  std::unique_ptr<Waiter> NewWaiter() override;

  // Advance() — moves monotonic and wall time forward together by `delay`; a delay <= 0 does
  // nothing (time never goes back), and one that would reach Deadline::Infinite() stops just short
  // of it, so every finite deadline passes. Before returning, wakes exactly the parked waiters
  // whose deadline is now <= Now() and removes them from SleepingWaiters(), so a following
  // WaitForSleepers() waits for them to park again. Waiters that wake see only the final time,
  // not each deadline on the way: to stop at every deadline, loop on AdvanceTo(NextDeadline()).
  // Never allocates; does not wait for the woken threads to run; any thread.
  void Advance(Delay delay) noexcept;

  // AdvanceTo() — Advance(when - Now()). Does nothing when `when` <= Now() or `when` is
  // Deadline::Infinite() (which time never reaches). Never allocates; any thread.
  void AdvanceTo(Deadline when) noexcept;

  // StepWall() — the wall clock jumps by `delta_us` (either sign, including 0) while monotonic
  // time stands still, as after settimeofday or an NTP step. Bumps WallEpoch(). Wakes no waiter
  // (their deadlines are monotonic). Never allocates; any thread.
  void StepWall(std::int64_t delta_us) noexcept;

  // Suspend() — models the machine sleeping for `duration` (<= 0 does nothing): as on Linux,
  // CLOCK_MONOTONIC does not advance while suspended, so monotonic time stands still, the wall
  // clock moves forward by `duration`, and WallEpoch() is bumped (wall - mono changed). Wakes no
  // waiter. Never allocates; any thread.
  void Suspend(Delay duration) noexcept;

  // SleepingWaiters() — how many waiters are parked in WaitUntil() right now, i.e. blocked with
  // no pending wake and a deadline not yet reached. Never allocates; any thread.
  int SleepingWaiters() const noexcept;

  // WaitForSleepers() — blocks until SleepingWaiters() >= n (returns at once if it already is).
  // Test helper: blocks in real time, without a timeout, so a thread that never parks hangs the
  // test (and ctest's timeout reports it). Never allocates; any thread except the waiters' owners.
  void WaitForSleepers(int n) noexcept;

  // NextDeadline() — the earliest deadline among parked waiters, or Deadline::Infinite() if none
  // is parked with a finite deadline. Never allocates; any thread.
  Deadline NextDeadline() const noexcept;

 private:
  class SimWaiter;

  // Called with mu_ held.
  void AdvanceLocked(std::int64_t delta_ns) noexcept;
  void MoveWallLocked(std::int64_t delta_ns) noexcept;
  void ParkLocked(SimWaiter* w) noexcept;
  void UnparkLocked(SimWaiter* w) noexcept;

  mutable std::mutex mu_;
  // Notified (under mu_) whenever a waiter parks.
  std::condition_variable sleepers_changed_;

  // All below: guarded by mu_.
  std::int64_t now_ns_;
  // Wall time is wall_us_ + wall_sub_us_ns_ / 1000; wall_sub_us_ns_ is in [0, 999] and keeps
  // sub-microsecond advances from being lost.
  std::int64_t wall_us_;
  std::int64_t wall_sub_us_ns_ = 0;
  std::uint32_t epoch_ = 0;
  // Parked waiters, a doubly-linked list through SimWaiter::prev_/next_. A waiter is in the list
  // iff its parked_ is true; sleeping_ is the list's length.
  SimWaiter* sleepers_ = nullptr;
  int sleeping_ = 0;
  // Waiters created and not yet destroyed.
  int live_waiters_ = 0;
};

}  // namespace aps::platform

#endif  // APS_PLATFORM_FAKE_SIM_CLOCK_H_
