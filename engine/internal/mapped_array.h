// aps/engine/internal/mapped_array.h — a fixed-size array of trivial elements in its own OS
// region, zeroed and resident from the start, for pools that grow by doubling.
//
// Design
// ------
// The timing wheel's pools and the id index's buckets grow by doubling while a burst of adds
// runs. From `new T[n]()` a grown pool was fresh heap pages that the zero-fill then faulted in
// one 4 KB trap at a time (~10 µs each on the development VM; the wheel's Reserve() and the
// kernel's page clearing were a third of the scheduler thread's time absorbing a million adds).
// Here the array is a platform::MapRegion() region (zeroed by the OS; 2 MiB pages offered from
// 2 MiB up) made resident by platform::PopulateRegion() (one system call, then one write per
// 4 KB page instead of a memset of every byte), and a later write never faults.
//
// T must be trivially copyable and trivially destructible, and all-zero bytes must be a valid
// (its value-initialized) T: the array's elements are never constructed or destroyed.
//
// Invariants: data_ == nullptr iff size_ == 0; data_ spans size_ * sizeof(T) bytes of one
// region, all resident.
//
// Threads: one owner. Allocate() allocates (system calls); nothing blocks otherwise.
#ifndef APS_ENGINE_INTERNAL_MAPPED_ARRAY_H_
#define APS_ENGINE_INTERNAL_MAPPED_ARRAY_H_

#include <cstddef>
#include <type_traits>
#include <utility>

#include "platform/memory.h"

namespace aps::engine_internal {

template <typename T>
class MappedArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "MappedArray never constructs or destroys its elements");

 public:
  MappedArray() noexcept = default;
  MappedArray(const MappedArray&) = delete;
  MappedArray& operator=(const MappedArray&) = delete;
  MappedArray(MappedArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MappedArray& operator=(MappedArray&& o) noexcept {
    if (this != &o) {
      Release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~MappedArray() { Release(); }

  // Allocate() — `n` zeroed, resident elements (0: empty); false, leaving an empty array, when
  // the OS refuses. Any previous contents are released first. Allocates; owner thread.
  [[nodiscard]] bool Allocate(std::size_t n) noexcept {
    Release();
    if (n == 0) return true;
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) return false;
    void* const p = platform::MapRegion(n * sizeof(T));
    if (p == nullptr) return false;
    platform::PopulateRegion(p, n * sizeof(T));
    data_ = static_cast<T*>(p);
    size_ = n;
    return true;
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t bytes() const noexcept { return size_ * sizeof(T); }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }

 private:
  void Release() noexcept {
    platform::UnmapRegion(data_, size_ * sizeof(T));
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_MAPPED_ARRAY_H_
