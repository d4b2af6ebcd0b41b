// RegionArena (engine/internal/region_arena.h), MappedArray (engine/internal/mapped_array.h) and
// platform::MapRegion()/PopulateRegion(): alignment, zeroed memory, residency, no overlap
// between allocations made concurrently, the limit, and the accounting.
#include "engine/internal/region_arena.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "engine/internal/mapped_array.h"
#include "platform/memory.h"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace aps {
namespace {

TEST(MapRegion, GivesZeroedMemoryAlignedToTheHugePageSizeForBigRegionsAndCountsIt) {
  const std::size_t before = platform::MappedBytes();
  for (const std::size_t bytes :
       {std::size_t{4096}, std::size_t{100000}, platform::kHugeRegionBytes,
        3 * platform::kHugeRegionBytes + 4096}) {
    auto* p = static_cast<unsigned char*>(platform::MapRegion(bytes));
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(platform::MappedBytes(), before + bytes);
    if (bytes >= platform::kHugeRegionBytes) {
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % platform::kHugeRegionBytes, 0u) << bytes;
    }
    EXPECT_TRUE(std::all_of(p, p + bytes, [](unsigned char c) { return c == 0; })) << bytes;
    std::memset(p, 0xab, bytes);  // writable, to the last byte
    platform::UnmapRegion(p, bytes);
    EXPECT_EQ(platform::MappedBytes(), before);
  }
  EXPECT_EQ(platform::MapRegion(0), nullptr);
  platform::UnmapRegion(nullptr, 123);  // ignored
}

#if defined(__linux__)
// How many of the region's pages are resident (mincore(2)).
std::size_t ResidentPages(void* p, std::size_t bytes) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((bytes + page - 1) / page);
  EXPECT_EQ(mincore(p, bytes, v.data()), 0);
  return static_cast<std::size_t>(
      std::count_if(v.begin(), v.end(), [](unsigned char c) { return (c & 1) != 0; }));
}

TEST(PopulateRegion, MakesEveryPageResidentAndKeepsTheContents) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t bytes = 64 * page + 100;
  auto* p = static_cast<unsigned char*>(platform::MapRegion(bytes));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ResidentPages(p, bytes), 0u);  // a fresh mapping: nothing written yet
  p[3 * page + 7] = 0x5a;
  platform::PopulateRegion(p, bytes);
  EXPECT_EQ(ResidentPages(p, bytes), 65u);
  EXPECT_EQ(p[3 * page + 7], 0x5a);
  EXPECT_EQ(std::count(p, p + bytes, 0), static_cast<std::ptrdiff_t>(bytes - 1));
  platform::UnmapRegion(p, bytes);
}
#endif

TEST(MappedArray, AllocatesZeroedResidentElementsMovesAndReleases) {
  struct Pod {
    std::uint64_t a;
    std::uint32_t b;
  };
  const std::size_t before = platform::MappedBytes();
  engine_internal::MappedArray<Pod> a;
  EXPECT_TRUE(a.empty());
  ASSERT_TRUE(a.Allocate(100000));
  EXPECT_EQ(a.size(), 100000u);
  EXPECT_EQ(a.bytes(), 100000 * sizeof(Pod));
  EXPECT_EQ(platform::MappedBytes(), before + a.bytes());
#if defined(__linux__)  // checked before anything reads it (a read maps the zero page)
  EXPECT_EQ(ResidentPages(a.data(), a.bytes()),
            (a.bytes() + static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) - 1) /
                static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
#endif
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](const Pod& x) { return x.a == 0 && x.b == 0; }));
  a[99999].b = 7;
  engine_internal::MappedArray<Pod> b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b[99999].b, 7u);
  ASSERT_TRUE(b.Allocate(10));  // releases the old region first
  EXPECT_EQ(platform::MappedBytes(), before + 10 * sizeof(Pod));
  EXPECT_EQ(b[9].b, 0u);
  ASSERT_TRUE(b.Allocate(0));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(platform::MappedBytes(), before);
  EXPECT_FALSE(b.Allocate(static_cast<std::size_t>(-1) / 4));  // too large: refused, still empty
  EXPECT_TRUE(b.empty());
}

