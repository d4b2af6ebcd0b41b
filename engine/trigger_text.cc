// The trigger text form: a small recursive-descent parser and the spec → trigger builder.
#include "engine/trigger_text.h"

#include <cstdio>
#include <vector>

#include "engine/calendar_interval_trigger.h"
#include "engine/combining_trigger.h"
#include "engine/cron_trigger.h"
#include "engine/date_trigger.h"
#include "engine/datetime.h"
#include "engine/internal/text_util.h"
#include "engine/interval_trigger.h"

namespace aps {
namespace {

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

class SpecParser {
 public:
  explicit SpecParser(std::string_view text) : all_(text), s_(text) {}

  Result<TriggerSpec> ParseAll() {
    Result<TriggerSpec> spec = Trigger(0);
    if (!spec.ok()) return spec;
    Skip();
    if (!s_.empty()) return Error("unexpected text after the trigger");
    return spec;
  }

 private:
  Status Error(const char* what) const {
    return Status::Format(StatusCode::kInvalidArgument, "trigger text, at offset %zu: %s",
                          all_.size() - s_.size(), what);
  }
  void Skip() {
    while (!s_.empty() && (s_[0] == ' ' || s_[0] == '\t' || s_[0] == '\n' || s_[0] == '\r'))
      s_.remove_prefix(1);
  }
  bool Eat(char c) {
    Skip();
    if (s_.empty() || s_[0] != c) return false;
    s_.remove_prefix(1);
    return true;
  }
  std::string_view Ident() {
    Skip();
    std::size_t n = 0;
    while (n < s_.size() && IsIdentChar(s_[n])) ++n;
    std::string_view id = s_.substr(0, n);
    s_.remove_prefix(n);
    return id;
  }
  Status Quoted(std::string* out) {
    // s_ starts at the opening quote.
    s_.remove_prefix(1);
    while (!s_.empty() && s_[0] != '\'') {
      if (s_[0] == '\\') {
        s_.remove_prefix(1);
        if (s_.empty()) break;
      }
      *out += s_[0];
      s_.remove_prefix(1);
    }
    if (s_.empty()) return Error("unterminated string (missing ')");
    s_.remove_prefix(1);
    return OkStatus();
  }

  Result<TriggerSpec> Trigger(int depth) {
    if (depth > 32) return Error("triggers nested too deeply");
    TriggerSpec spec;
    spec.type = std::string(Ident());
    if (spec.type.empty())
      return Error(
          "expected a trigger name (cron, crontab, interval, date, calendarinterval, and, or)");
    if (!Eat('(')) return Error("expected '(' after the trigger name");
    if (Eat(')')) return spec;
    for (;;) {
      Skip();
      if (!s_.empty() && s_[0] == '\'') {
        TriggerSpec::Arg a;
        APS_RETURN_IF_ERROR(Quoted(&a.value));
        spec.args.push_back(std::move(a));
      } else {
        std::string_view save = s_;
        std::string_view id = Ident();
        if (id.empty()) return Error("expected an argument");
        if (Eat('(')) {
          s_ = save;
          Result<TriggerSpec> child = Trigger(depth + 1);
          if (!child.ok()) return child;
          spec.children.push_back(std::move(child).value());
        } else {
          if (!Eat('=')) return Error("expected '=' after the argument name");
          TriggerSpec::Arg a;
          a.key = std::string(id);
          Skip();
          if (!s_.empty() && s_[0] == '\'') {
            APS_RETURN_IF_ERROR(Quoted(&a.value));
          } else {
            std::size_t n = 0;
            while (n < s_.size() &&
                   (IsIdentChar(s_[n]) || s_[n] == '.' || s_[n] == '-' || s_[n] == '+'))
              ++n;
            if (n == 0) return Error("expected a value");
            a.value = std::string(s_.substr(0, n));
            a.is_number = true;
            s_.remove_prefix(n);
          }
          spec.args.push_back(std::move(a));
        }
      }
      if (Eat(')')) return spec;
      if (!Eat(',')) return Error("expected ',' or ')'");
    }
  }

