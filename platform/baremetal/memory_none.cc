// MapRegion() on bare metal: the C heap (calloc). No huge pages; malloc's alignment.
#include <atomic>
#include <cstdlib>

#include "platform/memory.h"

namespace aps::platform {
namespace {
std::atomic<std::size_t> g_mapped{0};
}  // namespace

void* MapRegion(std::size_t bytes) noexcept {
  if (bytes == 0) return nullptr;
  void* p = std::calloc(1, bytes);
  if (p != nullptr) g_mapped.fetch_add(bytes, std::memory_order_relaxed);
  return p;
}

void UnmapRegion(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  std::free(p);
  g_mapped.fetch_sub(bytes, std::memory_order_relaxed);
}

std::size_t MappedBytes() noexcept { return g_mapped.load(std::memory_order_relaxed); }

}  // namespace aps::platform
