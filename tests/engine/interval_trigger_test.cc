// IntervalTrigger: spec E4 (I01-I05, I08) with aps's documented differences (a zero interval is
// an error instead of 3.x's silent 1 second), end_date inclusivity, describing and bounds.
#include "engine/interval_trigger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/datetime.h"
#include "engine/time_zone.h"
#include "tests/engine/test_util.h"

// Options are written with designated initializers; GCC 12 warns about the members left to
// their defaults, which is the point of the notation.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace aps {
namespace {

using test::At;
using test::Iso;
using test::MillisToRun;
using test::Zone;

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

std::unique_ptr<IntervalTrigger> Make(IntervalOptions o, Instant now = Instant{}) {
  Result<std::unique_ptr<IntervalTrigger>> t = IntervalTrigger::Create(o, now);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

// APScheduler's loop: (previous none, now), then previous = now = the last fire time.
std::vector<std::string> Fires(const Trigger& t, Instant now, int n) {
  return test::FireTimes(t, std::nullopt, now, n);
}

TEST(IntervalTrigger, I01FirstFireIsTheFirstSlotAtOrAfterNow) {
  auto t = Make({.interval = seconds(10), .start_date = At("2024-01-01 00:00:00")});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2024-01-01 00:00:25"))), "2024-01-01T00:00:30+00:00");
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2024-01-01 00:00:30"))), "2024-01-01T00:00:30+00:00");
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2024-01-01 00:00:30.000001"))),
            "2024-01-01T00:00:40+00:00");
}

TEST(IntervalTrigger, FutureStartDateIsTheFirstFireTime) {
  auto t = Make({.interval = seconds(10), .start_date = At("2024-01-01 00:00:00")});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2023-12-31 23:00:00"))), "2024-01-01T00:00:00+00:00");
}

TEST(IntervalTrigger, I02EndDateIsInclusive) {
  auto t = Make({.interval = seconds(10),
                 .start_date = At("2024-01-01 00:00:00"),
                 .end_date = At("2024-01-01 00:00:10")});
  ASSERT_NE(t, nullptr);
  const Instant p = At("2024-01-01 00:00:00");
  const std::optional<Instant> a = t->Next(p, p);
  EXPECT_EQ(Iso(a), "2024-01-01T00:00:10+00:00");
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(t->Next(a, *a).has_value());
}

TEST(IntervalTrigger, NextAfterAPreviousFireIsPreviousPlusInterval) {
  // Not aligned to now: the previous fire time decides (the scheduler relies on this).
  auto t = Make({.interval = seconds(10), .start_date = At("2024-01-01 00:00:00")});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(At("2024-01-01 00:00:03"), At("2024-01-01 00:05:00"))),
            "2024-01-01T00:00:13+00:00");
}

TEST(IntervalTrigger, I03ZeroOrNegativeIntervalIsAnError) {
  // 3.x silently uses 1 second; aps refuses (interval_trigger.h).
  for (microseconds us : {microseconds(0), microseconds(-1), microseconds(-10'000'000)}) {
    Result<std::unique_ptr<IntervalTrigger>> t =
        IntervalTrigger::Create({.interval = us}, Instant{});
    ASSERT_FALSE(t.ok()) << us.count();
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("The time interval must be positive"));
  }
}

TEST(IntervalTrigger, I04DefaultStartDateIsCreationTimePlusInterval) {
  const Instant now = At("2024-05-05 12:00:00.25");
  auto t = Make({.interval = minutes(5)}, now);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->start_date()), "2024-05-05T12:05:00.250000+00:00");
  EXPECT_EQ(Iso(t->Next(std::nullopt, now)), "2024-05-05T12:05:00.250000+00:00");
}

