// aps/engine/cron_trigger.h — cron schedules with APScheduler's semantics.
//
//   aps::CronOptions o;
//   o.hour = "9";
//   o.day_of_week = "mon-fri";
//   o.timezone = *aps::LoadTimeZone("Europe/Helsinki");
//   aps::Result<std::unique_ptr<aps::CronTrigger>> t = aps::CronTrigger::Create(o);
//   // or: aps::CronTrigger::FromCrontab("0 9 * * 1-5", zone)
//
// Fields (most significant first): year 1970-9999, month 1-12, day 1-31, week 1-53 (ISO),
// day_of_week 0-6 (0 = Monday, as APScheduler), hour, minute, second. Expressions: *, */n, a,
// a-b, a-b/n, a/n, comma lists, month and weekday names, and in `day`: last, last <wd>,
// 1st..5th <wd>. Omitted fields follow APScheduler's default rule: fields more significant than
// the least significant given field are "*", less significant ones take their minimum; with no
// field at all, every field is "*". day and day_of_week are ANDed.
//
// DST: a matching wall time inside a gap fires once, at the instant the wall time names with the
// pre-transition offset (daily 03:30 on a day whose 03:00-04:00 is skipped fires at 04:30 local),
// as APScheduler 3.x; a matching wall time inside a fold fires at both occurrences, first then
// second (APScheduler 3.11 / 4.x).
#ifndef APS_ENGINE_CRON_TRIGGER_H_
#define APS_ENGINE_CRON_TRIGGER_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/internal/cron_field.h"
#include "engine/status.h"
#include "engine/trigger.h"

namespace aps {

struct CronOptions {
  // Field expressions; nullopt = not given.
  std::optional<std::string> year, month, day, week, day_of_week, hour, minute, second;
  TimeZonePtr timezone;               // nullptr = UTC
  std::optional<Instant> start_date;  // inclusive
  std::optional<Instant> end_date;    // inclusive
  Jitter jitter;
};

class CronTrigger final : public Trigger {
 public:
  // Create() — validates every field (APScheduler's messages). Allocates; any thread.
  static Result<std::unique_ptr<CronTrigger>> Create(const CronOptions& options);

  // FromCrontab()
  //
  // A 5-field crontab line "minute hour day month day_of_week" with POSIX meaning: weekday
  // numbers 0 and 7 = Sunday, 1 = Monday; names; ranges; steps; lists; when both day and
  // day_of_week are restricted (neither starts with '*') a day matches if EITHER matches
  // (Vixie cron). Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly.
  // Errors name the field and why. Allocates; any thread.
  static Result<std::unique_ptr<CronTrigger>> FromCrontab(std::string_view expr, TimeZonePtr zone,
                                                          Jitter jitter = {},
                                                          std::optional<Instant> start_date = {},
                                                          std::optional<Instant> end_date = {});

  TriggerKind kind() const override { return TriggerKind::kCron; }
  const TimeZonePtr& zone() const override { return zone_; }
  std::string Describe() const override;
  std::string ToText() const override;
  std::unique_ptr<Trigger> Clone() const override;

  const std::optional<Instant>& start_date() const { return start_date_; }
  // The crontab line this trigger was made from, or empty.
  const std::string& crontab() const { return crontab_; }
  // Normalized text of field i (engine_internal::CronFieldIndex order).
  const std::string& field_text(int i) const { return fields_[static_cast<std::size_t>(i)].text; }

 protected:
  std::optional<Instant> FirstAtOrAfterImpl(Instant t, std::optional<Instant> known) const override;
  std::optional<Instant> NextUnjittered(std::optional<Instant> previous,
                                        Instant now) const override;

 private:
  using Fields = std::array<engine_internal::CronField, engine_internal::kNumCronFields>;
  CronTrigger(Fields fields, TimeZonePtr zone, std::optional<Instant> start,
              std::optional<Instant> end, Jitter jitter, std::string crontab, bool day_or_weekday);

  // The first fire instant >= unix second s, or nullopt.
  std::optional<std::int64_t> Search(std::int64_t s) const;
  // The smallest matching civil time >= c, or false.
  bool FindCivil(CivilSecond c, CivilSecond* out) const;
  bool NextTimeOfDay(int* h, int* mi, int* s) const;
  std::uint32_t DayMask(std::int64_t year, int month) const;

  Fields fields_;
  TimeZonePtr zone_;
  std::optional<Instant> start_date_;
  std::string crontab_;
  bool day_or_weekday_;  // Vixie OR of day and day_of_week (crontab with both restricted)
  bool year_star_;
};

}  // namespace aps

#endif  // APS_ENGINE_CRON_TRIGGER_H_
