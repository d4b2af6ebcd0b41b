// Submission-queue microbenchmarks: the cost of handing a pointer to another thread through the
// queues the engine uses, from one and from several producer threads, beside baselines in this
// binary:
//   CommandQueue         aps::CommandQueue<Command*> (engine/internal/command_queue.h), the
//                        scheduler's command queue: moodycamel::ConcurrentQueue, implicit
//                        producers. (The scheduler's element is its QueuedCommand, 144 bytes:
//                        most async adds travel whole. This measures the queue's mechanics with
//                        pointer items, like the other rows; aps-loadgen --workload=addrate
//                        measures the whole add path.)
//   MpmcQueue            engine_internal::MpmcQueue (engine/internal/mpmc_queue.h), the
//                        executors' queues: preallocated, explicit producers, TryPush().
//   MoodycamelImplicit   moodycamel::ConcurrentQueue<void*> used directly, enqueue() without a
//                        token: the same code as CommandQueue. Where the rows differ, it is
//                        GCC's inlining: get_or_add_implicit_producer() (the per-call thread ->
//                        producer lookup) is inlined for this instantiation but called out of
//                        line for CommandQueue's, as it also is in libaps_scheduler's
//                        scheduler.cc.o, so the CommandQueue row is the scheduler's cost.
//   MoodycamelToken      the same queue with a ProducerToken per thread (and a ConsumerToken);
//                        EnqueueBulk64 = enqueue_bulk() of 64 items with the token.
//   MutexDequeBaseline   std::mutex + std::deque<void*>: lock, push_back, unlock (EnqueueBulk64:
//                        one lock per 64 items). The usual scheduler queue; libstdc++'s deque
//                        frees a 512-byte node as it empties and allocates one as it fills.
//   MutexVectorBaseline  std::mutex + std::vector<void*>, drained by swapping in the consumer's
//                        emptied vector (double buffering: no allocation once warm).
// Why: every AddJob/Modify/Remove enters the scheduler through the command queue, from any
// thread, so its enqueue is the submission fast path. The mutex queues are what we would have
// without moodycamel; raw moodycamel shows what the wrappers add, and what tokens or bulk
// enqueues would buy.
// Items are pointer-sized integers cast to pointers, never dereferenced (aps::Command is only
// declared). Two scenarios, each with one queue shared by its threads and built fresh per run:
//  * Enqueue: 1, 2 or 4 producer threads (->Threads; MpmcQueue: 1, see its benchmark). One
//    iteration = one producer enqueueing 4096 items back to back, and only that is timed
//    (manual timing, steady_clock). Then, untimed, the same thread drains the queue with bulk
//    dequeues of 4096 until it looks empty, so the queue never holds more than a few batches
//    and moodycamel reuses its blocks (steady state, no allocation). items/s = all threads'
//    items / mean per-thread timed time, i.e. aggregate enqueue throughput. With 2 or 4
//    threads, a drain by one thread overlaps the others' timed enqueues, as a consumer would.
//  * ProducerConsumer: producer threads (1, 2, 4: as many as leave the consumer a CPU of its
//    own, so 1 on a 2-CPU machine) enqueue one item at a time (256 per iteration) while one
//    dedicated consumer thread drains with bulk dequeues of 64 (as the scheduler thread does),
//    polling with yield() when it finds the queue empty. Producers wait (yield) while more than
//    16384 items are in flight, so items/s (wall time) is the rate at which items get through
//    the queue, not just how fast producers fill it. A polling consumer that keeps up takes few
//    items per pop (items_per_pop: mean items per non-empty dequeue; 64 = it never caught up),
//    so the queue's cache lines cross between the cores every few items: the worst case for
//    that. The scheduler thread sleeps between batches instead.
// Placement (Linux): producer i runs on the i-th CPU the process may use (modulo their count),
// the consumer on the last. Unpinned, ProducerConsumer moved 5x between runs with where the OS
// put the two threads (on one CPU they take turns and every pop takes 64 items). Enqueue with 4
// threads runs two per CPU on a 2-CPU machine, so it includes preemption (for the mutex queues,
// of a thread holding the lock).
// Each run ends with a check that as many items came out as went in, with the same sum.
// Not measured: per-call latency tails (timing one ~10 ns enqueue perturbs it), waking a
// sleeping consumer (the consumer here polls), and dequeue cost on its own.
// This file includes <concurrentqueue.h> itself, which otherwise only engine/internal/ does:
// the raw library is one of the baselines.
// Run (Release):
//   build-qbench/bench/queue_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <concurrentqueue.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/internal/command_queue.h"
#include "engine/internal/mpmc_queue.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace aps {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBatch = 4096;          // Enqueue: items per timed iteration
constexpr std::size_t kBulk = 64;             // items per enqueue_bulk() or lock (EnqueueBulk64)
constexpr std::size_t kDrainChunk = 4096;     // Enqueue: items per bulk dequeue of the drain
constexpr std::size_t kPairBatch = 256;       // ProducerConsumer: items per iteration
constexpr std::size_t kConsumerBulk = 64;     // ProducerConsumer: items per bulk dequeue
constexpr std::int64_t kMaxInFlight = 16384;  // ProducerConsumer: producers wait above this
constexpr std::size_t kMaxProducers = 4;      // most producer threads of any benchmark here

