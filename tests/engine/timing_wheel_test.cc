// TimingWheel: exact, never-early expiry; ordering; cancel/re-arm from callbacks; the overflow
// list (year 9999); pool exhaustion; and a typed suite that runs on the default traits and on
// tiny ones (8- and 16-bit ticks, 4- and 8-slot levels) to reach tick-counter wrap-around fast,
// including a randomized lockstep comparison with a std::multimap model.
#include "engine/timing_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/time.h"

namespace aps {
namespace {

using Wheel = TimingWheel<>;
struct Payload32Traits : DefaultWheelTraits {  // the scheduler's shape: 32-bit payloads
  using Payload = std::uint32_t;
};
using Tick = Wheel::Tick;

// 2024-01-01T00:00:00Z in µs: the wheel works on absolute ticks of the scheduler's time line.
constexpr Tick kStart = 1'704'067'200'000'000;
// 9999-12-31T23:59:59Z in µs.
constexpr Tick kYear9999 = 253'402'300'799'000'000;

struct Fired {
  std::uint64_t payload;
  Tick deadline;
  Tick now;  // wheel.Now() inside the callback
  friend bool operator==(const Fired&, const Fired&) = default;
};

// Advances `w` to `t`, appending what fired.
std::size_t AdvanceRecording(Wheel& w, Tick t, std::vector<Fired>& out) {
  return w.AdvanceTo(t, [&](std::uint64_t p, Tick d, WheelHandle) {
    out.push_back({p, d, w.Now()});
  });
}

WheelHandle MustInsert(Wheel& w, Tick deadline, std::uint64_t payload) {
  Result<WheelHandle> h = w.TryInsert(deadline, payload);
  EXPECT_TRUE(h.ok()) << h.status().message();
  return h.ok() ? *h : WheelHandle{};
}

TEST(TimingWheel, NodeIs16BytesEntry16AndHandle8) {
  EXPECT_EQ(Wheel::node_bytes(), 16u);
  EXPECT_EQ(TimingWheel<Payload32Traits>::node_bytes(), 12u);
  EXPECT_EQ(Wheel::entry_bytes(), 16u);
  EXPECT_EQ(sizeof(WheelHandle), 8u);
}

TEST(TimingWheel, NeverFiresBeforeDeadline) {
  Wheel w(4096, kStart);
  std::mt19937_64 rng(1);
  std::multimap<Tick, std::uint64_t> pending;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    // Spread over every level: 1 µs .. ~2^36 µs ahead.
    const Tick delay = static_cast<Tick>(rng() % (Tick{1} << (rng() % 37)));
    MustInsert(w, kStart + delay, i);
    pending.emplace(kStart + delay, i);
  }
  Tick now = kStart;
  std::vector<Fired> fired;
  while (!pending.empty()) {
    now += static_cast<Tick>(rng() % (Tick{1} << (rng() % 34)));
    fired.clear();
    AdvanceRecording(w, now, fired);
    // Exactly the entries due by `now` fired, in deadline order, none early.
    std::size_t k = 0;
    for (auto it = pending.begin(); it != pending.end() && it->first <= now; ++k) {
      ASSERT_LT(k, fired.size());
      EXPECT_EQ(fired[k].deadline, it->first);
      EXPECT_LE(fired[k].deadline, now);
      EXPECT_EQ(fired[k].now, fired[k].deadline);  // the wheel's time is the instant fired
      it = pending.erase(it);
    }
    EXPECT_EQ(k, fired.size());
    EXPECT_EQ(w.size(), pending.size());
  }
  EXPECT_TRUE(w.empty());
}

TEST(TimingWheel, FiresAtItsExactTickNotAtSlotGranularity) {
  Wheel w(16, kStart);
  // 1,000,003 µs ahead: filed at level 3 (262 ms slots), yet fires at its own microsecond.
  const Tick d = kStart + 1'000'003;
  MustInsert(w, d, 7);
  EXPECT_EQ(w.NextDeadline(), d);
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, d - 1, fired), 0u);
  EXPECT_EQ(w.NextDeadline(), d);
  EXPECT_EQ(AdvanceRecording(w, d, fired), 1u);
  EXPECT_EQ(fired, (std::vector<Fired>{{7, d, d}}));
  EXPECT_EQ(w.NextDeadline(), std::nullopt);
}

TEST(TimingWheel, ZeroDelayFiresOnTheNextAdvance) {
  Wheel w(4, kStart);
  MustInsert(w, kStart, 1);
  EXPECT_EQ(w.NextDeadline(), kStart);  // already due
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, kStart, fired), 1u);
  EXPECT_EQ(fired, (std::vector<Fired>{{1, kStart, kStart}}));
}

TEST(TimingWheel, PastDeadlineFiresOnTheNextAdvanceWithItsOwnDeadline) {
  Wheel w(4, kStart);
  MustInsert(w, kStart + 10, 1);
  MustInsert(w, kStart - 500, 2);  // late already: fires first, reports its real deadline
  std::vector<Fired> fired;
  AdvanceRecording(w, kStart + 10, fired);
  EXPECT_EQ(fired, (std::vector<Fired>{{2, kStart - 500, kStart}, {1, kStart + 10, kStart + 10}}));
}

TEST(TimingWheel, MaximumDelayYear9999FiresExactly) {
  Wheel w(4, kStart);
  const Tick last = kMaxInstant.us;  // 9999-12-31T23:59:59.999999Z, the largest instant
  MustInsert(w, last, 1);
  EXPECT_EQ(w.NextDeadline(), last);
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, last - 1, fired), 0u);
  EXPECT_EQ(AdvanceRecording(w, last, fired), 1u);
  EXPECT_EQ(fired, (std::vector<Fired>{{1, last, last}}));
}

