// aps/engine/timing_wheel.h — the scheduler core's hierarchical timing wheel.
//
// A set of pending deadlines (absolute ticks, each with a 64-bit payload) that fires them in
// deadline order as time is advanced. Insert, cancel and expiry are O(1) (expiry amortized: an
// entry is re-filed at most kLevels - 1 times on its way down); nodes come from a preallocated
// pool, and handles carry a generation so a stale cancel is harmless. Entries never fire
// early and fire at their exact tick: the wheel's granularity is not its precision. The design
// (levels, granularity and range per level, what happens past the last level, why we cascade)
// is described at the top of timing_wheel.cc.
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
  // Optional (1 if absent): from level 2 up, each slot is split into this many lists (a power
  // of two, 1..16), chosen by a hash of the deadline, so that re-filing a slot walks that many
  // independent lists at once and overlaps their cache misses (with 2^20 timers: 70 ns instead
  // of 300 ns per expiry; 8 and 16 measure alike). Costs 8 bytes per list head: 28 KB here,
  // 3.6 KB with 1, which suits small targets.
  static constexpr int kListsPerSlot = 8;
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

  static constexpr int kSlotBits = Traits::kSlotBits;
  static constexpr int kLevels = Traits::kLevels;
  static constexpr int kSlotsPerLevel = 1 << kSlotBits;
  static constexpr int kListsPerSlot = [] {
    if constexpr (requires { Traits::kListsPerSlot; }) {
      return Traits::kListsPerSlot;
    } else {
      return 1;
    }
  }();
  // Deadlines that agree with Now() on all bits at and above kWheelBits live in the levels;
  // the others wait in the overflow list.
  static constexpr int kWheelBits = kSlotBits * kLevels;
  // Largest pool: node indices are 32-bit and one value means "none".
  static constexpr std::uint32_t kMaxCapacity = 0xFFFFFFFEu;

 private:
  using UTick = std::make_unsigned_t<Tick>;
  using STick = std::make_signed_t<Tick>;
  static constexpr int kTickBits = std::numeric_limits<UTick>::digits;
  static_assert(std::is_integral_v<Tick>, "Tick must be an integer type");
  static_assert(kSlotBits >= 1 && kSlotBits <= 6, "a level's occupancy must fit 64 bits");
  static_assert(kLevels >= 1 && kLevels <= 32, "level occupancy must fit 32 bits");
  static_assert(kListsPerSlot >= 1 && kListsPerSlot <= 16 &&
                    std::has_single_bit(static_cast<unsigned>(kListsPerSlot)),
                "kListsPerSlot must be a power of two, 1..16");
  static constexpr int kWayBits = std::countr_zero(static_cast<unsigned>(kListsPerSlot));
  // Slots of levels 0 and 1 are short (64 and 4096 ticks) and stay one list (way 0); from this
  // level up, a slot's entries are spread over its kListsPerSlot lists.
  static constexpr unsigned kFirstSplitLevel = 2;
  static constexpr std::uint32_t kFreePrefetchDistance = 16;
  static_assert(kWheelBits < kTickBits,
                "the levels must cover less than half the tick range (wrap-safe comparisons)");

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
  // Grows the node pool to at least `capacity` entries; pending entries and handles stay
  // valid. Allocates (this and Insert() are the only calls that do); never blocks; owner
  // thread, including from inside an AdvanceTo() callback.
  // Returns kResourceExhausted if the allocation fails or `capacity` > kMaxCapacity; the
  // wheel is then unchanged.
  [[nodiscard]] Status Reserve(std::uint32_t capacity) noexcept {
    if (capacity <= capacity_) return OkStatus();
    if (capacity > kMaxCapacity) {
      return Status(StatusCode::kResourceExhausted, "timing wheel: capacity above 2^32 - 2");
    }
    std::unique_ptr<Node[]> grown(new (std::nothrow) Node[capacity]);
    std::unique_ptr<std::uint32_t[]> grown_free(new (std::nothrow) std::uint32_t[capacity]);
    if (grown == nullptr || grown_free == nullptr) {
      return Status(StatusCode::kResourceExhausted, "timing wheel: node pool allocation failed");
    }
    if (used_ > 0) std::copy_n(nodes_.get(), used_, grown.get());
    if (free_count_ > 0) std::copy_n(free_.get(), free_count_, grown_free.get());
    nodes_ = std::move(grown);
    free_ = std::move(grown_free);
    capacity_ = capacity;
    return OkStatus();
  }

  // TryInsert()
  //
  // Schedules `payload` to fire at `deadline` (absolute ticks, within kMaxSpan of Now()).
  // A deadline at or before Now() is due: it fires at the start of the next AdvanceTo() —
  // also when inserted from inside an AdvanceTo() callback, where it does not fire in the
  // running pass (so a zero-delay re-arm cannot starve other entries). Entries with equal
  // deadlines fire in insertion order. O(1). Never allocates, never blocks; owner thread,
  // including from inside an AdvanceTo() callback.
  // Returns the entry's handle, or kResourceExhausted when every node is in use (nothing is
  // changed; pending entries are not affected).
  [[nodiscard]] Result<Handle> TryInsert(Tick deadline, std::uint64_t payload) noexcept {
    if (free_count_ == 0 && used_ == capacity_) {
      return Status(StatusCode::kResourceExhausted, "timing wheel: node pool full");
    }
    return InsertNode(deadline, payload);
  }

  // Insert()
  //
  // TryInsert(), growing the pool (doubling it) when it is full. Allocates only when the pool
  // is full; never blocks; owner thread, including from inside an AdvanceTo() callback.
  // Returns kResourceExhausted if growing fails.
  [[nodiscard]] Result<Handle> Insert(Tick deadline, std::uint64_t payload) noexcept {
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
  // entries due in the same pass; they then do not fire. O(1). Never allocates, never blocks;
  // owner thread.
  bool Cancel(Handle h) noexcept {
    if (!IsPending(h)) return false;
    Node& n = nodes_[h.index];
    Forget(n.deadline, n.list);
    Unlink(h.index);
    Free(h.index);
    --size_;
    return true;
  }

  // Reschedule()
  //
  // Moves a pending entry to `deadline`, keeping its handle and payload. It then orders as if
  // inserted now (after entries already pending with the same deadline), and a deadline at or
  // before Now() makes it due exactly as in TryInsert(). Returns false if `h` is stale. O(1).
  // Never allocates, never blocks; owner thread, including from inside a callback.
  bool Reschedule(Handle h, Tick deadline) noexcept {
    if (!IsPending(h)) return false;
    Node& n = nodes_[h.index];
    Forget(n.deadline, n.list);
    Unlink(h.index);
    n.deadline = deadline;
    File(h.index);
    return true;
  }

  // IsPending() — whether `h` names an entry that has neither fired nor been cancelled.
  // O(1). Never allocates, never blocks; owner thread.
  bool IsPending(Handle h) const noexcept {
    return h.index < used_ && (h.generation & 1u) != 0 &&
           nodes_[h.index].generation == h.generation;
  }

  // DeadlineOf() — the deadline of a pending entry, or nullopt if `h` is stale. O(1).
  // Never allocates, never blocks; owner thread.
  std::optional<Tick> DeadlineOf(Handle h) const noexcept {
    if (!IsPending(h)) return std::nullopt;
    return nodes_[h.index].deadline;
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
  // higher-level slot re-files all its entries at once), never O(elapsed ticks).
  // Never allocates, never blocks (beyond the callback); owner thread.
  // Returns the number of entries fired.
  template <typename F>
  std::size_t AdvanceTo(Tick now, F&& on_expire) noexcept {
    static_assert(std::is_invocable_v<F&, std::uint64_t, Tick, Handle>,
                  "on_expire(std::uint64_t payload, Tick deadline, WheelHandle handle)");
    APS_CHECK(!advancing_);
    advancing_ = true;
    if (Diff(now, now_) < 0) now = now_;
    std::size_t fired = 0;
    if (lists_[kDueList].head != kNil) {
      // Entries due at the previous Now(): the due list is re-labelled as the firing list so
      // that entries made due by these callbacks wait for the next call.
      MoveAll(kDueList, kFiringList);
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
        const Tick epoch = EpochStart(OverflowMin());
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

  // NextDeadline()
  //
  // The exact earliest instant at which AdvanceTo() fires something: Now() if an entry is
  // already due, else the earliest pending deadline, or nullopt if the wheel is empty. Sleep
  // until it (the wheel adds no rounding). Cost: O(1) when the earliest entry is at level 0
  // or the answer is cached; otherwise one scan of the k entries sharing the earliest slot
  // (or the overflow list), after which it is cached until time reaches that slot or its
  // earliest entry is cancelled. Not const for that cache. Never allocates, never blocks;
  // owner thread.
  std::optional<Tick> NextDeadline() noexcept {
    if (lists_[kDueList].head != kNil || lists_[kFiringList].head != kNil) return now_;
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

  // Bytes per pool node (32 with the default traits).
  static constexpr std::size_t node_bytes() noexcept { return sizeof(Node); }

 private:
  static constexpr std::uint32_t kNil = 0xFFFFFFFFu;
  static constexpr UTick kSlotMask = static_cast<UTick>(kSlotsPerLevel - 1);
  // List ids: ((level << kSlotBits | slot) << kWayBits) | way for the slot lists, then the
  // special lists.
  static constexpr std::uint32_t kSlotLists =
      static_cast<std::uint32_t>(kLevels * kSlotsPerLevel * kListsPerSlot);
  static constexpr std::uint32_t kOverflowList = kSlotLists;    // deadlines past the last level
  static constexpr std::uint32_t kDueList = kSlotLists + 1;     // deadline <= now_ at insert
  static constexpr std::uint32_t kFiringList = kSlotLists + 2;  // being fired by AdvanceTo()
  static constexpr std::uint32_t kNumLists = kSlotLists + 3;

  // 32 bytes with the default traits (static_assert in timing_wheel.cc). Trivial, so the pool
  // is allocated without being written.
  struct Node {
    Tick deadline;
    std::uint64_t payload;
    std::uint32_t prev;        // in `list`; kNil at the head
    std::uint32_t next;        // in `list`; kNil at the tail
    std::uint32_t generation;  // odd while pending, even while free; bumped at each change
    std::uint32_t list;        // the list holding it, while pending
  };

  struct List {
    std::uint32_t head = kNil;
    std::uint32_t tail = kNil;
  };

  enum class CacheState : std::uint8_t { kStale, kEmpty, kValid };

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
  // The first of the kListsPerSlot lists of a slot.
  static constexpr std::uint32_t SlotList(unsigned level, unsigned slot) noexcept {
    return ((level << kSlotBits) | slot) << kWayBits;
  }
  // Which of its slot's lists a deadline uses at `level`: equal deadlines share one, so
  // insertion order among them is the order of one list.
  static std::uint32_t Way(Tick d, unsigned level) noexcept {
    if constexpr (kWayBits == 0) {
      return 0;
    } else {
      if (level < kFirstSplitLevel) return 0;
      const std::uint64_t h =
          static_cast<std::uint64_t>(static_cast<UTick>(d)) * 0x9E3779B97F4A7C15u;  // Fibonacci
      return static_cast<std::uint32_t>(h >> (64 - kWayBits));
    }
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

  Result<Handle> InsertNode(Tick deadline, std::uint64_t payload) noexcept {
    std::uint32_t idx;
    if (free_count_ != 0) {
      idx = free_[--free_count_];
      // Reused nodes are scattered over the pool: start the cache miss of the node that the
      // kFreePrefetchDistance-th next insert will take (16: measured best with 2^20 timers,
      // 37 -> 18 ns per insert).
      if (free_count_ >= kFreePrefetchDistance) {
        Prefetch(&nodes_[free_[free_count_ - kFreePrefetchDistance]]);
      }
    } else {
      idx = used_++;
      nodes_[idx].generation = 0;
    }
    Node& n = nodes_[idx];
    n.deadline = deadline;
    n.payload = payload;
    ++n.generation;  // now odd: pending
    ++size_;
    File(idx);
    return Handle{idx, n.generation};
  }

  void Free(std::uint32_t idx) noexcept {
    Node& n = nodes_[idx];
    ++n.generation;  // now even: stale for every handle issued so far
    free_[free_count_++] = idx;
  }

  // Files a node by its deadline relative to now_: due list, a slot, or overflow. Keeps the
  // NextDeadline() cache exact.
  void File(std::uint32_t idx) noexcept {
    const Tick d = nodes_[idx].deadline;
    if (Diff(d, now_) <= 0) {
      Append(kDueList, idx);
      return;
    }
    Place(idx, d);
    if (cache_ == CacheState::kEmpty ||
        (cache_ == CacheState::kValid && Diff(d, cached_next_) < 0)) {
      cached_next_ = d;
      cache_ = CacheState::kValid;
    }
  }

  // Puts a node with deadline d > now_ into its slot: the level is the highest kSlotBits-digit
  // in which d differs from now_ (d's digit there is the larger one), the slot is d's digit.
  void Place(std::uint32_t idx, Tick d) noexcept {
    const UTick diff = static_cast<UTick>(static_cast<UTick>(d) ^ static_cast<UTick>(now_));
    if ((diff >> kWheelBits) != 0) {
      if (lists_[kOverflowList].head == kNil) {
        overflow_min_ = d;
        overflow_min_exact_ = true;
      } else if (overflow_min_exact_ && Diff(d, overflow_min_) < 0) {
        overflow_min_ = d;
      }
      Append(kOverflowList, idx);
      return;
    }
    PlaceInLevels(idx, d, diff);
  }

  // Place() for a deadline d > now_ known to be within the levels; diff = d ^ now_.
  void PlaceInLevels(std::uint32_t idx, Tick d, UTick diff) noexcept {
    const unsigned level =
        static_cast<unsigned>(kTickBits - 1 - std::countl_zero(diff)) / kSlotBits;
    const unsigned slot =
        static_cast<unsigned>((static_cast<UTick>(d) >> (level * kSlotBits)) & kSlotMask);
    Append(SlotList(level, slot) | Way(d, level), idx);
    occupied_[level] |= std::uint64_t{1} << slot;
    occupied_levels_ |= std::uint32_t{1} << level;
  }

  // Called before a pending node leaves its list other than by firing.
  void Forget(Tick d, std::uint32_t list) noexcept {
    if (list >= kDueList) return;
    if (cache_ == CacheState::kValid && d == cached_next_) cache_ = CacheState::kStale;
    if (list == kOverflowList && d == overflow_min_) overflow_min_exact_ = false;
  }

  void Append(std::uint32_t list, std::uint32_t idx) noexcept {
    Node& n = nodes_[idx];
    List& l = lists_[list];
    n.list = list;
    n.next = kNil;
    n.prev = l.tail;
    if (l.tail != kNil) {
      nodes_[l.tail].next = idx;
    } else {
      l.head = idx;
    }
    l.tail = idx;
  }

  // Unlinks a node from its list, keeping the occupancy bitmaps exact.
  void Unlink(std::uint32_t idx) noexcept {
    const Node& n = nodes_[idx];
    List& l = lists_[n.list];
    if (n.prev != kNil) {
      nodes_[n.prev].next = n.next;
    } else {
      l.head = n.next;
    }
    if (n.next != kNil) {
      nodes_[n.next].prev = n.prev;
    } else {
      l.tail = n.prev;
    }
    if (l.head == kNil && n.list < kSlotLists) SlotListEmptied(n.list);
  }

  // Removes the head of the non-empty `list`; faster than Unlink().
  std::uint32_t PopFront(std::uint32_t list) noexcept {
    List& l = lists_[list];
    const std::uint32_t idx = l.head;
    const std::uint32_t next = nodes_[idx].next;
    l.head = next;
    if (next != kNil) {
      nodes_[next].prev = kNil;
    } else {
      l.tail = kNil;
      if (list < kSlotLists) SlotListEmptied(list);
    }
    return idx;
  }

  // Slot list `list` has just become empty: clears the slot's occupancy bit unless another
  // of its lists is non-empty.
  void SlotListEmptied(std::uint32_t list) noexcept {
    const unsigned level = list >> (kSlotBits + kWayBits);
    if (level >= kFirstSplitLevel) {
      const std::uint32_t first = list & ~static_cast<std::uint32_t>(kListsPerSlot - 1);
      for (std::uint32_t i = first; i < first + kListsPerSlot; ++i) {
        if (lists_[i].head != kNil) return;
      }
    }
    MarkEmpty(level, (list >> kWayBits) & (kSlotsPerLevel - 1));
  }

  // Clears the occupancy bits of a slot whose lists are all empty.
  void MarkEmpty(unsigned level, unsigned slot) noexcept {
    occupied_[level] &= ~(std::uint64_t{1} << slot);
    if (occupied_[level] == 0) occupied_levels_ &= ~(std::uint32_t{1} << level);
  }

  // Moves every node of `from` (not a slot) to the end of the empty list `to`. O(k).
  void MoveAll(std::uint32_t from, std::uint32_t to) noexcept {
    for (std::uint32_t i = lists_[from].head; i != kNil; i = nodes_[i].next) nodes_[i].list = to;
    lists_[to] = lists_[from];
    lists_[from] = List{};
  }

  // Pops and fires every node of `list` in order. Re-reads the list after each callback,
  // which may have cancelled its other nodes or grown the pool.
  template <typename F>
  std::size_t FireAll(std::uint32_t list, F& on_expire) noexcept {
    std::size_t fired = 0;
    while (lists_[list].head != kNil) {
      const std::uint32_t idx = PopFront(list);
      const Node& n = nodes_[idx];
      const Tick deadline = n.deadline;
      const std::uint64_t payload = n.payload;
      const Handle h{idx, n.generation};
      Free(idx);
      --size_;
      ++fired;
      on_expire(payload, deadline, h);
    }
    return fired;
  }

  // now_ has just reached the start of `slot` at `level` >= 1: its entries move down, and
  // entries due now go to the firing list. The lower levels are empty and each list is walked
  // in order, so equal deadlines (which share a list) keep insertion order. The slot's lists
  // are walked round-robin with the next node of each prefetched: their cache misses overlap.
  void Cascade(unsigned level, unsigned slot) noexcept {
    const std::uint32_t first = SlotList(level, slot);
    MarkEmpty(level, slot);
    if (level < kFirstSplitLevel) {
      std::uint32_t i = lists_[first].head;
      lists_[first] = List{};
      while (i != kNil) {
        const std::uint32_t next = nodes_[i].next;
        Refile(i);
        i = next;
      }
      return;
    }
    std::array<std::uint32_t, static_cast<std::size_t>(kListsPerSlot)> cursor;
    for (std::uint32_t w = 0; w < kListsPerSlot; ++w) {
      cursor[w] = lists_[first + w].head;
      lists_[first + w] = List{};
    }
    for (bool any = true; any;) {
      any = false;
      for (std::uint32_t& i : cursor) {
        if (i == kNil) continue;
        any = true;
        const std::uint32_t idx = i;
        i = nodes_[idx].next;
        if (i != kNil) Prefetch(&nodes_[i]);
        Refile(idx);
      }
    }
  }

  // Cascade() for one node, whose deadline is at or after now_ and within the levels.
  void Refile(std::uint32_t idx) noexcept {
    const Tick d = nodes_[idx].deadline;
    if (d == now_) {
      Append(kFiringList, idx);
    } else {
      PlaceInLevels(idx, d, static_cast<UTick>(static_cast<UTick>(d) ^ static_cast<UTick>(now_)));
    }
  }

  // now_ has just reached an overflow epoch: entries of this epoch move into the levels (or
  // fire now); the rest stay, and the overflow minimum becomes exact again. O(overflow size),
  // once per distinct epoch among the overflow deadlines.
  void RefileOverflow() noexcept {
    std::uint32_t i = lists_[kOverflowList].head;
    bool have_min = false;
    while (i != kNil) {
      const std::uint32_t next = nodes_[i].next;
      const Tick d = nodes_[i].deadline;
      if (EpochStart(d) == now_) {
        Unlink(i);
        if (d == now_) {
          Append(kFiringList, i);
        } else {
          Place(i, d);
        }
      } else if (!have_min || Diff(d, overflow_min_) < 0) {
        overflow_min_ = d;
        have_min = true;
      }
      i = next;
    }
    overflow_min_exact_ = true;
  }

  Tick OverflowMin() noexcept {
    if (!overflow_min_exact_) {
      std::uint32_t i = lists_[kOverflowList].head;
      overflow_min_ = nodes_[i].deadline;
      for (; i != kNil; i = nodes_[i].next) {
        if (Diff(nodes_[i].deadline, overflow_min_) < 0) overflow_min_ = nodes_[i].deadline;
      }
      overflow_min_exact_ = true;
    }
    return overflow_min_;
  }

  // Earliest deadline in the levels and overflow. Levels hold only deadlines after now_, each
  // level's entries precede the next level's, and overflow entries follow them all.
  void Recompute() noexcept {
    if (occupied_levels_ != 0) {
      const unsigned level = Ctz(occupied_levels_);
      const unsigned slot = Ctz(occupied_[level]);
      if (level == 0) {
        cached_next_ = SlotStart(0, slot);
      } else {
        bool found = false;
        const std::uint32_t first = SlotList(level, slot);
        for (std::uint32_t l = first; l < first + kListsPerSlot; ++l) {
          for (std::uint32_t i = lists_[l].head; i != kNil; i = nodes_[i].next) {
            if (!found || Diff(nodes_[i].deadline, cached_next_) < 0) {
              cached_next_ = nodes_[i].deadline;
              found = true;
            }
          }
        }
      }
      cache_ = CacheState::kValid;
    } else if (lists_[kOverflowList].head != kNil) {
      cached_next_ = OverflowMin();
      cache_ = CacheState::kValid;
    } else {
      cache_ = CacheState::kEmpty;
    }
  }

  // Invariants (between public calls; during a callback the firing list may be non-empty):
  // - Every pending node is in exactly one list, and its `list` names it. A node in a list of
  //   level L, slot s has a deadline d > now_ that agrees with now_ on every bit at and above
  //   (L + 1) * kSlotBits and whose digit L is s (so s > now_'s digit L). Hence level L's
  //   entries all precede level L+1's, and a level-0 slot holds one deadline. Its list within
  //   the slot is Way(d, L): way 0 below kFirstSplitLevel.
  // - Overflow nodes have d > now_ and differ from now_ at or above bit kWheelBits.
  // - Due nodes have d <= (the now_ at their insertion), in insertion order.
  // - Within one list, nodes with equal deadlines are in insertion order.
  Tick now_;
  std::unique_ptr<Node[]> nodes_;
  std::uint32_t capacity_ = 0;  // nodes_ has this many elements
  std::uint32_t used_ = 0;      // nodes [0, used_) have been handed out at least once
  // free_[0, free_count_) are the freed nodes below used_, most recently freed last. An index
  // stack rather than a list through the nodes: popping it does not wait for a cache miss on
  // the node, so a run of inserts overlaps its misses (4 bytes per node).
  std::unique_ptr<std::uint32_t[]> free_;
  std::uint32_t free_count_ = 0;
  std::size_t size_ = 0;  // pending nodes
  std::array<List, kNumLists> lists_;
  // Bit s of occupied_[L] is set iff some list of level L, slot s is non-empty.
  std::array<std::uint64_t, static_cast<std::size_t>(kLevels)> occupied_{};
  // Bit L of occupied_levels_ is set iff occupied_[L] != 0.
  std::uint32_t occupied_levels_ = 0;
  // overflow_min_ is the earliest overflow deadline when overflow_min_exact_, else a lower
  // bound (a cancel removed the minimum). Meaningless while overflow is empty.
  Tick overflow_min_{};
  bool overflow_min_exact_ = true;
  // kValid: cached_next_ is the earliest deadline in the levels and overflow; kEmpty: there
  // is none; kStale: unknown.
  CacheState cache_ = CacheState::kEmpty;
  Tick cached_next_{};
  bool advancing_ = false;  // inside AdvanceTo()
};

}  // namespace aps

#endif  // APS_ENGINE_TIMING_WHEEL_H_
