// DateTrigger: spec A5 / E4 D01 — fires once at run_date, regardless of now.
#include "engine/date_trigger.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "engine/datetime.h"
#include "engine/time_zone.h"
#include "tests/engine/test_util.h"

namespace aps {
namespace {

using test::At;
using test::Iso;
using test::MillisToRun;
using test::Zone;

std::unique_ptr<DateTrigger> Make(Instant run, TimeZonePtr zone = nullptr) {
  Result<std::unique_ptr<DateTrigger>> t = DateTrigger::Create(run, std::move(zone));
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? std::move(t).value() : nullptr;
}

TEST(DateTrigger, D01PastRunDateIsReturnedRegardlessOfNow) {
  auto t = Make(At("2024-01-01 12:00"));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2030-01-01"))), "2024-01-01T12:00:00+00:00");
}

TEST(DateTrigger, FutureRunDateIsReturned) {
  auto t = Make(At("2024-01-01 12:00:00.123456"));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(std::nullopt, At("2020-01-01"))), "2024-01-01T12:00:00.123456+00:00");
}

TEST(DateTrigger, NoFireTimeOnceItHasFired) {
  auto t = Make(At("2024-01-01 12:00"));
  ASSERT_NE(t, nullptr);
  const Instant run = At("2024-01-01 12:00");
  EXPECT_FALSE(t->Next(run, run).has_value());
  // Any previous fire time ends it, even one before run_date.
  EXPECT_FALSE(t->Next(At("2023-01-01"), At("2023-01-01")).has_value());
}

TEST(DateTrigger, DescribeUsesTheZoneAbbreviation) {
  const TimeZonePtr berlin = Zone("Europe/Berlin");
  auto t = Make(At("2009-07-06 00:00:00", *berlin), berlin);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->Describe(), "date[2009-07-06 00:00:00 CEST]");
  auto u = Make(At("2024-01-01 08:30:00"));
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->Describe(), "date[2024-01-01 08:30:00 UTC]");
}

TEST(DateTrigger, NullZoneMeansUtc) {
  auto t = Make(At("2024-01-01"));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->zone()->name(), "UTC");
}

TEST(DateTrigger, ResultIsPrintedInTheTriggerZone) {
  const TimeZonePtr hel = Zone("Europe/Helsinki");
  auto t = Make(At("2024-06-01T12:00:00Z"), hel);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->Next(std::nullopt, Instant{}), *t->zone()), "2024-06-01T15:00:00+03:00");
  EXPECT_EQ(Iso(t->run_date()), "2024-06-01T12:00:00+00:00");
}

TEST(DateTrigger, FirstAtOrAfterIsRunDateUntilItPasses) {
  auto t = Make(At("2024-01-01 12:00"));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(Iso(t->FirstAtOrAfter(At("2024-01-01 11:00"))), "2024-01-01T12:00:00+00:00");
  EXPECT_EQ(Iso(t->FirstAtOrAfter(At("2024-01-01 12:00"))), "2024-01-01T12:00:00+00:00");
  EXPECT_FALSE(t->FirstAtOrAfter(At("2024-01-01 12:00:00.000001")).has_value());
}

TEST(DateTrigger, CloneFiresAtTheSameDate) {
  auto t = Make(At("2024-01-01 12:00"), Zone("America/New_York"));
  ASSERT_NE(t, nullptr);
  std::unique_ptr<Trigger> c = t->Clone();
  EXPECT_EQ(c->ToText(), t->ToText());
  EXPECT_EQ(c->Describe(), t->Describe());
  EXPECT_EQ(c->Next(std::nullopt, Instant{}), t->Next(std::nullopt, Instant{}));
}

}  // namespace
}  // namespace aps
