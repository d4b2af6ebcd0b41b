// Tests for engine/internal/id_index.h: the scheduler's job-id → slot index, checked against
// std::unordered_map through random inserts and erasures, with its invariants checked after
// every operation (including clusters that wrap around the end of the bucket array).
#include "engine/internal/id_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace aps::engine_internal {
namespace {

// The owner's side: ids kept by slot, as the scheduler keeps them in its job records.
struct Records {
  std::vector<std::string> ids;
  auto KeyOf() const {
    return [this](std::uint32_t slot) -> std::string_view { return ids.at(slot); };
  }
};

TEST(IdIndexTest, EmptyIndexFindsNothing) {
  IdIndex index;
  Records r;
  EXPECT_FALSE(index.Find("x", r.KeyOf()).has_value());
  EXPECT_FALSE(index.Erase("x", r.KeyOf()));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.CheckInvariants(r.KeyOf()), "");
}

TEST(IdIndexTest, InsertFindEraseOne) {
  IdIndex index;
  Records r{{"job-0", "job-1"}};
  index.Insert("job-1", 1, r.KeyOf());
  ASSERT_TRUE(index.Find("job-1", r.KeyOf()).has_value());
  EXPECT_EQ(*index.Find("job-1", r.KeyOf()), 1u);
  EXPECT_FALSE(index.Find("job-0", r.KeyOf()).has_value());
  EXPECT_TRUE(index.Erase("job-1", r.KeyOf()));
  EXPECT_FALSE(index.Find("job-1", r.KeyOf()).has_value());
  EXPECT_FALSE(index.Erase("job-1", r.KeyOf()));
  EXPECT_EQ(index.CheckInvariants(r.KeyOf()), "");
}

// Random churn against a reference map; small tables make long clusters and wrap-around common.
TEST(IdIndexTest, RandomChurnMatchesReferenceAndKeepsInvariants) {
  std::mt19937_64 rng(7);
  IdIndex index;
  Records r;
  std::unordered_map<std::string, std::uint32_t> ref;
  std::vector<std::uint32_t> free_slots;
  for (int op = 0; op < 20000; ++op) {
    const bool insert = ref.empty() || (rng() % 100) < (ref.size() < 300 ? 60u : 40u);
    if (insert) {
      const std::string id = "id-" + std::to_string(rng() % 5000);
      if (ref.count(id)) {
        ASSERT_EQ(index.Find(id, r.KeyOf()), ref[id]) << id;
        continue;
      }
      std::uint32_t slot;
      if (!free_slots.empty()) {
        slot = free_slots.back();
        free_slots.pop_back();
        r.ids[slot] = id;
      } else {
        slot = static_cast<std::uint32_t>(r.ids.size());
        r.ids.push_back(id);
      }
      ASSERT_FALSE(index.Find(id, r.KeyOf()).has_value()) << id;
      index.Insert(id, slot, r.KeyOf());
      ref[id] = slot;
    } else {
      auto it = ref.begin();
      std::advance(it, static_cast<long>(rng() % ref.size()));
      const std::string id = it->first;
      const std::uint32_t slot = it->second;
      ASSERT_TRUE(index.Erase(id, r.KeyOf())) << id;
      ref.erase(it);
      r.ids[slot] = "<free>";
      free_slots.push_back(slot);
      ASSERT_FALSE(index.Find(id, r.KeyOf()).has_value()) << id;
    }
    ASSERT_EQ(index.size(), ref.size());
    if (op % 7 == 0) {
      ASSERT_EQ(index.CheckInvariants(r.KeyOf()), "") << "after op " << op;
    }
  }
  for (const auto& [id, slot] : ref) ASSERT_EQ(index.Find(id, r.KeyOf()), slot) << id;
  std::size_t visited = 0;
  index.ForEach([&](std::uint32_t slot) {
    ++visited;
    EXPECT_EQ(ref.at(r.ids[slot]), slot);
  });
  EXPECT_EQ(visited, ref.size());
}

// The stored hash must be the key's: a record renamed behind the index's back is reported by
// the invariant check and is not found under its new name (the scheduler erases first).
TEST(IdIndexTest, StoredHashFollowsTheKey) {
  IdIndex index;
  Records r{{"a", "b", "c"}};
  index.Insert("a", 0, r.KeyOf());
  index.Insert("b", 1, r.KeyOf());
  index.Insert("c", 2, r.KeyOf());
  r.ids[1] = "renamed";
  EXPECT_NE(index.CheckInvariants(r.KeyOf()), "");
  EXPECT_FALSE(index.Find("renamed", r.KeyOf()).has_value());
  r.ids[1] = "b";
  EXPECT_EQ(index.CheckInvariants(r.KeyOf()), "");
  EXPECT_EQ(*index.Find("b", r.KeyOf()), 1u);
}

TEST(IdIndexTest, ClearEmptiesAndGrowthKeepsEverything) {
  IdIndex index;
  Records r;
  for (std::uint32_t i = 0; i < 10000; ++i) {
    r.ids.push_back("job-" + std::to_string(i));
    index.Insert(r.ids.back(), i, r.KeyOf());
  }
  EXPECT_EQ(index.CheckInvariants(r.KeyOf()), "");
  EXPECT_LE(index.size() * 4, index.bucket_count() * 3);
  for (std::uint32_t i = 0; i < 10000; ++i) ASSERT_EQ(*index.Find(r.ids[i], r.KeyOf()), i);
  index.Clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.Find("job-5", r.KeyOf()).has_value());
  EXPECT_EQ(index.CheckInvariants(r.KeyOf()), "");
}

}  // namespace
}  // namespace aps::engine_internal
