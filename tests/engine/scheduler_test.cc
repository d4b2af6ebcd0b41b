// Scheduler: the state machine, pending jobs, every job operation, runs and events, misfire
// grace and coalescing (APScheduler's _process_jobs and executor run_job, spec A8-A12 and E6),
// max_instances with both policies, missing executors, wall-clock steps and suspends, and the
// three modes (host-driven, background, blocking).
//
// Time is simulated. Most tests drive a kHostDriven scheduler on a SimClock with an
// InlineExecutor as "default": the test is the host, RunUntil() advances the clock exactly to
// each NextDeadline() and calls RunDue(), so a job runs inside RunDue() and sees the wall time
// of its fire time. Runs that must stay "in progress" go to a HeldExecutor, which keeps them
// until the test completes them. Background and blocking tests step the SimClock only after
// SimClock::WaitForSleepers() says the scheduler thread has parked. A few tests at the end use
// the real clock with generous bounds; they wait for events, never for time to pass. Two tests
// run in a child process (EXPECT_EXIT) so that an abort or a hang of the scheduler fails only
// them. Built with -fno-rtti (tests/engine/CMakeLists.txt): HeldExecutor derives from
// aps::Executor, whose typeinfo the -fno-rtti core does not emit.
#include "engine/scheduler.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/date_trigger.h"
#include "engine/datetime.h"
#include "engine/events.h"
#include "engine/executor.h"
#include "engine/job_function.h"
#include "engine/log.h"
#include "engine/trigger_text.h"
#include "platform/clock.h"
#include "platform/fake/sim_clock.h"
#include "stores/memory_store.h"
#include "tests/status_macros.h"
#include "tests/stress/scheduler_stress.h"

namespace aps {

// Readable instants in gtest messages.
void PrintTo(const Instant& t, std::ostream* os) { *os << FormatIsoUtc(t); }

namespace {

using platform::Deadline;
using platform::Delay;
using platform::SimClock;
using namespace std::chrono_literals;

constexpr std::int64_t kSecond = 1'000'000;
constexpr std::int64_t kHour = 3600 * kSecond;
constexpr std::int64_t kT0 = 1'704'067'200 * kSecond;  // 2024-01-01 00:00:00 UTC, a Monday

// T(s): s seconds after 2024-01-01 00:00:00 UTC.
constexpr Instant T(std::int64_t seconds) { return Instant{kT0 + seconds * kSecond}; }

// ---- Log capture ----------------------------------------------------------------------------
//
// Installed once for the whole binary (SetLogHandler is init-only); each fixture clears it.

std::mutex g_log_mu;
std::vector<std::string> g_logs;

void CaptureLog(LogLevel level, const char* message) {
  static const char* const kNames[] = {"debug", "info", "warning", "error"};
  std::lock_guard<std::mutex> lk(g_log_mu);
  if (g_logs.size() < 100'000) {
    g_logs.push_back(std::string(kNames[static_cast<int>(level)]) + ": " + message);
  }
}

class LogEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { SetLogHandler(&CaptureLog); }
  void TearDown() override { SetLogHandler(nullptr); }
};
const auto* const g_log_env = ::testing::AddGlobalTestEnvironment(new LogEnvironment);

void ClearLogs() {
  std::lock_guard<std::mutex> lk(g_log_mu);
  g_logs.clear();
}

// True when a captured log line equals `line` ("error: Executor lookup ...").
bool Logged(std::string_view line) {
  std::lock_guard<std::mutex> lk(g_log_mu);
  return std::find(g_logs.begin(), g_logs.end(), line) != g_logs.end();
}

std::string AllLogs() {
  std::lock_guard<std::mutex> lk(g_log_mu);
  std::string out;
  for (const std::string& l : g_logs) out += "  " + l + "\n";
  return out;
}

// ---- Events ---------------------------------------------------------------------------------

// Every event a listener saw, in order. Thread-safe; WaitFor() blocks (real time) for one.
class EventLog {
 public:
  void Record(const Event& e) {
    std::lock_guard<std::mutex> lk(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  std::vector<Event> All() const {
    std::lock_guard<std::mutex> lk(mu_);
    return events_;
  }
  void Clear() {
    std::lock_guard<std::mutex> lk(mu_);
    events_.clear();
  }
  // Events whose code is in `mask` (and whose job id is `job_id`, when given).
  std::vector<Event> Of(std::uint32_t mask, std::string_view job_id = {}) const {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<Event> out;
    for (const Event& e : events_) {
      if ((e.code & mask) != 0 && (job_id.empty() || e.job_id == job_id)) out.push_back(e);
    }
    return out;
  }
  // Their names, for readable comparisons.
  std::vector<std::string> Names(std::uint32_t mask = kEventAll,
                                 std::string_view job_id = {}) const {
    std::vector<std::string> out;
    for (const Event& e : Of(mask, job_id)) out.push_back(EventName(e.code));
    return out;
  }
  std::size_t Count(std::uint32_t mask, std::string_view job_id = {}) const {
    return Of(mask, job_id).size();
  }
  // The scheduled_run_time of each JOB_EXECUTED / JOB_ERROR / JOB_MISSED event of `job_id`.
  std::vector<Instant> RunTimes(std::uint32_t code, std::string_view job_id) const {
    std::vector<Instant> out;
    for (const Event& e : Of(code, job_id)) out.push_back(e.scheduled_run_time.value_or(Instant{}));
    return out;
  }
  // Blocks until an event with `code` (of `job_id`, when given) has been recorded, or `timeout`
  // of real time passed (a failure: only a broken scheduler gets there).
  bool WaitFor(std::uint32_t code, std::string_view job_id = {},
               std::chrono::milliseconds timeout = 20s) const {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] {
      for (const Event& e : events_) {
        if (e.code == code && (job_id.empty() || e.job_id == job_id)) return true;
      }
      return false;
    });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Event> events_;
};

// Index of the first event named `name` in `names`, or -1.
int IndexOf(const std::vector<std::string>& names, std::string_view name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

// ---- Triggers and specs -----------------------------------------------------------------------

std::unique_ptr<Trigger> Trig(std::string_view text, Instant now) {
  Result<std::unique_ptr<Trigger>> t = ParseTrigger(text, now);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().message();
  if (!t.ok()) return DateTrigger::Create(kMaxInstant, nullptr).value();  // never fires
  return std::move(t).value();
}

JobSpec Spec(std::string id) {
  JobSpec s;
  s.id = std::move(id);
  return s;
}

// ---- HeldExecutor -----------------------------------------------------------------------------
//
// Keeps every submitted run until the test calls RunNext() (runs the oldest, on the calling
// thread, which must be the scheduler thread: the host in host-driven mode). Its runs stay "in
// progress" for the scheduler's max_instances accounting for as long as the test likes.
class HeldExecutor final : public Executor {
 public:
  explicit HeldExecutor(platform::Clock& clock) noexcept : Executor(clock) {}
  ~HeldExecutor() override { Shutdown(/*wait=*/false); }
  const char* kind() const noexcept override { return "held"; }

  std::size_t held() const { return held_.size(); }
  // Flush() calls seen, and how many more of them report runs not yet handed over (as a thread
  // pool does when its queue's blocks are pinned).
  int flushes = 0;
  int refuse_flushes = 0;
  void RunNext() {
    ASSERT_FALSE(held_.empty());
    const RunRequest r = held_.front();
    held_.pop_front();
    RunAndComplete(producer_, r);
  }

 private:
  Status DoStart() override { return NewCompletionProducer(&producer_); }
  Status DoSubmit(const RunRequest& request, bool) noexcept override {
    held_.push_back(request);
    return OkStatus();
  }
  bool DoFlush() noexcept override {
    ++flushes;
    if (refuse_flushes == 0) return true;
    --refuse_flushes;
    return false;
  }
  void DoShutdown(bool wait) noexcept override {
    while (!held_.empty()) {
      const RunRequest r = held_.front();
      held_.pop_front();
      if (wait) {
        RunAndComplete(producer_, r);
      } else {
        DropAndComplete(producer_, r);
      }
    }
    producer_ = CompletionQueue::Producer();
  }

  CompletionQueue::Producer producer_;
  std::deque<RunRequest> held_;
};

// A memory store whose Start() fails.
class FailingStartStore final : public JobStore {
 public:
  Status Start(std::string_view) override {
    return Status(StatusCode::kUnavailable, "store is down");
  }
  void Shutdown() override {}
  bool persistent() const override { return false; }
  Result<std::optional<JobState>> LookupJob(std::string_view id) const override {
    return mem_.LookupJob(id);
  }
  Status GetDueJobs(Instant now, std::vector<JobState>* out) const override {
    return mem_.GetDueJobs(now, out);
  }
  Result<std::optional<Instant>> GetNextRunTime() const override { return mem_.GetNextRunTime(); }
  Status GetAllJobs(std::vector<JobState>* out) const override { return mem_.GetAllJobs(out); }
  Status AddJob(const JobState& job) override { return mem_.AddJob(job); }
  Status UpdateJob(const JobState& job) override { return mem_.UpdateJob(job); }
  Status RemoveJob(std::string_view id) override { return mem_.RemoveJob(id); }
  Status RemoveAllJobs() override { return mem_.RemoveAllJobs(); }

 private:
  MemoryJobStore mem_;
};

// ---- The host-driven fixture
// ---------------------------------------------------------------------

class HostDriven : public ::testing::Test {
 protected:
  HostDriven() : clock_(Deadline{0}, kT0) {}

  void SetUp() override { Make(SchedulerOptions{}); }

  // (Re)creates the scheduler: host-driven on clock_, an InlineExecutor as "default", a
  // listener recording every event into events_.
  void Make(SchedulerOptions options) {
    if (s_ && s_->state() != SchedulerState::kStopped) EXPECT_OK(s_->Shutdown());
    s_.reset();
    options.mode = SchedulerMode::kHostDriven;
    options.clock = &clock_;
    s_ = std::make_unique<Scheduler>(std::move(options));
    auto ex = std::make_unique<InlineExecutor>(clock_);
    inline_ = ex.get();
    ASSERT_OK(s_->AddExecutor("default", std::move(ex)));
    s_->AddListener([this](const Event& e) { events_.Record(e); });
    events_.Clear();
    ClearLogs();
  }

  // Clean teardown: stopped, no run in progress, no parked waiter once the scheduler is gone.
  void TearDown() override {
    if (s_->state() != SchedulerState::kStopped) EXPECT_OK(s_->Shutdown());
    EXPECT_EQ(s_->state(), SchedulerState::kStopped);
    EXPECT_EQ(inline_->running(), 0u);
    s_.reset();
    EXPECT_EQ(clock_.SleepingWaiters(), 0);
  }

  Instant Now() const { return Instant{clock_.WallMicros()}; }

  // (A spec naming a task runs the task; `fn` is then unused.)
  std::string Add(JobFunction fn, std::string_view trigger, JobSpec spec) {
    if (spec.task.empty()) spec.fn = std::move(fn);
    spec.trigger = Trig(trigger, Now());
    Result<std::string> id = s_->AddJob(std::move(spec));
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : std::string();
  }
  // A job that appends the wall time of each of its runs to `walls`.
  std::string AddRecorder(std::vector<Instant>* walls, std::string_view trigger, JobSpec spec) {
    return Add(JobFunction::Bind([this, walls] { walls->push_back(Now()); }), trigger,
               std::move(spec));
  }

  // Drives the scheduler as a host does: sleep (advance the SimClock) exactly to each deadline
  // NextDeadline() names, then RunDue(); never past `wall`, where it ends after a last RunDue().
  // NextDeadline() answering "now" 1000 times in a row without the clock moving is a livelock
  // (RunDue() does not do what NextDeadline() asks for): reported, not spun on.
  void RunUntil(Instant wall, int max_iterations = 2'000'000) {
    int now_answers = 0;
    for (int i = 0; i < max_iterations; ++i) {
      const std::optional<Deadline> d = s_->NextDeadline();
      const Deadline mono = clock_.Now();
      const std::int64_t wall_now = clock_.WallMicros();
      if (d && *d <= mono) {  // something to do now
        if (++now_answers > 1000) {
          ADD_FAILURE() << "livelock at " << FormatIsoUtc(Now())
                        << ": NextDeadline() keeps answering now, RunDue() does nothing";
          return;
        }
        ASSERT_OK(s_->RunDue());
        continue;
      }
      now_answers = 0;
      if (wall_now >= wall.us) return;
      if (!d || wall_now + (d->ns - mono.ns) / 1000 > wall.us) {
        clock_.Advance(Delay::Micros(wall.us - wall_now));
      } else {
        clock_.AdvanceTo(*d);
      }
      ASSERT_OK(s_->RunDue());
    }
    ADD_FAILURE() << "RunUntil(" << FormatIsoUtc(wall) << ") made no progress";
  }
  // Handles whatever is pending now (as a host that follows NextDeadline() does).
  void Settle() { RunUntil(Now()); }
  // One RunDue() now: also delivers the events of calls the host made outside RunDue() (which
  // a host following NextDeadline() alone may not get promptly; see
  // AHostFollowingNextDeadlineGetsTheEventsOfItsOwnCallsPromptly).
  void Flush() { ASSERT_OK(s_->RunDue()); }

  SimClock clock_;
  EventLog events_;
  InlineExecutor* inline_ = nullptr;  // owned by s_
  std::unique_ptr<Scheduler> s_;
};

// =============================================================================================
// State machine (spec A8.3)
// =============================================================================================

class SchedulerStateMachine : public HostDriven {};

TEST_F(SchedulerStateMachine, StartingTwiceFailsBecauseTheSchedulerIsAlreadyRunning) {
  ASSERT_OK(s_->Start());
  EXPECT_EQ(s_->state(), SchedulerState::kRunning);
  Status st = s_->Start();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_STREQ(st.message(), "Scheduler is already running");
  ASSERT_OK(s_->Pause());
  st = s_->Start();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_STREQ(st.message(), "Scheduler is already running");
  EXPECT_EQ(s_->state(), SchedulerState::kPaused);
}

TEST_F(SchedulerStateMachine, ShutdownPauseAndResumeFailWhenTheSchedulerIsNotRunning) {
  for (int round = 0; round < 2; ++round) {  // before the first start, and after a shutdown
    for (Status st : {s_->Shutdown(), s_->Shutdown(false), s_->Pause(), s_->Resume()}) {
      EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
      EXPECT_STREQ(st.message(), "Scheduler is not running");
    }
    const Status run = s_->RunDue();
    EXPECT_EQ(run.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(s_->state(), SchedulerState::kStopped);
    if (round == 0) {
      ASSERT_OK(s_->Start());
      ASSERT_OK(s_->Shutdown());
    }
  }
}

TEST_F(SchedulerStateMachine, PauseAndResumeEmitEventsOnlyWhenTheStateChanges) {
  ASSERT_OK(s_->Start());
  ASSERT_OK(s_->RunDue());
  events_.Clear();
  ASSERT_OK(s_->Resume());  // running: no-op
  ASSERT_OK(s_->Pause());
  EXPECT_EQ(s_->state(), SchedulerState::kPaused);
  ASSERT_OK(s_->Pause());  // paused: no-op
  ASSERT_OK(s_->RunDue());
  ASSERT_OK(s_->Resume());
  EXPECT_EQ(s_->state(), SchedulerState::kRunning);
  ASSERT_OK(s_->Resume());
  ASSERT_OK(s_->RunDue());
  EXPECT_EQ(events_.Names(), (std::vector<std::string>{"SCHEDULER_PAUSED", "SCHEDULER_RESUMED"}));
}

TEST_F(SchedulerStateMachine, ExecutorsAndJobStoresCannotBeAddedOrRemovedWhileRunning) {
  ASSERT_OK(s_->Start(/*paused=*/true));  // paused counts as running
  for (int round = 0; round < 2; ++round) {
    for (Status st : {s_->AddExecutor("x", std::make_unique<InlineExecutor>(clock_)),
                      s_->AddJobStore("x", std::make_unique<MemoryJobStore>()),
                      s_->RemoveExecutor("default"), s_->RemoveJobStore("default")}) {
      EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
      EXPECT_STREQ(st.message(), "Scheduler is already running");
    }
    ASSERT_OK(s_->Resume());
  }
}

TEST_F(SchedulerStateMachine, DuplicateAndUnknownAliasesAreRejectedWithApschedulersMessages) {
  Status st = s_->AddExecutor("default", std::make_unique<InlineExecutor>(clock_));
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_STREQ(st.message(), "This scheduler already has an executor by the alias of \"default\"");
  ASSERT_OK(s_->AddJobStore("mem", std::make_unique<MemoryJobStore>()));
  st = s_->AddJobStore("mem", std::make_unique<MemoryJobStore>());
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_STREQ(st.message(), "This scheduler already has a job store by the alias of \"mem\"");
  st = s_->RemoveExecutor("x");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_STREQ(st.message(), "No such executor: x");
  st = s_->RemoveJobStore("x");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_STREQ(st.message(), "No such job store: x");
  EXPECT_EQ(s_->AddExecutor("null", nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s_->AddJobStore("null", nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_OK(s_->RemoveJobStore("mem"));
  EXPECT_OK(s_->AddJobStore("mem", std::make_unique<MemoryJobStore>()));  // the alias is free
}

TEST(SchedulerDefaults, StartCreatesTheDefaultExecutorAndStoreAndAnnouncesThemBeforeStarted) {
  SimClock clock(Deadline{0}, kT0);
  SchedulerOptions o;
  o.mode = SchedulerMode::kHostDriven;
  o.clock = &clock;
  o.default_executor_threads = 2;  // a real thread pool, on the simulated clock
  EventLog events;
  {
    Scheduler s(o);
    s.AddListener([&](const Event& e) { events.Record(e); });
    ASSERT_OK(s.Start());
    const std::vector<Event> all = events.All();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].code, kEventExecutorAdded);
    EXPECT_EQ(all[0].alias, "default");
    EXPECT_EQ(all[1].code, kEventJobstoreAdded);
    EXPECT_EQ(all[1].alias, "default");
    EXPECT_EQ(all[2].code, kEventSchedulerStarted);
    // The created pool runs jobs.
    std::atomic<int> runs{0};
    clock.Advance(Delay::Seconds(1));
    JobSpec spec = Spec("j");
    spec.fn = JobFunction::Bind([&] { runs.fetch_add(1); });
    spec.next_run_time = NextRunTime::Now();
    ASSERT_TRUE(s.AddJob(std::move(spec)).ok());
    ASSERT_OK(s.RunDue());
    ASSERT_OK(s.Shutdown(/*wait=*/true));
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(events.Names(kEventSchedulerShutdown).size(), 1u);
    // A second start finds the defaults: nothing is announced again.
    events.Clear();
    ASSERT_OK(s.Start());
    EXPECT_EQ(events.Names(), (std::vector<std::string>{"SCHEDULER_STARTED"}));
    ASSERT_OK(s.Shutdown());
  }
  EXPECT_EQ(clock.SleepingWaiters(), 0);
}

TEST_F(SchedulerStateMachine, StartPausedRunsNothingUntilResumed) {
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  ASSERT_OK(s_->Start(/*paused=*/true));
  EXPECT_EQ(s_->state(), SchedulerState::kPaused);
  EXPECT_EQ(s_->NextDeadline(), std::nullopt);  // paused: nothing to wake for
  clock_.Advance(Delay::Seconds(25));
  ASSERT_OK(s_->RunDue());
  EXPECT_TRUE(walls.empty());
  ASSERT_OK(s_->Resume());
  RunUntil(T(30));
  // The backlog of 10 s and 20 s is coalesced into one run at resume, then 30 s on time.
  EXPECT_EQ(walls, (std::vector<Instant>{T(25), T(30)}));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(20), T(30)}));
}

TEST_F(SchedulerStateMachine, ShutdownEmitsSchedulerShutdownAndTheMemoryStoreKeepsItsJobs) {
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  ASSERT_OK(s_->Start());
  RunUntil(T(10));
  ASSERT_OK(s_->Shutdown());
  EXPECT_EQ(s_->state(), SchedulerState::kStopped);
  EXPECT_EQ(events_.Names(kEventSchedulerShutdown).size(), 1u);
  // Stopped: the job is still there (not pending: it was scheduled), with its next run time.
  std::vector<JobInfo> jobs = s_->GetJobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, "j");
  EXPECT_FALSE(jobs[0].pending);
  EXPECT_EQ(jobs[0].next_run_time, T(20));
  events_.Clear();
  clock_.Advance(Delay::Seconds(5));
  ASSERT_OK(s_->Start());
  EXPECT_EQ(events_.Count(kEventJobAdded), 0u);  // not added again
  RunUntil(T(30));
  EXPECT_EQ(walls, (std::vector<Instant>{T(10), T(20), T(30)}));
}

TEST(SchedulerStartFailure, AJobStoreThatFailsToStartLeavesTheSchedulerStoppedAndStartable) {
  // In a child process: a scheduler that leaves its executors started aborts when destroyed.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        int failures = 0;
        auto check = [&](bool ok, const char* what) {
          if (!ok) {
            std::fprintf(stderr, "FAILED: %s\n", what);
            ++failures;
          }
        };
        {
          SimClock clock(Deadline{0}, kT0);
          SchedulerOptions o;
          o.mode = SchedulerMode::kHostDriven;
          o.clock = &clock;
          Scheduler s(o);
          check(s.AddExecutor("default", std::make_unique<InlineExecutor>(clock)).ok(), "add");
          check(s.AddJobStore("bad", std::make_unique<FailingStartStore>()).ok(), "add store");
          const Status st = s.Start();
          check(st.code() == StatusCode::kUnavailable, "Start() reports the store's error");
          check(s.state() == SchedulerState::kStopped, "stopped after the failed Start()");
          check(s.RemoveJobStore("bad").ok(), "remove the broken store");
          const Status again = s.Start();
          if (!again.ok()) std::fprintf(stderr, "second Start(): %s\n", again.message());
          check(again.ok(), "a second Start() succeeds");
          if (s.state() != SchedulerState::kStopped) check(s.Shutdown().ok(), "Shutdown()");
        }
        std::fprintf(stderr, "child done\n");
        std::_Exit(failures == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "child done");
}

// =============================================================================================
// Pending jobs (added before Start)
// =============================================================================================

class SchedulerPendingJobs : public HostDriven {};

TEST_F(SchedulerPendingJobs, JobsAddedBeforeStartArePendingAndPrintedAsApschedulerDoes) {
  EXPECT_EQ(s_->PrintJobs(), "Pending jobs:\n    No pending jobs\n");
  JobSpec a = Spec("1");
  a.name = "hello";
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", std::move(a));
  JobSpec b = Spec("2");
  b.name = "cronjob";
  Add(JobFunction::Bind([] {}), "cron(hour='3')", std::move(b));
  EXPECT_EQ(s_->PrintJobs(),
            "Pending jobs:\n"
            "    hello (trigger: interval[0:00:30], pending)\n"
            "    cronjob (trigger: cron[hour='3'], pending)\n");
  const std::vector<JobInfo> jobs = s_->GetJobs();
  ASSERT_EQ(jobs.size(), 2u);
  for (const JobInfo& j : jobs) {
    EXPECT_TRUE(j.pending) << j.id;
    EXPECT_EQ(j.next_run_time, std::nullopt) << j.id;
    EXPECT_EQ(j.jobstore, "default");
    EXPECT_EQ(j.executor, "default");
  }
  ASSERT_TRUE(s_->GetJob("2").has_value());
  EXPECT_EQ(s_->GetJob("2")->trigger, "cron[hour='3']");
  EXPECT_EQ(s_->job_count(), 2u);
  EXPECT_EQ(events_.Count(kEventAll), 0u);  // JOB_ADDED only once stored
}

TEST_F(SchedulerPendingJobs, StartSchedulesThemAndEmitsJobAddedBeforeSchedulerStarted) {
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("a"));
  Add(JobFunction::Bind([] {}), "cron(hour='3')", Spec("b"));
  JobSpec at = Spec("c");
  at.next_run_time = NextRunTime::At(T(5));
  Add(JobFunction::Bind([] {}), "interval(hours=1)", std::move(at));
  JobSpec paused = Spec("d");
  paused.next_run_time = NextRunTime::Paused();
  Add(JobFunction::Bind([] {}), "interval(hours=1)", std::move(paused));
  clock_.Advance(Delay::Seconds(1));  // first run times are computed at Start()
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(s_->GetJob("a").has_value());
  EXPECT_FALSE(s_->GetJob("a")->pending);
  EXPECT_EQ(s_->GetJob("a")->next_run_time, T(30));  // the trigger's start: its creation + 30 s
  EXPECT_EQ(s_->GetJob("b")->next_run_time, T(3 * 3600));
  EXPECT_EQ(s_->GetJob("c")->next_run_time, T(5));
  EXPECT_EQ(s_->GetJob("d")->next_run_time, std::nullopt);
  const std::vector<std::string> names = events_.Names();
  ASSERT_EQ(names.size(), 6u) << ::testing::PrintToString(names);
  EXPECT_EQ(names.front(), "JOBSTORE_ADDED");  // the default store, created at Start()
  EXPECT_EQ(names.back(), "SCHEDULER_STARTED");
  EXPECT_EQ(events_.Count(kEventJobAdded), 4u);
  for (const Event& e : events_.Of(kEventJobAdded)) EXPECT_EQ(e.alias, "default");
}

