// CronTrigger: the next fire time of a cron schedule, exactly and boundedly.
//
// Design
// ------
// The schedule is a set of civil (wall-clock) times: those matching every field. Fire instants
// are those civil times mapped through the zone:
//   * unique civil time  -> its instant;
//   * in a DST gap       -> read with the pre-transition offset (cctz's `pre`): the instant lies
//                           after the gap, shifted by the DST delta (APScheduler 3.x);
//   * in a DST fold      -> both instants, first occurrence then second (APScheduler 3.11/4.x).
// The next fire time from instant s (APScheduler's start rules, rounded up to a whole second)
// is the smallest instant >= s of that set. Candidates, c_s being the civil time of s:
//   1. c1 = the smallest matching civil time >= c_s, mapped as above (a repeated c1 gives its
//      first occurrence that is >= s);
//   2. if c1 is a gap time, the first real match after the gap, which may come before c1's
//      shifted instant (Lord Howe's 30-minute gap: 02:28 shifts to 02:58, after 02:30..02:57);
//   3. if s lies just after a gap, gap times behind c_s whose shifted instants are still >= s
//      (hour=3, minute='0,30' across a 03:00-04:00 gap fires at 04:00 and 04:30);
//   4. if s lies in the first pass of a fold, the second occurrence of the smallest match in
//      the fold range (hourly 03:00 fires at 03:00 EEST, then 03:00 EET).
// Equal instants from different civil times fire once. Every matching wall time therefore
// fires exactly once (twice in a fold), and none is lost.
//
// FindCivil is an odometer over bit masks: year (by expression), month mask, a per-month day
// mask (day expressions AND day_of_week AND ISO week, or day OR day_of_week for Vixie crontab),
// then hour/minute/second masks ("next set bit >= v" with ctz). A failed digit carries into the
// next more significant one. Work is bounded: each month is visited at most once per year, and
// years stop at 9999, so an impossible schedule (Feb 30) answers "none" in bounded time.
#include "engine/cron_trigger.h"

#include <algorithm>
#include <bit>

#include "engine/datetime.h"
#include "engine/internal/text_util.h"