// MpmcQueue's per-producer bound (see "Capacity" in mpmc_queue.h). A producer never has more
// items in the queue than one batch (Enqueue, one thread) or kMaxInFlight plus a batch per producer
// (ProducerConsumer).
constexpr std::size_t kMpmcPerProducer =
    static_cast<std::size_t>(kMaxInFlight) + kMaxProducers * kPairBatch;

// Item `seq` of producer `thread`: nonzero and distinct across producers.
std::uintptr_t ItemValue(int thread, std::uint64_t seq) {
  return static_cast<std::uintptr_t>(seq * kMaxProducers + static_cast<std::uint64_t>(thread) + 1);
}

template <class Item>
std::uintptr_t Value(Item item) {
  return reinterpret_cast<std::uintptr_t>(item);
}

// The CPUs the process may run on, read once (at registration, before any pinning); empty where
// we cannot tell, and then nothing is pinned.
const std::vector<int>& AllowedCpus() {
  static const std::vector<int> cpus = [] {
    std::vector<int> v;
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) v.push_back(c);
      }
    }
#endif
    return v;
  }();
  return cpus;
}

// Pins the calling thread to AllowedCpus()[slot % count] until destroyed, then restores its CPU
// set (thread 0 is the main thread, and the threads it starts later inherit its set).
class ScopedPin {
 public:
  explicit ScopedPin(std::size_t slot) {
#if defined(__linux__)
    const std::vector<int>& cpus = AllowedCpus();
    if (cpus.empty() || pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_) != 0) {
      return;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[slot % cpus.size()], &one);
    pinned_ = pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
#else
    (void)slot;
#endif
  }
  ScopedPin(const ScopedPin&) = delete;
  ScopedPin& operator=(const ScopedPin&) = delete;
  ~ScopedPin() {
#if defined(__linux__)
    if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
#endif
  }

 private:
#if defined(__linux__)
  cpu_set_t saved_;
#endif
  bool pinned_ = false;
};

// The queues behind one interface. Producer and Consumer are per-thread contexts (tokens), made by
// the thread that uses them once the queue exists; Producer::ok() is false when making it failed.
// Push() and PushBulk() return false when nothing was enqueued (allocation failure, or a full
// MpmcQueue); PopBulk() moves up to `max` items to `out` and returns how many.
// All three are kept out of line: one call per submission, as from application code. Inlined
// into the benchmark loops, GCC's choice to inline moodycamel's enqueue fast path or not (it
// changed with unrelated edits to this file) moved single-thread figures by 2x.

class MoodycamelImplicit {
 public:
  using Item = void*;
  struct Producer {
    explicit Producer(MoodycamelImplicit&) {}
    bool ok() const { return true; }
  };
  struct Consumer {
    explicit Consumer(MoodycamelImplicit&) {}
  };
  [[gnu::noinline]] bool Push(Producer&, Item item) { return q_.enqueue(item); }
  [[gnu::noinline]] std::size_t PopBulk(Consumer&, Item* out, std::size_t max) {
    return q_.try_dequeue_bulk(out, max);
  }

 private:
  moodycamel::ConcurrentQueue<void*> q_;
};