TEST_F(SchedulerPendingJobs,
       APendingJobNamingAMissingStoreMakesStartFailAndTheSchedulerStaysStopped) {
  JobSpec spec = Spec("lost");
  spec.jobstore = "nope";
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", std::move(spec));  // not checked yet
  const Status st = s_->Start();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(std::string(st.message()).find("No such job store: nope"), std::string::npos)
      << st.message();
  EXPECT_EQ(s_->state(), SchedulerState::kStopped);
  EXPECT_EQ(events_.Count(kEventSchedulerStarted | kEventJobAdded), 0u);
  ASSERT_TRUE(s_->GetJob("lost").has_value());
  EXPECT_TRUE(s_->GetJob("lost")->pending);
  ASSERT_OK(s_->RemoveJob("lost"));
  EXPECT_OK(s_->Start());
}

TEST_F(SchedulerPendingJobs, ADuplicatePendingIdIsRejectedWhenAdded) {
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("x"));
  JobSpec dup = Spec("x");
  dup.fn = JobFunction::Bind([] {});
  const Result<std::string> r = s_->AddJob(std::move(dup));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_STREQ(r.status().message(), "Job identifier (x) conflicts with an existing job");
  EXPECT_OK(s_->Start());
  EXPECT_EQ(s_->job_count(), 1u);
}

TEST_F(SchedulerPendingJobs, PendingJobsCanBeModifiedRemovedAndClearedWithSynchronousEvents) {
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("a"));
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("b"));
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("c"));
  JobChanges c;
  c.name = "renamed";
  ASSERT_OK(s_->ModifyJob("a", std::move(c)));
  EXPECT_EQ(s_->GetJob("a")->name, "renamed");
  ASSERT_OK(s_->RemoveJob("b"));
  EXPECT_EQ(s_->GetJob("b"), std::nullopt);
  ASSERT_OK(s_->RemoveAllJobs());
  EXPECT_EQ(s_->job_count(), 0u);
  const std::vector<Event> all = events_.All();  // delivered before each call returned
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].code, kEventJobModified);
  EXPECT_EQ(all[0].job_id, "a");
  EXPECT_EQ(all[0].alias, "");  // APScheduler: jobstore None for a pending job
  EXPECT_EQ(all[1].code, kEventJobRemoved);
  EXPECT_EQ(all[1].job_id, "b");
  EXPECT_EQ(all[2].code, kEventAllJobsRemoved);
}

TEST_F(SchedulerPendingJobs, ConcurrentCallsWhileStoppedLoseNoEvent) {
  constexpr int kThreads = 4;
  constexpr int kCalls = 300;
  for (int t = 0; t < kThreads; ++t) {
    Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("j" + std::to_string(t)));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kCalls; ++i) {
        JobChanges c;
        c.name = "n" + std::to_string(i);
        EXPECT_OK(s_->ModifyJob("j" + std::to_string(t), std::move(c)));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(events_.Count(kEventJobModified), static_cast<std::size_t>(kThreads * kCalls));
}

// =============================================================================================
// AddJob (spec A8.4)
// =============================================================================================

class SchedulerAddJob : public HostDriven {};

TEST_F(SchedulerAddJob, GeneratedIdsAreUniqueHexStrings) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(Add(JobFunction::Bind([] {}), "cron(hour='3')", {}));
  ASSERT_OK(s_->Start());
  for (int i = 0; i < 2000; ++i) ids.insert(Add(JobFunction::Bind([] {}), "cron(hour='3')", {}));
  EXPECT_EQ(ids.size(), 2050u);
  EXPECT_EQ(s_->job_count(), 2050u);
  for (const std::string& id : ids) {
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  // The name defaults to the id.
  EXPECT_EQ(s_->GetJob(*ids.begin())->name, *ids.begin());
}

TEST_F(SchedulerAddJob, ADuplicateIdFailsWithApschedulersConflictMessage) {
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("x"));
  JobSpec dup = Spec("x");
  dup.fn = JobFunction::Bind([] {});
  const Result<std::string> r = s_->AddJob(std::move(dup));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_STREQ(r.status().message(), "Job identifier (x) conflicts with an existing job");
  EXPECT_EQ(s_->job_count(), 1u);
}

TEST_F(SchedulerAddJob, ReplaceExistingReplacesTheJob) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> old_runs, new_runs;
  AddRecorder(&old_runs, "interval(seconds=10)", Spec("x"));
  JobSpec spec = Spec("x");
  spec.replace_existing = true;
  spec.name = "replacement";
  AddRecorder(&new_runs, "interval(seconds=20)", std::move(spec));
  EXPECT_EQ(s_->job_count(), 1u);
  const std::optional<JobInfo> info = s_->GetJob("x");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->name, "replacement");
  EXPECT_EQ(info->trigger, "interval[0:00:20]");
  EXPECT_EQ(info->next_run_time, T(20));
  RunUntil(T(40));
  EXPECT_TRUE(old_runs.empty());
  EXPECT_EQ(new_runs, (std::vector<Instant>{T(20), T(40)}));
  EXPECT_EQ(events_.Count(kEventJobAdded, "x"), 2u);
  EXPECT_EQ(events_.Count(kEventJobRemoved, "x"), 0u);
}

TEST_F(SchedulerAddJob, NextRunTimeNowPausedAtAndFromTriggerChooseTheFirstRun) {
  ASSERT_OK(s_->Start());
  clock_.Advance(Delay::Seconds(3));
  std::vector<Instant> now_runs, paused_runs, at_runs, trigger_runs;
  JobSpec now = Spec("now");
  now.next_run_time = NextRunTime::Now();
  AddRecorder(&now_runs, "interval(hours=1)", std::move(now));
  JobSpec paused = Spec("paused");
  paused.next_run_time = NextRunTime::Paused();
  AddRecorder(&paused_runs, "interval(seconds=1)", std::move(paused));
  JobSpec at = Spec("at");
  at.next_run_time = NextRunTime::At(T(100));
  AddRecorder(&at_runs, "interval(hours=1)", std::move(at));
  AddRecorder(&trigger_runs, "interval(seconds=60)", Spec("trigger"));
  EXPECT_EQ(s_->GetJob("now")->next_run_time, T(3));
  EXPECT_EQ(s_->GetJob("paused")->next_run_time, std::nullopt);
  EXPECT_EQ(s_->GetJob("at")->next_run_time, T(100));
  EXPECT_EQ(s_->GetJob("trigger")->next_run_time, T(63));
  RunUntil(T(120));
  EXPECT_EQ(now_runs, (std::vector<Instant>{T(3)}));
  EXPECT_TRUE(paused_runs.empty());
  EXPECT_EQ(at_runs, (std::vector<Instant>{T(100)}));
  EXPECT_EQ(trigger_runs, (std::vector<Instant>{T(63)}));
  // After the explicit first run, the trigger takes over from that run time.
  EXPECT_EQ(s_->GetJob("at")->next_run_time, T(100 + 3600));
}

TEST_F(SchedulerAddJob, WithoutATriggerTheJobRunsOnceNowAndIsRemoved) {
  ASSERT_OK(s_->Start());
  clock_.Advance(Delay::Seconds(7));
  std::vector<Instant> walls;
  JobSpec spec = Spec("once");
  spec.fn = JobFunction::Bind([&] { walls.push_back(Now()); });
  ASSERT_TRUE(s_->AddJob(std::move(spec)).ok());
  EXPECT_EQ(s_->GetJob("once")->next_run_time, T(7));
  EXPECT_EQ(s_->GetJob("once")->trigger, "date[2024-01-01 00:00:07 UTC]");
  RunUntil(T(60));
  EXPECT_EQ(walls, (std::vector<Instant>{T(7)}));
  EXPECT_EQ(s_->job_count(), 0u);
  EXPECT_EQ(events_.Count(kEventJobRemoved, "once"), 1u);
}

TEST_F(SchedulerAddJob, ATriggerWithNoFireTimeAddsTheJobPaused) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls,
              "interval(seconds=10, start_date='2023-01-01 00:00:00', "
              "end_date='2023-06-01 00:00:00')",
              Spec("over"));
  const std::optional<JobInfo> info = s_->GetJob("over");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->next_run_time, std::nullopt);
  EXPECT_EQ(info->ToString(*UtcZone()), "over (trigger: interval[0:00:10], paused)");
  RunUntil(T(60));
  EXPECT_TRUE(walls.empty());
  EXPECT_EQ(s_->job_count(), 1u);
  EXPECT_EQ(events_.Count(kEventJobAdded, "over"), 1u);
}

TEST_F(SchedulerAddJob, InvalidOptionsAndAMissingCallableAreRejected) {
  for (bool running : {false, true}) {
    if (running) ASSERT_OK(s_->Start());
    for (std::int32_t bad : {0, -1}) {
      JobSpec spec = Spec("bad");
      spec.fn = JobFunction::Bind([] {});
      spec.max_instances = bad;
      const Result<std::string> r = s_->AddJob(std::move(spec));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
      EXPECT_STREQ(r.status().message(), "max_instances must be a positive integer");
    }
    for (std::int64_t bad : {std::int64_t{0}, std::int64_t{-5}}) {
      JobSpec spec = Spec("bad");
      spec.fn = JobFunction::Bind([] {});
      spec.misfire_grace_us = bad;
      const Result<std::string> r = s_->AddJob(std::move(spec));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
    const Result<std::string> r = s_->AddJob(Spec("nofn"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s_->job_count(), 0u);
  }
  JobSpec ok = Spec("unlimited");
  ok.fn = JobFunction::Bind([] {});
  ok.misfire_grace_us = kUnlimitedGrace;
  EXPECT_TRUE(s_->AddJob(std::move(ok)).ok());
}

TEST_F(SchedulerAddJob, AnUnknownJobStoreIsRejectedWhileRunning) {
  ASSERT_OK(s_->Start());
  JobSpec spec = Spec("x");
  spec.fn = JobFunction::Bind([] {});
  spec.jobstore = "nope";
  const Result<std::string> r = s_->AddJob(std::move(spec));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_STREQ(r.status().message(), "No such job store: nope");
  EXPECT_EQ(s_->job_count(), 0u);
}

TEST_F(SchedulerAddJob, UnsetOptionsTakeTheSchedulersJobDefaults) {
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("plain"));
  std::optional<JobInfo> info = s_->GetJob("plain");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->misfire_grace_us, kUnlimitedGrace);  // ours: unlimited (3.x: 1 s)
  EXPECT_TRUE(info->coalesce);
  EXPECT_EQ(info->max_instances, 1);
  SchedulerOptions o;
  o.job_defaults.misfire_grace_us = 5 * kSecond;
  o.job_defaults.coalesce = false;
  o.job_defaults.max_instances = 3;
  Make(o);
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", Spec("plain"));
  JobSpec own = Spec("own");
  own.misfire_grace_us = kUnlimitedGrace;
  own.coalesce = true;
  own.max_instances = 1;
  Add(JobFunction::Bind([] {}), "interval(seconds=30)", std::move(own));
  info = s_->GetJob("plain");
  EXPECT_EQ(info->misfire_grace_us, 5 * kSecond);
  EXPECT_FALSE(info->coalesce);
  EXPECT_EQ(info->max_instances, 3);
  info = s_->GetJob("own");
  EXPECT_EQ(info->misfire_grace_us, kUnlimitedGrace);
  EXPECT_TRUE(info->coalesce);
  EXPECT_EQ(info->max_instances, 1);
}

// =============================================================================================
// Modify, reschedule, pause, resume, remove, get, print (spec A8.5)
// =============================================================================================

class SchedulerJobOps : public HostDriven {};

TEST_F(SchedulerJobOps, ModifyJobChangesOnlyTheGivenFieldsAndEmitsJobModified) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> old_fn, new_fn;
  AddRecorder(&old_fn, "interval(seconds=10)", Spec("j"));
  JobChanges c;
  c.name = "renamed";
  c.coalesce = false;
  c.max_instances = 4;
  c.misfire_grace_us = 2 * kSecond;
  c.fn = JobFunction::Bind([&] { new_fn.push_back(Now()); });
  ASSERT_OK(s_->ModifyJob("j", std::move(c)));
  const std::optional<JobInfo> info = s_->GetJob("j");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->name, "renamed");
  EXPECT_FALSE(info->coalesce);
  EXPECT_EQ(info->max_instances, 4);
  EXPECT_EQ(info->misfire_grace_us, 2 * kSecond);
  EXPECT_EQ(info->trigger, "interval[0:00:10]");
  EXPECT_EQ(info->next_run_time, T(10));
  RunUntil(T(10));
  EXPECT_TRUE(old_fn.empty());
  EXPECT_EQ(new_fn, (std::vector<Instant>{T(10)}));
  const std::vector<Event> mods = events_.Of(kEventJobModified, "j");
  ASSERT_EQ(mods.size(), 1u);
  EXPECT_EQ(mods[0].alias, "default");
}

