// aps/engine/date_trigger.h — fire once.
//
//   auto t = aps::DateTrigger::Create(run_date, zone);
//
// Returns run_date when there is no previous fire time — regardless of now (a past date is
// returned and the scheduler's misfire policy decides) — and no further fire time after it.
#ifndef APS_ENGINE_DATE_TRIGGER_H_
#define APS_ENGINE_DATE_TRIGGER_H_

#include <memory>

#include "engine/status.h"
#include "engine/trigger.h"

namespace aps {

class DateTrigger final : public Trigger {
 public:
  // Create() — `zone` (nullptr = UTC) is for printing. Allocates; any thread.
  static Result<std::unique_ptr<DateTrigger>> Create(Instant run_date, TimeZonePtr zone);

  TriggerKind kind() const override { return TriggerKind::kDate; }
  const TimeZonePtr& zone() const override { return zone_; }
  std::string Describe() const override;
  std::string ToText() const override;
  std::unique_ptr<Trigger> Clone() const override;

  Instant run_date() const { return run_date_; }

 protected:
  std::optional<Instant> FirstAtOrAfterImpl(Instant t, std::optional<Instant> known) const override;
  std::optional<Instant> NextUnjittered(std::optional<Instant> previous,
                                        Instant now) const override;

 private:
  DateTrigger(Instant run_date, TimeZonePtr zone)
      : Trigger({}, {}), run_date_(run_date), zone_(std::move(zone)) {}

  Instant run_date_;
  TimeZonePtr zone_;
};

}  // namespace aps

#endif  // APS_ENGINE_DATE_TRIGGER_H_
