// Parsing APScheduler's date strings (spec A1 convert_to_datetime, plus HH:MM without seconds)
// and printing ISO-8601 times and Python-style timedeltas.
#include "engine/datetime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/time_zone.h"
#include "tests/engine/test_util.h"

namespace aps {
namespace {

using test::At;
using test::Iso;
using test::MillisToRun;
using test::Zone;

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The parsed instant printed in UTC, or "error: ...".
std::string Parse(const std::string& text, const std::string& zone = "UTC") {
  Result<Instant> t = ParseDateTime(text, *Zone(zone));
  if (!t.ok()) return std::string("error: ") + t.status().message();
  return FormatIsoUtc(*t);
}

// The parsed instant printed in `zone`.
std::string ParseIn(const std::string& text, const std::string& zone) {
  const TimeZonePtr z = Zone(zone);
  Result<Instant> t = ParseDateTime(text, *z);
  if (!t.ok()) return std::string("error: ") + t.status().message();
  return FormatIso(*t, *z);
}

TEST(ParseDateTime, AcceptsDateOnly) {
  EXPECT_EQ(Parse("2024-01-05"), "2024-01-05T00:00:00+00:00");
  EXPECT_EQ(Parse("2024-1-5"), "2024-01-05T00:00:00+00:00");
  EXPECT_EQ(Parse("2024-12-31"), "2024-12-31T00:00:00+00:00");
  EXPECT_EQ(Parse("2024-02-29"), "2024-02-29T00:00:00+00:00");
}

TEST(ParseDateTime, AcceptsSpaceOrTBeforeTheTime) {
  EXPECT_EQ(Parse("2024-01-05 08:09:10"), "2024-01-05T08:09:10+00:00");
  EXPECT_EQ(Parse("2024-01-05T08:09:10"), "2024-01-05T08:09:10+00:00");
}

TEST(ParseDateTime, AcceptsOneOrTwoDigitTimeFields) {
  EXPECT_EQ(Parse("2024-01-05 8:9:1"), "2024-01-05T08:09:01+00:00");
  EXPECT_EQ(Parse("2024-01-05 23:59:59"), "2024-01-05T23:59:59+00:00");
}

TEST(ParseDateTime, AcceptsHoursAndMinutesWithoutSeconds) {
  EXPECT_EQ(Parse("2024-01-05 08:00"), "2024-01-05T08:00:00+00:00");
  EXPECT_EQ(Parse("2024-01-05T8:30"), "2024-01-05T08:30:00+00:00");
  EXPECT_EQ(Parse("2024-01-05 08:00Z"), "2024-01-05T08:00:00+00:00");
  EXPECT_EQ(Parse("2024-01-05 08:00+02:00"), "2024-01-05T06:00:00+00:00");
}

TEST(ParseDateTime, FractionIsAFractionOfASecond) {
  EXPECT_EQ(Parse("2024-01-05 08:00:00.5"), "2024-01-05T08:00:00.500000+00:00");
  EXPECT_EQ(Parse("2024-01-05 08:00:00.05"), "2024-01-05T08:00:00.050000+00:00");
  EXPECT_EQ(Parse("2024-01-05 08:00:00.123"), "2024-01-05T08:00:00.123000+00:00");
  EXPECT_EQ(Parse("2024-01-05 08:00:00.123456"), "2024-01-05T08:00:00.123456+00:00");
  EXPECT_EQ(Parse("2024-01-05 08:00:00.000001"), "2024-01-05T08:00:00.000001+00:00");
  EXPECT_EQ(Parse("2024-01-05 08:00:00.000000"), "2024-01-05T08:00:00+00:00");
  Result<ParsedDateTime> p = ParseDateTimeFields("2024-01-05 08:00:00.5");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->micros, 500000);
}

TEST(ParseDateTime, ZAndNumericOffsetsOverrideTheZone) {
  EXPECT_EQ(Parse("2024-01-05 08:00:00Z", "Europe/Helsinki"), "2024-01-05T08:00:00+00:00");
  EXPECT_EQ(Parse("2024-01-05T08:00:00+05:30", "Europe/Helsinki"), "2024-01-05T02:30:00+00:00");
  EXPECT_EQ(Parse("2024-01-05T08:00:00-03:00", "Europe/Helsinki"), "2024-01-05T11:00:00+00:00");
  EXPECT_EQ(Parse("2024-01-05T08:00:00.25-00:00"), "2024-01-05T08:00:00.250000+00:00");
  Result<ParsedDateTime> p = ParseDateTimeFields("2024-01-05T08:00:00-03:30");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->has_offset);
  EXPECT_TRUE(p->has_time);
  EXPECT_EQ(p->offset_seconds, -(3 * 3600 + 30 * 60));
}