// Jobs with the same options share one policy record (engine/scheduler.cc, JobPolicy):
// changing one job's options must leave the others' alone, and a policy no job uses any more
// must not come back under another job's settings.
TEST_F(SchedulerJobOps, ModifyingOneJobsOptionsLeavesJobsThatSharedThemAlone) {
  ASSERT_OK(s_->Start());
  for (const char* id : {"a", "b", "c"}) {
    JobSpec spec = Spec(id);
    spec.max_instances = 2;
    spec.misfire_grace_us = 7 * kSecond;
    Add(JobFunction::Bind([] {}), "interval(seconds=10)", std::move(spec));
  }
  JobChanges c;
  c.max_instances = 5;
  c.coalesce = false;
  ASSERT_OK(s_->ModifyJob("b", std::move(c)));
  for (const char* id : {"a", "c"}) {
    const std::optional<JobInfo> info = s_->GetJob(id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->max_instances, 2) << id;
    EXPECT_EQ(info->misfire_grace_us, 7 * kSecond) << id;
    EXPECT_TRUE(info->coalesce) << id;
  }
  EXPECT_EQ(s_->GetJob("b")->max_instances, 5);
  EXPECT_EQ(s_->GetJob("b")->misfire_grace_us, 7 * kSecond);
  EXPECT_FALSE(s_->GetJob("b")->coalesce);
  // The last users of b's policy and of the shared one go; new jobs get their own settings.
  ASSERT_OK(s_->RemoveJob("b"));
  ASSERT_OK(s_->RemoveJob("a"));
  ASSERT_OK(s_->RemoveJob("c"));
  JobSpec d = Spec("d");
  d.max_instances = 3;
  Add(JobFunction::Bind([] {}), "interval(seconds=10)", std::move(d));
  EXPECT_EQ(s_->GetJob("d")->max_instances, 3);
  EXPECT_EQ(s_->GetJob("d")->misfire_grace_us, kUnlimitedGrace);
  EXPECT_TRUE(s_->GetJob("d")->coalesce);
}

// Past 65534 distinct policies in use at once, jobs keep their own: every one still reads back
// its own options, runs by them, and the shared table is reused once jobs go.
TEST_F(SchedulerJobOps, MoreDistinctOptionSetsThanPolicyIndicesStillKeepEachJobsOwn) {
  ASSERT_OK(s_->Start());
  constexpr int kJobs = 70'000;
  for (int i = 0; i < kJobs; ++i) {
    JobSpec spec = Spec("j" + std::to_string(i));
    spec.misfire_grace_us = (i + 1) * kSecond;
    spec.fn = JobFunction::Bind([] {});
    spec.trigger = Trig("interval(hours=1)", Now());
    ASSERT_TRUE(s_->AddJob(std::move(spec)).ok());
  }
  for (int i : {0, 1, 65'533, 65'534, 65'535, 69'999}) {
    const std::optional<JobInfo> info = s_->GetJob("j" + std::to_string(i));
    ASSERT_TRUE(info.has_value()) << i;
    EXPECT_EQ(info->misfire_grace_us, (i + 1) * kSecond) << i;
  }
  // A job beyond the table changes its options like any other.
  JobChanges c;
  c.misfire_grace_us = 3 * kSecond;
  c.max_instances = 9;
  ASSERT_OK(s_->ModifyJob("j69999", std::move(c)));
  EXPECT_EQ(s_->GetJob("j69999")->misfire_grace_us, 3 * kSecond);
  EXPECT_EQ(s_->GetJob("j69999")->max_instances, 9);
  ASSERT_OK(s_->RemoveAllJobs());
  JobSpec again = Spec("again");
  again.misfire_grace_us = 42 * kSecond;
  Add(JobFunction::Bind([] {}), "interval(seconds=10)", std::move(again));
  EXPECT_EQ(s_->GetJob("again")->misfire_grace_us, 42 * kSecond);
}

// Ids of any length: up to 15 characters are kept inline in the job record, longer ones on the
// heap; both are found, listed, replaced and removed alike.
TEST_F(SchedulerJobOps, IdsLongerThanTheInlineLimitWorkLikeShortOnes) {
  ASSERT_OK(s_->Start());
  const std::string ids[] = {"x", "exactly-15-char", "sixteen-chars-id", std::string(200, 'L')};
  std::vector<Instant> walls;
  for (const std::string& id : ids) AddRecorder(&walls, "interval(seconds=10)", Spec(id));
  for (const std::string& id : ids) {
    const std::optional<JobInfo> info = s_->GetJob(id);
    ASSERT_TRUE(info.has_value()) << id;
    EXPECT_EQ(info->id, id);
    EXPECT_EQ(info->name, id);
  }
  EXPECT_EQ(s_->AddJob([] {
                JobSpec spec = Spec(std::string(200, 'L'));
                spec.fn = JobFunction::Bind([] {});
                return spec;
              }())
                .status()
                .code(),
            StatusCode::kAlreadyExists);
  RunUntil(T(10));
  EXPECT_EQ(walls.size(), 4u);
  ASSERT_OK(s_->RemoveJob(std::string(200, 'L')));
  ASSERT_OK(s_->RemoveJob("sixteen-chars-id"));
  EXPECT_FALSE(s_->GetJob(std::string(200, 'L')).has_value());
  EXPECT_EQ(s_->GetJobs().size(), 2u);
}

// A job added without a trigger keeps only its run date (no trigger object); pausing and
// resuming it, and describing it, still see that date (APScheduler's DateTrigger(now)).
TEST_F(SchedulerJobOps, AOneShotJobWithoutATriggerKeepsItsDateThroughPauseAndResume) {
  ASSERT_OK(s_->Start());
  JobSpec spec = Spec("once");
  spec.fn = JobFunction::Bind([] {});
  spec.next_run_time = NextRunTime::Paused();
  ASSERT_TRUE(s_->AddJob(std::move(spec)).ok());
  clock_.Advance(Delay::Micros(5 * kSecond));
  const std::optional<JobInfo> info = s_->GetJob("once");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->trigger, "date[2024-01-01 00:00:00 UTC]");
  const Result<bool> kept = s_->ResumeJob("once");
  ASSERT_TRUE(kept.ok() && *kept);
  EXPECT_EQ(s_->GetJob("once")->next_run_time, T(0));
}

TEST_F(SchedulerJobOps, ModifyJobWithANewTriggerKeepsTheNextRunTime) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  JobChanges c;
  c.trigger = Trig("interval(seconds=100)", Now());
  ASSERT_OK(s_->ModifyJob("j", std::move(c)));
  EXPECT_EQ(s_->GetJob("j")->trigger, "interval[0:01:40]");
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(10));  // APScheduler: not recomputed
  RunUntil(T(200));
  EXPECT_EQ(walls, (std::vector<Instant>{T(10), T(110)}));
}

TEST_F(SchedulerJobOps, ModifyJobNextRunTimeReschedulesOrPauses) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  JobChanges later;
  later.next_run_time = std::optional<Instant>(T(15));
  ASSERT_OK(s_->ModifyJob("j", std::move(later)));
  RunUntil(T(20));
  EXPECT_EQ(walls, (std::vector<Instant>{T(15)}));
  JobChanges pause;
  pause.next_run_time = std::optional<Instant>();
  ASSERT_OK(s_->ModifyJob("j", std::move(pause)));
  EXPECT_EQ(s_->GetJob("j")->next_run_time, std::nullopt);
  RunUntil(T(100));
  EXPECT_EQ(walls.size(), 1u);
}

TEST_F(SchedulerJobOps, AnInvalidModificationChangesNothing) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  for (int variant = 0; variant < 3; ++variant) {
    const std::string id = "j" + std::to_string(variant);
    AddRecorder(&walls, "interval(seconds=10)", Spec(id));
    JobChanges c;
    c.name = "changed";
    c.coalesce = false;
    c.trigger = Trig("interval(seconds=99)", Now());
    switch (variant) {
      case 0: c.fn = JobFunction(); break;  // empty callable
      case 1: c.max_instances = 0; break;
      case 2: c.misfire_grace_us = 0; break;
    }
    const Status st = s_->ModifyJob(id, std::move(c));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << variant;
    const std::optional<JobInfo> info = s_->GetJob(id);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->name, id) << variant;
    EXPECT_TRUE(info->coalesce) << variant;
    EXPECT_EQ(info->trigger, "interval[0:00:10]") << variant;
  }
  JobChanges empty_name;
  empty_name.name = "";
  EXPECT_EQ(s_->ModifyJob("j0", std::move(empty_name)).code(), StatusCode::kInvalidArgument);
  RunUntil(T(10));
  EXPECT_EQ(events_.Count(kEventJobModified), 0u);
  EXPECT_EQ(walls, (std::vector<Instant>{T(10), T(10), T(10)}));  // the original callables run
}

TEST_F(SchedulerJobOps, RescheduleJobRecomputesTheNextRunTimeFromNow) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  RunUntil(T(12));
  ASSERT_OK(s_->RescheduleJob("j", Trig("cron(minute='1')", Now())));
  EXPECT_EQ(s_->GetJob("j")->trigger, "cron[minute='1']");
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(60));
  RunUntil(T(3600 + 60));
  EXPECT_EQ(events_.Count(kEventJobModified, "j"), 1u);
  EXPECT_EQ(walls, (std::vector<Instant>{T(10), T(60), T(3600 + 60)}));
  EXPECT_EQ(s_->RescheduleJob("j", nullptr).code(), StatusCode::kInvalidArgument);
}

TEST_F(SchedulerJobOps, APausedJobDoesNotRunUntilResumed) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  RunUntil(T(10));
  ASSERT_OK(s_->PauseJob("j"));
  EXPECT_EQ(s_->GetJob("j")->next_run_time, std::nullopt);
  RunUntil(T(55));
  EXPECT_EQ(walls, (std::vector<Instant>{T(10)}));
  const Result<bool> kept = s_->ResumeJob("j");
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_TRUE(*kept);
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(60));  // from the trigger, as of now
  RunUntil(T(70));
  EXPECT_EQ(walls, (std::vector<Instant>{T(10), T(60), T(70)}));
  EXPECT_EQ(events_.Count(kEventJobModified, "j"), 2u);  // pause and resume
}

TEST_F(SchedulerJobOps, ResumingAJobWhoseTriggerIsExhaustedRemovesIt) {
  ASSERT_OK(s_->Start());
  JobSpec spec = Spec("j");
  spec.next_run_time = NextRunTime::Paused();
  Add(JobFunction::Bind([] {}), "interval(seconds=10, end_date='2024-01-01 00:00:30')",
      std::move(spec));
  RunUntil(T(40));
  const Result<bool> kept = s_->ResumeJob("j");
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_FALSE(*kept);
  EXPECT_EQ(s_->GetJob("j"), std::nullopt);
  EXPECT_EQ(s_->job_count(), 0u);
  Flush();
  EXPECT_EQ(events_.Count(kEventJobRemoved, "j"), 1u);
}

TEST_F(SchedulerJobOps, CallsOnAnUnknownIdFailWithApschedulersLookupMessage) {
  for (bool running : {false, true}) {
    if (running) ASSERT_OK(s_->Start());
    Add(JobFunction::Bind([] {}), "interval(seconds=10)", Spec("known"));
    std::vector<Status> statuses;
    statuses.push_back(s_->ModifyJob("x", JobChanges{}));
    statuses.push_back(s_->RescheduleJob("x", Trig("interval(seconds=5)", Now())));
    statuses.push_back(s_->PauseJob("x"));
    statuses.push_back(s_->ResumeJob("x").status());
    statuses.push_back(s_->RemoveJob("x"));
    statuses.push_back(s_->RemoveJob("known", "other-store"));  // exists, but not there
    for (const Status& st : statuses) {
      EXPECT_EQ(st.code(), StatusCode::kNotFound);
      EXPECT_NE(std::string(st.message()).find("No job by the id of "), std::string::npos);
    }
    EXPECT_STREQ(statuses[0].message(), "No job by the id of x was found");
    EXPECT_STREQ(statuses[4].message(), "No job by the id of x was found");
    EXPECT_EQ(s_->GetJob("x"), std::nullopt);
    EXPECT_EQ(s_->GetJob("known", "other-store"), std::nullopt);
    EXPECT_TRUE(s_->GetJob("known", "default").has_value());
    ASSERT_OK(s_->RemoveJob("known"));
  }
}

TEST_F(SchedulerJobOps, RemoveJobEmitsJobRemovedAndTheJobNeverRunsAgain) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  RunUntil(T(10));
  ASSERT_OK(s_->RemoveJob("j"));
  RunUntil(T(100));
  EXPECT_EQ(walls, (std::vector<Instant>{T(10)}));
  const std::vector<Event> removed = events_.Of(kEventJobRemoved, "j");
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].alias, "default");
  EXPECT_EQ(s_->job_count(), 0u);
}

TEST_F(SchedulerJobOps, RemoveAllJobsClearsEveryStoreOrOneAndEmitsAllJobsRemoved) {
  ASSERT_OK(s_->AddJobStore("other", std::make_unique<MemoryJobStore>()));
  ASSERT_OK(s_->Start());
  for (const char* store : {"default", "other"}) {
    for (int i = 0; i < 3; ++i) {
      JobSpec spec = Spec(std::string(store) + std::to_string(i));
      spec.jobstore = store;
      Add(JobFunction::Bind([] {}), "interval(seconds=10)", std::move(spec));
    }
  }
  ASSERT_OK(s_->RemoveAllJobs("other"));
  EXPECT_EQ(s_->job_count(), 3u);
  EXPECT_TRUE(s_->GetJobs("other").empty());
  ASSERT_OK(s_->RemoveAllJobs());
  EXPECT_EQ(s_->job_count(), 0u);
  EXPECT_EQ(s_->RemoveAllJobs("nope").code(), StatusCode::kNotFound);
  Flush();
  const std::vector<Event> all = events_.Of(kEventAllJobsRemoved);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].alias, "other");
  EXPECT_EQ(all[1].alias, "");  // APScheduler: alias None = every store
  EXPECT_EQ(events_.Count(kEventJobRemoved), 0u);
}

TEST_F(SchedulerJobOps, GetJobsOrdersByNextRunTimeThenIdWithPausedLastPerStore) {
  ASSERT_OK(s_->AddJobStore("aaa", std::make_unique<MemoryJobStore>()));
  ASSERT_OK(s_->Start());
  auto add = [&](const char* id, std::optional<Instant> at, const char* store = "default") {
    JobSpec spec = Spec(id);
    spec.next_run_time = at ? NextRunTime::At(*at) : NextRunTime::Paused();
    spec.jobstore = store;
    Add(JobFunction::Bind([] {}), "interval(hours=1)", std::move(spec));
  };
  add("z", T(100));  // spec E6 S13: m, a, z, p
  add("p", std::nullopt);
  add("a", T(100));
  add("m", T(50));
  add("b2", T(10), "aaa");
  add("b1", std::nullopt, "aaa");
  std::vector<std::string> ids;
  for (const JobInfo& j : s_->GetJobs()) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b2", "b1", "m", "a", "z", "p"}));
  ids.clear();
  for (const JobInfo& j : s_->GetJobs("default")) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"m", "a", "z", "p"}));
  EXPECT_TRUE(s_->GetJobs("nope").empty());
}

TEST_F(SchedulerJobOps, PrintJobsListsEachStoreAsApschedulerDoes) {
  ASSERT_OK(s_->AddJobStore("other", std::make_unique<MemoryJobStore>()));
  ASSERT_OK(s_->Start());
  EXPECT_EQ(s_->PrintJobs(),
            "Jobstore default:\n    No scheduled jobs\n"
            "Jobstore other:\n    No scheduled jobs\n");
  JobSpec hello = Spec("1");
  hello.name = "hello";
  Add(JobFunction::Bind([] {}), "interval(seconds=10)", std::move(hello));
  JobSpec paused = Spec("2");
  paused.name = "sleeper";
  paused.next_run_time = NextRunTime::Paused();
  Add(JobFunction::Bind([] {}), "cron(hour='3')", std::move(paused));
  JobSpec frac = Spec("3");
  frac.name = "fraction";
  frac.next_run_time = NextRunTime::At(Instant{T(20).us + 500'000});  // whole seconds printed
  Add(JobFunction::Bind([] {}), "interval(hours=2)", std::move(frac));
  EXPECT_EQ(s_->PrintJobs(),
            "Jobstore default:\n"
            "    hello (trigger: interval[0:00:10], next run at: 2024-01-01 00:00:10 UTC)\n"
            "    fraction (trigger: interval[2:00:00], next run at: 2024-01-01 00:00:20 UTC)\n"
            "    sleeper (trigger: cron[hour='3'], paused)\n"
            "Jobstore other:\n"
            "    No scheduled jobs\n");
  EXPECT_EQ(s_->PrintJobs("other"), "Jobstore other:\n    No scheduled jobs\n");
}

TEST_F(SchedulerJobOps, PrintJobsUsesTheSchedulersTimeZone) {
  SchedulerOptions o;
  Result<TimeZonePtr> helsinki = LoadTimeZone("Europe/Helsinki");
  ASSERT_TRUE(helsinki.ok()) << helsinki.status().message();
  o.timezone = *helsinki;
  Make(o);
  ASSERT_OK(s_->Start());
  JobSpec spec = Spec("h");
  spec.next_run_time = NextRunTime::At(T(10));
  Add(JobFunction::Bind([] {}), "interval(hours=2)", std::move(spec));
  EXPECT_EQ(s_->PrintJobs(),
            "Jobstore default:\n"
            "    h (trigger: interval[2:00:00], next run at: 2024-01-01 02:00:10 EET)\n");
}

// =============================================================================================
// Running jobs and events (spec A9, A11)
// =============================================================================================

class SchedulerRuns : public HostDriven {};

TEST_F(SchedulerRuns, AnIntervalJobRunsExactlyAtEachFireTime) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  RunUntil(T(100));
  std::vector<Instant> expected;
  for (int i = 1; i <= 10; ++i) expected.push_back(T(10 * i));
  EXPECT_EQ(walls, expected);
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), expected);
  // Each run: one JOB_SUBMITTED naming exactly its fire time, before its JOB_EXECUTED.
  const std::vector<Event> ev = events_.Of(kEventJobSubmitted | kEventJobExecuted, "j");
  ASSERT_EQ(ev.size(), 20u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(ev[2 * i].code, kEventJobSubmitted);
    EXPECT_EQ(ev[2 * i].scheduled_run_times, (std::vector<Instant>{expected[i]}));
    EXPECT_EQ(ev[2 * i + 1].code, kEventJobExecuted);
    EXPECT_EQ(ev[2 * i + 1].alias, "default");
  }
}