TEST(RegionArena, AllocationsAreAlignedZeroedAndDisjointAndRegionsGrow) {
  RegionArena arena;
  EXPECT_EQ(arena.mapped_bytes(), 0u);
  std::vector<std::pair<char*, std::size_t>> got;
  std::size_t total = 0;
  for (std::size_t i = 0; i < 3000; ++i) {
    const std::size_t n = 1 + (i * 7919) % 6000;  // 1..6000 bytes
    auto* p = static_cast<char*>(arena.Allocate(n));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % RegionArena::kAlign, 0u);
    EXPECT_TRUE(std::all_of(p, p + n, [](char c) { return c == 0; })) << i;
    std::memset(p, static_cast<int>(i & 0x7f) | 1, n);
    got.emplace_back(p, n);
    total += n;
  }
  // Nothing was overwritten by a later allocation.
  for (std::size_t i = 0; i < got.size(); ++i) {
    const char want = static_cast<char>(static_cast<int>(i & 0x7f) | 1);
    EXPECT_TRUE(std::all_of(got[i].first, got[i].first + got[i].second, [want](char c) {
      return c == want;
    })) << i;
  }
  // ~9 MB handed out: regions grew past the first, and not much is mapped beyond what is used
  // (at most the last region's tail and each region's unusable end).
  EXPECT_GE(arena.mapped_bytes(), total);
  EXPECT_LE(arena.mapped_bytes(), total + 2 * RegionArena::kMaxRegionBytes);
  // A request bigger than any region gets a region of its own.
  auto* big = static_cast<char*>(arena.Allocate(3 * RegionArena::kMaxRegionBytes));
  ASSERT_NE(big, nullptr);
  big[3 * RegionArena::kMaxRegionBytes - 1] = 1;
}

TEST(RegionArena, ConcurrentAllocationsNeverOverlap) {
  RegionArena arena;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 4000;
  std::vector<std::vector<std::pair<std::uintptr_t, std::size_t>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::size_t n = 64 + static_cast<std::size_t>((i * 131 + t * 17) % 4800);
        auto* p = static_cast<char*>(arena.Allocate(n));
        if (p == nullptr) return;
        std::memset(p, t + 1, n);
        got[static_cast<std::size_t>(t)].emplace_back(reinterpret_cast<std::uintptr_t>(p), n);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::vector<std::pair<std::uintptr_t, std::size_t>> all;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[static_cast<std::size_t>(t)].size(), static_cast<std::size_t>(kPerThread));
    for (const auto& [p, n] : got[static_cast<std::size_t>(t)]) {
      // Each thread's bytes are still its own.
      const char* c = reinterpret_cast<const char*>(p);
      EXPECT_TRUE(std::all_of(c, c + n, [t](char v) { return v == t + 1; }));
      all.emplace_back(p, n);
    }
  }
  std::sort(all.begin(), all.end());
  for (std::size_t i = 1; i < all.size(); ++i) {
    ASSERT_LE(all[i - 1].first + all[i - 1].second, all[i].first) << "allocations overlap";
  }
}

TEST(RegionArena, TheLimitRefusesARegionThatWouldExceedItAndKeepsWhatWasHandedOut) {
  constexpr std::size_t kLimit = 200 << 10;
  RegionArena arena(kLimit);
  std::vector<char*> got;
  for (int i = 0; i < 1000; ++i) {
    auto* p = static_cast<char*>(arena.Allocate(5000));
    if (p == nullptr) break;
    std::memset(p, 7, 5000);
    got.push_back(p);
  }
  ASSERT_LT(got.size(), 1000u) << "the limit never refused";
  EXPECT_GE(got.size(), (kLimit / 2) / 5056);  // most of the limit is usable
  EXPECT_LE(arena.mapped_bytes(), kLimit);
  EXPECT_EQ(arena.Allocate(5000), nullptr);  // still refused
  for (char* p : got) EXPECT_TRUE(std::all_of(p, p + 5000, [](char c) { return c == 7; }));
  // An allocation bigger than the whole limit is refused at once.
  RegionArena small(64 << 10);
  EXPECT_EQ(small.Allocate(100 << 10), nullptr);
  EXPECT_NE(small.Allocate(1000), nullptr);
}

}  // namespace
}  // namespace aps
