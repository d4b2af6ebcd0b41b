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
#ifndef APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_
#define APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_

#include <concurrentqueue.h>

#include <atomic>
#include <cstddef>
#include <iterator>
#include <type_traits>
#include <utility>

namespace aps {

struct Command;

template <typename T>
class CommandQueue {
 public:
  // At most this many spare heap commands are kept for reuse (about 450 bytes each).
  static constexpr std::size_t kMaxSpares = 1024;

  // `initial_capacity`: elements the queue holds before it allocates (its first blocks are
  // allocated, and written, here). Allocates; any thread (at init).
  explicit CommandQueue(std::size_t initial_capacity = 0) : q_(initial_capacity) {}

  // Enqueue() — may allocate a block; never blocks; any thread.
  void Enqueue(T&& c) { q_.enqueue(std::move(c)); }
  // EnqueueBulk() — moves items[0, n) in, in order, as one reservation of the producer's
  // slots (one tail publication instead of n). May allocate blocks; never blocks; any thread.
  void EnqueueBulk(T* items, std::size_t n) {
    static_assert(std::is_nothrow_move_constructible_v<T>,
                  "moodycamel copies instead of moving elements whose move may throw");
    q_.enqueue_bulk(std::make_move_iterator(items), n);
  }
  // TryDequeueBulk() — up to n commands (moved into out[0, n)), in each producer's order.
  // Scheduler thread.
  std::size_t TryDequeueBulk(T* out, std::size_t n) { return q_.try_dequeue_bulk(out, n); }
  std::size_t SizeApprox() const { return q_.size_approx(); }

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
  moodycamel::ConcurrentQueue<T> q_;  // blocks of 32 elements
  moodycamel::ConcurrentQueue<Command*> spares_;
  std::atomic<std::size_t> spare_count_{0};
};

}  // namespace aps

#endif  // APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_