// An inline job that calls RunDue() would nest an iteration inside the one running it: it gets
// a clear error, and the schedule goes on.
TEST_F(SchedulerRuns, RunDueFromInsideAJobIsRefusedAndTheScheduleGoesOn) {
  ASSERT_OK(s_->Start());
  std::vector<Status> nested;
  Add(JobFunction::Bind([&] { nested.push_back(s_->RunDue()); }), "interval(seconds=10)",
      Spec("nester"));
  RunUntil(T(30));
  ASSERT_EQ(nested.size(), 3u);  // 10, 20, 30
  for (const Status& st : nested) {
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
    EXPECT_STREQ(st.message(),
                 "RunDue() was called from inside RunDue() (a job or a listener); return and "
                 "let the host call it again");
  }
  EXPECT_EQ(events_.Count(kEventJobExecuted, "nester"), 3u);
}

TEST_F(SchedulerRuns, AYearOfAnHourlyCronRunsEveryHourInWellUnderASecond) {
  SchedulerOptions o;
  o.max_sleep_us = 24 * kHour;  // the host may sleep until each fire time
  Make(o);
  ASSERT_OK(s_->Start());
  clock_.Advance(Delay::Seconds(1));  // first run 01:00 (00:00 itself: AJobDueAtTheCurrent...)
  int runs = 0;
  std::int64_t last = 0;
  bool all_on_the_hour = true;
  Add(JobFunction::Bind([&] {
        ++runs;
        const std::int64_t w = clock_.WallMicros();
        if (w % kHour != 0 || w <= last) all_on_the_hour = false;
        last = w;
      }),
      "cron(minute='0')", Spec("hourly"));
  const auto t0 = std::chrono::steady_clock::now();
  RunUntil(T(366 * 24 * 3600));  // 2024 is a leap year: 8784 hours, 01:00 .. 2025-01-01 00:00
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(runs, 8784);
  EXPECT_TRUE(all_on_the_hour);
  EXPECT_EQ(last, T(366 * 24 * 3600).us);
  EXPECT_LT(ms, 1000.0);
  RecordProperty("year_of_hourly_cron_ms", std::to_string(ms));
}

TEST_F(SchedulerRuns, ADateJobRunsOnceAndIsRemovedAfterItsSubmission) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "date(run_date='2024-01-01 00:00:05')", Spec("d"));
  RunUntil(T(60));
  EXPECT_EQ(walls, (std::vector<Instant>{T(5)}));
  EXPECT_EQ(s_->job_count(), 0u);
  const std::vector<std::string> names = events_.Names(kEventAll, "d");
  // events.h: JOB_ADDED before JOB_SUBMITTED; the last JOB_SUBMITTED before the JOB_REMOVED of
  // the exhausted trigger; a run's JOB_SUBMITTED before its JOB_EXECUTED.
  ASSERT_EQ(names.size(), 4u) << ::testing::PrintToString(names);
  EXPECT_EQ(names[0], "JOB_ADDED");
  EXPECT_EQ(names[1], "JOB_SUBMITTED");
  EXPECT_LT(IndexOf(names, "JOB_SUBMITTED"), IndexOf(names, "JOB_REMOVED"));
  EXPECT_LT(IndexOf(names, "JOB_SUBMITTED"), IndexOf(names, "JOB_EXECUTED"));
}

TEST_F(SchedulerRuns, AJobThatThrowsReportsJobErrorAndTheScheduleGoesOn) {
  ASSERT_OK(s_->Start());
  int runs = 0;
  Add(JobFunction::Bind([&] {
        ++runs;
        throw std::runtime_error("boom");
      }),
      "interval(seconds=10)", Spec("bad"));
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("good"));
  RunUntil(T(30));
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(walls.size(), 3u);
  const std::vector<Event> errors = events_.Of(kEventJobError, "bad");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].error, "boom");
  EXPECT_EQ(errors[0].scheduled_run_time, T(10));
  EXPECT_EQ(errors[2].scheduled_run_time, T(30));
  EXPECT_EQ(events_.Count(kEventJobExecuted, "bad"), 0u);
  EXPECT_TRUE(Logged("error: Job \"bad\" raised an exception: boom")) << AllLogs();
}

TEST_F(SchedulerRuns, AJobReturningAFailedOutcomeReportsJobError) {
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] { return RunOutcome::Failure("disk full"); }), "interval(seconds=10)",
      Spec("j"));
  RunUntil(T(10));
  const std::vector<Event> errors = events_.Of(kEventJobError, "j");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].error, "disk full");
}

TEST_F(SchedulerRuns, JobsDueAtTheSameInstantAllRunOnce) {
  ASSERT_OK(s_->Start());
  std::vector<std::string> order;
  for (const char* id : {"c", "a", "b", "d"}) {
    JobSpec spec = Spec(id);
    spec.next_run_time = NextRunTime::At(T(5));
    Add(JobFunction::Bind([&order, id] { order.push_back(id); }),
        "date(run_date='2024-01-01 00:00:05')", std::move(spec));
  }
  RunUntil(T(10));
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(s_->job_count(), 0u);
}

TEST_F(SchedulerRuns, AJobDueAtTheCurrentInstantRunsWithoutWaitingForTheClockToMove) {
  ASSERT_OK(s_->Start());
  ASSERT_OK(s_->RunDue());  // the scheduler has seen this instant
  std::vector<Instant> walls;
  JobSpec now = Spec("now");
  now.next_run_time = NextRunTime::Now();
  AddRecorder(&walls, "interval(hours=1)", std::move(now));
  AddRecorder(&walls, "cron(minute='0')", Spec("on-the-hour"));  // first fire 00:00:00 = now
  EXPECT_EQ(s_->GetJob("on-the-hour")->next_run_time, T(0));
  Settle();  // NextDeadline() says "now": RunDue() must run them, not spin
  EXPECT_EQ(walls, (std::vector<Instant>{T(0), T(0)}));
}

TEST_F(SchedulerRuns, AJobDueAtTheStartInstantRunsOnTheFirstRunDue) {
  ASSERT_OK(s_->Start());  // no RunDue() yet, and the clock does not move
  std::vector<Instant> walls;
  JobSpec now = Spec("now");
  now.next_run_time = NextRunTime::Now();
  AddRecorder(&walls, "interval(hours=1)", std::move(now));
  AddRecorder(&walls, "cron(minute='0')", Spec("on-the-hour"));
  Settle();
  EXPECT_EQ(walls, (std::vector<Instant>{T(0), T(0)}));
}

TEST_F(SchedulerRuns, ListenersReceiveOnlyTheEventsInTheirMask) {
  EventLog executed_or_error;
  s_->AddListener([&](const Event& e) { executed_or_error.Record(e); },
                  kEventJobExecuted | kEventJobError);
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=10)", Spec("ok"));
  Add(JobFunction::Bind([] { throw std::runtime_error("x"); }), "interval(seconds=10)",
      Spec("bad"));
  RunUntil(T(20));
  EXPECT_EQ(executed_or_error.Count(kEventAll), 4u);
  EXPECT_EQ(executed_or_error.Count(kEventJobExecuted, "ok"), 2u);
  EXPECT_EQ(executed_or_error.Count(kEventJobError, "bad"), 2u);
  EXPECT_GT(events_.Count(kEventAll), 4u);  // the unmasked listener saw more
  ASSERT_OK(s_->Shutdown());                // before the listener's log goes away
}

TEST_F(SchedulerRuns, ARemovedListenerReceivesNothingMore) {
  EventLog second;
  const ListenerId id = s_->AddListener([&](const Event& e) { second.Record(e); });
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=10)", Spec("j"));
  RunUntil(T(10));
  const std::size_t seen = second.Count(kEventAll);
  EXPECT_GT(seen, 0u);
  ASSERT_OK(s_->RemoveListener(id));
  RunUntil(T(30));
  EXPECT_EQ(second.Count(kEventAll), seen);
  EXPECT_EQ(events_.Count(kEventJobExecuted), 3u);
  EXPECT_EQ(s_->RemoveListener(id).code(), StatusCode::kNotFound);
}

TEST_F(SchedulerRuns, AThrowingListenerDoesNotStopTheSchedulerOrOtherListeners) {
  int thrown = 0;
  s_->AddListener([&](const Event&) {
    ++thrown;
    throw std::runtime_error("listener bug");
  });
  EventLog after;
  s_->AddListener([&](const Event& e) { after.Record(e); });
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  RunUntil(T(30));
  EXPECT_EQ(walls.size(), 3u);
  EXPECT_EQ(after.Count(kEventJobExecuted), 3u);
  EXPECT_EQ(static_cast<std::size_t>(thrown), after.Count(kEventAll));
  EXPECT_TRUE(Logged("error: Error notifying listener of JOB_EXECUTED: the listener threw"))
      << AllLogs();
  ASSERT_OK(s_->Shutdown());  // before the listeners' state goes away
}

TEST_F(SchedulerRuns, AListenerMayRemoveItselfWhileHandlingAnEvent) {
  auto calls = std::make_shared<std::vector<std::string>>();
  auto self = std::make_shared<ListenerId>(0);
  *self = s_->AddListener(
      [this, calls, self](const Event& e) {
        EXPECT_OK(s_->RemoveListener(*self));  // a one-shot listener
        calls->push_back(EventName(e.code));   // its captures must still be alive
      },
      kEventJobExecuted);
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=10)", Spec("j"));
  RunUntil(T(30));
  EXPECT_EQ(*calls, (std::vector<std::string>{"JOB_EXECUTED"}));
}

TEST_F(SchedulerRuns, AListenerMayAddAnotherListener) {
  EventLog late;
  bool added = false;
  s_->AddListener(
      [&](const Event&) {
        if (!added) {
          added = true;
          s_->AddListener([&](const Event& e) { late.Record(e); }, kEventJobExecuted);
        }
      },
      kEventJobExecuted);
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=10)", Spec("j"));
  RunUntil(T(30));
  EXPECT_GE(late.Count(kEventJobExecuted), 2u);
  ASSERT_OK(s_->Shutdown());
}

TEST_F(SchedulerRuns, AHostFollowingNextDeadlineGetsTheEventsOfItsOwnCallsPromptly) {
  ASSERT_OK(s_->Start());
  Settle();
  events_.Clear();
  // Called on the host (scheduler) thread outside RunDue(): the events must not wait for an
  // unrelated deadline (an hour away) or for one that never comes (paused, nothing scheduled).
  Add(JobFunction::Bind([] {}), "interval(hours=1)", Spec("j"));
  Settle();
  EXPECT_EQ(events_.Names(), (std::vector<std::string>{"JOB_ADDED"}));
  ASSERT_OK(s_->Pause());
  Settle();
  EXPECT_EQ(events_.Names(), (std::vector<std::string>{"JOB_ADDED", "SCHEDULER_PAUSED"}));
}

TEST_F(SchedulerRuns, AJobWhoseExecutorIsMissingIsRemovedWhenDue) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  JobSpec spec = Spec("orphan");
  spec.executor = "nope";
  AddRecorder(&walls, "interval(seconds=10)", std::move(spec));  // accepted (spec E6 S10)
  EXPECT_EQ(s_->job_count(), 1u);
  RunUntil(T(30));
  EXPECT_TRUE(walls.empty());
  EXPECT_EQ(s_->job_count(), 0u);
  EXPECT_EQ(events_.Names(kEventAll, "orphan"),
            (std::vector<std::string>{"JOB_ADDED", "JOB_REMOVED"}));
  EXPECT_TRUE(
      Logged("error: Executor lookup (\"nope\") failed for job \"orphan\" -- removing it "
             "from the job store"))
      << AllLogs();
}

TEST_F(SchedulerRuns, JobsAndListenersMayCallTheApiOnTheHostThread) {
  ASSERT_OK(s_->Start());
  std::size_t seen_by_job = 0;
  std::optional<JobInfo> self_info;
  Add(JobFunction::Bind([&] {
        seen_by_job = s_->GetJobs().size();
        self_info = s_->GetJob("caller");
        JobSpec child = Spec("child");
        child.fn = JobFunction::Bind([] {});
        child.replace_existing = true;
        EXPECT_TRUE(s_->AddJob(std::move(child)).ok());
      }),
      "interval(seconds=10)", Spec("caller"));
  std::size_t seen_by_listener = 0;
  s_->AddListener(
      [&](const Event& e) {
        if (e.job_id != "caller") return;
        seen_by_listener = s_->GetJobs().size();
        EXPECT_OK(s_->PauseJob("caller"));
      },
      kEventJobExecuted);
  RunUntil(T(30));
  EXPECT_EQ(seen_by_job, 1u);
  ASSERT_TRUE(self_info.has_value());
  EXPECT_EQ(self_info->next_run_time, T(20));  // advanced at submission
  EXPECT_GE(seen_by_listener, 1u);
  EXPECT_EQ(events_.Count(kEventJobExecuted, "caller"), 1u);  // paused by the listener
  EXPECT_EQ(events_.Count(kEventJobExecuted, "child"), 1u);
  ASSERT_OK(s_->Shutdown());
}

TEST_F(SchedulerRuns, NextDeadlineIsTheEarliestRunTimeOverAllStoresIgnoringPausedJobs) {
  SchedulerOptions o;
  o.max_sleep_us = 24 * kHour;
  Make(o);
  ASSERT_OK(s_->AddJobStore("other", std::make_unique<MemoryJobStore>()));
  ASSERT_OK(s_->Start());
  EXPECT_EQ(s_->NextDeadline(), clock_.Now() + Delay::Seconds(24 * 3600));  // nothing: max_sleep
  auto add = [&](const char* id, NextRunTime first, const char* store) {
    JobSpec spec = Spec(id);
    spec.next_run_time = first;
    spec.jobstore = store;
    Add(JobFunction::Bind([] {}), "interval(hours=1)", std::move(spec));
  };
  add("paused", NextRunTime::Paused(), "default");
  add("ten", NextRunTime::At(T(10)), "default");
  add("five", NextRunTime::At(T(5)), "other");
  Flush();
  EXPECT_EQ(s_->NextDeadline(), clock_.Now() + Delay::Seconds(5));
  ASSERT_OK(s_->PauseJob("five"));
  Flush();
  EXPECT_EQ(s_->NextDeadline(), clock_.Now() + Delay::Seconds(10));
}

// =============================================================================================
// Host-driven I/O: WakeFd() and AddJobAsync()
// =============================================================================================

class SchedulerHostIo : public HostDriven {};

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

TEST_F(SchedulerHostIo, TheWakeFdBecomesReadableWhenAnotherThreadsCallNeedsRunDue) {
  ASSERT_OK(s_->Start());
  const int fd = s_->WakeFd();
  ASSERT_GE(fd, 0);
  Flush();
  EXPECT_FALSE(Readable(fd, 0));  // RunDue() cleared it; simulated deadlines do not arm it
  std::promise<Result<std::string>> added;
  std::thread caller([&] {  // AddJob waits for the host's RunDue()
    JobSpec spec = Spec("remote");
    spec.fn = JobFunction::Bind([] {});
    added.set_value(s_->AddJob(std::move(spec)));
  });
  EXPECT_TRUE(Readable(fd, 20'000));
  Flush();
  caller.join();
  const Result<std::string> id = added.get_future().get();
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, "remote");
  Settle();
  EXPECT_EQ(events_.Count(kEventJobExecuted, "remote"), 1u);
  EXPECT_FALSE(Readable(fd, 0));
}

TEST_F(SchedulerHostIo, AddJobAsyncFromAnotherThreadDoesNotWaitForTheHost) {
  ASSERT_OK(s_->Start());
  Flush();
  std::promise<Result<std::string>> added;
  std::future<Result<std::string>> f = added.get_future();
  std::thread caller([&] {
    JobSpec spec;  // a generated id
    spec.fn = JobFunction::Bind([] {});
    added.set_value(s_->AddJobAsync(std::move(spec)));
  });
  // "Never blocks while running": it must return although the host is not calling RunDue().
  const bool returned = f.wait_for(5s) == std::future_status::ready;
  EXPECT_TRUE(returned) << "AddJobAsync() waited for the host";
  if (!returned) Flush();  // release it
  caller.join();
  const Result<std::string> id = f.get();
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_FALSE(id->empty());
  Settle();
  EXPECT_EQ(events_.Names(kEventJobAdded | kEventJobExecuted, *id),
            (std::vector<std::string>{"JOB_ADDED", "JOB_EXECUTED"}));
}

TEST_F(SchedulerHostIo, AFullCommandQueueRefusesAsyncAddsWithAnErrorAndLosesNothingQueued) {
  SchedulerOptions o;
  o.max_queued_bytes = 64 << 10;  // room for a few hundred queued adds
  Make(std::move(o));
  ASSERT_OK(s_->Start());
  Flush();
  // Calls from another thread queue up while the host (this thread) does not call RunDue().
  const auto off_loop = [](const auto& f) { std::thread(f).join(); };
  const auto spec_for = [this](int i) {
    JobSpec spec = Spec("q" + std::to_string(i));
    spec.fn = JobFunction::Bind([] {});
    spec.next_run_time = NextRunTime::At(Instant{Now().us + 86'400'000'000LL});
    return spec;
  };
  int accepted = 0;
  Status refused, batch_st, commit_st;
  Result<std::string> with_handle = std::string();
  off_loop([&] {
    for (; accepted < 100000; ++accepted) {
      Result<std::string> r = s_->AddJobAsync(spec_for(accepted));
      if (!r.ok()) {
        refused = r.status();
        break;
      }
    }
    // The other ways in fail the same way while it is full.
    std::vector<JobSpec> batch;
    for (int i = 0; i < 40; ++i) batch.push_back(spec_for(200000 + i));
    batch_st = s_->AddJobsAsync(batch);
    CommitHandle committed;
    with_handle = s_->AddJobAsync(spec_for(300000), &committed);
    commit_st = committed.Wait();  // the handle says so too
  });
  ASSERT_EQ(refused.code(), StatusCode::kResourceExhausted) << "never refused";
  EXPECT_NE(std::string(refused.message()).find("max_queued_bytes"), std::string::npos)
      << refused.message();
  EXPECT_GE(accepted, 32);  // at least one block of 32 fitted
  EXPECT_EQ(batch_st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(batch_st.message()).find("job 0 of the batch"), std::string::npos)
      << batch_st.message();
  EXPECT_EQ(with_handle.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(commit_st.code(), StatusCode::kResourceExhausted);
  // Calls that wait for their reply are not held to the limit (a thread has at most one
  // queued): an AddJob(), Pause() and Resume() from another thread still go through.
  std::promise<Status> called;
  std::future<Status> f = called.get_future();
  std::thread caller([&] {
    Result<std::string> added = s_->AddJob(spec_for(400000));
    Status st = added.status();
    if (st.ok()) st = s_->Pause();
    if (st.ok()) st = s_->Resume();
    called.set_value(st);
  });
  while (f.wait_for(1ms) != std::future_status::ready) Flush();
  caller.join();
  EXPECT_OK(f.get());
  EXPECT_EQ(events_.Count(kEventSchedulerPaused), 1u);
  EXPECT_EQ(events_.Count(kEventSchedulerResumed), 1u);
  // Everything accepted is applied; nothing refused is.
  Flush();
  EXPECT_EQ(s_->job_count(), static_cast<std::size_t>(accepted) + 1);  // + q400000
  EXPECT_TRUE(s_->GetJob("q400000").has_value());
  EXPECT_TRUE(s_->GetJob("q0").has_value());
  EXPECT_TRUE(s_->GetJob("q" + std::to_string(accepted - 1)).has_value());
  EXPECT_FALSE(s_->GetJob("q" + std::to_string(accepted)).has_value());
  EXPECT_FALSE(s_->GetJob("q200000").has_value());
  EXPECT_FALSE(s_->GetJob("q300000").has_value());
  // Drained blocks are reused: about as many adds fit again. (Not exactly as many: this new
  // thread's moodycamel producer and its block index take a little of the room.)
  int again = 0;
  off_loop([&] {
    for (; again < accepted; ++again) {
      if (!s_->AddJobAsync(spec_for(500000 + again)).ok()) break;
    }
  });
  EXPECT_GE(again, accepted - 32);  // at most a block's worth less
  Flush();
  EXPECT_EQ(s_->job_count(), static_cast<std::size_t>(accepted + again) + 1);
}

// =============================================================================================
// Misfire grace and coalescing (spec A9, A10, E6 S01-S05)
// =============================================================================================

class SchedulerMisfire : public HostDriven {};

TEST_F(SchedulerMisfire, CoalescingRunsOnlyTheLastMissedFireTimeAfterAPause) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=10)", Spec("j"));
  RunUntil(T(10));
  ASSERT_OK(s_->Pause());
  clock_.Advance(Delay::Seconds(65));  // misses 20..70
  ASSERT_OK(s_->RunDue());
  ASSERT_OK(s_->Resume());
  Settle();
  EXPECT_EQ(walls, (std::vector<Instant>{T(10), T(75)}));
  const std::vector<Event> submitted = events_.Of(kEventJobSubmitted, "j");
  ASSERT_EQ(submitted.size(), 2u);
  EXPECT_EQ(submitted[1].scheduled_run_times, (std::vector<Instant>{T(70)}));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(10), T(70)}));
  EXPECT_EQ(events_.Count(kEventJobMissed), 0u);  // coalesced-away runs are not "missed"
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(80));
}

