// Tests for platform/clock.h: the Waiter contract on every Clock this host has (a typed suite),
// SimClock's simulation controls, and a few bounded real-time checks of the Linux SystemClock().
//
// Only the LinuxSystemClock tests and the typed suite's SystemClock instance wait in real time, for
// a few milliseconds each and with generous bounds. Everything on SimClock waits only for other
// threads (WaitForSleepers), never for time.
#include "platform/clock.h"

#include <sys/prctl.h>
#include <time.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "platform/fake/sim_clock.h"

namespace aps::platform {

// Readable values in failure messages (found by ADL).
void PrintTo(const Deadline& d, std::ostream* os) { *os << "Deadline{" << d.ns << " ns}"; }
void PrintTo(const Delay& d, std::ostream* os) { *os << "Delay{" << d.ns << " ns}"; }

namespace {

constexpr Deadline At(Delay since_zero) { return Deadline{0} + since_zero; }

// ---- The implementations under test ---------------------------------------------------------
//
// Each gives the typed suite its clock plus the two things real and simulated time do
// differently: knowing that the owner is parked, and letting time reach a deadline.

class LinuxFutexClock {
 public:
  static constexpr const char* kName = "SystemClock() (Linux: CLOCK_MONOTONIC + futex Waiter)";
  static constexpr const char* kTag = "LinuxFutex";
  Clock& clock() { return SystemClock(); }
  // Parking cannot be observed on the real clock. Returning at once makes the tests exercise
  // both orders (Wake() before and during the wait) across their iterations.
  void AwaitParked(int /*n*/) {}
  // Real time reaches deadlines by itself.
  void LetTimeReach(Deadline /*deadline*/) {}
  void ExpectQuiescent() {}
};

class SimulatedClock {
 public:
  static constexpr const char* kName = "SimClock (simulated time)";
  static constexpr const char* kTag = "SimClock";
  Clock& clock() { return sim_; }
  void AwaitParked(int n) { sim_.WaitForSleepers(n); }
  void LetTimeReach(Deadline deadline) { sim_.AdvanceTo(deadline); }
  void ExpectQuiescent() { EXPECT_EQ(sim_.SleepingWaiters(), 0); }

 private:
  SimClock sim_;
};

template <typename Impl>
class WaiterContract : public testing::Test {
 public:
  static void SetUpTestSuite() {
    std::printf("[ CLOCK    ] Waiter contract running on %s\n", Impl::kName);
  }

 protected:
  void TearDown() override { impl_.ExpectQuiescent(); }

  Clock& clock() { return impl_.clock(); }

  std::unique_ptr<Waiter> NewWaiter() {
    std::unique_ptr<Waiter> w = clock().NewWaiter();
    EXPECT_NE(w, nullptr);
    return w;
  }

  // Blocks in w.WaitUntil(Now() + delay) while the implementation lets time reach the deadline,
  // and returns whether the wait lasted until the deadline (false: it returned early).
  bool WaitLastsUntilDeadline(Waiter& w, Delay delay) {
    const Deadline deadline = clock().Now() + delay;
    std::thread timekeeper([&] {
      impl_.AwaitParked(1);
      impl_.LetTimeReach(deadline);
    });
    w.WaitUntil(deadline);
    const Deadline returned_at = clock().Now();
    if (returned_at < deadline) {
      // `w` returned early. Park a stand-in so the time keeper is not left waiting forever.
      clock().NewWaiter()->WaitUntil(deadline);
    }
    timekeeper.join();
    return returned_at >= deadline;
  }

