// The stable trigger text form: ParseTrigger(t->ToText()) rebuilds an equal trigger (same text,
// same fire times) for every kind; malformed text gets clear errors; ParseDecimalMicros rounds
// half to even and checks its range.
#include "engine/trigger_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/calendar_interval_trigger.h"
#include "engine/combining_trigger.h"
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

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Two different "now"s: defaults that depend on now must be written into the text form.
const Instant kNow1 = Instant::FromUnixSeconds(1704067200 + 12345);         // 2024-01-01T03:25:45Z
const Instant kNow2 = Instant::FromUnixMicros(1767225600LL * 1000000 + 7);  // 2026-01-01 + 7 µs

std::vector<std::string> Fires(const Trigger& t, Instant now, int n) {
  return test::FireTimes(t, std::nullopt, now, n);
}

// Checks that `t` survives a trip through its text form.
void ExpectRoundTrip(const Trigger& t) {
  const std::string text = t.ToText();
  SCOPED_TRACE(text);
  Result<std::unique_ptr<Trigger>> back = ParseTrigger(text, kNow2);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->ToText(), text);
  EXPECT_EQ((*back)->kind(), t.kind());
  EXPECT_EQ((*back)->Describe(), t.Describe());
  EXPECT_EQ((*back)->zone()->name(), t.zone()->name());
  for (const char* from :
       {"2023-12-31 23:59:59.999999", "2024-03-10 01:59:00", "2026-06-15 12:00:00"}) {
    EXPECT_EQ(Fires(**back, At(from), 20), Fires(t, At(from), 20)) << "from " << from;
  }
}

TEST(TriggerText, EveryKindRoundTripsThroughItsTextForm) {
  const char* const texts[] = {
      "cron(hour='9', day_of_week='mon-fri', timezone='Europe/Helsinki')",
      "cron(year='2024-2030', month='jan-mar,oct', day='last fri,1st mon', hour='8-10', "
      "minute='*/15', "
      "second='30', timezone='America/New_York')",
      "cron(week='1,53', day_of_week='*/2', timezone='Australia/Sydney', start_date='2024-03-01 "
      "10:00:00.123456', "
      "end_date='2027-12-31T23:59:59.999999+00:00')",
      "cron(minute='*/7', jitter=12.5, jitter_seed=42, timezone='UTC+05:30')",
      "cron(minute='0', jitter=30)",
      "cron()",
      "cron(second='*/20', minute='1-59/2', hour='*/3', day='*/10', month='*/5', "
      "timezone='<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45')",
      "cron(day='last', hour='2', minute='30', timezone='US/Eastern')",
      "crontab('0 9 * * 1-5', timezone='Europe/Berlin')",
      "crontab('@weekly', timezone='EST5EDT,M3.2.0,M11.1.0')",
      "crontab('30 2 1,15 * mon', timezone='America/New_York', start_date='2024-01-01', "
      "end_date='2026-06-30 12:00', jitter=0.000001, jitter_seed=1)",
      "crontab(expr='*/5 * * * sun')",
      "interval(hours=2, start_date='2024-01-01T00:00:00+00:00', timezone='UTC')",
      "interval(weeks=1, days=2, hours=3, minutes=4, seconds=5.25, microseconds=7, "
      "start_date='2024-01-01 08:00:00.000001', end_date='2030-01-01', timezone='Europe/Helsinki', "
      "jitter=3, "
      "jitter_seed=99)",
      "interval(seconds=0.000001, start_date='2024-01-01')",
      "interval(minutes=90)",
      "interval(days=1, timezone='-03:00', start_date='2024-03-30 12:00')",
      "date(run_date='2024-06-01T12:00:00+03:00')",
      "date(run_date='2024-06-01 12:00:00.5', timezone='Pacific/Chatham')",
      "date()",
      "calendarinterval(months=1, hour=9, start_date='2024-01-31', timezone='Europe/Helsinki')",
      "calendarinterval(years=1, weeks=2, days=3, hour=23, minute=59, second=59, "
      "start_date='2024-02-29', "
      "end_date='2040-01-01', timezone='<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45', jitter=60, "
      "jitter_seed=5)",
      "calendarinterval(days=1)",
      "and(cron(day_of_week='mon', hour='10'), cron(day='1-7', hour='10'))",
      "and(cron(minute='*/3'), cron(minute='*/2'), max_iterations=100, jitter=1, jitter_seed=8)",
      "or(date(run_date='2024-01-01T00:05:00+00:00'), interval(minutes=30, "
      "start_date='2024-01-01'))",
      "or(and(cron(day_of_week='mon', hour='10', timezone='Europe/Helsinki'), cron(day='1-7', "
      "hour='10', "
      "timezone='Europe/Helsinki')), crontab('0 12 15 * *'), date(run_date='2024-03-03'), "
      "jitter=0.5, "
      "jitter_seed=3)",
      "and(or(and(or(cron(minute='0', timezone='Asia/Kolkata')), interval(hours=1, "
      "start_date='2024-01-01'))), "
      "cron(hour='*/2'))",
  };
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    Result<std::unique_ptr<Trigger>> t = ParseTrigger(text, kNow1);
    ASSERT_TRUE(t.ok()) << t.status().message();
    ExpectRoundTrip(**t);
  }
}