TEST_F(SchedulerMisfire, CoalescingATenYearOutageOfAOneSecondIntervalIsOneQuickRun) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(seconds=1)", Spec("j"));
  ASSERT_OK(s_->Pause());
  constexpr std::int64_t kTenYears = 3653LL * 24 * 3600;
  clock_.Advance(Delay::Micros(kTenYears * kSecond + 500'000));  // half a second past a fire time
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_OK(s_->Resume());
  Settle();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 1000.0);
  ASSERT_EQ(walls.size(), 1u);
  EXPECT_EQ(walls[0], Instant{T(kTenYears).us + 500'000});
  const std::vector<Event> submitted = events_.Of(kEventJobSubmitted, "j");
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].scheduled_run_times, (std::vector<Instant>{T(kTenYears)}));
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(kTenYears + 1));
  RecordProperty("ten_year_coalesce_ms", std::to_string(ms));
}

TEST_F(SchedulerMisfire, NotCallingRunDueForAWhileIsCoalescedTheSameWay) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "cron(second='*/7')", Spec("j"));
  // A year and a bit without RunDue(); the last fire time <= now is on a second that is a
  // multiple of 7 within the current minute.
  const std::int64_t outage_s = 400LL * 24 * 3600 + 3 * 3600 + 25 * 60 + 33;
  clock_.Advance(Delay::Seconds(outage_s));
  const std::int64_t minute_start_s = outage_s - outage_s % 60;
  const std::int64_t expected_s = minute_start_s + (outage_s % 60) / 7 * 7;
  const auto t0 = std::chrono::steady_clock::now();
  Settle();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 1000.0);
  EXPECT_EQ(walls.size(), 1u);
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(expected_s)}));
  EXPECT_EQ(s_->GetJob("j")->next_run_time,
            T(expected_s + 7 > minute_start_s + 56 ? minute_start_s + 60 : expected_s + 7));
}

TEST_F(SchedulerMisfire, WithoutCoalescingEveryMissedRunRunsInOrderAsOneBatch) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  JobSpec spec = Spec("j");
  spec.coalesce = false;
  AddRecorder(&walls, "interval(seconds=2, start_date='2024-01-01 00:00:00')", std::move(spec));
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(0));
  clock_.Advance(Delay::Seconds(8));  // fire times 0, 2, 4, 6, 8 are all due
  Settle();
  EXPECT_EQ(walls.size(), 5u);
  const std::vector<Event> submitted = events_.Of(kEventJobSubmitted, "j");
  ASSERT_EQ(submitted.size(), 1u);  // spec E6 S03: one submission with every run time
  EXPECT_EQ(submitted[0].scheduled_run_times, (std::vector<Instant>{T(0), T(2), T(4), T(6), T(8)}));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"),
            (std::vector<Instant>{T(0), T(2), T(4), T(6), T(8)}));
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(10));
}

TEST_F(SchedulerMisfire, RunsLaterThanTheGraceTimeAreMissedAndDoNotRun) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  JobSpec spec = Spec("j");
  spec.coalesce = false;
  spec.misfire_grace_us = 3 * kSecond;
  AddRecorder(&walls, "interval(seconds=2, start_date='2024-01-01 00:00:00')", std::move(spec));
  clock_.Advance(Delay::Seconds(7));  // a 7 s backlog: runs 0, 2, 4, 6 late by 7, 5, 3, 1 s
  Settle();
  // Late by more than the grace time (strictly): missed. Exactly the grace time: runs.
  EXPECT_EQ(events_.RunTimes(kEventJobMissed, "j"), (std::vector<Instant>{T(0), T(2)}));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(4), T(6)}));
  EXPECT_EQ(walls.size(), 2u);
  const std::vector<Event> submitted = events_.Of(kEventJobSubmitted, "j");
  ASSERT_EQ(submitted.size(), 1u);
  EXPECT_EQ(submitted[0].scheduled_run_times, (std::vector<Instant>{T(4), T(6)}));
  EXPECT_TRUE(Logged("warning: Run time of job \"j\" was missed by 0:00:07")) << AllLogs();
  // On time again afterwards.
  RunUntil(T(8));
  EXPECT_EQ(walls.back(), T(8));
}

TEST_F(SchedulerMisfire, ACoalescedRunLaterThanTheGraceTimeIsMissed) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  JobSpec spec = Spec("j");
  spec.misfire_grace_us = 3 * kSecond;
  AddRecorder(&walls, "interval(seconds=10)", std::move(spec));
  clock_.Advance(Delay::Seconds(25));  // last fire time 20, late by 5 s
  Settle();
  EXPECT_TRUE(walls.empty());
  EXPECT_EQ(events_.RunTimes(kEventJobMissed, "j"), (std::vector<Instant>{T(20)}));
  EXPECT_EQ(events_.Count(kEventJobSubmitted, "j"), 0u);
  RunUntil(T(30));
  EXPECT_EQ(walls, (std::vector<Instant>{T(30)}));
}

TEST_F(SchedulerMisfire, ALateDateJobBeyondItsGraceTimeIsMissedAndRemoved) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  JobSpec spec = Spec("d");
  spec.misfire_grace_us = 1 * kSecond;
  AddRecorder(&walls, "date(run_date='2024-01-01 00:00:05')", std::move(spec));
  clock_.Advance(Delay::Seconds(15));  // spec E6 S01: 10 s late
  Settle();
  EXPECT_TRUE(walls.empty());
  EXPECT_EQ(events_.RunTimes(kEventJobMissed, "d"), (std::vector<Instant>{T(5)}));
  EXPECT_EQ(events_.Count(kEventJobRemoved, "d"), 1u);
  EXPECT_EQ(s_->job_count(), 0u);
}

TEST_F(SchedulerMisfire, TheGraceTimeIsUnlimitedByDefault) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "date(run_date='2024-01-01 00:00:05')", Spec("d"));
  clock_.Advance(Delay::Seconds(3 * 24 * 3600));  // three days late (spec E6 S02)
  Settle();
  EXPECT_EQ(walls, (std::vector<Instant>{T(3 * 24 * 3600)}));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "d"), (std::vector<Instant>{T(5)}));
  EXPECT_EQ(events_.Count(kEventJobMissed), 0u);
}

// =============================================================================================
// max_instances (spec A10, E6 S07)
// =============================================================================================

class SchedulerMaxInstances : public HostDriven {
 protected:
  void SetUp() override {
    HostDriven::SetUp();
    auto held = std::make_unique<HeldExecutor>(clock_);
    held_ = held.get();
    ASSERT_OK(s_->AddExecutor("held", std::move(held)));
  }
  // Completes every held run first: Shutdown(wait) is tested on its own below.
  void TearDown() override {
    for (int i = 0; i < 100 && s_->state() != SchedulerState::kStopped; ++i) {
      while (held_->held() > 0) held_->RunNext();
      Settle();
      if (held_->held() == 0) break;
    }
    HostDriven::TearDown();
  }
  // An interval job on the held executor.
  std::string AddHeld(std::string id, std::string_view trigger, JobSpec spec = {}) {
    spec.id = std::move(id);
    spec.executor = "held";
    return Add(JobFunction::Bind([this] { runs_.push_back(Now()); }), trigger, std::move(spec));
  }
  // A started scheduler with max_outstanding_runs = 1 and date jobs "a", "b", "c" due at
  // 00:00:05 on the held executor.
  void StartWithRoomForOneRunAndThreeJobsDueAt5() {
    SchedulerOptions o;
    o.max_outstanding_runs = 1;
    Make(o);
    auto held = std::make_unique<HeldExecutor>(clock_);
    held_ = held.get();
    ASSERT_OK(s_->AddExecutor("held", std::move(held)));
    ASSERT_OK(s_->Start());
    for (const char* id : {"a", "b", "c"}) {
      JobSpec spec;
      spec.next_run_time = NextRunTime::At(T(5));
      AddHeld(id, "date(run_date='2024-01-01 00:00:05')", std::move(spec));
    }
  }
  HeldExecutor* held_ = nullptr;  // owned by s_
  std::vector<Instant> runs_;     // wall time of each run
};

// The scheduler submits a pass's runs as a batch and flushes each executor it used; an executor
// whose Flush() could not hand everything over is flushed again on later iterations (until it
// can), and never after it was shut down and removed.
TEST_F(SchedulerMaxInstances, AnExecutorWhoseFlushFailsIsFlushedAgainUntilItSucceeds) {
  ASSERT_OK(s_->Start());
  AddHeld("j", "interval(seconds=10)");
  held_->refuse_flushes = 2;
  RunUntil(T(10));
  EXPECT_EQ(held_->held(), 1u);
  const int after_submit = held_->flushes;
  EXPECT_GE(after_submit, 1);
  ASSERT_OK(s_->RunDue());  // nothing new submitted, but the last flush failed
  ASSERT_OK(s_->RunDue());
  EXPECT_EQ(held_->refuse_flushes, 0);
  const int settled = held_->flushes;
  ASSERT_OK(s_->RunDue());  // flushed successfully: not listed any more
  EXPECT_EQ(held_->flushes, settled);
  EXPECT_GE(settled, after_submit + 1);

  // A flush still failing at shutdown: the executor is shut down (which hands everything over)
  // and may then be removed; a restarted scheduler does not touch it (ASan would say).
  held_->RunNext();
  held_->refuse_flushes = 1000;
  RunUntil(T(20));  // submits the T(20) run; its flush fails
  EXPECT_EQ(held_->held(), 1u);
  const int refused = held_->flushes;
  ASSERT_OK(s_->Shutdown(/*wait=*/false));
  EXPECT_GT(held_->flushes, refused);  // flushed once more on the way down
  held_ = nullptr;
  ASSERT_OK(s_->RemoveExecutor("held"));
  ASSERT_OK(s_->AddExecutor("held", std::make_unique<HeldExecutor>(clock_)));
  ASSERT_OK(s_->Start());
  ASSERT_OK(s_->RunDue());
  ASSERT_OK(s_->Shutdown(/*wait=*/false));
}

TEST_F(SchedulerMaxInstances, ARunDueWhileTheLastIsStillRunningIsDroppedWithJobMaxInstances) {
  ASSERT_OK(s_->Start());
  AddHeld("j", "interval(seconds=10)");
  RunUntil(T(10));
  EXPECT_EQ(held_->held(), 1u);
  RunUntil(T(20));  // the T(10) run is still in progress
  EXPECT_EQ(held_->held(), 1u);
  const std::vector<Event> maxed = events_.Of(kEventJobMaxInstances, "j");
  ASSERT_EQ(maxed.size(), 1u);
  EXPECT_EQ(maxed[0].scheduled_run_times, (std::vector<Instant>{T(20)}));
  EXPECT_TRUE(
      Logged("warning: Execution of job \"j\" skipped: maximum number of running "
             "instances reached (1)"))
      << AllLogs();
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(30));  // dropped, not deferred
  held_->RunNext();
  RunUntil(T(30));
  held_->RunNext();
  Settle();
  EXPECT_EQ(runs_, (std::vector<Instant>{T(20), T(30)}));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(10), T(30)}));
  EXPECT_EQ(events_.Names(kEventJobSubmitted | kEventJobExecuted | kEventJobMaxInstances, "j"),
            (std::vector<std::string>{"JOB_SUBMITTED", "JOB_MAX_INSTANCES", "JOB_EXECUTED",
                                      "JOB_SUBMITTED", "JOB_EXECUTED"}));
}

TEST_F(SchedulerMaxInstances, MaxInstancesTwoLetsTwoRunsOverlap) {
  ASSERT_OK(s_->Start());
  JobSpec spec;
  spec.max_instances = 2;
  AddHeld("j", "interval(seconds=10)", std::move(spec));
  RunUntil(T(30));
  EXPECT_EQ(held_->held(), 2u);
  const std::vector<Event> maxed = events_.Of(kEventJobMaxInstances, "j");
  ASSERT_EQ(maxed.size(), 1u);
  EXPECT_EQ(maxed[0].scheduled_run_times, (std::vector<Instant>{T(30)}));
  held_->RunNext();
  held_->RunNext();
  RunUntil(T(40));
  EXPECT_EQ(held_->held(), 1u);
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(10), T(20)}));
}

TEST_F(SchedulerMaxInstances, WithTheWaitPolicyTheRunHappensWhenTheInstanceFinishes) {
  ASSERT_OK(s_->Start());
  JobSpec spec;
  spec.max_instances_policy = MaxInstancesPolicy::kWait;
  AddHeld("j", "interval(seconds=10)", std::move(spec));
  RunUntil(T(10));
  RunUntil(T(25));  // due at 20 while the 10 run is in progress: it waits
  EXPECT_EQ(held_->held(), 1u);
  EXPECT_EQ(events_.Count(kEventJobMaxInstances), 0u);
  EXPECT_EQ(events_.Count(kEventJobSubmitted, "j"), 1u);
  held_->RunNext();  // the 10 run finishes at 25
  Settle();
  EXPECT_EQ(held_->held(), 1u);  // the waiting 20 run was submitted right away
  const std::vector<Event> submitted = events_.Of(kEventJobSubmitted, "j");
  ASSERT_EQ(submitted.size(), 2u);
  EXPECT_EQ(submitted[1].scheduled_run_times, (std::vector<Instant>{T(20)}));
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(30));
  held_->RunNext();
  RunUntil(T(30));
  held_->RunNext();
  Settle();
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(10), T(20), T(30)}));
}

TEST_F(SchedulerMaxInstances, WaitingRunsAreCoalescedIntoTheLastFireTime) {
  ASSERT_OK(s_->Start());
  JobSpec spec;
  spec.max_instances_policy = MaxInstancesPolicy::kWait;
  AddHeld("j", "interval(seconds=10)", std::move(spec));
  RunUntil(T(45));  // 20, 30 and 40 come due while the 10 run is in progress
  EXPECT_EQ(held_->held(), 1u);
  held_->RunNext();
  Settle();
  const std::vector<Event> submitted = events_.Of(kEventJobSubmitted, "j");
  ASSERT_EQ(submitted.size(), 2u);
  EXPECT_EQ(submitted[1].scheduled_run_times, (std::vector<Instant>{T(40)}));
  EXPECT_EQ(s_->GetJob("j")->next_run_time, T(50));
}

TEST_F(SchedulerMaxInstances, WaitingRunsWithoutCoalescingRunAsOneBatch) {
  ASSERT_OK(s_->Start());
  JobSpec spec;
  spec.max_instances_policy = MaxInstancesPolicy::kWait;
  spec.coalesce = false;
  AddHeld("j", "interval(seconds=10)", std::move(spec));
  RunUntil(T(35));
  held_->RunNext();
  Settle();
  const std::vector<Event> submitted = events_.Of(kEventJobSubmitted, "j");
  ASSERT_EQ(submitted.size(), 2u);
  EXPECT_EQ(submitted[1].scheduled_run_times, (std::vector<Instant>{T(20), T(30)}));
}

TEST_F(SchedulerMaxInstances, ABatchOfMissedRunsIsOneInstanceRunInOrder) {
  ASSERT_OK(s_->Start());
  JobSpec spec;
  spec.coalesce = false;
  AddHeld("j", "interval(seconds=10, start_date='2024-01-01 00:00:00')", std::move(spec));
  clock_.Advance(Delay::Seconds(20));
  Settle();  // batch 0, 10, 20: the first run is submitted, the others follow it
  EXPECT_EQ(held_->held(), 1u);
  RunUntil(T(30));  // the batch is one instance: the 30 run is dropped
  EXPECT_EQ(events_.Count(kEventJobMaxInstances, "j"), 1u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(held_->held(), 1u) << i;  // one run at a time
    held_->RunNext();
    Settle();
  }
  EXPECT_EQ(held_->held(), 0u);
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(0), T(10), T(20)}));
  RunUntil(T(40));
  EXPECT_EQ(held_->held(), 1u);  // the instance is free again
}

TEST_F(SchedulerMaxInstances, DueRunsBeyondMaxOutstandingRunsWaitInOrderWithoutSpinning) {
  ASSERT_NO_FATAL_FAILURE(StartWithRoomForOneRunAndThreeJobsDueAt5());
  // One run is outstanding; the other two wait for its completion. A host following
  // NextDeadline() is not asked to call RunDue() again until something can progress (the
  // completion's wake-up): RunUntil() reports a livelock otherwise.
  RunUntil(T(5));
  EXPECT_EQ(held_->held(), 1u);
  EXPECT_EQ(events_.Count(kEventJobSubmitted), 1u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(held_->held(), 1u) << i;
    held_->RunNext();
    RunUntil(T(6 + i));
  }
  EXPECT_EQ(held_->held(), 0u);
  EXPECT_EQ(events_.Count(kEventJobExecuted), 3u);
  EXPECT_EQ(events_.Count(kEventJobMaxInstances | kEventJobMissed), 0u);
  for (const Event& e : events_.Of(kEventJobExecuted)) EXPECT_EQ(e.scheduled_run_time, T(5));
  EXPECT_EQ(s_->job_count(), 0u);
}

