// Cron field grammar: APScheduler's expression forms (spec A3.3) plus the POSIX crontab dialect.
//
// Design
// ------
// A field is parsed once into CronExprs and folded into a bit mask, so the next-fire search
// (cron_trigger.cc) asks "next set bit >= v" instead of walking expressions. Two fields cannot
// be a plain mask: year (1970..9999, searched by expression) and day (last / Nth weekday depend
// on the month, so DayFieldMask() builds a 31-bit mask per (year, month)).
//
// Strictness (deliberate differences from APScheduler 3.x, which accepts these silently):
// a step on a name range ("mon-fri/2", "jan/2"), anything after "last" ("lastday"), and
// non-ASCII digits are errors. Error texts are otherwise APScheduler's (spec A3.4).
#include "engine/internal/cron_field.h"

#include <cstdio>

#include "engine/time.h"

namespace aps::engine_internal {

const char* const kCronFieldNames[kNumCronFields] = {"year",        "month", "day",    "week",
                                                     "day_of_week", "hour",  "minute", "second"};
const int kCronFieldMin[kNumCronFields] = {1970, 1, 1, 1, 0, 0, 0, 0};
const int kCronFieldMax[kNumCronFields] = {9999, 12, 31, 53, 6, 23, 59, 59};

namespace {

constexpr const char* kMonths[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kWeekdays[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr const char* kPositions[6] = {"1st", "2nd", "3rd", "4th", "5th", "last"};

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

int FindName(const char* const* names, int n, std::string_view s) {
  for (int i = 0; i < n; ++i) {
    if (EqualsIgnoreCase(names[i], s)) return i;
  }
  return -1;
}

// A cursor over one list item.
struct Cursor {
  std::string_view s;
  bool Done() const { return s.empty(); }
  bool Eat(char c) {
    if (s.empty() || s[0] != c) return false;
    s.remove_prefix(1);
    return true;
  }
  // Up to 9 ASCII digits (larger numbers are not a valid value of any field).
  bool Number(int* out) {
    std::size_t n = 0;
    int v = 0;
    while (n < s.size() && IsDigit(s[n])) {
      if (n == 9) return false;
      v = v * 10 + (s[n] - '0');
      ++n;
    }
    if (n == 0) return false;
    s.remove_prefix(n);
    *out = v;
    return true;
  }
  std::string_view Word() {
    std::size_t n = 0;
    while (n < s.size() && IsAlpha(s[n])) ++n;
    std::string_view w = s.substr(0, n);
    s.remove_prefix(n);
    return w;
  }
};

Status Unrecognized(std::string_view expr, CronFieldIndex index) {
  return Status::Format(
      StatusCode::kInvalidArgument, "Unrecognized expression \"%.*s\" for field \"%s\"",
      static_cast<int>(expr.size() > 60 ? 60 : expr.size()), expr.data(), kCronFieldNames[index]);
}

Status ValidationError(std::string_view expr, const char* fmt, long a, long b) {
  char detail[160];
  std::snprintf(detail, sizeof(detail), fmt, a, b);
  return Status::Format(StatusCode::kInvalidArgument, "Error validating expression '%.*s': %s",
                        static_cast<int>(expr.size() > 60 ? 60 : expr.size()), expr.data(), detail);
}

const char kStepTooBig[] =
    "the step value (%ld) is higher than the total range of the expression (%ld)";

// Field limits for validation; crontab's day_of_week is 0..7.
int FieldMin(CronFieldIndex i, CronDialect) { return kCronFieldMin[i]; }
int FieldMax(CronFieldIndex i, CronDialect d) {
  return i == kDayOfWeek && d == CronDialect::kCrontab ? 7 : kCronFieldMax[i];
}

// APScheduler's RangeExpression validation (spec A3.4), in its order.
Status ValidateRange(std::string_view item, const CronExpr& e, CronFieldIndex index,
                     CronDialect dialect) {
  const long lo = FieldMin(index, dialect), hi = FieldMax(index, dialect);
  if (e.step != 0 && e.step > hi - lo) return ValidationError(item, kStepTooBig, e.step, hi - lo);
  if (e.kind == CronExpr::kAll) return OkStatus();
  if (e.first < lo) {
    return ValidationError(item, "the first value (%ld) is lower than the minimum value (%ld)",
                           e.first, lo);
  }
  if (e.last >= 0 && e.last > hi) {
    return ValidationError(item, "the last value (%ld) is higher than the maximum value (%ld)",
                           e.last, hi);
  }
  // APScheduler computes the range as (last or max) - first, so an explicit last of 0 counts as
  // max.
  const long range = (e.last > 0 ? e.last : hi) - e.first;
  if (e.step != 0 && e.step > range) return ValidationError(item, kStepTooBig, e.step, range);
  return OkStatus();
}

// Parses one item; appends to `field->exprs`.
Status ParseItem(std::string_view item, CronFieldIndex index, CronDialect dialect,
                 CronField* field) {
  Cursor c{item};
  CronExpr e;
  const int lo = FieldMin(index, dialect), hi = FieldMax(index, dialect);
  (void)lo;
  (void)hi;
  if (c.Eat('*')) {
    e.kind = CronExpr::kAll;
    if (c.Eat('/')) {
      if (!c.Number(&e.step) || !c.Done()) return Unrecognized(item, index);
      if (e.step == 0) return InvalidArgument("Increment must be higher than 0");
    } else if (!c.Done()) {
      return Unrecognized(item, index);
    }
    APS_RETURN_IF_ERROR(ValidateRange(item, e, index, dialect));
    field->exprs.push_back(e);
    return OkStatus();
  }
  if (!c.Done() && IsDigit(c.s[0])) {
    Cursor save = c;
    e.kind = CronExpr::kRange;
    bool ok = c.Number(&e.first);
    e.last = -1;
    bool has_last = false;
    if (ok && c.Eat('-')) ok = has_last = c.Number(&e.last);
    if (ok && c.Eat('/')) ok = c.Number(&e.step);
    if (ok && c.Done()) {
      if (!has_last && e.step == 0) e.last = e.first;
      // The constructor's checks come first in APScheduler.
      if (c.s.empty() && item.find('/') != std::string_view::npos && e.step == 0) {
        return InvalidArgument("Increment must be higher than 0");
      }
      if (e.last >= 0 && e.first > e.last) {
        return InvalidArgument("The minimum value in a range must not be higher than the maximum");
      }
      APS_RETURN_IF_ERROR(ValidateRange(item, e, index, dialect));
      field->exprs.push_back(e);
      return OkStatus();
    }
    c = save;
    // Day field: "1st mon" starts with a digit too.
  }
  if (index == kDay) {
    // last | (1st|2nd|3rd|4th|5th|last) +<weekday>
    Cursor p = c;
    std::string_view word = p.s;
    std::size_t n = 0;
    while (n < word.size() && (IsAlpha(word[n]) || IsDigit(word[n]))) ++n;
    word = word.substr(0, n);
    p.s.remove_prefix(n);
    int pos = FindName(kPositions, 6, word);
    if (pos >= 0) {
      if (p.Done()) {
        if (pos != 5) return Unrecognized(item, index);
        e.kind = CronExpr::kLastDay;
        field->exprs.push_back(e);
        field->has_dynamic_day = true;
        return OkStatus();
      }
      if (p.s[0] == ' ') {
        while (p.Eat(' ')) {
        }
        std::string_view wd = p.s;
        for (char ch : wd) {
          if (!IsAlpha(ch) && !IsDigit(ch) && ch != '_') return Unrecognized(item, index);
        }
        int w = FindName(kWeekdays, 7, wd);
        if (w < 0) {
          return Status::Format(StatusCode::kInvalidArgument, "Invalid weekday name \"%.*s\"",
                                static_cast<int>(wd.size() > 40 ? 40 : wd.size()), wd.data());
        }
        e.kind = pos == 5 ? CronExpr::kLastWeekday : CronExpr::kNthWeekday;
        e.nth = pos + 1;
        e.weekday = w;
        field->exprs.push_back(e);
        field->has_dynamic_day = true;
        return OkStatus();
      }
    }
    return Unrecognized(item, index);
  }
  if (index == kMonth || index == kDayOfWeek) {
    const bool month = index == kMonth;
    std::string_view first = c.Word();
    if (first.empty()) return Unrecognized(item, index);
    std::string_view last;
    if (c.Eat('-')) {
      last = c.Word();
      if (last.empty()) return Unrecognized(item, index);
    }
    if (!c.Done()) {
      if (c.s[0] == '/') {
        return Status::Format(StatusCode::kInvalidArgument,
                              "Unrecognized expression \"%.*s\" for field \"%s\": a step is not "
                              "allowed after a %s name (use numbers, e.g. \"%s\")",
                              static_cast<int>(item.size() > 60 ? 60 : item.size()), item.data(),
                              kCronFieldNames[index], month ? "month" : "weekday",
                              month ? "1-3/2" : "0-4/2");
      }
      return Unrecognized(item, index);
    }
    const char* const* names = month ? kMonths : kWeekdays;
    const int count = month ? 12 : 7;
    int a = FindName(names, count, first);
    if (a < 0) {
      return Status::Format(StatusCode::kInvalidArgument, "Invalid %s name \"%.*s\"",
                            month ? "month" : "weekday",
                            static_cast<int>(first.size() > 40 ? 40 : first.size()), first.data());
    }
    int b = a;
    if (!last.empty()) {
      b = FindName(names, count, last);
      if (b < 0) {
        return Status::Format(StatusCode::kInvalidArgument, "Invalid %s name \"%.*s\"",
                              month ? "month" : "weekday",
                              static_cast<int>(last.size() > 40 ? 40 : last.size()), last.data());
      }
    }
    // Crontab weekday names map to crontab numbers (sun = 0) so one code path builds the mask.
    if (!month && dialect == CronDialect::kCrontab) {
      a = (a + 1) % 7;
      b = (b + 1) % 7;
      if (b == 0 && a != 0) b = 7;  // "fri-sun" = 5-7
    }
    if (a > b)
      return InvalidArgument("The minimum value in a range must not be higher than the maximum");
    e.kind = CronExpr::kName;
    e.first = month ? a + 1 : a;
    e.last = month ? b + 1 : b;
    field->exprs.push_back(e);
    return OkStatus();
  }
  return Unrecognized(item, index);
}

std::uint64_t BitsFor(const CronExpr& e, int lo, int hi) {
  std::uint64_t m = 0;
  int first = lo, last = hi;
  const int step = e.step != 0 ? e.step : 1;
  if (e.kind == CronExpr::kRange || e.kind == CronExpr::kName) {
    // APScheduler steps count from the range start (or the field minimum for *).
    first = e.first > lo ? e.first : lo;
    last = e.last >= 0 && e.last < hi ? e.last : hi;
  }
  for (int v = first; v <= last; v += step) m |= std::uint64_t{1} << v;
  return m;
}

void AppendInt(int v, std::string* out) {
  char buf[12];
  int n = 0;
  unsigned u = v < 0 ? 0u - static_cast<unsigned>(v) : static_cast<unsigned>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) *out += '-';
  while (n > 0) *out += buf[--n];
}

void AppendExprText(const CronExpr& e, CronFieldIndex index, std::string* out) {
  switch (e.kind) {
    case CronExpr::kAll:
      *out += '*';
      if (e.step != 0) {
        *out += '/';
        AppendInt(e.step, out);
      }
      return;
    case CronExpr::kRange:
      AppendInt(e.first, out);
      if (e.last != e.first && e.last >= 0) {
        *out += '-';
        AppendInt(e.last, out);
      }
      if (e.step != 0) {
        *out += '/';
        AppendInt(e.step, out);
      }
      return;
    case CronExpr::kName: {
      const bool month = index == kMonth;
      auto name = [&](int v) { return month ? kMonths[v - 1] : kWeekdays[v]; };
      *out += name(e.first);
      if (e.last != e.first) {
        *out += '-';
        *out += name(e.last);
      }
      return;
    }
    case CronExpr::kLastDay: *out += "last"; return;
    case CronExpr::kNthWeekday:
    case CronExpr::kLastWeekday:
      *out += kPositions[e.kind == CronExpr::kLastWeekday ? 5 : e.nth - 1];
      *out += ' ';
      *out += kWeekdays[e.weekday];
      return;
  }
}

// Renders a Monday-first weekday mask as names: "mon-fri", "mon,wed,fri", "sat-sun".
std::string WeekdayMaskText(std::uint64_t mask) {
  std::string out;
  int d = 0;
  while (d < 7) {
    if ((mask >> d & 1) == 0) {
      ++d;
      continue;
    }
    int e = d;
    while (e + 1 < 7 && (mask >> (e + 1) & 1)) ++e;
    if (!out.empty()) out += ',';
    out += kWeekdays[d];
    if (e > d) {
      out += '-';
      out += kWeekdays[e];
    }
    d = e + 1;
  }
  return out;
}

}  // namespace

Result<CronField> ParseCronField(CronFieldIndex index, std::string_view text, CronDialect dialect) {
  CronField field;
  field.index = index;
  field.is_default = false;
  // Trim, then split on commas with optional spaces around them (APScheduler's " *, *").
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  std::string_view rest = trim(text);
  field.starts_with_star = !rest.empty() && rest[0] == '*';
  for (;;) {
    std::size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    APS_RETURN_IF_ERROR(ParseItem(item, index, dialect, &field));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  const int lo = FieldMin(index, dialect), hi = FieldMax(index, dialect);
  for (const CronExpr& e : field.exprs) {
    if (index == kYear) break;
    if (index == kDay && (e.kind == CronExpr::kLastDay || e.kind == CronExpr::kNthWeekday ||
                          e.kind == CronExpr::kLastWeekday)) {
      continue;
    }
    field.mask |= BitsFor(e, lo, hi);
  }
  if (index == kDayOfWeek && dialect == CronDialect::kCrontab) {
    // POSIX 0..7 (0 and 7 = Sunday) to Monday-first bits.
    std::uint64_t m = 0;
    for (int v = 0; v <= 7; ++v) {
      if (field.mask >> v & 1) m |= std::uint64_t{1} << ((v + 6) % 7);
    }
    field.mask = m;
    field.text = m == 0x7f ? std::string("*") : WeekdayMaskText(m);
  } else {
    for (std::size_t i = 0; i < field.exprs.size(); ++i) {
      if (i > 0) field.text += ',';
      AppendExprText(field.exprs[i], index, &field.text);
    }
  }
  field.is_star = false;
  if (index == kYear || index == kDay) {
    for (const CronExpr& e : field.exprs) field.is_star |= e.kind == CronExpr::kAll && e.step == 0;
  } else {
    const std::uint64_t full = BitsFor(CronExpr{}, kCronFieldMin[index], kCronFieldMax[index]);
    field.is_star = field.mask == full;
  }
  return field;
}

CronField DefaultCronField(CronFieldIndex index, bool star) {
  CronField f;
  f.index = index;
  f.is_default = true;
  if (star || index == kYear || index == kWeek || index == kDayOfWeek) {
    f.exprs.push_back(CronExpr{});
    f.text = "*";
    f.is_star = true;
  } else {
    CronExpr e;
    e.kind = CronExpr::kRange;
    e.first = e.last = kCronFieldMin[index];
    f.exprs.push_back(e);
    AppendInt(e.first, &f.text);
    f.is_star = false;
  }
  if (index != kYear) {
    for (const CronExpr& e : f.exprs)
      f.mask |= BitsFor(e, kCronFieldMin[index], kCronFieldMax[index]);
  }
  return f;
}

std::uint32_t DayFieldMask(const CronField& day, std::int64_t year, int month) {
  const int dim = DaysInMonth(year, month);
  const std::uint32_t valid =
      static_cast<std::uint32_t>(((std::uint64_t{1} << (dim + 1)) - 1) & ~1ull);
  std::uint32_t m = static_cast<std::uint32_t>(day.mask) & valid;
  if (!day.has_dynamic_day) return m;
  const int first_wd = Weekday(year, month, 1);
  for (const CronExpr& e : day.exprs) {
    switch (e.kind) {
      case CronExpr::kLastDay: m |= 1u << dim; break;
      case CronExpr::kNthWeekday: {
        const int d = 1 + (e.weekday - first_wd + 7) % 7 + (e.nth - 1) * 7;
        if (d <= dim) m |= 1u << d;
        break;
      }
      case CronExpr::kLastWeekday: {
        int d = 1 + (e.weekday - first_wd + 7) % 7;
        while (d + 7 <= dim) d += 7;
        m |= 1u << d;
        break;
      }
      default: break;
    }
  }
  return m;
}

std::int64_t NextYear(const CronField& year, std::int64_t y) {
  if (y < kCronFieldMin[kYear]) y = kCronFieldMin[kYear];
  std::int64_t best = -1;
  for (const CronExpr& e : year.exprs) {
    std::int64_t first = kCronFieldMin[kYear], last = kCronFieldMax[kYear];
    if (e.kind == CronExpr::kRange) {
      first = e.first;
      if (e.last >= 0) last = e.last;
    }
    std::int64_t v = y > first ? y : first;
    if (e.step > 1) v += (e.step - (v - first) % e.step) % e.step;
    if (v <= last && v <= kCronFieldMax[kYear] && (best < 0 || v < best)) best = v;
  }
  return best;
}

}  // namespace aps::engine_internal
