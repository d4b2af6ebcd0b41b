// The IANA time-zone database on Linux: the system tzdata, read and cached by cctz.
//
// cctz::time_zone is a cheap handle to an immutable, process-wide cached zone, so the wrapper
// is thread-safe and every query is allocation-free after LoadSystemTimeZone(). This is the
// only file that includes a cctz header.
#include <cctz/time_zone.h>

#include <chrono>
#include <cstring>
#include <string>

#include "platform/tzdb.h"

namespace aps::platform {
namespace {

using Seconds = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;

Seconds ToTp(std::int64_t s) { return Seconds(std::chrono::seconds(s)); }
std::int64_t FromTp(Seconds tp) { return tp.time_since_epoch().count(); }

CivilSecond CivilOf(const cctz::civil_second& c) {
  return CivilSecond{
      static_cast<std::int32_t>(c.year()), c.month(), c.day(), c.hour(), c.minute(), c.second()};
}

class CctzZone final : public TimeZone {
 public:
  CctzZone(std::string name, cctz::time_zone tz) : name_(std::move(name)), tz_(tz) {}

  std::string_view name() const override { return name_; }

  ZoneOffset OffsetAt(std::int64_t t) const override {
    const cctz::time_zone::absolute_lookup al = tz_.lookup(ToTp(t));
    ZoneOffset o;
    o.utc_offset_seconds = al.offset;
    o.is_dst = al.is_dst;
    std::size_t n = std::strlen(al.abbr);
    if (n >= sizeof(o.abbr)) n = sizeof(o.abbr) - 1;
    std::memcpy(o.abbr, al.abbr, n);
    o.abbr[n] = '\0';
    return o;
  }

  std::int32_t UtcOffset(std::int64_t t) const override { return tz_.lookup(ToTp(t)).offset; }

  CivilLookup Lookup(const CivilSecond& c) const override {
    const cctz::time_zone::civil_lookup cl =
        tz_.lookup(cctz::civil_second(c.year, c.month, c.day, c.hour, c.minute, c.second));
    CivilLookup r;
    r.kind = cl.kind == cctz::time_zone::civil_lookup::UNIQUE    ? CivilLookup::kUnique
             : cl.kind == cctz::time_zone::civil_lookup::SKIPPED ? CivilLookup::kSkipped
                                                                 : CivilLookup::kRepeated;
    r.pre = FromTp(cl.pre);
    r.trans = FromTp(cl.trans);
    r.post = FromTp(cl.post);
    return r;
  }

  bool NextTransition(std::int64_t t, ZoneTransition* out) const override {
    cctz::time_zone::civil_transition tr;
    if (!tz_.next_transition(ToTp(t), &tr)) return false;
    // No transition lies in (t, at), so the offset before it is the offset at t; the instant
    // and the new offset follow from the civil times jumped from and to.
    const std::int32_t before = UtcOffset(t);
    const std::int64_t from_local = UnixSecondsFromCivil(CivilOf(tr.from));
    const std::int64_t to_local = UnixSecondsFromCivil(CivilOf(tr.to));
    out->at = from_local - before;
    out->offset_before = before;
    out->offset_after = static_cast<std::int32_t>(to_local - out->at);
    return true;
  }

 private:
  std::string name_;
  cctz::time_zone tz_;
};

}  // namespace

bool HasSystemTimeZoneDatabase() noexcept { return true; }

Result<TimeZonePtr> LoadSystemTimeZone(std::string_view name) {
  std::string n(name);
  // cctz also accepts "localtime", "Fixed/..." and absolute paths; aps accepts IANA names only.
  if (n == "localtime" || n.starts_with("Fixed/") || n.starts_with("/")) {
    return Status::Format(StatusCode::kNotFound, "\"%s\" is not an IANA zone name", n.c_str());
  }
  cctz::time_zone tz;
  if (!cctz::load_time_zone(n, &tz)) {
    return Status::Format(StatusCode::kNotFound, "no IANA zone \"%s\" in the system database",
                          n.c_str());
  }
  return TimeZonePtr(std::make_shared<CctzZone>(std::move(n), tz));
}

}  // namespace aps::platform