TEST(ParseDateTime, NaiveTimeIsLocalizedInTheZone) {
  EXPECT_EQ(ParseIn("2024-01-05 08:00", "Europe/Helsinki"), "2024-01-05T08:00:00+02:00");
  EXPECT_EQ(ParseIn("2024-07-05 08:00", "Europe/Helsinki"), "2024-07-05T08:00:00+03:00");
  EXPECT_EQ(ParseIn("2024-07-05 08:00", "UTC+05:30"), "2024-07-05T08:00:00+05:30");
  EXPECT_EQ(ParseIn("2024-07-05 08:00", "EST5EDT,M3.2.0,M11.1.0"), "2024-07-05T08:00:00-04:00");
}

TEST(ParseDateTime, NaiveTimeInADstGapUsesThePreTransitionOffset) {
  EXPECT_EQ(ParseIn("2024-03-31 03:30", "Europe/Helsinki"), "2024-03-31T04:30:00+03:00");
  EXPECT_EQ(ParseIn("2024-03-10 02:30:00", "America/New_York"), "2024-03-10T03:30:00-04:00");
  EXPECT_EQ(ParseIn("2024-03-10 02:00:00", "America/New_York"), "2024-03-10T03:00:00-04:00");
}

TEST(ParseDateTime, NaiveTimeInAFoldTakesTheFirstOccurrence) {
  EXPECT_EQ(ParseIn("2024-10-27 03:30", "Europe/Helsinki"), "2024-10-27T03:30:00+03:00");
  EXPECT_EQ(ParseIn("2024-11-03 01:30", "America/New_York"), "2024-11-03T01:30:00-04:00");
  EXPECT_EQ(ParseIn("2024-11-03 01:59:59.999999", "America/New_York"),
            "2024-11-03T01:59:59.999999-04:00");
}

TEST(ParseDateTime, RejectsBadStringsWithAClearMessage) {
  const char* const bad[] = {
      "",
      "2024",
      "2024-01",
      "24-01-01",
      "02024-01-01",
      "2024/01/01",
      "2024-13-01",
      "2024-00-10",
      "2024-01-00",
      "2024-02-30",
      "2023-02-29",
      "2024-04-31",
      "0000-01-01",
      "2024-01-01 24:00",
      "2024-01-01 12:60",
      "2024-01-01 12:00:60",
      "2024-01-01 12",
      "2024-01-01 12:",
      "2024-01-01 12:00:",
      "2024-01-01 123:00",
      "2024-01-01 12:00:00.",
      "2024-01-01 12:00:00.1234567",
      "2024-01-01 12:00:00,5",
      "2024-01-01T12:00:00+0530",
      "2024-01-01T12:00:00+5:30",
      "2024-01-01T12:00:00+05",
      "2024-01-01T12:00:00+24:00",
      "2024-01-01T12:00:00+05:60",
      "2024-01-01T12:00:00 +05:30",
      "2024-01-01T12:00:00Zjunk",
      "2024-01-01T12:00:00z",
      "2024-01-01x",
      "2024-01-01  12:00",
      " 2024-01-01",
      "2024-01-01 ",
      "tomorrow",
      "2024-\xef\xbc\x91-01",  // FULLWIDTH DIGIT ONE
      "2024-01-01\n",
  };
  for (const char* text : bad) {
    const std::string got = Parse(text);
    EXPECT_THAT(got, StartsWith("error: Invalid date string")) << "'" << text << "'";
    Result<ParsedDateTime> p = ParseDateTimeFields(text);
    EXPECT_FALSE(p.ok()) << "'" << text << "'";
  }
  EXPECT_THAT(Parse("2024-13-01"), HasSubstr("\"2024-13-01\""));
}

TEST(ParseDateTime, MessageNamesTheExpectedForm) {
  EXPECT_THAT(Parse("2024-01-01 12"), HasSubstr("YYYY-MM-DD"));
}

TEST(ParseDateTime, ExtremeYearsAreAccepted) {
  EXPECT_EQ(Parse("0001-01-01"), "0001-01-01T00:00:00+00:00");
  EXPECT_EQ(Parse("9999-12-31 23:59:59.999999"), "9999-12-31T23:59:59.999999+00:00");
}

TEST(FormatIso, PrintsTheOffsetOfTheZoneAtThatInstant) {
  const TimeZonePtr hel = Zone("Europe/Helsinki");
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(1704067200), *hel), "2024-01-01T02:00:00+02:00");
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(1719792000), *hel), "2024-07-01T03:00:00+03:00");
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(1704067200), *Zone("UTC-03:30")),
            "2023-12-31T20:30:00-03:30");
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(1704067200), *UtcZone()),
            "2024-01-01T00:00:00+00:00");
}

