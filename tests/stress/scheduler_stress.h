// A randomized multi-producer run against a background Scheduler on the real clock, shared by
// the bounded run in tests/engine/scheduler_test.cc and the bigger one in
// tests/stress/scheduler_stress_test.cc (label `stress`).
//
// Producer threads add date jobs (due 0..max_delay_ms ahead), postpone and remove them, and add,
// modify, pause, resume and remove short interval jobs, while a thread pool runs whatever comes
// due. Afterwards, once every surviving date job has run, the scheduler is shut down (waiting)
// and the invariants are checked:
//   * a date job whose RemoveJob() succeeded never ran; every other date job ran exactly once,
//     never before its (last) scheduled time, and is gone from the table;
//   * RemoveJob()/ModifyJob() of a date job fail only with kNotFound (it was already submitted);
//   * JOB_EXECUTED events == runs counted by the jobs <= run times listed in JOB_SUBMITTED (a
//     batch still in progress at shutdown may not finish; see the scheduler unit test
//     ShutdownWithWaitFinishesABatchInProgress); no JOB_ERROR, no JOB_MISSED (grace unlimited);
//   * the table holds exactly the interval jobs not removed; the pool is idle.
#ifndef APS_TESTS_STRESS_SCHEDULER_STRESS_H_
#define APS_TESTS_STRESS_SCHEDULER_STRESS_H_

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/date_trigger.h"
#include "engine/executor.h"
#include "engine/interval_trigger.h"
#include "engine/job_function.h"
#include "engine/scheduler.h"
#include "platform/clock.h"

