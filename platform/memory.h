// aps/platform/memory.h — large zeroed regions straight from the OS, for memory that grows in
// bursts.
//
// Why: on a VM, the first write to each fresh 4 KB page is a kernel trap that can cost ~10 µs
// (docs/scheduler.md, "Tenth pass"); a million queued async adds fill ~140 MB of the command
// queue's blocks, ~36 000 such traps on the producer's thread. A region of 2 MiB or more is
// therefore offered to the kernel for transparent huge pages (2 MiB each: one trap instead of
// 512), where the platform has them.
//
//   void* p = aps::platform::MapRegion(8 << 20);   // zeroed, 2 MiB-aligned, or nullptr
//   ...
//   aps::platform::UnmapRegion(p, 8 << 20);
//
// Linux: anonymous mmap(2); regions of at least kHugeRegionBytes are aligned to it and advised
// MADV_HUGEPAGE (honoured when /sys/kernel/mm/transparent_hugepage/enabled is "always" or
// "madvise"; otherwise ordinary pages). Bare metal: the C heap (calloc), no huge pages.
#ifndef APS_PLATFORM_MEMORY_H_
#define APS_PLATFORM_MEMORY_H_

#include <cstddef>

namespace aps::platform {

// Regions at least this large are aligned to it and offered huge pages (Linux).
inline constexpr std::size_t kHugeRegionBytes = std::size_t{2} << 20;

// MapRegion() — `bytes` (> 0) of zeroed memory aligned for any object (alignof(max_align_t); on
// Linux to the page, and to kHugeRegionBytes when bytes >= kHugeRegionBytes), or nullptr when
// the OS refuses. Pages become resident when first
// written. Allocates (a system call); never blocks otherwise; any thread.
void* MapRegion(std::size_t bytes) noexcept;

// PopulateRegion() — makes [p, p + bytes) of a MapRegion() region resident and writable now, so
// that later writes take no first-touch fault. Linux: one madvise(MADV_POPULATE_WRITE), which
// the kernel serves in a loop without a trap per page (Linux 5.14+), then one write per 4 KB
// page from user space (under a shadow-paging hypervisor the first user access to a page traps
// even when the kernel has mapped it). Bare metal: nothing to do (calloc'd RAM is resident). For
// memory written soon and in full (pools a hot path must not fault in). Never blocks otherwise;
// any thread, on memory no other thread uses yet.
void PopulateRegion(void* p, std::size_t bytes) noexcept;

// UnmapRegion() — returns a region from MapRegion() with the same `bytes`. nullptr is ignored.
// Never blocks otherwise; any thread.
void UnmapRegion(void* p, std::size_t bytes) noexcept;

// MappedBytes() — bytes currently mapped by MapRegion(), process-wide (mallinfo() does not see
// them: benchmarks that report heap use add this). Never allocates, never blocks; any thread.
std::size_t MappedBytes() noexcept;

namespace memory_internal {
// What the ports call to keep MappedBytes() (platform/memory_count.cc) right.
void CountMapped(std::size_t bytes) noexcept;
void CountUnmapped(std::size_t bytes) noexcept;
}  // namespace memory_internal

}  // namespace aps::platform

#endif  // APS_PLATFORM_MEMORY_H_
