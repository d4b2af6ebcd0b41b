// aps/engine/timing_wheel.h — the scheduler core's hierarchical timing wheel.
//
// A set of pending deadlines (absolute ticks, each with a payload: 64-bit unless the traits
// say otherwise) that fires them in
// deadline order as time is advanced. Insert, cancel and expiry are O(1) (expiry amortized: an
// entry is re-filed at most kLevels - 1 times on its way down; cancel is lazy, and the sweep
// that clears cancelled entries is amortized over the cancels); nodes and slot chunks come
// from preallocated pools, and handles carry a generation so a stale cancel is harmless. Entries
// never fire early and fire at their exact tick: the wheel's granularity is not its precision. The
// design (levels, granularity and range per level, what happens past the last level, why we
// cascade) is described at the top of timing_wheel.cc.
//
//   aps::TimingWheel<> wheel(/*capacity=*/1024, /*now=*/start_us);
//   aps::Result<aps::WheelHandle> h = wheel.TryInsert(start_us + 1500, job_index);
//   ...
//   if (std::optional<std::int64_t> next = wheel.NextDeadline()) SleepUntilMicros(*next);
//   wheel.AdvanceTo(now_us, [&](std::uint64_t job, std::int64_t deadline, aps::WheelHandle) {
//     RunJob(job, deadline);
//   });
//
// Threads: a wheel is owned by one thread (the scheduler thread). No call is thread-safe, none
// blocks, and only Reserve() and Insert() may allocate.
#ifndef APS_ENGINE_TIMING_WHEEL_H_
#define APS_ENGINE_TIMING_WHEEL_H_

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>

#include "engine/check.h"
#include "engine/internal/mapped_array.h"
#include "engine/status.h"

namespace aps {

// The default shape: 1 tick = 1 µs of the scheduler's time line, 7 levels of 64 slots covering
// 2^42 ticks (50.9 days) ahead; later deadlines wait in the overflow list. Table in
// timing_wheel.cc.
struct DefaultWheelTraits {
  // Absolute tick count. Any integer type; unsigned types may wrap (comparisons are
  // wrap-safe), which is how the tests reach wrap-around with an 8-bit tick.
  using Tick = std::int64_t;
  // log2(slots per level), 1..6 (a level's occupancy is one 64-bit word).
  static constexpr int kSlotBits = 6;
  // Number of levels, 1..32. kSlotBits * kLevels must be smaller than Tick's width in bits.
  static constexpr int kLevels = 7;
  // Optional (16 if absent): entries per chunk of a slot's array, 1..256. A chunk of 16 is
  // 256 bytes, four cache lines. Larger chunks cost more room per occupied slot (the pool
  // reserves a part-filled chunk per list: see "Memory" in timing_wheel.cc), smaller ones a
  // chunk hop more often when slots are re-filed. Small targets may want 4.
  static constexpr int kEntriesPerChunk = 16;
  // Optional (std::uint64_t if absent): the payload type, an unsigned integer. A 32-bit
  // payload saves 4 bytes per node of capacity.
  using Payload = std::uint64_t;
};

// Names one inserted entry. Stale (fired, cancelled, or never issued) handles are harmless:
// every call that takes one checks the generation first. The default value is never valid.
struct WheelHandle {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;  // odd for issued handles
  friend constexpr bool operator==(WheelHandle, WheelHandle) = default;
};

template <typename Traits = DefaultWheelTraits>
class TimingWheel {
 public:
  using Tick = typename Traits::Tick;
  using Handle = WheelHandle;
  using Payload = decltype([] {
    if constexpr (requires { typename Traits::Payload; }) {
      return typename Traits::Payload{};
    } else {
      return std::uint64_t{};
    }
  }());

  static constexpr int kSlotBits = Traits::kSlotBits;
  static constexpr int kLevels = Traits::kLevels;
  static constexpr int kSlotsPerLevel = 1 << kSlotBits;
  static constexpr std::uint32_t kEntriesPerChunk = [] {
    if constexpr (requires { Traits::kEntriesPerChunk; }) {
      return static_cast<std::uint32_t>(Traits::kEntriesPerChunk);
    } else {
      return std::uint32_t{16};
    }
  }();
  // Deadlines that agree with Now() on all bits at and above kWheelBits live in the levels;
  // the others wait in the overflow list.
  static constexpr int kWheelBits = kSlotBits * kLevels;
  // Largest pool: node indices are 32-bit and one value means "none", and the chunk pool
  // (room for 1.25 entries per node) must be indexable in 32 bits too.
  static constexpr std::uint32_t kMaxCapacity = kEntriesPerChunk >= 2 ? 0xC0000000u : 0x80000000u;

 private:
  using UTick = std::make_unsigned_t<Tick>;
  using STick = std::make_signed_t<Tick>;
  static constexpr int kTickBits = std::numeric_limits<UTick>::digits;
  static_assert(std::is_integral_v<Tick>, "Tick must be an integer type");
  static_assert(std::is_unsigned_v<Payload>, "Payload must be an unsigned integer type");
  static_assert(kSlotBits >= 1 && kSlotBits <= 6, "a level's occupancy must fit 64 bits");
  static_assert(kLevels >= 1 && kLevels <= 32, "level occupancy must fit 32 bits");
  static_assert(kEntriesPerChunk >= 1 && kEntriesPerChunk <= 256,
                "kEntriesPerChunk must be 1..256");
  static_assert(kWheelBits < kTickBits,
                "the levels must cover less than half the tick range (wrap-safe comparisons)");
  static constexpr std::uint32_t kFreePrefetchDistance = 16;