class MoodycamelToken {
 public:
  using Item = void*;
  struct Producer {
    explicit Producer(MoodycamelToken& q) : token(q.q_) {}
    bool ok() const { return token.valid(); }
    moodycamel::ProducerToken token;
  };
  struct Consumer {
    explicit Consumer(MoodycamelToken& q) : token(q.q_) {}
    moodycamel::ConsumerToken token;
  };
  [[gnu::noinline]] bool Push(Producer& p, Item item) { return q_.enqueue(p.token, item); }
// GCC 12 at -O2 reports -Wstringop-overflow inside moodycamel's enqueue_bulk() once inlined
// here, on the load of the token's producer's tail index; that producer is valid once ok() held.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
  [[gnu::noinline]] bool PushBulk(Producer& p, const Item* items, std::size_t n) {
    return q_.enqueue_bulk(p.token, items, n);
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  [[gnu::noinline]] std::size_t PopBulk(Consumer& c, Item* out, std::size_t max) {
    return q_.try_dequeue_bulk(c.token, out, max);
  }

 private:
  moodycamel::ConcurrentQueue<void*> q_;
};

class ApsCommandQueue {
 public:
  using Item = Command*;
  struct Producer {
    explicit Producer(ApsCommandQueue&) {}
    bool ok() const { return true; }
  };
  struct Consumer {
    explicit Consumer(ApsCommandQueue&) {}
  };
  [[gnu::noinline]] bool Push(Producer&, Item item) { return q_.Enqueue(std::move(item)); }
  [[gnu::noinline]] std::size_t PopBulk(Consumer&, Item* out, std::size_t max) {
    return q_.TryDequeueBulk(out, max);
  }

 private:
  CommandQueue<Command*> q_;
};

class ApsMpmcQueue {
  using Queue = engine_internal::MpmcQueue<void*>;

 public:
  using Item = void*;
  struct Producer {
    explicit Producer(ApsMpmcQueue& q) : p(q.q_.ok() ? q.q_.NewProducer() : nullptr) {}
    bool ok() const { return p != nullptr; }
    std::unique_ptr<Queue::Producer> p;
  };
  struct Consumer {
    explicit Consumer(ApsMpmcQueue& q) : c(q.q_) {}
    Queue::Consumer c;
  };
  ApsMpmcQueue() : q_(kMpmcPerProducer, kMaxProducers) {}
  [[gnu::noinline]] bool Push(Producer& p, Item item) { return q_.TryPush(*p.p, item); }
  [[gnu::noinline]] std::size_t PopBulk(Consumer& c, Item* out, std::size_t max) {
    return q_.TryPopBulk(c.c, out, max);
  }

 private:
  Queue q_;
};

class MutexDequeBaseline {
 public:
  using Item = void*;
  struct Producer {
    explicit Producer(MutexDequeBaseline&) {}
    bool ok() const { return true; }
  };
  struct Consumer {
    explicit Consumer(MutexDequeBaseline&) {}
  };
  [[gnu::noinline]] bool Push(Producer&, Item item) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(item);
    return true;
  }
  [[gnu::noinline]] bool PushBulk(Producer&, const Item* items, std::size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.insert(items_.end(), items, items + n);
    return true;
  }
  [[gnu::noinline]] std::size_t PopBulk(Consumer&, Item* out, std::size_t max) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::size_t n = std::min(max, items_.size());
    const auto end = items_.begin() + static_cast<std::ptrdiff_t>(n);
    std::copy(items_.begin(), end, out);
    items_.erase(items_.begin(), end);
    return n;
  }

 private:
  std::mutex mu_;
  std::deque<void*> items_;  // guarded by mu_
};

class MutexVectorBaseline {
 public:
  using Item = void*;
  struct Producer {
    explicit Producer(MutexVectorBaseline&) {}
    bool ok() const { return true; }
  };
  struct Consumer {
    explicit Consumer(MutexVectorBaseline&) {}
    std::vector<void*> taken;  // swapped out of the queue; [next, size) not yet handed out
    std::size_t next = 0;
  };
  [[gnu::noinline]] bool Push(Producer&, Item item) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(item);
    return true;
  }
  [[gnu::noinline]] std::size_t PopBulk(Consumer& c, Item* out, std::size_t max) {
    if (c.next == c.taken.size()) {
      c.taken.clear();
      c.next = 0;
      std::lock_guard<std::mutex> lock(mu_);
      items_.swap(c.taken);  // the queue keeps the emptied buffer and its capacity
    }
    const std::size_t n = std::min(max, c.taken.size() - c.next);
    std::copy_n(c.taken.begin() + static_cast<std::ptrdiff_t>(c.next), n, out);
    c.next += n;
    return n;
  }

 private:
  std::mutex mu_;
  std::vector<void*> items_;  // guarded by mu_
};

// ---- Enqueue ---------------------------------------------------------------------------------

