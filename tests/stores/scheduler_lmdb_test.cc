// The scheduler on the LMDB store: task jobs persist across scheduler lifetimes, are loaded at
// Start() with their arguments, follow the misfire policy for runs missed while "down", and jobs
// that cannot be loaded stay in the store and are reported. Host-driven on a SimClock with an
// inline executor: the test is the host, so nothing sleeps.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/datetime.h"
#include "engine/executor.h"
#include "engine/scheduler.h"
#include "engine/trigger_text.h"
#include "platform/fake/sim_clock.h"
#include "stores/lmdb/lmdb_store.h"
#include "tests/status_macros.h"

namespace aps {
namespace {

using platform::Deadline;
using platform::Delay;
using platform::SimClock;
namespace fs = std::filesystem;

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kT0 = 1'704'067'200 * kSecond;  // 2024-01-01 00:00:00 UTC
constexpr Instant T(std::int64_t s) { return Instant{kT0 + s * kSecond}; }

std::int64_t WallMicrosNow() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SchedulerLmdb : public ::testing::Test {
 protected:
  SchedulerLmdb() : clock_(Deadline{0}, kT0) {
    std::string tmpl = (fs::temp_directory_path() / "aps-sched-lmdb-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir_ = tmpl;
  }
  ~SchedulerLmdb() override {
    s_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A new scheduler (the old one shut down and destroyed) on the store in dir_, with the task
  // "record" registered unless `register_task` is false.
  void Make(bool register_task = true, JobDefaults defaults = {}) {
    if (s_ && s_->state() != SchedulerState::kStopped) ASSERT_OK(s_->Shutdown());
    s_.reset();
    SchedulerOptions o;
    o.mode = SchedulerMode::kHostDriven;
    o.clock = &clock_;
    o.job_defaults = defaults;
    s_ = std::make_unique<Scheduler>(o);
    ASSERT_OK(s_->AddExecutor("default", std::make_unique<InlineExecutor>(clock_)));
    LmdbStoreOptions so;
    so.path = dir_ + "/store";
    so.durability = LmdbDurability::kNoSync;
    auto store = std::make_unique<LmdbJobStore>(so);
    store_ = store.get();
    ASSERT_OK(s_->AddJobStore("default", std::move(store)));
    if (register_task) {
      ASSERT_OK(s_->AddTask("record", [this](const TaskArgs& a) {
        runs_.push_back({Instant{clock_.WallMicros()}, a});
      }));
    }
    s_->AddListener([this](const Event& e) { events_.push_back(e); });
  }

  // Host loop: runs what is due, advancing the clock to each deadline, until `wall`.
  void RunUntil(Instant wall) {
    for (int i = 0; i < 100000; ++i) {
      const std::optional<Deadline> d = s_->NextDeadline();
      const Deadline now = clock_.Now();
      if (d && *d <= now) {
        ASSERT_OK(s_->RunDue());
        continue;
      }
      const std::int64_t wall_now = clock_.WallMicros();
      if (wall_now >= wall.us) return;
      const std::int64_t step =
          d ? std::min((d->ns - now.ns) / 1000, wall.us - wall_now) : wall.us - wall_now;
      clock_.Advance(Delay::Micros(step > 0 ? step : 1));
      ASSERT_OK(s_->RunDue());
    }
    FAIL() << "RunUntil made no progress";
  }

  std::vector<const Event*> EventsOf(std::uint32_t code) const {
    std::vector<const Event*> out;
    for (const Event& e : events_) {
      if (e.code == code) out.push_back(&e);
    }
    return out;
  }

  Result<std::string> AddTaskJob(const std::string& id, const std::string& trigger,
                                 TaskArgs args = {}, JobSpec spec = {}) {
    spec.id = id;
    spec.task = "record";
    spec.args = std::move(args);
    Result<std::unique_ptr<Trigger>> t = ParseTrigger(trigger, Instant{clock_.WallMicros()});
    if (!t.ok()) return t.status();
    spec.trigger = std::move(t).value();
    return s_->AddJob(std::move(spec));
  }

  struct Run {
    Instant at;
    TaskArgs args;
  };
  SimClock clock_;
  std::string dir_;
  std::unique_ptr<Scheduler> s_;
  LmdbJobStore* store_ = nullptr;  // owned by s_
  std::vector<Run> runs_;
  std::vector<Event> events_;
};

TaskArgs SampleArgs() {
  TaskArgs a;
  a.args = {Value("report.pdf"), Value(std::int64_t{42}), Value(2.5), Value::Bytes({"\0\xff", 2})};
  a.kwargs = {{"to", Value("ops@example.com")},
              {"opts", Value(Value::Map{{"retry", Value(true)}, {"none", Value()}})}};
  return a;
}

TEST_F(SchedulerLmdb, ATaskJobSurvivesARestartWithItsArguments) {
  Make();
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(
      AddTaskJob("report", "interval(seconds=10, start_date='2024-01-01T00:00:10Z')", SampleArgs())
          .ok());
  RunUntil(T(25));
  ASSERT_EQ(runs_.size(), 2u);
  EXPECT_EQ(runs_[0].at.us, T(10).us);
  EXPECT_EQ(runs_[1].args, SampleArgs());
  ASSERT_OK(s_->Shutdown());

  // A new process, in effect: a new scheduler and store object over the same directory.
  runs_.clear();
  Make();
  ASSERT_OK(s_->Start());
  std::vector<JobInfo> jobs = s_->GetJobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, "report");
  EXPECT_EQ(jobs[0].task, "record");
  EXPECT_EQ(jobs[0].args,
            "('report.pdf', 42, 2.5, b'\\x00\\xff', to='ops@example.com', "
            "opts={'retry': True, 'none': None})");
  ASSERT_TRUE(jobs[0].next_run_time.has_value());
  EXPECT_EQ(jobs[0].next_run_time->us, T(30).us);
  RunUntil(T(30));
  ASSERT_EQ(runs_.size(), 1u);
  EXPECT_EQ(runs_[0].at.us, T(30).us);
  EXPECT_EQ(runs_[0].args, SampleArgs());
}

TEST_F(SchedulerLmdb, RunTimesAdvanceInTheStoreAsJobsRun) {
  Make();
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(AddTaskJob("tick", "interval(seconds=5, start_date='2024-01-01T00:00:05Z')").ok());
  RunUntil(T(12));
  Result<std::optional<JobState>> j = store_->LookupJob("tick");
  ASSERT_TRUE(j.ok() && j->has_value());
  EXPECT_EQ((*j)->next_run_time->us, T(15).us);
  EXPECT_EQ((*j)->task, "record");
}

TEST_F(SchedulerLmdb, ACallableCannotGoIntoAPersistentStore) {
  Make();
  JobSpec spec;
  spec.fn = JobFunction::Bind([] {});
  Result<std::string> r = s_->AddJob(std::move(spec));  // stopped: checked at add too
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(r.status().message()).find("persistent"), std::string::npos);
  ASSERT_OK(s_->Start());
  JobSpec running;
  running.fn = JobFunction::Bind([] {});
  r = s_->AddJob(std::move(running));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
}

TEST_F(SchedulerLmdb, AnUnregisteredTaskIsRefusedAtAdd) {
  Make();
  ASSERT_OK(s_->Start());
  JobSpec spec;
  spec.task = "nope";
  Result<std::string> r = s_->AddJob(std::move(spec));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_STREQ(r.status().message(),
               "task \"nope\" is not registered (Scheduler::AddTask, before Start)");
  EXPECT_EQ(s_->AddTask("late", [](const TaskArgs&) {}).code(), StatusCode::kFailedPrecondition);
}

TEST_F(SchedulerLmdb, AJobWhoseTaskIsMissingStaysInTheStoreAndIsReported) {
  Make();
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(AddTaskJob("orphan", "interval(seconds=10)").ok());
  ASSERT_TRUE(AddTaskJob("kept", "interval(seconds=10)").ok());
  ASSERT_OK(s_->Shutdown());

  events_.clear();
  Make(/*register_task=*/false);
  ASSERT_OK(s_->AddTask("other", [](const TaskArgs&) {}));
  ASSERT_OK(s_->Start());
  const std::vector<const Event*> u = EventsOf(kEventJobUnresolved);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0]->alias, "default");
  EXPECT_NE(u[0]->error.find("task \"record\" is not registered"), std::string::npos);
  std::vector<JobInfo> jobs = s_->GetJobs();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_TRUE(jobs[0].unresolved);
  EXPECT_NE(s_->PrintJobs().find("kept (unresolved: task \"record\" is not registered"),
            std::string::npos)
      << s_->PrintJobs();
  // Only removal works on it; the other stays in the store untouched.
  Status st = s_->PauseJob("orphan");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.message();
  ASSERT_OK(s_->RemoveJob("orphan"));
  EXPECT_FALSE(store_->LookupJob("orphan")->has_value());
  EXPECT_TRUE(store_->LookupJob("kept")->has_value());
  RunUntil(T(100));  // nothing runs, nothing is deleted
  EXPECT_TRUE(store_->LookupJob("kept")->has_value());
  ASSERT_OK(s_->Shutdown());