namespace aps {

using engine_internal::CronDialect;
using engine_internal::CronField;
using engine_internal::CronFieldIndex;
using engine_internal::kNumCronFields;

namespace {

constexpr int kMaxYear = 9999;
// The largest UTC offset change a zone may make at once, plus margin (Pacific/Apia skipped
// a whole day in 2011).
constexpr std::int64_t kMaxShiftSeconds = 2 * 86400;

// Smallest set bit >= v of `mask`, or -1.
inline int NextBit(std::uint64_t mask, int v) {
  if (v > 63) return -1;
  const std::uint64_t m = mask & (~std::uint64_t{0} << v);
  return m == 0 ? -1 : std::countr_zero(m);
}

std::int64_t CeilSeconds(Instant t) {
  return FloorDiv(t.us + kMicrosPerSecond - 1, kMicrosPerSecond);
}

}  // namespace

CronTrigger::CronTrigger(Fields fields, TimeZonePtr zone, std::optional<Instant> start,
                         std::optional<Instant> end, Jitter jitter, std::string crontab,
                         bool day_or_weekday)
    : Trigger(jitter, end),
      fields_(std::move(fields)),
      zone_(std::move(zone)),
      start_date_(start),
      crontab_(std::move(crontab)),
      day_or_weekday_(day_or_weekday),
      year_star_(fields_[engine_internal::kYear].is_star) {}

Result<std::unique_ptr<CronTrigger>> CronTrigger::Create(const CronOptions& o) {
  const std::optional<std::string>* given[kNumCronFields] = {
      &o.year, &o.month, &o.day, &o.week, &o.day_of_week, &o.hour, &o.minute, &o.second};
  int least_significant = -1;
  for (int i = 0; i < kNumCronFields; ++i) {
    if (given[i]->has_value()) least_significant = i;
  }
  Fields fields;
  for (int i = 0; i < kNumCronFields; ++i) {
    const auto index = static_cast<CronFieldIndex>(i);
    if (given[i]->has_value()) {
      Result<CronField> f =
          engine_internal::ParseCronField(index, **given[i], CronDialect::kApscheduler);
      if (!f.ok()) return f.status();
      fields[static_cast<std::size_t>(i)] = std::move(f).value();
    } else {
      fields[static_cast<std::size_t>(i)] = engine_internal::DefaultCronField(
          index, /*star=*/i < least_significant || least_significant < 0);
    }
  }
  return std::unique_ptr<CronTrigger>(
      new CronTrigger(std::move(fields), o.timezone ? o.timezone : UtcZone(), o.start_date,
                      o.end_date, o.jitter, "", false));
}

Result<std::unique_ptr<CronTrigger>> CronTrigger::FromCrontab(std::string_view expr,
                                                              TimeZonePtr zone, Jitter jitter,
                                                              std::optional<Instant> start_date,
                                                              std::optional<Instant> end_date) {
  std::string_view line = engine_internal::Trim(expr);
  std::string_view macro_text;
  if (!line.empty() && line[0] == '@') {
    struct Macro {
      const char* name;
      const char* value;
    };
    static constexpr Macro kMacros[] = {{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
                                        {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
                                        {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                                        {"@hourly", "0 * * * *"}};
    for (const Macro& m : kMacros) {
      if (line == m.name) macro_text = m.value;
    }
    if (macro_text.empty()) {
      if (line == "@reboot") {
        return InvalidArgument(
            "crontab: @reboot is not a time schedule; run the job at startup instead");
      }
      return Status::Format(StatusCode::kInvalidArgument,
                            "crontab: unknown macro \"%.*s\" (known: @yearly @annually @monthly "
                            "@weekly @daily @midnight @hourly)",
                            static_cast<int>(line.size() > 40 ? 40 : line.size()), line.data());
    }
  }
  const std::string_view text = macro_text.empty() ? line : macro_text;
  std::string_view parts[6];
  int n = 0;
  {
    std::string_view rest = text;
    while (!rest.empty()) {
      std::size_t b = 0;
      while (b < rest.size() && (rest[b] == ' ' || rest[b] == '\t')) ++b;
      rest.remove_prefix(b);
      if (rest.empty()) break;
      std::size_t e = 0;
      while (e < rest.size() && rest[e] != ' ' && rest[e] != '\t') ++e;
      if (n < 6) parts[n] = rest.substr(0, e);
      ++n;
      rest.remove_prefix(e);
    }
  }
  if (n != 5) {
    return Status::Format(StatusCode::kInvalidArgument,
                          "Wrong number of fields; got %d, expected 5 (minute hour day month "
                          "day_of_week)",
                          n);
  }
  static constexpr CronFieldIndex kOrder[5] = {engine_internal::kMinute, engine_internal::kHour,
                                               engine_internal::kDay, engine_internal::kMonth,
                                               engine_internal::kDayOfWeek};
  Fields fields;
  // year and week are "*", second is 0; the other five come from the line.
  for (CronFieldIndex i :
       {engine_internal::kYear, engine_internal::kWeek, engine_internal::kSecond}) {
    fields[i] = engine_internal::DefaultCronField(i, /*star=*/false);
  }
  for (int i = 0; i < 5; ++i) {
    Result<CronField> f =
        engine_internal::ParseCronField(kOrder[i], parts[i], CronDialect::kCrontab);
    if (!f.ok()) {
      const bool exotic = parts[i].find_first_of("LW#?H") != std::string_view::npos;
      return Status::Format(StatusCode::kInvalidArgument, "crontab field %d (%s) \"%.*s\": %s%s",
                            i + 1, engine_internal::kCronFieldNames[kOrder[i]],
                            static_cast<int>(parts[i].size() > 40 ? 40 : parts[i].size()),
                            parts[i].data(), f.status().message(),
                            exotic ? " (the L, W, #, ? and H extensions are not supported)" : "");
    }
    fields[kOrder[i]] = std::move(f).value();
  }
  const bool day_or = !fields[engine_internal::kDay].starts_with_star &&
                      !fields[engine_internal::kDayOfWeek].starts_with_star;
  return std::unique_ptr<CronTrigger>(new CronTrigger(std::move(fields), zone ? zone : UtcZone(),
                                                      start_date, end_date, jitter,
                                                      std::string(text), day_or));
}

std::uint32_t CronTrigger::DayMask(std::int64_t year, int month) const {
  const CronField& day = fields_[engine_internal::kDay];
  const CronField& dow = fields_[engine_internal::kDayOfWeek];
  const CronField& week = fields_[engine_internal::kWeek];
  const int dim = DaysInMonth(year, month);
  const std::uint32_t valid =
      static_cast<std::uint32_t>(((std::uint64_t{1} << (dim + 1)) - 1) & ~std::uint64_t{1});
  const std::uint32_t days = engine_internal::DayFieldMask(day, year, month);
  if (!day_or_weekday_ && dow.is_star && week.is_star) return days;
  const int first_wd = Weekday(year, month, 1);
  std::uint32_t wd_days = valid;
  if (!dow.is_star) {
    wd_days = 0;
    for (int k = 0; k < 7; ++k) {
      if ((dow.mask >> ((first_wd + k) % 7) & 1) == 0) continue;
      for (int d = k + 1; d <= dim; d += 7) wd_days |= 1u << d;
    }
  }
  if (day_or_weekday_) return days | wd_days;
  std::uint32_t m = days & wd_days;
  if (!week.is_star && m != 0) {
    // The ISO week number changes on Mondays: compute it for day 1 and for each Monday.
    std::uint32_t wk_days = 0;
    int w = IsoWeek(year, month, 1);
    for (int d = 1; d <= dim; ++d) {
      if (d > 1 && (first_wd + d - 1) % 7 == 0) w = IsoWeek(year, month, d);
      if (week.mask >> w & 1) wk_days |= 1u << d;
    }
    m &= wk_days;
  }
  return m;
}

bool CronTrigger::NextTimeOfDay(int* h, int* mi, int* s) const {
  const std::uint64_t hours = fields_[engine_internal::kHour].mask;
  const std::uint64_t minutes = fields_[engine_internal::kMinute].mask;
  const std::uint64_t seconds = fields_[engine_internal::kSecond].mask;
  for (;;) {
    const int nh = NextBit(hours, *h);
    if (nh < 0 || nh > 23) return false;
    if (nh != *h) {
      *h = nh;
      *mi = 0;
      *s = 0;
    }
    const int nmi = NextBit(minutes, *mi);
    if (nmi < 0) {
      ++*h;
      *mi = *s = 0;
      continue;
    }
    if (nmi != *mi) {
      *mi = nmi;
      *s = 0;
    }
    const int ns = NextBit(seconds, *s);
    if (ns < 0) {
      ++*mi;
      *s = 0;
      if (*mi > 59) {
        ++*h;
        *mi = 0;
      }
      continue;
    }
    *s = ns;
    return true;
  }
}

bool CronTrigger::FindCivil(CivilSecond c, CivilSecond* out) const {
  std::int64_t y = c.year;
  int mo = c.month, d = c.day, h = c.hour, mi = c.minute, s = c.second;
  const std::uint64_t months = fields_[engine_internal::kMonth].mask;
  while (y <= kMaxYear) {
    if (!year_star_) {
      const std::int64_t ny = engine_internal::NextYear(fields_[engine_internal::kYear], y);
      if (ny < 0) return false;
      if (ny != y) {
        y = ny;
        mo = d = 1;
        h = mi = s = 0;
      }
    }
    for (;;) {
      const int nm = NextBit(months, mo);
      if (nm < 0 || nm > 12) break;
      if (nm != mo) {
        mo = nm;
        d = 1;
        h = mi = s = 0;
      }
      const std::uint32_t dm = DayMask(y, mo);
      for (;;) {
        const int nd = NextBit(dm, d);
        if (nd < 0) break;
        if (nd != d) {
          d = nd;
          h = mi = s = 0;
        }
        if (NextTimeOfDay(&h, &mi, &s)) {
          *out = CivilSecond{static_cast<std::int32_t>(y), mo, d, h, mi, s};
          return true;
        }
        ++d;
        h = mi = s = 0;
      }
      ++mo;
      d = 1;
      h = mi = s = 0;
    }
    ++y;
    mo = d = 1;
    h = mi = s = 0;
  }
  return false;
}

std::optional<std::int64_t> CronTrigger::Search(std::int64_t s) const {
  const TimeZone& zone = *zone_;
  const std::int32_t off = zone.UtcOffset(s);
  const std::int64_t local_s = s + off;
  CivilSecond cs = CivilFromUnixSeconds(local_s);
  if (cs.year > kMaxYear) return std::nullopt;
  if (cs.year < engine_internal::kCronFieldMin[engine_internal::kYear]) {
    cs = CivilSecond{engine_internal::kCronFieldMin[engine_internal::kYear], 1, 1, 0, 0, 0};
  }
  CivilSecond c1;
  const bool found = FindCivil(cs, &c1);

  // Offset changes around s: a gap that ended so shortly before s that its shifted times may
  // still lie ahead, and the first real change after s (no-op transitions are skipped).
  ZoneTransition tr, gap;
  bool has_tr = false, has_gap = false, settled = false;
  std::int64_t probe = s - kMaxShiftSeconds;
  for (int i = 0; i < 8; ++i) {
    if (!zone.NextTransition(probe, &tr)) {
      settled = true;
      break;
    }
    probe = tr.at;
    if (tr.offset_after == tr.offset_before) continue;
    if (tr.at > s) {
      has_tr = settled = true;
      break;
    }
    if (tr.offset_after > tr.offset_before && s < tr.at + (tr.offset_after - tr.offset_before)) {
      gap = tr;
      has_gap = true;
    }
  }

  std::optional<std::int64_t> best;
  auto consider = [&best](std::int64_t t) {
    if (!best || t < *best) best = t;
  };
  // The second pass of a fold that s is in the first pass of: its matches come after c1's
  // instant when c1 lies beyond the fold range.
  if (has_tr && tr.offset_after < tr.offset_before) {
    const std::int64_t r0 = tr.at + tr.offset_after;   // fold range, civil seconds
    const std::int64_t r1 = tr.at + tr.offset_before;  // exclusive
    if (local_s >= r0 && (!found || UnixSecondsFromCivil(c1) >= r1)) {
      CivilSecond c2;
      if (FindCivil(CivilFromUnixSeconds(r0), &c2) && UnixSecondsFromCivil(c2) < r1) {
        consider(UnixSecondsFromCivil(c2) - tr.offset_after);  // second occurrence
      }
    }
  }
  // Gap times behind c_s whose shifted instants are still >= s.
  if (has_gap) {
    const std::int64_t g0 = gap.at + gap.offset_before;  // gap, civil seconds
    const std::int64_t g1 = gap.at + gap.offset_after;   // exclusive
    const std::int64_t from = std::max(g0, local_s - (gap.offset_after - gap.offset_before));
    CivilSecond c3;
    if (FindCivil(CivilFromUnixSeconds(from), &c3) && UnixSecondsFromCivil(c3) < g1) {
      consider(UnixSecondsFromCivil(c3) - gap.offset_before);
    }
  }
  if (found) {
    // Fast path: read with s's offset, c1 names an instant before the next offset change, so
    // that reading is valid (unique, or the first occurrence of a fold) and >= s.
    const std::int64_t guess = UnixSecondsFromCivil(c1) - off;
    if (settled && (!has_tr || guess < tr.at)) {
      consider(guess);
    } else {
      const CivilLookup lk = zone.Lookup(c1);
      if (lk.kind == CivilLookup::kRepeated) {
        consider(lk.pre >= s ? lk.pre : lk.post);
      } else {
        consider(lk.pre);  // unique, or a gap time shifted by the DST delta
      }
      if (lk.kind == CivilLookup::kSkipped) {
        // Real matches just after the gap may come before the shifted instant.
        const std::int64_t gap_end = lk.trans + (UnixSecondsFromCivil(c1) - lk.post);
        CivilSecond c4;
        if (FindCivil(CivilFromUnixSeconds(gap_end), &c4)) consider(zone.Lookup(c4).pre);
      }
    }
  }
  return best;
}

std::optional<Instant> CronTrigger::NextUnjittered(std::optional<Instant> previous,
                                                   Instant now) const {
  Instant start = now;
  if (previous) {
    const Instant after{previous->us + 1};
    start = now < after ? now : after;
    if (start == *previous) start = after;
  } else if (start_date_ && *start_date_ > now) {
    start = *start_date_;
  }
  const std::optional<std::int64_t> s = Search(CeilSeconds(start));
  if (!s) return std::nullopt;
  const Instant t = Instant::FromUnixSeconds(*s);
  if (t > kMaxInstant || (end_date() && t > *end_date())) return std::nullopt;
  return t;
}

std::optional<Instant> CronTrigger::FirstAtOrAfterImpl(Instant t, std::optional<Instant>) const {
  return NextUnjittered(std::nullopt, t);
}

std::string CronTrigger::Describe() const {
  std::string out = "cron[";
  bool first = true;
  for (const CronField& f : fields_) {
    if (f.is_default) continue;
    if (!first) out += ", ";
    first = false;
    out += engine_internal::kCronFieldNames[f.index];
    out += "='";
    out += f.text;
    out += '\'';
  }
  if (day_or_weekday_) out += ", match='day or day_of_week'";
  out += ']';
  return out;
}

std::string CronTrigger::ToText() const {
  std::string out;
  if (!crontab_.empty()) {
    out = "crontab(";
    engine_internal::AppendQuoted(crontab_, &out);
  } else {
    out = "cron(";
    bool first = true;
    for (const CronField& f : fields_) {
      if (f.is_default) continue;
      if (!first) out += ", ";
      first = false;
      out += engine_internal::kCronFieldNames[f.index];
      out += '=';
      engine_internal::AppendQuoted(f.text, &out);
    }
    if (!first) out += ", ";
  }
  if (!crontab_.empty()) out += ", ";
  out += "timezone=";
  engine_internal::AppendQuoted(zone_->name(), &out);
  if (start_date_) {
    out += ", start_date=";
    engine_internal::AppendQuoted(FormatIso(*start_date_, *zone_), &out);
  }
  if (end_date()) {
    out += ", end_date=";
    engine_internal::AppendQuoted(FormatIso(*end_date(), *zone_), &out);
  }
  AppendJitterText(&out);
  out += ')';
  return out;
}

std::unique_ptr<Trigger> CronTrigger::Clone() const {
  return std::unique_ptr<Trigger>(new CronTrigger(*this));
}

}  // namespace aps
