// CronTrigger::FromCrontab: POSIX weekday numbers, the Vixie day/weekday OR rule, macros, and
// bad input (each error names the field; unsupported extensions say so).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/cron_trigger.h"
#include "engine/datetime.h"
#include "engine/time_zone.h"
#include "tests/engine/test_util.h"

namespace aps {
namespace {

using test::At;
using test::Iso;
using test::MillisToRun;
using test::Zone;

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The first `n` fire times of crontab `line` from `from` (APScheduler's loop), as ISO strings;
// "none" ends the list early; an error gives a single "error: ..." entry.
std::vector<std::string> Fires(const std::string& line, const std::string& from, int n,
                               const std::string& zone_name = "UTC") {
  const TimeZonePtr zone = Zone(zone_name);
  Result<std::unique_ptr<CronTrigger>> t = CronTrigger::FromCrontab(line, zone);
  if (!t.ok()) return {std::string("error: ") + t.status().message()};
  return test::FireTimes(**t, std::nullopt, At(from, *zone), n);
}

std::string Error(const std::string& line) {
  Result<std::unique_ptr<CronTrigger>> t = CronTrigger::FromCrontab(line, UtcZone());
  if (t.ok()) return "ok: " + (*t)->Describe();
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  return t.status().message();
}

// 2024-01-01 is a Monday; 2024-01-07 a Sunday.
const char kJan1[] = "2024-01-01 00:00:00";

TEST(Crontab, Weekday0IsSunday) {
  EXPECT_THAT(Fires("0 0 * * 0", kJan1, 2),
              ElementsAreArray({"2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00"}));
}

TEST(Crontab, Weekday7IsAlsoSunday) {
  EXPECT_THAT(Fires("0 0 * * 7", kJan1, 2),
              ElementsAreArray({"2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00"}));
  EXPECT_EQ(Fires("0 0 * * 0,7", kJan1, 3), Fires("0 0 * * 0", kJan1, 3));
}

TEST(Crontab, Weekday1IsMonday) {
  EXPECT_THAT(Fires("0 0 * * 1", kJan1, 2),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-08T00:00:00+00:00"}));
}

TEST(Crontab, WeekdayRange1To5IsMondayToFriday) {
  EXPECT_THAT(Fires("0 9 * * 1-5", "2024-01-05 10:00", 4),
              ElementsAreArray({"2024-01-08T09:00:00+00:00", "2024-01-09T09:00:00+00:00",
                                "2024-01-10T09:00:00+00:00", "2024-01-11T09:00:00+00:00"}));
  EXPECT_EQ(Fires("0 9 * * 1-5", kJan1, 10), Fires("0 9 * * mon-fri", kJan1, 10));
}

TEST(Crontab, WeekdayRangeEndingAt7IncludesSunday) {
  EXPECT_THAT(Fires("0 0 * * 5-7", kJan1, 4),
              ElementsAreArray({"2024-01-05T00:00:00+00:00", "2024-01-06T00:00:00+00:00",
                                "2024-01-07T00:00:00+00:00", "2024-01-12T00:00:00+00:00"}));
}

TEST(Crontab, WeekdayNamesAreCaseInsensitiveAndSunIsSunday) {
  EXPECT_EQ(Fires("0 0 * * sun", kJan1, 3), Fires("0 0 * * 0", kJan1, 3));
  EXPECT_EQ(Fires("0 0 * * SUN", kJan1, 3), Fires("0 0 * * 0", kJan1, 3));
  EXPECT_EQ(Fires("0 0 * * Sat", kJan1, 3), Fires("0 0 * * 6", kJan1, 3));
  EXPECT_EQ(Fires("0 0 * * fri-sun", kJan1, 6), Fires("0 0 * * 5-7", kJan1, 6));
  EXPECT_EQ(Fires("0 0 * * sat-sun", kJan1, 6), Fires("0 0 * * 6,0", kJan1, 6));
}

TEST(Crontab, SunToSatIsEveryDay) {
  EXPECT_EQ(Fires("0 0 * * sun-sat", kJan1, 10), Fires("0 0 * * *", kJan1, 10));
  EXPECT_EQ(Fires("0 0 * * 0-6", kJan1, 10), Fires("0 0 * * *", kJan1, 10));
  EXPECT_EQ(Fires("0 0 * * 0-7", kJan1, 10), Fires("0 0 * * *", kJan1, 10));
}

TEST(Crontab, MonToSunIsEveryDay) {
  EXPECT_EQ(Fires("0 0 * * mon-sun", kJan1, 10), Fires("0 0 * * *", kJan1, 10));
  EXPECT_EQ(Fires("0 0 * * 1-7", kJan1, 10), Fires("0 0 * * *", kJan1, 10));
}

TEST(Crontab, WeekdayRangeStepIncludingSeven) {
  // 1-7/2 = 1,3,5,7 = Mon, Wed, Fri, Sun.
  EXPECT_THAT(Fires("0 0 * * 1-7/2", kJan1, 5),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-03T00:00:00+00:00",
                                "2024-01-05T00:00:00+00:00", "2024-01-07T00:00:00+00:00",
                                "2024-01-08T00:00:00+00:00"}));
}

TEST(Crontab, WeekdayStepCountsFromSunday) {
  // */2 over 0-7 = 0,2,4,6 = Sun, Tue, Thu, Sat.
  EXPECT_THAT(Fires("0 0 * * */2", kJan1, 5),
              ElementsAreArray({"2024-01-02T00:00:00+00:00", "2024-01-04T00:00:00+00:00",
                                "2024-01-06T00:00:00+00:00", "2024-01-07T00:00:00+00:00",
                                "2024-01-09T00:00:00+00:00"}));
  // 1-5/2 = Mon, Wed, Fri.
  EXPECT_THAT(Fires("0 0 * * 1-5/2", kJan1, 4),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-03T00:00:00+00:00",
                                "2024-01-05T00:00:00+00:00", "2024-01-08T00:00:00+00:00"}));
}

