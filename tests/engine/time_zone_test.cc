// Time zones: UTC, fixed offsets, POSIX TZ rules (checked against the IANA database for the years
// where the database itself follows the same rule), transitions, and rejected names.
#include "engine/time_zone.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "engine/datetime.h"
#include "tests/engine/test_util.h"

namespace aps {
namespace {

using test::At;
using test::Iso;
using test::MillisToRun;
using test::Zone;

using ::testing::HasSubstr;

std::int64_t Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return UnixSecondsFromCivil(CivilSecond{y, mo, d, h, mi, s});
}

std::string Iso(std::int64_t unix_seconds) {
  return FormatIsoUtc(Instant::FromUnixSeconds(unix_seconds));
}

const char* KindName(CivilLookup::Kind k) {
  switch (k) {
    case CivilLookup::kUnique: return "unique";
    case CivilLookup::kSkipped: return "skipped";
    case CivilLookup::kRepeated: return "repeated";
  }
  return "?";
}

TEST(TimeZone, HelsinkiGapIsSkippedWithPreTransitionOffset) {
  Result<TimeZonePtr> tz = LoadTimeZone("Europe/Helsinki");
  ASSERT_TRUE(tz.ok()) << tz.status().message();
  CivilLookup l = (*tz)->Lookup({2024, 3, 31, 3, 30, 0});
  EXPECT_EQ(l.kind, CivilLookup::kSkipped);
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(l.pre), **tz), "2024-03-31T04:30:00+03:00");
}

TEST(TimeZone, HelsinkiLookupReportsGapFoldAndUniqueTimes) {
  const TimeZonePtr hel = Zone("Europe/Helsinki");
  const CivilLookup gap = hel->Lookup({2024, 3, 31, 3, 30, 0});
  EXPECT_EQ(gap.kind, CivilLookup::kSkipped);
  EXPECT_EQ(Iso(gap.pre), "2024-03-31T01:30:00+00:00");
  EXPECT_EQ(Iso(gap.trans), "2024-03-31T01:00:00+00:00");
  EXPECT_EQ(Iso(gap.post), "2024-03-31T00:30:00+00:00");
  const CivilLookup fold = hel->Lookup({2024, 10, 27, 3, 30, 0});
  EXPECT_EQ(fold.kind, CivilLookup::kRepeated);
  EXPECT_EQ(Iso(fold.pre), "2024-10-27T00:30:00+00:00");
  EXPECT_EQ(Iso(fold.trans), "2024-10-27T01:00:00+00:00");
  EXPECT_EQ(Iso(fold.post), "2024-10-27T01:30:00+00:00");
  const CivilLookup unique = hel->Lookup({2024, 6, 1, 12, 0, 0});
  EXPECT_EQ(unique.kind, CivilLookup::kUnique);
  EXPECT_EQ(unique.pre, unique.post);
  EXPECT_EQ(Iso(unique.pre), "2024-06-01T09:00:00+00:00");
  EXPECT_EQ(Localize(*hel, {2024, 10, 27, 3, 30, 0}), fold.pre);
  EXPECT_EQ(Localize(*hel, {2024, 3, 31, 3, 30, 0}), gap.pre);
}

TEST(TimeZone, UtcHasZeroOffsetAndNoTransitions) {
  const TimeZonePtr utc = Zone("UTC");
  EXPECT_EQ(utc->name(), "UTC");
  EXPECT_EQ(utc.get(), UtcZone().get());
  EXPECT_EQ(utc->OffsetAt(Utc(2024, 6, 1)).utc_offset_seconds, 0);
  EXPECT_FALSE(utc->OffsetAt(Utc(2024, 6, 1)).is_dst);
  ZoneTransition tr;
  EXPECT_FALSE(utc->NextTransition(Utc(2024, 6, 1), &tr));
  const CivilLookup l = utc->Lookup({2024, 6, 1, 12, 0, 0});
  EXPECT_EQ(l.kind, CivilLookup::kUnique);
  EXPECT_EQ(l.pre, Utc(2024, 6, 1, 12));
}