// Fired jobs left over by a full executor wait as "whatever job the record holds" (so that
// blocking a burst reads no records): a waiting job removed and its record reused by a new job
// must not run, the new job runs once if it is due and not before its time if it is not.
TEST_F(SchedulerMaxInstances, AWaitingJobRemovedAndItsRecordReusedNeverRunsAndTheNewJobRunsOnTime) {
  ASSERT_NO_FATAL_FAILURE(StartWithRoomForOneRunAndThreeJobsDueAt5());
  RunUntil(T(5));
  ASSERT_EQ(held_->held(), 1u);  // a runs; b and c wait for room
  ASSERT_OK(s_->RemoveJob("b"));
  ASSERT_OK(s_->RemoveJob("c"));
  JobSpec due_now;
  due_now.next_run_time = NextRunTime::At(T(5));
  AddHeld("d", "date(run_date='2024-01-01 00:00:05')", std::move(due_now));  // due already
  JobSpec later;
  later.next_run_time = NextRunTime::At(T(50));
  AddHeld("e", "date(run_date='2024-01-01 00:00:50')", std::move(later));
  for (int i = 0; i < 3 && held_->held() > 0; ++i) {
    held_->RunNext();
    RunUntil(T(6 + i));
  }
  EXPECT_EQ(held_->held(), 0u);
  EXPECT_EQ(events_.Count(kEventJobExecuted, "a"), 1u);
  EXPECT_EQ(events_.Count(kEventJobSubmitted, "b") + events_.Count(kEventJobSubmitted, "c"), 0u);
  EXPECT_EQ(events_.Count(kEventJobExecuted, "d"), 1u);
  EXPECT_EQ(events_.Count(kEventJobSubmitted, "e"), 0u);  // not before 00:00:50
  RunUntil(T(50));
  ASSERT_EQ(held_->held(), 1u);
  held_->RunNext();
  RunUntil(T(51));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "e"), (std::vector<Instant>{T(50)}));
  EXPECT_EQ(events_.Count(kEventJobExecuted, "d"), 1u);
  EXPECT_EQ(s_->job_count(), 0u);
}

TEST_F(SchedulerMaxInstances, ShutdownWithWaitFinishesABatchInProgress) {
  auto pool = std::make_unique<ThreadPoolExecutor>(1, 16, clock_);
  ASSERT_OK(s_->AddExecutor("pool", std::move(pool)));
  ASSERT_OK(s_->Start());
  std::atomic<int> runs{0};
  JobSpec spec = Spec("j");
  spec.coalesce = false;
  spec.executor = "pool";
  Add(JobFunction::Bind([&] { runs.fetch_add(1); }),
      "interval(seconds=10, start_date='2024-01-01 00:00:00')", std::move(spec));
  clock_.Advance(Delay::Seconds(20));
  ASSERT_OK(s_->RunDue());  // JOB_SUBMITTED [0, 10, 20]: the batch starts
  ASSERT_EQ(events_.Count(kEventJobSubmitted, "j"), 1u);
  ASSERT_OK(s_->Shutdown(/*wait=*/true));  // lets queued and running jobs finish
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(0), T(10), T(20)}));
}

TEST(SchedulerShutdown, ShutdownWithWaitLetsAnExecutorFinishItsRunsInItsOwnShutdown) {
  // The Executor contract lets an executor complete accepted runs as late as in its
  // Shutdown() (HeldExecutor does). In a child process, with a 30 s alarm: a hang fails here.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::alarm(30);
        SimClock clock(Deadline{0}, kT0);
        int runs = 0;
        {
          SchedulerOptions o;
          o.mode = SchedulerMode::kHostDriven;
          o.clock = &clock;
          Scheduler s(o);
          (void)s.AddExecutor("default", std::make_unique<HeldExecutor>(clock));
          (void)s.Start();
          clock.Advance(Delay::Seconds(1));
          JobSpec spec = Spec("j");
          spec.fn = JobFunction::Bind([&] { ++runs; });
          spec.next_run_time = NextRunTime::Now();
          (void)s.AddJob(std::move(spec));
          (void)s.RunDue();  // submitted; held until the executor shuts down
          (void)s.Shutdown(/*wait=*/true);
        }
        std::fprintf(stderr, "runs=%d\n", runs);
        std::_Exit(runs == 1 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "runs=1");
}

TEST_F(SchedulerMaxInstances, ARemovedJobsRunningInstanceStillReportsItsEnd) {
  ASSERT_OK(s_->Start());
  AddHeld("j", "interval(seconds=10)");
  RunUntil(T(10));
  ASSERT_OK(s_->RemoveJob("j"));
  held_->RunNext();
  Settle();
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(10)}));
  EXPECT_EQ(s_->job_count(), 0u);
}

TEST_F(SchedulerMaxInstances, AThreadPoolRunThatIsStillRunningBlocksTheNextOne) {
  auto pool = std::make_unique<ThreadPoolExecutor>(1, 16, clock_);
  ThreadPoolExecutor* pool_ptr = pool.get();
  ASSERT_OK(s_->AddExecutor("pool", std::move(pool)));
  ASSERT_OK(s_->Start());
  std::promise<void> started, release;
  std::shared_future<void> release_f = release.get_future().share();
  std::atomic<int> runs{0};
  JobSpec spec = Spec("j");
  spec.executor = "pool";
  Add(JobFunction::Bind([&, release_f] {
        if (runs.fetch_add(1) == 0) started.set_value();
        release_f.wait();
      }),
      "interval(seconds=10)", std::move(spec));
  RunUntil(T(10));
  started.get_future().wait();  // the job is running on the worker
  RunUntil(T(20));
  EXPECT_EQ(events_.Count(kEventJobMaxInstances, "j"), 1u);
  release.set_value();
  // Wait for the completion to come back (the scheduler reports it through NextDeadline()).
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (!(s_->NextDeadline() && *s_->NextDeadline() <= clock_.Now()) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  Settle();
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(10)}));
  EXPECT_EQ(runs.load(), 1);
  ASSERT_OK(s_->Shutdown());
  EXPECT_EQ(pool_ptr->running(), 0u);
}

// =============================================================================================
// Wall-clock steps and suspend
// =============================================================================================

class SchedulerWallClock : public HostDriven {};

TEST_F(SchedulerWallClock, AForwardStepRunsTheJobsThatBecameDue) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "interval(minutes=1)", Spec("j"));
  RunUntil(T(30));
  clock_.StepWall(10 * 60 * kSecond);  // NTP step: 00:00:30 -> 00:10:30
  Settle();                            // NextDeadline() says "now"
  RunUntil(T(660));
  EXPECT_EQ(walls, (std::vector<Instant>{T(60 * 10 + 30), T(660)}));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "j"), (std::vector<Instant>{T(600), T(660)}));
}

TEST_F(SchedulerWallClock, AForwardStepAppliesTheMisfireGraceTime) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  JobSpec spec = Spec("j");
  spec.misfire_grace_us = 10 * kSecond;
  AddRecorder(&walls, "interval(minutes=1)", std::move(spec));
  RunUntil(T(30));
  clock_.StepWall(10 * 60 * kSecond);
  Settle();
  EXPECT_TRUE(walls.empty());
  EXPECT_EQ(events_.RunTimes(kEventJobMissed, "j"), (std::vector<Instant>{T(600)}));
  RunUntil(T(660));
  EXPECT_EQ(walls, (std::vector<Instant>{T(660)}));
}

TEST_F(SchedulerWallClock, ABackwardStepOfAnHourStillRunsANineOClockJobAtNine) {
  SchedulerOptions o;
  o.max_sleep_us = 4 * kHour;  // the host sleeps the whole hour to 09:00 in one go
  Make(o);
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "cron(hour='9')", Spec("nine"));
  RunUntil(T(8 * 3600));
  const std::optional<Deadline> before = s_->NextDeadline();  // a host sleeps until this
  ASSERT_TRUE(before.has_value());
  clock_.StepWall(-kHour);  // 08:00 -> 07:00 while the host sleeps
  clock_.AdvanceTo(*before);
  ASSERT_OK(s_->RunDue());
  EXPECT_TRUE(walls.empty()) << "ran at " << FormatIsoUtc(walls[0]);  // it is 08:00 again
  const std::optional<Deadline> after = s_->NextDeadline();  // re-mapped: 09:00 is 1 h away
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(*after - clock_.Now(), Delay::Seconds(3600));
  RunUntil(T(9 * 3600));
  EXPECT_EQ(walls, (std::vector<Instant>{T(9 * 3600)}));
  RunUntil(T(33 * 3600));
  EXPECT_EQ(walls, (std::vector<Instant>{T(9 * 3600), T(33 * 3600)}));
}

TEST_F(SchedulerWallClock, NextDeadlineIsNoLaterThanMaxSleepSoStepsAreNoticed) {
  SchedulerOptions o;
  o.max_sleep_us = 5 * kSecond;
  Make(o);
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "cron(hour='9')", Spec("nine"));
  const std::optional<Deadline> d = s_->NextDeadline();
  ASSERT_TRUE(d.has_value());
  EXPECT_LE(*d, clock_.Now() + Delay::Seconds(5));
}

TEST_F(SchedulerWallClock, AfterASuspendTheMissedRunRunsOnceAtResume) {
  ASSERT_OK(s_->Start());
  std::vector<Instant> walls;
  AddRecorder(&walls, "cron(hour='9')", Spec("nine"));
  std::vector<Instant> later;
  AddRecorder(&later, "cron(hour='11')", Spec("eleven"));
  RunUntil(T(8 * 3600));
  clock_.Suspend(Delay::Seconds(2 * 3600));  // asleep 08:00 -> 10:00; monotonic time stands
  Settle();
  EXPECT_EQ(walls, (std::vector<Instant>{T(10 * 3600)}));
  EXPECT_EQ(events_.RunTimes(kEventJobExecuted, "nine"), (std::vector<Instant>{T(9 * 3600)}));
  RunUntil(T(12 * 3600));
  EXPECT_EQ(later, (std::vector<Instant>{T(11 * 3600)}));
  EXPECT_EQ(s_->GetJob("nine")->next_run_time, T(33 * 3600));
}

// =============================================================================================
// Persistent stores: group commit, the answer after the commit, retry after a failure
// =============================================================================================

// A persistent, transactional store in memory: changes between BeginBatch() and CommitBatch()
// are staged and applied at the commit; counts batches; fails the next `fail_commits` commits
// (or every write while `fail_writes`). Thread-safe (tests read it while the scheduler runs).
class RecordingStore final : public JobStore {
 public:
  Status Start(std::string_view) override { return OkStatus(); }
  void Shutdown() override {}
  bool persistent() const override { return true; }
  Result<std::optional<JobState>> LookupJob(std::string_view id) const override {
    std::lock_guard<std::mutex> lk(mu_);
    return committed_.LookupJob(id);
  }
  Status GetDueJobs(Instant now, std::vector<JobState>* out) const override {
    std::lock_guard<std::mutex> lk(mu_);
    return committed_.GetDueJobs(now, out);
  }
  Result<std::optional<Instant>> GetNextRunTime() const override {
    std::lock_guard<std::mutex> lk(mu_);
    return committed_.GetNextRunTime();
  }
  Status GetAllJobs(std::vector<JobState>* out) const override {
    std::lock_guard<std::mutex> lk(mu_);
    return committed_.GetAllJobs(out);
  }
  Status AddJob(const JobState& job) override { return Stage(job, 'a'); }
  Status UpdateJob(const JobState& job) override { return Stage(job, 'u'); }
  Status RemoveJob(std::string_view id) override {
    JobState j;
    j.id = std::string(id);
    return Stage(j, 'r');
  }
  Status RemoveAllJobs() override {
    std::lock_guard<std::mutex> lk(mu_);
    return committed_.RemoveAllJobs();
  }
  Status BeginBatch() override {
    std::lock_guard<std::mutex> lk(mu_);
    EXPECT_FALSE(in_batch_) << "nested batch";
    in_batch_ = true;
    staged_.clear();
    return OkStatus();
  }
  Status CommitBatch() override {
    std::unique_lock<std::mutex> lk(mu_);
    held_cv_.wait(lk, [&] { return !hold_; });
    EXPECT_TRUE(in_batch_) << "commit without a batch";
    in_batch_ = false;
    if (fail_commits_ > 0) {
      --fail_commits_;
      staged_.clear();
      return Status(StatusCode::kUnavailable, "disk is full");
    }
    for (const auto& [op, j] : staged_) {
      if (op == 'a') EXPECT_OK(committed_.AddJob(j));
      if (op == 'u') EXPECT_OK(committed_.UpdateJob(j));
      if (op == 'r') EXPECT_OK(committed_.RemoveJob(j.id));
    }
    ++commits_;
    last_batch_size_ = staged_.size();
    staged_.clear();
    return OkStatus();
  }
  void AbortBatch() override {
    std::lock_guard<std::mutex> lk(mu_);
    in_batch_ = false;
    staged_.clear();
  }

  void FailCommits(int n) {
    std::lock_guard<std::mutex> lk(mu_);
    fail_commits_ = n;
  }
  // While held, CommitBatch() waits (the scheduler thread stalls in its group commit).
  void HoldCommits(bool hold) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      hold_ = hold;
    }
    held_cv_.notify_all();
  }
  int commits() const {
    std::lock_guard<std::mutex> lk(mu_);
    return commits_;
  }
  std::size_t last_batch_size() const {
    std::lock_guard<std::mutex> lk(mu_);
    return last_batch_size_;
  }
  std::optional<JobState> Get(std::string_view id) const { return *LookupJob(id); }

 private:
  // Checks the op against the committed state plus what is staged (the store's view inside
  // the batch), so the scheduler's upserts are exercised.
  Status Stage(const JobState& j, char op) {
    std::lock_guard<std::mutex> lk(mu_);
    EXPECT_TRUE(in_batch_) << "a write outside a batch";
    bool exists = committed_.LookupJob(j.id)->has_value();
    for (const auto& [o, sj] : staged_) {
      if (sj.id == j.id) exists = o != 'r';
    }
    if (op == 'a' && exists) return ConflictingIdError(j.id);
    if (op != 'a' && !exists) return JobLookupError(j.id);
    staged_.emplace_back(op, j);
    return OkStatus();
  }

  mutable std::mutex mu_;
  MemoryJobStore committed_;
  std::vector<std::pair<char, JobState>> staged_;
  bool in_batch_ = false;
  int fail_commits_ = 0;
  int commits_ = 0;
  std::size_t last_batch_size_ = 0;
  bool hold_ = false;
  std::condition_variable held_cv_;
};

class SchedulerStores : public HostDriven {
 protected:
  void SetUp() override {
    SchedulerOptions o;
    o.jobstore_retry_interval_us = 10 * kSecond;
    o.max_sleep_us = kHour;  // so NextDeadline() shows what the loop waits for
    Make(o);
    auto st = std::make_unique<RecordingStore>();
    disk_ = st.get();
    ASSERT_OK(s_->AddJobStore("disk", std::move(st)));
    ASSERT_OK(s_->AddTask("noop", [](const TaskArgs&) {}));
  }
  // A job of the persistent store: it runs a task (a store keeps no C++ callable).
  JobSpec OnDisk(std::string id) {
    JobSpec spec;
    spec.id = std::move(id);
    spec.jobstore = "disk";
    spec.task = "noop";
    return spec;
  }
  RecordingStore* disk_ = nullptr;  // owned by s_
};

TEST(SchedulerOptionsCheck, OutOfRangeLoopOptionsAreRejectedByStartWithTheirName) {
  SimClock clock(Deadline{0}, kT0);
  auto start = [&](auto change) {
    SchedulerOptions o;
    o.mode = SchedulerMode::kHostDriven;
    o.clock = &clock;
    change(o);
    Scheduler s(o);
    const Status st = s.Start();
    if (st.ok()) {
      EXPECT_OK(s.Shutdown());
    } else {
      EXPECT_EQ(s.state(), SchedulerState::kStopped);  // nothing was started
    }
    return st;
  };
  const Status sleep = start([](SchedulerOptions& o) { o.max_sleep_us = 0; });
  EXPECT_EQ(sleep.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(sleep.message()).find("max_sleep_us"), std::string::npos);
  const Status spin = start([](SchedulerOptions& o) { o.spin_us = -1; });
  EXPECT_EQ(spin.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(spin.message()).find("spin_us"), std::string::npos);
  EXPECT_EQ(start([](SchedulerOptions& o) { o.spin_us = 2'000'000; }).code(),
            StatusCode::kInvalidArgument);
  const Status retry = start([](SchedulerOptions& o) { o.jobstore_retry_interval_us = 0; });
  EXPECT_EQ(retry.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(retry.message()).find("jobstore_retry_interval_us"), std::string::npos);
  EXPECT_OK(start([](SchedulerOptions& o) { o.spin_us = 0; }));
}

TEST_F(SchedulerStores, TheRunsOfOneIterationCommitInOneBatch) {
  ASSERT_OK(s_->Start());
  for (const char* id : {"a", "b", "c"})
    Add(JobFunction::Bind([] {}), "interval(seconds=10)", OnDisk(id));
  const int commits = disk_->commits();
  EXPECT_EQ(commits, 3);  // each call made outside an iteration commits on its own
  RunUntil(T(10));        // all three are due at T(10): one iteration
  EXPECT_EQ(disk_->commits(), commits + 1);
  EXPECT_EQ(disk_->last_batch_size(), 3u);
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(disk_->Get(id).has_value()) << id;
    EXPECT_EQ(disk_->Get(id)->next_run_time, T(20)) << id;
  }
  // The memory store ("default") is never written on the hot path.
  Add(JobFunction::Bind([] {}), "interval(seconds=10)", {});
  EXPECT_EQ(disk_->commits(), commits + 1);
}