// Shared by the threads of one Enqueue run. Thread 0 replaces `queue` before the loop, when every
// thread of the previous run (and its tokens) is gone; the others first touch it inside the loop.
// Totals are added inside the loop, so thread 0 reads them complete after the loop.
template <class Q>
struct EnqueueShared {
  std::unique_ptr<Q> queue;
  // Relaxed: summed by the producers, read by thread 0 after the loop's closing barrier, which
  // orders every addition before the read.
  std::atomic<std::uint64_t> pushed{0};
  std::atomic<std::uint64_t> pushed_sum{0};
  std::atomic<std::uint64_t> popped{0};
  std::atomic<std::uint64_t> popped_sum{0};
};

// Pops until the queue looks empty; adds the items' count and sum to `count` and `sum`.
template <class Q>
void Drain(Q& q, typename Q::Consumer& consumer, std::vector<typename Q::Item>& buf,
           std::uint64_t& count, std::uint64_t& sum) {
  for (std::size_t n; (n = q.PopBulk(consumer, buf.data(), buf.size())) != 0;) {
    count += n;
    for (std::size_t i = 0; i < n; ++i) sum += Value(buf[i]);
  }
}

template <class Q, bool kBulkPush>
void RunEnqueue(benchmark::State& state) {
  using Item = typename Q::Item;
  static EnqueueShared<Q> shared;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const int thread = state.thread_index();
  if (thread == 0) {
    shared.queue = std::make_unique<Q>();
    shared.pushed.store(0, kRelaxed);
    shared.pushed_sum.store(0, kRelaxed);
    shared.popped.store(0, kRelaxed);
    shared.popped_sum.store(0, kRelaxed);
  }
  const ScopedPin pin(static_cast<std::size_t>(thread));  // producer i on CPU i (mod count)
  std::optional<typename Q::Producer> producer;  // made in the first iteration: see EnqueueShared
  std::optional<typename Q::Consumer> consumer;
  std::vector<Item> items(kBatch);
  std::vector<Item> out(kDrainChunk);
  std::uint64_t seq = 0;
  std::uint64_t pushed = 0;
  std::uint64_t failed = 0;
  for (auto _ : state) {
    Q& q = *shared.queue;
    if (!producer) {
      producer.emplace(q);
      consumer.emplace(q);
      if (!producer->ok()) {
        state.SkipWithError("could not make a producer");
        continue;
      }
    }
    std::uint64_t batch_sum = 0;
    for (Item& item : items) {
      const std::uintptr_t v = ItemValue(thread, seq++);
      item = reinterpret_cast<Item>(v);
      batch_sum += v;
    }
    std::uint64_t failed_n = 0;
    std::uint64_t failed_sum = 0;
    const Clock::time_point t0 = Clock::now();
    if constexpr (kBulkPush) {
      for (std::size_t i = 0; i < kBatch; i += kBulk) {
        if (!q.PushBulk(*producer, &items[i], kBulk)) [[unlikely]] {
          failed_n += kBulk;
          for (std::size_t j = i; j < i + kBulk; ++j) failed_sum += Value(items[j]);
        }
      }
    } else {
      for (Item item : items) {
        if (!q.Push(*producer, item)) [[unlikely]] {
          ++failed_n;
          failed_sum += Value(item);
        }
      }
    }
    const Clock::time_point t1 = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());

    std::uint64_t popped = 0;
    std::uint64_t popped_sum = 0;
    Drain(q, *consumer, out, popped, popped_sum);
    shared.pushed.fetch_add(kBatch - failed_n, kRelaxed);
    shared.pushed_sum.fetch_add(batch_sum - failed_sum, kRelaxed);
    shared.popped.fetch_add(popped, kRelaxed);
    shared.popped_sum.fetch_add(popped_sum, kRelaxed);
    pushed += kBatch - failed_n;
    failed += failed_n;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(pushed));
  if (failed != 0) state.counters["push_failures"] = static_cast<double>(failed);

  // Every producer has left the loop: take what their drains left behind, then check.
  if (thread == 0 && consumer && !state.error_occurred()) {
    std::uint64_t popped = shared.popped.load(kRelaxed);
    std::uint64_t popped_sum = shared.popped_sum.load(kRelaxed);
    Drain(*shared.queue, *consumer, out, popped, popped_sum);
    if (popped != shared.pushed.load(kRelaxed) || popped_sum != shared.pushed_sum.load(kRelaxed)) {
      state.SkipWithError("items out != items in");
    }
  }
}