TEST(FormatIso, PrintsMicrosecondsOnlyWhenNonZero) {
  EXPECT_EQ(FormatIso(Instant::FromUnixMicros(1704067200LL * 1000000 + 1), *UtcZone()),
            "2024-01-01T00:00:00.000001+00:00");
  EXPECT_EQ(FormatIso(Instant::FromUnixMicros(1704067200LL * 1000000 + 500000), *UtcZone()),
            "2024-01-01T00:00:00.500000+00:00");
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(1704067200), *UtcZone()),
            "2024-01-01T00:00:00+00:00");
}

TEST(FormatIso, NegativeInstantsUseFloorDivision) {
  EXPECT_EQ(FormatIso(Instant::FromUnixMicros(-1), *UtcZone()), "1969-12-31T23:59:59.999999+00:00");
  EXPECT_EQ(FormatIso(Instant::FromUnixMicros(-1000000), *UtcZone()), "1969-12-31T23:59:59+00:00");
}

TEST(FormatIso, OffsetsWithSecondsArePrintedWithSeconds) {
  // A POSIX zone with a seconds offset, like local mean time (Amsterdam's AMT was +00:19:32).
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(0), *Zone("AMT-0:19:32")),
            "1970-01-01T00:19:32+00:19:32");
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(0), *Zone("XMT3:25:07")),
            "1969-12-31T20:34:53-03:25:07");
  // Helsinki Mean Time before 1921.
  const TimeZonePtr hel = Zone("Europe/Helsinki");
  Result<Instant> t = ParseDateTime("1900-01-01 00:00", *hel);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatIso(*t, *hel), "1900-01-01T00:00:00+01:39:49");
}

TEST(FormatIsoUtc, AlwaysPrintsUtc) {
  EXPECT_EQ(FormatIsoUtc(Instant::FromUnixMicros(1704067200LL * 1000000 + 42)),
            "2024-01-01T00:00:00.000042+00:00");
}

TEST(FormatCivilSpace, UsesTheZoneAbbreviationLikeApscheduler) {
  const TimeZonePtr berlin = Zone("Europe/Berlin");
  Result<Instant> t = ParseDateTime("2009-07-06 00:00:00", *berlin);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatCivilSpace(*t, *berlin), "2009-07-06 00:00:00 CEST");
  Result<Instant> w = ParseDateTime("2009-02-03 11:00:00", *berlin);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(FormatCivilSpace(*w, *berlin), "2009-02-03 11:00:00 CET");
  EXPECT_EQ(FormatCivilSpace(*w, *UtcZone()), "2009-02-03 10:00:00 UTC");
}

TEST(FormatTimedelta, MatchesPythonStrOfTimedelta) {
  struct Case {
    std::int64_t us;
    const char* text;  // str(timedelta(microseconds=us)) in Python
  };
  constexpr std::int64_t kS = kMicrosPerSecond;
  const Case cases[] = {
      {0, "0:00:00"},
      {30 * kS, "0:00:30"},
      {3600 * kS, "1:00:00"},
      {10 * 3600 * kS, "10:00:00"},
      {86399 * kS, "23:59:59"},
      {86400 * kS, "1 day, 0:00:00"},
      {7 * 86400 * kS, "7 days, 0:00:00"},
      {100 * 3600 * kS, "4 days, 4:00:00"},
      {(86400 + 2 * 3600 + 3 * 60 + 4) * kS + 500000, "1 day, 2:03:04.500000"},
      {1, "0:00:00.000001"},
      {999999, "0:00:00.999999"},
      {-1, "-1 day, 23:59:59.999999"},
      {-30 * kS, "-1 day, 23:59:30"},
      {-86400 * kS, "-1 day, 0:00:00"},
      {-2 * 86400 * kS, "-2 days, 0:00:00"},
      {-(86400 * kS + 1), "-2 days, 23:59:59.999999"},
      {100000000LL * 86400 * kS, "100000000 days, 0:00:00"},
  };
  for (const Case& c : cases) EXPECT_EQ(FormatTimedelta(c.us), c.text) << c.us;
}

TEST(FormatSecondsNumber, PrintsCompactDecimals) {
  EXPECT_EQ(FormatSecondsNumber(7200 * kMicrosPerSecond), "7200");
  EXPECT_EQ(FormatSecondsNumber(500000), "0.5");
  EXPECT_EQ(FormatSecondsNumber(1000001), "1.000001");
  EXPECT_EQ(FormatSecondsNumber(-1500000), "-1.5");
  EXPECT_EQ(FormatSecondsNumber(0), "0");
  EXPECT_EQ(FormatSecondsNumber(1), "0.000001");
}

}  // namespace
}  // namespace aps