  // Registered again: it loads and runs.
  Make();
  ASSERT_OK(s_->Start());
  EXPECT_EQ(EventsOf(kEventJobUnresolved).size(), 2u);  // (only the earlier two)
  RunUntil(T(200));
  EXPECT_FALSE(runs_.empty());
}

// Paging keeps jobs that are far off or paused on disk; those of an unregistered task are
// reported at Start() all the same (from the store's tasks index), once, listed as
// unresolved, and kept.
TEST_F(SchedulerLmdb, JobsOfAMissingTaskAreReportedAtStartEvenWhenNotDueSoon) {
  Make();
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(AddTaskJob("soon", "interval(seconds=10)").ok());
  ASSERT_TRUE(AddTaskJob("far", "interval(days=30)").ok());
  JobSpec paused;
  paused.next_run_time = NextRunTime::Paused();
  ASSERT_TRUE(AddTaskJob("paused", "interval(days=1)", {}, std::move(paused)).ok());
  ASSERT_OK(s_->Shutdown());

  events_.clear();
  Make(/*register_task=*/false);
  ASSERT_OK(s_->AddTask("other", [](const TaskArgs&) {}));
  ASSERT_OK(s_->Start());
  std::set<std::string> reported;
  for (const Event* e : EventsOf(kEventJobUnresolved)) {
    reported.insert(e->job_id);
    EXPECT_NE(e->error.find("task \"record\" is not registered"), std::string::npos) << e->error;
  }
  EXPECT_EQ(reported, (std::set<std::string>{"far", "paused", "soon"}));
  EXPECT_EQ(EventsOf(kEventJobUnresolved).size(), 3u);  // once each
  const std::vector<JobInfo> jobs = s_->GetJobs();
  ASSERT_EQ(jobs.size(), 3u);
  for (const JobInfo& j : jobs) {
    EXPECT_TRUE(j.unresolved) << j.id;
    EXPECT_NE(j.problem.find("is not registered"), std::string::npos) << j.problem;
  }
  RunUntil(T(3600));  // nothing runs, nothing is reported again, nothing is deleted
  EXPECT_TRUE(runs_.empty());
  EXPECT_EQ(EventsOf(kEventJobUnresolved).size(), 3u);
  for (const char* id : {"soon", "far", "paused"}) {
    EXPECT_TRUE(store_->LookupJob(id)->has_value()) << id;
  }
}