 public:
  // Deadlines passed to Insert() and targets passed to AdvanceTo() must lie within kMaxSpan
  // ticks of Now(), either side (half the tick range: 2^63 - 1 µs = 292,000 years by
  // default, 127 ticks for an 8-bit tick). Not checked: it is what makes a wrapping tick
  // comparable.
  static constexpr Tick kMaxSpan = static_cast<Tick>(std::numeric_limits<STick>::max());

  // TimingWheel(capacity, now)
  //
  // An empty wheel whose time is `now`, with room for `capacity` pending entries. Allocates
  // (once, here); never blocks. If that allocation fails the wheel is still usable with
  // capacity() == 0 (check capacity() where allocation can fail, or call Reserve()).
  explicit TimingWheel(std::uint32_t capacity = 0, Tick now = Tick{}) noexcept : now_(now) {
    if (capacity > 0) static_cast<void>(Reserve(capacity));
  }
  TimingWheel(const TimingWheel&) = delete;
  TimingWheel& operator=(const TimingWheel&) = delete;

  // Reserve()
  //
  // Grows the node pool to at least `capacity` entries, and the chunk pool to match; pending
  // entries and handles stay valid. The new pools are written (made resident) here, so no
  // later call pays a page fault for them. Allocates (this and Insert() are the only calls that
  // do); never blocks; owner thread, including from inside an AdvanceTo() callback. Returns
  // kResourceExhausted if an allocation fails or `capacity` > kMaxCapacity; the wheel is then
  // unchanged.
  [[nodiscard]] Status Reserve(std::uint32_t capacity) noexcept {
    if (capacity <= capacity_) return OkStatus();
    if (capacity > kMaxCapacity) {
      return Status(StatusCode::kResourceExhausted, "timing wheel: capacity above kMaxCapacity");
    }
    const std::uint32_t chunks = ChunksFor(std::uint64_t{capacity} + StaleAllowance(capacity));
    // Fresh OS regions, zeroed and made resident here (MappedArray):
    // Insert() and AdvanceTo() never take a first-touch page fault (a kernel trap per 4 KB
    // page, ~10 µs on a VM — it was most of the cost of a million inserts into a fresh wheel),
    // and the zero-fill is the kernel's (we write one byte per page, not every byte).
    engine_internal::MappedArray<Node> grown;
    engine_internal::MappedArray<std::uint32_t> grown_free;
    engine_internal::MappedArray<Entry> grown_entries;
    engine_internal::MappedArray<std::uint32_t> grown_next;
    if (!grown.Allocate(capacity) || !grown_free.Allocate(capacity) ||
        !grown_entries.Allocate(std::size_t{chunks} * kEntriesPerChunk) ||
        !grown_next.Allocate(chunks)) {
      return Status(StatusCode::kResourceExhausted, "timing wheel: pool allocation failed");
    }
    if (used_ > 0) {
      std::copy_n(nodes_.data(), used_, grown.data());
    }
    if (free_count_ > 0) std::copy_n(free_.data(), free_count_, grown_free.data());
    if (chunks_used_ > 0) {
      std::copy_n(entries_.data(), std::size_t{chunks_used_} * kEntriesPerChunk,
                  grown_entries.data());
      std::copy_n(chunk_next_.data(), chunks_used_, grown_next.data());
    }
    nodes_ = std::move(grown);
    free_ = std::move(grown_free);
    entries_ = std::move(grown_entries);
    chunk_next_ = std::move(grown_next);
    capacity_ = capacity;
    chunk_capacity_ = chunks;
    return OkStatus();
  }

  // TryInsert()
  //
  // Schedules `payload` to fire at `deadline` (absolute ticks, within kMaxSpan of Now()).
  // A deadline at or before Now() is due: it fires at the start of the next AdvanceTo() —
  // also when inserted from inside an AdvanceTo() callback, where it does not fire in the
  // running pass (so a zero-delay re-arm cannot starve other entries). Entries with equal
  // deadlines fire in insertion order. O(1), amortized: when the chunk pool's room is taken
  // by cancelled entries, this call first sweeps them out (see Purge in timing_wheel.cc).
  // Never allocates, never blocks; owner thread, including from inside an AdvanceTo()
  // callback.
  // Returns the entry's handle, or kResourceExhausted when every node is in use (nothing is
  // changed; pending entries are not affected).
  [[nodiscard]] Result<Handle> TryInsert(Tick deadline, Payload payload) noexcept {
    if (free_count_ == 0 && used_ == capacity_) {
      return Status(StatusCode::kResourceExhausted, "timing wheel: node pool full");
    }
    return InsertNode(deadline, payload);
  }

  // Insert()
  //
  // TryInsert(), growing the pools (doubling them) when every node is in use. Allocates only
  // then; never blocks; owner thread, including from inside an AdvanceTo() callback.
  // Returns kResourceExhausted if growing fails.
  [[nodiscard]] Result<Handle> Insert(Tick deadline, Payload payload) noexcept {
    if (free_count_ == 0 && used_ == capacity_) {
      const std::uint32_t grown =
          capacity_ >= kMaxCapacity / 2 ? kMaxCapacity : std::max<std::uint32_t>(64, 2 * capacity_);
      APS_RETURN_IF_ERROR(Reserve(grown));
    }
    return InsertNode(deadline, payload);
  }

  // Cancel()
  //
  // Removes a pending entry so it never fires. Returns false, and does nothing, if `h` is
  // stale: the entry already fired (its handle is stale inside its own callback), was
  // cancelled, or its node was reused. From inside an AdvanceTo() callback it may cancel
  // entries due in the same pass; they then do not fire. O(1): it touches the node only (the
  // node is free again at once; its slot entry is dropped when time or a sweep reaches it).
  // Never allocates, never blocks; owner thread.
  bool Cancel(Handle h) noexcept {
    if (!IsPending(h)) return false;
    Forget(h.index);
    Free(h.index);
    --size_;  // the entry stays, stale: entry_count_ - size_ grew by one
    return true;
  }

