// MapRegion() on bare metal: the C heap (calloc). No huge pages; malloc's alignment.
#include <cstdlib>

#include "platform/memory.h"

namespace aps::platform {
void* MapRegion(std::size_t bytes) noexcept {
  if (bytes == 0) return nullptr;
  void* p = std::calloc(1, bytes);
  if (p != nullptr) memory_internal::CountMapped(bytes);
  return p;
}

void PopulateRegion(void*, std::size_t) noexcept {}

void UnmapRegion(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  std::free(p);
  memory_internal::CountUnmapped(bytes);
}

}  // namespace aps::platform
