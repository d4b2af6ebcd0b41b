// aps/engine/datetime.h — parsing and printing dates, times and durations.
//
// Accepted date/time strings follow APScheduler's convert_to_datetime:
//   YYYY-M-D[( |T)H:M[:S[.f{1,6}]]][Z|±HH:MM]
// (APScheduler requires the seconds; aps also accepts "2024-01-01 08:00").
// A fraction is a fraction of a second (".5" = 500000 µs). A value without a zone is
// "naive" and is localized in the zone given by the caller (gap → pre-transition offset,
// fold → first occurrence; see Localize() in engine/time_zone.h).
//
//   aps::Result<aps::Instant> t = aps::ParseDateTime("2024-03-31 03:30", *zone);
//   std::string s = aps::FormatIso(*t, *zone);   // "2024-03-31T04:30:00+03:00"
#ifndef APS_ENGINE_DATETIME_H_
#define APS_ENGINE_DATETIME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/time.h"
#include "engine/time_zone.h"

namespace aps {

struct ParsedDateTime {
  CivilSecond civil;
  std::int32_t micros = 0;
  bool has_time = false;
  bool has_offset = false;
  std::int32_t offset_seconds = 0;  // when has_offset
};

// ParseDateTimeFields() — syntax and range only; no zone needed. Never allocates; any thread.
// Returns kInvalidArgument "Invalid date string ..." naming the input.
Result<ParsedDateTime> ParseDateTimeFields(std::string_view text);

// ParseDateTime() — an instant; a naive value is localized in `zone`. Never allocates; any thread.
Result<Instant> ParseDateTime(std::string_view text, const TimeZone& zone);

// FormatIso() — "YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM[:SS]" in `zone`. Allocates (the string).
std::string FormatIso(Instant t, const TimeZone& zone);
// FormatIsoUtc() — "...Z"-less ISO form with +00:00. Allocates.
std::string FormatIsoUtc(Instant t);

// FormatCivilSpace() — "YYYY-MM-DD HH:MM:SS[.ffffff] ABBR" as in APScheduler's str() forms
// ("2009-07-06 00:00:00 CEST"). Allocates.
std::string FormatCivilSpace(Instant t, const TimeZone& zone);

// FormatTimedelta() — Python's str(timedelta): "0:00:30", "7 days, 0:00:00", "1 day,
// 2:03:04.500000".
std::string FormatTimedelta(std::int64_t micros);

// FormatSecondsNumber() — seconds as a compact decimal ("7200", "0.5", "1.000001"). Allocates.
std::string FormatSecondsNumber(std::int64_t micros);

}  // namespace aps

#endif  // APS_ENGINE_DATETIME_H_