// A listing shows every stored job: one whose record or arguments do not read is listed as
// unresolved, saying why, beside the others (it does not hide them).
TEST_F(SchedulerLmdb, AStoredJobThatDoesNotReadIsListedBesideTheOthers) {
  Make();
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(AddTaskJob("good", "interval(days=30)").ok());
  ASSERT_OK(s_->Shutdown());
  s_.reset();
  {
    LmdbStoreOptions so;
    so.path = dir_ + "/store";
    LmdbJobStore raw(so);
    ASSERT_OK(raw.Start("default"));
    JobState bad = **raw.LookupJob("good");
    bad.id = "badargs";
    bad.args = "\xff\xfe";
    ASSERT_OK(raw.AddJob(bad));
  }
  {  // a record damaged on disk (checksum), written with raw LMDB
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, (dir_ + "/store").c_str(), MDB_NOTLS, 0600), 0);
    MDB_txn* t;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &t), 0);
    MDB_dbi jobs;
    ASSERT_EQ(mdb_dbi_open(t, "jobs", 0, &jobs), 0);
    std::string key = "broken", val = "\x01not a record at all";
    MDB_val k{key.size(), key.data()}, v{val.size(), val.data()};
    ASSERT_EQ(mdb_put(t, jobs, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(t), 0);
    mdb_env_close(env);
  }
  Make();
  ASSERT_OK(s_->Start());
  std::map<std::string, JobInfo> by_id;
  for (JobInfo& j : s_->GetJobs()) by_id[j.id] = j;
  ASSERT_EQ(by_id.size(), 3u);
  EXPECT_FALSE(by_id["good"].unresolved);
  EXPECT_TRUE(by_id["badargs"].unresolved);
  EXPECT_NE(by_id["badargs"].problem.find("arguments do not decode"), std::string::npos)
      << by_id["badargs"].problem;
  EXPECT_TRUE(by_id["broken"].unresolved);
  EXPECT_NE(by_id["broken"].problem.find("undecodable"), std::string::npos)
      << by_id["broken"].problem;
}

