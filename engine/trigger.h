// aps/engine/trigger.h — the trigger interface: when does a job fire next?
//
// A trigger is an immutable value object (APScheduler 3.x style): the next fire time is a pure
// function of the previous fire time (or none, for the first computation) and "now":
//
//   std::unique_ptr<aps::Trigger> t = *aps::ParseTrigger("cron(hour='9', day_of_week='mon-fri', "
//                                                        "timezone='Europe/Helsinki')");
//   std::optional<aps::Instant> first = t->Next(std::nullopt, now);
//   std::optional<aps::Instant> second = t->Next(first, *first);
//
// Kinds: CronTrigger (cron_trigger.h, also from_crontab), IntervalTrigger, DateTrigger,
// CalendarIntervalTrigger, AndTrigger / OrTrigger (combining_trigger.h). Every trigger has an
// APScheduler-style description (`cron[hour='9']`) and a stable text form that ParseTrigger()
// reads back (engine/trigger_text.h).
#ifndef APS_ENGINE_TRIGGER_H_
#define APS_ENGINE_TRIGGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/time.h"
#include "engine/time_zone.h"

namespace aps {

enum class TriggerKind : std::uint8_t { kCron, kInterval, kDate, kCalendarInterval, kAnd, kOr };

// Jitter: a uniformly distributed delay in [0, jitter] added to each computed fire time, never
// past end_date. The delay is a hash of (seed, un-jittered instant), so Next() stays a pure
// function and repeated calls agree; triggers with different seeds spread out.
struct Jitter {
  std::int64_t max_us = 0;  // 0 = no jitter
  std::uint64_t seed = 0;   // 0 = derive a per-trigger seed at construction
};

class Trigger {
 public:
  virtual ~Trigger() = default;

  virtual TriggerKind kind() const = 0;

  // Next()
  //
  // The next fire time after `previous` as of `now` (APScheduler's get_next_fire_time), with
  // jitter applied; nullopt when the schedule has no further fire time. Pure: calling it again
  // with the same arguments gives the same answer. Every search is bounded (a schedule that can
  // never match answers nullopt quickly). Never allocates; never blocks; any thread.
  std::optional<Instant> Next(std::optional<Instant> previous, Instant now) const;

  // FirstAtOrAfter()
  //
  // The earliest instant >= t in this trigger's own schedule, as a fresh trigger would produce
  // it (no previous fire), without jitter. And/Or use it to ask children from a candidate
  // instant. `known`, when given, must be an instant <= t at which this trigger fires (an
  // earlier answer of FirstAtOrAfter): triggers that walk their schedule (calendar intervals)
  // continue from it instead of from their start. Never allocates; any thread.
  std::optional<Instant> FirstAtOrAfter(Instant t,
                                        std::optional<Instant> known = std::nullopt) const {
    return FirstAtOrAfterImpl(t, known);
  }

  // The zone the trigger computes in and prints its times in.
  virtual const TimeZonePtr& zone() const = 0;

  // APScheduler's str(): "cron[hour='9', day_of_week='mon-fri']", "interval[0:00:30]",
  // "date[2009-07-06 00:00:00 CEST]", "and[...]". Allocates.
  virtual std::string Describe() const = 0;

  // Stable text form, read back by ParseTrigger() into an equal trigger. Allocates.
  virtual std::string ToText() const = 0;

  // A deep copy. Allocates.
  virtual std::unique_ptr<Trigger> Clone() const = 0;

  const Jitter& jitter() const { return jitter_; }
  const std::optional<Instant>& end_date() const { return end_date_; }

 protected:
  Trigger(Jitter jitter, std::optional<Instant> end_date);

  virtual std::optional<Instant> FirstAtOrAfterImpl(Instant t,
                                                    std::optional<Instant> known) const = 0;

  // The un-jittered next fire time (end_date already applied).
  virtual std::optional<Instant> NextUnjittered(std::optional<Instant> previous,
                                                Instant now) const = 0;

  // Appends ", jitter=N" (seconds) and ", jitter_seed=N" when set, for ToText().
  void AppendJitterText(std::string* out) const;

 private:
  Jitter jitter_;
  std::optional<Instant> end_date_;
};

}  // namespace aps

#endif  // APS_ENGINE_TRIGGER_H_
