// MapRegion() on Linux: anonymous private mappings; regions of 2 MiB or more are aligned to
// 2 MiB (map 2 MiB extra, unmap the ends) and advised MADV_HUGEPAGE, so that with transparent
// huge pages in "madvise" mode (the common default) each 2 MiB is one first-touch fault.
#include <sys/mman.h>

#include <atomic>
#include <cstdint>

#include "platform/memory.h"

namespace aps::platform {
namespace {
std::atomic<std::size_t> g_mapped{0};
}  // namespace

void* MapRegion(std::size_t bytes) noexcept {
  if (bytes == 0) return nullptr;
  const bool huge = bytes >= kHugeRegionBytes;
  const std::size_t span = huge ? bytes + kHugeRegionBytes : bytes;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  char* p = static_cast<char*>(raw);
  if (huge) {
    const auto addr = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (addr + kHugeRegionBytes - 1) & ~(kHugeRegionBytes - 1);
    const std::size_t head = aligned - addr;
    const std::size_t tail = span - head - bytes;
    if (head != 0) munmap(raw, head);
    if (tail != 0) munmap(reinterpret_cast<char*>(aligned) + bytes, tail);
    p = reinterpret_cast<char*>(aligned);
    // Advice only: without THP the region keeps ordinary pages.
    (void)madvise(p, bytes, MADV_HUGEPAGE);
  }
  g_mapped.fetch_add(bytes, std::memory_order_relaxed);  // relaxed: a statistic
  return p;
}

void UnmapRegion(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  munmap(p, bytes);
  g_mapped.fetch_sub(bytes, std::memory_order_relaxed);
}

std::size_t MappedBytes() noexcept { return g_mapped.load(std::memory_order_relaxed); }

}  // namespace aps::platform