  // Reschedule()
  //
  // Moves a pending entry to `deadline`, keeping its handle and payload. It then orders as if
  // inserted now (after entries already pending with the same deadline), and a deadline at or
  // before Now() makes it due exactly as in TryInsert(). Returns false if `h` is stale. O(1),
  // amortized as TryInsert(). Never allocates, never blocks; owner thread, including from
  // inside a callback.
  bool Reschedule(Handle h, Tick deadline) noexcept {
    if (!IsPending(h)) return false;
    MakeRoom();  // may sweep: before the node is touched
    Forget(h.index);
    ++nodes_[h.index].filing;  // the old entry is now stale
    File(h.index, deadline);
    return true;
  }

  // IsPending() — whether `h` names an entry that has neither fired nor been cancelled.
  // O(1). Never allocates, never blocks; owner thread.
  bool IsPending(Handle h) const noexcept {
    return h.index < used_ && (h.generation & 1u) != 0 &&
           nodes_[h.index].generation == h.generation;
  }

  // AdvanceTo()
  //
  // Moves the wheel's time to `now` and calls on_expire(payload, deadline, handle) for every
  // entry due by then: first the entries that were already due (inserted with a deadline at or
  // before the previous Now()), in insertion order; then the entries with deadlines up to
  // `now`, in deadline order, equal deadlines in insertion order. Never early: an entry fires
  // only once `now` >= its deadline; late only by how late this call is made.
  // While a callback runs, Now() is the deadline being fired. The callback may insert (a
  // deadline after that instant and up to `now` fires later in this pass; one at or before it
  // fires on the next call), cancel or reschedule any entry, and read the wheel; it must not
  // call AdvanceTo() (checked). The handle it receives is already stale.
  // A `now` before Now() is treated as Now(). Cost: O(1) per fired entry plus O(1) per
  // non-empty slot reached, amortized O(kLevels) re-filing per entry (bursty: reaching a
  // higher-level slot re-files all its entries at once), never O(elapsed ticks). Cancelled
  // entries still in a slot cost one liveness check and are dropped by the first re-filing
  // (or firing) that meets them.
  // Never allocates, never blocks (beyond the callback); owner thread.
  // Returns the number of entries fired.
  template <typename F>
  std::size_t AdvanceTo(Tick now, F&& on_expire) noexcept {
    static_assert(std::is_invocable_v<F&, Payload, Tick, Handle>,
                  "on_expire(Payload payload, Tick deadline, WheelHandle handle)");
    APS_CHECK(!advancing_);
    advancing_ = true;
    if (Diff(now, now_) < 0) now = now_;
    std::size_t fired = 0;
    if (lists_[kDueList].head != kNil) {
      // Entries due at the previous Now(): the due list is re-labelled as the firing list so
      // that entries made due by these callbacks wait for the next call.
      lists_[kFiringList] = lists_[kDueList];
      lists_[kDueList] = List{};
      fired += FireAll(kFiringList, on_expire);
    }
    for (;;) {
      if (occupied_levels_ != 0) {
        const unsigned level = Ctz(occupied_levels_);
        const unsigned slot = Ctz(occupied_[level]);
        const Tick start = SlotStart(level, slot);
        if (Diff(start, now) > 0) break;
        now_ = start;  // valid: every lower level is empty, every other entry is later
        cache_ = CacheState::kStale;
        if (level == 0) {
          // A level-0 slot holds one deadline, `start`, and callbacks cannot add to it (their
          // deadlines at or before `start` are due, later ones go to later slots).
          fired += FireAll(SlotList(0, slot), on_expire);
        } else {
          Cascade(level, slot);
          fired += FireAll(kFiringList, on_expire);
        }
        continue;
      }
      if (lists_[kOverflowList].head != kNil) {
        const std::optional<Tick> min = OverflowMin();
        if (!min) continue;  // only cancelled entries were left: dropped
        const Tick epoch = EpochStart(*min);
        if (Diff(epoch, now) > 0) break;
        now_ = epoch;  // the levels are empty and every overflow entry is at or after `epoch`
        cache_ = CacheState::kStale;
        RefileOverflow();
        fired += FireAll(kFiringList, on_expire);
        continue;
      }
      break;
    }
    // Valid: `now` precedes the start of every occupied slot and overflow epoch, so every
    // pending entry keeps its level and slot.
    now_ = now;
    advancing_ = false;
    return fired;
  }

  // Clear()
  //
  // Drops every pending entry (none fires; every handle issued so far goes stale) and sets the
  // time to `now`, keeping the pools: what a rebuild needs without allocating (and writing)
  // them again. O(nodes ever handed out + lists). Never allocates, never blocks; owner thread,
  // not from inside an AdvanceTo() callback.
  void Clear(Tick now) noexcept {
    APS_CHECK(!advancing_);
    // Every node ever handed out becomes free, with a generation no issued handle holds.
    free_count_ = 0;
    for (std::uint32_t i = used_; i-- > 0;) {
      Node& node = nodes_[i];
      if ((node.generation & 1u) != 0) ++node.generation;  // pending: now even (free)
      ++node.filing;
      free_[free_count_++] = i;
    }
    chunks_used_ = 0;
    free_chunk_ = kNil;
    entry_count_ = 0;
    filings_since_sweep_ = 0;
    size_ = 0;
    lists_.fill(List{});
    clean_at_.fill(stale_events_);
    occupied_.fill(0);
    occupied_levels_ = 0;
    overflow_min_node_ = kNil;
    overflow_min_exact_ = true;
    cache_ = CacheState::kEmpty;
    cached_node_ = kNil;
    now_ = now;
  }

