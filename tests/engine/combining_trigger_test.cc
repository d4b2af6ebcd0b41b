// AndTrigger / OrTrigger: spec E5 (X01-X06) with aps's documented semantics — And is the exact
// intersection (threshold 0) bounded by max_iterations; Or keeps each child's own schedule, so a
// date child still fires after the Or fired before and interval children keep their own grid.
#include "engine/combining_trigger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/calendar_interval_trigger.h"
#include "engine/cron_trigger.h"
#include "engine/date_trigger.h"
#include "engine/datetime.h"
#include "engine/interval_trigger.h"
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

using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAreArray;

using Kids = std::vector<std::unique_ptr<Trigger>>;

std::unique_ptr<Trigger> Cron(CronOptions o) {
  Result<std::unique_ptr<CronTrigger>> t = CronTrigger::Create(o);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::unique_ptr<Trigger>(std::move(t).value()) : nullptr;
}

std::unique_ptr<Trigger> Interval(std::chrono::microseconds every, const std::string& start) {
  Result<std::unique_ptr<IntervalTrigger>> t =
      IntervalTrigger::Create({.interval = every, .start_date = At(start)}, At(start));
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::unique_ptr<Trigger>(std::move(t).value()) : nullptr;
}

std::unique_ptr<Trigger> Date(const std::string& run) {
  Result<std::unique_ptr<DateTrigger>> t = DateTrigger::Create(At(run), nullptr);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::unique_ptr<Trigger>(std::move(t).value()) : nullptr;
}

template <typename... T>
Kids MakeKids(T... t) {
  Kids k;
  (k.push_back(std::move(t)), ...);
  return k;
}

std::unique_ptr<CombiningTrigger> And(
    Kids k, Jitter j = {}, int max_iterations = CombiningTrigger::kDefaultMaxIterations) {
  Result<std::unique_ptr<CombiningTrigger>> t =
      CombiningTrigger::CreateAnd(std::move(k), j, max_iterations);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

std::unique_ptr<CombiningTrigger> Or(Kids k, Jitter j = {}) {
  Result<std::unique_ptr<CombiningTrigger>> t = CombiningTrigger::CreateOr(std::move(k), j);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

std::vector<std::string> Fires(const Trigger& t, const std::string& from, int n) {
  return test::FireTimes(t, std::nullopt, At(from), n);
}

TEST(AndTrigger, X01FirstMondaysAndEverySuccessiveCallAnswers) {
  // 3.x hangs on the second call; aps answers every call.
  auto t =
      And(MakeKids(Cron({.day_of_week = "mon", .hour = "10"}), Cron({.day = "1-7", .hour = "10"})));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01", 5),
              ElementsAreArray({"2024-01-01T10:00:00+00:00", "2024-02-05T10:00:00+00:00",
                                "2024-03-04T10:00:00+00:00", "2024-04-01T10:00:00+00:00",
                                "2024-05-06T10:00:00+00:00"}));
}

TEST(AndTrigger, X02IntervalAndCronIntersect) {
  auto t =
      And(MakeKids(Interval(std::chrono::hours(1), "2024-01-01 00:00"), Cron({.hour = "*/2"})));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01 00:00", 4),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-01T02:00:00+00:00",
                                "2024-01-01T04:00:00+00:00", "2024-01-01T06:00:00+00:00"}));
}

TEST(AndTrigger, X05TwoIntervalsMeetAtMultiplesOfTheirLeastCommonMultiple) {
  // The exact intersection = APScheduler 4.x with threshold 0: 0, 77, 154, 231 s.
  auto t = And(MakeKids(Interval(seconds(7), "2024-01-01 00:00"),
                        Interval(seconds(11), "2024-01-01 00:00")));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01 00:00", 4),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-01T00:01:17+00:00",
                                "2024-01-01T00:02:34+00:00", "2024-01-01T00:03:51+00:00"}));
}

TEST(AndTrigger, X06NeverCoincidingChildrenGiveNoneQuicklyAfterMaxIterations) {
  auto t = And(MakeKids(Cron({.second = "0"}), Cron({.second = "30"})), {}, 100);
  ASSERT_NE(t, nullptr);
  std::optional<Instant> r;
  const double ms = MillisToRun([&] { r = t->Next(std::nullopt, At("2024-01-01")); });
  EXPECT_FALSE(r.has_value()) << Iso(r);
  EXPECT_LT(ms, 50.0);
}

TEST(AndTrigger, DefaultMaxIterationsAlsoEndsInBoundedTime) {
  auto t = And(MakeKids(Cron({.second = "0"}), Cron({.second = "30"})));
  ASSERT_NE(t, nullptr);
  std::optional<Instant> r;
  const double ms = MillisToRun([&] { r = t->Next(std::nullopt, At("2024-01-01")); });
  EXPECT_FALSE(r.has_value()) << Iso(r);
  EXPECT_LT(ms, 2000.0);
}