TEST(TimeZone, FixedOffsetsParse) {
  struct Case {
    const char* name;
    int offset;
  };
  const Case cases[] = {
      {"UTC+05:30", 19800}, {"+05:30", 19800},
      {"UTC-3", -10800},    {"GMT+2", 7200},
      {"UTC+5", 18000},     {"+0530", 19800},
      {"-09:30", -34200},   {"GMT-11:45", -(11 * 3600 + 45 * 60)},
      {"UTC+00:00", 0},     {"UTC+14", 50400},
      {"UTC-12", -43200},   {"+1", 3600},
  };
  for (const Case& c : cases) {
    const TimeZonePtr z = Zone(c.name);
    EXPECT_EQ(z->name(), c.name);
    EXPECT_EQ(z->OffsetAt(Utc(2024, 1, 1)).utc_offset_seconds, c.offset) << c.name;
    EXPECT_EQ(z->OffsetAt(Utc(2024, 7, 1)).utc_offset_seconds, c.offset) << c.name;
    ZoneTransition tr;
    EXPECT_FALSE(z->NextTransition(Utc(2024, 1, 1), &tr)) << c.name;
    const CivilLookup l = z->Lookup({2024, 3, 31, 3, 30, 0});
    EXPECT_EQ(l.kind, CivilLookup::kUnique) << c.name;
    EXPECT_EQ(l.pre, Utc(2024, 3, 31, 3, 30) - c.offset) << c.name;
  }
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(Utc(2024, 1, 1)), *Zone("UTC+05:30")),
            "2024-01-01T05:30:00+05:30");
}

TEST(TimeZone, ToCivilAppliesTheOffset) {
  const TimeZonePtr hel = Zone("Europe/Helsinki");
  EXPECT_EQ(ToCivil(*hel, Utc(2024, 1, 1)), (CivilSecond{2024, 1, 1, 2, 0, 0}));
  EXPECT_EQ(ToCivil(*hel, Utc(2024, 7, 1)), (CivilSecond{2024, 7, 1, 3, 0, 0}));
  EXPECT_EQ(ToCivil(*Zone("UTC-3"), Utc(2024, 1, 1)), (CivilSecond{2023, 12, 31, 21, 0, 0}));
}