TEST(TimingWheel, FarFutureOverflowIsRefiledAsTimeAdvances) {
  Wheel w(64, kStart);
  // Year 9999 and other deadlines beyond the last level (2^42 µs = 50.9 days).
  const std::vector<Tick> far = {kYear9999, kStart + (Tick{1} << 42) + 5, kStart + (Tick{1} << 50),
                                 kYear9999 - 1, kYear9999};
  for (std::size_t i = 0; i < far.size(); ++i) MustInsert(w, far[i], i);
  MustInsert(w, kStart + 3, 99);  // a near one in the levels
  EXPECT_EQ(w.NextDeadline(), kStart + 3);
  std::vector<Fired> fired;
  // Walk toward year 9999 in 2^41 µs steps (each crosses at most one overflow epoch), then
  // check the exact order and instants.
  Tick now = kStart;
  while (now < kYear9999) {
    now = std::min<Tick>(now + (Tick{1} << 41), kYear9999);
    AdvanceRecording(w, now, fired);
    for (const Fired& f : fired) ASSERT_LE(f.deadline, now);
  }
  EXPECT_EQ(fired, (std::vector<Fired>{{99, kStart + 3, kStart + 3},
                                       {1, far[1], far[1]},
                                       {2, far[2], far[2]},
                                       {3, kYear9999 - 1, kYear9999 - 1},
                                       {0, kYear9999, kYear9999},
                                       {4, kYear9999, kYear9999}}));
  EXPECT_TRUE(w.empty());
}

TEST(TimingWheel, OneAdvanceAcrossYearsFiresOverflowInOrder) {
  Wheel w(8, kStart);
  MustInsert(w, kYear9999, 1);
  MustInsert(w, kStart + (Tick{1} << 45), 2);
  const WheelHandle gone = MustInsert(w, kStart + (Tick{1} << 44), 3);
  EXPECT_EQ(w.NextDeadline(), kStart + (Tick{1} << 44));
  EXPECT_TRUE(w.Cancel(gone));  // the overflow minimum: NextDeadline rescans
  EXPECT_EQ(w.NextDeadline(), kStart + (Tick{1} << 45));
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, kYear9999, fired), 2u);
  EXPECT_EQ(fired, (std::vector<Fired>{{2, kStart + (Tick{1} << 45), kStart + (Tick{1} << 45)},
                                       {1, kYear9999, kYear9999}}));
}

TEST(TimingWheel, EqualDeadlinesFireInInsertionOrder) {
  Wheel w(256, kStart);
  const Tick d = kStart + 5'000'000;  // level 3 at first; cascades to level 0
  std::uint64_t next = 0;
  std::vector<std::uint64_t> expected;
  // Insert some, advance (entries move down a level or two), insert more, repeat: later inserts
  // land directly in lower levels yet must fire after the earlier ones.
  for (Tick t : {kStart, kStart + 4'000'000, kStart + 4'990'000, kStart + 4'999'990, d - 1}) {
    std::vector<Fired> none;
    AdvanceRecording(w, t, none);
    EXPECT_TRUE(none.empty());
    for (int i = 0; i < 10; ++i) {
      MustInsert(w, d, next);
      expected.push_back(next++);
    }
  }
  std::vector<Fired> fired;
  AdvanceRecording(w, d, fired);
  std::vector<std::uint64_t> order;
  for (const Fired& f : fired) order.push_back(f.payload);
  EXPECT_EQ(order, expected);
}

TEST(TimingWheel, CancelBeforeFireAfterFireAndStaleHandles) {
  Wheel w(2, kStart);
  const WheelHandle a = MustInsert(w, kStart + 100, 1);
  const WheelHandle b = MustInsert(w, kStart + 200, 2);
  EXPECT_TRUE(w.IsPending(a));
  EXPECT_EQ(w.NextDeadline(), kStart + 100);
  EXPECT_TRUE(w.Cancel(a));
  EXPECT_FALSE(w.IsPending(a));
  EXPECT_FALSE(w.Cancel(a));  // twice: harmless
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.NextDeadline(), kStart + 200);

  // The freed node is reused; the old handle must not reach the new entry.
  const WheelHandle c = MustInsert(w, kStart + 150, 3);
  EXPECT_EQ(c.index, a.index);
  EXPECT_NE(c.generation, a.generation);
  EXPECT_FALSE(w.Cancel(a));
  EXPECT_TRUE(w.IsPending(c));

  std::vector<Fired> fired;
  AdvanceRecording(w, kStart + 1000, fired);
  EXPECT_EQ(fired,
            (std::vector<Fired>{{3, kStart + 150, kStart + 150}, {2, kStart + 200, kStart + 200}}));
  EXPECT_FALSE(w.Cancel(b));  // after firing
  EXPECT_FALSE(w.Cancel(c));
  EXPECT_FALSE(w.Cancel(WheelHandle{}));                           // never issued
  EXPECT_FALSE(w.Cancel(WheelHandle{12345, 1}));                   // out of range
  EXPECT_FALSE(w.Cancel(WheelHandle{c.index, c.generation + 1}));  // a free node's generation
  EXPECT_FALSE(w.Reschedule(b, kStart + 2000));
  EXPECT_FALSE(w.IsPending(b));
  EXPECT_TRUE(w.empty());
}