  // NextDeadline()
  //
  // The exact earliest instant at which AdvanceTo() fires something: Now() if an entry is
  // already due, else the earliest pending deadline, or nullopt if the wheel is empty. Sleep
  // until it (the wheel adds no rounding). Cost: when not cached, one scan of the k entries
  // sharing the earliest slot (or the overflow list), dropping that slot's cancelled entries
  // if no live one is left; the answer is then cached until time reaches that slot or its
  // earliest entry is cancelled. Not const for that cache. Never allocates, never blocks;
  // owner thread.
  std::optional<Tick> NextDeadline() noexcept {
    if (HasLive(kDueList) || HasLive(kFiringList)) return now_;
    if (cache_ == CacheState::kStale) Recompute();
    if (cache_ == CacheState::kEmpty) return std::nullopt;
    return cached_next_;
  }

  // Now() — the time the wheel was last advanced to (or constructed with); inside a callback,
  // the instant being fired. Never allocates, never blocks; owner thread.
  Tick Now() const noexcept { return now_; }

  // Pending entries, and the pool's size. Never allocate, never block; owner thread.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint32_t capacity() const noexcept { return capacity_; }

  // Bytes per pool node (16 with the default traits: payload 8, filing 4, generation 4; 12
  // with a 32-bit payload) and per slot entry (16).
  static constexpr std::size_t node_bytes() noexcept { return sizeof(Node); }
  static constexpr std::size_t entry_bytes() noexcept { return sizeof(Entry); }
  // Bytes the wheel holds for `capacity` entries: nodes, free-index stack, chunk pool.
  static constexpr std::size_t pool_bytes(std::uint32_t capacity) noexcept {
    return std::size_t{capacity} * (node_bytes() + sizeof(std::uint32_t)) +
           std::size_t{ChunksFor(std::uint64_t{capacity} + StaleAllowance(capacity))} *
               (kEntriesPerChunk * sizeof(Entry) + sizeof(std::uint32_t));
  }

 private:
  static constexpr std::uint32_t kNil = 0xFFFFFFFFu;
  static constexpr UTick kSlotMask = static_cast<UTick>(kSlotsPerLevel - 1);
  // List ids: level << kSlotBits | slot for the slot lists, then the special lists.
  static constexpr std::uint32_t kSlotLists = static_cast<std::uint32_t>(kLevels * kSlotsPerLevel);
  static constexpr std::uint32_t kOverflowList = kSlotLists;    // deadlines past the last level
  static constexpr std::uint32_t kDueList = kSlotLists + 1;     // deadline <= now_ at insert
  static constexpr std::uint32_t kFiringList = kSlotLists + 2;  // being fired by AdvanceTo()
  static constexpr std::uint32_t kNumLists = kSlotLists + 3;

  // One filing of a node in a list: 16 bytes with the default traits. Copied, never pointed
  // to. Live iff nodes_[node].filing == filing; otherwise the node was cancelled, fired or
  // re-filed since, and the entry is dropped wherever it is next met.
  struct Entry {
    Tick deadline;
    std::uint32_t node;
    std::uint32_t filing;
  };

  // A pool node: 16 bytes with the default traits, 12 with a 32-bit payload. One struct, so
  // that firing an entry (liveness check, payload, generation bump) misses cache once per
  // entry, not once per array; Cancel() and IsPending() touch the same line. The deadline
  // lives in the node's entry only (an entry is the node's one live filing). Trivial, and
  // all-zero is a free node, so the pool is a MappedArray (zeroed by the OS).
  struct Node {
    Payload payload;
    std::uint32_t filing;      // bumped whenever the node's entry changes or goes
    std::uint32_t generation;  // odd while pending, even while free; bumped at each change
  };

  // A chained array of entries: chunks head .. tail, entries [head_pos, end) in the head
  // chunk, [0, tail_fill) in the tail chunk (when head == tail: [head_pos, tail_fill)).
  // head_pos is non-zero only while the list is being fired from its front.
  struct List {
    std::uint32_t head = kNil;
    std::uint32_t tail = kNil;
    std::uint32_t head_pos = 0;
    std::uint32_t tail_fill = 0;
  };

  enum class CacheState : std::uint8_t { kStale, kEmpty, kValid };

  // Chunks that always hold `entries` entries however they are spread: each non-empty list
  // has at most one part-filled chunk, and two more cover a list being consumed from its
  // front while another is rebuilt (see "Memory" in timing_wheel.cc).
  static constexpr std::uint32_t ChunksFor(std::uint64_t entries) noexcept {
    return static_cast<std::uint32_t>((entries + kEntriesPerChunk - 1) / kEntriesPerChunk +
                                      std::min<std::uint64_t>(entries, kNumLists) + 3);
  }
  // Cancelled entries the chunk pool holds room for beyond `capacity` live ones: the sweep
  // that makes room when they are used up then drops at least this many, so its cost is O(1)
  // amortized per cancel.
  static constexpr std::uint32_t StaleAllowance(std::uint32_t capacity) noexcept {
    return capacity / 4 + kEntriesPerChunk;
  }