  std::string_view all_;
  std::string_view s_;
};

// Reads the arguments of one spec, checking that each is known and used once.
class ArgReader {
 public:
  ArgReader(const TriggerSpec& spec, std::initializer_list<const char*> known)
      : spec_(spec), known_(known) {}

  Status CheckKnown() const {
    for (const TriggerSpec::Arg& a : spec_.args) {
      if (a.key.empty()) continue;
      bool ok = false;
      for (const char* k : known_) ok |= a.key == k;
      if (!ok) {
        std::string list;
        for (const char* k : known_) {
          if (!list.empty()) list += ", ";
          list += k;
        }
        return Status::Format(StatusCode::kInvalidArgument,
                              "%s: unknown argument \"%s\" (known: %s)", spec_.type.c_str(),
                              a.key.c_str(), list.c_str());
      }
      int count = 0;
      for (const TriggerSpec::Arg& b : spec_.args) count += b.key == a.key;
      if (count > 1) {
        return Status::Format(StatusCode::kInvalidArgument, "%s: argument \"%s\" given twice",
                              spec_.type.c_str(), a.key.c_str());
      }
    }
    return OkStatus();
  }

  const TriggerSpec::Arg* Get(const char* key) const {
    for (const TriggerSpec::Arg& a : spec_.args) {
      if (a.key == key) return &a;
    }
    return nullptr;
  }

  Status Int(const char* key, int lo, int hi, int* out) const {
    const TriggerSpec::Arg* a = Get(key);
    if (!a) return OkStatus();
    std::string_view v = a->value;
    bool neg = !v.empty() && v[0] == '-';
    if (neg) v.remove_prefix(1);
    long long x = 0;
    bool ok = !v.empty() && v.size() <= 10;
    for (std::size_t i = 0; ok && i < v.size(); ++i) {
      ok = v[i] >= '0' && v[i] <= '9';
      x = x * 10 + (v[i] - '0');
    }
    if (neg) x = -x;
    if (!ok || x < lo || x > hi) {
      return Status::Format(StatusCode::kInvalidArgument,
                            "%s: %s must be an integer from %d to %d, got \"%s\"",
                            spec_.type.c_str(), key, lo, hi, a->value.c_str());
    }
    *out = static_cast<int>(x);
    return OkStatus();
  }

  Status Seconds(const char* key, std::int64_t unit_us, std::int64_t* out) const {
    const TriggerSpec::Arg* a = Get(key);
    if (!a) return OkStatus();
    Result<std::int64_t> v = ParseDecimalMicros(a->value, unit_us);
    if (!v.ok()) {
      return Status::Format(StatusCode::kInvalidArgument, "%s: %s: %s", spec_.type.c_str(), key,
                            v.status().message());
    }
    *out = *v;
    return OkStatus();
  }

  // The trigger's zone, APScheduler's way: an explicit timezone; else the caller's default
  // (a scheduler's or the CLI's zone); else the UTC offset written in the first of `date_keys`
  // that has one (as a fixed-offset zone, so "2024-01-01T09:00:00+02:00" keeps +02:00); else UTC.
  Status Zone(TimeZonePtr default_zone, TimeZonePtr* out,
              std::initializer_list<const char*> date_keys) const {
    const TriggerSpec::Arg* a = Get("timezone");
    if (!a && default_zone) {
      *out = default_zone;
      return OkStatus();
    }
    if (!a) {
      *out = UtcZone();
      for (const char* key : date_keys) {
        const TriggerSpec::Arg* d = Get(key);
        if (!d) continue;
        Result<ParsedDateTime> p = ParseDateTimeFields(d->value);
        if (!p.ok() || !p->has_offset) continue;
        if (p->offset_seconds != 0) {
          const std::int32_t o = p->offset_seconds < 0 ? -p->offset_seconds : p->offset_seconds;
          char name[16];
          std::snprintf(name, sizeof(name), "UTC%c%02d:%02d", p->offset_seconds < 0 ? '-' : '+',
                        static_cast<int>(o / 3600), static_cast<int>(o / 60 % 60));
          Result<TimeZonePtr> fixed = LoadTimeZone(name);
          if (fixed.ok()) *out = *fixed;
        }
        break;
      }
      return OkStatus();
    }
    Result<TimeZonePtr> z = LoadTimeZone(a->value);
    if (!z.ok())
      return Status::Format(StatusCode::kInvalidArgument, "%s: %s", spec_.type.c_str(),
                            z.status().message());
    *out = *z;
    return OkStatus();
  }

