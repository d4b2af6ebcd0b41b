// aps/engine/calendar_interval_trigger.h — calendar periods at a fixed time of day.
//
//   aps::CalendarIntervalOptions o;
//   o.months = 1;
//   o.hour = 9;
//   o.start_date = aps::CivilDay{2024, 1, 31};
//   o.timezone = zone;
//   auto t = aps::CalendarIntervalTrigger::Create(o, now);   // 01-31, 03-31, 05-31 ... 09:00
//
// APScheduler 3.11 / 4.x semantics (spec A6): wall-clock arithmetic on dates. From the previous
// fire date add years+months keeping the day of month, repeating while that date does not exist
// (Jan 31 + 1 month skips to Mar 31), then add weeks*7+days. The first fire time is start_date
// at the time of day, even when it is in the past (the scheduler's misfire policy decides). A
// date whose time of day falls in a DST gap is skipped; in a fold the earlier occurrence fires.
#ifndef APS_ENGINE_CALENDAR_INTERVAL_TRIGGER_H_
#define APS_ENGINE_CALENDAR_INTERVAL_TRIGGER_H_

#include <memory>
#include <optional>

#include "engine/status.h"
#include "engine/trigger.h"

namespace aps {

struct CalendarIntervalOptions {
  int years = 0, months = 0, weeks = 0, days = 0;  // >= 0, at least one > 0
  int hour = 0, minute = 0, second = 0;            // time of day
  std::optional<CivilDay> start_date;              // default: today in `timezone` at Create
  std::optional<CivilDay> end_date;                // inclusive
  TimeZonePtr timezone;                            // nullptr = UTC
  Jitter jitter;
};

class CalendarIntervalTrigger final : public Trigger {
 public:
  // Create() — `now` is only used for the default start_date. Allocates; any thread.
  static Result<std::unique_ptr<CalendarIntervalTrigger>> Create(
      const CalendarIntervalOptions& options, Instant now);

  TriggerKind kind() const override { return TriggerKind::kCalendarInterval; }
  const TimeZonePtr& zone() const override { return o_.timezone; }
  std::string Describe() const override;
  std::string ToText() const override;
  std::unique_ptr<Trigger> Clone() const override;

 protected:
  std::optional<Instant> FirstAtOrAfterImpl(Instant t, std::optional<Instant> known) const override;
  std::optional<Instant> NextUnjittered(std::optional<Instant> previous,
                                        Instant now) const override;

 private:
  explicit CalendarIntervalTrigger(const CalendarIntervalOptions& o);
  // The fire instant on date `d`, or nullopt when its time of day does not exist that day.
  std::optional<Instant> FireOn(std::int64_t days) const;
  // The next candidate date after the date `days` (add years/months, then weeks/days).
  std::optional<std::int64_t> Advance(std::int64_t days) const;
  // From candidate date `days` (inclusive), the first date whose time exists.
  std::optional<Instant> FromDate(std::int64_t days) const;

  CalendarIntervalOptions o_;
  std::int64_t start_days_;
  std::optional<std::int64_t> end_days_;
};

}  // namespace aps

#endif  // APS_ENGINE_CALENDAR_INTERVAL_TRIGGER_H_
