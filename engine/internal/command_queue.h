// aps/engine/internal/command_queue.h — the scheduler's command queue (moodycamel, wrapped).
//
// Any thread enqueues one command by value; the scheduler thread dequeues in bulk. The element
// type is the scheduler's (scheduler.cc: a whole async add, or a pointer to any other command),
// so most async adds travel without a heap allocation of their own: their bytes live in the
// queue's blocks, which moodycamel recycles once they are drained. Unbounded (moodycamel
// allocates blocks as needed), lock-free. Unlike mpmc_queue.h (explicit producers known at
// init, preallocated, bounded: the executors' queues), API calls come from arbitrary threads,
// so this queue uses moodycamel's implicit per-thread producers; it is the only other includer
// of concurrentqueue.h.
//
// Blocks come from a RegionArena of the queue's own (region_arena.h: huge-page regions, so a
// burst of adds does not pay a page fault per 4 KB), through CommandQueueTraits: moodycamel's
// allocator hooks are static, so the queue names its arena in a thread-local pointer for the
// duration of each call that may allocate (the enqueues; construction allocates nothing). Every
// allocation carries a 64-byte tag saying where it came from, so free() knows: arena memory is
// released with the arena (after the queue, which it outlives), anything else goes back to the
// heap. An enqueue that cannot get a block (the queue's memory limit is reached, or the OS refused
// memory) returns false and enqueues nothing.
#ifndef APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_
#define APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_

#include <concurrentqueue.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <type_traits>
#include <utility>

#include "engine/internal/region_arena.h"

namespace aps {

struct Command;

// The arena that CommandQueueTraits::malloc() allocates from on this thread (nullptr: the
// heap), and whether its limit applies.
inline thread_local RegionArena* t_command_arena = nullptr;
inline thread_local bool t_command_unlimited = false;

struct CommandQueueTraits : moodycamel::ConcurrentQueueDefaultTraits {
  static constexpr std::size_t kTagBytes = RegionArena::kAlign;
  static constexpr std::uintptr_t kFromHeap = 0x68656170;   // "heap"
  static constexpr std::uintptr_t kFromArena = 0x6172656e;  // "aren"
  static void* malloc(std::size_t size) {
    RegionArena* const arena = t_command_arena;
    char* const p =
        static_cast<char*>(arena != nullptr ? arena->Allocate(size + kTagBytes, t_command_unlimited)
                                            : std::malloc(size + kTagBytes));
    if (p == nullptr) return nullptr;
    *reinterpret_cast<std::uintptr_t*>(p) = arena != nullptr ? kFromArena : kFromHeap;
    return p + kTagBytes;
  }
  static void free(void* q) {
    if (q == nullptr) return;
    char* const p = static_cast<char*>(q) - kTagBytes;
    if (*reinterpret_cast<std::uintptr_t*>(p) == kFromHeap) std::free(p);
    // kFromArena: released with the arena.
  }
};

template <typename T>
class CommandQueue {
 public:
  // At most this many spare heap commands are kept for reuse (about 450 bytes each).
  static constexpr std::size_t kMaxSpares = 1024;

  // `limit_bytes`: the most memory the queue's blocks (and moodycamel's bookkeeping) may map
  // (0: no limit); an enqueue needing more fails. Allocates nothing; any thread (at init).
  explicit CommandQueue(std::size_t limit_bytes = 0) : arena_(limit_bytes), q_(0) {}

  // Enqueue() — false, and `c` untouched, when a block was needed and the limit (unless
  // `unlimited`: for calls that wait for their reply, so cannot pile up) or the OS refused the
  // memory. May allocate a block (from the arena); never blocks; any thread.
  [[nodiscard]] bool Enqueue(T&& c, bool unlimited = false) {
    ArenaScope scope(arena_, unlimited);
    return q_.enqueue(std::move(c));
  }
  // EnqueueBulk() — moves items[0, n) in, in order, as one reservation of the producer's
  // slots (one tail publication instead of n); false, and nothing enqueued, when the blocks
  // needed could not be had. May allocate blocks; never blocks; any thread.
  [[nodiscard]] bool EnqueueBulk(T* items, std::size_t n) {
    static_assert(std::is_nothrow_move_constructible_v<T>,
                  "moodycamel copies instead of moving elements whose move may throw");
    ArenaScope scope(arena_, false);
    return q_.enqueue_bulk(std::make_move_iterator(items), n);
  }
  // TryDequeueBulk() — up to n commands (moved into out[0, n)), in each producer's order.
  // Scheduler thread.
  std::size_t TryDequeueBulk(T* out, std::size_t n) { return q_.try_dequeue_bulk(out, n); }
  std::size_t SizeApprox() const { return q_.size_approx(); }
  // Bytes of address space the queue's arena has mapped. Any thread.
  std::size_t arena_bytes() const { return arena_.mapped_bytes(); }

  // Spare heap commands (AddJobAsync's fire-and-forget ones that do not travel whole),
  // recycled: the scheduler thread gives back a command it has applied (reset to its default
  // state), a producer takes one instead of allocating. Without it every such add was a malloc
  // on the producer's thread and a free on the scheduler's, and glibc's arena lock made them
  // wait for each other.
  //
  // TakeSpare() — a reset command, or nullptr when none is spare. Never blocks; any thread.
  Command* TakeSpare() {
    if (spare_count_.load(std::memory_order_relaxed) == 0) return nullptr;  // relaxed: a hint
    Command* c = nullptr;
    if (!spares_.try_dequeue(c)) return nullptr;
    spare_count_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: only a bound
    return c;
  }
  // GiveSpare() — keeps `c` (reset) for reuse; false when enough are kept (then the caller
  // deletes it). May allocate a block; never blocks; any thread.
  bool GiveSpare(Command* c) {
    if (spare_count_.load(std::memory_order_relaxed) >= kMaxSpares) return false;
    spare_count_.fetch_add(1, std::memory_order_relaxed);
    spares_.enqueue(c);
    return true;
  }
  // TakeAllSpares() — every spare command, for deletion at the end. Owner's destructor.
  template <typename F>
  void TakeAllSpares(const F& f) {
    Command* c = nullptr;
    while (spares_.try_dequeue(c)) f(c);
    spare_count_.store(0, std::memory_order_relaxed);
  }

 private:
  // Names `arena` as this thread's allocation arena until the end of the scope (nests).
  class ArenaScope {
   public:
    ArenaScope(RegionArena& arena, bool unlimited)
        : saved_(t_command_arena), saved_unlimited_(t_command_unlimited) {
      t_command_arena = &arena;
      t_command_unlimited = unlimited;
    }
    ~ArenaScope() {
      t_command_arena = saved_;
      t_command_unlimited = saved_unlimited_;
    }
    ArenaScope(const ArenaScope&) = delete;
    ArenaScope& operator=(const ArenaScope&) = delete;

   private:
    RegionArena* const saved_;
    const bool saved_unlimited_;
  };

  RegionArena arena_;                                     // before q_: destroyed after it
  moodycamel::ConcurrentQueue<T, CommandQueueTraits> q_;  // blocks of 32 elements
  moodycamel::ConcurrentQueue<Command*> spares_;
  std::atomic<std::size_t> spare_count_{0};
};

}  // namespace aps

#endif  // APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_
