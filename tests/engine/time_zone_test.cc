#include "engine/time_zone.h"

#include <gtest/gtest.h>

#include "engine/datetime.h"

namespace aps {
namespace {

TEST(TimeZone, HelsinkiGapIsSkippedWithPreTransitionOffset) {
  Result<TimeZonePtr> tz = LoadTimeZone("Europe/Helsinki");
  ASSERT_TRUE(tz.ok()) << tz.status().message();
  CivilLookup l = (*tz)->Lookup({2024, 3, 31, 3, 30, 0});
  EXPECT_EQ(l.kind, CivilLookup::kSkipped);
  EXPECT_EQ(FormatIso(Instant::FromUnixSeconds(l.pre), **tz), "2024-03-31T04:30:00+03:00");
}

}  // namespace
}  // namespace aps