// ---- ProducerConsumer ------------------------------------------------------------------------

// Shared by the producers of one run and its consumer thread. Thread 0 replaces `queue` and starts
// the consumer before the loop, and stops it after.
template <class Q>
struct PairShared {
  std::unique_ptr<Q> queue;
  std::thread consumer;
  // Relaxed: flow control only (an estimate of the items in flight), and totals read by thread 0
  // after the loop's closing barrier.
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> produced_sum{0};
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<bool> stop{false};
  std::uint64_t consumed_total = 0;  // written by the consumer thread, read after join()
  std::uint64_t consumed_sum = 0;
  std::uint64_t pops = 0;  // non-empty dequeues; same thread rules
};

template <class Q>
void ConsumeUntilStopped(PairShared<Q>& s) {
  const ScopedPin pin(AllowedCpus().empty() ? 0 : AllowedCpus().size() - 1);  // the last CPU
  typename Q::Consumer consumer(*s.queue);
  typename Q::Item buf[kConsumerBulk];
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t pops = 0;
  for (;;) {
    // Acquire: pairs with thread 0's release store, made after every push had returned, so an
    // empty pop after seeing `stop` means every item is out.
    const bool stopping = s.stop.load(std::memory_order_acquire);
    const std::size_t n = s.queue->PopBulk(consumer, buf, kConsumerBulk);
    if (n == 0) {
      if (stopping) break;
      std::this_thread::yield();
      continue;
    }
    for (std::size_t i = 0; i < n; ++i) sum += Value(buf[i]);
    count += n;
    ++pops;
    s.consumed.store(count, std::memory_order_relaxed);  // flow control only, see PairShared
  }
  s.consumed_total = count;
  s.consumed_sum = sum;
  s.pops = pops;
}

template <class Q>
void RunProducerConsumer(benchmark::State& state) {
  using Item = typename Q::Item;
  static PairShared<Q> shared;
  constexpr auto kRelaxed = std::memory_order_relaxed;
  const int thread = state.thread_index();
  if (thread == 0) {
    shared.queue = std::make_unique<Q>();
    shared.produced.store(0, kRelaxed);
    shared.produced_sum.store(0, kRelaxed);
    shared.consumed.store(0, kRelaxed);
    shared.stop.store(false, kRelaxed);
    shared.consumer = std::thread(ConsumeUntilStopped<Q>, std::ref(shared));  // before pinning
  }
  // Producer i on CPU i, the consumer on the last one (PairShape keeps them apart).
  const ScopedPin pin(static_cast<std::size_t>(thread));
  std::optional<typename Q::Producer> producer;  // made in the first iteration, as in Enqueue
  std::uint64_t seq = 0;
  std::uint64_t pushed = 0;
  std::uint64_t failed = 0;
  for (auto _ : state) {
    Q& q = *shared.queue;
    if (!producer) {
      producer.emplace(q);
      if (!producer->ok()) {
        state.SkipWithError("could not make a producer");
        continue;
      }
    }
    while (static_cast<std::int64_t>(shared.produced.load(kRelaxed) -
                                     shared.consumed.load(kRelaxed)) > kMaxInFlight) {
      std::this_thread::yield();
    }
    std::uint64_t ok = 0;
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < kPairBatch; ++i) {
      const std::uintptr_t v = ItemValue(thread, seq++);
      if (q.Push(*producer, reinterpret_cast<Item>(v))) [[likely]] {
        ++ok;
        sum += v;
      }
    }
    shared.produced.fetch_add(ok, kRelaxed);
    shared.produced_sum.fetch_add(sum, kRelaxed);
    pushed += ok;
    failed += kPairBatch - ok;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(pushed));
  if (failed != 0) state.counters["push_failures"] = static_cast<double>(failed);

  if (thread == 0) {
    shared.stop.store(true, std::memory_order_release);  // see ConsumeUntilStopped
    shared.consumer.join();
    if (shared.pops != 0) {
      state.counters["items_per_pop"] =
          static_cast<double>(shared.consumed_total) / static_cast<double>(shared.pops);
    }
    if (!state.error_occurred() && (shared.consumed_total != shared.produced.load(kRelaxed) ||
                                    shared.consumed_sum != shared.produced_sum.load(kRelaxed))) {
      state.SkipWithError("items out != items in");
    }
  }
}

// ---- Benchmarks ------------------------------------------------------------------------------