TEST(IntervalTrigger, I05OneDayIntervalIsAbsoluteTimeAcrossDst) {
  const TimeZonePtr hel = Zone("Europe/Helsinki");
  auto t =
      Make({.interval = hours(24), .timezone = hel, .start_date = At("2024-03-30 12:00", *hel)});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, At("2024-03-30 12:00", *hel), 3),
              ElementsAreArray({"2024-03-30T12:00:00+02:00", "2024-03-31T13:00:00+03:00",
                                "2024-04-01T13:00:00+03:00"}));
}

TEST(IntervalTrigger, I08JitterAccumulatesBecauseItIsPartOfThePreviousFireTime) {
  auto t = Make({.interval = seconds(10),
                 .start_date = At("2024-01-01 00:00:00"),
                 .jitter = Jitter{.max_us = 5 * kMicrosPerSecond, .seed = 7}});
  ASSERT_NE(t, nullptr);
  std::optional<Instant> prev;
  Instant now = At("2024-01-01 00:00:00");
  std::int64_t total_jitter = 0;
  for (int i = 0; i < 50; ++i) {
    const std::optional<Instant> next = t->Next(prev, now);
    ASSERT_TRUE(next.has_value());
    const Instant base =
        prev ? Instant{prev->us + 10 * kMicrosPerSecond} : At("2024-01-01 00:00:00");
    EXPECT_GE(next->us - base.us, 0) << i;
    EXPECT_LE(next->us - base.us, 5 * kMicrosPerSecond) << i;
    EXPECT_EQ(t->Next(prev, now), next) << "Next() must be pure";
    total_jitter += next->us - base.us;
    prev = now = *next;
  }
  // The drift is the sum of the jitters: 50 fires are well past 49 * 10 s.
  EXPECT_EQ(prev->us - At("2024-01-01 00:00:00").us, 49 * 10 * kMicrosPerSecond + total_jitter);
  EXPECT_GT(total_jitter, 10 * kMicrosPerSecond);
}

TEST(IntervalTrigger, JitterNeverPassesEndDate) {
  const Instant end = At("2024-01-01 00:00:11");
  int clamped = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    auto t = Make({.interval = seconds(10),
                   .start_date = At("2024-01-01 00:00:00"),
                   .end_date = end,
                   .jitter = Jitter{.max_us = 5 * kMicrosPerSecond, .seed = seed}});
    ASSERT_NE(t, nullptr);
    const Instant p = At("2024-01-01 00:00:00");
    const std::optional<Instant> a = t->Next(p, p);
    ASSERT_TRUE(a.has_value());
    EXPECT_LE(*a, end);
    EXPECT_GE(*a, At("2024-01-01 00:00:10"));
    clamped += *a == end;
  }
  EXPECT_GT(clamped, 0);
}

TEST(IntervalTrigger, EndDateBeforeStartDateIsAnError) {
  Result<std::unique_ptr<IntervalTrigger>> t = IntervalTrigger::Create(
      {.interval = seconds(1), .start_date = At("2024-01-02"), .end_date = At("2024-01-01")},
      Instant{});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(std::string(t.status().message()), "end_date cannot be earlier than start_date");
}

TEST(IntervalTrigger, EndDateEqualToStartDateFiresOnce) {
  auto t =
      Make({.interval = seconds(1), .start_date = At("2024-01-02"), .end_date = At("2024-01-02")});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, At("2024-01-01"), 3),
              ElementsAreArray({"2024-01-02T00:00:00+00:00", "none"}));
}

TEST(IntervalTrigger, MicrosecondIntervalsAreExact) {
  auto t = Make({.interval = microseconds(1), .start_date = At("2024-01-01 00:00:00")});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, At("2024-01-01 00:00:00"), 3),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00.000001+00:00",
                                "2024-01-01T00:00:00.000002+00:00"}));
  auto u = Make({.interval = microseconds(1'500'000), .start_date = At("2024-01-01 00:00:00")});
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(Iso(u->Next(std::nullopt, At("2024-01-01 00:00:02"))), "2024-01-01T00:00:03+00:00");
  EXPECT_EQ(Iso(u->Next(std::nullopt, At("2024-01-01 00:00:01.4"))),
            "2024-01-01T00:00:01.500000+00:00");
}

