// aps/stores/memory_store.h — the default job store: jobs in memory, nothing persisted.
//
//   auto store = std::make_unique<aps::MemoryJobStore>();
//   scheduler.AddJobStore("default", std::move(store));
//
// An id index plus an ordered (next_run_time, id) index, as APScheduler's MemoryJobStore:
// lookups O(1) average, due jobs and the next run time O(log n + k). Allocates on add.
#ifndef APS_STORES_MEMORY_STORE_H_
#define APS_STORES_MEMORY_STORE_H_

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "stores/job_store.h"

namespace aps {

class MemoryJobStore final : public JobStore {
 public:
  Status Start(std::string_view) override { return OkStatus(); }
  void Shutdown() override {}
  bool persistent() const override { return false; }

  Result<std::optional<JobState>> LookupJob(std::string_view id) const override;
  Status GetDueJobs(Instant now, std::vector<JobState>* out) const override;
  Result<std::optional<Instant>> GetNextRunTime() const override;
  Status GetAllJobs(std::vector<JobState>* out) const override;
  Status AddJob(const JobState& job) override;
  Status UpdateJob(const JobState& job) override;
  Status RemoveJob(std::string_view id) override;
  Status RemoveAllJobs() override;

  std::size_t size() const { return jobs_.size(); }

 private:
  // (paused, next_run_time, id): paused jobs sort after every instant, INT64_MAX included (a
  // sentinel instant for "paused" would make a job scheduled there look paused).
  struct Key {
    bool paused;
    std::int64_t us;  // 0 when paused
    std::string id;
    auto operator<=>(const Key&) const = default;
  };
  static Key KeyOf(const JobState& j) {
    return {!j.next_run_time.has_value(), j.next_run_time ? j.next_run_time->us : 0, j.id};
  }

  std::unordered_map<std::string, JobState> jobs_;
  std::set<Key> order_;  // invariant: holds KeyOf(j) for exactly the jobs in jobs_
};

}  // namespace aps

#endif  // APS_STORES_MEMORY_STORE_H_