TEST(TimeZone, NextTransitionOfAnIanaZone) {
  const TimeZonePtr hel = Zone("Europe/Helsinki");
  ZoneTransition tr;
  ASSERT_TRUE(hel->NextTransition(Utc(2024, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2024-03-31T01:00:00+00:00");
  EXPECT_EQ(tr.offset_before, 7200);
  EXPECT_EQ(tr.offset_after, 10800);
  ASSERT_TRUE(hel->NextTransition(tr.at, &tr));
  EXPECT_EQ(Iso(tr.at), "2024-10-27T01:00:00+00:00");
  EXPECT_EQ(tr.offset_before, 10800);
  EXPECT_EQ(tr.offset_after, 7200);
  // Strictly after: asking from one second before the transition finds it.
  ZoneTransition again;
  ASSERT_TRUE(hel->NextTransition(tr.at - 1, &again));
  EXPECT_EQ(again.at, tr.at);
}

TEST(TimeZone, NextTransitionOfAPosixZone) {
  const TimeZonePtr z = Zone("EST5EDT,M3.2.0,M11.1.0");
  ZoneTransition tr;
  ASSERT_TRUE(z->NextTransition(Utc(2024, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2024-03-10T07:00:00+00:00");
  EXPECT_EQ(tr.offset_before, -18000);
  EXPECT_EQ(tr.offset_after, -14400);
  ASSERT_TRUE(z->NextTransition(tr.at, &tr));
  EXPECT_EQ(Iso(tr.at), "2024-11-03T06:00:00+00:00");
  EXPECT_EQ(tr.offset_before, -14400);
  EXPECT_EQ(tr.offset_after, -18000);
  ASSERT_TRUE(z->NextTransition(tr.at, &tr));
  EXPECT_EQ(Iso(tr.at), "2025-03-09T07:00:00+00:00");
  // A POSIX zone without DST has no transitions.
  ZoneTransition none;
  EXPECT_FALSE(Zone("JST-9")->NextTransition(Utc(2024, 1, 1), &none));
  EXPECT_EQ(Zone("JST-9")->OffsetAt(Utc(2024, 1, 1)).utc_offset_seconds, 9 * 3600);
}

// Compares a POSIX rule zone with the IANA zone whose rules it states, over [from, to) years:
// offsets at many instants, every transition, and the civil lookups around each transition.
void ExpectSameZone(const std::string& posix, const std::string& iana, int from_year, int to_year,
                    bool compare_is_dst = true) {
  SCOPED_TRACE(posix + " vs " + iana);
  Result<TimeZonePtr> pr = ParsePosixTimeZone(posix);
  ASSERT_TRUE(pr.ok()) << pr.status().message();
  const TimeZonePtr p = *pr;
  const TimeZonePtr z = Zone(iana);
  const std::int64_t begin = Utc(from_year, 1, 1), end = Utc(to_year, 1, 1);
  int mismatches = 0;
  for (std::int64_t t = begin; t < end && mismatches < 10; t += 5923) {
    const ZoneOffset a = p->OffsetAt(t), b = z->OffsetAt(t);
    if (a.utc_offset_seconds != b.utc_offset_seconds || std::string(a.abbr) != b.abbr ||
        (compare_is_dst && a.is_dst != b.is_dst)) {
      ++mismatches;
      ADD_FAILURE() << "OffsetAt " << Iso(t) << ": posix " << a.utc_offset_seconds << " " << a.abbr
                    << " dst=" << a.is_dst << ", iana " << b.utc_offset_seconds << " " << b.abbr
                    << " dst=" << b.is_dst;
    }
  }
  // Transitions, and civil lookups around each of them.
  std::int64_t t = begin;
  int transitions = 0;
  ZoneTransition zt, pt;
  while (z->NextTransition(t, &zt) && zt.at < end && mismatches < 10) {
    ++transitions;
    if (!p->NextTransition(t, &pt) || pt.at != zt.at || pt.offset_before != zt.offset_before ||
        pt.offset_after != zt.offset_after) {
      ++mismatches;
      ADD_FAILURE() << "NextTransition from " << Iso(t) << ": iana " << Iso(zt.at) << " "
                    << zt.offset_before << "->" << zt.offset_after << ", posix " << Iso(pt.at)
                    << " " << pt.offset_before << "->" << pt.offset_after;
    }
    for (std::int64_t s : {zt.at - 1, zt.at, zt.at + 1}) {
      EXPECT_EQ(p->OffsetAt(s).utc_offset_seconds, z->OffsetAt(s).utc_offset_seconds) << Iso(s);
    }
    // Civil times from 3 h before to 3 h after the transition's civil time, every 5 minutes, plus
    // the seconds at the edges of the gap or fold.
    const std::int64_t civil_at = zt.at + zt.offset_before;
    std::vector<std::int64_t> civils;
    for (std::int64_t c = civil_at - 3 * 3600; c <= civil_at + 3 * 3600; c += 300)
      civils.push_back(c);
    for (std::int64_t c : {civil_at - 1, civil_at, civil_at + 1, zt.at + zt.offset_after - 1,
                           zt.at + zt.offset_after, zt.at + zt.offset_after + 1}) {
      civils.push_back(c);
    }
    for (std::int64_t c : civils) {
      const CivilSecond cs = CivilFromUnixSeconds(c);
      const CivilLookup a = p->Lookup(cs), b = z->Lookup(cs);
      if (a.kind != b.kind || a.pre != b.pre || a.post != b.post ||
          (a.kind != CivilLookup::kUnique && a.trans != b.trans)) {
        ++mismatches;
        ADD_FAILURE() << "Lookup " << FormatIsoUtc(Instant::FromUnixSeconds(c))
                      << " (civil): posix " << KindName(a.kind) << " " << Iso(a.pre) << "/"
                      << Iso(a.trans) << "/" << Iso(a.post) << ", iana " << KindName(b.kind) << " "
                      << Iso(b.pre) << "/" << Iso(b.trans) << "/" << Iso(b.post);
      }
    }
    t = zt.at;
  }
  EXPECT_GE(transitions, 2 * (to_year - from_year) - 2);
  // Random civil times.
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<std::int64_t> dist(begin, end - 1);
  for (int i = 0; i < 2000 && mismatches < 10; ++i) {
    const CivilSecond cs = CivilFromUnixSeconds(dist(rng));
    const CivilLookup a = p->Lookup(cs), b = z->Lookup(cs);
    if (a.kind != b.kind || a.pre != b.pre || a.post != b.post) {
      ++mismatches;
      ADD_FAILURE() << "Lookup " << cs.year << "-" << cs.month << "-" << cs.day << " " << cs.hour
                    << ":" << cs.minute << ": posix " << KindName(a.kind) << ", iana "
                    << KindName(b.kind);
    }
  }
}

TEST(PosixTimeZone, Est5EdtAgreesWithNewYorkFrom2007To2037) {
  ExpectSameZone("EST5EDT,M3.2.0,M11.1.0", "America/New_York", 2007, 2038);
}

TEST(PosixTimeZone, ChathamQuarterHourRulesAgreeWithPacificChatham) {
  ExpectSameZone("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45", "Pacific/Chatham", 2009, 2038);
}

TEST(PosixTimeZone, SouthernHemisphereAgreesWithSydney) {
  ExpectSameZone("AEST-10AEDT,M10.1.0,M4.1.0/3", "Australia/Sydney", 2009, 2038);
}

TEST(PosixTimeZone, HalfHourDstAgreesWithLordHowe) {
  ExpectSameZone("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "Australia/Lord_Howe", 2009, 2038);
}

TEST(PosixTimeZone, EuropeanRulesAgreeWithHelsinki) {
  ExpectSameZone("EET-2EEST,M3.5.0/3,M10.5.0/4", "Europe/Helsinki", 1997, 2038);
}

TEST(PosixTimeZone, RuleTimePast24HoursAgreesWithJerusalem) {
  ExpectSameZone("IST-2IDT,M3.4.4/26,M10.5.0", "Asia/Jerusalem", 2013, 2038);
}

TEST(PosixTimeZone, RuleTimeOf24HoursAgreesWithSantiago) {
  ExpectSameZone("<-04>4<-03>,M9.1.6/24,M4.1.6/24", "America/Santiago", 2025, 2038);
}

TEST(PosixTimeZone, NegativeRuleTimeAgreesWithNuuk) {
  ExpectSameZone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "America/Nuuk", 2025, 2038);
}

TEST(PosixTimeZone, NegativeDstAgreesWithDublin) {
  // Irish Standard Time is the "standard" time; GMT in winter is the rule's "DST" (negative).
  ExpectSameZone("IST-1GMT0,M10.5.0,M3.5.0/1", "Europe/Dublin", 1997, 2038);
}

TEST(PosixTimeZone, JulianDayWithoutLeapDayNeverCountsFebruary29) {
  const TimeZonePtr z = Zone("XST-1XDT,J60,J300");
  ZoneTransition tr;
  for (int year : {2023, 2024}) {
    SCOPED_TRACE(year);
    ASSERT_TRUE(z->NextTransition(Utc(year, 1, 1), &tr));
    EXPECT_EQ(Iso(tr.at), Iso(Utc(year, 3, 1, 1)));  // March 1, 02:00 +01:00
    ASSERT_TRUE(z->NextTransition(tr.at, &tr));
    EXPECT_EQ(Iso(tr.at), Iso(Utc(year, 10, 27, 0)));  // October 27, 02:00 +02:00
  }
}

TEST(PosixTimeZone, ZeroBasedJulianDayCountsFebruary29) {
  const TimeZonePtr z = Zone("XST-1XDT,59,299");
  ZoneTransition tr;
  ASSERT_TRUE(z->NextTransition(Utc(2024, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2024-02-29T01:00:00+00:00");
  ASSERT_TRUE(z->NextTransition(tr.at, &tr));
  EXPECT_EQ(Iso(tr.at), "2024-10-26T00:00:00+00:00");
  ASSERT_TRUE(z->NextTransition(Utc(2023, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2023-03-01T01:00:00+00:00");
  ASSERT_TRUE(z->NextTransition(tr.at, &tr));
  EXPECT_EQ(Iso(tr.at), "2023-10-27T00:00:00+00:00");
}

TEST(PosixTimeZone, ExtremeRuleTimesOfPlusMinus167Hours) {
  const TimeZonePtr z = Zone("XST5XDT,M3.2.0/-167,M11.1.0/167");
  ZoneTransition tr;
  // 2024-03-10 00:00 - 167 h = 2024-03-03 01:00 standard (-05:00).
  ASSERT_TRUE(z->NextTransition(Utc(2024, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2024-03-03T06:00:00+00:00");
  // 2024-11-03 00:00 + 167 h = 2024-11-09 23:00 daylight (-04:00).
  ASSERT_TRUE(z->NextTransition(tr.at, &tr));
  EXPECT_EQ(Iso(tr.at), "2024-11-10T03:00:00+00:00");
  EXPECT_FALSE(LoadTimeZone("XST5XDT,M3.2.0/168,M11.1.0").ok());
  EXPECT_FALSE(LoadTimeZone("XST5XDT,M3.2.0,M11.1.0/-168").ok());
}

TEST(PosixTimeZone, ExplicitDstOffsetAndRuleTimesWithMinutesAndSeconds) {
  const TimeZonePtr z = Zone("XST3XDT1:30,M3.5.0/1:30:15,M10.5.0/2:00:30");
  EXPECT_EQ(z->OffsetAt(Utc(2024, 1, 15)).utc_offset_seconds, -3 * 3600);
  EXPECT_EQ(z->OffsetAt(Utc(2024, 7, 15)).utc_offset_seconds, -(3600 + 1800));
  ZoneTransition tr;
  ASSERT_TRUE(z->NextTransition(Utc(2024, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2024-03-31T04:30:15+00:00");  // 01:30:15 at -03:00
  ASSERT_TRUE(z->NextTransition(tr.at, &tr));
  EXPECT_EQ(Iso(tr.at), "2024-10-27T03:30:30+00:00");  // 02:00:30 at -01:30
}

TEST(PosixTimeZone, DefaultsToOneHourDstAtTwoOClock) {
  const TimeZonePtr z = Zone("XST-1XDT,M3.5.0,M10.5.0");
  EXPECT_EQ(z->OffsetAt(Utc(2024, 7, 1)).utc_offset_seconds, 7200);
  EXPECT_TRUE(z->OffsetAt(Utc(2024, 7, 1)).is_dst);
  EXPECT_STREQ(z->OffsetAt(Utc(2024, 7, 1)).abbr, "XDT");
  EXPECT_STREQ(z->OffsetAt(Utc(2024, 1, 1)).abbr, "XST");
  ZoneTransition tr;
  ASSERT_TRUE(z->NextTransition(Utc(2024, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2024-03-31T01:00:00+00:00");
}

TEST(PosixTimeZone, FifthWeekMeansTheLastOccurrence) {
  // M2.5.4: the last Thursday of February (2024-02-29 in a leap year, 2023-02-23 otherwise).
  const TimeZonePtr z = Zone("XST0XDT,M2.5.4,M10.1.0");
  ZoneTransition tr;
  ASSERT_TRUE(z->NextTransition(Utc(2024, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2024-02-29T02:00:00+00:00");
  ASSERT_TRUE(z->NextTransition(Utc(2023, 1, 1), &tr));
  EXPECT_EQ(Iso(tr.at), "2023-02-23T02:00:00+00:00");
}

TEST(PosixTimeZone, DstNameWithoutRulesAsksForRules) {
  Result<TimeZonePtr> p = ParsePosixTimeZone("EST5EDT");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("add them"));
  Result<TimeZonePtr> l = LoadTimeZone("XST5XDT");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(l.status().message(), HasSubstr("XST5XDT"));
  EXPECT_THAT(l.status().message(), HasSubstr("add them"));
}

TEST(PosixTimeZone, MalformedRuleStringsAreRejected) {
  const char* const bad[] = {
      "EST5EDT,M3.2.0",                    // no end rule
      "EST5EDT,M3.2.0,",                   // empty end rule
      "EST5EDT,M13.2.0,M11.1.0",           // month 13
      "EST5EDT,M0.2.0,M11.1.0",            // month 0
      "EST5EDT,M3.6.0,M11.1.0",            // week 6
      "EST5EDT,M3.0.0,M11.1.0",            // week 0
      "EST5EDT,M3.2.7,M11.1.0",            // weekday 7
      "EST5EDT,M3.2,M11.1.0",              // no weekday
      "EST5EDT,J0,J100",                   // J is 1-based
      "EST5EDT,J366,J100",                 // J366
      "EST5EDT,366,100",                   // n is 0..365
      "EST5EDT,M3.2.0/x,M11.1.0",          // bad time
      "EST5EDT,M3.2.0,M11.1.0,",           // trailing comma
      "EST5EDT,M3.2.0,M11.1.0x",           // trailing text
      "EST5EDT;M3.2.0,M11.1.0",            // not a comma
      "XST",                               // no offset ("EST" alone is an IANA name)
      "ES5",                               // name too short
      "EST25",                             // offset too large
      "EST5:60",                           // minutes too large
      "<+1245-12:45",                      // unterminated <
      "<>5",                               // empty quoted name
      "<+1245>-12:45<+1345>,M9.5.0/2:45",  // one rule
      "5EST",
      "EST5EDT4,",  // empty rules
  };
  for (const char* text : bad) {
    Result<TimeZonePtr> z = LoadTimeZone(text);
    EXPECT_FALSE(z.ok()) << text;
    if (!z.ok()) {
      EXPECT_EQ(z.status().code(), StatusCode::kInvalidArgument) << text;
      EXPECT_STRNE(z.status().message(), "") << text;
    }
    EXPECT_FALSE(ParsePosixTimeZone(text).ok()) << text;
  }
}

TEST(LoadTimeZone, UnknownIanaNameIsNamedAndValidFormsAreSuggested) {
  Result<TimeZonePtr> z = LoadTimeZone("Mars/Olympus_Mons");
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.status().code(), StatusCode::kInvalidArgument);
  const std::string msg = z.status().message();
  EXPECT_THAT(msg, HasSubstr("\"Mars/Olympus_Mons\""));
  EXPECT_THAT(msg, HasSubstr("Europe/Helsinki"));
  EXPECT_THAT(msg, HasSubstr("UTC+05:30"));
  EXPECT_THAT(msg, HasSubstr("POSIX"));
}

TEST(LoadTimeZone, NamesAreCaseSensitive) {
  EXPECT_TRUE(LoadTimeZone("Europe/Helsinki").ok());
  for (const char* name : {"europe/helsinki", "EUROPE/HELSINKI", "America/new_york"}) {
    Result<TimeZonePtr> z = LoadTimeZone(name);
    EXPECT_FALSE(z.ok()) << name;
    if (!z.ok()) {
      EXPECT_THAT(z.status().message(), HasSubstr(name));
      EXPECT_THAT(z.status().message(), HasSubstr("case-sensitive"));
    }
  }
}

TEST(LoadTimeZone, PathLikeNamesAreRejected) {
  for (const char* name :
       {"../etc/passwd", "/etc/localtime", "localtime", "Europe/../Europe/Helsinki",
        "/usr/share/zoneinfo/Europe/Helsinki", "./UTC", "Europe//Helsinki/", "Fixed/UTC+01:00:00",
        "~/zone", "Europe/Helsinki\n", "Europe/Helsinki ", " UTC"}) {
    Result<TimeZonePtr> z = LoadTimeZone(name);
    EXPECT_FALSE(z.ok()) << name;
    if (!z.ok()) {
      EXPECT_EQ(z.status().code(), StatusCode::kInvalidArgument) << name;
    }
  }
}

TEST(LoadTimeZone, EmptyNameIsRejected) {
  Result<TimeZonePtr> z = LoadTimeZone("");
  ASSERT_FALSE(z.ok());
  EXPECT_STRNE(z.status().message(), "");
}

TEST(LoadTimeZone, ZoneKeepsTheNameItWasLoadedBy) {
  for (const char* name :
       {"UTC", "Europe/Helsinki", "US/Eastern", "UTC+05:30", "EST5EDT,M3.2.0,M11.1.0"}) {
    EXPECT_EQ(Zone(name)->name(), name);
  }
}

}  // namespace
}  // namespace aps