TEST(TriggerText, TriggersBuiltInCodeRoundTrip) {
  std::vector<std::unique_ptr<Trigger>> all;
  const char* const zones[] = {"UTC",       "Europe/Helsinki",     "America/New_York",
                               "UTC-09:30", "Australia/Lord_Howe", "CET-1CEST,M3.5.0,M10.5.0/3"};
  const CronOptions fields[] = {
      {.hour = "3"},
      {.minute = "*/10", .second = "5"},
      {.day = "last sun", .hour = "1", .minute = "30"},
      {.month = "3,10", .day = "5th sun", .hour = "*"},
      {.week = "10-20", .day_of_week = "sat"},
      {.year = "2025/3", .month = "2", .day = "29"},
  };
  std::uint64_t seed = 1;
  for (const char* zone_name : zones) {
    Result<TimeZonePtr> zone = LoadTimeZone(zone_name);
    ASSERT_TRUE(zone.ok()) << zone_name << ": " << zone.status().message();
    for (const CronOptions& f : fields) {
      CronOptions o = f;
      o.timezone = *zone;
      o.start_date = Instant::FromUnixMicros(1704067200LL * 1000000 + 123457);
      o.end_date = Instant::FromUnixMicros(2000000000LL * 1000000 + 999999);
      o.jitter = Jitter{.max_us = static_cast<std::int64_t>(seed * 1234567), .seed = seed * 7919};
      ++seed;
      Result<std::unique_ptr<CronTrigger>> c = CronTrigger::Create(o);
      ASSERT_TRUE(c.ok()) << c.status().message();
      all.push_back(std::move(c).value());
    }
    Result<std::unique_ptr<IntervalTrigger>> i =
        IntervalTrigger::Create({.interval = std::chrono::microseconds(3600000001LL),
                                 .timezone = *zone,
                                 .start_date = Instant::FromUnixMicros(1704067200LL * 1000000 + 1),
                                 .jitter = Jitter{.max_us = 999999, .seed = seed++}},
                                kNow1);
    ASSERT_TRUE(i.ok()) << i.status().message();
    all.push_back(std::move(i).value());
    Result<std::unique_ptr<DateTrigger>> d =
        DateTrigger::Create(Instant::FromUnixMicros(1719835200LL * 1000000 + 654321), *zone);
    ASSERT_TRUE(d.ok());
    all.push_back(std::move(d).value());
    Result<std::unique_ptr<CalendarIntervalTrigger>> k =
        CalendarIntervalTrigger::Create({.months = 1,
                                         .days = 1,
                                         .hour = 2,
                                         .minute = 30,
                                         .start_date = CivilDay{2024, 1, 31},
                                         .end_date = CivilDay{2031, 1, 1},
                                         .timezone = *zone},
                                        kNow1);
    ASSERT_TRUE(k.ok()) << k.status().message();
    all.push_back(std::move(k).value());
  }
  // Combinations of clones of the above.
  for (std::size_t i = 0; i + 1 < all.size() && i < 20; i += 3) {
    std::vector<std::unique_ptr<Trigger>> kids;
    kids.push_back(all[i]->Clone());
    kids.push_back(all[i + 1]->Clone());
    Result<std::unique_ptr<CombiningTrigger>> o =
        CombiningTrigger::CreateOr(std::move(kids), Jitter{.max_us = 5, .seed = i + 1});
    ASSERT_TRUE(o.ok());
    std::vector<std::unique_ptr<Trigger>> kids2;
    kids2.push_back(std::move(o).value());
    kids2.push_back(all[i + 2 < all.size() ? i + 2 : 0]->Clone());
    Result<std::unique_ptr<CombiningTrigger>> a =
        CombiningTrigger::CreateAnd(std::move(kids2), {}, 50);
    ASSERT_TRUE(a.ok());
    all.push_back(std::move(a).value());
  }
  for (const auto& t : all) ExpectRoundTrip(*t);
}