TEST(IntervalTrigger, DescribeUsesPythonTimedeltaText) {
  auto a = Make({.interval = seconds(30)});
  auto b = Make({.interval = hours(24 * 7)});
  auto c = Make({.interval = hours(26) + minutes(3) + seconds(4) + microseconds(500000)});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->Describe(), "interval[0:00:30]");
  EXPECT_EQ(b->Describe(), "interval[7 days, 0:00:00]");
  EXPECT_EQ(c->Describe(), "interval[1 day, 2:03:04.500000]");
}

TEST(IntervalTrigger, ResultsArePrintedInTheTriggerZone) {
  const TimeZonePtr hel = Zone("Europe/Helsinki");
  auto t = Make({.interval = hours(1), .timezone = hel, .start_date = At("2024-01-01T00:00:00Z")});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->zone()->name(), "Europe/Helsinki");
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2024-01-01T00:00:00Z")), *t->zone()),
            "2024-01-01T02:00:00+02:00");
}

TEST(IntervalTrigger, NoFireTimePastYear9999) {
  auto t = Make({.interval = hours(24 * 365), .start_date = At("9999-06-01")});
  ASSERT_NE(t, nullptr);
  const Instant p = At("9999-06-01");
  EXPECT_FALSE(t->Next(p, p).has_value());
  EXPECT_FALSE(t->Next(std::nullopt, At("9999-12-31 23:00")).has_value());
}

TEST(IntervalTrigger, DefaultStartDatePastYear9999GivesNoFireTimeOrIsRejected) {
  // Like every other trigger, no fire time lies beyond year 9999 (cron_trigger.h: "years stop
  // at 9999"; interval_trigger.cc: "beyond it there is no further fire time").
  const Instant now = At("9999-12-20 00:00");
  Result<std::unique_ptr<IntervalTrigger>> t =
      IntervalTrigger::Create({.interval = hours(24 * 30)}, now);
  if (!t.ok()) return;  // rejecting the trigger is fine too
  const std::optional<Instant> next = (*t)->Next(std::nullopt, now);
  EXPECT_FALSE(next.has_value() && *next > At("9999-12-31 23:59:59.999999")) << Iso(next);
}

TEST(IntervalTrigger, AbsurdlyLongIntervalIsAnError) {
  Result<std::unique_ptr<IntervalTrigger>> t =
      IntervalTrigger::Create({.interval = hours(24LL * 366 * 9000)}, Instant{});
  EXPECT_FALSE(t.ok());
}

TEST(IntervalTrigger, FirstAtOrAfterIsTheGridPointAtOrAfter) {
  auto t = Make({.interval = minutes(15), .start_date = At("2024-01-01 00:00")});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->FirstAtOrAfter(At("2023-01-01"))), "2024-01-01T00:00:00+00:00");
  EXPECT_EQ(Iso(t->FirstAtOrAfter(At("2024-01-01 00:15"))), "2024-01-01T00:15:00+00:00");
  EXPECT_EQ(Iso(t->FirstAtOrAfter(At("2024-01-01 00:15:00.000001"))), "2024-01-01T00:30:00+00:00");
}

TEST(IntervalTrigger, CloneKeepsStartAndJitter) {
  auto t = Make({.interval = seconds(10),
                 .start_date = At("2024-01-01"),
                 .jitter = Jitter{.max_us = kMicrosPerSecond, .seed = 99}});
  ASSERT_NE(t, nullptr);
  std::unique_ptr<Trigger> c = t->Clone();
  EXPECT_EQ(c->ToText(), t->ToText());
  EXPECT_EQ(Fires(*c, At("2024-01-01"), 10), Fires(*t, At("2024-01-01"), 10));
}

}  // namespace
}  // namespace aps
