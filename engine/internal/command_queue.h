// aps/engine/internal/command_queue.h — the scheduler's command queue (moodycamel, wrapped).
//
// Any thread enqueues a pointer to a caller-owned Command; the scheduler thread dequeues in
// bulk. Unbounded (moodycamel allocates blocks as needed and reuses them), lock-free.
// Unlike mpmc_queue.h (explicit producers known at init, preallocated, bounded: the executors'
// queues), API calls come from arbitrary threads, so this queue uses moodycamel's implicit
// per-thread producers; it is the only other includer of concurrentqueue.h.
#ifndef APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_
#define APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_

#include <concurrentqueue.h>

#include <atomic>
#include <cstddef>

namespace aps {

struct Command;

class CommandQueue {
 public:
  // At most this many spare commands are kept for reuse (about 450 bytes each).
  static constexpr std::size_t kMaxSpares = 1024;

  // Enqueue() — may allocate a block; never blocks; any thread.
  void Enqueue(Command* c) { q_.enqueue(c); }
  // TryDequeueBulk() — up to n commands, in each producer's order. Scheduler thread.
  std::size_t TryDequeueBulk(Command** out, std::size_t n) { return q_.try_dequeue_bulk(out, n); }
  std::size_t SizeApprox() const { return q_.size_approx(); }

  // Spare heap commands (AddJobAsync's fire-and-forget ones), recycled: the scheduler thread
  // gives back a command it has applied (reset to its default state), a producer takes one
  // instead of allocating. Without it every async add was a malloc on the producer's thread
  // and a free on the scheduler's, and glibc's arena lock made them wait for each other.
  //
  // TakeSpare() — a reset command, or nullptr when none is spare. Never blocks; any thread.
  Command* TakeSpare() {
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
  moodycamel::ConcurrentQueue<Command*> q_;
  moodycamel::ConcurrentQueue<Command*> spares_;
  std::atomic<std::size_t> spare_count_{0};
};

}  // namespace aps

#endif  // APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_
