// CalendarIntervalTrigger: spec A6 / E4 (K01-K06) and the upstream test_calendarinterval cases
// (Europe/Berlin): missing_time, repeated_time, nonexistent_days, end_date, bad arguments.
#include "engine/calendar_interval_trigger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// `now` only matters for a default start_date: the first fire time ignores it.
const Instant kNow = Instant::FromUnixSeconds(1717200000);  // 2024-06-01T00:00:00Z

std::unique_ptr<CalendarIntervalTrigger> Make(CalendarIntervalOptions o, Instant now = kNow) {
  Result<std::unique_ptr<CalendarIntervalTrigger>> t = CalendarIntervalTrigger::Create(o, now);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

std::string CreateError(CalendarIntervalOptions o) {
  Result<std::unique_ptr<CalendarIntervalTrigger>> t = CalendarIntervalTrigger::Create(o, kNow);
  if (t.ok()) return "ok";
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  return t.status().message();
}

std::vector<std::string> Fires(const Trigger& t, int n, Instant now = kNow) {
  return test::FireTimes(t, std::nullopt, now, n);
}

TEST(CalendarIntervalTrigger, K01DailyTimeInsideDstGapSkipsThatDay) {
  auto t = Make({.days = 1,
                 .hour = 3,
                 .minute = 30,
                 .start_date = CivilDay{2024, 3, 29},
                 .timezone = Zone("Europe/Helsinki")});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 4),
              ElementsAreArray({"2024-03-29T03:30:00+02:00", "2024-03-30T03:30:00+02:00",
                                "2024-04-01T03:30:00+03:00", "2024-04-02T03:30:00+03:00"}));
}

TEST(CalendarIntervalTrigger, K02DailyTimeInsideFoldFiresOnceAtTheFirstOccurrence) {
  auto t = Make({.days = 1,
                 .hour = 3,
                 .minute = 30,
                 .start_date = CivilDay{2024, 10, 25},
                 .timezone = Zone("Europe/Helsinki")});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 4),
              ElementsAreArray({"2024-10-25T03:30:00+03:00", "2024-10-26T03:30:00+03:00",
                                "2024-10-27T03:30:00+03:00", "2024-10-28T03:30:00+02:00"}));
}

TEST(CalendarIntervalTrigger, K03MonthlyFromThe31stSkipsMonthsWithoutIt) {
  auto t = Make({.months = 1, .start_date = CivilDay{2024, 1, 31}});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 4),
              ElementsAreArray({"2024-01-31T00:00:00+00:00", "2024-03-31T00:00:00+00:00",
                                "2024-05-31T00:00:00+00:00", "2024-07-31T00:00:00+00:00"}));
}

TEST(CalendarIntervalTrigger, K04YearlyFromFebruary29FiresInLeapYearsOnly) {
  auto t = Make({.years = 1, .start_date = CivilDay{2024, 2, 29}});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 4),
              ElementsAreArray({"2024-02-29T00:00:00+00:00", "2028-02-29T00:00:00+00:00",
                                "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00"}));
}

TEST(CalendarIntervalTrigger, K05MonthsAreAddedBeforeWeeksSoTheDayDrifts) {
  auto t = Make({.months = 1, .weeks = 1, .start_date = CivilDay{2024, 1, 31}});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 4),
              ElementsAreArray({"2024-01-31T00:00:00+00:00", "2024-04-07T00:00:00+00:00",
                                "2024-05-14T00:00:00+00:00", "2024-06-21T00:00:00+00:00"}));
}

TEST(CalendarIntervalTrigger, K06FirstFireIsStartDateEvenWhenFarInThePast) {
  auto t = Make({.days = 1, .start_date = CivilDay{2020, 1, 1}});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2024-06-01"))), "2020-01-01T00:00:00+00:00");
}

TEST(CalendarIntervalTrigger, UpstreamMissingTimeSkipsTheDay) {
  auto t = Make({.days = 1,
                 .hour = 2,
                 .minute = 30,
                 .start_date = CivilDay{2016, 3, 27},
                 .timezone = Zone("Europe/Berlin")});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(std::nullopt, kNow), *t->zone()), "2016-03-28T02:30:00+02:00");
}

TEST(CalendarIntervalTrigger, UpstreamRepeatedTimeUsesTheEarlierOccurrence) {
  auto t = Make({.days = 2,
                 .hour = 2,
                 .minute = 30,
                 .start_date = CivilDay{2016, 10, 30},
                 .timezone = Zone("Europe/Berlin")});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 2),
              ElementsAreArray({"2016-10-30T02:30:00+02:00", "2016-11-01T02:30:00+01:00"}));
}

TEST(CalendarIntervalTrigger, UpstreamNonexistentDaysAreSkipped) {
  auto t =
      Make({.months = 1, .start_date = CivilDay{2016, 3, 31}, .timezone = Zone("Europe/Berlin")});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 2),
              ElementsAreArray({"2016-03-31T00:00:00+02:00", "2016-05-31T00:00:00+02:00"}));
}

TEST(CalendarIntervalTrigger, UpstreamEndDateIsInclusive) {
  auto t = Make({.days = 1,
                 .start_date = CivilDay{2020, 12, 31},
                 .end_date = CivilDay{2020, 12, 31},
                 .timezone = Zone("Europe/Berlin")});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 3), ElementsAreArray({"2020-12-31T00:00:00+01:00", "none"}));
}