// A cascade skips liveness checks on a slot whose entries have all been live since it filled
// (the wheel's clean_at_ marks). Entries cancelled or rescheduled after their slot was filled
// by a cascade, before or after other cascades, must still never fire, and accounting must
// stay exact.
TEST(TimingWheel, CancelsAfterACascadeStillStopTheirEntries) {
  Wheel w(64, kStart);
  std::vector<WheelHandle> h;
  // 40 entries 5000..5039 ticks ahead: level 2 from kStart (kStart is 4096-aligned).
  for (std::uint64_t i = 0; i < 40; ++i) h.push_back(MustInsert(w, kStart + 5000 + i, i));
  std::vector<Fired> fired;
  // Reach their level-2 slot (from +4096): its entries cascade into a clean level-1 slot.
  AdvanceRecording(w, kStart + 4100, fired);
  EXPECT_TRUE(fired.empty());
  EXPECT_TRUE(w.Cancel(h[3]));
  EXPECT_TRUE(w.Reschedule(h[7], kStart + 9000));
  // Cascade the level-1 slot (4992..5055) without firing, then cancel inside a level-0 slot.
  AdvanceRecording(w, kStart + 4999, fired);
  EXPECT_TRUE(fired.empty());
  EXPECT_TRUE(w.Cancel(h[10]));
  AdvanceRecording(w, kStart + 6000, fired);
  std::vector<std::uint64_t> payloads;
  for (const Fired& f : fired) payloads.push_back(f.payload);
  std::vector<std::uint64_t> want;
  for (std::uint64_t i = 0; i < 40; ++i) {
    if (i != 3 && i != 7 && i != 10) want.push_back(i);
  }
  EXPECT_EQ(payloads, want);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(w.NextDeadline(), kStart + 9000);
  fired.clear();
  AdvanceRecording(w, kStart + 9000, fired);
  EXPECT_EQ(fired, (std::vector<Fired>{{7, kStart + 9000, kStart + 9000}}));
  EXPECT_TRUE(w.empty());
}

TEST(TimingWheel, RescheduleMovesAnEntryEarlierOrLater) {
  Wheel w(4, kStart);
  const WheelHandle a = MustInsert(w, kStart + 10'000'000, 1);
  const WheelHandle b = MustInsert(w, kStart + 50, 2);
  EXPECT_TRUE(w.Reschedule(a, kStart + 20));
  EXPECT_EQ(w.NextDeadline(), kStart + 20);
  EXPECT_TRUE(w.Reschedule(b, kStart + (Tick{1} << 43)));  // into overflow
  EXPECT_TRUE(w.IsPending(b));
  std::vector<Fired> fired;
  AdvanceRecording(w, kStart + 10'000'000, fired);
  EXPECT_EQ(fired, (std::vector<Fired>{{1, kStart + 20, kStart + 20}}));
  EXPECT_TRUE(w.IsPending(b));
  EXPECT_TRUE(w.Reschedule(b, kStart));  // into the past: due on the next advance
  EXPECT_EQ(w.NextDeadline(), kStart + 10'000'000);
  AdvanceRecording(w, kStart + 10'000'000, fired);
  EXPECT_EQ(fired.back(), (Fired{2, kStart, kStart + 10'000'000}));
  EXPECT_TRUE(w.empty());
}

TEST(TimingWheel, RearmFromInsideTheCallbackFiresLaterInTheSamePass) {
  Wheel w(4, kStart);
  std::vector<Tick> at;
  MustInsert(w, kStart + 10, 0);
  const std::size_t n = w.AdvanceTo(kStart + 100, [&](std::uint64_t p, Tick d, WheelHandle) {
    at.push_back(d);
    ASSERT_TRUE(w.TryInsert(d + 10, p).ok());  // a 10 µs interval job
  });
  EXPECT_EQ(n, 10u);
  EXPECT_EQ(at.front(), kStart + 10);
  EXPECT_EQ(at.back(), kStart + 100);
  EXPECT_EQ(w.NextDeadline(), kStart + 110);
}

TEST(TimingWheel, CancelFromInsideTheCallbackStopsAnEntryDueInTheSamePass) {
  Wheel w(8, kStart);
  WheelHandle victim_same_tick;
  WheelHandle victim_later;
  std::vector<std::uint64_t> order;
  MustInsert(w, kStart + 7, 1);
  victim_same_tick = MustInsert(w, kStart + 7, 2);
  victim_later = MustInsert(w, kStart + 300'000, 3);  // level 3, due in this pass
  MustInsert(w, kStart + 300'001, 4);
  w.AdvanceTo(kStart + 1'000'000, [&](std::uint64_t p, Tick, WheelHandle self) {
    order.push_back(p);
    if (p == 1) {
      EXPECT_FALSE(w.Cancel(self));  // its own handle is already stale
      EXPECT_TRUE(w.Cancel(victim_same_tick));
      EXPECT_TRUE(w.Cancel(victim_later));
    }
  });
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 4}));
  EXPECT_TRUE(w.empty());
}

TEST(TimingWheel, ZeroDelayRearmInsideTheCallbackDoesNotStarveOthers) {
  Wheel w(8, kStart);
  int spins = 0;
  int others = 0;
  MustInsert(w, kStart + 1, 0);  // re-arms itself with zero delay every time it runs
  MustInsert(w, kStart + 2, 1);
  MustInsert(w, kStart + 2, 2);
  auto cb = [&](std::uint64_t p, Tick, WheelHandle) {
    if (p == 0) {
      ++spins;
      ASSERT_TRUE(w.TryInsert(w.Now(), 0).ok());
    } else {
      ++others;
    }
  };
  EXPECT_EQ(w.AdvanceTo(kStart + 2, cb), 3u);  // the spinner ran once, then the others
  EXPECT_EQ(spins, 1);
  EXPECT_EQ(others, 2);
  EXPECT_EQ(w.NextDeadline(), kStart + 2);     // the re-armed one is due
  EXPECT_EQ(w.AdvanceTo(kStart + 2, cb), 1u);  // once per advance, not forever
  EXPECT_EQ(spins, 2);
}

