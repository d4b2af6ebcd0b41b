// aps/engine/time.h — instants on the UTC time line and proleptic-Gregorian civil time.
//
// An Instant is a signed 64-bit count of microseconds since 1970-01-01T00:00:00Z (APScheduler's
// precision). Civil ("wall clock") fields live in CivilSecond; converting between the two needs
// a TimeZone (engine/time_zone.h). Everything here is constexpr-friendly integer arithmetic:
// no OS calls, no heap, usable on firmware.
//
//   aps::Instant t = aps::Instant::FromUnixSeconds(1704067200);   // 2024-01-01T00:00:00Z
//   aps::CivilSecond c = aps::CivilFromUnixSeconds(t.unix_seconds_floor());
//   int wd = aps::Weekday(c.year, c.month, c.day);                 // 0 = Monday
#ifndef APS_ENGINE_TIME_H_
#define APS_ENGINE_TIME_H_

#include <compare>
#include <cstdint>

namespace aps {

inline constexpr std::int64_t kMicrosPerSecond = 1'000'000;

// A point on the UTC time line, microseconds since the Unix epoch.
struct Instant {
  std::int64_t us = 0;

  static constexpr Instant FromUnixMicros(std::int64_t v) { return Instant{v}; }
  static constexpr Instant FromUnixSeconds(std::int64_t s) { return Instant{s * kMicrosPerSecond}; }
  constexpr std::int64_t unix_micros() const { return us; }
  // Whole seconds, rounded toward negative infinity.
  constexpr std::int64_t unix_seconds_floor() const {
    return us >= 0 ? us / kMicrosPerSecond : -((-us + kMicrosPerSecond - 1) / kMicrosPerSecond);
  }
  // Sub-second part in [0, 999999].
  constexpr std::int64_t subsecond_micros() const {
    return us - unix_seconds_floor() * kMicrosPerSecond;
  }
  constexpr auto operator<=>(const Instant&) const = default;
};

// The supported range of instants: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z.
// Dates outside it are rejected when parsed, and no trigger returns a fire time outside it.
inline constexpr Instant kMinInstant{-62135596800LL * kMicrosPerSecond};
inline constexpr Instant kMaxInstant{253402300799LL * kMicrosPerSecond + 999999};

// Civil time to the second. Fields are not validated by the type; use IsValidCivil().
struct CivilSecond {
  std::int32_t year = 1970;
  std::int32_t month = 1;   // 1..12
  std::int32_t day = 1;     // 1..DaysInMonth
  std::int32_t hour = 0;    // 0..23
  std::int32_t minute = 0;  // 0..59
  std::int32_t second = 0;  // 0..59
  constexpr auto operator<=>(const CivilSecond&) const = default;
};

constexpr bool IsLeapYear(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr int DaysInMonth(std::int64_t y, int m) {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic-Gregorian date (Howard Hinnant's algorithm).
constexpr std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct CivilDay {
  std::int64_t year;
  int month;
  int day;
};

constexpr CivilDay CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return CivilDay{yoe + era * 400 + (m <= 2), m, d};
}

// 0 = Monday ... 6 = Sunday (APScheduler's day_of_week numbering).
constexpr int WeekdayFromDays(std::int64_t days) {
  // 1970-01-01 was a Thursday (3).
  std::int64_t w = (days + 3) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}
constexpr int Weekday(std::int64_t y, int m, int d) {
  return WeekdayFromDays(DaysFromCivil(y, m, d));
}

// ISO-8601 week number (1..53) of a date.
constexpr int IsoWeek(std::int64_t y, int m, int d) {
  const std::int64_t days = DaysFromCivil(y, m, d);
  // The ISO week belongs to the year of its Thursday.
  const std::int64_t thursday = days - WeekdayFromDays(days) + 3;
  const CivilDay th = CivilFromDays(thursday);
  const std::int64_t jan1 = DaysFromCivil(th.year, 1, 1);
  return static_cast<int>((thursday - jan1) / 7 + 1);
}

constexpr std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Seconds since the epoch of a civil time taken as UTC.
constexpr std::int64_t UnixSecondsFromCivil(const CivilSecond& c) {
  return DaysFromCivil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
}

constexpr CivilSecond CivilFromUnixSeconds(std::int64_t s) {
  const std::int64_t days = FloorDiv(s, 86400);
  const std::int64_t sod = s - days * 86400;
  const CivilDay d = CivilFromDays(days);
  return CivilSecond{static_cast<std::int32_t>(d.year),
                     d.month,
                     d.day,
                     static_cast<std::int32_t>(sod / 3600),
                     static_cast<std::int32_t>(sod / 60 % 60),
                     static_cast<std::int32_t>(sod % 60)};
}

constexpr bool IsValidCivil(const CivilSecond& c) {
  return c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= DaysInMonth(c.year, c.month) &&
         c.hour >= 0 && c.hour <= 23 && c.minute >= 0 && c.minute <= 59 && c.second >= 0 &&
         c.second <= 59;
}

}  // namespace aps

#endif  // APS_ENGINE_TIME_H_
