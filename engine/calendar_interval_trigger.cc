// CalendarIntervalTrigger: date arithmetic in days since the epoch, time of day via the zone.
// Every loop is bounded by year 9999.
#include "engine/calendar_interval_trigger.h"

#include <cstdio>

#include "engine/datetime.h"
#include "engine/internal/text_util.h"

namespace aps {
namespace {

constexpr std::int64_t kLastDay = DaysFromCivil(9999, 12, 31);

std::string DateText(std::int64_t days) {
  const CivilDay d = CivilFromDays(days);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d", static_cast<long long>(d.year), d.month,
                d.day);
  return buf;
}

}  // namespace

CalendarIntervalTrigger::CalendarIntervalTrigger(const CalendarIntervalOptions& o)
    : Trigger(o.jitter, std::nullopt), o_(o) {
  start_days_ = DaysFromCivil(o.start_date->year, o.start_date->month, o.start_date->day);
  if (o.end_date) end_days_ = DaysFromCivil(o.end_date->year, o.end_date->month, o.end_date->day);
}

Result<std::unique_ptr<CalendarIntervalTrigger>> CalendarIntervalTrigger::Create(
    const CalendarIntervalOptions& in, Instant now) {
  CalendarIntervalOptions o = in;
  if (!o.timezone) o.timezone = UtcZone();
  if (o.years < 0 || o.months < 0 || o.weeks < 0 || o.days < 0) {
    return InvalidArgument("years, months, weeks and days must not be negative");
  }
  if (o.years == 0 && o.months == 0 && o.weeks == 0 && o.days == 0) {
    return InvalidArgument("interval must be at least 1 day long");
  }
  if (o.years > 9999 || o.months > 120000 || o.weeks > 600000 || o.days > 4000000) {
    return InvalidArgument("interval is longer than the supported range (year 9999)");
  }
  if (o.hour < 0 || o.hour > 23 || o.minute < 0 || o.minute > 59 || o.second < 0 || o.second > 59) {
    return Status::Format(
        StatusCode::kInvalidArgument,
        "time of day %02d:%02d:%02d is invalid (hour 0-23, minute 0-59, second 0-59)", o.hour,
        o.minute, o.second);
  }
  if (!o.start_date) {
    const CivilSecond today = ToCivil(*o.timezone, now.unix_seconds_floor());
    o.start_date = CivilDay{today.year, today.month, today.day};
  }
  auto valid = [](const CivilDay& d) {
    return d.year >= 1 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
           d.day <= DaysInMonth(d.year, d.month);
  };
  if (!valid(*o.start_date)) return InvalidArgument("start_date is not a valid date");
  if (o.end_date) {
    if (!valid(*o.end_date)) return InvalidArgument("end_date is not a valid date");
    if (DaysFromCivil(o.end_date->year, o.end_date->month, o.end_date->day) <
        DaysFromCivil(o.start_date->year, o.start_date->month, o.start_date->day)) {
      return InvalidArgument("end_date cannot be earlier than start_date");
    }
  }
  return std::unique_ptr<CalendarIntervalTrigger>(new CalendarIntervalTrigger(o));
}

std::optional<Instant> CalendarIntervalTrigger::FireOn(std::int64_t days) const {
  const CivilDay d = CivilFromDays(days);
  const CivilLookup lk = o_.timezone->Lookup(CivilSecond{static_cast<std::int32_t>(d.year), d.month,
                                                         d.day, o_.hour, o_.minute, o_.second});
  if (lk.kind == CivilLookup::kSkipped) return std::nullopt;
  return Instant::FromUnixSeconds(lk.pre);  // unique, or the earlier occurrence of a fold
}

std::optional<std::int64_t> CalendarIntervalTrigger::Advance(std::int64_t days) const {
  const CivilDay d = CivilFromDays(days);
  std::int64_t year = d.year;
  std::int64_t month = d.month;
  if (o_.years != 0 || o_.months != 0) {
    for (;;) {
      month += o_.months;
      year += o_.years + (month - 1) / 12;
      month = (month - 1) % 12 + 1;
      if (year > 9999) return std::nullopt;
      if (d.day <= DaysInMonth(year, static_cast<int>(month))) break;
    }
  }
  const std::int64_t next =
      DaysFromCivil(year, static_cast<int>(month), d.day) + o_.weeks * 7 + o_.days;
  if (next > kLastDay) return std::nullopt;
  return next;
}

