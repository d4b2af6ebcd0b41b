// Trigger microbenchmarks: next-fire-time and parsing.
//
// Each BM_*_Next walks a schedule forward: t = Next(prev = t, now = t), the scheduler's loop,
// so every iteration is one real "when next?" question. Baselines in this binary:
// *_ScanBaseline answers the same question the way simple cron libraries do — step minute by
// minute (second by second for sub-minute fields) and test each candidate against the fields.
// APScheduler's own per-call time is measured by bench/apscheduler_baseline.py.
// Run: build/bench/trigger_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>

#include "engine/cron_trigger.h"
#include "engine/time_zone.h"
#include "engine/trigger_text.h"

namespace aps {
namespace {

const Instant kStart = Instant::FromUnixSeconds(1704067200);  // 2024-01-01T00:00:00Z

std::unique_ptr<Trigger> Make(const char* text) {
  Result<std::unique_ptr<Trigger>> t = ParseTrigger(text, kStart);
  if (!t.ok()) std::abort();
  return std::move(t).value();
}

void RunNext(benchmark::State& state, const Trigger& t) {
  std::optional<Instant> prev;
  Instant now = kStart;
  for (auto _ : state) {
    std::optional<Instant> next = t.Next(prev, now);
    if (!next) {  // wrap (only far-future schedules end)
      prev.reset();
      now = kStart;
      continue;
    }
    benchmark::DoNotOptimize(*next);
    prev = now = *next;
  }
  state.SetItemsProcessed(state.iterations());
}

// Typical expressions, UTC unless stated.
void BM_CronNext_Weekdays0900(benchmark::State& s) { RunNext(s, *Make("crontab('0 9 * * 1-5')")); }
void BM_CronNext_Every15Min(benchmark::State& s) { RunNext(s, *Make("crontab('*/15 * * * *')")); }
void BM_CronNext_LastFriday(benchmark::State& s) {
  RunNext(s, *Make("cron(day='last fri', hour='17')"));
}
void BM_CronNext_BusinessQuarterHours(benchmark::State& s) {
  RunNext(s, *Make("cron(day_of_week='mon-fri', hour='9-17', minute='*/15')"));
}
// A DST zone: every zone lookup goes through cctz.
void BM_CronNext_Weekdays0900_Helsinki(benchmark::State& s) {
  RunNext(s, *Make("crontab('0 9 * * 1-5', timezone='Europe/Helsinki')"));
}
void BM_CronNext_Every15Min_NewYork(benchmark::State& s) {
  RunNext(s, *Make("crontab('*/15 * * * *', timezone='America/New_York')"));
}
void BM_IntervalNext(benchmark::State& s) {
  RunNext(s, *Make("interval(hours=2, start_date='2024-01-01')"));
}
void BM_CalendarIntervalNext_Monthly(benchmark::State& s) {
  RunNext(s, *Make("calendarinterval(months=1, hour=9, start_date='2024-01-31', "
                   "timezone='Europe/Helsinki')"));
}
void BM_AndNext_FirstMonday(benchmark::State& s) {
  RunNext(s, *Make("and(cron(day_of_week='mon', hour='10'), cron(day='1-7', hour='10'))"));
}

// Baseline: minute-by-minute scan over the UTC time line for `0 9 * * 1-5` — what a naive cron
// library does. Each iteration finds the next fire time after the previous one.
void BM_CronNext_Weekdays0900_ScanBaseline(benchmark::State& state) {
  std::int64_t t = kStart.unix_seconds_floor();
  for (auto _ : state) {
    std::int64_t m = t / 60 + 1;
    for (;; ++m) {
      const CivilSecond c = CivilFromUnixSeconds(m * 60);
      const int wd = Weekday(c.year, c.month, c.day);
      if (c.minute == 0 && c.hour == 9 && wd <= 4) break;
    }
    t = m * 60;
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_CronNext_Every15Min_ScanBaseline(benchmark::State& state) {
  std::int64_t t = kStart.unix_seconds_floor();
  for (auto _ : state) {
    std::int64_t m = t / 60 + 1;
    while (CivilFromUnixSeconds(m * 60).minute % 15 != 0) ++m;
    t = m * 60;
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CrontabParse(benchmark::State& state) {
  const TimeZonePtr utc = UtcZone();
  for (auto _ : state) {
    auto t = CronTrigger::FromCrontab("*/15 9-17 * * mon-fri", utc);
    benchmark::DoNotOptimize(t.ok());
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_CrontabParse_Simple(benchmark::State& state) {
  const TimeZonePtr utc = UtcZone();
  for (auto _ : state) {
    auto t = CronTrigger::FromCrontab("0 9 * * 1-5", utc);
    benchmark::DoNotOptimize(t.ok());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_CronNext_Weekdays0900);
BENCHMARK(BM_CronNext_Weekdays0900_ScanBaseline);
BENCHMARK(BM_CronNext_Every15Min);
BENCHMARK(BM_CronNext_Every15Min_ScanBaseline);
BENCHMARK(BM_CronNext_LastFriday);
BENCHMARK(BM_CronNext_BusinessQuarterHours);
BENCHMARK(BM_CronNext_Weekdays0900_Helsinki);
BENCHMARK(BM_CronNext_Every15Min_NewYork);
BENCHMARK(BM_IntervalNext);
BENCHMARK(BM_CalendarIntervalNext_Monthly);
BENCHMARK(BM_AndNext_FirstMonday);
BENCHMARK(BM_CrontabParse_Simple);
BENCHMARK(BM_CrontabParse);

}  // namespace
}  // namespace aps

BENCHMARK_MAIN();
