// aps/engine/internal/id_index.h — the scheduler's job-id → slot index.
//
// Design
// ------
// An open-addressing hash table with linear probing whose buckets are 64-bit words: the upper
// 32 bits hold the low 32 bits of the key's hash, the lower 32 bits hold slot + 1; 0 means
// empty. The key itself is not stored: the owner keeps the id next to the slot (the job
// record), and the index asks for it through `KeyOf(slot)` only when a bucket's 32 hash bits
// match, so a lookup touches one cache line of buckets and, almost always, only the record it
// is looking for. The stored hash also gives each entry's home bucket (hash & mask), so
// deletion and growth never read a record: with ids held by a million scattered records, a
// deletion that had to rehash its neighbours' ids (as when buckets held a 6-bit tag only) cost
// a cache miss per neighbour and was the largest item of a burst drain's profile. 8 bytes per
// bucket and a load factor kept between 3/8 and 3/4 (after growth) cost 10.7–21 bytes per id.
//
// Deletion shifts the following entries of the cluster back (no tombstones), so lookups never
// degrade with churn and a long-lived scheduler needs no rehash.
//
// Invariants (CheckInvariants(), run by tests/engine/id_index_test.cc after every operation):
//   * every stored slot appears in exactly one bucket, with its key's hash;
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
#include <string>
#include <string_view>
#include <vector>