std::optional<Instant> CalendarIntervalTrigger::FromDate(std::int64_t days) const {
  for (;;) {
    if (end_days_ && days > *end_days_) return std::nullopt;
    if (std::optional<Instant> t = FireOn(days)) return t;
    std::optional<std::int64_t> next = Advance(days);  // the time does not exist that day
    if (!next) return std::nullopt;
    days = *next;
  }
}

std::optional<Instant> CalendarIntervalTrigger::NextUnjittered(std::optional<Instant> previous,
                                                               Instant) const {
  if (!previous) return FromDate(start_days_);
  const CivilSecond p = ToCivil(*o_.timezone, previous->unix_seconds_floor());
  std::optional<std::int64_t> next = Advance(DaysFromCivil(p.year, p.month, p.day));
  if (!next) return std::nullopt;
  return FromDate(*next);
}

std::optional<Instant> CalendarIntervalTrigger::FirstAtOrAfterImpl(
    Instant t, std::optional<Instant> known) const {
  std::int64_t days = start_days_;
  const std::int64_t t_days = FloorDiv(t.unix_seconds_floor(), 86400) - 2;  // a date <= t's
  if (o_.years == 0 && o_.months == 0) {
    // Pure week/day periods: the dates are start + k*step; jump close to t.
    const std::int64_t step = o_.weeks * 7 + o_.days;
    if (t_days > days) days += (t_days - days) / step * step;
  } else if (o_.weeks == 0 && o_.days == 0) {
    // Pure month/year periods keep the start's day of month: the candidate months are
    // start + k*period; jump to the period just before t's month and walk from there.
    const CivilDay s = CivilFromDays(start_days_);
    const CivilDay td = CivilFromDays(t_days);
    const std::int64_t period = o_.years * 12 + o_.months;
    const std::int64_t months = (td.year - s.year) * 12 + (td.month - s.month) - 1;
    if (months > period) {
      std::int64_t k = months / period;
      for (;; ++k) {  // the first k whose month has the start's day (bounded: <= 8 tries)
        const std::int64_t m = s.month - 1 + k * period;
        const std::int64_t y = s.year + m / 12;
        if (y > 9999) return std::nullopt;
        const int mo = static_cast<int>(m % 12) + 1;
        if (s.day <= DaysInMonth(y, mo)) {
          days = DaysFromCivil(y, mo, s.day);
          break;
        }
      }
    }
  }
  if (known && *known <= t) {
    // Continue from a known fire date when it is closer than the jump target.
    const CivilSecond c = ToCivil(*o_.timezone, known->unix_seconds_floor());
    const std::int64_t k_days = DaysFromCivil(c.year, c.month, c.day);
    if (k_days > days && k_days >= start_days_) days = k_days;
  }
  for (;;) {
    std::optional<Instant> f = FromDate(days);
    if (!f) return std::nullopt;
    if (*f >= t) return f;
    const CivilSecond c = ToCivil(*o_.timezone, f->unix_seconds_floor());
    std::optional<std::int64_t> next = Advance(DaysFromCivil(c.year, c.month, c.day));
    if (!next) return std::nullopt;
    days = *next;
  }
}

std::string CalendarIntervalTrigger::Describe() const {
  std::string out = "calendarinterval[";
  char buf[64];
  const struct {
    const char* name;
    int v;
  } parts[] = {{"years", o_.years}, {"months", o_.months}, {"weeks", o_.weeks}, {"days", o_.days}};
  for (const auto& p : parts) {
    if (p.v == 0) continue;
    std::snprintf(buf, sizeof(buf), "%s=%d, ", p.name, p.v);
    out += buf;
  }
  std::snprintf(buf, sizeof(buf), "time=%02d:%02d:%02d]", o_.hour, o_.minute, o_.second);
  out += buf;
  return out;
}

std::string CalendarIntervalTrigger::ToText() const {
  char buf[160];
  std::snprintf(buf, sizeof(buf),
                "calendarinterval(years=%d, months=%d, weeks=%d, days=%d, hour=%d, minute=%d, "
                "second=%d, start_date=",
                o_.years, o_.months, o_.weeks, o_.days, o_.hour, o_.minute, o_.second);
  std::string out = buf;
  engine_internal::AppendQuoted(DateText(start_days_), &out);
  if (end_days_) {
    out += ", end_date=";
    engine_internal::AppendQuoted(DateText(*end_days_), &out);
  }
  out += ", timezone=";
  engine_internal::AppendQuoted(o_.timezone->name(), &out);
  AppendJitterText(&out);
  out += ')';
  return out;
}

std::unique_ptr<Trigger> CalendarIntervalTrigger::Clone() const {
  return std::unique_ptr<Trigger>(new CalendarIntervalTrigger(*this));
}

}  // namespace aps
