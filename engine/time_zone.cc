// Time zones without a database: UTC, fixed offsets and POSIX TZ rule strings; and the resolver
// that adds the platform's IANA database.
//
// Design
// ------
// Every zone implements the same three queries (OffsetAt, Lookup, NextTransition). Lookup of a
// civil time is derived generically for the database-free zones: a zone here has at most two
// offsets (standard and DST), so a civil time c has at most two candidate instants,
// c - std_offset and c - dst_offset; a candidate is valid when the zone's offset at that instant
// is the one used to compute it. Two valid candidates = a fold (kRepeated), none = a gap
// (kSkipped), one = kUnique. This is exact for POSIX rules as long as consecutive transitions are
// more than |dst - std| apart, which every real rule satisfies.
//
// POSIX rules (IEEE Std 1003.1 "TZ", with the RFC 8536 extensions: hours up to ±167 in rule times,
// quoted <...> names). Transitions for year Y are computed from the rule on demand; nothing is
// cached, so a zone is immutable and thread-safe. The range is years 1..9999.
#include "engine/time_zone.h"

#include <cstdio>
#include <cstring>

#include "platform/tzdb.h"

namespace aps {
namespace {

void CopyAbbr(char (&dst)[16], std::string_view src) {
  std::size_t n = src.size() < sizeof(dst) - 1 ? src.size() : sizeof(dst) - 1;
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

// ---------------------------------------------------------------------------------------------
// Fixed offsets.

class FixedZone final : public TimeZone {
 public:
  FixedZone(std::string_view name, std::int32_t offset, std::string_view abbr)
      : name_(name), offset_(offset) {
    CopyAbbr(abbr_, abbr);
  }
  std::string_view name() const override { return name_; }
  ZoneOffset OffsetAt(std::int64_t) const override {
    ZoneOffset o;
    o.utc_offset_seconds = offset_;
    std::memcpy(o.abbr, abbr_, sizeof(abbr_));
    return o;
  }
  CivilLookup Lookup(const CivilSecond& c) const override {
    std::int64_t t = UnixSecondsFromCivil(c) - offset_;
    return CivilLookup{CivilLookup::kUnique, t, t, t};
  }
  bool NextTransition(std::int64_t, ZoneTransition*) const override { return false; }

 private:
  std::string name_;
  std::int32_t offset_;
  char abbr_[16];
};

// Parses [UTC|GMT]±H[H][[:]MM]; false if `s` is not of that form.
bool ParseFixedOffset(std::string_view s, std::int32_t* offset) {
  if (s.starts_with("UTC") || s.starts_with("GMT")) s.remove_prefix(3);
  if (s.empty() || (s[0] != '+' && s[0] != '-')) return false;
  const int sign = s[0] == '-' ? -1 : 1;
  s.remove_prefix(1);
  auto digits = [&](std::size_t max, int* out) {
    std::size_t n = 0;
    int v = 0;
    while (n < s.size() && n < max && s[n] >= '0' && s[n] <= '9') v = v * 10 + (s[n++] - '0');
    s.remove_prefix(n);
    *out = v;
    return n;
  };
  int h = 0, m = 0;
  std::size_t hd = digits(2, &h);
  if (hd == 0) return false;
  if (!s.empty() && s[0] == ':') {
    s.remove_prefix(1);
    if (digits(2, &m) != 2) return false;
  } else if (!s.empty()) {
    if (hd != 2 || digits(2, &m) != 2) return false;
  }
  if (!s.empty() || h > 24 || m > 59) return false;
  *offset = sign * (h * 3600 + m * 60);
  return true;
}

// ---------------------------------------------------------------------------------------------
// POSIX TZ rules.

struct PosixDate {
  enum Kind : std::uint8_t { kJulian1, kJulian0, kMonthWeekDay } kind = kMonthWeekDay;
  int n = 0;                 // J: 1..365; n: 0..365
  int month = 0;             // M
  int week = 0;              // 1..5 (5 = last)
  int wday = 0;              // 0 = Sunday (POSIX)
  std::int32_t time = 7200;  // seconds after local midnight, may be negative or > 24 h
};

struct PosixSpec {
  char std_abbr[16] = {};
  char dst_abbr[16] = {};
  std::int32_t std_offset = 0;  // east-positive
  std::int32_t dst_offset = 0;
  bool has_dst = false;
  PosixDate start, end;
};

class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}

