// DateTrigger: one fire time.
#include "engine/date_trigger.h"

#include "engine/datetime.h"
#include "engine/internal/text_util.h"

namespace aps {

Result<std::unique_ptr<DateTrigger>> DateTrigger::Create(Instant run_date, TimeZonePtr zone) {
  if (run_date > kMaxInstant || run_date < kMinInstant) {
    return InvalidArgument("run_date is outside 0001-01-01 .. 9999-12-31 UTC");
  }
  return std::unique_ptr<DateTrigger>(
      new DateTrigger(run_date, zone ? std::move(zone) : UtcZone()));
}

std::optional<Instant> DateTrigger::FirstAtOrAfterImpl(Instant t, std::optional<Instant>) const {
  if (run_date_ < t) return std::nullopt;
  return run_date_;
}

std::optional<Instant> DateTrigger::NextUnjittered(std::optional<Instant> previous, Instant) const {
  if (previous) return std::nullopt;
  return run_date_;
}

std::string DateTrigger::Describe() const {
  return "date[" + FormatCivilSpace(run_date_, *zone_) + "]";
}

std::string DateTrigger::ToText() const {
  std::string out = "date(run_date=";
  engine_internal::AppendQuoted(FormatIso(run_date_, *zone_), &out);
  out += ", timezone=";
  engine_internal::AppendQuoted(zone_->name(), &out);
  out += ')';
  return out;
}

std::unique_ptr<Trigger> DateTrigger::Clone() const {
  return std::unique_ptr<Trigger>(new DateTrigger(*this));
}

}  // namespace aps
