// aps/stores/job_store.h — the job store interface (APScheduler's BaseJobStore contract).
//
// A store keeps JobStates: everything about a job except its C++ callable (a persistent store
// keeps the name of a registered task instead; see the LMDB store). The scheduler keeps each
// job it runs in its own table and writes every change to the job's store, all changes of one
// scheduler iteration between BeginBatch() and CommitBatch(), so a persistent store commits
// them in one transaction with one flush (group commit). At start the scheduler loads each
// store's jobs with LoadJobs(). A store that is not persistent() (the memory store) is not
// written on the scheduler's hot path: the scheduler's table is its content.
//
//   aps::MemoryJobStore store;
//   store.AddJob(state);                          // kAlreadyExists on a duplicate id
//   std::vector<aps::JobState> due;
//   store.GetDueJobs(now, &due);                  // next_run_time <= now, ascending
//
// Every method is called from one thread at a time (the scheduler thread once started).
// Errors: kAlreadyExists "Job identifier (X) conflicts with an existing job", kNotFound "No job
// by the id of X was found" (APScheduler's texts), kDataLoss for unreadable records,
// kUnavailable for transient failures (the scheduler retries after jobstore_retry_interval).
#ifndef APS_STORES_JOB_STORE_H_
#define APS_STORES_JOB_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/status.h"
#include "engine/time.h"

namespace aps {

inline constexpr std::int64_t kUnlimitedGrace = -1;

// What a store keeps of a job (APScheduler's job state, version 1).
struct JobState {
  std::string id;
  std::string name;
  std::string trigger;   // the trigger's stable text form (Trigger::ToText)
  std::string executor;  // executor alias
  std::string task;      // registered task name (persistent jobs); empty for C++ callables
  std::string args;      // encoded arguments (persistent jobs); opaque to the store
  std::optional<Instant> next_run_time;  // nullopt = paused
  std::int64_t misfire_grace_us = kUnlimitedGrace;
  bool coalesce = true;
  std::int32_t max_instances = 1;
  // At-least-once execution (JobSpec::at_least_once): the scheduled time of a run that was
  // handed to an executor and has not finished; a scheduler loading the job runs it again.
  bool at_least_once = false;
  std::optional<Instant> inflight_run;

  bool operator==(const JobState&) const = default;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Start() — open / create; `alias` is the store's name in the scheduler. Shutdown() releases
  // resources (the memory store keeps its jobs, unlike APScheduler's, so a scheduler can be
  // started again with them).
  virtual Status Start(std::string_view alias) = 0;
  virtual void Shutdown() = 0;

  // True when jobs survive the process (the scheduler then writes every change here).
  virtual bool persistent() const = 0;

  // --- APScheduler's contract -------------------------------------------------------------
  // LookupJob(): the job, or nullopt.
  virtual Result<std::optional<JobState>> LookupJob(std::string_view id) const = 0;
  // GetDueJobs(): jobs with next_run_time <= now, ascending by (next_run_time, id); paused
  // jobs are never due. Appends to *out.
  virtual Status GetDueJobs(Instant now, std::vector<JobState>* out) const = 0;
  // GetNextRunTime(): the earliest next_run_time, or nullopt when nothing is scheduled.
  virtual Result<std::optional<Instant>> GetNextRunTime() const = 0;
  // GetAllJobs(): every job ascending by (next_run_time, id), paused jobs last. Appends.
  virtual Status GetAllJobs(std::vector<JobState>* out) const = 0;
  // LoadJobs(): what the scheduler loads at Start(): every readable job (any order) into *out;
  // each record that does not read goes to *problems as (id, why) instead of failing the
  // load, so one damaged record does not keep the others from running. The default is
  // GetAllJobs() (a store whose records always read).
  virtual Status LoadJobs(std::vector<JobState>* out,
                          std::vector<std::pair<std::string, Status>>* problems) const {
    (void)problems;
    return GetAllJobs(out);
  }
  // Paging (large persistent stores): a store that pages() hands out jobs by due time, so the
  // scheduler keeps in memory only the jobs due within SchedulerOptions::store_horizon_us and
  // pages the rest in as their time approaches. LoadJobsDue(): the jobs that need the
  // scheduler in (after, until] (after = nullopt: from the start): next_run_time in that range,
  // or an interrupted at-least-once run (inflight_run) there; never paused ones otherwise.
  // Readable ones to *out, unreadable ones to *problems, in due order.
  virtual bool pages() const { return false; }
  virtual Status LoadJobsDue(std::optional<Instant> after, Instant until,
                             std::vector<JobState>* out,
                             std::vector<std::pair<std::string, Status>>* problems) const {
    (void)after, (void)until, (void)out, (void)problems;
    return Status(StatusCode::kFailedPrecondition, "this job store does not page");
  }
  // JobsNamingTasks(): appends the ids of the stored jobs whose task `pick(task)` selects
  // (the scheduler asks for unregistered tasks at Start(), so that a paging store's jobs of a
  // missing task are reported before they come due). A store that pages should answer from
  // an index; the default reads every job with LoadJobs().
  virtual Status JobsNamingTasks(const std::function<bool(std::string_view task)>& pick,
                                 std::vector<std::string>* ids) const {
    std::vector<JobState> all;
    std::vector<std::pair<std::string, Status>> problems;
    APS_RETURN_IF_ERROR(LoadJobs(&all, &problems));
    for (const JobState& j : all) {
      if (!j.task.empty() && pick(j.task)) ids->push_back(j.id);
    }
    return OkStatus();
  }
  virtual Status AddJob(const JobState& job) = 0;     // kAlreadyExists on a duplicate id
  virtual Status UpdateJob(const JobState& job) = 0;  // kNotFound when missing
  virtual Status RemoveJob(std::string_view id) = 0;  // kNotFound when missing
  virtual Status RemoveAllJobs() = 0;

  // --- group commit -----------------------------------------------------------------------
  // Changes between BeginBatch() and CommitBatch() are one transaction: all or nothing.
  // AbortBatch() drops them. Stores without transactions apply changes at once.
  virtual Status BeginBatch() { return OkStatus(); }
  virtual Status CommitBatch() { return OkStatus(); }
  virtual void AbortBatch() {}
};

// APScheduler's messages, shared by every store and the scheduler. Never allocate.
inline Status ConflictingIdError(std::string_view id) {
  return Status::Format(StatusCode::kAlreadyExists,
                        "Job identifier (%.*s) conflicts with an existing job",
                        static_cast<int>(id.size() > 180 ? 180 : id.size()), id.data());
}
inline Status JobLookupError(std::string_view id) {
  return Status::Format(StatusCode::kNotFound, "No job by the id of %.*s was found",
                        static_cast<int>(id.size() > 180 ? 180 : id.size()), id.data());
}

}  // namespace aps

#endif  // APS_STORES_JOB_STORE_H_