  // a - b in the wrap-safe sense: correct whenever the true difference is within kMaxSpan.
  static constexpr STick Diff(Tick a, Tick b) noexcept {
    return static_cast<STick>(static_cast<UTick>(static_cast<UTick>(a) - static_cast<UTick>(b)));
  }
  static constexpr UTick LowMask(unsigned bits) noexcept {
    return static_cast<UTick>((std::uintmax_t{1} << bits) - 1u);
  }
  static unsigned Ctz(std::uint64_t bits) noexcept {
    return static_cast<unsigned>(std::countr_zero(bits));
  }
  static constexpr std::uint32_t SlotList(unsigned level, unsigned slot) noexcept {
    return (level << kSlotBits) | slot;
  }
  static void Prefetch([[maybe_unused]] const void* p) noexcept {
#if defined(__GNUC__)
    __builtin_prefetch(p);
#endif
  }
  // First tick of `slot` at `level`, in the block of time that now_ is in.
  Tick SlotStart(unsigned level, unsigned slot) const noexcept {
    const UTick base = static_cast<UTick>(static_cast<UTick>(now_) &
                                          static_cast<UTick>(~LowMask((level + 1) * kSlotBits)));
    return static_cast<Tick>(static_cast<UTick>(
        base | static_cast<UTick>(static_cast<UTick>(slot) << (level * kSlotBits))));
  }
  static Tick EpochStart(Tick t) noexcept {
    return static_cast<Tick>(
        static_cast<UTick>(static_cast<UTick>(t) & static_cast<UTick>(~LowMask(kWheelBits))));
  }

  Entry* Chunk(std::uint32_t c) noexcept {
    return entries_.data() + std::size_t{c} * kEntriesPerChunk;
  }
  const Entry* Chunk(std::uint32_t c) const noexcept {
    return entries_.data() + std::size_t{c} * kEntriesPerChunk;
  }
  bool Live(const Entry& e) const noexcept { return nodes_[e.node].filing == e.filing; }
  // Whether `list` holds a live entry. O(k); only the due and firing lists are asked, and
  // they are short or being drained.
  bool HasLive(std::uint32_t list) const noexcept {
    bool live = false;
    ForEach(list, [&](const Entry& e) {
      live = Live(e);
      return !live;  // stop at the first live entry
    });
    return live;
  }

  // Calls f(entry) for the entries of `list` in order while it returns true.
  template <typename F>
  void ForEach(std::uint32_t list, F&& f) const noexcept {
    const List& l = lists_[list];
    for (std::uint32_t c = l.head, pos = l.head_pos; c != kNil; c = chunk_next_[c], pos = 0) {
      const std::uint32_t end = ChunkEnd(l, c);
      const Entry* p = Chunk(c);
      for (; pos < end; ++pos) {
        if (!f(p[pos])) return;
      }
    }
  }

  void PrefetchChunk(std::uint32_t c) const noexcept {
    const char* p = reinterpret_cast<const char*>(Chunk(c));
    for (std::size_t off = 0; off < kEntriesPerChunk * sizeof(Entry); off += 64) Prefetch(p + off);
  }
  // Starts the cache misses of the nodes of chunk c's entries from `pos` on (c in list l).
  void PrefetchNodes(const List& l, std::uint32_t c, std::uint32_t pos) const noexcept {
    const std::uint32_t end = ChunkEnd(l, c);
    const Entry* p = Chunk(c);
    for (; pos < end; ++pos) Prefetch(&nodes_[p[pos].node]);
  }
  // One past the last entry of chunk c of list l.
  static std::uint32_t ChunkEnd(const List& l, std::uint32_t c) noexcept {
    return c == l.tail ? l.tail_fill : kEntriesPerChunk;
  }

  std::uint32_t TakeChunk() noexcept {
    std::uint32_t c;
    if (free_chunk_ != kNil) {
      c = free_chunk_;
      free_chunk_ = chunk_next_[c];
    } else {
      // ChunksFor() bounds the chunks in use, and MakeRoom() keeps entries within it.
      APS_CHECK(chunks_used_ < chunk_capacity_);
      c = chunks_used_++;
    }
    chunk_next_[c] = kNil;
    return c;
  }
  void ReleaseChunk(std::uint32_t c) noexcept {
    chunk_next_[c] = free_chunk_;
    free_chunk_ = c;
  }

  void Append(std::uint32_t list, const Entry& e) noexcept {
    List& l = lists_[list];
    if (l.tail == kNil || l.tail_fill == kEntriesPerChunk) {
      const std::uint32_t c = TakeChunk();
      if (l.tail == kNil) {
        l.head = c;
        l.head_pos = 0;
        clean_at_[list] = stale_events_;  // `e` is live: every caller appends a live entry
      } else {
        chunk_next_[l.tail] = c;
      }
      l.tail = c;
      l.tail_fill = 0;
    }
    Chunk(l.tail)[l.tail_fill++] = e;
  }

  // Takes list `list` out of lists_ (leaving it empty) and calls f(entry) for each of its
  // entries in order, releasing each chunk once read: f may append to any list, `list`
  // included. The caller keeps the occupancy bits right. Reading chunk c, it starts the
  // cache misses of the chunk after next and, with `prefetch_nodes` (f reads Live()), of the
  // next chunk's nodes.
  template <typename F>
  void Drain(std::uint32_t list, bool prefetch_nodes, F&& f) noexcept {
    const List l = lists_[list];
    lists_[list] = List{};
    if (l.head != kNil && prefetch_nodes) PrefetchNodes(l, l.head, l.head_pos);
    for (std::uint32_t c = l.head, pos = l.head_pos; c != kNil; pos = 0) {
      const std::uint32_t next = chunk_next_[c];
      if (next != kNil) {
        if (const std::uint32_t after = chunk_next_[next]; after != kNil) PrefetchChunk(after);
        if (prefetch_nodes) PrefetchNodes(l, next, 0);
      }
      const std::uint32_t end = ChunkEnd(l, c);
      const Entry* p = Chunk(c);
      for (; pos < end; ++pos) f(Entry(p[pos]));
      ReleaseChunk(c);
      c = next;
    }
  }