TEST(AndTrigger, NeverCoincidingMonthlyCalendarIntervalAndCronEndsInBoundedTime) {
  // The 31st of each month (from 1970) never meets the 1st: after max_iterations the answer is
  // "none", and like every search it must come quickly (trigger.h) — each iteration may not
  // re-walk the calendar series from its start date.
  Result<std::unique_ptr<CalendarIntervalTrigger>> cal = CalendarIntervalTrigger::Create(
      {.months = 1, .hour = 10, .start_date = CivilDay{1970, 1, 31}}, At("2024-01-01"));
  ASSERT_TRUE(cal.ok()) << cal.status().message();
  auto t = And(
      MakeKids(std::unique_ptr<Trigger>(std::move(cal).value()), Cron({.day = "1", .hour = "10"})));
  ASSERT_NE(t, nullptr);
  std::optional<Instant> r;
  const double ms = MillisToRun([&] { r = t->Next(std::nullopt, At("2024-01-01")); });
  EXPECT_FALSE(r.has_value()) << Iso(r);
  EXPECT_LT(ms, 2000.0);
}

TEST(AndTrigger, IsTheExactIntersectionOfTheChildren) {
  auto t = And(MakeKids(Cron({.minute = "*/3"}), Cron({.minute = "*/2"})));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01 00:00", 4),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-01T00:06:00+00:00",
                                "2024-01-01T00:12:00+00:00", "2024-01-01T00:18:00+00:00"}));
}

TEST(AndTrigger, IsNoneWhenAnyChildIsFinished) {
  auto t = And(MakeKids(Cron({.minute = "*"}), Date("2024-01-01 00:05")));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01 00:00", 3),
              ElementsAreArray({"2024-01-01T00:05:00+00:00", "none"}));
}

TEST(AndTrigger, CalendarIntervalAndWeekdayCronSkipsWeekendDates) {
  // The 4.x docs example: every 2 months at 10:00 from 2022-06-07, Mon-Fri only.
  Result<std::unique_ptr<CalendarIntervalTrigger>> cal = CalendarIntervalTrigger::Create(
      {.months = 2, .hour = 10, .start_date = CivilDay{2022, 6, 7}}, At("2022-06-07 09:00"));
  ASSERT_TRUE(cal.ok()) << cal.status().message();
  auto t = And(MakeKids(std::unique_ptr<Trigger>(std::move(cal).value()),
                        Cron({.day_of_week = "mon-fri", .hour = "10"})));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2022-06-07 09:00", 3),
              ElementsAreArray({"2022-06-07T10:00:00+00:00", "2022-10-07T10:00:00+00:00",
                                "2022-12-07T10:00:00+00:00"}));
}

TEST(AndTrigger, ChildJitterIsIgnoredAndOwnJitterApplies) {
  CronOptions jittery{.minute = "0",
                      .jitter = Jitter{.max_us = 600 * kMicrosPerSecond, .seed = 11}};
  auto exact = And(MakeKids(Cron(jittery), Cron({.hour = "*/2"})));
  ASSERT_NE(exact, nullptr);
  EXPECT_THAT(Fires(*exact, "2024-01-01 00:30", 2),
              ElementsAreArray({"2024-01-01T02:00:00+00:00", "2024-01-01T04:00:00+00:00"}));
  auto jittered = And(MakeKids(Cron({.minute = "0"}), Cron({.hour = "*/2"})),
                      Jitter{.max_us = 10 * kMicrosPerSecond, .seed = 3});
  ASSERT_NE(jittered, nullptr);
  std::optional<Instant> prev;
  Instant now = At("2024-01-01 00:30");
  for (int i = 1; i <= 20; ++i) {
    const std::optional<Instant> next = jittered->Next(prev, now);
    ASSERT_TRUE(next.has_value());
    const Instant base =
        Instant::FromUnixSeconds(At("2024-01-01").unix_seconds_floor() + 7200LL * i);
    EXPECT_GE(*next, base);
    EXPECT_LE(next->us - base.us, 10 * kMicrosPerSecond);
    prev = now = *next;
  }
}

TEST(OrTrigger, X03EarliestChildTimeWins) {
  auto t = Or(MakeKids(Cron({.day_of_week = "mon-fri", .hour = "10"}),
                       Cron({.day_of_week = "sat-sun", .hour = "11"})));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01", 8),
              ElementsAreArray({"2024-01-01T10:00:00+00:00", "2024-01-02T10:00:00+00:00",
                                "2024-01-03T10:00:00+00:00", "2024-01-04T10:00:00+00:00",
                                "2024-01-05T10:00:00+00:00", "2024-01-06T11:00:00+00:00",
                                "2024-01-07T11:00:00+00:00", "2024-01-08T10:00:00+00:00"}));
}