TEST(TimingWheel, InsertDuringThePassAtOrBeforeTheCurrentInstantWaitsForTheNextAdvance) {
  Wheel w(8, kStart);
  std::vector<std::uint64_t> order;
  MustInsert(w, kStart + 50, 1);
  MustInsert(w, kStart + 80, 2);
  auto cb = [&](std::uint64_t p, Tick, WheelHandle) {
    order.push_back(p);
    if (p == 1) {
      ASSERT_TRUE(w.TryInsert(kStart + 10, 10).ok());  // in the past: next advance
      ASSERT_TRUE(w.TryInsert(kStart + 60, 11).ok());  // ahead, within this pass
    }
  };
  w.AdvanceTo(kStart + 100, cb);
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 11, 2}));
  w.AdvanceTo(kStart + 100, cb);
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 11, 2, 10}));
}

TEST(TimingWheel, TryInsertOnAFullPoolReturnsResourceExhaustedAndLosesNothing) {
  Wheel w(4, kStart);
  EXPECT_EQ(w.capacity(), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) MustInsert(w, kStart + 10 + static_cast<Tick>(i), i);
  Result<WheelHandle> full = w.TryInsert(kStart + 1, 99);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(w.size(), 4u);
  EXPECT_EQ(w.capacity(), 4u);
  EXPECT_EQ(w.NextDeadline(), kStart + 10);
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, kStart + 100, fired), 4u);
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_EQ(fired[i].payload, i);
  EXPECT_TRUE(w.TryInsert(kStart + 200, 5).ok());  // nodes came back
}

TEST(TimingWheel, InsertGrowsTheFullPoolAndKeepsHandles) {
  Wheel w(0, kStart);
  EXPECT_EQ(w.capacity(), 0u);
  EXPECT_EQ(w.TryInsert(kStart + 1, 0).status().code(), StatusCode::kResourceExhausted);
  std::vector<WheelHandle> hs;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    Result<WheelHandle> h = w.Insert(kStart + 1000 - static_cast<Tick>(i), i);
    ASSERT_TRUE(h.ok());
    hs.push_back(*h);
  }
  EXPECT_GE(w.capacity(), 1000u);
  for (std::size_t i = 0; i < hs.size(); i += 2) EXPECT_TRUE(w.Cancel(hs[i]));
  ASSERT_TRUE(w.Reserve(5000).ok());
  for (std::size_t i = 1; i < hs.size(); i += 2) EXPECT_TRUE(w.IsPending(hs[i]));
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, kStart + 1000, fired), 500u);
  EXPECT_TRUE(w.Reserve(100).ok());  // never shrinks
  EXPECT_EQ(w.Reserve(Wheel::kMaxCapacity + 1).code(), StatusCode::kResourceExhausted);
  EXPECT_GE(w.capacity(), 1000u);
}