  Status Parse(PosixSpec* spec) {
    APS_RETURN_IF_ERROR(Abbr(spec->std_abbr, "standard-time name"));
    std::int32_t off = 0;
    if (!Offset(&off, 24)) return Error("expected a UTC offset after the standard-time name");
    spec->std_offset = -off;  // POSIX offsets are west-positive
    if (s_.empty()) return OkStatus();
    APS_RETURN_IF_ERROR(Abbr(spec->dst_abbr, "DST name"));
    spec->has_dst = true;
    spec->dst_offset = spec->std_offset + 3600;
    if (!s_.empty() && s_[0] != ',') {
      if (!Offset(&off, 24)) return Error("expected a UTC offset or ',' after the DST name");
      spec->dst_offset = -off;
    }
    if (s_.empty()) {
      return Error("has a DST name but no transition rules; add them, e.g. ',M3.2.0,M11.1.0'");
    }
    if (s_[0] != ',') return Error("expected ',' before the DST start rule");
    s_.remove_prefix(1);
    if (!Date(&spec->start))
      return Error("malformed DST start rule (expected Jn, n or Mm.w.d[/time])");
    if (s_.empty() || s_[0] != ',') return Error("expected ',' before the DST end rule");
    s_.remove_prefix(1);
    if (!Date(&spec->end)) return Error("malformed DST end rule (expected Jn, n or Mm.w.d[/time])");
    if (!s_.empty()) return Error("unexpected text after the DST end rule");
    return OkStatus();
  }

 private:
  Status Error(const char* what) const {
    return Status::Format(StatusCode::kInvalidArgument, "POSIX TZ string: %s", what);
  }

  Status Abbr(char (&out)[16], const char* what) {
    std::size_t n = 0;
    if (!s_.empty() && s_[0] == '<') {
      std::size_t close = s_.find('>');
      if (close == std::string_view::npos) {
        return Status::Format(StatusCode::kInvalidArgument,
                              "POSIX TZ string: unterminated '<' in the %s", what);
      }
      n = close - 1;
      if (n < 1 || n > 15) return Error("a quoted zone name must be 1..15 characters");
      CopyAbbr(out, s_.substr(1, n));
      s_.remove_prefix(close + 1);
      return OkStatus();
    }
    while (n < s_.size() && ((s_[n] >= 'A' && s_[n] <= 'Z') || (s_[n] >= 'a' && s_[n] <= 'z'))) ++n;
    if (n < 3 || n > 15) {
      return Status::Format(StatusCode::kInvalidArgument,
                            "POSIX TZ string: the %s must be 3..15 letters or <quoted>", what);
    }
    CopyAbbr(out, s_.substr(0, n));
    s_.remove_prefix(n);
    return OkStatus();
  }

  bool Number(int* v, int max_digits) {
    int n = 0, x = 0;
    while (n < max_digits && static_cast<std::size_t>(n) < s_.size() &&
           s_[static_cast<std::size_t>(n)] >= '0' && s_[static_cast<std::size_t>(n)] <= '9') {
      x = x * 10 + (s_[static_cast<std::size_t>(n)] - '0');
      ++n;
    }
    if (n == 0) return false;
    s_.remove_prefix(static_cast<std::size_t>(n));
    *v = x;
    return true;
  }

