// aps/engine/time_zone.h — time zones: UTC offsets, civil-time lookups and transitions.
//
// A TimeZone maps instants to civil time and back, reporting DST gaps ("skipped" civil times)
// and folds ("repeated" civil times) the way cctz does. Three kinds exist:
//   * "UTC" and fixed offsets ("UTC+05:30", "+05:30", "UTC-3") — no database needed;
//   * POSIX TZ rule strings ("EST5EDT,M3.2.0,M11.1.0",
//   "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45")
//     — no database needed, so firmware has real DST rules;
//   * IANA names ("Europe/Helsinki"), through the platform's zone database (platform/tzdb.h;
//     on Linux the system tzdata read by cctz). Names are case-sensitive.
//
//   aps::Result<aps::TimeZonePtr> tz = aps::LoadTimeZone("Europe/Helsinki");
//   if (!tz.ok()) return tz.status();
//   aps::CivilLookup l = (*tz)->Lookup({2024, 3, 31, 3, 30, 0});   // kSkipped: DST gap
//   int off = (*tz)->OffsetAt(l.pre).utc_offset_seconds;            // +7200 (EET)
#ifndef APS_ENGINE_TIME_ZONE_H_
#define APS_ENGINE_TIME_ZONE_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/status.h"
#include "engine/time.h"

namespace aps {

struct ZoneOffset {
  std::int32_t utc_offset_seconds = 0;  // east of UTC is positive
  bool is_dst = false;
  char abbr[16] = {};  // "EET", "EEST", "+0530"; NUL-terminated, may be empty
};

// Result of mapping a civil time to instants (all in Unix seconds). Same contract as cctz:
//   kUnique:   pre == trans == post
//   kSkipped:  the civil time does not exist (DST gap): pre >= trans > post; `pre` reads the
//              civil time with the offset in force before the transition (a later instant).
//   kRepeated: the civil time happens twice (DST fold): pre < trans <= post; `pre` is the first
//              occurrence, `post` the second.
struct CivilLookup {
  enum Kind : std::uint8_t { kUnique, kSkipped, kRepeated };
  Kind kind = kUnique;
  std::int64_t pre = 0;
  std::int64_t trans = 0;
  std::int64_t post = 0;
};

struct ZoneTransition {
  std::int64_t at = 0;  // first Unix second with the new offset
  std::int32_t offset_before = 0;
  std::int32_t offset_after = 0;
};

// Implementations are immutable after construction: every method may be called from any
// thread concurrently, never blocks (after load) and never allocates.
class TimeZone {
 public:
  virtual ~TimeZone() = default;
  // The name the zone was loaded by ("Europe/Helsinki", "UTC+05:30", a POSIX string).
  virtual std::string_view name() const = 0;
  virtual ZoneOffset OffsetAt(std::int64_t unix_seconds) const = 0;
  // Just the UTC offset (seconds east) at `unix_seconds`: the hot path of every search.
  virtual std::int32_t UtcOffset(std::int64_t unix_seconds) const {
    return OffsetAt(unix_seconds).utc_offset_seconds;
  }
  virtual CivilLookup Lookup(const CivilSecond& civil) const = 0;
  // The first transition strictly after `unix_seconds`; false when there is none.
  virtual bool NextTransition(std::int64_t unix_seconds, ZoneTransition* out) const = 0;
};

using TimeZonePtr = std::shared_ptr<const TimeZone>;

// LoadTimeZone()
//
// Resolves `name` in this order: "UTC"; a fixed offset ([UTC|GMT]±H[H][[:]MM]); an IANA name
// from the platform database; a POSIX TZ rule string. Allocates (the zone object); may read
// the zone database from disk on first use of a name; any thread.
// Returns kInvalidArgument naming the zone when it is unknown or malformed.
Result<TimeZonePtr> LoadTimeZone(std::string_view name);

// The shared UTC zone. Never fails; allocates once.
TimeZonePtr UtcZone();

// ParsePosixTimeZone() — a POSIX TZ rule string only (no database). Allocates; any thread.
Result<TimeZonePtr> ParsePosixTimeZone(std::string_view spec);

// ToCivil(): the civil time of an instant in `zone` (whole seconds, floor).
CivilSecond ToCivil(const TimeZone& zone, std::int64_t unix_seconds);

// Localize(): the instant of a naive civil time in `zone`, the APScheduler 3.11 way: a time in a
// gap is read with the pre-transition offset (so 03:30 in a 03:00→04:00 gap becomes 04:30 wall
// time); a time in a fold takes its first occurrence. Returns Unix seconds.
std::int64_t Localize(const TimeZone& zone, const CivilSecond& civil);

}  // namespace aps

#endif  // APS_ENGINE_TIME_ZONE_H_