TEST_F(SchedulerStores, AFailedCommitIsLoggedRetriedAfterTheIntervalAndTheStoreCatchesUp) {
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=100)", OnDisk("kept"));
  Add(JobFunction::Bind([] {}), "interval(seconds=100)", OnDisk("doomed"));
  disk_->FailCommits(1);
  JobSpec fresh = OnDisk("new");  // this commit fails: the caller is told, the job is kept
  fresh.trigger = Trig("interval(seconds=100)", Now());
  Result<std::string> added = s_->AddJob(std::move(fresh));
  EXPECT_EQ(added.status().code(), StatusCode::kUnavailable);
  EXPECT_STREQ(added.status().message(),
               "not yet durable: job store \"disk\": committing failed: disk is full (the change "
               "is kept and written again in 0:00:10)");
  EXPECT_TRUE(
      Logged("error: job store \"disk\": committing failed: disk is full; retrying in "
             "0:00:10"))
      << AllLogs();
  EXPECT_FALSE(disk_->Get("new").has_value());
  // Failing: later changes are not written either, only remembered (and not yet durable).
  EXPECT_EQ(s_->RemoveJob("doomed").code(), StatusCode::kUnavailable);
  EXPECT_FALSE(s_->GetJob("doomed").has_value());
  EXPECT_TRUE(disk_->Get("doomed").has_value());
  const int commits = disk_->commits();
  // The next wake-up is the retry (10 s after the failure), not the jobs' T(100).
  ASSERT_TRUE(s_->NextDeadline().has_value());
  EXPECT_EQ(*s_->NextDeadline(), clock_.Now() + Delay::Micros(10 * kSecond));
  RunUntil(T(9));
  EXPECT_EQ(disk_->commits(), commits);  // not before the retry interval
  RunUntil(T(11));                       // the loop wakes for the retry by itself
  EXPECT_EQ(disk_->commits(), commits + 1);
  ASSERT_TRUE(disk_->Get("new").has_value());
  EXPECT_EQ(disk_->Get("new")->next_run_time, T(100));
  EXPECT_FALSE(disk_->Get("doomed").has_value());
  EXPECT_TRUE(disk_->Get("kept").has_value());
  EXPECT_EQ(s_->job_count(), 2u);  // the scheduler itself never lost a job
}

TEST_F(SchedulerStores, ChangesMadeWhileStoppedReachTheStoreAtTheNextStart) {
  ASSERT_OK(s_->Start());
  Add(JobFunction::Bind([] {}), "interval(seconds=100)", OnDisk("x"));
  Add(JobFunction::Bind([] {}), "interval(seconds=100)", OnDisk("y"));
  ASSERT_OK(s_->Shutdown());
  ASSERT_OK(s_->RemoveJob("x"));
  EXPECT_TRUE(disk_->Get("x").has_value());  // the store is shut down: not written now
  ASSERT_OK(s_->Start());
  EXPECT_FALSE(disk_->Get("x").has_value());
  EXPECT_TRUE(disk_->Get("y").has_value());
}

// =============================================================================================
// Background mode on the simulated clock
// =============================================================================================

class SchedulerBackground : public ::testing::Test {
 protected:
  SchedulerBackground() : clock_(Deadline{0}, kT0) {}
  void SetUp() override {
    Recreate(BackgroundOptions());
    ASSERT_OK(s_->AddExecutor("default", std::make_unique<InlineExecutor>(clock_)));
    s_->AddListener([this](const Event& e) { events_.Record(e); });
    ClearLogs();
  }
  SchedulerOptions BackgroundOptions() {
    SchedulerOptions o;
    o.mode = SchedulerMode::kBackground;
    o.clock = &clock_;
    return o;
  }
  // A fresh scheduler (no executor, no listener yet) in place of the fixture's.
  void Recreate(const SchedulerOptions& o) {
    s_.reset();
    s_ = std::make_unique<Scheduler>(o);
  }
  void TearDown() override {
    if (s_->state() != SchedulerState::kStopped) EXPECT_OK(s_->Shutdown());
    EXPECT_EQ(s_->state(), SchedulerState::kStopped);
    s_.reset();
    EXPECT_EQ(clock_.SleepingWaiters(), 0);
  }
  Instant Now() const { return Instant{clock_.WallMicros()}; }

  // Moves simulated time to each deadline of the parked threads, up to `wall`, each time after
  // all `sleepers_` threads (the scheduler, plus pool workers) have parked, so every step is
  // fully processed before the next.
  void StepUntil(Instant wall) {
    for (int i = 0; i < 1'000'000; ++i) {
      clock_.WaitForSleepers(sleepers_);
      const Deadline next = clock_.NextDeadline();
      const Deadline mono = clock_.Now();
      const std::int64_t wall_now = clock_.WallMicros();
      if (wall_now >= wall.us) return;
      if (next.is_infinite() || wall_now + (next.ns - mono.ns) / 1000 > wall.us) {
        clock_.Advance(Delay::Micros(wall.us - wall_now));
      } else {
        clock_.AdvanceTo(next);
      }
    }
    ADD_FAILURE() << "StepUntil made no progress";
  }

  SimClock clock_;
  EventLog events_;
  int sleepers_ = 1;
  std::unique_ptr<Scheduler> s_;
};

// SchedulerBackground with a RecordingStore "disk" and a task "noop", started.
class SchedulerStoresBackground : public SchedulerBackground {
 protected:
  void SetUp() override {
    SchedulerBackground::SetUp();
    auto st = std::make_unique<RecordingStore>();
    disk_ = st.get();
    ASSERT_OK(s_->AddJobStore("disk", std::move(st)));
    ASSERT_OK(s_->AddTask("noop", [](const TaskArgs&) {}));
    ASSERT_OK(s_->Start());
  }
  // An hourly job of the store, added and committed.
  Result<std::string> AddOnDisk(std::string id) {
    JobSpec spec;
    spec.id = std::move(id);
    spec.jobstore = "disk";
    spec.task = "noop";
    spec.trigger = Trig("interval(hours=1)", T(0));
    return s_->AddJob(std::move(spec));
  }
  RecordingStore* disk_ = nullptr;  // owned by s_
};

TEST_F(SchedulerStoresBackground, ACallReturnsOnlyAfterItsChangeIsCommitted) {
  Scheduler& s = *s_;
  RecordingStore* disk = disk_;
  for (int i = 0; i < 50; ++i) {
    Result<std::string> id = AddOnDisk("j" + std::to_string(i));
    ASSERT_TRUE(id.ok()) << id.status().message();
    ASSERT_TRUE(disk->Get(*id).has_value()) << *id << " returned before its commit";
    JobChanges rename;
    rename.name = "renamed";
    ASSERT_OK(s.ModifyJob(*id, std::move(rename)));
    ASSERT_EQ(disk->Get(*id)->name, "renamed");
  }
  ASSERT_OK(s.Shutdown());
}

// A call given a CommitHandle returns once its change is applied; the handle completes at the
// commit, with the status a waiting call would have returned.
TEST_F(SchedulerStoresBackground, ACallWithACommitHandleReturnsBeforeItsCommit) {
  Scheduler& s = *s_;
  RecordingStore* disk = disk_;
  ASSERT_TRUE(AddOnDisk("a").ok());
  ASSERT_TRUE(AddOnDisk("b").ok());

  // The scheduler thread stalls in the commit; the call has already returned.
  disk->HoldCommits(true);
  CommitHandle paused;
  ASSERT_OK(s.PauseJob("a", {}, &paused));
  EXPECT_FALSE(paused.Ready());
  EXPECT_TRUE(disk->Get("a")->next_run_time.has_value());  // not on disk yet
  disk->HoldCommits(false);
  EXPECT_OK(paused.Wait());
  EXPECT_FALSE(disk->Get("a")->next_run_time.has_value());

  // What a waiting call would have said, on the handle too.
  CommitHandle missing;
  EXPECT_EQ(s.RemoveJob("nope", {}, &missing).code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.Wait().code(), StatusCode::kNotFound);
  CommitHandle resumed;
  Result<bool> r = s.ResumeJob("a", {}, &resumed);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_OK(resumed.Wait());
  EXPECT_TRUE(disk->Get("a")->next_run_time.has_value());
  disk->FailCommits(1);
  CommitHandle renamed;
  JobChanges rename;
  rename.name = "renamed";
  ASSERT_OK(s.ModifyJob("b", std::move(rename), {}, &renamed));  // applied
  const Status durable = renamed.Wait();
  EXPECT_EQ(durable.code(), StatusCode::kUnavailable);
  EXPECT_NE(std::string(durable.message()).find("not yet durable"), std::string::npos)
      << durable.message();
  ASSERT_OK(s.Shutdown());

  // Stopped: applied to the table, written at the next Start(); the handle completes at once.
  CommitHandle removed;
  ASSERT_OK(s.RemoveJob("b", {}, &removed));
  EXPECT_TRUE(removed.Ready());
  EXPECT_OK(removed.Wait());
  ASSERT_OK(s.Start());
  EXPECT_FALSE(disk->Get("b").has_value());
  ASSERT_OK(s.Shutdown());
}

TEST_F(SchedulerBackground, StartSpawnsTheSchedulerThreadAndJobsRunAtTheirFireTimes) {
  std::mutex mu;
  std::vector<Instant> walls;
  std::set<std::thread::id> threads;
  JobSpec spec = Spec("j");
  spec.fn = JobFunction::Bind([&] {
    std::lock_guard<std::mutex> lk(mu);
    walls.push_back(Now());
    threads.insert(std::this_thread::get_id());
  });
  spec.trigger = Trig("interval(seconds=10)", Now());
  ASSERT_TRUE(s_->AddJob(std::move(spec)).ok());
  ASSERT_OK(s_->Start());
  StepUntil(T(30));
  ASSERT_OK(s_->Shutdown());  // before the job's state goes away
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(walls, (std::vector<Instant>{T(10), T(20), T(30)}));
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_NE(*threads.begin(), std::this_thread::get_id());
}

TEST_F(SchedulerBackground, AJobAddedFromAnotherThreadWhileRunningIsScheduled) {
  ASSERT_OK(s_->Start());
  clock_.WaitForSleepers(1);
  std::mutex mu;
  std::vector<Instant> walls;
  std::thread adder([&] {
    JobSpec spec = Spec("j");
    spec.fn = JobFunction::Bind([&] {
      std::lock_guard<std::mutex> lk(mu);
      walls.push_back(Now());
    });
    spec.trigger = Trig("interval(seconds=5)", Now());
    const Result<std::string> id = s_->AddJob(std::move(spec));
    EXPECT_TRUE(id.ok()) << id.status().message();
    EXPECT_TRUE(s_->GetJob("j").has_value());
  });
  adder.join();
  StepUntil(T(15));
  ASSERT_OK(s_->Shutdown());
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(walls, (std::vector<Instant>{T(5), T(10), T(15)}));
  EXPECT_EQ(events_.Count(kEventJobAdded, "j"), 1u);
}

TEST_F(SchedulerBackground, ShutdownWaitsForTheSchedulerThreadAndARestartWorks) {
  ASSERT_OK(s_->Start());
  clock_.WaitForSleepers(1);
  ASSERT_OK(s_->Shutdown(/*wait=*/true));
  EXPECT_EQ(s_->state(), SchedulerState::kStopped);
  EXPECT_EQ(events_.Count(kEventSchedulerShutdown), 1u);  // delivered before Shutdown returned
  EXPECT_EQ(clock_.SleepingWaiters(), 0);                 // the thread is gone
  ASSERT_OK(s_->Start());
  clock_.WaitForSleepers(1);
  ASSERT_OK(s_->Shutdown(/*wait=*/false));
  EXPECT_EQ(events_.Count(kEventSchedulerShutdown), 2u);
}

TEST_F(SchedulerBackground, AnInlineJobMayShutDownTheSchedulerWithoutDeadlock) {
  std::atomic<bool> shutdown_ok{false};
  JobSpec spec = Spec("stopper");
  spec.fn = JobFunction::Bind([&] { shutdown_ok = s_->Shutdown().ok(); });
  spec.trigger = Trig("interval(seconds=10)", Now());
  ASSERT_TRUE(s_->AddJob(std::move(spec)).ok());
  ASSERT_OK(s_->Start());
  clock_.WaitForSleepers(1);
  clock_.AdvanceTo(clock_.NextDeadline());
  while (clock_.WallMicros() < T(10).us) {
    clock_.WaitForSleepers(1);
    clock_.AdvanceTo(clock_.NextDeadline());
  }
  ASSERT_TRUE(events_.WaitFor(kEventSchedulerShutdown));
  EXPECT_TRUE(shutdown_ok);
  EXPECT_EQ(s_->state(), SchedulerState::kStopped);
  // The job stays (memory store) and a restart runs it again.
  ASSERT_TRUE(s_->GetJob("stopper").has_value());
  events_.Clear();
  ASSERT_OK(s_->Start());
  StepUntil(T(15));
  ASSERT_OK(s_->Pause());  // keeps the stopper from stopping us again
  EXPECT_EQ(s_->state(), SchedulerState::kPaused);
}

TEST_F(SchedulerBackground, APoolJobMayShutDownTheSchedulerWithoutDeadlock) {
  // A fresh scheduler whose default executor is a one-thread pool.
  Recreate(BackgroundOptions());
  ASSERT_OK(s_->AddExecutor("default", std::make_unique<ThreadPoolExecutor>(1, 16, clock_)));
  s_->AddListener([this](const Event& e) { events_.Record(e); });
  sleepers_ = 2;
  std::atomic<bool> shutdown_ok{false};
  std::atomic<bool> returned{false};
  JobSpec spec = Spec("stopper");
  spec.fn = JobFunction::Bind([&] {
    shutdown_ok = s_->Shutdown(/*wait=*/true).ok();
    returned = true;
  });
  spec.next_run_time = NextRunTime::Now();
  ASSERT_TRUE(s_->AddJob(std::move(spec)).ok());
  ASSERT_OK(s_->Start());
  ASSERT_TRUE(events_.WaitFor(kEventSchedulerShutdown));
  ASSERT_OK(s_->Start());  // joins the old thread first
  ASSERT_OK(s_->Shutdown());
  EXPECT_TRUE(shutdown_ok);
  EXPECT_TRUE(returned);
  EXPECT_EQ(events_.Count(kEventJobExecuted, "stopper"), 1u);
}

TEST_F(SchedulerBackground, AddJobAsyncReturnsTheIdAtOnceAndTheJobIsAddedByTheLoop) {
  ASSERT_OK(s_->Start());
  clock_.WaitForSleepers(1);
  std::atomic<int> runs{0};
  JobSpec now;  // generated id, due now: wakes the loop
  now.fn = JobFunction::Bind([&] { runs.fetch_add(1); });
  now.next_run_time = NextRunTime::Now();
  const Result<std::string> id = s_->AddJobAsync(std::move(now));
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_FALSE(id->empty());
  ASSERT_TRUE(events_.WaitFor(kEventJobExecuted, *id));
  EXPECT_EQ(runs.load(), 1);
  JobSpec later = Spec("later");  // due in 10 s: added at the loop's next wake at the latest
  later.fn = JobFunction::Bind([&] { runs.fetch_add(1); });
  later.trigger = Trig("interval(seconds=10)", Now());
  const Result<std::string> later_id = s_->AddJobAsync(std::move(later));
  ASSERT_TRUE(later_id.ok());
  EXPECT_EQ(*later_id, "later");
  StepUntil(T(10));
  ASSERT_OK(s_->Shutdown());
  EXPECT_EQ(events_.Count(kEventJobAdded, "later"), 1u);
  EXPECT_EQ(runs.load(), 2);
}

TEST_F(SchedulerBackground, AddJobAsyncWithAConflictingIdIsLoggedAndDropped) {
  ASSERT_OK(s_->Start());
  JobSpec first = Spec("x");
  first.fn = JobFunction::Bind([] {});
  first.name = "first";
  first.trigger = Trig("interval(seconds=10)", Now());
  ASSERT_TRUE(s_->AddJob(std::move(first)).ok());
  JobSpec dup = Spec("x");
  dup.fn = JobFunction::Bind([] {});
  dup.name = "second";
  dup.trigger = Trig("interval(seconds=10)", Now());
  const Result<std::string> id = s_->AddJobAsync(std::move(dup));
  ASSERT_TRUE(id.ok());  // the conflict is found later, by the loop
  StepUntil(T(2));       // the loop has woken at least once since
  ASSERT_OK(s_->Shutdown());
  EXPECT_EQ(s_->GetJob("x")->name, "first");
  EXPECT_TRUE(
      Logged("error: AddJobAsync: job \"x\" not added: Job identifier (x) conflicts with "
             "an existing job"))
      << AllLogs();
  // Checked at once: a missing callable, bad options; and while stopped it is AddJob.
  EXPECT_EQ(s_->AddJobAsync(Spec("nofn")).status().code(), StatusCode::kInvalidArgument);
  JobSpec dup2 = Spec("x");
  dup2.fn = JobFunction::Bind([] {});
  EXPECT_EQ(s_->AddJobAsync(std::move(dup2)).status().code(), StatusCode::kAlreadyExists);
}

// Most async adds travel whole in the command queue (no Command): each of these goes that
// way, and must come out as the job AddJob() would have made.
TEST_F(SchedulerBackground, AsyncAddsCarryTheirTriggerDateAndOptions) {
  ASSERT_OK(s_->Start());
  clock_.WaitForSleepers(1);
  JobSpec a = Spec("opts");
  a.fn = JobFunction::Bind([] {});
  a.trigger = Trig("interval(seconds=10)", Now());
  a.misfire_grace_us = 7 * kSecond;
  a.max_instances = 3;
  a.coalesce = false;
  a.max_instances_policy = MaxInstancesPolicy::kWait;
  a.next_run_time = NextRunTime::At(T(25));
  ASSERT_TRUE(s_->AddJobAsync(std::move(a)).ok());
  JobSpec b;  // generated id, no trigger: a one-shot job with a run date
  b.fn = JobFunction::Bind([] {});
  b.next_run_time = NextRunTime::At(T(40));
  const Result<std::string> b_id = s_->AddJobAsync(std::move(b));
  ASSERT_TRUE(b_id.ok());
  JobSpec c = Spec("paused");
  c.fn = JobFunction::Bind([] {});
  c.trigger = Trig("interval(seconds=5)", Now());
  c.next_run_time = NextRunTime::Paused();
  ASSERT_TRUE(s_->AddJobAsync(std::move(c)).ok());
  // A call from this thread is applied after this thread's earlier async adds.
  const std::optional<JobInfo> opts = s_->GetJob("opts");
  ASSERT_TRUE(opts.has_value());
  EXPECT_EQ(opts->trigger, "interval[0:00:10]");
  EXPECT_EQ(opts->next_run_time, T(25));
  EXPECT_EQ(opts->misfire_grace_us, 7 * kSecond);
  EXPECT_EQ(opts->max_instances, 3);
  EXPECT_FALSE(opts->coalesce);
  EXPECT_EQ(opts->executor, "default");
  EXPECT_EQ(opts->jobstore, "default");
  EXPECT_EQ(opts->name, "opts");
  const std::optional<JobInfo> one = s_->GetJob(*b_id);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->next_run_time, T(40));
  EXPECT_EQ(one->misfire_grace_us, kUnlimitedGrace);  // the job defaults
  EXPECT_EQ(one->max_instances, 1);
  EXPECT_TRUE(one->coalesce);
  EXPECT_EQ(s_->GetJob("paused")->next_run_time, std::nullopt);
  StepUntil(T(41));
  EXPECT_EQ(events_.Count(kEventJobExecuted, "opts"), 2u);  // 25 and 35
  EXPECT_EQ(events_.Count(kEventJobExecuted, *b_id), 1u);
  EXPECT_FALSE(s_->GetJob(*b_id).has_value());  // a one-shot job ends with its run
  EXPECT_EQ(events_.Count(kEventJobExecuted, "paused"), 0u);
}

