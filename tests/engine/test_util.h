// Helpers shared by the engine tests: zones, instants from text, ISO strings, the fire-time loop.
#ifndef APS_TESTS_ENGINE_TEST_UTIL_H_
#define APS_TESTS_ENGINE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "engine/datetime.h"
#include "engine/time_zone.h"
#include "engine/trigger.h"

namespace aps::test {

// A zone that must load; a failure is reported and UTC returned so the test goes on.
inline TimeZonePtr Zone(const std::string& name) {
  Result<TimeZonePtr> z = LoadTimeZone(name);
  EXPECT_TRUE(z.ok()) << name << ": " << z.status().message();
  return z.ok() ? *z : UtcZone();
}

// An instant from APScheduler's date forms; a naive value is read in `zone`.
inline Instant At(const std::string& text, const TimeZone& zone = *UtcZone()) {
  Result<Instant> t = ParseDateTime(text, zone);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().message();
  return t.ok() ? *t : Instant{};
}

// ISO-8601 in `zone`, or "none".
inline std::string Iso(const std::optional<Instant>& t, const TimeZone& zone = *UtcZone()) {
  return t ? FormatIso(*t, zone) : std::string("none");
}

template <typename F>
double MillisToRun(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// APScheduler's fire-time loop: the first call has `previous` (usually none) and `now`;
// afterwards previous = now = the last fire time. Up to n answers in the trigger's zone;
// "no further fire time" is recorded as "none" and ends the list.
inline std::vector<std::string> FireTimes(const Trigger& t, std::optional<Instant> previous,
                                          Instant now, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::optional<Instant> next = t.Next(previous, now);
    out.push_back(Iso(next, *t.zone()));
    if (!next) break;
    previous = now = *next;
  }
  return out;
}

}  // namespace aps::test

#endif  // APS_TESTS_ENGINE_TEST_UTIL_H_