// 1, 2 and 4 producers (4 oversubscribes the 2 cores); the time is the enqueues only.
void EnqueueShape(benchmark::internal::Benchmark* b) {
  b->Threads(1)->Threads(2)->Threads(4)->UseManualTime()->Unit(benchmark::kMicrosecond);
  b->MinTime(0.2);
}
void EnqueueShapeOneThread(benchmark::internal::Benchmark* b) {
  b->Threads(1)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(0.2);
}
// 1, 2, 4 producers, as many as leave the consumer a CPU of its own (on 2 CPUs: 1); wall time.
void PairShape(benchmark::internal::Benchmark* b) {
  const std::size_t cpus = std::max<std::size_t>(AllowedCpus().size(), 2);
  for (std::size_t producers = 1; producers <= kMaxProducers && producers < cpus; producers *= 2) {
    b->Threads(static_cast<int>(producers));
  }
  b->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(0.2);
}

// What is registered (names BM_SubmitQueue_<kind>_<queue>):
//   Enqueue_*          one item per call: 4096 per timed iteration, then an untimed self-drain
//                      (header), for CommandQueue, MpmcQueue (TryPush; preallocated, a failed
//                      push is counted, not retried; one producer only: its per-producer bound
//                      holds with one consumer releasing slots in order, as executor.cc does,
//                      while several self-draining threads pin blocks and 0.3-1.5% of pushes
//                      failed in our runs, the caveat in mpmc_queue.h), moodycamel with an
//                      implicit producer (what CommandQueue does) or a ProducerToken, and the
//                      mutex baselines (lock, push_back, unlock on a std::deque; on a
//                      double-buffered std::vector);
//   EnqueueBulk64_*    64 items per call (enqueue_bulk with a token; one lock per 64 items);
//   ProducerConsumer_* producers -> one polling consumer (bulk 64), at most 16384 items in
//                      flight (header), for every queue.
template <class Q, bool kBulk>
void RegisterEnqueue(const char* name, void (*shape)(benchmark::internal::Benchmark*)) {
  benchmark::RegisterBenchmark(name, &RunEnqueue<Q, kBulk>)->Apply(shape);
}
template <class Q>
void RegisterPair(const char* name) {
  benchmark::RegisterBenchmark(name, &RunProducerConsumer<Q>)->Apply(PairShape);
}

const bool kRegistered = [] {
  RegisterEnqueue<ApsCommandQueue, false>("BM_SubmitQueue_Enqueue_CommandQueue", EnqueueShape);
  RegisterEnqueue<ApsMpmcQueue, false>("BM_SubmitQueue_Enqueue_MpmcQueue", EnqueueShapeOneThread);
  RegisterEnqueue<MoodycamelImplicit, false>("BM_SubmitQueue_Enqueue_MoodycamelImplicit",
                                             EnqueueShape);
  RegisterEnqueue<MoodycamelToken, false>("BM_SubmitQueue_Enqueue_MoodycamelToken", EnqueueShape);
  RegisterEnqueue<MoodycamelToken, true>("BM_SubmitQueue_EnqueueBulk64_MoodycamelToken",
                                         EnqueueShape);
  RegisterEnqueue<MutexDequeBaseline, false>("BM_SubmitQueue_Enqueue_MutexDequeBaseline",
                                             EnqueueShape);
  RegisterEnqueue<MutexDequeBaseline, true>("BM_SubmitQueue_EnqueueBulk64_MutexDequeBaseline",
                                            EnqueueShape);
  RegisterEnqueue<MutexVectorBaseline, false>("BM_SubmitQueue_Enqueue_MutexVectorBaseline",
                                              EnqueueShape);
  RegisterPair<ApsCommandQueue>("BM_SubmitQueue_ProducerConsumer_CommandQueue");
  RegisterPair<ApsMpmcQueue>("BM_SubmitQueue_ProducerConsumer_MpmcQueue");
  RegisterPair<MoodycamelImplicit>("BM_SubmitQueue_ProducerConsumer_MoodycamelImplicit");
  RegisterPair<MoodycamelToken>("BM_SubmitQueue_ProducerConsumer_MoodycamelToken");
  RegisterPair<MutexDequeBaseline>("BM_SubmitQueue_ProducerConsumer_MutexDequeBaseline");
  RegisterPair<MutexVectorBaseline>("BM_SubmitQueue_ProducerConsumer_MutexVectorBaseline");
  return true;
}();

}  // namespace
}  // namespace aps

BENCHMARK_MAIN();
