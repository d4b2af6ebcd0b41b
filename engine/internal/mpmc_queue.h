// aps/engine/internal/mpmc_queue.h — moodycamel::ConcurrentQueue, preallocated, tokens only.
//
// The only includer of concurrentqueue.h (Debian: libconcurrentqueue-dev). It narrows the queue
// to the way the engine uses it, so that after construction nothing allocates:
//
//   * explicit producers only (a Producer per pushing thread; implicit, thread_local producers
//     are compiled out with INITIAL_IMPLICIT_PRODUCER_HASH_SIZE = 0);
//   * only the try_ operations, which never allocate: a push fails instead;
//   * every block preallocated, enough for `max_producers` producers that each hold up to
//     `per_producer` elements (see "Capacity" below).
//
//   MpmcQueue<int> q(/*per_producer=*/64, /*max_producers=*/1);
//   std::unique_ptr<MpmcQueue<int>::Producer> p = q.NewProducer();   // init time: allocates
//   MpmcQueue<int>::Consumer c(q);
//   if (q.ok() && p && q.TryPush(*p, 7)) { int v; q.TryPop(c, v); }
//
// Capacity. moodycamel stores elements in blocks of kBlockSize. An explicit producer keeps the
// blocks it ever used in a private ring and reuses the oldest one once every element in it has
// been popped; it takes a fresh block from the preallocated pool only when the next block in
// its ring still holds an element. So a producer whose pushed-but-not-popped elements never
// exceed N needs at most ceil(N / kBlockSize) + 1 blocks, ever, and the pool here holds that
// many for each of max_producers producers. The queue itself does not count elements: callers
// keep the per-producer bound with their own counters, decremented after TryPop() returns (the
// slot is released by then), which is also how they get an exact "full". The bound assumes
// slots are released in order, as with one consumer. With several consumers, one preempted
// between taking a slot and releasing it pins that slot's block, pushes meanwhile draw on spare
// pool blocks, and once those run out they fail early (they never lose an element).
// moodycamel sizes each explicit producer's block index to the whole pool, so the index never
// has to grow either.
//
// Not promised: FIFO order across producers; TryPop() may miss an element that a concurrent
// push has not finished publishing. Each call is lock-free.
#ifndef APS_ENGINE_INTERNAL_MPMC_QUEUE_H_
#define APS_ENGINE_INTERNAL_MPMC_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

// Found by engine/CMakeLists.txt and added as a SYSTEM include (our warning flags stay off it).
#include <concurrentqueue.h>

#if defined(__SANITIZE_THREAD__)
#define APS_INTERNAL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define APS_INTERNAL_TSAN 1
#endif
#endif
#if defined(APS_INTERNAL_TSAN)
// ThreadSanitizer's dynamic annotations (exported by the GCC and Clang runtimes; abseil declares
// them the same way).
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif

namespace aps::engine_internal {

// ThreadSanitizer and moodycamel's fences. A consumer marks a popped slot empty (a release
// store, or a release *fence* and relaxed stores for bulk pops); before reusing the block, its
// producer checks the flags with relaxed loads and an acquire *fence*. TSan does not model fences
// (GCC warns, -Wtsan), so it reports the producer's write into a recycled slot as racing with the
// consumer's earlier read of it. Under TSan, TryPush() therefore runs moodycamel's enqueue with
// plain-memory writes ignored (TsanIgnoreWrites): the element copy into the slot and the
// producer-private bookkeeping. Everything else stays checked: reads of the pushed item, every
// atomic (so the real producer → consumer edge through the tail index still orders our data),
// and all of our own code.
#if defined(APS_INTERNAL_TSAN)
struct TsanIgnoreWrites {
  TsanIgnoreWrites() noexcept { AnnotateIgnoreWritesBegin(__FILE__, __LINE__); }
  ~TsanIgnoreWrites() { AnnotateIgnoreWritesEnd(__FILE__, __LINE__); }
};
#else
struct TsanIgnoreWrites {};
#endif

// Counts allocation failures inside moodycamel, which reports them only by failing later
// operations; construction compares the count before and after. Process-wide, so an allocation
// failing on another thread at the same moment may be blamed on this construction too: it then
// reports out-of-memory while memory is already running out, which is harmless.
inline std::atomic<std::uint32_t> g_mpmc_queue_alloc_failures{0};

template <std::size_t kBlockSize>
struct MpmcQueueTraits : moodycamel::ConcurrentQueueDefaultTraits {
  static constexpr std::size_t BLOCK_SIZE = kBlockSize;
  // No implicit producers: every push names its Producer (no thread_local lookups, no
  // allocation on a thread's first push).
  static constexpr std::size_t INITIAL_IMPLICIT_PRODUCER_HASH_SIZE = 0;

