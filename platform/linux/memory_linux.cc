// MapRegion() on Linux: anonymous private mappings; regions of 2 MiB or more are aligned to
// 2 MiB (map 2 MiB extra, unmap the ends) and advised MADV_HUGEPAGE, so that with transparent
// huge pages in "madvise" mode (the common default) each 2 MiB is one first-touch fault.
#include <sys/mman.h>

#include <cstdint>

#include "platform/memory.h"

namespace aps::platform {
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
  memory_internal::CountMapped(bytes);
  return p;
}

void PopulateRegion(void* p, std::size_t bytes) noexcept {
  if (p == nullptr || bytes == 0) return;
#ifdef MADV_POPULATE_WRITE
  // The kernel allocates and maps every page in one loop, without a trap per page (on older
  // kernels, EINVAL: the writes below fault them in one by one).
  (void)madvise(p, bytes, MADV_POPULATE_WRITE);
#endif
  // Then a write to each page from user space. Under a hypervisor with shadow page tables (the
  // development VM is one) the kernel's mapping is not yet the CPU's: the first user access to
  // each page still traps to the hypervisor, and without these writes the timing wheel took
  // those traps in its timed inserts (47 ns per insert instead of 9 with 4 KB pages; measured in
  // docs/scheduler.md, "Eleventh pass"). Rewriting a byte with its own value keeps the contents.
  volatile char* const c = static_cast<volatile char*>(p);
  for (std::size_t off = 0; off < bytes; off += 4096) c[off] = c[off];
}

void UnmapRegion(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  munmap(p, bytes);
  memory_internal::CountUnmapped(bytes);
}

}  // namespace aps::platform
