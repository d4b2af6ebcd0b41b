// aps/platform/fake/sim_clock.cc — SimClock: simulated time for tests.
//
// Design
// ======
// One mutex (mu_) guards all simulated state: monotonic time, wall time, the epoch, and every
// SimWaiter's fields. Each SimWaiter has its own condition variable, so a waker notifies exactly
// the waiters it releases and no other thread wakes up to re-check.
//
// Parking is owned by the waker. A waiter that must block links itself into the clock's list of
// parked waiters and waits until parked_ is false. Advance()/AdvanceTo() unlink every waiter whose
// deadline has been reached, and Wake() unlinks its waiter, before they return and while holding
// mu_. So SleepingWaiters() drops the moment a waiter is released, not when its thread gets to
// run, and "Advance(); WaitForSleepers(1);" reliably waits for the released thread to do its work
// and park again. Condition-variable spurious wake-ups are absorbed by the parked_ loop, so
// WaitUntil() never returns spuriously.
//
// A deadline is reached when Now() >= deadline (the same "has reached" as the real clock).
// Deadline::Infinite() is never reached. Wall time moves with monotonic time in Advance(), alone in
// StepWall() and Suspend() (which bump the epoch); nothing else changes time.
#include "platform/fake/sim_clock.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>

namespace aps::platform {
namespace {

// The latest finite time; Advance() by a delay that would reach Infinite() stops here.
constexpr Deadline kLatest{INT64_MAX - 1};

}  // namespace

class SimClock::SimWaiter final : public Waiter {
 public:
  explicit SimWaiter(SimClock* clock) noexcept : clock_(clock) {}

  ~SimWaiter() override {
    std::lock_guard<std::mutex> lock(clock_->mu_);
    --clock_->live_waiters_;
  }

  void WaitUntil(Deadline deadline) noexcept override {
    std::unique_lock<std::mutex> lock(clock_->mu_);
    if (!wake_pending_ && clock_->now_ns_ < deadline.ns) {
      deadline_ = deadline;
      clock_->ParkLocked(this);
      while (parked_) wakeup_.wait(lock);
    }
    wake_pending_ = false;  // Consumed by this return: the caller re-checks its condition.
  }

  void Wake() noexcept override {
    std::lock_guard<std::mutex> lock(clock_->mu_);
    wake_pending_ = true;
    if (parked_) {
      clock_->UnparkLocked(this);
      wakeup_.notify_one();
    }
  }

  SimClock* const clock_;
  // Notified (under mu_) when this waiter is unparked.
  std::condition_variable wakeup_;

  // All below: guarded by clock_->mu_.
  bool wake_pending_ = false;
  // True iff this waiter is in clock_->sleepers_; only the owner sets it, only a waker clears it.
  bool parked_ = false;
  Deadline deadline_;  // Meaningful while parked_.
  SimWaiter* prev_ = nullptr;
  SimWaiter* next_ = nullptr;
};

SimClock::SimClock(Deadline start, std::int64_t wall_start_us) noexcept
    : now_ns_(start.ns), wall_us_(wall_start_us) {}

SimClock::~SimClock() {
  std::lock_guard<std::mutex> lock(mu_);
  // A live waiter would keep a dangling pointer to this clock.
  if (live_waiters_ != 0) std::abort();
}

Deadline SimClock::Now() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return Deadline{now_ns_};
}

std::int64_t SimClock::WallMicros() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return wall_us_;
}

std::uint32_t SimClock::WallEpoch() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

std::unique_ptr<Waiter> SimClock::NewWaiter() {
  SimWaiter* w = new (std::nothrow) SimWaiter(this);
  if (w != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    ++live_waiters_;
  }
  return std::unique_ptr<Waiter>(w);
}

void SimClock::Advance(Delay delay) noexcept {
  if (delay.ns <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  Deadline target = Deadline{now_ns_} + delay;  // Saturates to Infinite() instead of overflowing.
  if (target.is_infinite()) target = kLatest;
  if (target.ns > now_ns_) AdvanceLocked(target.ns - now_ns_);
}

void SimClock::AdvanceTo(Deadline when) noexcept {
  if (when.is_infinite()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (when.ns <= now_ns_) return;
  AdvanceLocked(when.ns - now_ns_);
}

void SimClock::StepWall(std::int64_t delta_us) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  wall_us_ += delta_us;
  ++epoch_;
}

void SimClock::Suspend(Delay duration) noexcept {
  if (duration.ns <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  MoveWallLocked(duration.ns);
  ++epoch_;
}

int SimClock::SleepingWaiters() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeping_;
}

void SimClock::WaitForSleepers(int n) noexcept {
  std::unique_lock<std::mutex> lock(mu_);
  sleepers_changed_.wait(lock, [&] { return sleeping_ >= n; });
}

Deadline SimClock::NextDeadline() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  Deadline next = Deadline::Infinite();
  for (const SimWaiter* w = sleepers_; w != nullptr; w = w->next_) {
    if (w->deadline_ < next) next = w->deadline_;
  }
  return next;
}

void SimClock::AdvanceLocked(std::int64_t delta_ns) noexcept {
  // Callers pass 0 < delta_ns <= INT64_MAX - now_ns_.
  now_ns_ += delta_ns;
  MoveWallLocked(delta_ns);
  SimWaiter* w = sleepers_;
  while (w != nullptr) {
    SimWaiter* const next = w->next_;  // UnparkLocked() clears w->next_.
    if (w->deadline_.ns <= now_ns_) {
      UnparkLocked(w);
      w->wakeup_.notify_one();
    }
    w = next;
  }
}

void SimClock::MoveWallLocked(std::int64_t delta_ns) noexcept {
  // Split first so that sub-µs remainders add up without overflowing for any delta_ns.
  wall_us_ += delta_ns / 1000;
  wall_sub_us_ns_ += delta_ns % 1000;
  if (wall_sub_us_ns_ >= 1000) {
    wall_sub_us_ns_ -= 1000;
    ++wall_us_;
  }
}

void SimClock::ParkLocked(SimWaiter* w) noexcept {
  w->parked_ = true;
  w->prev_ = nullptr;
  w->next_ = sleepers_;
  if (sleepers_ != nullptr) sleepers_->prev_ = w;
  sleepers_ = w;
  ++sleeping_;
  sleepers_changed_.notify_all();
}

void SimClock::UnparkLocked(SimWaiter* w) noexcept {
  if (w->prev_ != nullptr) {
    w->prev_->next_ = w->next_;
  } else {
    sleepers_ = w->next_;
  }
  if (w->next_ != nullptr) w->next_->prev_ = w->prev_;
  w->prev_ = nullptr;
  w->next_ = nullptr;
  w->parked_ = false;
  --sleeping_;
}

}  // namespace aps::platform
