// MemoryJobStore: an id map and an ordered index kept in step.
#include "stores/memory_store.h"

namespace aps {

Result<std::optional<JobState>> MemoryJobStore::LookupJob(std::string_view id) const {
  auto it = jobs_.find(std::string(id));
  if (it == jobs_.end()) return std::optional<JobState>();
  return std::optional<JobState>(it->second);
}

Status MemoryJobStore::GetDueJobs(Instant now, std::vector<JobState>* out) const {
  for (const Key& k : order_) {
    if (k.paused || k.us > now.us) break;
    out->push_back(jobs_.at(k.id));
  }
  return OkStatus();
}

Result<std::optional<Instant>> MemoryJobStore::GetNextRunTime() const {
  if (order_.empty() || order_.begin()->paused) return std::optional<Instant>();
  return std::optional<Instant>(Instant{order_.begin()->us});
}

Status MemoryJobStore::GetAllJobs(std::vector<JobState>* out) const {
  for (const Key& k : order_) out->push_back(jobs_.at(k.id));
  return OkStatus();
}

Status MemoryJobStore::AddJob(const JobState& job) {
  if (jobs_.count(job.id) != 0) return ConflictingIdError(job.id);
  order_.insert(KeyOf(job));
  jobs_.emplace(job.id, job);
  return OkStatus();
}

Status MemoryJobStore::UpdateJob(const JobState& job) {
  auto it = jobs_.find(job.id);
  if (it == jobs_.end()) return JobLookupError(job.id);
  order_.erase(KeyOf(it->second));
  order_.insert(KeyOf(job));
  it->second = job;
  return OkStatus();
}

Status MemoryJobStore::RemoveJob(std::string_view id) {
  auto it = jobs_.find(std::string(id));
  if (it == jobs_.end()) return JobLookupError(id);
  order_.erase(KeyOf(it->second));
  jobs_.erase(it);
  return OkStatus();
}

Status MemoryJobStore::RemoveAllJobs() {
  jobs_.clear();
  order_.clear();
  return OkStatus();
}

}  // namespace aps