namespace aps::test {

struct StressParams {
  int producers = 4;
  int ops_per_producer = 500;
  int max_delay_ms = 30;  // date jobs are due 0..max_delay_ms ahead
  int pool_threads = 4;
  int max_live_intervals = 6;  // per producer: keeps the run load bounded (TSan is slow)
  std::uint64_t seed = 20240101;
};

namespace stress_internal {

struct DateRecord {
  std::string id;
  std::atomic<std::int64_t> scheduled_us{0};  // the last scheduled time the producer set
  std::atomic<int> runs{0};
  std::atomic<std::int64_t> ran_at_us{0};
  bool removed = false;  // RemoveJob() succeeded (producer thread only)
};

struct IntervalRecord {
  std::string id;
  std::atomic<int> runs{0};
  bool removed = false;
};

}  // namespace stress_internal

inline void RunSchedulerStress(const StressParams& p) {
  using stress_internal::DateRecord;
  using stress_internal::IntervalRecord;
  platform::Clock& clock = platform::SystemClock();

  std::atomic<long> executed{0}, errors{0}, missed{0}, submitted_runs{0};
  std::atomic<long> job_runs{0};  // counted by the jobs themselves
  std::mutex done_mu;
  std::condition_variable done_cv;
  long date_runs = 0;  // guarded by done_mu

  std::vector<std::vector<std::unique_ptr<DateRecord>>> dates(p.producers);
  std::vector<std::vector<std::unique_ptr<IntervalRecord>>> intervals(p.producers);

  Scheduler s;
  auto pool =
      std::make_unique<ThreadPoolExecutor>(static_cast<std::size_t>(p.pool_threads), 4096, clock);
  ThreadPoolExecutor* pool_ptr = pool.get();
  ASSERT_TRUE(s.AddExecutor("default", std::move(pool)).ok());
  s.AddListener(
      [&](const Event& e) {
        switch (e.code) {
          case kEventJobExecuted: executed.fetch_add(1); break;
          case kEventJobError: errors.fetch_add(1); break;
          case kEventJobMissed: missed.fetch_add(1); break;
          case kEventJobSubmitted:
            submitted_runs.fetch_add(static_cast<long>(e.scheduled_run_times.size()));
            break;
          default: break;
        }
      },
      kEventJobExecuted | kEventJobError | kEventJobMissed | kEventJobSubmitted);
  ASSERT_TRUE(s.Start().ok());

  auto producer = [&](int t) {
    std::mt19937_64 rng(p.seed * 7919 + static_cast<std::uint64_t>(t));
    auto below = [&](std::int64_t n) {
      return static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(n));
    };
    auto& my_dates = dates[t];
    auto& my_ivs = intervals[t];
    const std::int64_t max_delay_us = std::int64_t{p.max_delay_ms} * 1000 + 1;
    for (int i = 0; i < p.ops_per_producer; ++i) {
      const std::int64_t op = below(100);
      const std::int64_t now = clock.WallMicros();
      if (op < 45) {  // add a date job
        auto rec = std::make_unique<DateRecord>();
        DateRecord* r = rec.get();
        r->id = "d" + std::to_string(t) + "-" + std::to_string(i);
        const std::int64_t at = now + below(max_delay_us);
        r->scheduled_us = at;
        JobSpec spec;
        spec.id = r->id;
        spec.fn = JobFunction::Bind([r, &clock, &job_runs, &done_mu, &done_cv, &date_runs] {
          if (r->runs.fetch_add(1) == 0) r->ran_at_us = clock.WallMicros();
          job_runs.fetch_add(1);
          {
            std::lock_guard<std::mutex> lk(done_mu);
            ++date_runs;
          }
          done_cv.notify_all();
        });
        spec.trigger = DateTrigger::Create(Instant{at}, nullptr).value();
        my_dates.push_back(std::move(rec));
        const Result<std::string> id = s.AddJob(std::move(spec));
        EXPECT_TRUE(id.ok()) << id.status().message();
        if (!id.ok()) r->removed = true;  // never added: must never run either
      } else if (op < 60) {               // remove a date job
        if (my_dates.empty()) continue;
        DateRecord& r =
            *my_dates[static_cast<std::size_t>(below(static_cast<std::int64_t>(my_dates.size())))];
        if (r.removed) continue;
        const Status st = s.RemoveJob(r.id);
        if (st.ok()) {
          r.removed = true;
        } else {
          EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.message();
        }
      } else if (op < 70) {  // postpone (or advance) a date job
        if (my_dates.empty()) continue;
        DateRecord& r =
            *my_dates[static_cast<std::size_t>(below(static_cast<std::int64_t>(my_dates.size())))];
        if (r.removed) continue;
        const std::int64_t at = now + below(max_delay_us);
        JobChanges c;
        c.next_run_time = std::optional<Instant>(Instant{at});
        const Status st = s.ModifyJob(r.id, std::move(c));
        if (st.ok()) {
          r.scheduled_us = at;  // not yet submitted: it runs at `at` or later
        } else {
          EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.message();
        }
      } else if (op < 78) {  // add an interval job
        int live = 0;
        for (const auto& iv : my_ivs) live += iv->removed ? 0 : 1;
        if (live >= p.max_live_intervals) continue;
        auto rec = std::make_unique<IntervalRecord>();
        IntervalRecord* r = rec.get();
        r->id = "i" + std::to_string(t) + "-" + std::to_string(i);
        IntervalOptions io;
        io.interval = std::chrono::microseconds(5'000 + below(30'000));
        JobSpec spec;
        spec.id = r->id;
        spec.fn = JobFunction::Bind([r, &job_runs] {
          r->runs.fetch_add(1);
          job_runs.fetch_add(1);
        });
        spec.trigger = IntervalTrigger::Create(io, Instant{now}).value();
        if (below(2) == 0) spec.coalesce = false;
        if (below(3) == 0) spec.max_instances_policy = MaxInstancesPolicy::kWait;
        my_ivs.push_back(std::move(rec));
        const Result<std::string> id = s.AddJob(std::move(spec));
        EXPECT_TRUE(id.ok()) << id.status().message();
        if (!id.ok()) r->removed = true;
      } else {  // modify / pause / resume / reschedule / remove an interval job, or read
        if (my_ivs.empty()) continue;
        IntervalRecord& r =
            *my_ivs[static_cast<std::size_t>(below(static_cast<std::int64_t>(my_ivs.size())))];
        if (r.removed) continue;
        const std::int64_t what = below(6);
        Status st;
        if (what == 0) {
          JobChanges c;
          c.name = "renamed" + std::to_string(i);
          c.max_instances = static_cast<std::int32_t>(1 + below(3));
          st = s.ModifyJob(r.id, std::move(c));
        } else if (what == 1) {
          st = s.PauseJob(r.id);
        } else if (what == 2) {
          const Result<bool> kept = s.ResumeJob(r.id);
          st = kept.status();
          if (kept.ok()) {
            EXPECT_TRUE(*kept);
          }
        } else if (what == 3) {
          IntervalOptions io;
          io.interval = std::chrono::microseconds(5'000 + below(20'000));
          st = s.RescheduleJob(r.id, IntervalTrigger::Create(io, Instant{now}).value());
        } else if (what == 4) {
          st = s.RemoveJob(r.id);
          if (st.ok()) r.removed = true;
        } else {
          const std::vector<JobInfo> jobs = s.GetJobs();
          EXPECT_LE(jobs.size(), s.job_count() + 1000);  // reads work under load
          (void)s.GetJob(r.id);
        }
        EXPECT_TRUE(st.ok()) << r.id << ": " << st.message();  // only this thread removes it
      }
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < p.producers; ++t) threads.emplace_back(producer, t);
  for (std::thread& th : threads) th.join();

  long expected_date_runs = 0;
  for (const auto& v : dates) {
    for (const auto& r : v) expected_date_runs += r->removed ? 0 : 1;
  }
  {
    std::unique_lock<std::mutex> lk(done_mu);
    const bool all = done_cv.wait_for(lk, std::chrono::seconds(60),
                                      [&] { return date_runs >= expected_date_runs; });
    EXPECT_TRUE(all) << date_runs << " of " << expected_date_runs << " date jobs ran";
  }
  ASSERT_TRUE(s.Shutdown(/*wait=*/true).ok());

  long date_total = 0, interval_live = 0;
  for (const auto& v : dates) {
    for (const auto& r : v) {
      const int runs = r->runs.load();
      date_total += runs;
      if (r->removed) {
        EXPECT_EQ(runs, 0) << r->id << " ran after RemoveJob() succeeded";
      } else {
        EXPECT_EQ(runs, 1) << r->id;
        EXPECT_GE(r->ran_at_us.load(), r->scheduled_us.load()) << r->id << " ran early";
        EXPECT_FALSE(s.GetJob(r->id).has_value()) << r->id;
      }
    }
  }
  for (const auto& v : intervals) {
    for (const auto& r : v) interval_live += r->removed ? 0 : 1;
  }
  EXPECT_EQ(date_total, expected_date_runs);
  EXPECT_EQ(executed.load(), job_runs.load());
  EXPECT_GE(submitted_runs.load(), job_runs.load());
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(missed.load(), 0);
  EXPECT_EQ(static_cast<long>(s.job_count()), interval_live);
  EXPECT_EQ(pool_ptr->running(), 0u);
  EXPECT_EQ(pool_ptr->queued(), 0u);
}

}  // namespace aps::test

#endif  // APS_TESTS_STRESS_SCHEDULER_STRESS_H_