TEST(Crontab, WeekdayWrapAroundRangeIsRejected) {
  EXPECT_THAT(Error("0 0 * * 5-1"),
              HasSubstr("The minimum value in a range must not be higher than the maximum"));
  EXPECT_THAT(Error("0 0 * * sat-mon"),
              HasSubstr("The minimum value in a range must not be higher than the maximum"));
}

TEST(Crontab, DayAndWeekdayBothRestrictedMatchEither) {
  // Vixie cron: the 1st or the 15th, or any Friday.
  EXPECT_THAT(Fires("0 0 1,15 * 5", kJan1, 8),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-05T00:00:00+00:00",
                                "2024-01-12T00:00:00+00:00", "2024-01-15T00:00:00+00:00",
                                "2024-01-19T00:00:00+00:00", "2024-01-26T00:00:00+00:00",
                                "2024-02-01T00:00:00+00:00", "2024-02-02T00:00:00+00:00"}));
  EXPECT_THAT(Fires("0 0 1 * mon", kJan1, 7),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-08T00:00:00+00:00",
                                "2024-01-15T00:00:00+00:00", "2024-01-22T00:00:00+00:00",
                                "2024-01-29T00:00:00+00:00", "2024-02-01T00:00:00+00:00",
                                "2024-02-05T00:00:00+00:00"}));
}

TEST(Crontab, FullDayRangeWrittenWithoutAStarStillOrsWithTheWeekday) {
  // Vixie cron decides on the first character: "1-31" restricts (formally), so every day matches.
  EXPECT_EQ(Fires("0 0 1-31 * mon", kJan1, 10), Fires("0 0 * * *", kJan1, 10));
}

TEST(Crontab, DayStartingWithStarIsAndedWithWeekday) {
  // "*/2" restricts the day but starts with '*': odd days that are Mondays (AND).
  EXPECT_THAT(Fires("0 0 */2 * mon", kJan1, 5),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-15T00:00:00+00:00",
                                "2024-01-29T00:00:00+00:00", "2024-02-05T00:00:00+00:00",
                                "2024-02-19T00:00:00+00:00"}));
}

TEST(Crontab, WeekdayStartingWithStarIsAndedWithDay) {
  EXPECT_THAT(Fires("0 12 1-7 * */2", kJan1, 4),
              ElementsAreArray({"2024-01-02T12:00:00+00:00", "2024-01-04T12:00:00+00:00",
                                "2024-01-06T12:00:00+00:00", "2024-01-07T12:00:00+00:00"}));
}

