// Bare metal has no IANA database: UTC, fixed offsets and POSIX TZ rules still work
// (engine/time_zone.cc); IANA names answer kNotFound.
#include "platform/tzdb.h"

namespace aps::platform {

bool HasSystemTimeZoneDatabase() noexcept { return false; }

Result<TimeZonePtr> LoadSystemTimeZone(std::string_view) {
  return Status(StatusCode::kNotFound, "no IANA time-zone database on this platform");
}

}  // namespace aps::platform