TEST(TriggerText, TriggersWithDatesNearYear9999RoundTripOrAreRejected) {
  // Whatever ParseTrigger accepts, it must read back from ToText(). Instants late on
  // 9999-12-31 (or an interval's default start_date = now + interval) can lie past the last
  // four-digit year in the trigger's zone.
  const Instant late =
      Instant::FromUnixSeconds(253402300799LL - 11 * 86400);  // 9999-12-20T23:59:59Z
  const char* const texts[] = {
      "interval(days=30)",
      "interval(days=30, start_date='9999-12-31T23:59:59-23:59')",
      "date(run_date='9999-12-31T23:59:59-23:59')",
      "date(run_date='9999-12-31 23:00', timezone='UTC-05:00')",
      "cron(hour='1', start_date='9999-12-31T23:59:59-23:59')",
      "cron(hour='1', end_date='9999-12-31T23:59:59-23:59')",
  };
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    Result<std::unique_ptr<Trigger>> t = ParseTrigger(text, late);
    if (!t.ok()) continue;  // rejecting is fine too
    const std::string again = (*t)->ToText();
    Result<std::unique_ptr<Trigger>> back = ParseTrigger(again, late);
    EXPECT_TRUE(back.ok()) << again << ": " << back.status().message();
    if (back.ok()) {
      EXPECT_EQ((*back)->ToText(), again);
    }
  }
}

TEST(TriggerText, JitterWithoutASeedGetsOneThatTheTextKeeps) {
  Result<std::unique_ptr<Trigger>> t = ParseTrigger("cron(minute='*/5', jitter=30)", kNow1);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_NE((*t)->jitter().seed, 0u);
  EXPECT_THAT((*t)->ToText(), HasSubstr("jitter_seed="));
  ExpectRoundTrip(**t);
}

TEST(TriggerText, NaiveDatesAreReadInTheTriggerZone) {
  Result<std::unique_ptr<Trigger>> t =
      ParseTrigger("date(run_date='2024-06-01 12:00', timezone='Europe/Helsinki')", kNow1);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(FormatIso(*(*t)->Next(std::nullopt, kNow1), *UtcZone()), "2024-06-01T09:00:00+00:00");
}