  // Makes sure one more entry fits the chunk pool, sweeping out cancelled entries if their
  // allowance is used up. After a sweep at most size_ entries remain, and Reserve() sized the
  // pool for capacity_ + StaleAllowance(capacity_), so one more always fits. Also sweeps
  // when kSweepFilings filings have passed since the last sweep, so that a node's 32-bit
  // filing count cannot wrap back to the count a stale entry still holds.
  void MakeRoom() noexcept {
    if (Stale() == 0) {
      filings_since_sweep_ = 0;
      return;
    }
    if (ChunksFor(entry_count_ + 1) > chunk_capacity_ || filings_since_sweep_ >= kSweepFilings) {
      Sweep();
    }
  }
  // Filings (File() calls) between wrap-guard sweeps. A node's filing count moves at most
  // twice per filing (the filing, then its firing or cancel), so 2^30 keeps it below 2^31.
  static constexpr std::uint64_t kSweepFilings = std::uint64_t{1} << 30;

  // Drops every cancelled entry from every list (the one being fired included: FireAll()
  // re-reads its list after each callback). O(entries): each entry's node is read once, with
  // the next chunk's nodes prefetched.
  void Sweep() noexcept {
    for (std::uint32_t list = 0; list < kNumLists; ++list) {
      if (lists_[list].head == kNil) continue;
      Drain(list, /*prefetch_nodes=*/true, [&](const Entry& e) {
        if (Live(e)) {
          Append(list, e);
        } else {
          DropStale();
        }
      });
      if (lists_[list].head == kNil && list < kSlotLists) {
        MarkEmpty(list >> kSlotBits, list & (kSlotsPerLevel - 1));
      }
    }
    APS_DCHECK(Stale() == 0);
    filings_since_sweep_ = 0;
  }
  void DropStale() noexcept { --entry_count_; }
  // Stale entries in the lists: every pending node has exactly one live entry.
  std::uint64_t Stale() const noexcept { return entry_count_ - size_; }

  Result<Handle> InsertNode(Tick deadline, Payload payload) noexcept {
    MakeRoom();
    std::uint32_t idx;
    if (free_count_ != 0) {
      idx = free_[--free_count_];
      // Reused nodes are scattered over the pool: start the cache miss of the node that the
      // kFreePrefetchDistance-th next insert will take (16: measured best with 2^20 timers,
      // 37 -> 18 ns per insert).
      if (free_count_ >= kFreePrefetchDistance) {
        const std::uint32_t later = free_[free_count_ - kFreePrefetchDistance];
        Prefetch(&nodes_[later]);
      }
    } else {
      idx = used_++;
      nodes_[idx] = Node{};
    }
    Node& node = nodes_[idx];
    node.payload = payload;
    ++node.generation;  // now odd: pending
    ++node.filing;
    ++size_;
    File(idx, deadline);
    return Handle{idx, node.generation};
  }

  // The node leaves the wheel (cancelled or fired): its entry, if still in a list, is stale.
  void Free(std::uint32_t idx) noexcept {
    Node& node = nodes_[idx];
    ++node.generation;  // now even: stale for every handle issued so far
    ++node.filing;
    free_[free_count_++] = idx;
  }

  // Files a new entry for a node, with the node's current filing, by its deadline relative
  // to now_: due list, a slot, or overflow. Keeps the NextDeadline() cache exact.
  void File(std::uint32_t idx, Tick deadline) noexcept {
    const Entry e{deadline, idx, nodes_[idx].filing};
    ++entry_count_;
    ++filings_since_sweep_;
    if (Diff(e.deadline, now_) <= 0) {
      Append(kDueList, e);
      return;
    }
    Place(e);
    if (cache_ == CacheState::kEmpty ||
        (cache_ == CacheState::kValid && Diff(e.deadline, cached_next_) < 0)) {
      cached_next_ = e.deadline;
      cached_node_ = idx;
      cache_ = CacheState::kValid;
    }
  }

  // Puts an entry with deadline d > now_ into its slot: the level is the highest
  // kSlotBits-digit in which d differs from now_ (d's digit there is the larger one), the slot
  // is d's digit; or into overflow.
  void Place(const Entry& e) noexcept {
    const UTick diff =
        static_cast<UTick>(static_cast<UTick>(e.deadline) ^ static_cast<UTick>(now_));
    if ((diff >> kWheelBits) != 0) {
      if (lists_[kOverflowList].head == kNil) {
        overflow_min_ = e.deadline;
        overflow_min_node_ = e.node;
        overflow_min_exact_ = true;
      } else if (overflow_min_exact_ && Diff(e.deadline, overflow_min_) < 0) {
        overflow_min_ = e.deadline;
        overflow_min_node_ = e.node;
      }
      Append(kOverflowList, e);
      return;
    }
    PlaceInLevels(e, diff);
  }

  // Place() for a deadline d > now_ known to be within the levels; diff = d ^ now_.
  void PlaceInLevels(const Entry& e, UTick diff) noexcept {
    const unsigned level =
        static_cast<unsigned>(kTickBits - 1 - std::countl_zero(diff)) / kSlotBits;
    const unsigned slot =
        static_cast<unsigned>((static_cast<UTick>(e.deadline) >> (level * kSlotBits)) & kSlotMask);
    Append(SlotList(level, slot), e);
    occupied_[level] |= std::uint64_t{1} << slot;
    occupied_levels_ |= std::uint32_t{1} << level;
  }

