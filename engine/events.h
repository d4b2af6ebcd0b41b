// aps/engine/events.h — scheduler events (APScheduler 3.x codes) and listeners.
//
// Every APScheduler 3.x event code, with the same numeric values, so masks written for
// APScheduler read the same here (plus one of ours, JOB_UNRESOLVED, on the next bit):
//
//   scheduler.AddListener([](const aps::Event& e) { if (e.code == aps::kEventJobError) ...; },
//                         aps::kEventJobExecuted | aps::kEventJobError);
//
// Ordering (what aps promises; APScheduler 3.x promises less):
//   * listeners run on the scheduler thread (or, when the scheduler is stopped, on the thread
//     that made the call), one event at a time, never concurrently with each other;
//   * the events of one job come in the order they happened: JOB_ADDED before its
//     JOB_SUBMITTED; a run's JOB_SUBMITTED before its JOB_EXECUTED / JOB_ERROR; a job's last
//     JOB_SUBMITTED before the JOB_REMOVED of its exhausted trigger (3.x can reverse these);
//   * events of different jobs due at the same instant come in job-processing order, which is
//     not otherwise defined.
// A listener that throws (hosted builds) is caught and logged; a slow listener delays the
// scheduler thread, so listeners should hand heavy work elsewhere.
#ifndef APS_ENGINE_EVENTS_H_
#define APS_ENGINE_EVENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/time.h"

namespace aps {

enum EventCode : std::uint32_t {
  kEventSchedulerStarted = 1,
  kEventSchedulerShutdown = 2,
  kEventSchedulerPaused = 4,
  kEventSchedulerResumed = 8,
  kEventExecutorAdded = 16,
  kEventExecutorRemoved = 32,
  kEventJobstoreAdded = 64,
  kEventJobstoreRemoved = 128,
  kEventAllJobsRemoved = 256,
  kEventJobAdded = 512,
  kEventJobRemoved = 1024,
  kEventJobModified = 2048,
  kEventJobExecuted = 4096,
  kEventJobError = 8192,
  kEventJobMissed = 16384,
  kEventJobSubmitted = 32768,
  kEventJobMaxInstances = 65536,
  // aps only: a job in a persistent store could not be loaded (its task is not registered, its
  // trigger or arguments do not read). The job stays in the store; `error` says why. Reported
  // once per load (Start()).
  kEventJobUnresolved = 131072,
  // Every code above. APScheduler's EVENT_ALL (131071) is every code but JOB_UNRESOLVED.
  kEventAll = 262143,
};

// ToString(EventCode) — "JOB_EXECUTED" etc. Never allocates; any thread.
const char* EventName(std::uint32_t code) noexcept;

// One event. Fields not meaningful for a code are empty.
struct Event {
  std::uint32_t code = 0;
  std::string alias;   // executor / job-store alias (scheduler events), or the job's store
  std::string job_id;  // job events
  std::vector<Instant> scheduled_run_times;   // JOB_SUBMITTED, JOB_MAX_INSTANCES
  std::optional<Instant> scheduled_run_time;  // JOB_EXECUTED, JOB_ERROR, JOB_MISSED
  std::string error;  // JOB_ERROR: the exception's message; JOB_UNRESOLVED: why
};

}  // namespace aps

#endif  // APS_ENGINE_EVENTS_H_
