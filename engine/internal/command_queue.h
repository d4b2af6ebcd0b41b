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

#include <cstddef>

namespace aps {

struct Command;

class CommandQueue {
 public:
  // Enqueue() — may allocate a block; never blocks; any thread.
  void Enqueue(Command* c) { q_.enqueue(c); }
  // TryDequeueBulk() — up to n commands, in each producer's order. Scheduler thread.
  std::size_t TryDequeueBulk(Command** out, std::size_t n) { return q_.try_dequeue_bulk(out, n); }
  std::size_t SizeApprox() const { return q_.size_approx(); }

 private:
  moodycamel::ConcurrentQueue<Command*> q_;
};

}  // namespace aps

#endif  // APS_ENGINE_INTERNAL_COMMAND_QUEUE_H_
