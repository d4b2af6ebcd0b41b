// MappedBytes(): the count both ports of MapRegion() keep.
#include <atomic>

#include "platform/memory.h"

namespace aps::platform {
namespace {
std::atomic<std::size_t> g_mapped{0};  // relaxed throughout: a statistic
}  // namespace

namespace memory_internal {
void CountMapped(std::size_t bytes) noexcept {
  g_mapped.fetch_add(bytes, std::memory_order_relaxed);
}
void CountUnmapped(std::size_t bytes) noexcept {
  g_mapped.fetch_sub(bytes, std::memory_order_relaxed);
}
}  // namespace memory_internal

std::size_t MappedBytes() noexcept { return g_mapped.load(std::memory_order_relaxed); }

}  // namespace aps::platform
