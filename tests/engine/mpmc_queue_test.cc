// Tests for engine/internal/mpmc_queue.h: the preallocated moodycamel queue's capacity rule
// (BlocksFor) and TryPushBulk()'s all-or-nothing push, which the thread pool relies on when it
// hands a staged batch of runs over (a failed bulk push must leave nothing half-pushed, so the
// pool can retry one by one without duplicating a run).
#include "engine/internal/mpmc_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace aps::engine_internal {
namespace {

TEST(MpmcQueueTest, BulkPushIsAllOrNothingAndKeepsOrder) {
  // One producer that may hold 32 elements: BlocksFor(32) = 2 blocks of 32 in the pool.
  MpmcQueue<std::uint64_t> q(/*per_producer=*/32, /*max_producers=*/1);
  ASSERT_TRUE(q.ok());
  std::unique_ptr<MpmcQueue<std::uint64_t>::Producer> p = q.NewProducer();
  ASSERT_NE(p, nullptr);
  MpmcQueue<std::uint64_t>::Consumer c(q);

  std::vector<std::uint64_t> items(80);
  for (std::uint64_t i = 0; i < items.size(); ++i) items[i] = i;
  // More than the two preallocated blocks can take: refused whole, nothing pushed.
  EXPECT_FALSE(q.TryPushBulk(*p, items.data(), 80));
  std::uint64_t out = 0;
  EXPECT_FALSE(q.TryPop(c, out));
  // What fits goes in, in order, as one group.
  ASSERT_TRUE(q.TryPushBulk(*p, items.data(), 40));
  EXPECT_FALSE(q.TryPushBulk(*p, items.data() + 40, 40));  // 80 would need a third block
  std::uint64_t popped[64];
  ASSERT_EQ(q.TryPopBulk(c, popped, 64), 40u);
  for (std::uint64_t i = 0; i < 40; ++i) EXPECT_EQ(popped[i], i);
  // Popped slots are reusable: the blocks came back, so the next group fits.
  ASSERT_TRUE(q.TryPushBulk(*p, items.data() + 40, 40));
  ASSERT_EQ(q.TryPopBulk(c, popped, 64), 40u);
  for (std::uint64_t i = 0; i < 40; ++i) EXPECT_EQ(popped[i], 40 + i);
}

TEST(MpmcQueueTest, SinglePushesFillExactlyTheBlocksBulkPushesDo) {
  MpmcQueue<std::uint64_t> q(/*per_producer=*/32, /*max_producers=*/1);
  std::unique_ptr<MpmcQueue<std::uint64_t>::Producer> p = q.NewProducer();
  ASSERT_NE(p, nullptr);
  std::uint64_t pushed = 0;
  while (pushed < 1000 && q.TryPush(*p, pushed)) ++pushed;
  EXPECT_EQ(pushed, MpmcQueue<std::uint64_t>::BlocksFor(32) * 32);  // never allocates more
  const std::uint64_t one = 7;
  EXPECT_FALSE(q.TryPushBulk(*p, &one, 1));
}

}  // namespace
}  // namespace aps::engine_internal
