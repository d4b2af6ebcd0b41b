// Helpers shared by the aps subcommands: the local zone, JSON trigger specs, "k=v" lists.
#ifndef APS_TOOLS_APS_CLI_UTIL_H_
#define APS_TOOLS_APS_CLI_UTIL_H_

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/status.h"
#include "engine/time_zone.h"
#include "engine/trigger_text.h"

namespace aps::cli {

// The system's local IANA zone name: $TZ, /etc/timezone, the /etc/localtime link; else "UTC".
std::string LocalZoneName();

// Wall clock now (UTC).
Instant WallNow();

// A JSON trigger SPEC (`{"type": "cron", "hour": "9", ...}`, see `aps next --help`) as a
// TriggerSpec. Strings and numbers become arguments; null means "not given".
Result<TriggerSpec> SpecFromJson(const nlohmann::json& j);

// "hour=9 minute=*/15 day='last fri'" as arguments of a spec of `type`.
Result<TriggerSpec> SpecFromKeyValues(std::string_view type, std::string_view text);

// The schedule forms `aps next` and `aps jobs add|modify` share: a crontab line, --cron,
// --interval, --date, --calendar-interval or --trigger, plus --start-date/--end-date/--jitter.
struct ScheduleOptions {
  std::string crontab, cron, interval, date, calendar, trigger;
  std::string start_date, end_date;
  double jitter = 0;
  // How many forms were given (exactly one is needed to build a trigger).
  int forms() const {
    return !crontab.empty() + !cron.empty() + !interval.empty() + !date.empty() +
           !calendar.empty() + !trigger.empty();
  }
};
// Adds the options to `cmd`; the crontab line is positional when `crontab_positional`, else
// --crontab.
void AddScheduleOptions(CLI::App* cmd, ScheduleOptions* o, bool crontab_positional);
// The spec of the one form given (forms() must be 1), with start/end date and jitter.
Result<TriggerSpec> SpecFromOptions(const ScheduleOptions& o);
extern const char kScheduleFormsHelp[];

}  // namespace aps::cli

#endif  // APS_TOOLS_APS_CLI_UTIL_H_