  Impl impl_;
};

struct ImplTag {
  template <typename Impl>
  static std::string GetName(int /*index*/) {
    return Impl::kTag;
  }
};

using ClockImpls = testing::Types<LinuxFutexClock, SimulatedClock>;
TYPED_TEST_SUITE(WaiterContract, ClockImpls, ImplTag);

// Long enough to tell "waited" from "returned at once" on the real clock, short enough for a
// unit test.
constexpr Delay kShortWait = Delay::Millis(2);

TYPED_TEST(WaiterContract, WakeBeforeWaitMakesTheNextWaitReturnAtOnce) {
  std::unique_ptr<Waiter> w = this->NewWaiter();
  w->Wake();
  w->WaitUntil(Deadline::Infinite());  // Hangs if the wake-up was lost.
}

TYPED_TEST(WaiterContract, ManyWakesCoalesceIntoOneEarlyReturn) {
  std::unique_ptr<Waiter> w = this->NewWaiter();
  w->Wake();
  w->Wake();
  w->Wake();
  w->WaitUntil(Deadline::Infinite());
  // That return consumed all three: the next wait lasts until its deadline.
  EXPECT_TRUE(this->WaitLastsUntilDeadline(*w, kShortWait));
}

TYPED_TEST(WaiterContract, WaitWithoutWakeLastsUntilItsDeadline) {
  std::unique_ptr<Waiter> w = this->NewWaiter();
  EXPECT_TRUE(this->WaitLastsUntilDeadline(*w, kShortWait));
  EXPECT_TRUE(this->WaitLastsUntilDeadline(*w, kShortWait));
}

TYPED_TEST(WaiterContract, WakeAfterATimedOutWaitIsNotLost) {
  std::unique_ptr<Waiter> w = this->NewWaiter();
  EXPECT_TRUE(this->WaitLastsUntilDeadline(*w, kShortWait));
  w->Wake();
  w->WaitUntil(Deadline::Infinite());
}

TYPED_TEST(WaiterContract, DeadlineInThePastReturnsAtOnce) {
  std::unique_ptr<Waiter> w = this->NewWaiter();
  const Deadline now = this->clock().Now();
  w->WaitUntil(now);  // Already reached.
  w->WaitUntil(Deadline{now.ns - 1'000'000});
  w->WaitUntil(Deadline{INT64_MIN});
}

TYPED_TEST(WaiterContract, WakeFromAnotherThreadEndsAnInfiniteWait) {
  std::unique_ptr<Waiter> w = this->NewWaiter();
  for (int i = 0; i < 200; ++i) {
    std::thread waker([&] {
      this->impl_.AwaitParked(1);
      w->Wake();
    });
    w->WaitUntil(Deadline::Infinite());
    waker.join();
  }
}

TYPED_TEST(WaiterContract, PingPongBetweenTwoThreadsLosesNoWake) {
  constexpr int kRounds = 2000;
  std::unique_ptr<Waiter> ping = this->NewWaiter();  // Owned by this thread.
  std::unique_ptr<Waiter> pong = this->NewWaiter();  // Owned by `other`.
  std::atomic<int> ball{0};                          // Even: this thread's turn; odd: other's.
  std::thread other([&] {
    for (int i = 0; i < kRounds; ++i) {
      while (ball.load() != 2 * i + 1) pong->WaitUntil(Deadline::Infinite());
      ball.store(2 * i + 2);
      ping->Wake();
    }
  });
  for (int i = 0; i < kRounds; ++i) {
    while (ball.load() != 2 * i) ping->WaitUntil(Deadline::Infinite());
    ball.store(2 * i + 1);
    pong->Wake();
  }
  while (ball.load() != 2 * kRounds) ping->WaitUntil(Deadline::Infinite());
  other.join();
  EXPECT_EQ(ball.load(), 2 * kRounds);
}

// ---- SimClock ----------------------------------------------------------------------------------

TEST(SimClock, TimeMovesOnlyWhenAdvanced) {
  SimClock clock(Deadline{5'000}, 1'000'000);
  EXPECT_EQ(clock.Now(), Deadline{5'000});
  EXPECT_EQ(clock.WallMicros(), 1'000'000);
  EXPECT_EQ(clock.WallEpoch(), 0u);

  std::unique_ptr<Waiter> w = clock.NewWaiter();
  w->WaitUntil(Deadline{5'000});  // Already reached: returns without moving time.
  EXPECT_EQ(clock.Now(), Deadline{5'000});

  clock.Advance(Delay::Nanos(1'500));
  EXPECT_EQ(clock.Now(), Deadline{6'500});
  EXPECT_EQ(clock.WallMicros(), 1'000'001);
  clock.Advance(Delay::Nanos(500));  // Sub-µs remainders add up.
  EXPECT_EQ(clock.WallMicros(), 1'000'002);
  clock.AdvanceTo(Deadline{1'007'000});  // 1 ms later.
  EXPECT_EQ(clock.Now(), Deadline{1'007'000});
  EXPECT_EQ(clock.WallMicros(), 1'001'002);
  EXPECT_EQ(clock.WallEpoch(), 0u);  // Advancing is not a step.
}

TEST(SimClock, AdvanceWakesOnlyWaitersWhoseDeadlinePassed) {
  SimClock clock;
  const std::array<Deadline, 3> deadlines = {At(Delay::Millis(10)), At(Delay::Millis(20)),
                                             At(Delay::Millis(30))};
  std::array<std::unique_ptr<Waiter>, 3> waiters;
  std::array<Deadline, 3> woke_at{};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    waiters[i] = clock.NewWaiter();
    threads.emplace_back([&, i] {
      waiters[i]->WaitUntil(deadlines[i]);
      woke_at[i] = clock.Now();
    });
  }
  clock.WaitForSleepers(3);
  EXPECT_EQ(clock.NextDeadline(), deadlines[0]);

  clock.AdvanceTo(At(Delay::Millis(20)));  // Passes the first deadline, reaches the second.
  EXPECT_EQ(clock.SleepingWaiters(), 1);   // Released before Advance returned.
  EXPECT_EQ(clock.NextDeadline(), deadlines[2]);
  threads[0].join();
  threads[1].join();
  EXPECT_EQ(woke_at[0], At(Delay::Millis(20)));
  EXPECT_EQ(woke_at[1], At(Delay::Millis(20)));

  clock.AdvanceTo(Deadline{deadlines[2].ns - 1});
  EXPECT_EQ(clock.SleepingWaiters(), 1);
  clock.Advance(Delay::Nanos(1));
  EXPECT_EQ(clock.SleepingWaiters(), 0);
  threads[2].join();
  EXPECT_EQ(woke_at[2], deadlines[2]);
  EXPECT_EQ(clock.NextDeadline(), Deadline::Infinite());
}

TEST(SimClock, AdvancingToThePastOrToInfinityChangesNothing) {
  SimClock clock(Deadline{1'000});
  const std::int64_t wall = clock.WallMicros();
  clock.AdvanceTo(Deadline{999});
  clock.AdvanceTo(Deadline{1'000});
  clock.AdvanceTo(Deadline::Infinite());
  clock.Advance(Delay{0});
  clock.Advance(Delay{-5});
  EXPECT_EQ(clock.Now(), Deadline{1'000});
  EXPECT_EQ(clock.WallMicros(), wall);
}

TEST(SimClock, AdvancingByAnEnormousDelayPassesEveryFiniteDeadline) {
  SimClock clock(Deadline{1'000});
  std::unique_ptr<Waiter> w = clock.NewWaiter();
  std::thread owner([&] { w->WaitUntil(Deadline{INT64_MAX - 1}); });
  clock.WaitForSleepers(1);
  clock.Advance(Delay{INT64_MAX});  // Would overflow without saturation.
  EXPECT_EQ(clock.Now(), Deadline{INT64_MAX - 1});
  EXPECT_EQ(clock.SleepingWaiters(), 0);
  owner.join();
}

TEST(SimClock, StepWallBumpsTheEpochAndLeavesNowUnchanged) {
  SimClock clock;
  const Deadline now = clock.Now();
  const std::int64_t wall = clock.WallMicros();
  const std::uint32_t epoch0 = clock.WallEpoch();

  clock.StepWall(3'600'000'000);  // One hour forward.
  EXPECT_EQ(clock.WallMicros(), wall + 3'600'000'000);
  EXPECT_EQ(clock.Now(), now);
  const std::uint32_t epoch1 = clock.WallEpoch();
  EXPECT_NE(epoch1, epoch0);

  clock.StepWall(-7'200'000'000);  // Two hours back.
  EXPECT_EQ(clock.WallMicros(), wall - 3'600'000'000);
  EXPECT_EQ(clock.Now(), now);
  EXPECT_NE(clock.WallEpoch(), epoch1);
}

TEST(SimClock, StepWallWakesNoWaiter) {
  SimClock clock;
  std::unique_ptr<Waiter> w = clock.NewWaiter();
  std::thread owner([&] { w->WaitUntil(At(Delay::Millis(1))); });
  clock.WaitForSleepers(1);
  clock.StepWall(86'400'000'000);  // A day forward on the wall clock only.
  EXPECT_EQ(clock.SleepingWaiters(), 1);
  clock.Advance(Delay::Millis(1));
  owner.join();
}

TEST(SimClock, SuspendMovesOnlyTheWallClockAndBumpsTheEpoch) {
  SimClock clock;
  std::unique_ptr<Waiter> w = clock.NewWaiter();
  std::thread owner([&] { w->WaitUntil(At(Delay::Millis(1))); });
  clock.WaitForSleepers(1);
  const std::int64_t wall = clock.WallMicros();
  const std::uint32_t epoch = clock.WallEpoch();

  clock.Suspend(Delay::Seconds(8 * 3600));
  EXPECT_EQ(clock.Now(), Deadline{0});  // CLOCK_MONOTONIC stands still while suspended.
  EXPECT_EQ(clock.WallMicros(), wall + 8LL * 3600 * 1'000'000);
  EXPECT_NE(clock.WallEpoch(), epoch);
  EXPECT_EQ(clock.SleepingWaiters(), 1);  // Monotonic deadlines did not come closer.

  clock.Advance(Delay::Millis(1));
  owner.join();
}

TEST(SimClock, WaitForSleepersReturnsOnceEnoughWaitersHaveParked) {
  SimClock clock;
  clock.WaitForSleepers(0);  // Nothing to wait for.
  std::unique_ptr<Waiter> a = clock.NewWaiter();
  std::unique_ptr<Waiter> b = clock.NewWaiter();
  std::thread ta([&] { a->WaitUntil(Deadline::Infinite()); });
  std::thread tb([&] { b->WaitUntil(Deadline::Infinite()); });
  clock.WaitForSleepers(2);
  EXPECT_EQ(clock.SleepingWaiters(), 2);
  EXPECT_EQ(clock.NextDeadline(), Deadline::Infinite());

  a->Wake();
  EXPECT_EQ(clock.SleepingWaiters(), 1);  // Unparked by Wake() itself, not when `ta` runs.
  b->Wake();
  EXPECT_EQ(clock.SleepingWaiters(), 0);
  ta.join();
  tb.join();
}

TEST(SimClock, PendingWakeMakesWaitReturnWithoutParking) {
  SimClock clock;
  std::unique_ptr<Waiter> w = clock.NewWaiter();
  w->Wake();
  w->WaitUntil(Deadline::Infinite());
  EXPECT_EQ(clock.SleepingWaiters(), 0);
  EXPECT_EQ(clock.Now(), Deadline{0});
}

TEST(SimClock, RunsAYearOfHourlyWakeUpsWithoutWaitingInRealTime) {
  constexpr int kHours = 365 * 24;
  SimClock clock;
  std::unique_ptr<Waiter> w = clock.NewWaiter();
  int woke_off_time = 0;  // Written by `worker`, read after join().
  std::thread worker([&] {
    for (int hour = 1; hour <= kHours; ++hour) {
      const Deadline due = At(Delay::Seconds(3600LL * hour));
      w->WaitUntil(due);
      if (clock.Now() != due) ++woke_off_time;
    }
  });
  for (int hour = 1; hour <= kHours; ++hour) {
    clock.WaitForSleepers(1);
    clock.AdvanceTo(clock.NextDeadline());
  }
  worker.join();
  EXPECT_EQ(woke_off_time, 0);
  EXPECT_EQ(clock.Now(), At(Delay::Seconds(3600LL * kHours)));
  EXPECT_EQ(clock.WallMicros(), SimClock::kDefaultWallStartUs + 3'600'000'000LL * kHours);
}

TEST(SimClockDeathTest, DestroyingTheClockBeforeItsWaitersAborts) {
  auto* clock = new SimClock();
  std::unique_ptr<Waiter> w = clock->NewWaiter();
  EXPECT_DEATH(delete clock, "");
  w.reset();
  delete clock;
}

// ---- The Linux SystemClock() on real time ------------------------------------------------------

std::int64_t ReadNs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

TEST(LinuxSystemClock, IsOneProcessWideInstance) { EXPECT_EQ(&SystemClock(), &SystemClock()); }

TEST(LinuxSystemClock, NowReadsClockMonotonicAndNeverGoesBack) {
  Clock& clock = SystemClock();
  const std::int64_t before = ReadNs(CLOCK_MONOTONIC);
  Deadline previous = clock.Now();
  const std::int64_t after = ReadNs(CLOCK_MONOTONIC);
  EXPECT_LE(before, previous.ns);
  EXPECT_LE(previous.ns, after);
  for (int i = 0; i < 200'000; ++i) {
    const Deadline next = clock.Now();
    ASSERT_GE(next, previous) << "after " << i << " reads";
    previous = next;
  }
}

TEST(LinuxSystemClock, WallMicrosReadsClockRealtime) {
  const std::int64_t before_us = ReadNs(CLOCK_REALTIME) / 1000;
  const std::int64_t wall_us = SystemClock().WallMicros();
  const std::int64_t after_us = ReadNs(CLOCK_REALTIME) / 1000;
  // Exact unless someone steps the system clock during these three reads.
  EXPECT_LE(before_us, wall_us);
  EXPECT_LE(wall_us, after_us);
}

TEST(LinuxSystemClock, WaitUntilReturnsNoEarlierThanTheDeadlineAndWithinHalfASecond) {
  Clock& clock = SystemClock();
  std::unique_ptr<Waiter> w = clock.NewWaiter();
  const Deadline deadline = clock.Now() + Delay::Millis(2);
  w->WaitUntil(deadline);
  const Deadline returned_at = clock.Now();
  EXPECT_GE(returned_at, deadline);
  EXPECT_LT(returned_at, deadline + Delay::Millis(500));  // Generous: loaded CI machines.
}

TEST(LinuxSystemClock, WallEpochStaysPutWhenNothingStepsTheClock) {
  // Would fail only if the host's clock were really stepped (or the host suspended) meanwhile.
  Clock& clock = SystemClock();
  const std::uint32_t epoch = clock.WallEpoch();
  std::atomic<int> changes{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) {
        if (clock.WallEpoch() != epoch) changes.fetch_add(1);
      }
    });
  }
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(changes.load(), 0);
  EXPECT_EQ(clock.WallEpoch(), epoch);
}

TEST(LinuxSystemClock, FirstWaitOnAThreadSetsItsTimerSlackToOneNanosecond) {
  std::unique_ptr<Waiter> w = SystemClock().NewWaiter();
  // The same Waiter used from two threads in turn: each thread's first wait sets its own slack.
  // New threads inherit their creator's slack, so each thread first restores the kernel default.
  for (int round = 0; round < 2; ++round) {
    int slack_before = -1;
    int slack_after = -1;
    std::thread owner([&] {
      prctl(PR_SET_TIMERSLACK, 50'000UL, 0UL, 0UL, 0UL);
      slack_before = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
      w->WaitUntil(Deadline{0});  // In the past: returns at once, slack set all the same.
      slack_after = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    });
    owner.join();
    EXPECT_EQ(slack_before, 50'000);
    EXPECT_EQ(slack_after, 1);
  }
}

}  // namespace
}  // namespace aps::platform