TEST(TriggerText, DefaultZoneAppliesWhenNoneIsNamed) {
  Result<TimeZonePtr> ny = LoadTimeZone("America/New_York");
  ASSERT_TRUE(ny.ok());
  Result<std::unique_ptr<Trigger>> t = ParseTrigger("cron(hour='9')", kNow1, *ny);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)->zone()->name(), "America/New_York");
  Result<std::unique_ptr<Trigger>> u = ParseTrigger("cron(hour='9')", kNow1);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ((*u)->zone()->name(), "UTC");
}

TEST(TriggerText, WhitespaceAndEscapesAreAccepted) {
  Result<std::unique_ptr<Trigger>> t =
      ParseTrigger("  cron (\n  hour = '9' ,\tday = 'last\\ fri'\r\n)  ", kNow1);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)->Describe(), "cron[day='last fri', hour='9']");
  Result<TriggerSpec> s = ParseTriggerSpec("cron(day='a\\'b\\\\c')");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->args.size(), 1u);
  EXPECT_EQ(s->args[0].value, "a'b\\c");
  EXPECT_FALSE(s->args[0].is_number);
}

// ---------------------------------------------------------------------------------------------
// Malformed text.

std::string ParseError(const std::string& text) {
  Result<std::unique_ptr<Trigger>> t = ParseTrigger(text, kNow1);
  if (t.ok()) return "ok: " + (*t)->ToText();
  EXPECT_NE(t.status().code(), StatusCode::kOk);
  EXPECT_STRNE(t.status().message(), "") << text;
  return t.status().message();
}

TEST(TriggerText, UnknownTypeListsTheKnownTypes) {
  const std::string msg = ParseError("cronjob(hour='1')");
  EXPECT_THAT(msg, HasSubstr("unknown trigger type \"cronjob\""));
  EXPECT_THAT(msg, HasSubstr("cron, crontab, interval, date, calendarinterval, and, or"));
}

TEST(TriggerText, UnknownArgumentListsTheKnownArguments) {
  const std::string msg = ParseError("cron(hours='1')");
  EXPECT_THAT(msg, HasSubstr("cron: unknown argument \"hours\""));
  EXPECT_THAT(msg,
              HasSubstr("year, month, day, week, day_of_week, hour, minute, second, timezone"));
  EXPECT_THAT(ParseError("interval(hour=1)"), HasSubstr("interval: unknown argument \"hour\""));
  EXPECT_THAT(ParseError("or(cron(hour='1'), max_iterations=5)"),
              HasSubstr("or: unknown argument \"max_iterations\""));
  EXPECT_THAT(ParseError("date(run_date='2024-01-01', jitter=1)"),
              HasSubstr("date: unknown argument \"jitter\""));
}

TEST(TriggerText, MissingClosingQuoteIsReported) {
  EXPECT_THAT(ParseError("cron(hour='1)"), HasSubstr("unterminated string"));
  EXPECT_THAT(ParseError("cron(hour='1\\')"), HasSubstr("unterminated string"));
}

TEST(TriggerText, MissingClosingParenthesisIsReported) {
  EXPECT_THAT(ParseError("cron(hour='1'"), HasSubstr("')'"));
  EXPECT_THAT(ParseError("and(cron(hour='1'), cron(minute='2')"), HasSubstr("')'"));
  EXPECT_THAT(ParseError("cron(hour='1' minute='2')"), HasSubstr("expected ',' or ')'"));
}

TEST(TriggerText, MessagesGiveTheOffset) {
  EXPECT_THAT(ParseError("cron(hour='1' minute='2')"), HasSubstr("offset 14"));
}

TEST(TriggerText, NestingTooDeepIsRejectedWithoutExhaustingTheStack) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "and(";
  deep += "cron(hour='1')";
  for (int i = 0; i < 40; ++i) deep += ")";
  EXPECT_THAT(ParseError(deep), HasSubstr("nested too deeply"));
  std::string very_deep(100000, '(');
  EXPECT_NE(ParseError("and" + very_deep), "");
  std::string many;
  for (int i = 0; i < 5000; ++i) many += "or(";
  EXPECT_THAT(ParseError(many), HasSubstr("nested too deeply"));
  // A moderately nested trigger is fine.
  std::string ok;
  for (int i = 0; i < 10; ++i) ok += "or(";
  ok += "cron(hour='1')";
  for (int i = 0; i < 10; ++i) ok += ")";
  EXPECT_THAT(ParseError(ok), StartsWith("ok"));
}