TEST_F(SchedulerLmdb, ArgumentsThatCannotBeEncodedAreRefusedAtAdd) {
  Make();
  ASSERT_OK(s_->Start());
  TaskArgs dup;
  dup.kwargs = {{"k", Value(1)}, {"k", Value(2)}};
  Result<std::string> r = AddTaskJob("dup", "interval(seconds=10)", dup);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
  Value deep;
  for (int i = 0; i < kMaxValueDepth + 2; ++i) deep = Value(Value::List{std::move(deep)});
  TaskArgs nested;
  nested.args = {deep};
  r = AddTaskJob("deep", "interval(seconds=10)", nested);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
  EXPECT_FALSE(store_->LookupJob("dup")->has_value());
  EXPECT_FALSE(store_->LookupJob("deep")->has_value());
  EXPECT_TRUE(s_->GetJobs().empty());
}

TEST_F(SchedulerLmdb, RunsMissedWhileDownFollowTheMisfirePolicy) {
  JobDefaults d;
  d.misfire_grace_us = 30 * kSecond;
  Make(true, d);
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(
      AddTaskJob("coalesced", "interval(seconds=60, start_date='2024-01-01T00:01:00Z')").ok());
  JobSpec strict;
  strict.coalesce = false;
  ASSERT_TRUE(AddTaskJob("each", "interval(seconds=60, start_date='2024-01-01T00:01:00Z')", {},
                         std::move(strict))
                  .ok());
  RunUntil(T(61));
  ASSERT_EQ(runs_.size(), 2u);
  ASSERT_OK(s_->Shutdown());

  // Down for a day and 10 s: the last fire time (one day later) is within the grace time.
  clock_.Advance(Delay::Micros((86'400 + 10 - 61) * kSecond));
  runs_.clear();
  events_.clear();
  Make(true, d);
  ASSERT_OK(s_->Start());
  RunUntil(Instant{clock_.WallMicros() + kSecond});
  // coalesced: one run for the whole outage. each: the runs older than the grace are missed,
  // the one within it runs.
  EXPECT_EQ(runs_.size(), 2u);
  std::size_t missed = 0;
  for (const Event* e : EventsOf(kEventJobMissed)) missed += e->job_id == "each";
  // T(120) ... T(86400): 1439 fire times, the last one runs. The first batch (1024) is
  // reported one by one; the rest of the outage is skipped in one step (bounded work).
  EXPECT_EQ(missed, 1024u);
  std::vector<JobInfo> jobs = s_->GetJobs();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].next_run_time->us, T(86'400 + 60).us);
}

TEST_F(SchedulerLmdb, AYearLongOutageCostsBoundedWork) {
  JobDefaults d;
  d.misfire_grace_us = 30 * kSecond;
  d.coalesce = false;
  Make(true, d);
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(
      AddTaskJob("every-second", "interval(seconds=1, start_date='2024-01-01T00:00:01Z')").ok());
  ASSERT_OK(s_->Shutdown());
  clock_.Advance(Delay::Micros(365LL * 86'400 * kSecond));  // 31.5 million fire times missed
  events_.clear();
  Make(true, d);
  ASSERT_OK(s_->Start());
  RunUntil(Instant{clock_.WallMicros() + kSecond});
  EXPECT_EQ(EventsOf(kEventJobMissed).size(), 1024u);
  // The runs within the grace window (30 s before the restart, and after it) all happen.
  EXPECT_GE(runs_.size(), 30u);
  EXPECT_LE(runs_.size(), 33u);
}

TEST_F(SchedulerLmdb, APendingJobReplacesTheStoredOneOnlyWithReplaceExisting) {
  Make();
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(AddTaskJob("daily", "cron(hour='9')").ok());
  ASSERT_OK(s_->Shutdown());

  Make();
  ASSERT_TRUE(AddTaskJob("daily", "cron(hour='10')").ok());  // pending
  Status st = s_->Start();
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.message();
  EXPECT_EQ(s_->state(), SchedulerState::kStopped);

  Make();
  JobSpec replace;
  replace.replace_existing = true;
  ASSERT_TRUE(AddTaskJob("daily", "cron(hour='10')", {}, std::move(replace)).ok());
  ASSERT_OK(s_->Start());
  std::vector<JobInfo> jobs = s_->GetJobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_NE(jobs[0].trigger.find("hour='10'"), std::string::npos) << jobs[0].trigger;
  Result<std::optional<JobState>> stored = store_->LookupJob("daily");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_NE((*stored)->trigger.find("hour='10'"), std::string::npos);
}

TEST_F(SchedulerLmdb, ASecondSchedulerOnTheSameStoreIsRefused) {
  Make();
  ASSERT_OK(s_->Start());
  SchedulerOptions oo;
  oo.mode = SchedulerMode::kHostDriven;
  oo.clock = &clock_;
  Scheduler other(oo);
  LmdbStoreOptions so;
  so.path = dir_ + "/store";
  ASSERT_OK(other.AddJobStore("default", std::make_unique<LmdbJobStore>(so)));
  ASSERT_OK(other.AddExecutor("default", std::make_unique<InlineExecutor>(clock_)));
  Status st = other.Start();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(st.message()).find("job store \"default\" failed to start"),
            std::string::npos)
      << st.message();
  EXPECT_NE(std::string(st.message()).find("in use by another scheduler"), std::string::npos);
  EXPECT_EQ(other.state(), SchedulerState::kStopped);
}

TEST_F(SchedulerLmdb, ChangesOfOneIterationCommitTogether) {
  Make();
  ASSERT_OK(s_->Start());
  const std::uint64_t before = store_->stats().commits;
  // 200 jobs due at the same instant: their next_run_time advances commit in one transaction.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(AddTaskJob("j" + std::to_string(i),
                           "interval(seconds=10, start_date='2024-01-01T00:00:10Z')")
                    .ok());
  }
  const std::uint64_t after_adds = store_->stats().commits;
  EXPECT_LE(after_adds - before, 200u);  // (each synchronous AddJob commits before returning)
  RunUntil(T(10));
  EXPECT_EQ(runs_.size(), 200u);
  EXPECT_LE(store_->stats().commits - after_adds, 2u);
}

TEST_F(SchedulerLmdb, ModifiedArgumentsPersist) {
  Make();
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(AddTaskJob("m", "interval(seconds=10)", SampleArgs()).ok());
  JobChanges c;
  TaskArgs a;
  a.args = {Value("changed")};
  c.args = a;
  ASSERT_OK(s_->ModifyJob("m", std::move(c)));
  JobChanges bad;
  bad.fn = JobFunction::Bind([] {});
  EXPECT_EQ(s_->ModifyJob("m", std::move(bad)).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(s_->Shutdown());
  Make();
  ASSERT_OK(s_->Start());
  RunUntil(Instant{clock_.WallMicros() + 11 * kSecond});
  ASSERT_EQ(runs_.size(), 1u);
  EXPECT_EQ(runs_[0].args, a);
}

}  // namespace
}  // namespace aps