// AddJobsAsync(): 100 jobs in one call (more than one bulk chunk), whole and heap adds mixed,
// generated and explicit ids; each spec's id says which job it became, the jobs are the ones
// AddJob() would make, they run on time, and the thread's later calls see them (order).
TEST_F(SchedulerBackground, AddJobsAsyncAddsEveryJobInOrderAndReturnsTheirIds) {
  ASSERT_OK(s_->Start());
  clock_.WaitForSleepers(1);
  std::atomic<int> runs{0};
  std::vector<JobSpec> specs(100);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    specs[i].fn = JobFunction::Bind([&] { runs.fetch_add(1); });
    specs[i].next_run_time = NextRunTime::At(T(1 + static_cast<std::int64_t>(i % 7)));
    if (i % 10 == 0) specs[i].id = "named-" + std::to_string(i);
    if (i % 33 == 0) specs[i].name = "heap-" + std::to_string(i);  // does not travel whole
  }
  specs[99].trigger = Trig("interval(seconds=10)", Now());
  specs[99].next_run_time = {};  // from the trigger: 10 s
  ASSERT_OK(s_->AddJobsAsync(specs));
  std::set<std::string> ids;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    ASSERT_FALSE(specs[i].id.empty()) << i;
    ids.insert(specs[i].id);
    if (i % 10 == 0) {
      EXPECT_EQ(specs[i].id, "named-" + std::to_string(i));
    }
    EXPECT_FALSE(specs[i].fn) << i;  // moved from
  }
  EXPECT_EQ(ids.size(), 100u);  // unique
  const std::optional<JobInfo> heap = s_->GetJob(specs[33].id);
  ASSERT_TRUE(heap.has_value());  // applied before this later call
  EXPECT_EQ(heap->name, "heap-33");
  EXPECT_EQ(heap->next_run_time, T(1 + 33 % 7));
  EXPECT_EQ(s_->GetJob(specs[99].id)->trigger, "interval[0:00:10]");
  EXPECT_EQ(s_->GetJob(specs[99].id)->next_run_time, T(10));
  EXPECT_EQ(s_->job_count(), 100u);
  StepUntil(T(8));
  EXPECT_EQ(runs.load(), 99);  // every one-shot ran once; the interval job waits for 10 s
  StepUntil(T(10));
  EXPECT_EQ(runs.load(), 100);
  EXPECT_EQ(events_.Count(kEventJobAdded), 100u);
}

// A bad spec anywhere in the batch: nothing is queued, and the error names its index.
TEST_F(SchedulerBackground, AddJobsAsyncWithABadSpecQueuesNothingAndNamesIt) {
  ASSERT_OK(s_->Start());
  std::vector<JobSpec> specs(5);
  for (JobSpec& spec : specs) {
    spec.fn = JobFunction::Bind([] {});
    spec.next_run_time = NextRunTime::At(T(5));
  }
  specs[3].max_instances = 0;
  Status st = s_->AddJobsAsync(specs);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::string_view(st.message()).starts_with("job 3 of the batch: ")) << st.message();
  specs[3].max_instances = 1;
  specs[4].fn = JobFunction();
  st = s_->AddJobsAsync(specs);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_STREQ(st.message(), "job 4 of the batch: the job has no callable");
  EXPECT_TRUE(s_->GetJobs().empty());  // (a later call: every queued add would be applied)
  EXPECT_TRUE(specs[0].fn);            // nothing was moved from
  EXPECT_OK(s_->AddJobsAsync(std::span<JobSpec>()));  // an empty batch is a no-op
  // A conflicting explicit id is found when applied: that job is logged and dropped, the
  // others are added.
  specs[4].fn = JobFunction::Bind([] {});
  specs[1].id = "dup";
  specs[2].id = "dup";
  ASSERT_OK(s_->AddJobsAsync(specs));
  EXPECT_EQ(s_->GetJobs().size(), 4u);
  EXPECT_TRUE(
      Logged("error: AddJobAsync: job \"dup\" not added: Job identifier (dup) conflicts with "
             "an existing job"))
      << AllLogs();
}

// While stopped, a batch adds pending jobs one by one and stops at the first conflict: the
// jobs before it stay added, the error names the index.
TEST_F(SchedulerBackground, AddJobsAsyncWhileStoppedAddsPendingJobsUpToTheFirstError) {
  std::vector<JobSpec> specs(3);
  for (JobSpec& spec : specs) {
    spec.fn = JobFunction::Bind([] {});
    spec.next_run_time = NextRunTime::At(T(5));
  }
  specs[0].id = "a";
  specs[2].id = "a";
  const Status st = s_->AddJobsAsync(specs);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(std::string_view(st.message()).starts_with("job 2 of the batch: ")) << st.message();
  EXPECT_EQ(specs[0].id, "a");
  EXPECT_FALSE(specs[1].id.empty());  // generated
  EXPECT_EQ(s_->GetJobs().size(), 2u);
  EXPECT_TRUE(s_->GetJob("a")->pending);
}

TEST_F(SchedulerBackground, AWholeAsyncAddWithATakenIdIsLoggedAndDropped) {
  ASSERT_OK(s_->Start());
  JobSpec first = Spec("x");
  first.fn = JobFunction::Bind([] {});
  first.trigger = Trig("interval(seconds=10)", Now());
  ASSERT_TRUE(s_->AddJob(std::move(first)).ok());
  std::atomic<int> second_runs{0};
  JobSpec dup = Spec("x");
  dup.fn = JobFunction::Bind([&] { second_runs.fetch_add(1); });
  dup.next_run_time = NextRunTime::Now();
  ASSERT_TRUE(s_->AddJobAsync(std::move(dup)).ok());
  EXPECT_EQ(s_->GetJob("x")->trigger, "interval[0:00:10]");  // (applied after the add)
  StepUntil(T(2));
  EXPECT_EQ(second_runs.load(), 0);
  EXPECT_EQ(events_.Count(kEventJobAdded, "x"), 1u);
  EXPECT_TRUE(
      Logged("error: AddJobAsync: job \"x\" not added: Job identifier (x) conflicts with "
             "an existing job"))
      << AllLogs();
}

TEST_F(SchedulerBackground, AWholeAsyncAddOfACallableToAPersistentDefaultStoreIsRefused) {
  Recreate(BackgroundOptions());
  ASSERT_OK(s_->AddExecutor("default", std::make_unique<InlineExecutor>(clock_)));
  auto store = std::make_unique<RecordingStore>();
  RecordingStore* disk = store.get();
  ASSERT_OK(s_->AddJobStore("default", std::move(store)));
  ASSERT_OK(s_->Start());
  JobSpec spec = Spec("cpp");
  spec.fn = JobFunction::Bind([] {});
  spec.next_run_time = NextRunTime::At(T(60));
  ASSERT_TRUE(s_->AddJobAsync(std::move(spec)).ok());  // refused by the loop, as AddJob() is
  EXPECT_FALSE(s_->GetJob("cpp").has_value());
  EXPECT_FALSE(disk->Get("cpp").has_value());
  EXPECT_TRUE(
      Logged("error: AddJobAsync: job \"cpp\" not added: job store \"default\" is "
             "persistent: its jobs must name a registered task (JobSpec::task), not a "
             "C++ callable"))
      << AllLogs();
}

// Async adds racing with Shutdown(): each one that returned an id is a job afterwards —
// scheduled before the loop stopped, or pending (applied in the stopped state) — never lost.
TEST_F(SchedulerBackground, AsyncAddsRacingWithShutdownAreNeverLost) {
  for (int round = 0; round < 50; ++round) {
    ASSERT_OK(s_->Start());
    std::vector<std::string> ids;
    std::atomic<int> added{0};
    std::thread adder([&] {
      for (int i = 0; i < 4000; ++i) {
        JobSpec spec;
        spec.fn = JobFunction::Bind([] {});
        spec.next_run_time = NextRunTime::At(T(3600));
        Result<std::string> id = s_->AddJobAsync(std::move(spec));
        ASSERT_TRUE(id.ok()) << id.status().message();
        ids.push_back(*id);
        added.store(i + 1, std::memory_order_relaxed);
      }
    });
    while (added.load(std::memory_order_relaxed) < 500) std::this_thread::yield();
    ASSERT_OK(s_->Shutdown());
    adder.join();
    std::size_t found = 0;
    for (const std::string& id : ids) found += s_->GetJob(id).has_value();
    EXPECT_EQ(found, ids.size()) << "round " << round;
    ASSERT_OK(s_->RemoveAllJobs());
  }
}

TEST_F(SchedulerBackground, ReserveJobsMakesRoomAtStartAndIsChecked) {
  SchedulerOptions o = BackgroundOptions();
  o.reserve_jobs = SchedulerOptions::kMaxReserveJobs + 1;
  Recreate(o);
  const Status too_many = s_->Start();
  EXPECT_EQ(too_many.code(), StatusCode::kInvalidArgument);
  EXPECT_STREQ(too_many.message(),
               "SchedulerOptions::reserve_jobs must be 0..268435456, got 268435457");
  EXPECT_EQ(s_->state(), SchedulerState::kStopped);
  o.reserve_jobs = 5000;
  Recreate(o);
  ASSERT_OK(s_->AddExecutor("default", std::make_unique<InlineExecutor>(clock_)));
  s_->AddListener([this](const Event& e) { events_.Record(e); });
  ASSERT_OK(s_->Start());
  // More jobs than reserved: the table, index and wheel grow past the reservation as usual.
  for (int i = 0; i < 6000; ++i) {
    JobSpec spec = Spec("j" + std::to_string(i));
    spec.fn = JobFunction::Bind([] {});
    spec.next_run_time = NextRunTime::At(T(1 + i % 7));
    ASSERT_TRUE(s_->AddJobAsync(std::move(spec)).ok());
  }
  EXPECT_EQ(s_->GetJobs().size(), 6000u);
  StepUntil(T(8));
  EXPECT_EQ(events_.Count(kEventJobExecuted), 6000u);
  EXPECT_EQ(s_->job_count(), 0u);
}

TEST_F(SchedulerBackground, JobsAndListenersMayCallTheApi) {
  auto pool = std::make_unique<ThreadPoolExecutor>(1, 16, clock_);
  ASSERT_OK(s_->AddExecutor("pool", std::move(pool)));
  sleepers_ = 2;
  std::atomic<int> inline_seen{-1}, pool_seen{-1}, listener_seen{-1};
  std::atomic<bool> pool_got_self{false};
  JobSpec a = Spec("inline");
  a.fn = JobFunction::Bind([&] { inline_seen = static_cast<int>(s_->GetJobs().size()); });
  a.trigger = Trig("interval(seconds=10)", Now());
  ASSERT_TRUE(s_->AddJob(std::move(a)).ok());
  JobSpec b = Spec("pooled");
  b.executor = "pool";
  b.fn = JobFunction::Bind([&] {
    pool_seen = static_cast<int>(s_->GetJobs().size());
    pool_got_self = s_->GetJob("pooled").has_value();
  });
  b.trigger = Trig("interval(seconds=10)", Now());
  ASSERT_TRUE(s_->AddJob(std::move(b)).ok());
  s_->AddListener(
      [&](const Event& e) {
        if (e.job_id != "inline") return;
        listener_seen = static_cast<int>(s_->GetJobs().size());
        EXPECT_OK(s_->PauseJob("inline"));
      },
      kEventJobExecuted);
  ASSERT_OK(s_->Start());
  StepUntil(T(30));
  const Status st = s_->RunDue();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);  // RunDue is for kHostDriven only
  ASSERT_OK(s_->Shutdown());  // before the jobs' and listener's state goes away
  EXPECT_EQ(inline_seen.load(), 2);
  EXPECT_EQ(pool_seen.load(), 2);
  EXPECT_TRUE(pool_got_self.load());
  EXPECT_EQ(listener_seen.load(), 2);
  EXPECT_EQ(events_.Count(kEventJobExecuted, "inline"), 1u);
  EXPECT_EQ(events_.Count(kEventJobExecuted, "pooled"), 3u);
}

// =============================================================================================
// Blocking mode
// =============================================================================================

TEST(SchedulerBlocking, StartBlocksUntilAJobCallsShutdown) {
  SimClock clock(Deadline{0}, kT0);
  EventLog events;
  {
    SchedulerOptions o;
    o.mode = SchedulerMode::kBlocking;
    o.clock = &clock;
    Scheduler s(o);
    ASSERT_OK(s.AddExecutor("default", std::make_unique<InlineExecutor>(clock)));
    s.AddListener([&](const Event& e) { events.Record(e); });
    std::atomic<std::int64_t> ran_at{0};
    JobSpec spec = Spec("stopper");
    spec.fn = JobFunction::Bind([&] {
      ran_at = clock.WallMicros();
      EXPECT_OK(s.Shutdown());
    });
    spec.trigger = Trig("date(run_date='2024-01-01 00:00:10')", Instant{kT0});
    ASSERT_TRUE(s.AddJob(std::move(spec)).ok());
    std::thread stepper([&] {
      while (clock.WallMicros() < T(10).us) {
        clock.WaitForSleepers(1);
        clock.AdvanceTo(clock.NextDeadline());
      }
    });
    const Status st = s.Start();  // the loop runs here
    stepper.join();
    EXPECT_OK(st);
    EXPECT_EQ(ran_at.load(), T(10).us);
    EXPECT_EQ(s.state(), SchedulerState::kStopped);
  }
  EXPECT_EQ(events.Names(kEventSchedulerStarted | kEventSchedulerShutdown | kEventJobExecuted),
            (std::vector<std::string>{"SCHEDULER_STARTED", "JOB_EXECUTED", "SCHEDULER_SHUTDOWN"}));
  EXPECT_EQ(clock.SleepingWaiters(), 0);
}

TEST(SchedulerBlocking, AnotherThreadMayShutDownABlockingScheduler) {
  SimClock clock(Deadline{0}, kT0);
  {
    SchedulerOptions o;
    o.mode = SchedulerMode::kBlocking;
    o.clock = &clock;
    Scheduler s(o);
    ASSERT_OK(s.AddExecutor("default", std::make_unique<InlineExecutor>(clock)));
    std::thread stopper([&] {
      clock.WaitForSleepers(1);  // the loop is parked inside Start()
      EXPECT_OK(s.Shutdown());
    });
    EXPECT_OK(s.Start());
    stopper.join();
    EXPECT_EQ(s.state(), SchedulerState::kStopped);
  }
  EXPECT_EQ(clock.SleepingWaiters(), 0);
}

// =============================================================================================
// Real clock (background, SystemClock, thread pool): generous bounds, waits on events only
// =============================================================================================

std::int64_t RealWallMicros() { return platform::SystemClock().WallMicros(); }

TEST(SchedulerRealClock, AJobTwentyMillisecondsAheadRunsNotEarlyAndWithinTwoSeconds) {
  std::promise<std::int64_t> ran;  // (state the jobs touch outlives the scheduler)
  SchedulerOptions o;
  o.default_executor_threads = 2;
  Scheduler s(o);
  ASSERT_OK(s.Start());
  const Instant at{RealWallMicros() + 20'000};
  JobSpec spec = Spec("soon");
  spec.fn = JobFunction::Bind([&] { ran.set_value(RealWallMicros()); });
  spec.trigger = DateTrigger::Create(at, nullptr).value();
  ASSERT_TRUE(s.AddJob(std::move(spec)).ok());
  std::future<std::int64_t> f = ran.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  const std::int64_t ran_at = f.get();
  EXPECT_GE(ran_at, at.us);
  EXPECT_LT(ran_at - at.us, 2 * kSecond);
  ASSERT_OK(s.Shutdown());
}

TEST(SchedulerRealClock, ShutdownWithWaitWaitsForARunningJob) {
  std::promise<void> started;
  std::atomic<bool> finished{false};
  Scheduler s;
  ASSERT_OK(s.Start());
  JobSpec spec = Spec("slow");
  spec.fn = JobFunction::Bind([&] {
    started.set_value();
    std::this_thread::sleep_for(50ms);  // the job's own work
    finished = true;
  });
  spec.next_run_time = NextRunTime::Now();
  ASSERT_TRUE(s.AddJob(std::move(spec)).ok());
  ASSERT_EQ(started.get_future().wait_for(20s), std::future_status::ready);
  ASSERT_OK(s.Shutdown(/*wait=*/true));
  EXPECT_TRUE(finished.load());
}

TEST(SchedulerRealClock, ShutdownWithoutWaitDropsRunsStillQueued) {
  std::promise<void> a_started, a_done;
  std::atomic<bool> a_finished{false}, b_ran{false};
  EventLog events;
  Scheduler s;
  ASSERT_OK(s.AddExecutor("default",
                          std::make_unique<ThreadPoolExecutor>(1, 16, platform::SystemClock())));
  s.AddListener([&](const Event& e) { events.Record(e); });
  ASSERT_OK(s.Start());
  const std::int64_t now = RealWallMicros();
  JobSpec a = Spec("a");
  a.fn = JobFunction::Bind([&] {
    a_started.set_value();
    std::this_thread::sleep_for(500ms);  // occupies the only worker
    a_finished = true;
    a_done.set_value();
  });
  a.trigger = DateTrigger::Create(Instant{now + 20'000}, nullptr).value();
  JobSpec b = Spec("b");
  b.fn = JobFunction::Bind([&] { b_ran = true; });
  b.trigger = DateTrigger::Create(Instant{now + 40'000}, nullptr).value();
  ASSERT_TRUE(s.AddJob(std::move(a)).ok());
  ASSERT_TRUE(s.AddJob(std::move(b)).ok());
  ASSERT_EQ(a_started.get_future().wait_for(20s), std::future_status::ready);
  ASSERT_TRUE(events.WaitFor(kEventJobSubmitted, "b"));  // queued behind a
  ASSERT_FALSE(a_finished.load()) << "the machine is too slow for this test";
  ASSERT_OK(s.Shutdown(/*wait=*/false));
  EXPECT_EQ(s.state(), SchedulerState::kStopped);
  ASSERT_EQ(a_done.get_future().wait_for(20s), std::future_status::ready);
  EXPECT_FALSE(b_ran.load());  // dropped from the queue
  EXPECT_EQ(events.Count(kEventJobExecuted | kEventJobError, "b"), 0u);
}

// =============================================================================================
// A bounded stress run (the bigger one is tests/stress/scheduler_stress_test.cc)
// =============================================================================================

TEST(SchedulerStress, ProducersAddModifyAndRemoveJobsWhileJobsFire) {
  test::StressParams p;
  p.producers = 4;
  p.ops_per_producer = 1000;
  test::RunSchedulerStress(p);
}

}  // namespace
}  // namespace aps
