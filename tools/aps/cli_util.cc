#include "tools/aps/cli_util.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

namespace aps::cli {

std::string LocalZoneName() {
  auto usable = [](const std::string& n) { return !n.empty() && LoadTimeZone(n).ok(); };
  if (const char* tz = std::getenv("TZ")) {
    std::string n = tz[0] == ':' ? tz + 1 : tz;
    if (usable(n)) return n;
  }
  std::ifstream f("/etc/timezone");
  std::string n;
  if (f && std::getline(f, n) && usable(n)) return n;
  char buf[512];
  ssize_t len = readlink("/etc/localtime", buf, sizeof(buf) - 1);
  if (len > 0) {
    std::string target(buf, static_cast<std::size_t>(len));
    std::size_t p = target.find("zoneinfo/");
    if (p != std::string::npos && usable(target.substr(p + 9))) return target.substr(p + 9);
  }
  return "UTC";
}

Instant WallNow() {
  return Instant{std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count()};
}

Result<TriggerSpec> SpecFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("a trigger SPEC must be a JSON object");
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) {
    return InvalidArgument(
        "a trigger SPEC needs \"type\": one of cron, crontab, interval, date, calendarinterval, "
        "and, or");
  }
  TriggerSpec spec;
  spec.type = type->get<std::string>();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (key == "type") continue;
    if (key == "triggers" && (spec.type == "and" || spec.type == "or")) {
      if (!v.is_array()) return InvalidArgument("\"triggers\" must be an array of SPECs");
      for (const nlohmann::json& child : v) {
        Result<TriggerSpec> c = SpecFromJson(child);
        if (!c.ok()) return c.status();
        spec.children.push_back(std::move(c).value());
      }
      continue;
    }
    if (v.is_null()) continue;
    TriggerSpec::Arg a;
    a.key = key;
    if (v.is_string()) {
      a.value = v.get<std::string>();
    } else if (v.is_number()) {
      a.value = v.dump();
      a.is_number = true;
    } else {
      return Status::Format(StatusCode::kInvalidArgument, "%s: \"%s\" must be a string or a number",
                            spec.type.c_str(), key.c_str());
    }
    spec.args.push_back(std::move(a));
  }
  return spec;
}

Result<TriggerSpec> SpecFromKeyValues(std::string_view type, std::string_view text) {
  TriggerSpec spec;
  spec.type = std::string(type);
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size()) break;
    std::size_t eq = text.find('=', i);
    std::size_t sp = text.find_first_of(" \t", i);
    if (eq == std::string_view::npos || (sp != std::string_view::npos && sp < eq)) {
      return Status::Format(StatusCode::kInvalidArgument,
                            "expected key=value in \"%.*s\" (e.g. \"hour=9 minute=*/15\")",
                            static_cast<int>(text.size()), text.data());
    }
    TriggerSpec::Arg a;
    a.key = std::string(text.substr(i, eq - i));
    i = eq + 1;
    if (i < text.size() && (text[i] == '\'' || text[i] == '"')) {
      const char q = text[i++];
      std::size_t close = text.find(q, i);
      if (close == std::string_view::npos) {
        return Status::Format(StatusCode::kInvalidArgument, "unterminated quote in the value of %s",
                              a.key.c_str());
      }
      a.value = std::string(text.substr(i, close - i));
      i = close + 1;
    } else {
      std::size_t end = text.find_first_of(" \t", i);
      if (end == std::string_view::npos) end = text.size();
      a.value = std::string(text.substr(i, end - i));
      i = end;
    }
    spec.args.push_back(std::move(a));
  }
  return spec;
}

const char kScheduleFormsHelp[] =
    R"HELP(Schedule forms (give exactly one):
  '0 9 * * 1-5'            a crontab line: minute hour day month day_of_week; POSIX weekdays
                           (0 and 7 = Sunday); day and day_of_week both restricted: either
                           matches (Vixie cron); macros @yearly @monthly @weekly @daily @hourly
  --cron 'hour=9 minute=*/15 day_of_week=mon-fri'
                           APScheduler CronTrigger fields: year month day week day_of_week hour
                           minute second (day_of_week 0 = Monday); quote values with spaces:
                           --cron "day='last fri' hour=17"
  --interval 'hours=2'     weeks days hours minutes seconds (fractions allowed)
  --date '2024-06-01 12:00:00'
  --calendar-interval 'months=1 hour=9'
                           years months weeks days (integers), hour minute second (time of day)
  --trigger "and(cron(day_of_week='mon'), cron(day='1-7'))"
                           the stable text form (what stores persist)
Dates: YYYY-MM-DD[ HH:MM:SS[.ffffff]][Z|+HH:MM]; without an offset they are read in --tz.)HELP";

void AddScheduleOptions(CLI::App* cmd, ScheduleOptions* o, bool crontab_positional) {
  if (crontab_positional) {
    cmd->add_option("crontab", o->crontab, "a 5-field crontab line, e.g. '0 9 * * 1-5'");
  } else {
    cmd->add_option("--crontab", o->crontab, "a 5-field crontab line, e.g. '0 9 * * 1-5'");
  }
  cmd->add_option("--cron", o->cron, "CronTrigger fields as key=value, e.g. 'hour=9 minute=*/15'");
  cmd->add_option("--interval", o->interval, "interval, e.g. 'hours=2' or 'minutes=1.5'");
  cmd->add_option("--date", o->date, "a one-off date, e.g. '2024-06-01 12:00'");
  cmd->add_option("--calendar-interval", o->calendar, "e.g. 'months=1 hour=9'");
  cmd->add_option("--trigger", o->trigger, "a trigger in the stable text form");
  cmd->add_option("--start-date", o->start_date, "the trigger's start_date");
  cmd->add_option("--end-date", o->end_date, "the trigger's end_date (inclusive)");
  cmd->add_option("--jitter", o->jitter, "random delay of up to this many seconds");
}

Result<TriggerSpec> SpecFromOptions(const ScheduleOptions& o) {
  Result<TriggerSpec> spec = Status(StatusCode::kInternal, "no schedule given");
  if (!o.trigger.empty()) {
    spec = ParseTriggerSpec(o.trigger);
  } else if (!o.crontab.empty()) {
    TriggerSpec s;
    s.type = "crontab";
    s.args.push_back({"expr", o.crontab, false});
    spec = std::move(s);
  } else if (!o.cron.empty()) {
    spec = SpecFromKeyValues("cron", o.cron);
  } else if (!o.interval.empty()) {
    spec = SpecFromKeyValues("interval", o.interval);
  } else if (!o.calendar.empty()) {
    spec = SpecFromKeyValues("calendarinterval", o.calendar);
  } else if (!o.date.empty()) {
    TriggerSpec s;
    s.type = "date";
    s.args.push_back({"run_date", o.date, false});
    spec = std::move(s);
  }
  if (!spec.ok()) return spec;
  TriggerSpec s = std::move(spec).value();
  if (!o.start_date.empty()) s.args.push_back({"start_date", o.start_date, false});
  if (!o.end_date.empty()) s.args.push_back({"end_date", o.end_date, false});
  if (o.jitter > 0) s.args.push_back({"jitter", std::to_string(o.jitter), true});
  return s;
}

}  // namespace aps::cli