TEST(TriggerText, DuplicateArgumentIsRejected) {
  EXPECT_THAT(ParseError("cron(hour='1', hour='2')"),
              HasSubstr("cron: argument \"hour\" given twice"));
  EXPECT_THAT(ParseError("interval(hours=1, hours=2)"),
              HasSubstr("argument \"hours\" given twice"));
  EXPECT_THAT(ParseError("crontab('* * * * *', expr='* * * * *')"), HasSubstr("given twice"));
}

TEST(TriggerText, BadNumberIsRejected) {
  EXPECT_THAT(ParseError("interval(hours=abc)"),
              HasSubstr("interval: hours: \"abc\" is not a number"));
  EXPECT_THAT(ParseError("interval(hours=1.2.3)"), HasSubstr("is not a number"));
  EXPECT_THAT(ParseError("interval(seconds=1e)"), HasSubstr("is not a number"));
  EXPECT_THAT(ParseError("interval(weeks=99999999999999999)"), HasSubstr("out of range"));
  EXPECT_THAT(ParseError("calendarinterval(months=1.5)"), HasSubstr("months must be an integer"));
  EXPECT_THAT(ParseError("calendarinterval(days=-1)"), HasSubstr("days must be an integer from 0"));
  EXPECT_THAT(ParseError("and(cron(hour='1'), max_iterations=0)"), HasSubstr("max_iterations"));
  // Many digits: rejected without overflowing while reading them (UBSan checks the latter).
  EXPECT_THAT(ParseError("calendarinterval(days=99999999999999999999)"),
              HasSubstr("days must be an integer"));
  EXPECT_THAT(ParseError("and(cron(hour='1'), max_iterations=68888888888888666666666)"),
              HasSubstr("max_iterations must be an integer"));
  EXPECT_THAT(ParseError("cron(hour='1', jitter_seed=999999999999999999999999)"),
              HasSubstr("jitter_seed"));
  EXPECT_THAT(ParseError("cron(hour='1', jitter=-1)"), HasSubstr("jitter must not be negative"));
  EXPECT_THAT(ParseError("cron(hour='1', jitter_seed=x1)"), HasSubstr("jitter_seed"));
  EXPECT_THAT(ParseError("cron(hour='1', jitter_seed=-1)"), HasSubstr("jitter_seed"));
}

TEST(TriggerText, BadDateIsRejected) {
  EXPECT_THAT(ParseError("cron(hour='1', start_date='2024-13-01')"),
              HasSubstr("cron: start_date: Invalid date string \"2024-13-01\""));
  EXPECT_THAT(ParseError("date(run_date='tomorrow')"),
              HasSubstr("date: run_date: Invalid date string"));
  EXPECT_THAT(ParseError("interval(hours=1, end_date='2024-02-30')"),
              HasSubstr("end_date: Invalid date string"));
  EXPECT_THAT(ParseError("calendarinterval(days=1, start_date='2024-01-01 10:00')"),
              HasSubstr("start_date must be a date"));
}

TEST(TriggerText, UnknownZoneIsRejected) {
  const std::string msg = ParseError("cron(hour='1', timezone='Mars/Olympus')");
  EXPECT_THAT(msg, StartsWith("cron: "));
  EXPECT_THAT(msg, HasSubstr("unknown time zone \"Mars/Olympus\""));
  EXPECT_THAT(ParseError("interval(hours=1, timezone='europe/helsinki')"),
              HasSubstr("europe/helsinki"));
}

