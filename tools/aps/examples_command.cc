// `aps examples`: a tour of schedules and their next fire times, computed by the engine from now
// (or --from).
#include "tools/aps/examples_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "engine/datetime.h"
#include "engine/trigger_text.h"
#include "tools/aps/cli_util.h"

namespace aps::cli {
namespace {

struct ExamplesArgs {
  std::string from;
  int count = 3;
};

struct Example {
  const char* what;
  const char* text;
  const char* from = nullptr;  // a fixed start that shows the point; nullptr = now
};

constexpr Example kExamples[] = {
    {"weekdays at 09:00 in Helsinki (crontab)",
     "crontab('0 9 * * 1-5', timezone='Europe/Helsinki')"},
    {"every 15 min, 9-17, Mon-Fri (CronTrigger fields)",
     "cron(day_of_week='mon-fri', hour='9-17', minute='*/15', timezone='America/New_York')"},
    {"17:00 on the last Friday of each month",
     "cron(day='last fri', hour='17', timezone='Europe/London')"},
    {"daily 02:30 in New York across the spring DST gap: 03-14 fires once, at 03:30 EDT",
     "cron(hour='2', minute='30', timezone='America/New_York')", "2027-03-13T00:00:00-05:00"},
    {"daily 01:30 in New York across the autumn fold: 11-07 fires at both 01:30s",
     "cron(hour='1', minute='30', timezone='America/New_York')", "2027-11-06T12:00:00-04:00"},
    {"every 90 minutes", "interval(minutes=90, timezone='UTC')"},
    {"monthly on the 31st at 09:00 (months without a 31st are skipped)",
     "calendarinterval(months=1, hour=9, start_date='2027-01-31', timezone='Asia/Tokyo')",
     "2027-01-01T00:00:00+09:00"},
    {"10:00 on the first Monday of the month (and)",
     "and(cron(day_of_week='mon', hour='10'), cron(day='1-7', hour='10'))"},
    {"a POSIX TZ rule zone, no database needed",
     "crontab('@daily', timezone='<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45')"},
};

int RunExamples(const ExamplesArgs& a) {
  Instant now = WallNow();
  if (!a.from.empty()) {
    Result<Instant> f = ParseDateTime(a.from, *UtcZone());
    if (!f.ok()) {
      std::cerr << "aps examples: --from: " << f.status().message() << "\n";
      return 2;
    }
    now = *f;
  }
  std::cout << "aps examples: the next " << a.count << " fire times of example schedules, from "
            << FormatIsoUtc(now) << "\n";
  for (const Example& e : kExamples) {
    Instant from = now;
    if (e.from != nullptr) from = *ParseDateTime(e.from, *UtcZone());
    Result<std::unique_ptr<Trigger>> t = ParseTrigger(e.text, from);
    if (!t.ok()) {
      std::cerr << "aps examples: " << e.text << ": " << t.status().message() << "\n";
      return 1;
    }
    std::cout << "\n"
              << e.what << "\n  " << (*t)->Describe() << "  [" << (*t)->zone()->name() << "]";
    if (e.from != nullptr) std::cout << "  from " << e.from;
    std::cout << "\n";
    std::optional<Instant> prev;
    Instant at = from;
    for (int i = 0; i < a.count; ++i) {
      std::optional<Instant> next = (*t)->Next(prev, at);
      if (!next) {
        std::cout << "  (no further fire time)\n";
        break;
      }
      std::cout << "  " << FormatIso(*next, *(*t)->zone()) << "\n";
      prev = at = *next;
    }
  }
  std::cout << "\nTry: aps next --help\n";
  return 0;
}

}  // namespace

std::function<int()> AddExamplesCommand(CLI::App& app) {
  auto args = std::make_shared<ExamplesArgs>();
  CLI::App* cmd =
      app.add_subcommand("examples", "show example schedules and their next fire times");
  cmd->add_option("--from", args->from, "compute from this instant (UTC unless it has an offset)");
  cmd->add_option("-n,--count", args->count, "fire times per schedule (default 3)")
      ->check(CLI::Range(1, 100));
  return [args] { return RunExamples(*args); };
}

}  // namespace aps::cli
