// Date/time parsing (APScheduler's convert_to_datetime forms) and ISO-8601 printing.
#include "engine/datetime.h"

#include <cstdio>

namespace aps {
namespace {

// Reads 1..max ASCII digits.
bool Digits(std::string_view& s, int min_n, int max_n, std::int64_t* out) {
  int n = 0;
  std::int64_t v = 0;
  while (n < max_n && static_cast<std::size_t>(n) < s.size() &&
         s[static_cast<std::size_t>(n)] >= '0' && s[static_cast<std::size_t>(n)] <= '9') {
    v = v * 10 + (s[static_cast<std::size_t>(n)] - '0');
    ++n;
  }
  if (n < min_n) return false;
  s.remove_prefix(static_cast<std::size_t>(n));
  *out = v;
  return true;
}

bool Consume(std::string_view& s, char c) {
  if (s.empty() || s[0] != c) return false;
  s.remove_prefix(1);
  return true;
}

Status Invalid(std::string_view text, const char* why) {
  return Status::Format(
      StatusCode::kInvalidArgument,
      "Invalid date string \"%.*s\": %s (expected YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]"
      "[Z|+HH:MM])",
      static_cast<int>(text.size() > 80 ? 80 : text.size()), text.data(), why);
}

void AppendOffset(std::string* out, std::int32_t off) {
  char buf[16];
  const char sign = off < 0 ? '-' : '+';
  const std::int32_t a = off < 0 ? -off : off;
  if (a % 60 != 0) {
    std::snprintf(buf, sizeof(buf), "%c%02d:%02d:%02d", sign, a / 3600, a / 60 % 60, a % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%c%02d:%02d", sign, a / 3600, a / 60 % 60);
  }
  *out += buf;
}

std::string FormatWithOffset(Instant t, std::int32_t off, char sep) {
  const std::int64_t secs = t.unix_seconds_floor();
  const std::int64_t us = t.subsecond_micros();
  const CivilSecond c = CivilFromUnixSeconds(secs + off);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d%c%02d:%02d:%02d", c.year, c.month, c.day, sep,
                c.hour, c.minute, c.second);
  std::string out(buf);
  if (us != 0) {
    std::snprintf(buf, sizeof(buf), ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  return out;
}

}  // namespace

Result<ParsedDateTime> ParseDateTimeFields(std::string_view text) {
  std::string_view s = text;
  ParsedDateTime p;
  std::int64_t y = 0, mo = 0, d = 0;
  if (!Digits(s, 4, 4, &y) || !Consume(s, '-') || !Digits(s, 1, 2, &mo) || !Consume(s, '-') ||
      !Digits(s, 1, 2, &d)) {
    return Invalid(text, "the date part is not YYYY-MM-DD");
  }
  if (mo < 1 || mo > 12) return Invalid(text, "month must be 1..12");
  if (y < 1 || d < 1 || d > DaysInMonth(y, static_cast<int>(mo))) {
    return Invalid(text, "day is out of range for the month");
  }
  p.civil.year = static_cast<std::int32_t>(y);
  p.civil.month = static_cast<std::int32_t>(mo);
  p.civil.day = static_cast<std::int32_t>(d);
  if (!s.empty() && (s[0] == ' ' || s[0] == 'T')) {
    s.remove_prefix(1);
    std::int64_t h = 0, mi = 0, se = 0;
    // Seconds are optional (APScheduler requires them; "08:00" is what people type).
    if (!Digits(s, 1, 2, &h) || !Consume(s, ':') || !Digits(s, 1, 2, &mi) ||
        (Consume(s, ':') && !Digits(s, 1, 2, &se))) {
      return Invalid(text, "the time part is not HH:MM[:SS]");
    }
    if (h > 23 || mi > 59 || se > 59) return Invalid(text, "time of day is out of range");
    p.has_time = true;
    p.civil.hour = static_cast<std::int32_t>(h);
    p.civil.minute = static_cast<std::int32_t>(mi);
    p.civil.second = static_cast<std::int32_t>(se);
    if (Consume(s, '.')) {
      std::string_view before = s;
      std::int64_t f = 0;
      if (!Digits(s, 1, 6, &f)) return Invalid(text, "expected 1 to 6 digits after '.'");
      for (std::size_t n = before.size() - s.size(); n < 6; ++n) f *= 10;
      p.micros = static_cast<std::int32_t>(f);
    }
  }
  if (!s.empty()) {
    if (s == "Z") {
      p.has_offset = true;
      s.remove_prefix(1);
    } else if (s[0] == '+' || s[0] == '-') {
      const int sign = s[0] == '-' ? -1 : 1;
      s.remove_prefix(1);
      std::int64_t oh = 0, om = 0;
      if (!Digits(s, 2, 2, &oh) || !Consume(s, ':') || !Digits(s, 2, 2, &om) || !s.empty()) {
        return Invalid(text, "the UTC offset is not +HH:MM");
      }
      if (oh > 23 || om > 59) return Invalid(text, "the UTC offset is out of range");
      p.has_offset = true;
      p.offset_seconds = static_cast<std::int32_t>(sign * (oh * 3600 + om * 60));
    }
    if (!s.empty()) return Invalid(text, "unexpected trailing text");
  }
  return p;
}

Result<Instant> ParseDateTime(std::string_view text, const TimeZone& zone) {
  Result<ParsedDateTime> p = ParseDateTimeFields(text);
  if (!p.ok()) return p.status();
  const std::int64_t secs =
      p->has_offset ? UnixSecondsFromCivil(p->civil) - p->offset_seconds : Localize(zone, p->civil);
  const Instant t{secs * kMicrosPerSecond + p->micros};
  if (t < kMinInstant || t > kMaxInstant) {
    return Invalid(text, "the instant is outside 0001-01-01 .. 9999-12-31 23:59:59 UTC");
  }
  return t;
}

std::string FormatIso(Instant t, const TimeZone& zone) {
  const std::int32_t off = zone.UtcOffset(t.unix_seconds_floor());
  std::string out = FormatWithOffset(t, off, 'T');
  AppendOffset(&out, off);
  return out;
}

std::string FormatIsoUtc(Instant t) {
  std::string out = FormatWithOffset(t, 0, 'T');
  out += "+00:00";
  return out;
}

std::string FormatCivilSpace(Instant t, const TimeZone& zone) {
  const ZoneOffset zo = zone.OffsetAt(t.unix_seconds_floor());
  std::string out = FormatWithOffset(t, zo.utc_offset_seconds, ' ');
  out += ' ';
  if (zo.abbr[0] != '\0') {
    out += zo.abbr;
  } else {
    AppendOffset(&out, zo.utc_offset_seconds);
  }
  return out;
}

std::string FormatTimedelta(std::int64_t micros) {
  // Python normalizes to days (may be negative), seconds in [0, 86400), microseconds.
  const std::int64_t total_s = FloorDiv(micros, kMicrosPerSecond);
  const std::int64_t us = micros - total_s * kMicrosPerSecond;
  const std::int64_t days = FloorDiv(total_s, 86400);
  const std::int64_t sod = total_s - days * 86400;
  char buf[96];
  std::string out;
  if (days != 0) {
    std::snprintf(buf, sizeof(buf), "%lld day%s, ", static_cast<long long>(days),
                  days == 1 || days == -1 ? "" : "s");
    out += buf;
  }
  std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60));
  out += buf;
  if (us != 0) {
    std::snprintf(buf, sizeof(buf), ".%06lld", static_cast<long long>(us));
    out += buf;
  }
  return out;
}

std::string FormatSecondsNumber(std::int64_t micros) {
  char buf[48];
  const bool neg = micros < 0;
  const std::int64_t a = neg ? -micros : micros;
  std::snprintf(buf, sizeof(buf), "%s%lld", neg ? "-" : "",
                static_cast<long long>(a / kMicrosPerSecond));
  std::string out(buf);
  std::int64_t frac = a % kMicrosPerSecond;
  if (frac != 0) {
    std::snprintf(buf, sizeof(buf), ".%06lld", static_cast<long long>(frac));
    std::string f(buf);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out;
}

}  // namespace aps
