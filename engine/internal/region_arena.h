// aps/engine/internal/region_arena.h — a lock-free bump allocator over OS regions, for memory
// that grows in bursts on any thread and is released all at once.
//
// Design
// ------
// The scheduler's command queue (command_queue.h) is the user: moodycamel allocates a block of
// 32 commands (~4.7 KB) whenever a producer outruns the loop, keeps every block it ever
// allocated for reuse, and frees them only when the queue is destroyed. From malloc those blocks
// were fresh heap pages, and on the development VM the first write to a fresh 4 KB page costs
// ~10 µs: a burst of a million async adds (~140 MB of blocks) spent most of its time in the
// kernel's fault path. Here the blocks are carved from regions of platform::MapRegion(), which
// offers regions of 2 MiB or more to the kernel for transparent huge pages (one fault per 2 MiB).
//
// Regions grow geometrically, kFirstRegionBytes (64 KB, ordinary pages: a quiet user never
// maps more) doubling to kMaxRegionBytes (4 MiB, two huge pages), so a small user stays small
// and a big one maps a region per 4 MiB (one mmap(2) per ~900 queue blocks) with at most one
// region's unused tail mapped (pages never written are never resident). An allocation bumps the
// newest region's `used` counter (one fetch_add); the thread that finds it full maps the next
// region and publishes it with one compare-and-swap, or, if another thread published first, unmaps
// its own and retries there. Nothing is freed individually: the destructor unmaps every region.
//
// Invariants:
//   * current_ is the newest region; each region's `prev` is the one published before it;
//   * [0, min(used, bytes)) of a region is handed out, every allocation 64-aligned and inside
//     its region; `used` may exceed `bytes` (failed bumps), never decreases.
//
// Threads: Allocate() from any thread, concurrently (lock-free; a system call about once per
// region). The destructor: one thread, when no Allocate() runs and nothing allocated is used.
#ifndef APS_ENGINE_INTERNAL_REGION_ARENA_H_
#define APS_ENGINE_INTERNAL_REGION_ARENA_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <new>

#include "platform/memory.h"

namespace aps {

class RegionArena {
 public:
  static constexpr std::size_t kFirstRegionBytes = std::size_t{64} << 10;
  static constexpr std::size_t kMaxRegionBytes = std::size_t{4} << 20;
  static constexpr std::size_t kAlign = 64;

  // `limit_bytes`: the most address space the arena maps in all (0: no limit); Allocate()
  // fails when a region would exceed it. Never allocates; any thread.
  explicit RegionArena(std::size_t limit_bytes = 0) noexcept : limit_(limit_bytes) {}
  RegionArena(const RegionArena&) = delete;
  RegionArena& operator=(const RegionArena&) = delete;
  // Unmaps every region. Owner thread, with no Allocate() running.
  ~RegionArena() {
    for (Region* r = current_.load(std::memory_order_acquire); r != nullptr;) {
      Region* const prev = r->prev;
      platform::UnmapRegion(r->base, r->bytes);
      delete r;
      r = prev;
    }
  }

  // Allocate() — n bytes, 64-aligned, zeroed when first handed out (never reused), or nullptr
  // when a new region is needed and the limit or the OS refuses it. Allocates a region (a system
  // call and its small descriptor) about once per region's worth; never blocks otherwise;
  // lock-free, any thread.
  // With `ignore_limit`, the limit does not apply (for allocations that cannot pile up).
  void* Allocate(std::size_t n, bool ignore_limit = false) noexcept {
    n = RoundUp(std::max<std::size_t>(n, 1), kAlign);
    Region* r = current_.load(std::memory_order_acquire);
    for (;;) {
      if (r != nullptr) {
        // Relaxed: the region's descriptor was published by the acquire that gave us `r`;
        // bumps only need to be distinct.
        const std::size_t off = r->used.fetch_add(n, std::memory_order_relaxed);
        if (off <= r->bytes && n <= r->bytes - off) return r->base + off;
      }
      // Full, or none yet: map the next region, big enough for n. (The descriptor lives
      // outside the region, so a region holds a whole number of power-of-two allocations.)
      const std::size_t grown =
          r == nullptr ? kFirstRegionBytes : std::min(2 * r->bytes, kMaxRegionBytes);
      const std::size_t need = RoundUp(n, std::size_t{4096});
      std::size_t bytes = std::max(grown, need);
      if (limit_ != 0 && !ignore_limit) {
        // Relaxed: the limit may be overshot by regions mapped at the same moment and then
        // dropped (the compare-and-swap below), never by regions kept.
        const std::size_t mapped = mapped_.load(std::memory_order_relaxed);
        if (mapped >= limit_ || limit_ - mapped < need) return nullptr;
        bytes = std::min(bytes, limit_ - mapped);
      }
      char* const base = static_cast<char*>(platform::MapRegion(bytes));
      if (base == nullptr) return nullptr;
      Region* const fresh = new (std::nothrow) Region(r, base, bytes, n);
      if (fresh == nullptr) {
        platform::UnmapRegion(base, bytes);
        return nullptr;
      }
      // Release: a thread that loads `fresh` sees its descriptor. On failure `r` is the region
      // another thread published: retry there.
      if (current_.compare_exchange_strong(r, fresh, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
        mapped_.fetch_add(bytes, std::memory_order_relaxed);
        return base;
      }
      delete fresh;
      platform::UnmapRegion(base, bytes);
    }
  }

  // Bytes of regions mapped (address space; only pages written are resident). Any thread.
  std::size_t mapped_bytes() const noexcept { return mapped_.load(std::memory_order_relaxed); }

 private:
  struct Region {
    Region(Region* p, char* b, std::size_t n, std::size_t u)
        : prev(p), base(b), bytes(n), used(u) {}
    Region* const prev;
    char* const base;
    const std::size_t bytes;
    std::atomic<std::size_t> used;  // bytes handed out, or more (failed bumps)
  };
  static constexpr std::size_t RoundUp(std::size_t v, std::size_t a) noexcept {
    return (v + a - 1) / a * a;
  }

  const std::size_t limit_;  // 0: none
  std::atomic<Region*> current_{nullptr};
  std::atomic<std::size_t> mapped_{0};
};

}  // namespace aps

#endif  // APS_ENGINE_INTERNAL_REGION_ARENA_H_
