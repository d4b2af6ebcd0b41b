// aps/platform/tzdb.h — the platform's IANA time-zone database.
//
// engine/time_zone.h calls this for names that are neither UTC, fixed offsets nor POSIX rules.
// On Linux it is the system tzdata (/usr/share/zoneinfo) read through cctz; on bare metal there
// is no database and every name answers kNotFound with a reason.
#ifndef APS_PLATFORM_TZDB_H_
#define APS_PLATFORM_TZDB_H_

#include <string_view>

#include "engine/status.h"
#include "engine/time_zone.h"

namespace aps::platform {

// LoadSystemTimeZone()
//
// Loads IANA zone `name` (case-sensitive, e.g. "America/New_York"). Allocates; blocks on file
// I/O the first time a name is loaded (cctz caches zones process-wide); any thread.
// Returns kNotFound when the database has no such zone (or the platform has no database).
Result<TimeZonePtr> LoadSystemTimeZone(std::string_view name);

// True when this platform has an IANA database at all.
bool HasSystemTimeZoneDatabase() noexcept;

}  // namespace aps::platform

#endif  // APS_PLATFORM_TZDB_H_
