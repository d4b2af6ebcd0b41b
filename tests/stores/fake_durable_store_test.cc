// The contract suite's persistent and transactional branches (job_store_contract.h), run on a
// fake durable store, so that they compile and hold before a real persistent store (LMDB) uses
// them: the memory store instantiates only kPersistent = kTransactional = false.
//
// FakeDurableStore keeps its jobs in a MemoryJobStore and "persists" them to a Disk (JobStates by
// id) that outlives the store object; Start() loads the disk. Transactional: changes in a
// batch reach the disk at CommitBatch(), AbortBatch() reloads the disk. Not transactional: every
// change reaches the disk at once, batches are no-ops.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stores/job_store.h"
#include "stores/memory_store.h"
#include "tests/stores/job_store_contract.h"

namespace aps::test {
namespace {

using Disk = std::map<std::string, JobState, std::less<>>;

class FakeDurableStore final : public JobStore {
 public:
  FakeDurableStore(std::shared_ptr<Disk> disk, bool transactional)
      : disk_(std::move(disk)), transactional_(transactional) {}

  Status Start(std::string_view) override { return Load(); }
  void Shutdown() override { live_.reset(); }
  bool persistent() const override { return true; }

  Result<std::optional<JobState>> LookupJob(std::string_view id) const override {
    return live_->LookupJob(id);
  }
  Status GetDueJobs(Instant now, std::vector<JobState>* out) const override {
    return live_->GetDueJobs(now, out);
  }
  Result<std::optional<Instant>> GetNextRunTime() const override { return live_->GetNextRunTime(); }
  Status GetAllJobs(std::vector<JobState>* out) const override { return live_->GetAllJobs(out); }
  Status AddJob(const JobState& job) override {
    APS_RETURN_IF_ERROR(live_->AddJob(job));
    if (!in_batch_) (*disk_)[job.id] = job;
    return OkStatus();
  }
  Status UpdateJob(const JobState& job) override {
    APS_RETURN_IF_ERROR(live_->UpdateJob(job));
    if (!in_batch_) (*disk_)[job.id] = job;
    return OkStatus();
  }
  Status RemoveJob(std::string_view id) override {
    APS_RETURN_IF_ERROR(live_->RemoveJob(id));
    if (!in_batch_) disk_->erase(disk_->find(id));
    return OkStatus();
  }
  Status RemoveAllJobs() override {
    APS_RETURN_IF_ERROR(live_->RemoveAllJobs());
    if (!in_batch_) disk_->clear();
    return OkStatus();
  }

  Status BeginBatch() override {
    in_batch_ = transactional_;
    return OkStatus();
  }
  Status CommitBatch() override {
    if (!in_batch_) return OkStatus();
    in_batch_ = false;
    std::vector<JobState> jobs;
    APS_RETURN_IF_ERROR(live_->GetAllJobs(&jobs));
    disk_->clear();
    for (JobState& j : jobs) disk_->emplace(j.id, std::move(j));
    return OkStatus();
  }
  void AbortBatch() override {
    if (!in_batch_) return;
    in_batch_ = false;
    EXPECT_TRUE(IsOk(Load()));
  }

 private:
  Status Load() {
    live_ = std::make_unique<MemoryJobStore>();
    for (const auto& [id, j] : *disk_) APS_RETURN_IF_ERROR(live_->AddJob(j));
    return OkStatus();
  }

  std::shared_ptr<Disk> disk_;
  bool transactional_;
  bool in_batch_ = false;
  std::unique_ptr<MemoryJobStore> live_;
};

// Member (not static) Make() and Reopen(): the factory object holds the disk of its test.
template <bool kTransactionalStore>
struct FakeDurableStoreFactory {
  static constexpr bool kPersistent = true;
  static constexpr bool kTransactional = kTransactionalStore;
  std::unique_ptr<JobStore> Make() {
    disk = std::make_shared<Disk>();
    return Reopen();
  }
  std::unique_ptr<JobStore> Reopen() {
    return std::make_unique<FakeDurableStore>(disk, kTransactional);
  }
  std::shared_ptr<Disk> disk;
};

}  // namespace

using FakeDurableStoreFactories =
    ::testing::Types<FakeDurableStoreFactory<true>, FakeDurableStoreFactory<false>>;
INSTANTIATE_TYPED_TEST_SUITE_P(FakeDurable, JobStoreContract, FakeDurableStoreFactories);

}  // namespace aps::test
