// aps/engine/interval_trigger.h — fixed periods of absolute elapsed time.
//
//   aps::IntervalOptions o;
//   o.interval = std::chrono::hours(2);
//   o.start_date = aps::Instant::FromUnixSeconds(1704067200);
//   auto t = aps::IntervalTrigger::Create(o, now);
//
// APScheduler 3.x semantics: the period is absolute time (a 1-day interval stays 24 h across
// DST); the first fire time is start_date, or the first start_date + k·interval >= now when
// start_date is past; then previous + interval (jitter therefore accumulates, as in 3.x).
// start_date defaults to creation time + interval; end_date is inclusive. A zero or negative
// interval is an error (3.x silently turns 0 into 1 s).
#ifndef APS_ENGINE_INTERVAL_TRIGGER_H_
#define APS_ENGINE_INTERVAL_TRIGGER_H_

#include <chrono>
#include <memory>
#include <optional>

#include "engine/status.h"
#include "engine/trigger.h"

namespace aps {

struct IntervalOptions {
  std::chrono::microseconds interval{0};  // must be > 0
  TimeZonePtr timezone;                   // for printing; nullptr = UTC
  std::optional<Instant> start_date;      // default: `now` at Create + interval
  std::optional<Instant> end_date;        // inclusive
  Jitter jitter;
};

class IntervalTrigger final : public Trigger {
 public:
  // Create() — `now` is only used for the default start_date. Allocates; any thread.
  static Result<std::unique_ptr<IntervalTrigger>> Create(const IntervalOptions& options,
                                                         Instant now);

  TriggerKind kind() const override { return TriggerKind::kInterval; }
  const TimeZonePtr& zone() const override { return zone_; }
  std::string Describe() const override;
  std::string ToText() const override;
  std::unique_ptr<Trigger> Clone() const override;

  std::int64_t interval_us() const { return interval_us_; }
  Instant start_date() const { return start_; }

 protected:
  std::optional<Instant> FirstAtOrAfterImpl(Instant t, std::optional<Instant> known) const override;
  std::optional<Instant> NextUnjittered(std::optional<Instant> previous,
                                        Instant now) const override;

 private:
  IntervalTrigger(std::int64_t interval_us, TimeZonePtr zone, Instant start,
                  std::optional<Instant> end, Jitter jitter)
      : Trigger(jitter, end), interval_us_(interval_us), zone_(std::move(zone)), start_(start) {}

  // The first start_ + k·interval >= t (k >= 0), ignoring end_date.
  std::optional<Instant> Aligned(Instant t) const;

  std::int64_t interval_us_;
  TimeZonePtr zone_;
  Instant start_;
};

}  // namespace aps

#endif  // APS_ENGINE_INTERVAL_TRIGGER_H_
