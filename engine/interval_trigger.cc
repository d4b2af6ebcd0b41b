// IntervalTrigger: integer microsecond arithmetic on the UTC time line (exact, overflow-checked).
#include "engine/interval_trigger.h"

#include "engine/datetime.h"
#include "engine/internal/text_util.h"

namespace aps {
namespace {

// Latest instant we compute with (year 9999); beyond it there is no further fire time.
constexpr std::int64_t kMaxInstantUs = kMaxInstant.us;

}  // namespace

Result<std::unique_ptr<IntervalTrigger>> IntervalTrigger::Create(const IntervalOptions& o,
                                                                 Instant now) {
  const std::int64_t us = o.interval.count();
  if (us <= 0) {
    return Status::Format(StatusCode::kInvalidArgument,
                          "The time interval must be positive (got %s); APScheduler 3.x would "
                          "silently use 1 second, aps refuses",
                          FormatTimedelta(us).c_str());
  }
  if (us > kMaxInstantUs) return InvalidArgument("The time interval is longer than 8000 years");
  const Instant start = o.start_date ? *o.start_date : Instant{now.us + us};
  if (start > kMaxInstant || start < kMinInstant) {
    return InvalidArgument(
        "start_date (default: now + interval) is outside 0001-01-01 .. 9999-12-31 UTC");
  }
  if (o.end_date && *o.end_date < start && o.start_date) {
    return InvalidArgument("end_date cannot be earlier than start_date");
  }
  return std::unique_ptr<IntervalTrigger>(
      new IntervalTrigger(us, o.timezone ? o.timezone : UtcZone(), start, o.end_date, o.jitter));
}

std::optional<Instant> IntervalTrigger::FirstAtOrAfterImpl(Instant t,
                                                           std::optional<Instant>) const {
  std::optional<Instant> first = Aligned(t);
  if (first && end_date() && *first > *end_date()) return std::nullopt;
  return first;
}

std::optional<Instant> IntervalTrigger::Aligned(Instant t) const {
  if (t <= start_) return start_;
  const std::int64_t elapsed = t.us - start_.us;  // > 0; no overflow: both within ±2^62
  const std::int64_t k = elapsed / interval_us_ + (elapsed % interval_us_ != 0 ? 1 : 0);
  if (k > (kMaxInstantUs - start_.us) / interval_us_) return std::nullopt;
  return Instant{start_.us + k * interval_us_};
}

std::optional<Instant> IntervalTrigger::NextUnjittered(std::optional<Instant> previous,
                                                       Instant now) const {
  std::optional<Instant> next;
  if (previous) {
    if (previous->us > kMaxInstantUs - interval_us_) return std::nullopt;
    next = Instant{previous->us + interval_us_};
  } else {
    next = Aligned(now);
  }
  if (!next || (end_date() && *next > *end_date())) return std::nullopt;
  return next;
}

std::string IntervalTrigger::Describe() const {
  return "interval[" + FormatTimedelta(interval_us_) + "]";
}

std::string IntervalTrigger::ToText() const {
  std::string out = "interval(seconds=" + FormatSecondsNumber(interval_us_) + ", start_date=";
  engine_internal::AppendQuoted(FormatIso(start_, *zone_), &out);
  if (end_date()) {
    out += ", end_date=";
    engine_internal::AppendQuoted(FormatIso(*end_date(), *zone_), &out);
  }
  out += ", timezone=";
  engine_internal::AppendQuoted(zone_->name(), &out);
  AppendJitterText(&out);
  out += ')';
  return out;
}

std::unique_ptr<Trigger> IntervalTrigger::Clone() const {
  return std::unique_ptr<Trigger>(new IntervalTrigger(*this));
}

}  // namespace aps