TEST(TriggerText, ValidationErrorsOfTheTriggerAreReported) {
  EXPECT_EQ(ParseError("cron(hour='25')"),
            "Error validating expression '25': the last value (25) is higher than the maximum "
            "value (23)");
  EXPECT_THAT(ParseError("interval()"), HasSubstr("The time interval must be positive"));
  EXPECT_THAT(ParseError("interval(hours=0)"), HasSubstr("The time interval must be positive"));
  EXPECT_THAT(ParseError("calendarinterval(hour=1)"),
              HasSubstr("interval must be at least 1 day long"));
  EXPECT_THAT(ParseError("crontab()"), HasSubstr("missing the crontab line"));
  EXPECT_THAT(ParseError("crontab('* * * *')"),
              HasSubstr("Wrong number of fields; got 4, expected 5"));
  EXPECT_THAT(ParseError("and()"), HasSubstr("at least one"));
  EXPECT_THAT(ParseError("or()"), HasSubstr("at least one"));
  EXPECT_THAT(ParseError("and(cron(hour='x'))"),
              HasSubstr("and, trigger 1: Unrecognized expression \"x\""));
  EXPECT_THAT(ParseError("or(cron(hour='1'), date(run_date='bad'))"), HasSubstr("or, trigger 2:"));
}

TEST(TriggerText, MisplacedArgumentsAreRejected) {
  EXPECT_THAT(ParseError("date(run_date='2024-01-01', cron(hour='1'))"),
              HasSubstr("does not take nested triggers"));
  EXPECT_THAT(ParseError("cron('0 9 * * *')"), HasSubstr("unexpected positional argument"));
  EXPECT_THAT(ParseError("and('x', cron(hour='1'))"), HasSubstr("unexpected positional argument"));
}

TEST(TriggerText, SyntaxErrorsAreReported) {
  EXPECT_THAT(ParseError(""), HasSubstr("expected a trigger name"));
  EXPECT_THAT(ParseError("   "), HasSubstr("expected a trigger name"));
  EXPECT_THAT(ParseError("cron"), HasSubstr("expected '('"));
  EXPECT_THAT(ParseError("cron hour='1'"), HasSubstr("expected '('"));
  EXPECT_THAT(ParseError("cron(hour='1') extra"), HasSubstr("unexpected text after the trigger"));
  EXPECT_THAT(ParseError("cron(hour)"), HasSubstr("expected '='"));
  EXPECT_THAT(ParseError("cron(hour=)"), HasSubstr("expected a value"));
  EXPECT_THAT(ParseError("cron(,)"), HasSubstr("expected an argument"));
  EXPECT_THAT(ParseError("cron(hour='1',)"), HasSubstr("expected an argument"));
}

// ---------------------------------------------------------------------------------------------
// ParseDecimalMicros.

std::string Micros(const std::string& text, std::int64_t unit_us = kMicrosPerSecond) {
  Result<std::int64_t> v = ParseDecimalMicros(text, unit_us);
  if (!v.ok()) return std::string("error: ") + v.status().message();
  return std::to_string(*v);
}

TEST(ParseDecimalMicros, ReadsIntegersAndFractions) {
  EXPECT_EQ(Micros("2"), "2000000");
  EXPECT_EQ(Micros("1.5"), "1500000");
  EXPECT_EQ(Micros("0.000001"), "1");
  EXPECT_EQ(Micros(".5"), "500000");
  EXPECT_EQ(Micros("1."), "1000000");
  EXPECT_EQ(Micros("+2"), "2000000");
  EXPECT_EQ(Micros("-2"), "-2000000");
  EXPECT_EQ(Micros("-1.5"), "-1500000");
  EXPECT_EQ(Micros(" 3 "), "3000000");
  EXPECT_EQ(Micros("007"), "7000000");
  EXPECT_EQ(Micros("0"), "0");
  EXPECT_EQ(Micros("1.5", 60 * kMicrosPerSecond), "90000000");
  EXPECT_EQ(Micros("0.5", 604800 * kMicrosPerSecond), "302400000000");
  EXPECT_EQ(Micros("7", 1), "7");
}