  // Called when a pending node's entry goes stale other than by firing: counts a stale event
  // (every list filled before now may hold a stale entry) and marks a cached minimum stale if
  // that entry was the one giving it. By node, not by deadline: the node does not hold the
  // deadline, and finding its entry would cost a walk.
  void Forget(std::uint32_t idx) noexcept {
    ++stale_events_;
    if (idx == cached_node_) cache_ = CacheState::kStale;
    if (idx == overflow_min_node_) overflow_min_exact_ = false;
  }

  // Clears the occupancy bits of a slot whose list is empty.
  void MarkEmpty(unsigned level, unsigned slot) noexcept {
    occupied_[level] &= ~(std::uint64_t{1} << slot);
    if (occupied_[level] == 0) occupied_levels_ &= ~(std::uint32_t{1} << level);
  }

  // Removes the first entry of the non-empty `list`.
  void PopFront(std::uint32_t list) noexcept {
    List& l = lists_[list];
    ++l.head_pos;
    if (l.head == l.tail) {
      if (l.head_pos < l.tail_fill) return;
      ReleaseChunk(l.head);
      l = List{};
      if (list < kSlotLists) MarkEmpty(list >> kSlotBits, list & (kSlotsPerLevel - 1));
    } else if (l.head_pos == kEntriesPerChunk) {
      const std::uint32_t next = chunk_next_[l.head];
      ReleaseChunk(l.head);
      l.head = next;
      l.head_pos = 0;
    }
  }

  // Starts the cache misses of the nodes of the chunk after the head of `list`, once per
  // chunk, so that firing reads them from cache.
  void PrefetchNextNodes(const List& l) const noexcept {
    const std::uint32_t next = chunk_next_[l.head];
    if (next == kNil) return;
    PrefetchNodes(l, next, 0);
    const std::uint32_t after = chunk_next_[next];
    if (after != kNil) Prefetch(Chunk(after));
  }

  // Pops and fires every live entry of `list` in order, dropping stale ones. Re-reads the
  // list after each callback, which may have cancelled its other entries, swept the lists or
  // grown the pools.
  template <typename F>
  std::size_t FireAll(std::uint32_t list, F& on_expire) noexcept {
    std::size_t fired = 0;
    if (const List& l = lists_[list]; l.head != kNil) PrefetchNodes(l, l.head, l.head_pos);
    while (lists_[list].head != kNil) {
      const List& l = lists_[list];
      if (l.head_pos == 0) PrefetchNextNodes(l);
      const Entry e = Chunk(l.head)[l.head_pos];
      PopFront(list);
      --entry_count_;
      const Node& node = nodes_[e.node];
      if (node.filing != e.filing) continue;  // stale: dropped
      const Payload payload = node.payload;
      const Handle h{e.node, node.generation};
      Free(e.node);
      --size_;
      ++fired;
      on_expire(payload, e.deadline, h);
    }
    return fired;
  }

  // now_ has just reached the start of `slot` at `level` >= 1: its entries move down, and
  // entries due now go to the firing list. The lower levels are empty and the list is walked
  // in order, so equal deadlines (which share a list) keep insertion order.
  void Cascade(unsigned level, unsigned slot) noexcept {
    MarkEmpty(level, slot);
    // If the slot may hold cancelled entries (see clean_at_), each entry's liveness is checked
    // (its node, prefetched a chunk ahead) and cancelled ones are dropped here rather than
    // copied down; the slots they fill are then clean, and lower cascades check nothing.
    // Level-0 slots hold a tick each, often one entry: firing them one after another would
    // wait for each node's cache miss in turn. Entries headed there start that miss now, so
    // the misses of one level-1 slot (64 ticks) overlap.
    const std::uint32_t list = SlotList(level, slot);
    const bool check = clean_at_[list] != stale_events_;
    const bool to_level0 = level == 1;
    Drain(list, check, [&](const Entry& e) {
      if (check && !Live(e)) {
        DropStale();
        return;
      }
      if (to_level0) Prefetch(&nodes_[e.node]);
      Refile(e);
    });
  }

  // Re-files an entry whose deadline is at or after now_ and within the levels: due now, it
  // goes to the firing list.
  void Refile(const Entry& e) noexcept {
    if (e.deadline == now_) {
      Append(kFiringList, e);
    } else {
      PlaceInLevels(e,
                    static_cast<UTick>(static_cast<UTick>(e.deadline) ^ static_cast<UTick>(now_)));
    }
  }

  // now_ has just reached an overflow epoch: live entries of this epoch move into the levels
  // (or fire now); the other live ones stay, cancelled ones go, and the overflow minimum
  // becomes exact again. O(overflow size), once per distinct epoch among the overflow
  // deadlines.
  void RefileOverflow() noexcept {
    bool have_min = false;
    Drain(kOverflowList, /*prefetch_nodes=*/true, [&](const Entry& e) {
      if (!Live(e)) {
        DropStale();
      } else if (EpochStart(e.deadline) == now_) {
        Refile(e);
      } else {
        Append(kOverflowList, e);
        if (!have_min || Diff(e.deadline, overflow_min_) < 0) {
          overflow_min_ = e.deadline;
          overflow_min_node_ = e.node;
          have_min = true;
        }
      }
    });
    overflow_min_exact_ = true;
  }

  // The live entry of `list` with the earliest deadline, if any (`first_only`: the list holds one
  // deadline, so the first live entry answers).
  std::optional<Entry> MinLive(std::uint32_t list, bool first_only) const noexcept {
    std::optional<Entry> min;
    ForEach(list, [&](const Entry& e) {
      if (Live(e) && (!min || Diff(e.deadline, min->deadline) < 0)) {
        min = e;
        if (first_only) return false;
      }
      return true;
    });
    return min;
  }