TEST(CalendarIntervalTrigger, EndDateStopsTheSeries) {
  auto t = Make({.weeks = 1,
                 .hour = 9,
                 .start_date = CivilDay{2024, 1, 1},
                 .end_date = CivilDay{2024, 1, 20}});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 5),
              ElementsAreArray({"2024-01-01T09:00:00+00:00", "2024-01-08T09:00:00+00:00",
                                "2024-01-15T09:00:00+00:00", "none"}));
}

TEST(CalendarIntervalTrigger, EndDateBeforeStartDateIsAnError) {
  EXPECT_EQ(CreateError(
                {.days = 1, .start_date = CivilDay{2016, 3, 4}, .end_date = CivilDay{2016, 3, 3}}),
            "end_date cannot be earlier than start_date");
}

TEST(CalendarIntervalTrigger, ZeroIntervalIsAnError) {
  EXPECT_EQ(CreateError({}), "interval must be at least 1 day long");
  EXPECT_EQ(CreateError({.hour = 5}), "interval must be at least 1 day long");
}

TEST(CalendarIntervalTrigger, NegativeIntervalPartsAreAnError) {
  EXPECT_NE(CreateError({.days = -1}), "ok");
  EXPECT_NE(CreateError({.months = 2, .days = -1}), "ok");
}

TEST(CalendarIntervalTrigger, InvalidTimeOfDayIsAnError) {
  EXPECT_NE(CreateError({.days = 1, .hour = 24}), "ok");
  EXPECT_NE(CreateError({.days = 1, .minute = 60}), "ok");
  EXPECT_NE(CreateError({.days = 1, .second = -1}), "ok");
}

TEST(CalendarIntervalTrigger, InvalidDatesAreAnError) {
  EXPECT_NE(CreateError({.days = 1, .start_date = CivilDay{2023, 2, 29}}), "ok");
  EXPECT_NE(CreateError({.days = 1, .start_date = CivilDay{2024, 13, 1}}), "ok");
  EXPECT_NE(CreateError(
                {.days = 1, .start_date = CivilDay{2024, 1, 1}, .end_date = CivilDay{2024, 4, 31}}),
            "ok");
}

TEST(CalendarIntervalTrigger, DefaultStartDateIsTodayInTheTriggerZone) {
  // 2024-06-01T23:30Z is already June 2 in Helsinki.
  auto t =
      Make({.days = 1, .hour = 9, .timezone = Zone("Europe/Helsinki")}, At("2024-06-01T23:30:00Z"));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2024-06-01T23:30:00Z")), *t->zone()),
            "2024-06-02T09:00:00+03:00");
}

TEST(CalendarIntervalTrigger, TimeOfDayIsWallClockAcrossDst) {
  auto t = Make({.days = 1,
                 .hour = 12,
                 .start_date = CivilDay{2024, 3, 30},
                 .timezone = Zone("Europe/Helsinki")});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 3),
              ElementsAreArray({"2024-03-30T12:00:00+02:00", "2024-03-31T12:00:00+03:00",
                                "2024-04-01T12:00:00+03:00"}));
}

TEST(CalendarIntervalTrigger, JitterStaysWithinBounds) {
  auto t = Make({.days = 1,
                 .hour = 9,
                 .start_date = CivilDay{2024, 1, 1},
                 .jitter = Jitter{.max_us = 60 * kMicrosPerSecond, .seed = 5}});
  ASSERT_NE(t, nullptr);
  std::optional<Instant> prev;
  Instant now = kNow;
  for (int i = 0; i < 30; ++i) {
    const std::optional<Instant> next = t->Next(prev, now);
    ASSERT_TRUE(next.has_value());
    const Instant base =
        Instant::FromUnixSeconds(At("2024-01-01 09:00").unix_seconds_floor() + 86400LL * i);
    EXPECT_GE(*next, base) << i;
    EXPECT_LE(next->us - base.us, 60 * kMicrosPerSecond) << i;
    prev = now = *next;
  }
}

TEST(CalendarIntervalTrigger, FirstAtOrAfterFindsTheFirstDateAtOrAfter) {
  auto t = Make({.days = 1, .start_date = CivilDay{2020, 1, 1}});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->FirstAtOrAfter(At("2024-06-01 12:00"))), "2024-06-02T00:00:00+00:00");
  EXPECT_EQ(Iso(t->FirstAtOrAfter(At("2024-06-01 00:00"))), "2024-06-01T00:00:00+00:00");
  EXPECT_EQ(Iso(t->FirstAtOrAfter(At("2019-01-01"))), "2020-01-01T00:00:00+00:00");
  auto m = Make({.months = 1, .start_date = CivilDay{2024, 1, 31}});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(Iso(m->FirstAtOrAfter(At("2024-02-01"))), "2024-03-31T00:00:00+00:00");
}

TEST(CalendarIntervalTrigger, SeriesEndsBeforeYear10000) {
  auto t = Make({.years = 1000, .start_date = CivilDay{9000, 1, 1}});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(Fires(*t, 3), ElementsAreArray({"9000-01-01T00:00:00+00:00", "none"}));
}

TEST(CalendarIntervalTrigger, DescribeNamesTheKind) {
  auto t = Make({.months = 1, .hour = 9, .start_date = CivilDay{2024, 1, 31}});
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(t->Describe(), ::testing::StartsWith("calendarinterval["));
}

}  // namespace
}  // namespace aps
