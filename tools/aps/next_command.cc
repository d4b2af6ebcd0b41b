// `aps next`: print upcoming fire times of a schedule, or answer JSON-lines batch requests.
#include "tools/aps/next_command.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "engine/datetime.h"
#include "engine/trigger_text.h"
#include "tools/aps/cli_util.h"

namespace aps::cli {
namespace {

constexpr long long kMaxFireTimes = 100000;

struct NextArgs {
  ScheduleOptions sched;
  std::string tz;
  std::string from;
  long long count = 10;
  bool batch = false;
  bool quiet = false;
};

const char kNextHelp[] =
    R"HELP(Show when a schedule fires: one fire time per line, ISO-8601 with the UTC offset.

Schedule forms (give exactly one):
  aps next '0 9 * * 1-5' --tz Europe/Helsinki -n 5
      a crontab line: minute hour day month day_of_week; POSIX weekdays (0 and 7 = Sunday);
      if day and day_of_week are both restricted, either may match (Vixie cron);
      macros @yearly @monthly @weekly @daily @hourly
  aps next --cron 'hour=9 minute=*/15 day_of_week=mon-fri' --tz UTC
      APScheduler CronTrigger fields: year month day week day_of_week hour minute second
      (day_of_week 0 = Monday); quote values with spaces: --cron "day='last fri' hour=17"
  aps next --interval 'hours=2' --start-date '2024-01-01 08:00'
      weeks days hours minutes seconds (fractions allowed); absolute elapsed time
  aps next --date '2024-06-01 12:00:00'
  aps next --calendar-interval 'months=1 hour=9' --start-date 2024-01-31
      years months weeks days (integers) and hour minute second (time of day)
  aps next --trigger "and(cron(day_of_week='mon'), cron(day='1-7'))"
      the stable text form (what stores persist)

Dates: YYYY-MM-DD[ HH:MM:SS[.ffffff]][Z|+HH:MM]; without an offset they are read in --tz.

Batch mode (for programs and tests): aps next --batch
  reads JSON lines {"id": any, "trigger": SPEC, "start": "ISO-8601", "max_fire_times": N}
  and writes one line per input line, in order: {"id": ..., "fire_times": [...]} or
  {"id": ..., "error": "..."}. SPEC examples:
    {"type":"cron","hour":"9","day_of_week":"mon-fri","timezone":"Europe/Helsinki"}
    {"type":"crontab","expr":"0 9 * * 1-5","timezone":"UTC"}
    {"type":"interval","hours":2,"start_date":"2024-01-01T00:00:00+00:00","timezone":"UTC"}
    {"type":"date","run_date":"2024-06-01T12:00:00+03:00"}
    {"type":"calendarinterval","months":1,"hour":9,"start_date":"2024-01-31","timezone":"UTC"}
    {"type":"and","triggers":[SPEC, SPEC]}   {"type":"or","triggers":[SPEC, SPEC]}
  A naive "start" is read as UTC. The loop is APScheduler's: first (previous=none, now=start),
  then previous = now = the last fire time.)HELP";

// Runs APScheduler's fire-time loop. Returns the instants (stops early at "no further time").
std::vector<Instant> FireTimes(const Trigger& t, Instant start, long long n) {
  std::vector<Instant> out;
  std::optional<Instant> prev;
  Instant now = start;
  for (long long i = 0; i < n; ++i) {
    std::optional<Instant> next = t.Next(prev, now);
    if (!next) break;
    out.push_back(*next);
    prev = now = *next;
  }
  return out;
}

nlohmann::json BatchLine(const std::string& line) {
  nlohmann::json reply;
  reply["id"] = nullptr;
  nlohmann::json req = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) {
    reply["error"] = "malformed JSON";
    return reply;
  }
  if (!req.is_object()) {
    reply["error"] = "a request must be a JSON object";
    return reply;
  }
  if (req.contains("id")) reply["id"] = req["id"];
  auto fail = [&](const std::string& msg) {
    reply["error"] = msg;
    return reply;
  };
  if (!req.contains("trigger")) return fail("missing \"trigger\"");
  if (!req.contains("start") || !req["start"].is_string())
    return fail("missing \"start\" (an ISO-8601 string)");
  long long n = 1;
  if (req.contains("max_fire_times")) {
    const nlohmann::json& m = req["max_fire_times"];
    if (!m.is_number_integer() || m.get<long long>() < 0 || m.get<long long>() > kMaxFireTimes) {
      return fail("\"max_fire_times\" must be an integer from 0 to 100000");
    }
    n = m.get<long long>();
  }
  Result<Instant> start = ParseDateTime(req["start"].get<std::string>(), *UtcZone());
  if (!start.ok()) return fail(std::string("start: ") + start.status().message());
  Result<TriggerSpec> spec = SpecFromJson(req["trigger"]);
  if (!spec.ok()) return fail(spec.status().message());
  Result<std::unique_ptr<Trigger>> trigger = BuildTrigger(*spec, *start);
  if (!trigger.ok()) return fail(trigger.status().message());
  nlohmann::json times = nlohmann::json::array();
  for (Instant t : FireTimes(**trigger, *start, n))
    times.push_back(FormatIso(t, *(*trigger)->zone()));
  reply["fire_times"] = times;
  return reply;
}

