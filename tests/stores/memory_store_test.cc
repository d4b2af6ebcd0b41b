// MemoryJobStore: the job store contract (job_store_contract.h), plus what only the memory
// store promises (size(), every Instant value a valid run time).
#include "stores/memory_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/stores/job_store_contract.h"

namespace aps::test {

struct MemoryJobStoreFactory {
  static constexpr bool kPersistent = false;
  static constexpr bool kTransactional = false;
  static std::unique_ptr<JobStore> Make() { return std::make_unique<MemoryJobStore>(); }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, JobStoreContract, MemoryJobStoreFactory);

namespace {

TEST(MemoryJobStoreOnly, SizeCountsTheJobs) {
  MemoryJobStore store;
  ASSERT_TRUE(IsOk(store.Start("default")));
  EXPECT_EQ(store.size(), 0u);
  ASSERT_TRUE(IsOk(store.AddJob(Job("a", Sec(1)))));
  ASSERT_TRUE(IsOk(store.AddJob(Job("b", std::nullopt))));
  EXPECT_EQ(store.size(), 2u);
  EXPECT_FALSE(store.AddJob(Job("a", Sec(2))).ok());
  EXPECT_FALSE(store.RemoveJob("c").ok());
  EXPECT_FALSE(store.UpdateJob(Job("c", Sec(2))).ok());
  EXPECT_EQ(store.size(), 2u);
  ASSERT_TRUE(IsOk(store.UpdateJob(Job("a", std::nullopt))));
  EXPECT_EQ(store.size(), 2u);
  ASSERT_TRUE(IsOk(store.RemoveJob("a")));
  EXPECT_EQ(store.size(), 1u);
  store.Shutdown();  // keeps the jobs
  EXPECT_EQ(store.size(), 1u);
  ASSERT_TRUE(IsOk(store.RemoveAllJobs()));
  EXPECT_EQ(store.size(), 0u);
}

// Instant{INT64_MAX} lies beyond kMaxInstant, but it is a run time like any other: a job
// scheduled there is not paused.
TEST(MemoryJobStoreOnly, TheLargestInstantIsARunTimeNotPaused) {
  MemoryJobStore store;
  ASSERT_TRUE(IsOk(store.Start("default")));
  ASSERT_TRUE(IsOk(store.AddJob(Job("b-paused", std::nullopt))));
  ASSERT_TRUE(IsOk(store.AddJob(Job("c-end-of-time", Instant{INT64_MAX}))));
  ASSERT_TRUE(IsOk(store.AddJob(Job("a-paused", std::nullopt))));

  Result<std::optional<Instant>> next = store.GetNextRunTime();
  ASSERT_TRUE(IsOk(next.status()));
  EXPECT_EQ(Us(*next), INT64_MAX);

  std::vector<JobState> due;
  ASSERT_TRUE(IsOk(store.GetDueJobs(Instant{INT64_MAX}, &due)));
  EXPECT_EQ(Ids(due), std::vector<std::string>{"c-end-of-time"});
  due.clear();
  ASSERT_TRUE(IsOk(store.GetDueJobs(kMaxInstant, &due)));
  EXPECT_TRUE(due.empty());

  std::vector<JobState> all;
  ASSERT_TRUE(IsOk(store.GetAllJobs(&all)));
  EXPECT_EQ(Ids(all), (std::vector<std::string>{"c-end-of-time", "a-paused", "b-paused"}));

  // Pausing it and scheduling it again keep the index right.
  ASSERT_TRUE(IsOk(store.UpdateJob(Job("c-end-of-time", std::nullopt))));
  next = store.GetNextRunTime();
  ASSERT_TRUE(IsOk(next.status()));
  EXPECT_EQ(Us(*next), std::nullopt);
  ASSERT_TRUE(IsOk(store.UpdateJob(Job("c-end-of-time", Instant{INT64_MAX}))));
  ASSERT_TRUE(IsOk(store.RemoveJob("a-paused")));
  all.clear();
  ASSERT_TRUE(IsOk(store.GetAllJobs(&all)));
  EXPECT_EQ(Ids(all), (std::vector<std::string>{"c-end-of-time", "b-paused"}));
}

}  // namespace
}  // namespace aps::test