  static void* malloc(std::size_t size) {
    void* p = std::malloc(size);
    // Relaxed: a statistic read back by the same thread (construction), no ordering needed.
    if (p == nullptr) g_mpmc_queue_alloc_failures.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  static void free(void* p) { std::free(p); }
};

template <class T, std::size_t kBlockSize = 32>
class MpmcQueue {
  using Queue = moodycamel::ConcurrentQueue<T, MpmcQueueTraits<kBlockSize>>;

 public:
  static_assert(std::is_trivially_copyable_v<T>, "elements are copied in and out by value");

  // One pushing context. Not thread-safe: one thread at a time pushes through it.
  class Producer {
   public:
    explicit Producer(MpmcQueue& q) : token_(q.queue_) {}

   private:
    friend class MpmcQueue;
    moodycamel::ProducerToken token_;
  };

  // One popping context. Not thread-safe: one thread at a time pops through it. Never allocates.
  class Consumer {
   public:
    explicit Consumer(MpmcQueue& q) noexcept : token_(q.queue_) {}

   private:
    friend class MpmcQueue;
    moodycamel::ConsumerToken token_;
  };

  // Preallocates blocks for `max_producers` producers holding up to `per_producer` elements
  // each (both > 0). Allocates; check ok().
  MpmcQueue(std::size_t per_producer, std::size_t max_producers)
      : failures_before_(g_mpmc_queue_alloc_failures.load(std::memory_order_relaxed)),
        queue_(BlocksFor(per_producer) * max_producers * kBlockSize) {
    ok_ = g_mpmc_queue_alloc_failures.load(std::memory_order_relaxed) == failures_before_;
  }

  MpmcQueue(const MpmcQueue&) = delete;
  MpmcQueue& operator=(const MpmcQueue&) = delete;

  // False when the preallocation failed (every push would fail).
  bool ok() const noexcept { return ok_; }

  // NewProducer() — a producer context, or nullptr when memory ran out. Allocates (the producer
  // and its block index); any thread; call at init.
  std::unique_ptr<Producer> NewProducer() {
    const std::uint32_t before = g_mpmc_queue_alloc_failures.load(std::memory_order_relaxed);
    std::unique_ptr<Producer> p(new (std::nothrow) Producer(*this));
    if (p == nullptr || !p->token_.valid() ||
        g_mpmc_queue_alloc_failures.load(std::memory_order_relaxed) != before) {
      return nullptr;
    }
    return p;
  }

  // TryPush() — false when no preallocated block is free (see "Capacity"). Never allocates,
  // never blocks; the thread using `producer`.
  bool TryPush(Producer& producer, const T& item) noexcept {
    [[maybe_unused]] TsanIgnoreWrites ignore_slot_reuse;  // see "ThreadSanitizer" above
    return queue_.try_enqueue(producer.token_, item);
  }

  // TryPushBulk() — pushes items[0..n) in order, all or none: false (nothing pushed) when the
  // preallocated blocks cannot take them all. One publication of the producer's tail for the
  // whole group. Never allocates, never blocks; the thread using `producer`.
  bool TryPushBulk(Producer& producer, const T* items, std::size_t n) noexcept {
    [[maybe_unused]] TsanIgnoreWrites ignore_slot_reuse;  // see "ThreadSanitizer" above
    return queue_.try_enqueue_bulk(producer.token_, items, n);
  }

  // TryPop() — false when the queue looked empty. The popped slot is released (reusable by its
  // producer) before this returns. Never allocates, never blocks; the thread using `consumer`.
  bool TryPop(Consumer& consumer, T& out) noexcept {
    return queue_.try_dequeue(consumer.token_, out);
  }

  // TryPopBulk() — pops up to `max` elements into out[0..); returns how many. Slots released as
  // for TryPop(). Never allocates, never blocks; the thread using `consumer`.
  std::size_t TryPopBulk(Consumer& consumer, T* out, std::size_t max) noexcept {
    return queue_.try_dequeue_bulk(consumer.token_, out, max);
  }

  // SizeApprox() — elements in the queue, approximately (moodycamel's size_approx()). Never
  // allocates, never blocks; any thread.
  std::size_t SizeApprox() const noexcept { return queue_.size_approx(); }

  // Blocks one producer may need for `per_producer` elements (see "Capacity").
  static constexpr std::size_t BlocksFor(std::size_t per_producer) {
    return (per_producer + kBlockSize - 1) / kBlockSize + 1;
  }

 private:
  std::uint32_t failures_before_;
  Queue queue_;
  bool ok_ = false;
};

}  // namespace aps::engine_internal

#endif  // APS_ENGINE_INTERNAL_MPMC_QUEUE_H_