int RunNext(const NextArgs& a) {
  if (a.batch) return RunNextBatch(std::cin, std::cout);
  const int forms = a.sched.forms();
  if (forms != 1) {
    std::cerr << "aps next: give exactly one schedule: a crontab line, --cron, --interval, --date, "
                 "--calendar-interval or --trigger (see aps next --help)\n";
    return 2;
  }
  const std::string zone_name = a.tz.empty() ? LocalZoneName() : a.tz;
  Result<TimeZonePtr> zone = LoadTimeZone(zone_name);
  if (!zone.ok()) {
    std::cerr << "aps next: --tz: " << zone.status().message() << "\n";
    return 2;
  }
  Instant now = WallNow();
  if (!a.from.empty()) {
    Result<Instant> f = ParseDateTime(a.from, **zone);
    if (!f.ok()) {
      std::cerr << "aps next: --from: " << f.status().message() << "\n";
      return 2;
    }
    now = *f;
  }
  Result<TriggerSpec> spec = SpecFromOptions(a.sched);
  if (!spec.ok()) {
    std::cerr << "aps next: " << spec.status().message() << "\n";
    return 2;
  }
  const TriggerSpec& s = *spec;
  Result<std::unique_ptr<Trigger>> trigger = BuildTrigger(s, now, *zone);
  if (!trigger.ok()) {
    std::cerr << "aps next: " << trigger.status().message() << "\n";
    return 2;
  }
  const Trigger& t = **trigger;
  if (!a.quiet) std::cout << "# " << t.Describe() << " in " << t.zone()->name() << "\n";
  const std::vector<Instant> times = FireTimes(t, now, a.count);
  for (Instant x : times) std::cout << FormatIso(x, *t.zone()) << "\n";
  if (!a.quiet && static_cast<long long>(times.size()) < a.count)
    std::cout << "# no further fire time\n";
  return 0;
}

}  // namespace

int RunNextBatch(std::istream& in, std::ostream& out) {
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      out << R"({"id":null,"error":"empty line"})"
          << "\n";
    } else {
      out << BatchLine(line).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    out.flush();
  }
  return 0;
}

std::function<int()> AddNextCommand(CLI::App& app) {
  auto args = std::make_shared<NextArgs>();
  CLI::App* cmd = app.add_subcommand("next", "show when a schedule fires");
  cmd->footer(kNextHelp);
  AddScheduleOptions(cmd, &args->sched, /*crontab_positional=*/true);
  cmd->add_option("--tz", args->tz,
                  "IANA zone, UTC+hh:mm or POSIX TZ rule (default: the system's zone)");
  cmd->add_option("--from", args->from, "compute from this instant instead of now");
  cmd->add_option("-n,--count", args->count, "how many fire times (default 10)")
      ->check(CLI::Range(0LL, kMaxFireTimes));
  cmd->add_flag("--batch", args->batch, "JSON lines on stdin, one reply line each (see below)");
  cmd->add_flag("-q,--quiet", args->quiet, "print only the fire times");
  return [args] { return RunNext(*args); };
}

}  // namespace aps::cli