#include "engine/check.h"
#include "engine/internal/mapped_array.h"

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
  static constexpr std::uint32_t kMaxSlot = 0xFFFFFFFEu;

  std::size_t size() const noexcept { return size_; }
  std::size_t bucket_count() const noexcept { return buckets_.size(); }
  std::size_t memory_bytes() const noexcept { return buckets_.bytes(); }

  // Find() — the slot of `id`, or nullopt. KeyOf: std::string_view(std::uint32_t slot).
  template <typename KeyOf>
  std::optional<std::uint32_t> Find(std::string_view id, const KeyOf& key_of) const noexcept {
    if (size_ == 0) return std::nullopt;
    const std::size_t i = Locate(id, key_of);
    if (buckets_[i] == 0) return std::nullopt;
    return SlotOf(buckets_[i]);
  }

  // Prefetch() — starts loading the bucket where a lookup of `id` begins, so that a Find() or
  // Erase() of it issued a little later does not wait for memory. Never allocates or blocks.
  void Prefetch(std::string_view id) const noexcept {
    if (!buckets_.empty()) __builtin_prefetch(&buckets_[Hash32(id) & mask_], /*rw=*/1);
  }

  // Insert() — maps `id` (not present: check with Find() first) to `slot` (<= kMaxSlot).
  // Allocates when it grows (a fresh OS region, resident at once; when the OS refuses it, the
  // process ends with a message, as for every std container in the engine). key_of is not
  // called (kept for a uniform interface).
  template <typename KeyOf>
  void Insert(std::string_view id, std::uint32_t slot, const KeyOf& /*key_of*/) {
    if ((size_ + 1) * 4 > buckets_.size() * 3) Rehash(buckets_.empty() ? 16 : buckets_.size() * 2);
    Place(Bucket(Hash32(id), slot));
    ++size_;
  }

  // Reserve() — room for `ids` entries without growing (the buckets are written now). Never
  // shrinks. Allocates; O(buckets).
  void Reserve(std::size_t ids) {
    std::size_t n = buckets_.empty() ? 16 : buckets_.size();
    while (ids * 4 > n * 3) n *= 2;
    if (n > buckets_.size()) Rehash(n);
  }

  // Erase() — removes `id`; false when absent. key_of(slot) must still return the id.
  template <typename KeyOf>
  bool Erase(std::string_view id, const KeyOf& key_of) noexcept {
    if (size_ == 0) return false;
    std::size_t hole = Locate(id, key_of);
    if (buckets_[hole] == 0) return false;
    // Backward-shift deletion: move later entries of the cluster into the hole when the hole
    // lies cyclically within [their home, their position). Homes come from the stored hashes.
    for (std::size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
      const std::uint64_t b = buckets_[j];
      if (b == 0) break;
      const std::size_t home = HashOf(b) & mask_;
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
    std::fill(buckets_.begin(), buckets_.end(), std::uint64_t{0});
    size_ = 0;
  }

  // ForEach() — f(slot) for every entry, in bucket order.
  template <typename F>
  void ForEach(const F& f) const {
    for (std::uint64_t b : buckets_) {
      if (b != 0) f(SlotOf(b));
    }
  }

  // CheckInvariants() — the invariants listed at the top of this file, for tests: an empty
  // string when they hold, else what is wrong. O(buckets × cluster length); calls key_of.
  template <typename KeyOf>
  std::string CheckInvariants(const KeyOf& key_of) const {
    if (buckets_.empty()) return size_ == 0 ? std::string() : "entries without buckets";
    if ((buckets_.size() & mask_) != 0 || mask_ + 1 != buckets_.size()) {
      return "bucket count is not a power of two matching the mask";
    }
    if (size_ * 4 > buckets_.size() * 3) return "load factor above 3/4";
    std::size_t seen = 0;
    std::vector<std::uint32_t> slots;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      const std::uint64_t b = buckets_[i];
      if (b == 0) continue;
      ++seen;
      slots.push_back(SlotOf(b));
      if (HashOf(b) != Hash32(key_of(SlotOf(b)))) return "a bucket's hash is not its key's";
      for (std::size_t k = HashOf(b) & mask_; k != i; k = (k + 1) & mask_) {
        if (buckets_[k] == 0) return "an empty bucket between an entry's home and the entry";
      }
    }
    if (seen != size_) return "size does not match the occupied buckets";
    std::sort(slots.begin(), slots.end());
    if (std::adjacent_find(slots.begin(), slots.end()) != slots.end()) {
      return "a slot appears in two buckets";
    }
    return std::string();
  }

 private:
  static std::uint32_t Hash32(std::string_view id) noexcept {
    return static_cast<std::uint32_t>(HashId(id));
  }
  static std::uint64_t Bucket(std::uint32_t hash, std::uint32_t slot) noexcept {
    return (std::uint64_t{hash} << 32) | (std::uint64_t{slot} + 1);
  }
  static std::uint32_t HashOf(std::uint64_t b) noexcept {
    return static_cast<std::uint32_t>(b >> 32);
  }
  static std::uint32_t SlotOf(std::uint64_t b) noexcept {
    return static_cast<std::uint32_t>(b) - 1;
  }

  // The bucket holding `id`, or the empty bucket that ends its probe sequence.
  template <typename KeyOf>
  std::size_t Locate(std::string_view id, const KeyOf& key_of) const noexcept {
    const std::uint32_t h = Hash32(id);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const std::uint64_t b = buckets_[i];
      if (b == 0 || (HashOf(b) == h && key_of(SlotOf(b)) == id)) return i;
    }
  }

  void Place(std::uint64_t bucket) noexcept {
    std::size_t i = HashOf(bucket) & mask_;
    while (buckets_[i] != 0) i = (i + 1) & mask_;
    buckets_[i] = bucket;
  }

  // Moves every entry into n buckets (a power of two, more than 4/3 of size_).
  void Rehash(std::size_t n) {
    MappedArray<std::uint64_t> old = std::move(buckets_);
    // A fresh region, zeroed and resident at once: no page faults while the index fills up,
    // which they dominated on the development VM (docs/scheduler.md, "Eleventh pass").
    APS_CHECK(buckets_.Allocate(n) && "id index: the OS refused memory for the buckets");
    mask_ = n - 1;
    for (std::uint64_t b : old) {
      if (b != 0) Place(b);
    }
  }

  MappedArray<std::uint64_t> buckets_;  // fresh regions: see Rehash()
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_ID_INDEX_H_