TEST(OrTrigger, X04DateChildStillFiresAfterTheOrFiredBefore) {
  auto t = Or(MakeKids(Date("2024-01-01 00:05"), Interval(minutes(30), "2024-01-01 00:00")));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01 00:00", 4),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-01T00:05:00+00:00",
                                "2024-01-01T00:30:00+00:00", "2024-01-01T01:00:00+00:00"}));
}

TEST(OrTrigger, IntervalChildrenKeepTheirOwnGridAndCoincidingTimesFireOnce) {
  auto t = Or(MakeKids(Interval(minutes(30), "2024-01-01 00:00"),
                       Interval(minutes(45), "2024-01-01 00:00")));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01 00:00", 8),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-01T00:30:00+00:00",
                                "2024-01-01T00:45:00+00:00", "2024-01-01T01:00:00+00:00",
                                "2024-01-01T01:30:00+00:00", "2024-01-01T02:00:00+00:00",
                                "2024-01-01T02:15:00+00:00", "2024-01-01T02:30:00+00:00"}));
}

TEST(OrTrigger, IsNoneWhenEveryChildIsFinished) {
  auto t = Or(MakeKids(Date("2024-01-01 00:05"), Date("2024-01-01 00:01")));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01 00:00", 4),
              ElementsAreArray({"2024-01-01T00:01:00+00:00", "2024-01-01T00:05:00+00:00", "none"}));
}

TEST(OrTrigger, ChildJitterIsIgnored) {
  CronOptions jittery{.minute = "0",
                      .jitter = Jitter{.max_us = 600 * kMicrosPerSecond, .seed = 11}};
  auto t = Or(MakeKids(Cron(jittery)));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01 00:30", 2),
              ElementsAreArray({"2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00"}));
}

TEST(CombiningTrigger, NestedAndInsideOr) {
  // First Mondays at 10:00, or any 15th at 12:00.
  auto first_mondays =
      And(MakeKids(Cron({.day_of_week = "mon", .hour = "10"}), Cron({.day = "1-7", .hour = "10"})));
  ASSERT_NE(first_mondays, nullptr);
  auto t = Or(MakeKids(std::unique_ptr<Trigger>(std::move(first_mondays)),
                       Cron({.day = "15", .hour = "12"})));
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, "2024-01-01", 4),
              ElementsAreArray({"2024-01-01T10:00:00+00:00", "2024-01-15T12:00:00+00:00",
                                "2024-02-05T10:00:00+00:00", "2024-02-15T12:00:00+00:00"}));
}

TEST(CombiningTrigger, EmptyChildListIsAnError) {
  EXPECT_FALSE(CombiningTrigger::CreateAnd({}).ok());
  EXPECT_FALSE(CombiningTrigger::CreateOr({}).ok());
}

TEST(CombiningTrigger, NullChildIsAnError) {
  Kids k;
  k.push_back(nullptr);
  EXPECT_FALSE(CombiningTrigger::CreateOr(std::move(k)).ok());
}

TEST(CombiningTrigger, MaxIterationsBelowOneIsAnError) {
  EXPECT_FALSE(CombiningTrigger::CreateAnd(MakeKids(Cron({.hour = "1"})), {}, 0).ok());
}

TEST(CombiningTrigger, DescribeListsTheChildren) {
  auto a =
      And(MakeKids(Cron({.day_of_week = "mon", .hour = "10"}), Cron({.day = "1-7", .hour = "10"})));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->Describe(), "and[cron[day_of_week='mon', hour='10'], cron[day='1-7', hour='10']]");
  auto o = Or(MakeKids(Cron({.hour = "3"}), Date("2024-01-01 00:05")));
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->Describe(), "or[cron[hour='3'], date[2024-01-01 00:05:00 UTC]]");
}

TEST(CombiningTrigger, ZoneIsTheFirstChildsZone) {
  Result<TimeZonePtr> hel = LoadTimeZone("Europe/Helsinki");
  ASSERT_TRUE(hel.ok());
  CronOptions o{.hour = "3"};
  o.timezone = *hel;
  auto t = Or(MakeKids(Cron(o), Cron({.hour = "4"})));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->zone()->name(), "Europe/Helsinki");
}

TEST(CombiningTrigger, CloneIsDeepAndFiresTheSame) {
  auto t =
      And(MakeKids(Cron({.day_of_week = "mon", .hour = "10"}), Cron({.day = "1-7", .hour = "10"})),
          Jitter{.max_us = kMicrosPerSecond, .seed = 4}, 500);
  ASSERT_NE(t, nullptr);
  std::unique_ptr<Trigger> c = t->Clone();
  EXPECT_EQ(c->ToText(), t->ToText());
  std::vector<std::string> expected = Fires(*t, "2024-01-01", 6);
  t.reset();
  EXPECT_EQ(Fires(*c, "2024-01-01", 6), expected);
}

}  // namespace
}  // namespace aps
