// aps/engine/trigger_text.h — building triggers from specs and from their stable text form.
//
// The text form is what Trigger::ToText() writes and what stores persist:
//   cron(hour='9', day_of_week='mon-fri', timezone='Europe/Helsinki')
//   crontab('0 9 * * 1-5', timezone='UTC')
//   interval(hours=2, start_date='2024-01-01T00:00:00+00:00', timezone='UTC')
//   date(run_date='2024-06-01T12:00:00+03:00')
//   calendarinterval(months=1, hour=9, start_date='2024-01-31', timezone='Europe/Helsinki')
//   and(cron(...), cron(...), max_iterations=100)     or(date(...), interval(...))
// Arguments: name=value with 'quoted strings' (\' and \\ escapes) or numbers; nested triggers and
// the crontab line are positional. Common optional arguments: timezone, start_date, end_date,
// jitter (seconds), jitter_seed. Dates take APScheduler's forms (engine/datetime.h); a naive date
// is read in the trigger's zone.
//
//   aps::Result<std::unique_ptr<aps::Trigger>> t = aps::ParseTrigger("cron(minute='*/15')", now);
#ifndef APS_ENGINE_TRIGGER_TEXT_H_
#define APS_ENGINE_TRIGGER_TEXT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/trigger.h"

namespace aps {

// A trigger description independent of syntax (the text form and the CLI's JSON both map to it).
struct TriggerSpec {
  struct Arg {
    std::string key;    // empty: a positional string (the crontab line)
    std::string value;  // the unquoted text of a string, or a number's literal text
    bool is_number = false;
  };
  std::string type;  // cron, crontab, interval, date, calendarinterval, and, or
  std::vector<Arg> args;
  std::vector<TriggerSpec> children;  // and / or
};

// ParseTriggerSpec() — syntax only. Allocates; any thread.
Result<TriggerSpec> ParseTriggerSpec(std::string_view text);

// BuildTrigger()
//
// Validates and builds. `now` supplies defaults that depend on the current time (an interval's
// start_date = now + interval; a calendar interval's start_date = today). `default_zone` is used
// when the spec names none (nullptr = UTC). Errors name the trigger type and the argument.
// Allocates; any thread.
Result<std::unique_ptr<Trigger>> BuildTrigger(const TriggerSpec& spec, Instant now,
                                              TimeZonePtr default_zone = nullptr);

// ParseTrigger() = ParseTriggerSpec + BuildTrigger.
Result<std::unique_ptr<Trigger>> ParseTrigger(std::string_view text, Instant now,
                                              TimeZonePtr default_zone = nullptr);

// ParseDecimalMicros() — a decimal number of `unit_us` units ("1.5", "-2", "0.000001") as
// microseconds, rounded half-to-even like Python's timedelta. kInvalidArgument when malformed
// or out of range. Never allocates.
Result<std::int64_t> ParseDecimalMicros(std::string_view text, std::int64_t unit_us);

}  // namespace aps

#endif  // APS_ENGINE_TRIGGER_TEXT_H_
