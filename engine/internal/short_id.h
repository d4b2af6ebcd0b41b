// aps/engine/internal/short_id.h — a job id in 16 bytes.
//
// Design
// ------
// A job record keeps its id. A std::string costs 32 bytes and, past its 15-character
// small-string buffer, a heap block as well; every generated id (15 characters) and most ids
// users choose fit in 15. ShortId keeps up to 15 characters inline in 16 bytes, NUL-terminated,
// and a longer id in one heap block (pointer and size in the same 16 bytes):
//
//   inline: bytes_[0, size) the id, bytes_[size] = 0, bytes_[15] = 15 - size (0 for a
//           15-character id, where it doubles as the terminator);
//   heap:   bytes_[0, 8) the block (size + 1 bytes, NUL-terminated), bytes_[8, 12) the size,
//           bytes_[15] = kHeapTag.
//
// Invariant: bytes_[15] is kHeapTag or in [0, 15]; an empty ShortId is inline with size 0.
//
// Threads: a value type; no internal synchronization. Assign() allocates when the id is longer
// than kInlineMax (and aborts if that allocation fails, as std::string does in the
// -fno-exceptions core); nothing else allocates. Nothing blocks.
#ifndef APS_ENGINE_INTERNAL_SHORT_ID_H_
#define APS_ENGINE_INTERNAL_SHORT_ID_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace aps::engine_internal {

class ShortId {
 public:
  static constexpr std::size_t kInlineMax = 15;

  ShortId() noexcept { SetEmpty(); }
  ~ShortId() { Free(); }
  ShortId(const ShortId&) = delete;
  ShortId& operator=(const ShortId&) = delete;
  ShortId(ShortId&& o) noexcept {
    std::memcpy(bytes_, o.bytes_, sizeof(bytes_));
    o.SetEmpty();
  }
  ShortId& operator=(ShortId&& o) noexcept {
    if (this != &o) {
      Free();
      std::memcpy(bytes_, o.bytes_, sizeof(bytes_));
      o.SetEmpty();
    }
    return *this;
  }
  ShortId& operator=(std::string_view s) {
    Assign(s);
    return *this;
  }

  // Assign() — copies `s` (which may point into this id). Allocates iff s.size() > kInlineMax.
  void Assign(std::string_view s) {
    if (s.size() <= kInlineMax) {
      unsigned char tmp[16];
      std::memcpy(tmp, s.data(), s.size());
      Free();
      std::memcpy(bytes_, tmp, s.size());
      bytes_[s.size()] = 0;
      bytes_[15] = static_cast<unsigned char>(kInlineMax - s.size());
      return;
    }
    char* block = new char[s.size() + 1];
    std::memcpy(block, s.data(), s.size());
    block[s.size()] = 0;
    Free();
    const auto size = static_cast<std::uint32_t>(s.size());
    std::memcpy(bytes_, &block, sizeof(block));
    std::memcpy(bytes_ + 8, &size, sizeof(size));
    bytes_[15] = kHeapTag;
  }
  void clear() noexcept {
    Free();
    SetEmpty();
  }

  bool empty() const noexcept { return bytes_[15] == kInlineMax; }
  std::size_t size() const noexcept {
    if (!on_heap()) return kInlineMax - bytes_[15];
    std::uint32_t size;
    std::memcpy(&size, bytes_ + 8, sizeof(size));
    return size;
  }
  const char* c_str() const noexcept {
    if (!on_heap()) return reinterpret_cast<const char*>(bytes_);
    const char* block;
    std::memcpy(&block, bytes_, sizeof(block));
    return block;
  }
  std::string_view view() const noexcept { return {c_str(), size()}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT: an id is a string
  // Whether the id took a heap block (longer than kInlineMax).
  bool on_heap() const noexcept { return bytes_[15] == kHeapTag; }

  friend bool operator==(const ShortId& a, std::string_view b) noexcept { return a.view() == b; }

 private:
  static constexpr unsigned char kHeapTag = 0xFF;

  void SetEmpty() noexcept {
    bytes_[0] = 0;
    bytes_[15] = kInlineMax;
  }
  void Free() noexcept {
    if (on_heap()) delete[] const_cast<char*>(c_str());
  }

  alignas(8) unsigned char bytes_[16];
};

static_assert(sizeof(ShortId) == 16);

}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_SHORT_ID_H_