TEST(ParseDecimalMicros, RoundsHalfToEvenLikePythonTimedelta) {
  EXPECT_EQ(Micros("0.0000005"), "0");   // 0.5 µs -> 0
  EXPECT_EQ(Micros("0.0000015"), "2");   // 1.5 µs -> 2
  EXPECT_EQ(Micros("0.0000025"), "2");   // 2.5 µs -> 2
  EXPECT_EQ(Micros("0.0000035"), "4");   // 3.5 µs -> 4
  EXPECT_EQ(Micros("0.00000251"), "3");  // above the tie
  EXPECT_EQ(Micros("0.00000249"), "2");  // below the tie
  EXPECT_EQ(Micros("-0.0000025"), "-2");
  EXPECT_EQ(Micros("-0.0000035"), "-4");
  // A digit beyond the ninth still breaks the tie.
  EXPECT_EQ(Micros("0.0000025000001"), "3");
  EXPECT_EQ(Micros("0.0000025000000"), "2");
  // Units other than seconds: microseconds (unit 1) and minutes.
  EXPECT_EQ(Micros("0.5", 1), "0");
  EXPECT_EQ(Micros("1.5", 1), "2");
  EXPECT_EQ(Micros("2.5", 1), "2");
  EXPECT_EQ(Micros("3.5", 1), "4");  // timedelta(microseconds=3.5) == 4 µs
  EXPECT_EQ(Micros("0.0000001", 60 * kMicrosPerSecond), "6");   // 6 µs exactly
  EXPECT_EQ(Micros("0.00000001", 60 * kMicrosPerSecond), "1");  // 0.6 µs -> 1
}

TEST(ParseDecimalMicros, RejectsMalformedNumbers) {
  for (const char* bad : {"", " ", ".", "-", "+", "abc", "1e", "e3", "1e+", "1.2.3", "1,5", "--1",
                          "0x10", "1 2", "inf", "nan"}) {
    EXPECT_THAT(Micros(bad), StartsWith("error: ")) << "'" << bad << "'";
    EXPECT_THAT(Micros(bad), HasSubstr("is not a number")) << "'" << bad << "'";
  }
}

// JSON writers print small and large numbers with exponents ("1e-06"), so they are accepted.
TEST(ParseDecimalMicros, AcceptsExponentsAsJsonWritesThem) {
  EXPECT_EQ(Micros("1e3"), "1000000000");
  EXPECT_EQ(Micros("1E3"), "1000000000");
  EXPECT_EQ(Micros("1e-06"), "1");
  EXPECT_EQ(Micros("2.5e-6"), "2");  // half to even
  EXPECT_EQ(Micros("3.5E-6"), "4");
  EXPECT_EQ(Micros("1.5e+1"), "15000000");
  EXPECT_EQ(Micros("1e-300"), "0");
  EXPECT_THAT(Micros("1e20"), HasSubstr("out of range"));
  EXPECT_THAT(Micros("1e9999"), HasSubstr("exponent out of range"));
}

TEST(ParseDecimalMicros, RejectsOutOfRangeValues) {
  EXPECT_THAT(Micros("1000000000000000"), HasSubstr("out of range"));  // 16 digits
  EXPECT_THAT(Micros("99999999999999999999999"), HasSubstr("out of range"));
  EXPECT_THAT(Micros("100000000000", 604800 * kMicrosPerSecond), HasSubstr("out of range"));
  EXPECT_THAT(Micros("-100000000000", 604800 * kMicrosPerSecond), HasSubstr("out of range"));
  // Large but representable (about 292 000 years / 4).
  EXPECT_EQ(Micros("100000000000"), "100000000000000000");
}

}  // namespace
}  // namespace aps