TEST(Crontab, OnlyOneOfDayAndWeekdayRestrictedUsesThatOne) {
  EXPECT_THAT(Fires("0 0 * * mon", kJan1, 2),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-01-08T00:00:00+00:00"}));
  EXPECT_THAT(Fires("0 0 13 * *", kJan1, 2),
              ElementsAreArray({"2024-01-13T00:00:00+00:00", "2024-02-13T00:00:00+00:00"}));
}

TEST(Crontab, MonthNamesAndNumbersAgree) {
  EXPECT_THAT(Fires("0 0 1 jan,JUL *", kJan1, 3),
              ElementsAreArray({"2024-01-01T00:00:00+00:00", "2024-07-01T00:00:00+00:00",
                                "2025-01-01T00:00:00+00:00"}));
  EXPECT_EQ(Fires("0 0 1 jan,JUL *", kJan1, 5), Fires("0 0 1 1,7 *", kJan1, 5));
}

TEST(Crontab, ApschedulerDayExtrasStillWork) {
  // `last`, `last fri`, `3rd wed` are accepted in the day field (spec A3.7), as one field each;
  // a two-word day item cannot be written in a whitespace-split crontab line, so only `last`.
  EXPECT_THAT(Fires("0 0 last * *", kJan1, 3),
              ElementsAreArray({"2024-01-31T00:00:00+00:00", "2024-02-29T00:00:00+00:00",
                                "2024-03-31T00:00:00+00:00"}));
}

TEST(Crontab, MacrosExpandToTheirCrontabLines) {
  const char from[] = "2024-03-15 10:20:00";  // a Friday
  EXPECT_THAT(Fires("@yearly", from, 2),
              ElementsAreArray({"2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"}));
  EXPECT_EQ(Fires("@annually", from, 3), Fires("@yearly", from, 3));
  EXPECT_THAT(Fires("@monthly", from, 2),
              ElementsAreArray({"2024-04-01T00:00:00+00:00", "2024-05-01T00:00:00+00:00"}));
  EXPECT_THAT(Fires("@weekly", from, 2),
              ElementsAreArray({"2024-03-17T00:00:00+00:00", "2024-03-24T00:00:00+00:00"}));
  EXPECT_THAT(Fires("@daily", from, 2),
              ElementsAreArray({"2024-03-16T00:00:00+00:00", "2024-03-17T00:00:00+00:00"}));
  EXPECT_EQ(Fires("@midnight", from, 3), Fires("@daily", from, 3));
  EXPECT_THAT(Fires("@hourly", from, 2),
              ElementsAreArray({"2024-03-15T11:00:00+00:00", "2024-03-15T12:00:00+00:00"}));
  EXPECT_EQ(Fires("  @hourly  ", from, 3), Fires("@hourly", from, 3));
}

TEST(Crontab, RebootMacroIsRejected) {
  const std::string msg = Error("@reboot");
  EXPECT_THAT(msg, HasSubstr("@reboot"));
  EXPECT_THAT(msg, ::testing::Not(StartsWith("ok")));
}

TEST(Crontab, UnknownMacroIsRejectedListingTheKnownOnes) {
  const std::string msg = Error("@every5m");
  EXPECT_THAT(msg, HasSubstr("@every5m"));
  EXPECT_THAT(msg, HasSubstr("@hourly"));
  EXPECT_THAT(Error("@Daily"), ::testing::Not(StartsWith("ok")));
}

TEST(Crontab, WrongFieldCountSaysHowManyWereGiven) {
  EXPECT_THAT(Error("* * * *"), StartsWith("Wrong number of fields; got 4, expected 5"));
  EXPECT_THAT(Error("0 * * * * *"), StartsWith("Wrong number of fields; got 6, expected 5"));
  EXPECT_THAT(Error("0 0 * * * 2024 x"), StartsWith("Wrong number of fields; got 7, expected 5"));
  EXPECT_THAT(Error(""), StartsWith("Wrong number of fields; got 0, expected 5"));
  EXPECT_THAT(Error("   "), StartsWith("Wrong number of fields; got 0, expected 5"));
}

TEST(Crontab, TabsAndRepeatedSpacesSeparateFields) {
  EXPECT_EQ(Fires("0\t9  *\t* \t1-5", kJan1, 5), Fires("0 9 * * 1-5", kJan1, 5));
}

TEST(Crontab, EachBadTokenNamesItsField) {
  struct Case {
    const char* line;
    const char* field;
  };
  const Case cases[] = {
      {"60 * * * *", "crontab field 1 (minute)"},
      {"x * * * *", "crontab field 1 (minute)"},
      {"* 24 * * *", "crontab field 2 (hour)"},
      {"* -1 * * *", "crontab field 2 (hour)"},
      {"* * 0 * *", "crontab field 3 (day)"},
      {"* * 32 * *", "crontab field 3 (day)"},
      {"* * * 0 *", "crontab field 4 (month)"},
      {"* * * 13 *", "crontab field 4 (month)"},
      {"* * * foo *", "crontab field 4 (month)"},
      {"* * * * 8", "crontab field 5 (day_of_week)"},
      {"* * * * monday", "crontab field 5 (day_of_week)"},
      {"* * * * */0", "crontab field 5 (day_of_week)"},
      {"*/0 * * * *", "crontab field 1 (minute)"},
      {"1-2-3 * * * *", "crontab field 1 (minute)"},
  };
  for (const Case& c : cases) {
    const std::string msg = Error(c.line);
    EXPECT_THAT(msg, HasSubstr(c.field)) << c.line;
  }
  // The underlying APScheduler message is kept.
  EXPECT_THAT(Error("* * * * 8"), HasSubstr("Error validating expression '8': the last value (8) "
                                            "is higher than the maximum value (7)"));
  EXPECT_THAT(Error("* * * foo *"), HasSubstr("Invalid month name \"foo\""));
}

TEST(Crontab, QuartzAndJenkinsExtensionsAreRejectedWithAHint) {
  const char* const lines[] = {"0 0 L * *",  "0 0 15W * *", "0 0 * * 5#3", "0 0 ? * *",
                               "0 0 * * 5L", "H * * * *",   "0 0 LW * *",  "0 0 * * ?"};
  for (const char* line : lines) {
    const std::string msg = Error(line);
    EXPECT_THAT(msg, HasSubstr("crontab field")) << line;
    EXPECT_THAT(msg, HasSubstr("not supported")) << line;
  }
}

TEST(Crontab, DstGapTimeFiresOnceShifted) {
  EXPECT_THAT(Fires("30 2 * * *", "2024-03-09 00:00", 3, "America/New_York"),
              ElementsAreArray({"2024-03-09T02:30:00-05:00", "2024-03-10T03:30:00-04:00",
                                "2024-03-11T02:30:00-04:00"}));
}

TEST(Crontab, DstFoldTimeFiresTwice) {
  EXPECT_THAT(Fires("30 1 * * *", "2024-11-02 00:00", 4, "America/New_York"),
              ElementsAreArray({"2024-11-02T01:30:00-04:00", "2024-11-03T01:30:00-04:00",
                                "2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"}));
}

TEST(Crontab, KeepsTheLineItWasMadeFrom) {
  Result<std::unique_ptr<CronTrigger>> t = CronTrigger::FromCrontab("0 9 * * 1-5", UtcZone());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->crontab(), "0 9 * * 1-5");
  Result<std::unique_ptr<CronTrigger>> c = CronTrigger::Create(CronOptions{});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->crontab(), "");
}

TEST(Crontab, StartAndEndDatesAreInclusive) {
  const Instant start = At("2024-01-02 09:00", *UtcZone());
  const Instant end = At("2024-01-03 09:00", *UtcZone());
  Result<std::unique_ptr<CronTrigger>> t =
      CronTrigger::FromCrontab("0 9 * * *", UtcZone(), {}, start, end);
  ASSERT_TRUE(t.ok());
  const std::optional<Instant> a = (*t)->Next(std::nullopt, At(kJan1, *UtcZone()));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(FormatIso(*a, *UtcZone()), "2024-01-02T09:00:00+00:00");
  const std::optional<Instant> b = (*t)->Next(a, *a);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(FormatIso(*b, *UtcZone()), "2024-01-03T09:00:00+00:00");
  EXPECT_FALSE((*t)->Next(b, *b).has_value());
}

}  // namespace
}  // namespace aps
