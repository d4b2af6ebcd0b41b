// Helpers shared by the aps subcommands: the local zone, JSON trigger specs, "k=v" lists.
#ifndef APS_TOOLS_APS_CLI_UTIL_H_
#define APS_TOOLS_APS_CLI_UTIL_H_

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

}  // namespace aps::cli

#endif  // APS_TOOLS_APS_CLI_UTIL_H_