  Status Date(const char* key, const TimeZone& zone, std::optional<Instant>* out) const {
    const TriggerSpec::Arg* a = Get(key);
    if (!a) return OkStatus();
    Result<Instant> t = ParseDateTime(a->value, zone);
    if (!t.ok())
      return Status::Format(StatusCode::kInvalidArgument, "%s: %s: %s", spec_.type.c_str(), key,
                            t.status().message());
    *out = *t;
    return OkStatus();
  }

  Status Day(const char* key, std::optional<CivilDay>* out) const {
    const TriggerSpec::Arg* a = Get(key);
    if (!a) return OkStatus();
    Result<ParsedDateTime> p = ParseDateTimeFields(a->value);
    if (!p.ok())
      return Status::Format(StatusCode::kInvalidArgument, "%s: %s: %s", spec_.type.c_str(), key,
                            p.status().message());
    if (p->has_time || p->has_offset) {
      return Status::Format(StatusCode::kInvalidArgument,
                            "%s: %s must be a date (YYYY-MM-DD), got \"%s\"", spec_.type.c_str(),
                            key, a->value.c_str());
    }
    *out = CivilDay{p->civil.year, p->civil.month, p->civil.day};
    return OkStatus();
  }

  Status JitterArgs(Jitter* out) const {
    APS_RETURN_IF_ERROR(Seconds("jitter", kMicrosPerSecond, &out->max_us));
    if (out->max_us < 0)
      return Status::Format(StatusCode::kInvalidArgument, "%s: jitter must not be negative",
                            spec_.type.c_str());
    if (const TriggerSpec::Arg* a = Get("jitter_seed")) {
      std::uint64_t x = 0;
      bool ok = !a->value.empty();
      for (std::size_t i = 0; ok && i < a->value.size(); ++i) {
        const char c = a->value[i];
        const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
        ok = c >= '0' && c <= '9' && x <= (UINT64_MAX - d) / 10;  // no wrap-around
        x = x * 10 + d;
      }
      if (!ok)
        return Status::Format(StatusCode::kInvalidArgument,
                              "%s: jitter_seed must be a non-negative integer", spec_.type.c_str());
      out->seed = x;
    }
    return OkStatus();
  }