namespace aps {
namespace {

// AddJobAsync with a CommitHandle: the handle completes once the job is in the store; many
// async adds share group commits; a conflict comes back through the handle.
TEST_F(SchedulerLmdb, CommitHandlesCompleteWhenTheJobIsDurable) {
  Make();
  ASSERT_OK(s_->Start());
  // Another thread adds (the host's own calls apply at once); RunDue() applies them all.
  std::vector<CommitHandle> handles(100);
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) {
      JobSpec spec;
      spec.id = "async" + std::to_string(i);
      spec.task = "record";
      spec.trigger = ParseTrigger("interval(seconds=60)", Instant{kT0}).value();
      EXPECT_TRUE(s_->AddJobAsync(std::move(spec), &handles[static_cast<std::size_t>(i)]).ok());
    }
  });
  producer.join();
  EXPECT_FALSE(handles.back().Ready());  // nothing applied before RunDue()
  const std::uint64_t commits = store_->stats().commits;
  ASSERT_OK(s_->RunDue());
  EXPECT_EQ(store_->stats().commits, commits + 1);  // one group commit for the 100 adds
  for (const CommitHandle& h : handles) {
    ASSERT_TRUE(h.Ready());
    EXPECT_TRUE(h.Wait().ok());
  }
  EXPECT_TRUE(store_->LookupJob("async99")->has_value());
  // A conflict found when applied comes back through the handle.
  CommitHandle dup_handle;
  std::thread dup([&] {
    JobSpec spec;
    spec.id = "async0";
    spec.task = "record";
    EXPECT_TRUE(s_->AddJobAsync(std::move(spec), &dup_handle).ok());
  });
  dup.join();
  ASSERT_OK(s_->RunDue());
  EXPECT_EQ(dup_handle.Wait().code(), StatusCode::kAlreadyExists);
  // The host's own async add is applied and committed before the call returns.
  JobSpec own;
  own.id = "own";
  own.task = "record";
  CommitHandle own_handle;
  ASSERT_TRUE(s_->AddJobAsync(std::move(own), &own_handle).ok());
  EXPECT_TRUE(own_handle.Ready());
  EXPECT_TRUE(store_->LookupJob("own")->has_value());
  EXPECT_TRUE(CommitHandle().Wait().ok());  // an empty handle is ready
}

