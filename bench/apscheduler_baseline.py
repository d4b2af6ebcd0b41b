#!/usr/bin/python3
"""APScheduler's per-call times for the schedules of bench/trigger_bench.cc (the ratio baseline).

Runs Debian's python3-apscheduler (3.9.1) with the system interpreter:
    /usr/bin/python3 bench/apscheduler_baseline.py
Each case walks the schedule forward exactly as the C++ benchmark does:
t = trigger.get_next_fire_time(t, t), and reports the median of 5 timing runs per call.
"""
import datetime as dt
import statistics
import time

import pytz
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.triggers.combining import AndTrigger

UTC = pytz.utc
START = UTC.localize(dt.datetime(2024, 1, 1))


def per_call_ns(trigger, n=2000):
    runs = []
    for _ in range(5):
        t = None
        now = START
        t0 = time.perf_counter_ns()
        for _ in range(n):
            t = trigger.get_next_fire_time(t, now)
            now = t
        runs.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(runs)


def parse_ns(expr, n=2000):
    runs = []
    for _ in range(5):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            CronTrigger.from_crontab(expr, timezone=UTC)
        runs.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(runs)


def main():
    hel = pytz.timezone("Europe/Helsinki")
    ny = pytz.timezone("America/New_York")
    cases = [
        # name (as in trigger_bench), trigger. 3.x from_crontab numbers weekdays from Monday = 0,
        # so '0 9 * * 1-5' is written with names here to mean the same schedule.
        ("BM_CronNext_Weekdays0900", CronTrigger.from_crontab("0 9 * * mon-fri", timezone=UTC)),
        ("BM_CronNext_Every15Min", CronTrigger.from_crontab("*/15 * * * *", timezone=UTC)),
        ("BM_CronNext_LastFriday", CronTrigger(day="last fri", hour=17, timezone=UTC)),
        ("BM_CronNext_BusinessQuarterHours",
         CronTrigger(day_of_week="mon-fri", hour="9-17", minute="*/15", timezone=UTC)),
        ("BM_CronNext_Weekdays0900_Helsinki", CronTrigger.from_crontab("0 9 * * mon-fri", timezone=hel)),
        ("BM_CronNext_Every15Min_NewYork", CronTrigger.from_crontab("*/15 * * * *", timezone=ny)),
        ("BM_IntervalNext", IntervalTrigger(hours=2, start_date=START, timezone=UTC)),
    ]
    for name, trig in cases:
        print(f"{name:40s} {per_call_ns(trig):10.0f} ns/call  (APScheduler 3.9.1)")
    # AndTrigger in 3.x hangs on its second call, so only the first call is timed.
    t0 = time.perf_counter_ns()
    and_trig = AndTrigger([CronTrigger(day_of_week="mon", hour=10, timezone=UTC),
                           CronTrigger(day="1-7", hour=10, timezone=UTC)])
    for _ in range(500):
        and_trig.get_next_fire_time(None, START)
    print(f"{'BM_AndNext_FirstMonday (first call only)':40s} {(time.perf_counter_ns() - t0) / 500:10.0f} ns/call")
    print(f"{'BM_CrontabParse_Simple':40s} {parse_ns('0 9 * * mon-fri'):10.0f} ns/call")
    print(f"{'BM_CrontabParse':40s} {parse_ns('*/15 9-17 * * mon-fri'):10.0f} ns/call")


if __name__ == "__main__":
    main()