 private:
  const TriggerSpec& spec_;
  std::vector<const char*> known_;  // a copy: an initializer_list member would dangle
};

template <typename T>
Result<std::unique_ptr<Trigger>> Upcast(Result<std::unique_ptr<T>> r) {
  if (!r.ok()) return r.status();
  return std::unique_ptr<Trigger>(std::move(r).value());
}

Status NoChildren(const TriggerSpec& spec) {
  if (!spec.children.empty()) {
    return Status::Format(StatusCode::kInvalidArgument, "%s: does not take nested triggers",
                          spec.type.c_str());
  }
  for (const TriggerSpec::Arg& a : spec.args) {
    if (a.key.empty() && spec.type != "crontab") {
      return Status::Format(StatusCode::kInvalidArgument, "%s: unexpected positional argument '%s'",
                            spec.type.c_str(), a.value.c_str());
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::int64_t> ParseDecimalMicros(std::string_view text, std::int64_t unit_us) {
  // Exact: value = (int_part + frac / 10^fd) * unit_us with at most 9 fraction digits kept
  // (later digits only break ties), rounded half to even. 64-bit arithmetic only (firmware).
  const auto bad = [&](const char* why) {
    return Status::Format(StatusCode::kInvalidArgument, "\"%.*s\" %s",
                          static_cast<int>(text.size() > 40 ? 40 : text.size()), text.data(), why);
  };
  std::string_view s = engine_internal::Trim(text);
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  // Collect the significant digits and where the decimal point goes, then apply the exponent
  // ("1e-06", "2.5E3": JSON writers use them).
  char digits[64];
  int n = 0, point = -1;
  bool sticky = false;  // a non-zero digit that did not fit
  while (!s.empty() && ((s[0] >= '0' && s[0] <= '9') || (s[0] == '.' && point < 0))) {
    if (s[0] == '.') {
      point = n;
    } else if (n < static_cast<int>(sizeof(digits))) {
      digits[n++] = s[0];
    } else if (point < 0) {
      return bad("is out of range");
    } else {
      sticky |= s[0] != '0';
    }
    s.remove_prefix(1);
  }
  if (n == 0) return bad("is not a number (expected e.g. 2, 1.5)");
  if (point < 0) point = n;
  if (!s.empty() && (s[0] == 'e' || s[0] == 'E')) {
    s.remove_prefix(1);
    bool eneg = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
      eneg = s[0] == '-';
      s.remove_prefix(1);
    }
    int e = 0, en = 0;
    while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
      if (++en > 3) return bad("has an exponent out of range");
      e = e * 10 + (s[0] - '0');
      s.remove_prefix(1);
    }
    if (en == 0) return bad("is not a number (expected e.g. 2, 1.5)");
    point += eneg ? -e : e;
  }
  if (!s.empty()) return bad("is not a number (expected e.g. 2, 1.5)");
  // value = 0.digits * 10^point: integer part digits[0, point), fraction digits[point, n).
  std::uint64_t ip = 0, frac = 0, denom = 1;
  for (int i = 0; i < point; ++i) {
    const int d = i < n ? digits[i] - '0' : 0;
    if (ip > 99999999999999ULL) return bad("is out of range");
    ip = ip * 10 + static_cast<std::uint64_t>(d);
  }
  for (int i = point; i < n; ++i) {  // i < 0: the zeros of 0.000ddd
    const int d = i >= 0 ? digits[i] - '0' : 0;
    if (i - point >= 9) {
      sticky |= d != 0;
      continue;
    }
    frac = frac * 10 + static_cast<std::uint64_t>(d);
    denom *= 10;
  }
  const std::uint64_t u = static_cast<std::uint64_t>(unit_us);
  if (ip != 0 && u > static_cast<std::uint64_t>(INT64_MAX / 4) / ip) return bad("is out of range");
  // frac * u / denom = a*frac + b*frac/denom with u = a*denom + b (b*frac < 10^18).
  const std::uint64_t a = u / denom, b = u % denom;
  std::uint64_t total = ip * u + a * frac + (b * frac) / denom;
  const std::uint64_t r = (b * frac) % denom;
  // Ties go to the even total (Python's timedelta rounding); later digits break ties upward.
  if (r * 2 > denom || (r * 2 == denom && (sticky || (total & 1)))) ++total;
  if (total > static_cast<std::uint64_t>(INT64_MAX / 4)) return bad("is out of range");
  const std::int64_t v = static_cast<std::int64_t>(total);
  return neg ? -v : v;
}

Result<TriggerSpec> ParseTriggerSpec(std::string_view text) { return SpecParser(text).ParseAll(); }

Result<std::unique_ptr<Trigger>> BuildTrigger(const TriggerSpec& spec, Instant now,
                                              TimeZonePtr default_zone) {
  const std::string& type = spec.type;
  if (type == "cron") {
    ArgReader r(spec, {"year", "month", "day", "week", "day_of_week", "hour", "minute", "second",
                       "timezone", "start_date", "end_date", "jitter", "jitter_seed"});
    APS_RETURN_IF_ERROR(r.CheckKnown());
    APS_RETURN_IF_ERROR(NoChildren(spec));
    CronOptions o;
    std::optional<std::string>* fields[] = {&o.year,        &o.month, &o.day,    &o.week,
                                            &o.day_of_week, &o.hour,  &o.minute, &o.second};
    const char* names[] = {"year",        "month", "day",    "week",
                           "day_of_week", "hour",  "minute", "second"};
    for (int i = 0; i < 8; ++i) {
      if (const TriggerSpec::Arg* a = r.Get(names[i])) *fields[i] = a->value;
    }
    APS_RETURN_IF_ERROR(r.Zone(default_zone, &o.timezone, {"start_date", "end_date"}));
    APS_RETURN_IF_ERROR(r.Date("start_date", *o.timezone, &o.start_date));
    APS_RETURN_IF_ERROR(r.Date("end_date", *o.timezone, &o.end_date));
    APS_RETURN_IF_ERROR(r.JitterArgs(&o.jitter));
    return Upcast(CronTrigger::Create(o));
  }
  if (type == "crontab") {
    ArgReader r(spec, {"expr", "timezone", "start_date", "end_date", "jitter", "jitter_seed"});
    APS_RETURN_IF_ERROR(r.CheckKnown());
    APS_RETURN_IF_ERROR(NoChildren(spec));
    const TriggerSpec::Arg* expr = r.Get("expr");
    for (const TriggerSpec::Arg& a : spec.args) {
      if (a.key.empty()) {
        if (expr) return InvalidArgument("crontab: the crontab line is given twice");
        expr = &a;
      }
    }
    if (!expr)
      return InvalidArgument("crontab: missing the crontab line, e.g. crontab('0 9 * * 1-5')");
    TimeZonePtr zone;
    std::optional<Instant> start, end;
    Jitter jitter;
    APS_RETURN_IF_ERROR(r.Zone(default_zone, &zone, {"start_date", "end_date"}));
    APS_RETURN_IF_ERROR(r.Date("start_date", *zone, &start));
    APS_RETURN_IF_ERROR(r.Date("end_date", *zone, &end));
    APS_RETURN_IF_ERROR(r.JitterArgs(&jitter));
    return Upcast(CronTrigger::FromCrontab(expr->value, zone, jitter, start, end));
  }
  if (type == "interval") {
    ArgReader r(spec, {"weeks", "days", "hours", "minutes", "seconds", "microseconds", "timezone",
                       "start_date", "end_date", "jitter", "jitter_seed"});
    APS_RETURN_IF_ERROR(r.CheckKnown());
    APS_RETURN_IF_ERROR(NoChildren(spec));
    IntervalOptions o;
    const struct {
      const char* key;
      std::int64_t unit;
    } parts[] = {{"weeks", 604800 * kMicrosPerSecond}, {"days", 86400 * kMicrosPerSecond},
                 {"hours", 3600 * kMicrosPerSecond},   {"minutes", 60 * kMicrosPerSecond},
                 {"seconds", kMicrosPerSecond},        {"microseconds", 1}};
    std::int64_t total = 0;
    for (const auto& p : parts) {
      std::int64_t v = 0;
      APS_RETURN_IF_ERROR(r.Seconds(p.key, p.unit, &v));
      total += v;  // each part is bounded by INT64_MAX/2 ... sum checked below
      if (total > INT64_MAX / 4 || total < -INT64_MAX / 4)
        return InvalidArgument("interval: too long");
    }
    o.interval = std::chrono::microseconds(total);
    APS_RETURN_IF_ERROR(r.Zone(default_zone, &o.timezone, {"start_date", "end_date"}));
    APS_RETURN_IF_ERROR(r.Date("start_date", *o.timezone, &o.start_date));
    APS_RETURN_IF_ERROR(r.Date("end_date", *o.timezone, &o.end_date));
    APS_RETURN_IF_ERROR(r.JitterArgs(&o.jitter));
    return Upcast(IntervalTrigger::Create(o, now));
  }
  if (type == "date") {
    ArgReader r(spec, {"run_date", "timezone"});
    APS_RETURN_IF_ERROR(r.CheckKnown());
    APS_RETURN_IF_ERROR(NoChildren(spec));
    TimeZonePtr zone;
    APS_RETURN_IF_ERROR(r.Zone(default_zone, &zone, {"run_date"}));
    std::optional<Instant> run;
    APS_RETURN_IF_ERROR(r.Date("run_date", *zone, &run));
    return Upcast(DateTrigger::Create(run ? *run : now, zone));
  }
  if (type == "calendarinterval") {
    ArgReader r(spec, {"years", "months", "weeks", "days", "hour", "minute", "second", "timezone",
                       "start_date", "end_date", "jitter", "jitter_seed"});
    APS_RETURN_IF_ERROR(r.CheckKnown());
    APS_RETURN_IF_ERROR(NoChildren(spec));
    CalendarIntervalOptions o;
    APS_RETURN_IF_ERROR(r.Int("years", 0, 9999, &o.years));
    APS_RETURN_IF_ERROR(r.Int("months", 0, 120000, &o.months));
    APS_RETURN_IF_ERROR(r.Int("weeks", 0, 600000, &o.weeks));
    APS_RETURN_IF_ERROR(r.Int("days", 0, 4000000, &o.days));
    APS_RETURN_IF_ERROR(r.Int("hour", 0, 23, &o.hour));
    APS_RETURN_IF_ERROR(r.Int("minute", 0, 59, &o.minute));
    APS_RETURN_IF_ERROR(r.Int("second", 0, 59, &o.second));
    APS_RETURN_IF_ERROR(r.Zone(default_zone, &o.timezone, {"start_date", "end_date"}));
    APS_RETURN_IF_ERROR(r.Day("start_date", &o.start_date));
    APS_RETURN_IF_ERROR(r.Day("end_date", &o.end_date));
    APS_RETURN_IF_ERROR(r.JitterArgs(&o.jitter));
    return Upcast(CalendarIntervalTrigger::Create(o, now));
  }
  if (type == "and" || type == "or") {
    const bool is_and = type == "and";
    ArgReader r(
        spec, is_and ? std::initializer_list<const char*>{"max_iterations", "jitter", "jitter_seed"}
                     : std::initializer_list<const char*>{"jitter", "jitter_seed"});
    APS_RETURN_IF_ERROR(r.CheckKnown());
    for (const TriggerSpec::Arg& a : spec.args) {
      if (a.key.empty()) {
        return Status::Format(StatusCode::kInvalidArgument,
                              "%s: unexpected positional argument '%s'", type.c_str(),
                              a.value.c_str());
      }
    }
    int max_iterations = CombiningTrigger::kDefaultMaxIterations;
    APS_RETURN_IF_ERROR(r.Int("max_iterations", 1, 100000000, &max_iterations));
    Jitter jitter;
    APS_RETURN_IF_ERROR(r.JitterArgs(&jitter));
    std::vector<std::unique_ptr<Trigger>> kids;
    for (std::size_t i = 0; i < spec.children.size(); ++i) {
      Result<std::unique_ptr<Trigger>> k = BuildTrigger(spec.children[i], now, default_zone);
      if (!k.ok()) {
        return Status::Format(StatusCode::kInvalidArgument, "%s, trigger %zu: %s", type.c_str(),
                              i + 1, k.status().message());
      }
      kids.push_back(std::move(k).value());
    }
    if (is_and) return Upcast(CombiningTrigger::CreateAnd(std::move(kids), jitter, max_iterations));
    return Upcast(CombiningTrigger::CreateOr(std::move(kids), jitter));
  }
  return Status::Format(StatusCode::kInvalidArgument,
                        "unknown trigger type \"%.40s\" (known: cron, crontab, interval, date, "
                        "calendarinterval, and, or)",
                        type.c_str());
}

Result<std::unique_ptr<Trigger>> ParseTrigger(std::string_view text, Instant now,
                                              TimeZonePtr default_zone) {
  Result<TriggerSpec> spec = ParseTriggerSpec(text);
  if (!spec.ok()) return spec.status();
  return BuildTrigger(*spec, now, std::move(default_zone));
}

}  // namespace aps