TEST_F(SchedulerLmdb, AFailedCommitIsReportedToTheCallerAndRetried) {
  // The store fails its next commits: the synchronous call and the handle say the change is
  // not yet durable; the job stays scheduled and reaches the store at the retry.
  s_.reset();
  SchedulerOptions o;
  o.mode = SchedulerMode::kHostDriven;
  o.clock = &clock_;
  o.jobstore_retry_interval_us = 10 * kSecond;
  s_ = std::make_unique<Scheduler>(o);
  ASSERT_OK(s_->AddExecutor("default", std::make_unique<InlineExecutor>(clock_)));
  int failures = 0;
  LmdbStoreOptions so;
  so.path = dir_ + "/store";
  so.durability = LmdbDurability::kNoSync;
  so.fault = [&failures](const char* op) {
    return std::string_view(op) == "commit" && failures > 0 ? (--failures, ENOSPC) : 0;
  };
  auto store = std::make_unique<LmdbJobStore>(so);
  store_ = store.get();
  ASSERT_OK(s_->AddJobStore("default", std::move(store)));
  ASSERT_OK(s_->AddTask("record", [](const TaskArgs&) {}));
  ASSERT_OK(s_->Start());
  failures = 1;
  Result<std::string> r = AddTaskJob("late", "interval(seconds=60)");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(std::string(r.status().message()).find("not yet durable"), std::string::npos)
      << r.status().message();
  EXPECT_NE(std::string(r.status().message()).find("No space left on device"), std::string::npos);
  EXPECT_TRUE(s_->GetJob("late").has_value());  // kept
  EXPECT_FALSE(store_->LookupJob("late")->has_value());
  RunUntil(Instant{clock_.WallMicros() + 11 * kSecond});  // the retry
  EXPECT_TRUE(store_->LookupJob("late")->has_value());
}

}  // namespace
}  // namespace aps