TEST(TimingWheel, ClearDropsEveryEntryKeepsThePoolsAndStalesEveryHandle) {
  Wheel w(64, kStart);
  std::vector<WheelHandle> old;
  old.push_back(MustInsert(w, kStart, 1));            // due
  old.push_back(MustInsert(w, kStart + 5, 2));        // level 0
  old.push_back(MustInsert(w, kStart + 300'000, 3));  // level 3
  old.push_back(MustInsert(w, kYear9999, 4));         // overflow
  old.push_back(MustInsert(w, kStart + 7, 5));
  ASSERT_TRUE(w.Cancel(old.back()));  // a stale entry too
  const std::uint32_t capacity = w.capacity();
  w.Clear(kStart + 1'000);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.capacity(), capacity);
  EXPECT_EQ(w.Now(), kStart + 1'000);
  EXPECT_EQ(w.NextDeadline(), std::nullopt);
  for (const WheelHandle& h : old) {
    EXPECT_FALSE(w.IsPending(h));
    EXPECT_FALSE(w.Cancel(h));
    EXPECT_FALSE(w.Reschedule(h, kStart + 2'000));
  }
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, kYear9999 + 1, fired), 0u);  // nothing that was cleared fires
  // The whole pool is usable again, and the new handles are not the old ones.
  w.Clear(kStart);
  std::vector<WheelHandle> fresh;
  for (std::uint64_t i = 0; i < capacity; ++i) {
    fresh.push_back(MustInsert(w, kStart + 10 + static_cast<Tick>(i), 100 + i));
  }
  EXPECT_EQ(w.TryInsert(kStart + 1, 0).status().code(), StatusCode::kResourceExhausted);
  for (const WheelHandle& h : old) {
    EXPECT_EQ(std::count(fresh.begin(), fresh.end(), h), 0);
    EXPECT_FALSE(w.IsPending(h));
  }
  EXPECT_EQ(w.NextDeadline(), kStart + 10);
  EXPECT_EQ(AdvanceRecording(w, kStart + 10 + capacity, fired), capacity);
  for (std::uint64_t i = 0; i < capacity; ++i) {
    EXPECT_EQ(fired[i], (Fired{100 + i, kStart + 10 + static_cast<Tick>(i),
                               kStart + 10 + static_cast<Tick>(i)}));
  }
}

TEST(TimingWheel, AdvancingBackwardIsTreatedAsNow) {
  Wheel w(4, kStart);
  MustInsert(w, kStart + 5, 1);
  std::vector<Fired> fired;
  AdvanceRecording(w, kStart + 3, fired);
  EXPECT_EQ(AdvanceRecording(w, kStart, fired), 0u);
  EXPECT_EQ(w.Now(), kStart + 3);
  EXPECT_EQ(AdvanceRecording(w, kStart + 5, fired), 1u);
}

TEST(TimingWheel, EmptyStretchesAreSkippedNotWalked) {
  // A year of microseconds with two entries: would take minutes tick by tick.
  Wheel w(4, kStart);
  const Tick year = 366LL * 86400 * 1'000'000;
  MustInsert(w, kStart + year, 1);
  MustInsert(w, kStart + year / 2, 2);
  std::vector<Fired> fired;
  for (int i = 1; i <= 1000; ++i) AdvanceRecording(w, kStart + year / 1000 * i, fired);
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_TRUE(w.empty());
}

// Cancel leaves the entry in its slot (stale) and frees the node at once. When stale
// entries use up their room in the chunk pool, the next insert sweeps them out: a full pool
// of live entries must still fit however many cancels came before.
TEST(TimingWheel, CancelledEntriesNeverCostRoomForLiveOnes) {
  Wheel w(64, kStart);
  for (int i = 0; i < 20000; ++i) {
    // Far ahead and spread over levels 1..6: stale entries pile up in many slots.
    const Tick d = kStart + 100 + static_cast<Tick>(i) * 7919 % (Tick{1} << 40);
    WheelHandle h = MustInsert(w, d, static_cast<std::uint64_t>(i));
    ASSERT_TRUE(w.Cancel(h));
    ASSERT_FALSE(w.Cancel(h));
    ASSERT_EQ(w.size(), 0u);
  }
  EXPECT_EQ(w.NextDeadline(), std::nullopt);
  for (std::uint64_t i = 0; i < 64; ++i) MustInsert(w, kStart + 1000 - static_cast<Tick>(i), i);
  EXPECT_EQ(w.TryInsert(kStart + 1, 99).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(w.NextDeadline(), kStart + 1000 - 63);
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, kStart + (Tick{1} << 41), fired), 64u);
  for (std::size_t i = 0; i < fired.size(); ++i) EXPECT_EQ(fired[i].payload, 63 - i);
  EXPECT_TRUE(w.empty());
}

TEST(TimingWheel, RepeatedReschedulesLeaveOneLiveEntry) {
  Wheel w(1, kStart);
  const WheelHandle h = MustInsert(w, kStart + 10, 7);
  std::mt19937_64 rng(3);
  Tick last = 0;
  for (int i = 0; i < 20000; ++i) {
    last = kStart + 1 + static_cast<Tick>(rng() % (Tick{1} << (rng() % 44)));
    ASSERT_TRUE(w.Reschedule(h, last));
  }
  EXPECT_EQ(w.NextDeadline(), last);
  std::vector<Fired> fired;
  EXPECT_EQ(AdvanceRecording(w, last - 1, fired), 0u);
  EXPECT_EQ(AdvanceRecording(w, last, fired), 1u);
  EXPECT_EQ(fired, (std::vector<Fired>{{7, last, last}}));
  EXPECT_TRUE(w.TryInsert(kStart + (Tick{1} << 45), 8).ok());
}

// NextDeadline() is exact: a slot (or the due list, or overflow) that holds only cancelled
// entries does not count.
TEST(TimingWheel, NextDeadlineSkipsWhatHoldsOnlyCancelledEntries) {
  Wheel w(8, kStart);
  std::vector<Fired> fired;
  AdvanceRecording(w, kStart + 100, fired);  // Now() = kStart + 100
  const WheelHandle due = MustInsert(w, kStart, 1);
  const WheelHandle l0 = MustInsert(w, kStart + 101, 2);
  const WheelHandle l0b = MustInsert(w, kStart + 101, 3);
  const WheelHandle l2 = MustInsert(w, kStart + 5000, 4);
  const WheelHandle over = MustInsert(w, kYear9999, 5);
  EXPECT_EQ(w.NextDeadline(), kStart + 100);
  ASSERT_TRUE(w.Cancel(due));
  EXPECT_EQ(w.NextDeadline(), kStart + 101);
  ASSERT_TRUE(w.Cancel(l0));
  EXPECT_EQ(w.NextDeadline(), kStart + 101);  // l0b shares the slot and is live
  ASSERT_TRUE(w.Cancel(l0b));
  EXPECT_EQ(w.NextDeadline(), kStart + 5000);
  ASSERT_TRUE(w.Cancel(l2));
  EXPECT_EQ(w.NextDeadline(), kYear9999);
  ASSERT_TRUE(w.Cancel(over));
  EXPECT_EQ(w.NextDeadline(), std::nullopt);
  EXPECT_EQ(AdvanceRecording(w, kYear9999 + 1, fired), 0u);
  EXPECT_EQ(w.Now(), kYear9999 + 1);
}

// Callbacks that cancel entries of the list being fired and churn enough inserts and
// cancels to force sweeps while it is being walked.
TEST(TimingWheel, SweepsFromInsideACallbackKeepTheFiringListExact) {
  Wheel w(16, kStart);
  std::vector<WheelHandle> hs;
  for (std::uint64_t i = 0; i < 16; ++i) hs.push_back(MustInsert(w, kStart + 500, i));
  std::vector<std::uint64_t> order;
  w.AdvanceTo(kStart + 500, [&](std::uint64_t p, Tick, WheelHandle) {
    order.push_back(p);
    if (p % 4 == 0 && p + 1 < hs.size()) {
      EXPECT_TRUE(w.Cancel(hs[p + 1]));
    }
    for (int k = 0; k < 200; ++k) {
      Result<WheelHandle> h = w.TryInsert(w.Now() + 1 + k, 100);
      ASSERT_TRUE(h.ok()) << h.status().message();
      ASSERT_TRUE(w.Cancel(*h));
    }
  });
  EXPECT_EQ(order, (std::vector<std::uint64_t>{0, 2, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15}));
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.NextDeadline(), std::nullopt);
}

TEST(TimingWheelDeathTest, AdvanceToFromInsideACallbackIsAProgrammerError) {
  EXPECT_DEATH(
      {
        Wheel w(4, kStart);
        static_cast<void>(w.TryInsert(kStart + 1, 1));
        w.AdvanceTo(kStart + 1, [&](std::uint64_t, Tick, WheelHandle) {
          w.AdvanceTo(kStart + 2, [](std::uint64_t, Tick, WheelHandle) {});
        });
      },
      "check failed");
}

// ---- Typed suite: default traits and tiny ones that wrap within a few hundred ticks. ----

struct Tiny8Traits {  // 4 slots x 3 levels = 64 ticks in the levels; the tick wraps at 256
  using Tick = std::uint8_t;
  static constexpr int kSlotBits = 2;
  static constexpr int kLevels = 3;
  static constexpr int kEntriesPerChunk = 1;  // every append takes a chunk
};
struct TinySigned8Traits {  // a signed tick: wraps from 127 to -128 (done in unsigned math)
  using Tick = std::int8_t;
  static constexpr int kSlotBits = 2;
  static constexpr int kLevels = 3;  // no kEntriesPerChunk: the default, 8
};
struct Tiny16Traits {  // 8 slots x 4 levels = 4096 ticks; wraps at 65536
  using Tick = std::uint16_t;
  static constexpr int kSlotBits = 3;
  static constexpr int kLevels = 4;
  static constexpr int kEntriesPerChunk = 2;
  using Payload = std::uint32_t;  // the model tests' payloads are small ids
};

template <typename Traits>
class TimingWheelTyped : public ::testing::Test {
 protected:
  using WheelT = TimingWheel<Traits>;
  using TickT = typename WheelT::Tick;
  using U = std::make_unsigned_t<TickT>;
  static constexpr bool kWide = sizeof(TickT) == 8;

  // Tests keep an unwrapped int64 time line; the wheel sees it modulo the tick width.
  static TickT ToTick(std::int64_t t) { return static_cast<TickT>(static_cast<U>(t)); }
  // Starts just before the tick counter wraps (the default tick starts at 2024).
  static std::int64_t Start() {
    return kWide ? kStart : static_cast<std::int64_t>(std::numeric_limits<U>::max()) - 5;
  }
  // Largest delay the wheel accepts (capped for the 64-bit tick so the run stays short).
  static std::int64_t MaxDelay() {
    return kWide ? (std::int64_t{1} << 50) : static_cast<std::int64_t>(WheelT::kMaxSpan);
  }
  // Log-uniform in [0, max]: reaches every level, and overflow.
  static std::int64_t LogUniform(std::mt19937_64& rng, std::int64_t max) {
    const int bits = std::bit_width(static_cast<std::uint64_t>(max));
    const std::uint64_t span = std::uint64_t{1} << (rng() % static_cast<std::uint64_t>(bits + 1));
    return std::min<std::int64_t>(max, static_cast<std::int64_t>(rng() % span));
  }

  // A wheel owned by the fixture, which checks at teardown that the test left it empty.
  WheelT& MakeWheel(std::uint32_t capacity, std::int64_t now) {
    wheels_.push_back(std::make_unique<WheelT>(capacity, ToTick(now)));
    return *wheels_.back();
  }
  void TearDown() override {
    for (const auto& w : wheels_) EXPECT_TRUE(w->empty()) << "entries left: " << w->size();
  }

 private:
  std::vector<std::unique_ptr<WheelT>> wheels_;
};

using WheelTraitsTypes =
    ::testing::Types<DefaultWheelTraits, Tiny8Traits, TinySigned8Traits, Tiny16Traits>;
class TraitsNames {
 public:
  template <typename Traits>
  static std::string GetName(int) {
    if (std::is_same_v<Traits, DefaultWheelTraits>) return "Default";
    if (std::is_same_v<Traits, Tiny8Traits>) return "Tiny8";
    if (std::is_same_v<Traits, TinySigned8Traits>) return "TinySigned8";
    return "Tiny16";
  }
};
TYPED_TEST_SUITE(TimingWheelTyped, WheelTraitsTypes, TraitsNames);

// Periodic entries re-armed from their callbacks while time runs through many wraps of the
// tick counter in random steps: each fires at exactly every multiple of its period, never early.
TYPED_TEST(TimingWheelTyped, PeriodicEntriesFireExactlyAcrossTickWrapAround) {
  using W = typename TestFixture::WheelT;
  using T = typename TestFixture::TickT;
  const std::int64_t start = TestFixture::Start();
  W& w = this->MakeWheel(16, start);
  const std::vector<std::int64_t> periods = {1, 3, 4, 7, 16, 50, TestFixture::MaxDelay()};
  std::vector<std::int64_t> next(periods.size());
  std::vector<WheelHandle> handles(periods.size());
  for (std::size_t i = 0; i < periods.size(); ++i) {
    next[i] = start + periods[i];
    handles[i] = *w.TryInsert(TestFixture::ToTick(next[i]), i);
  }
  std::mt19937_64 rng(7);
  std::int64_t now = start;
  // Eight wraps of the tick counter (200,000 µs for the 64-bit tick).
  const std::int64_t end =
      start +
      (TestFixture::kWide
           ? 200'000
           : 8 * (static_cast<std::int64_t>(std::numeric_limits<typename TestFixture::U>::max()) +
                  1));
  std::int64_t fires = 0;
  while (now < end) {
    now += TestFixture::LogUniform(rng, std::min<std::int64_t>(TestFixture::MaxDelay(), 300));
    w.AdvanceTo(TestFixture::ToTick(now), [&](std::uint64_t p, T d, WheelHandle) {
      ASSERT_LT(p, periods.size());
      ASSERT_EQ(d, TestFixture::ToTick(next[p]));
      ASSERT_LE(next[p], now);  // never early (checked on the unwrapped time line)
      ASSERT_EQ(w.Now(), d);
      ++fires;
      next[p] += periods[p];
      handles[p] = *w.TryInsert(TestFixture::ToTick(next[p]), p);
    });
    for (std::size_t i = 0; i < periods.size(); ++i) ASSERT_GT(next[i], now) << "late: " << i;
  }
  EXPECT_GT(fires, (end - start) / 2);
  for (WheelHandle h : handles) EXPECT_TRUE(w.Cancel(h));
}

TYPED_TEST(TimingWheelTyped, MaximumDelayFiresAtItsTickAfterWrapping) {
  using W = typename TestFixture::WheelT;
  using T = typename TestFixture::TickT;
  const std::int64_t start = TestFixture::Start();
  W& w = this->MakeWheel(2, start);
  const std::int64_t d = start + TestFixture::MaxDelay();
  ASSERT_TRUE(w.TryInsert(TestFixture::ToTick(d), 1).ok());
  EXPECT_EQ(w.NextDeadline(), TestFixture::ToTick(d));
  int n = 0;
  auto cb = [&](std::uint64_t, T, WheelHandle) { ++n; };
  w.AdvanceTo(TestFixture::ToTick(d - 1), cb);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(w.NextDeadline(), TestFixture::ToTick(d));
  w.AdvanceTo(TestFixture::ToTick(d), cb);
  EXPECT_EQ(n, 1);
}

TYPED_TEST(TimingWheelTyped, EqualDeadlinesKeepInsertionOrderAcrossLevelsAndWrap) {
  using W = typename TestFixture::WheelT;
  using T = typename TestFixture::TickT;
  const std::int64_t start = TestFixture::Start();
  W& w = this->MakeWheel(64, start);
  const std::int64_t d = start + std::min<std::int64_t>(TestFixture::MaxDelay(), 1000);
  std::vector<std::uint64_t> expected;
  std::uint64_t id = 0;
  for (std::int64_t t = start; t < d; t += (d - start) / 5 + 1) {
    w.AdvanceTo(TestFixture::ToTick(t), [](std::uint64_t, T, WheelHandle) { FAIL(); });
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(w.TryInsert(TestFixture::ToTick(d), id).ok());
      expected.push_back(id++);
    }
  }
  std::vector<std::uint64_t> order;
  w.AdvanceTo(TestFixture::ToTick(d), [&](std::uint64_t p, T, WheelHandle) { order.push_back(p); });
  EXPECT_EQ(order, expected);
}

// The randomized model test: random inserts (past, zero, every level, overflow), cancels
// (including stale handles), reschedules and advances, also from inside callbacks, checked in
// lockstep against a std::multimap keyed by effective deadline = max(deadline, time of insert)
// (equal keys keep insertion order, as the wheel promises). Every fire, every NextDeadline()
// and size() is compared.
TYPED_TEST(TimingWheelTyped, RandomOperationsMatchAMultimapModel) {
  using W = typename TestFixture::WheelT;
  using T = typename TestFixture::TickT;
  using Key = std::int64_t;  // effective deadline on the unwrapped time line
  struct Entry {
    std::int64_t deadline;
    WheelHandle handle;
    bool deferred;             // made due inside the current pass: waits for the next AdvanceTo()
    std::int64_t made_due_at;  // the model's Now() when it was filed as due (if deferred)
    typename std::multimap<Key, std::uint64_t>::iterator it;
  };

  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    const std::int64_t start = TestFixture::Start();
    W& w = this->MakeWheel(seed % 2 == 0 ? 8 : 0, start);  // odd seeds grow by Insert()
    std::multimap<Key, std::uint64_t> model;               // pending, by effective deadline
    std::multimap<std::uint64_t, std::uint64_t> deferred;  // seq -> id, made due in a pass
    std::unordered_map<std::uint64_t, Entry> live;
    std::vector<WheelHandle> stale;
    std::uint64_t next_id = 0;
    std::uint64_t seq = 0;
    std::int64_t now = start;  // the model's Now()
    bool in_pass = false;
    std::size_t fired_total = 0;
    std::size_t exhausted = 0;
    const std::int64_t max_delay = TestFixture::MaxDelay();

    auto random_deadline = [&] {
      if (TestFixture::kWide && rng() % 64 == 0)
        return kYear9999 - static_cast<std::int64_t>(rng() % 1000);
      std::int64_t delta = TestFixture::LogUniform(rng, max_delay);
      if (rng() % 8 == 0) delta = -delta;  // late already
      return now + delta;
    };
    auto file = [&](std::uint64_t id, std::int64_t deadline) {
      Entry& e = live[id];
      e.deadline = deadline;
      e.deferred = in_pass && deadline <= now;
      if (e.deferred) {
        e.made_due_at = now;
        deferred.emplace(seq++, id);
      } else {
        e.it = model.emplace(std::max(deadline, now), id);
      }
    };
    auto unfile = [&](std::uint64_t id) {
      Entry& e = live[id];
      if (e.deferred) {
        for (auto it = deferred.begin(); it != deferred.end(); ++it) {
          if (it->second == id) {
            deferred.erase(it);
            break;
          }
        }
      } else {
        model.erase(e.it);
      }
    };
    auto insert = [&] {
      const std::int64_t d = random_deadline();
      const std::uint64_t id = next_id++;
      Result<WheelHandle> h = seed % 2 == 0 ? w.TryInsert(TestFixture::ToTick(d), id)
                                            : w.Insert(TestFixture::ToTick(d), id);
      if (!h.ok()) {
        ++exhausted;
        ASSERT_EQ(h.status().code(), StatusCode::kResourceExhausted);
        ASSERT_EQ(w.size(), w.capacity());
        return;
      }
      file(id, d);
      live[id].handle = *h;
    };
    auto pick = [&]() -> std::uint64_t {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      return it->first;
    };
    auto cancel = [&] {
      if (!live.empty() && rng() % 4 != 0) {
        const std::uint64_t id = pick();
        ASSERT_TRUE(w.Cancel(live[id].handle));
        stale.push_back(live[id].handle);
        unfile(id);
        live.erase(id);
      } else if (!stale.empty()) {
        ASSERT_FALSE(w.Cancel(stale[rng() % stale.size()]));
      }
    };
    auto reschedule = [&] {
      if (live.empty()) return;
      const std::uint64_t id = pick();
      const std::int64_t d = random_deadline();
      ASSERT_TRUE(w.Reschedule(live[id].handle, TestFixture::ToTick(d)));
      unfile(id);
      file(id, d);
    };
    auto check_next = [&] {
      std::optional<T> expected;
      if (!deferred.empty() || (!model.empty() && model.begin()->first <= now)) {
        expected = TestFixture::ToTick(now);
      } else if (!model.empty()) {
        expected = TestFixture::ToTick(model.begin()->first);
      }
      ASSERT_EQ(w.NextDeadline(), expected);
      ASSERT_EQ(w.size(), live.size());
    };

    for (int op = 0; op < 3000; ++op) {
      const std::uint64_t r = rng() % 100;
      if (r < 45) {
        insert();
      } else if (r < 60) {
        cancel();
      } else if (r < 68) {
        reschedule();
      } else {
        const std::int64_t target = now + TestFixture::LogUniform(rng, max_delay);
        int budget = 50;  // callback actions per pass
        in_pass = true;
        w.AdvanceTo(TestFixture::ToTick(target), [&](std::uint64_t id, T d, WheelHandle h) {
          ASSERT_FALSE(model.empty());
          const auto first = model.begin();
          ASSERT_LE(first->first, target);
          ASSERT_EQ(first->second, id) << "fired out of order";
          const Entry& e = live[id];
          ASSERT_EQ(d, TestFixture::ToTick(e.deadline));
          ASSERT_LE(e.deadline, target);  // never early
          now = std::max(now, first->first);
          ASSERT_EQ(w.Now(), TestFixture::ToTick(now));
          ASSERT_FALSE(w.IsPending(h));
          model.erase(first);
          live.erase(id);
          stale.push_back(h);
          ++fired_total;
          while (budget > 0 && rng() % 3 == 0) {
            --budget;
            switch (rng() % 4) {
              case 0: insert(); break;
              case 1: cancel(); break;
              case 2: reschedule(); break;
              default: {  // zero-delay re-arm of the entry that fired (once)
                if (live.count(id) != 0) break;
                Result<WheelHandle> again = w.Insert(TestFixture::ToTick(now), id);
                ASSERT_TRUE(again.ok());
                file(id, now);
                live[id].handle = *again;
              }
            }
          }
        });
        in_pass = false;
        ASSERT_TRUE(model.empty() || model.begin()->first > target) << "missed a due entry";
        now = target;
        ASSERT_EQ(w.Now(), TestFixture::ToTick(now));
        for (const auto& [s, id] : deferred) {
          Entry& e = live[id];
          e.deferred = false;
          e.it = model.emplace(e.made_due_at, id);  // effective deadline: when it was made due
        }
        deferred.clear();
      }
      check_next();
    }
    EXPECT_GT(fired_total, 300u);  // the run did fire, exhaust and re-arm
    if (seed % 2 == 0) {
      EXPECT_GT(exhausted, 0u);
    }
    if (!TestFixture::kWide) {
      EXPECT_GT(now - start, 4 * 256);  // wrapped the 8-bit tick several times
    }
    // Drain: everything fires, in order; the wheel ends empty with every node free.
    while (!live.empty()) {
      const std::int64_t target = now + max_delay;
      w.AdvanceTo(TestFixture::ToTick(target), [&](std::uint64_t id, T, WheelHandle) {
        ASSERT_EQ(model.begin()->second, id);
        model.erase(model.begin());
        live.erase(id);
      });
      now = target;
    }
    EXPECT_TRUE(w.empty());
    EXPECT_EQ(w.NextDeadline(), std::nullopt);
  }
}

}  // namespace
}  // namespace aps
