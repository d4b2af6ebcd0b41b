// aps/engine/internal/id_index.h — the scheduler's job-id → slot index.
//
// Design
// ------
// An open-addressing hash table with linear probing that stores only 32-bit words: each bucket
// holds (slot + 1) in its upper 26 bits and a 6-bit tag of the key's hash in its lower 6 bits; 0
// means empty. The key itself is not stored: the owner keeps the id next to the slot (the job
// record), and the index asks for it through `KeyOf(slot)` only when a bucket's tag matches, so a
// lookup touches one cache line of buckets and, usually, one job record. 4 bytes per bucket and
// a load factor kept between 3/8 and 3/4 (after growth) cost 5.3–10.7 bytes per id.
//
// Deletion shifts the following entries of the cluster back (no tombstones), so lookups never
// degrade with churn and a long-lived scheduler needs no rehash.
//
// Invariants (checked by tests/engine/id_index_test.cc):
//   * every stored slot appears in exactly one bucket;
//   * an entry sits in the cluster that starts at or before its home bucket (hash & mask) with
//     no empty bucket between home and it (what linear probing's lookup relies on);
//   * size_ <= 3/4 of the bucket count; the bucket count is a power of two.
//
//   IdIndex index;
//   index.Insert("job-7", 42, key_of);        // key_of(42) must return "job-7" from now on
//   std::optional<std::uint32_t> s = index.Find("job-7", key_of);
//   index.Erase("job-7", key_of);
//
// Threads: one owner thread (the scheduler thread, or the stopped scheduler's lock holder).
// Insert() may allocate (growth, amortized O(1)); Find() and Erase() never allocate. None blocks.
#ifndef APS_ENGINE_INTERNAL_ID_INDEX_H_
#define APS_ENGINE_INTERNAL_ID_INDEX_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

namespace aps::engine_internal {

// A fast 64-bit hash of short strings (ids are typically 8–40 bytes): 8 bytes per step with a
// multiply-xorshift mix. Not cryptographic; ids are not attacker-chosen at this layer.
inline std::uint64_t HashId(std::string_view s) noexcept {
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (s.size() * 0xff51afd7ed558ccdull);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n != 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
  }
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

class IdIndex {
 public:
  static constexpr std::uint32_t kMaxSlot = (1u << 26) - 2;  // 67 million ids

  std::size_t size() const noexcept { return size_; }
  std::size_t bucket_count() const noexcept { return buckets_.size(); }
  std::size_t memory_bytes() const noexcept { return buckets_.capacity() * sizeof(std::uint32_t); }

  // Find() — the slot of `id`, or nullopt. KeyOf: std::string_view(std::uint32_t slot).
  template <typename KeyOf>
  std::optional<std::uint32_t> Find(std::string_view id, const KeyOf& key_of) const noexcept {
    if (size_ == 0) return std::nullopt;
    const std::uint64_t h = HashId(id);
    const std::uint32_t tag = Tag(h);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const std::uint32_t b = buckets_[i];
      if (b == 0) return std::nullopt;
      if ((b & kTagMask) == tag && key_of(SlotOf(b)) == id) return SlotOf(b);
    }
  }

  // Insert() — maps `id` (not present: check with Find() first) to `slot` (<= kMaxSlot).
  // Allocates when it grows (like every std container in the engine, running out of memory
  // there ends the process).
  template <typename KeyOf>
  void Insert(std::string_view id, std::uint32_t slot, const KeyOf& key_of) {
    if ((size_ + 1) * 4 > buckets_.size() * 3) Grow(key_of);
    Place(HashId(id), slot);
    ++size_;
  }

  // Erase() — removes `id`; false when absent. key_of(slot) must still return the id.
  template <typename KeyOf>
  bool Erase(std::string_view id, const KeyOf& key_of) noexcept {
    if (size_ == 0) return false;
    const std::uint64_t h = HashId(id);
    const std::uint32_t tag = Tag(h);
    std::size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const std::uint32_t b = buckets_[i];
      if (b == 0) return false;
      if ((b & kTagMask) == tag && key_of(SlotOf(b)) == id) break;
    }
    // Backward-shift deletion: move later entries of the cluster into the hole when the hole
    // lies cyclically within [their home, their position).
    std::size_t hole = i;
    for (std::size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
      const std::uint32_t b = buckets_[j];
      if (b == 0) break;
      const std::size_t home = HashId(key_of(SlotOf(b))) & mask_;
      if (((j - home) & mask_) >= ((j - hole) & mask_)) {
        buckets_[hole] = b;
        hole = j;
      }
    }
    buckets_[hole] = 0;
    --size_;
    return true;
  }

  void Clear() noexcept {
    std::fill(buckets_.begin(), buckets_.end(), 0u);
    size_ = 0;
  }

  // ForEach() — f(slot) for every entry, in bucket order.
  template <typename F>
  void ForEach(const F& f) const {
    for (std::uint32_t b : buckets_) {
      if (b != 0) f(SlotOf(b));
    }
  }

 private:
  static constexpr std::uint32_t kTagBits = 6;
  static constexpr std::uint32_t kTagMask = (1u << kTagBits) - 1;

  static std::uint32_t Tag(std::uint64_t h) noexcept {
    return static_cast<std::uint32_t>(h >> 58) & kTagMask;
  }
  static std::uint32_t SlotOf(std::uint32_t b) noexcept { return (b >> kTagBits) - 1; }

  void Place(std::uint64_t h, std::uint32_t slot) noexcept {
    std::size_t i = h & mask_;
    while (buckets_[i] != 0) i = (i + 1) & mask_;
    buckets_[i] = ((slot + 1) << kTagBits) | Tag(h);
  }

  template <typename KeyOf>
  void Grow(const KeyOf& key_of) {
    const std::size_t n = buckets_.empty() ? 16 : buckets_.size() * 2;
    std::vector<std::uint32_t> old;
    old.swap(buckets_);
    buckets_.assign(n, 0u);
    mask_ = n - 1;
    for (std::uint32_t b : old) {
      if (b != 0) Place(HashId(key_of(SlotOf(b))), SlotOf(b));
    }
  }

  std::vector<std::uint32_t> buckets_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_ID_INDEX_H_