  // Empties a list that holds only stale entries.
  void DropAllStale(std::uint32_t list) noexcept {
    Drain(list, /*prefetch_nodes=*/false, [&](const Entry&) { DropStale(); });
  }

  // The earliest live overflow deadline (exact), or nullopt after dropping an overflow list
  // that holds only cancelled entries.
  std::optional<Tick> OverflowMin() noexcept {
    if (!overflow_min_exact_) {
      const std::optional<Entry> min = MinLive(kOverflowList, false);
      if (!min) {
        DropAllStale(kOverflowList);
        return std::nullopt;
      }
      overflow_min_ = min->deadline;
      overflow_min_node_ = min->node;
      overflow_min_exact_ = true;
    }
    return overflow_min_;
  }

  // Earliest live deadline in the levels and overflow. Levels hold only deadlines after now_,
  // each level's entries precede the next level's, and overflow entries follow them all. A
  // slot holding only cancelled entries is emptied on the way.
  void Recompute() noexcept {
    for (;;) {
      if (occupied_levels_ != 0) {
        const unsigned level = Ctz(occupied_levels_);
        const unsigned slot = Ctz(occupied_[level]);
        const std::uint32_t list = SlotList(level, slot);
        if (const std::optional<Entry> min = MinLive(list, level == 0)) {
          cached_next_ = min->deadline;
          cached_node_ = min->node;
          cache_ = CacheState::kValid;
          return;
        }
        DropAllStale(list);
        MarkEmpty(level, slot);
        continue;
      }
      if (lists_[kOverflowList].head != kNil) {
        if (const std::optional<Tick> min = OverflowMin()) {
          cached_next_ = *min;
          cached_node_ = overflow_min_node_;
          cache_ = CacheState::kValid;
          return;
        }
        continue;
      }
      cache_ = CacheState::kEmpty;
      return;
    }
  }

  // Invariants (between public calls; during a callback the firing list may be non-empty):
  // - Every pending node has exactly one live entry (an entry whose filing equals the
  //   node's), in exactly one list; free nodes have none. Other entries are stale.
  //   entry_count_ counts all entries, so entry_count_ - size_ of them are stale.
  // - An entry in the list of level L, slot s has a deadline d > now_ that agrees with now_
  //   on every bit at and above (L + 1) * kSlotBits and whose digit L is s (so s > now_'s
  //   digit L). Hence level L's entries all precede level L+1's, and a level-0 slot holds one
  //   deadline.
  // - Overflow entries have d > now_ and differ from now_ at or above bit kWheelBits.
  // - Due entries have d <= (the now_ at their filing), in filing order.
  // - Within one list, entries with equal deadlines are in filing order.
  // - Chunks in use <= ChunksFor(entry_count_) <= chunk_capacity_.
  Tick now_;
  engine_internal::MappedArray<Node> nodes_;
  std::uint32_t capacity_ = 0;  // nodes_ has this many elements
  std::uint32_t used_ = 0;      // nodes [0, used_) have been handed out at least once
  // free_[0, free_count_) are the freed nodes below used_, most recently freed last. An index
  // stack rather than a list through the nodes: popping it does not wait for a cache miss on
  // the node, so a run of inserts overlaps its misses (4 bytes per node).
  engine_internal::MappedArray<std::uint32_t> free_;
  std::uint32_t free_count_ = 0;
  std::size_t size_ = 0;  // pending nodes
  // The chunk pool: chunk c is entries_[c * kEntriesPerChunk, +kEntriesPerChunk), and
  // chunk_next_[c] its successor in its list (or in the free chain from free_chunk_).
  // Chunks [0, chunks_used_) have been handed out at least once.
  engine_internal::MappedArray<Entry> entries_;
  engine_internal::MappedArray<std::uint32_t> chunk_next_;
  std::uint32_t chunk_capacity_ = 0;
  std::uint32_t chunks_used_ = 0;
  std::uint32_t free_chunk_ = kNil;
  std::uint64_t entry_count_ = 0;
  std::uint64_t filings_since_sweep_ = 0;
  std::array<List, kNumLists> lists_;
  // Counts the entries that went stale in a list (Cancel(), Reschedule()). If
  // clean_at_[list] == stale_events_, every entry of that list is live: it was set when the
  // list's first entry was appended, only live entries are appended, and none has gone stale
  // since. Cascade() then skips the liveness checks, which each cost a node's cache miss.
  std::uint64_t stale_events_ = 0;
  std::array<std::uint64_t, kNumLists> clean_at_{};
  // Bit s of occupied_[L] is set iff the list of level L, slot s is non-empty.
  std::array<std::uint64_t, static_cast<std::size_t>(kLevels)> occupied_{};
  // Bit L of occupied_levels_ is set iff occupied_[L] != 0.
  std::uint32_t occupied_levels_ = 0;
  // overflow_min_ is the earliest live overflow deadline when overflow_min_exact_, else a
  // lower bound (a cancel removed the minimum). Meaningless while overflow is empty.
  Tick overflow_min_{};
  std::uint32_t overflow_min_node_ = kNil;  // a node whose live entry has overflow_min_
  bool overflow_min_exact_ = true;
  // kValid: cached_next_ is the earliest live deadline in the levels and overflow; kEmpty:
  // there is none; kStale: unknown.
  CacheState cache_ = CacheState::kEmpty;
  Tick cached_next_{};
  std::uint32_t cached_node_ = kNil;  // while kValid: a node whose live entry has cached_next_
  bool advancing_ = false;            // inside AdvanceTo()
};

}  // namespace aps

#endif  // APS_ENGINE_TIMING_WHEEL_H_