  // [+-]hh[:mm[:ss]] with hh <= max_hours.
  bool Offset(std::int32_t* out, int max_hours) {
    int sign = 1;
    if (!s_.empty() && (s_[0] == '+' || s_[0] == '-')) {
      sign = s_[0] == '-' ? -1 : 1;
      s_.remove_prefix(1);
    }
    int h = 0, m = 0, sec = 0;
    if (!Number(&h, 3) || h > max_hours) return false;
    if (!s_.empty() && s_[0] == ':') {
      s_.remove_prefix(1);
      if (!Number(&m, 2) || m > 59) return false;
      if (!s_.empty() && s_[0] == ':') {
        s_.remove_prefix(1);
        if (!Number(&sec, 2) || sec > 59) return false;
      }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  bool Date(PosixDate* d) {
    if (s_.empty()) return false;
    if (s_[0] == 'M') {
      s_.remove_prefix(1);
      d->kind = PosixDate::kMonthWeekDay;
      if (!Number(&d->month, 2) || d->month < 1 || d->month > 12) return false;
      if (s_.empty() || s_[0] != '.') return false;
      s_.remove_prefix(1);
      if (!Number(&d->week, 1) || d->week < 1 || d->week > 5) return false;
      if (s_.empty() || s_[0] != '.') return false;
      s_.remove_prefix(1);
      if (!Number(&d->wday, 1) || d->wday > 6) return false;
    } else if (s_[0] == 'J') {
      s_.remove_prefix(1);
      d->kind = PosixDate::kJulian1;
      if (!Number(&d->n, 3) || d->n < 1 || d->n > 365) return false;
    } else {
      d->kind = PosixDate::kJulian0;
      if (!Number(&d->n, 3) || d->n > 365) return false;
    }
    d->time = 7200;
    if (!s_.empty() && s_[0] == '/') {
      s_.remove_prefix(1);
      if (!Offset(&d->time, 167)) return false;
    }
    return true;
  }

  std::string_view s_;
};

// Local seconds since the epoch (civil time read as UTC) of a rule date in `year`.
std::int64_t RuleLocalSeconds(const PosixDate& d, std::int64_t year) {
  std::int64_t day = 0;
  switch (d.kind) {
    case PosixDate::kJulian1: {
      // Day 1..365, February 29 is never counted.
      day = DaysFromCivil(year, 1, 1) + d.n - 1;
      if (IsLeapYear(year) && d.n >= 60) day += 1;
      break;
    }
    case PosixDate::kJulian0: day = DaysFromCivil(year, 1, 1) + d.n; break;
    case PosixDate::kMonthWeekDay: {
      const std::int64_t first = DaysFromCivil(year, d.month, 1);
      // POSIX weekday: 0 = Sunday. WeekdayFromDays: 0 = Monday.
      const int first_wd = (WeekdayFromDays(first) + 1) % 7;
      int mday = 1 + (d.wday - first_wd + 7) % 7 + (d.week - 1) * 7;
      const int dim = DaysInMonth(year, d.month);
      while (mday > dim) mday -= 7;
      day = first + mday - 1;
      break;
    }
  }
  return day * 86400 + d.time;
}

class PosixZone final : public TimeZone {
 public:
  PosixZone(std::string_view name, const PosixSpec& spec) : name_(name), spec_(spec) {}

  std::string_view name() const override { return name_; }

  ZoneOffset OffsetAt(std::int64_t t) const override {
    const bool dst = IsDst(t);
    ZoneOffset o;
    o.utc_offset_seconds = dst ? spec_.dst_offset : spec_.std_offset;
    o.is_dst = dst;
    std::memcpy(o.abbr, dst ? spec_.dst_abbr : spec_.std_abbr, sizeof(o.abbr));
    return o;
  }

  CivilLookup Lookup(const CivilSecond& c) const override {
    const std::int64_t local = UnixSecondsFromCivil(c);
    const std::int64_t a = local - spec_.std_offset;
    if (!spec_.has_dst) return CivilLookup{CivilLookup::kUnique, a, a, a};
    const std::int64_t b = local - spec_.dst_offset;
    const bool va = !IsDst(a);
    const bool vb = IsDst(b);
    if (va && !vb) return CivilLookup{CivilLookup::kUnique, a, a, a};
    if (vb && !va) return CivilLookup{CivilLookup::kUnique, b, b, b};
    const std::int64_t lo = a < b ? a : b;
    const std::int64_t hi = a < b ? b : a;
    ZoneTransition tr;
    if (va && vb) {
      // Fold: both readings exist; the transition lies between them.
      NextTransition(lo, &tr);
      return CivilLookup{CivilLookup::kRepeated, lo, tr.at, hi};
    }
    // Gap: neither exists; `pre` uses the offset before the transition (the later instant).
    NextTransition(lo - 1, &tr);
    return CivilLookup{CivilLookup::kSkipped, hi, tr.at, lo};
  }

  bool NextTransition(std::int64_t t, ZoneTransition* out) const override {
    if (!spec_.has_dst) return false;
    const std::int64_t year = CivilFromDays(FloorDiv(t, 86400)).year;
    for (std::int64_t y = year - 1; y <= year + 1 && y <= 9999; ++y) {
      if (y < 1) continue;
      // DST starts at the start rule (local standard time) and ends at the end rule (local DST).
      const std::int64_t start = RuleLocalSeconds(spec_.start, y) - spec_.std_offset;
      const std::int64_t end = RuleLocalSeconds(spec_.end, y) - spec_.dst_offset;
      const std::int64_t first = start < end ? start : end;
      const std::int64_t second = start < end ? end : start;
      for (std::int64_t at : {first, second}) {
        if (at > t) {
          const bool to_dst = at == start;
          out->at = at;
          out->offset_before = to_dst ? spec_.std_offset : spec_.dst_offset;
          out->offset_after = to_dst ? spec_.dst_offset : spec_.std_offset;
          return true;
        }
      }
    }
    return false;
  }

 private:
  bool IsDst(std::int64_t t) const {
    if (!spec_.has_dst) return false;
    // The year of t in local standard time decides which year's rules apply; a rule's
    // transitions are compared as instants, so either neighbouring year gives the same answer.
    const std::int64_t year = CivilFromDays(FloorDiv(t + spec_.std_offset, 86400)).year;
    const std::int64_t start = RuleLocalSeconds(spec_.start, year) - spec_.std_offset;
    const std::int64_t end = RuleLocalSeconds(spec_.end, year) - spec_.dst_offset;
    if (start < end) return t >= start && t < end;  // northern hemisphere
    return !(t >= end && t < start);                // southern: DST across the new year
  }

  std::string name_;
  PosixSpec spec_;
};

bool LooksLikeIanaName(std::string_view name) {
  if (name.empty() || name[0] == '/' || name.find("..") != std::string_view::npos) return false;
  for (char ch : name) {
    const bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' || ch == '-' || ch == '+';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

TimeZonePtr UtcZone() {
  static const TimeZonePtr utc = std::make_shared<FixedZone>("UTC", 0, "UTC");
  return utc;
}

Result<TimeZonePtr> ParsePosixTimeZone(std::string_view spec_text) {
  PosixSpec spec;
  PosixParser parser(spec_text);
  APS_RETURN_IF_ERROR(parser.Parse(&spec));
  return TimeZonePtr(std::make_shared<PosixZone>(spec_text, spec));
}

Result<TimeZonePtr> LoadTimeZone(std::string_view name) {
  if (name.empty()) return InvalidArgument("time zone name is empty");
  if (name == "UTC") return UtcZone();
  std::int32_t offset = 0;
  if (ParseFixedOffset(name, &offset)) {
    char abbr[16];
    const std::int32_t a = offset < 0 ? -offset : offset;
    std::snprintf(abbr, sizeof(abbr), "UTC%c%02d:%02d", offset < 0 ? '-' : '+',
                  static_cast<int>(a / 3600), static_cast<int>(a / 60 % 60));
    return TimeZonePtr(std::make_shared<FixedZone>(name, offset, abbr));
  }
  if (LooksLikeIanaName(name)) {
    Result<TimeZonePtr> sys = platform::LoadSystemTimeZone(name);
    if (sys.ok()) return sys;
  }
  // A POSIX rule string has a digit (the offset). An IANA-looking name with a digit
  // ("Etc/GMT+5" missing from the database) is reported as an unknown zone, not a POSIX error.
  bool has_digit = false;
  for (char ch : name) has_digit |= (ch >= '0' && ch <= '9');
  const bool posix_shaped = name.find(',') != std::string_view::npos || name[0] == '<' ||
                            name.find('/') == std::string_view::npos;
  if (has_digit && posix_shaped) {
    Result<TimeZonePtr> posix = ParsePosixTimeZone(name);
    if (posix.ok()) return posix;
    return Status::Format(StatusCode::kInvalidArgument, "invalid time zone \"%.*s\": %s",
                          static_cast<int>(name.size()), name.data(), posix.status().message());
  }
  return Status::Format(
      StatusCode::kInvalidArgument,
      "unknown time zone \"%.*s\"%s; use an IANA name such as \"Europe/Helsinki\" "
      "(case-sensitive), \"UTC\", a fixed offset such as \"UTC+05:30\", or a POSIX TZ rule "
      "such as \"EST5EDT,M3.2.0,M11.1.0\"",
      static_cast<int>(name.size() > 64 ? 64 : name.size()), name.data(),
      platform::HasSystemTimeZoneDatabase() ? "" : " (this platform has no IANA database)");
}

CivilSecond ToCivil(const TimeZone& zone, std::int64_t unix_seconds) {
  return CivilFromUnixSeconds(unix_seconds + zone.UtcOffset(unix_seconds));
}

std::int64_t Localize(const TimeZone& zone, const CivilSecond& civil) {
  return zone.Lookup(civil).pre;
}

}  // namespace aps
