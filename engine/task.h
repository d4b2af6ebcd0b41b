// aps/engine/task.h — the task registry: named callables that persistent jobs refer to.
//
// A job in a persistent store outlives the process, so it cannot hold a C++ callable; it names
// a task registered with the scheduler and keeps its arguments (engine/value.h). When the
// scheduler loads the job it looks the name up here and binds the arguments.
//
//   scheduler.AddTask("send_report", [](const aps::TaskArgs& a) {
//     SendReport(a.args.at(0).as_string());            // return void, or a RunOutcome
//   });
//   aps::JobSpec spec;
//   spec.task = "send_report";
//   spec.args.args = {aps::Value("daily.pdf")};
//
// A task is called as fn(const TaskArgs&) and returns void or RunOutcome. As with
// JobFunction::Bind, the exception boundary (hosted builds) is compiled into the translation
// unit that calls Add(). Concurrent runs of a task share the callable (as JobFunction).
//
// Threads: Add() is not synchronized with lookups; register every task before the scheduler
// starts (Scheduler::AddTask enforces it). Lookups (Bind, Contains) are const and may run on
// any thread concurrently.
#ifndef APS_ENGINE_TASK_H_
#define APS_ENGINE_TASK_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/job_function.h"
#include "engine/status.h"
#include "engine/value.h"

namespace aps {

inline constexpr std::size_t kMaxTaskNameBytes = 200;

class TaskRegistry {
 public:
  // Add()
  //
  // Registers `fn` as `name`. kInvalidArgument for an empty name, one longer than
  // kMaxTaskNameBytes or with control characters; kAlreadyExists when the name is taken.
  // Allocates; not thread-safe (see above).
  template <class F>
  Status Add(std::string name, F fn) {
    static_assert(std::is_invocable_v<F&, const TaskArgs&>,
                  "a task is called as fn(const aps::TaskArgs&)");
    auto shared = std::make_shared<F>(std::move(fn));
    return AddBinder(std::move(name), [shared](TaskArgs args) {
      // This lambda (and so the exception boundary) is instantiated in the caller's TU.
      return JobFunction::Bind(
          [shared, a = std::move(args)]() mutable { return (*shared)(std::as_const(a)); });
    });
  }

  // Bind(): a callable running task `name` with `args`; an empty JobFunction when no task has
  // that name (or allocation failed). Allocates; never blocks; any thread.
  JobFunction Bind(std::string_view name, TaskArgs args) const;
  bool Contains(std::string_view name) const { return tasks_.find(name) != tasks_.end(); }
  std::vector<std::string> names() const;
  std::size_t size() const { return tasks_.size(); }

  // CheckTaskName(): the Add() name rule, for stores and tools. Never allocates.
  static Status CheckTaskName(std::string_view name);

 private:
  using Binder = std::function<JobFunction(TaskArgs)>;
  Status AddBinder(std::string name, Binder binder);
  std::map<std::string, Binder, std::less<>> tasks_;
};

}  // namespace aps

#endif  // APS_ENGINE_TASK_H_