namespace aps {
namespace {

// At-least-once across a crash: a child process runs two one-off jobs whose runs hang; once
// both runs have started and the store shows them handed over, the child is killed. The
// at-least-once job is still stored with its interrupted run and runs again when a new
// scheduler loads the store; the at-most-once one was removed when its run was handed over.
TEST(SchedulerLmdbCrash, AnInterruptedAtLeastOnceRunRunsAgainAfterARestart) {
  std::string tmpl = (fs::temp_directory_path() / "aps-alo-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl + "/store";
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    const int out = fds[1];
    Scheduler s;
    LmdbStoreOptions so;
    so.path = dir;
    if (!s.AddJobStore("default", std::make_unique<LmdbJobStore>(so)).ok()) ::_exit(2);
    if (!s.AddTask("hang", [out](const TaskArgs&) {
            if (::write(out, "x", 1) != 1) ::_exit(3);
            ::sleep(60);
          }).ok()) {
      ::_exit(2);
    }
    if (!s.Start().ok()) ::_exit(2);
    const Instant soon{WallMicrosNow() + 20'000};
    for (const char* id : {"alo", "amo"}) {
      JobSpec spec;
      spec.id = id;
      spec.task = "hang";
      spec.trigger = ParseTrigger("date(run_date='" + FormatIsoUtc(soon) + "')", soon).value();
      spec.at_least_once = std::string_view(id) == "alo";
      if (!s.AddJob(std::move(spec)).ok()) ::_exit(4);
    }
    ::sleep(60);
    ::_exit(0);
  }
  ::close(fds[1]);
  auto kill_child = [&] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  };
  char buf[2];
  std::size_t got = 0;
  while (got < 2) {
    const ssize_t n = ::read(fds[0], buf + got, 2 - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  if (got != 2) {
    kill_child();
    FAIL() << "the child's runs did not start";
  }
  // Wait until the hand-over is committed (amo removed, alo marked in flight), then crash.
  bool handed_over = false;
  for (int i = 0; i < 500 && !handed_over; ++i) {
    LmdbStoreOptions ro;
    ro.path = dir;
    ro.read_only = true;
    LmdbJobStore r(ro);
    if (r.Start("check").ok()) {
      Result<std::optional<JobState>> alo = r.LookupJob("alo");
      Result<std::optional<JobState>> amo = r.LookupJob("amo");
      handed_over = alo.ok() && alo->has_value() && (*alo)->inflight_run.has_value() && amo.ok() &&
                    !amo->has_value();
    }
    if (!handed_over) ::usleep(10'000);
  }
  kill_child();
  ASSERT_TRUE(handed_over) << "the store never showed the runs handed over";

  SimClock clock(Deadline{0}, WallMicrosNow());
  SchedulerOptions o;
  o.mode = SchedulerMode::kHostDriven;
  o.clock = &clock;
  Scheduler s(o);
  ASSERT_OK(s.AddExecutor("default", std::make_unique<InlineExecutor>(clock)));
  LmdbStoreOptions so;
  so.path = dir;
  auto store = std::make_unique<LmdbJobStore>(so);
  LmdbJobStore* st = store.get();
  ASSERT_OK(s.AddJobStore("default", std::move(store)));
  std::vector<std::string> ran;
  ASSERT_OK(s.AddTask("hang", [&](const TaskArgs&) { ran.push_back("again"); }));
  ASSERT_OK(s.Start());
  ASSERT_TRUE(s.GetJob("alo").has_value());
  EXPECT_TRUE(s.GetJob("alo")->at_least_once);
  EXPECT_FALSE(s.GetJob("amo").has_value());
  ASSERT_OK(s.RunDue());
  EXPECT_EQ(ran.size(), 1u);                        // the interrupted run, once more
  EXPECT_TRUE(st->LookupJob("alo")->has_value());   // kept until its completion is handled
  ASSERT_OK(s.RunDue());                            // (the inline run's completion)
  EXPECT_FALSE(st->LookupJob("alo")->has_value());  // done now: its trigger is exhausted
  EXPECT_EQ(ran.size(), 1u);
  ASSERT_OK(s.Shutdown());
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

}  // namespace
}  // namespace aps

namespace aps {
namespace {

// Paging: a store far larger than the horizon. 20 000 jobs one every 43 s (ten days); with a
// 10-minute horizon about 14 are in memory at a time, whatever the store's size.
class SchedulerLmdbPaging : public SchedulerLmdb {
 protected:
  static constexpr int kJobs = 20'000;
  static constexpr std::int64_t kSpacing = 43;  // seconds between due times
  // Resident bound: the horizon's worth of jobs, plus the ones a call pages in, plus slack.
  static constexpr std::size_t kResidentBound = 600 / kSpacing + 4;

  void SetUp() override {
    LmdbStoreOptions so;
    so.path = dir_ + "/store";
    so.durability = LmdbDurability::kNoSync;
    LmdbJobStore store(so);
    ASSERT_OK(store.Start("default"));
    ASSERT_OK(store.BeginBatch());
    for (int i = 0; i < kJobs; ++i) {
      JobState j;
      j.id = "job" + std::to_string(i);
      j.name = j.id;
      j.task = "record";
      j.executor = "default";
      j.trigger = "interval(days=10, start_date='" + FormatIsoUtc(T(kSpacing * (i + 1))) +
                  "', timezone='UTC')";
      j.next_run_time = T(kSpacing * (i + 1));
      ASSERT_OK(store.AddJob(j));
    }
    ASSERT_OK(store.CommitBatch());
    store.Shutdown();
    Make();
    ASSERT_OK(s_->Start());
  }
};

TEST_F(SchedulerLmdbPaging, OnlyJobsDueWithinTheHorizonAreInMemory) {
  EXPECT_LE(s_->job_count(), kResidentBound);
  EXPECT_GE(s_->job_count(), 600 / kSpacing);
  // An hour of running: every job due in it runs once, the resident set stays bounded.
  std::size_t most = 0;
  for (std::int64_t t = 60; t <= 3600; t += 60) {
    RunUntil(T(t));
    most = std::max(most, s_->job_count());
  }
  EXPECT_LE(most, kResidentBound);
  EXPECT_EQ(runs_.size(), static_cast<std::size_t>(3600 / kSpacing));
  // Run jobs went back to the store with their next run time (ten days on) and left memory.
  Result<std::optional<JobState>> first = store_->LookupJob("job0");
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->next_run_time->us, T(kSpacing + 10 * 86'400).us);
  // Listing still shows every job, in order.
  const std::vector<JobInfo> all = s_->GetJobs();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kJobs));
  for (std::size_t i = 1; i < all.size(); ++i) {
    ASSERT_LE(all[i - 1].next_run_time->us, all[i].next_run_time->us) << i;
  }
}

TEST_F(SchedulerLmdbPaging, CallsByIdReachJobsThatAreOnlyInTheStore) {
  const std::size_t resident = s_->job_count();
  // job10000 is due in about five days: not in memory.
  std::optional<JobInfo> far = s_->GetJob("job10000");
  ASSERT_TRUE(far.has_value());
  EXPECT_EQ(far->next_run_time->us, T(kSpacing * 10'001).us);
  JobChanges rename;
  rename.name = "renamed";
  ASSERT_OK(s_->ModifyJob("job10000", std::move(rename)));
  EXPECT_EQ((*store_->LookupJob("job10000"))->name, "renamed");
  ASSERT_OK(s_->PauseJob("job10001"));
  EXPECT_FALSE((*store_->LookupJob("job10001"))->next_run_time.has_value());
  Result<bool> resumed = s_->ResumeJob("job10001");
  ASSERT_TRUE(resumed.ok() && *resumed);
  ASSERT_OK(s_->RemoveJob("job10002"));
  EXPECT_FALSE(store_->LookupJob("job10002")->has_value());
  EXPECT_EQ(s_->RemoveJob("job10002").code(), StatusCode::kNotFound);
  // A duplicate of a job that is only in the store is still a conflict.
  EXPECT_EQ(AddTaskJob("job15000", "interval(seconds=5)").status().code(),
            StatusCode::kAlreadyExists);
  // A new job far ahead goes to the store and does not stay in memory.
  ASSERT_TRUE(AddTaskJob("later", "interval(days=30)").ok());
  EXPECT_TRUE(store_->LookupJob("later")->has_value());
  EXPECT_LE(s_->job_count(), resident + 1);  // what the calls paged in has left again
  RunUntil(T(120));
  EXPECT_LE(s_->job_count(), kResidentBound);
}

TEST_F(SchedulerLmdbPaging, RemoveAllJobsEmptiesTheStore) {
  ASSERT_OK(s_->RemoveAllJobs());
  EXPECT_EQ(*store_->Count(), 0u);
  EXPECT_EQ(s_->job_count(), 0u);
  EXPECT_TRUE(s_->GetJobs().empty());
}

TEST_F(SchedulerLmdbPaging, HorizonZeroLoadsEverything) {
  ASSERT_OK(s_->Shutdown());
  s_.reset();
  SchedulerOptions o;
  o.mode = SchedulerMode::kHostDriven;
  o.clock = &clock_;
  o.store_horizon_us = 0;
  s_ = std::make_unique<Scheduler>(o);
  ASSERT_OK(s_->AddExecutor("default", std::make_unique<InlineExecutor>(clock_)));
  LmdbStoreOptions so;
  so.path = dir_ + "/store";
  ASSERT_OK(s_->AddJobStore("default", std::make_unique<LmdbJobStore>(so)));
  ASSERT_OK(s_->AddTask("record", [](const TaskArgs&) {}));
  ASSERT_OK(s_->Start());
  EXPECT_EQ(s_->job_count(), static_cast<std::size_t>(kJobs));
}

}  // namespace
}  // namespace aps

namespace aps {
namespace {

// Several persistent stores on one scheduler, by alias: each keeps its own jobs.
TEST_F(SchedulerLmdb, SeveralStoresAttachByAlias) {
  auto make = [&] {
    Make();
    LmdbStoreOptions so;
    so.path = dir_ + "/second";
    so.durability = LmdbDurability::kNoSync;
    ASSERT_OK(s_->AddJobStore("second", std::make_unique<LmdbJobStore>(so)));
  };
  make();
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(AddTaskJob("in-default", "interval(seconds=10)").ok());
  JobSpec spec;
  spec.jobstore = "second";
  ASSERT_TRUE(AddTaskJob("in-second", "interval(seconds=10)", {}, std::move(spec)).ok());
  ASSERT_OK(s_->Shutdown());
  make();
  ASSERT_OK(s_->Start());
  const std::vector<JobInfo> second = s_->GetJobs("second");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, "in-second");
  EXPECT_EQ(second[0].jobstore, "second");
  EXPECT_TRUE(store_->LookupJob("in-default")->has_value());
  EXPECT_FALSE(store_->LookupJob("in-second")->has_value());
  RunUntil(Instant{clock_.WallMicros() + 11 * kSecond});
  EXPECT_EQ(runs_.size(), 2u);
}

}  // namespace
}  // namespace aps

namespace aps {
namespace {

// A flood of async adds is committed in bounded groups: a caller waiting behind it waits for
// one group's commit, not for the whole flood.
TEST_F(SchedulerLmdb, AFloodOfAddsCommitsInBoundedGroups) {
  Make();
  ASSERT_OK(s_->Start());
  std::vector<CommitHandle> handles(10'000);
  std::thread producer([&] {
    for (std::size_t i = 0; i < handles.size(); ++i) {
      JobSpec spec;
      spec.id = "f" + std::to_string(i);
      spec.task = "record";
      spec.trigger = ParseTrigger("interval(hours=1)", Instant{kT0}).value();
      EXPECT_TRUE(s_->AddJobAsync(std::move(spec), &handles[i]).ok());
    }
  });
  producer.join();
  const std::uint64_t commits = store_->stats().commits;
  ASSERT_OK(s_->RunDue());
  EXPECT_EQ(store_->stats().commits - commits, 3u);  // 4096 + 4096 + 1808
  for (const CommitHandle& h : handles) ASSERT_TRUE(h.Ready() && h.Wait().ok());
  EXPECT_EQ(*store_->Count(), handles.size());
}

}  // namespace
}  // namespace aps
