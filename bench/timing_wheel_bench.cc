// Timing wheel microbenchmarks: insert, cancel and expire with a million timers, each phase
// timed on its own (libuv's million-timers split), beside two baselines in this binary:
//   *_HeapBaseline  a mutex-guarded std::priority_queue (the usual scheduler core). Cancel is
//                   lazy deletion: it only marks the entry, and the heap drops it when it
//                   surfaces, so part of its cancel cost moves into expiry.
//   *_AsioBaseline  Boost.Asio steady_timer: insert = expires_at + async_wait, cancel =
//                   cancel(), expire = io_context::run() over timers already due.
// Load shape (every variant): N timers (/1048576 = 2^20, the headline; /65536 = 2^16, which
// fits in cache) with deadlines uniform over the next second (1 tick = 1 µs), inserted in
// random deadline order into a structure sized for them. Each benchmark iteration runs one
// phase over all N; the reported time is that phase only (manual timing), ns_per_timer =
// phase time / N. Iterations after the first reuse nodes in the order the previous round
// freed them, i.e. scattered over the pool, as in a long-running scheduler. Expire advances
// in 1 ms steps (1000 calls, N/1000 timers each, as a scheduler waking every millisecond)
// and reports p50/p99/max of one call in µs; the max includes re-filing a whole higher-level
// slot (~N/4 timers). Each phase ends with a check that every timer fired (or was cancelled)
// exactly once, in order.
// Run (Release, pinned):
//   taskset -c 1 build-wheel/bench/timing_wheel_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <queue>
#include <random>
#include <vector>

#include "engine/timing_wheel.h"

namespace aps {
namespace {

constexpr std::int64_t kSpanUs = 1'000'000;
constexpr std::int64_t kStepUs = 1'000;
constexpr std::int64_t kStart = 1'704'067'200'000'000;  // 2024-01-01 in µs: absolute ticks

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// N deadline offsets (µs after the start) in insertion order, and a random cancel order.
struct Load {
  std::uint32_t n;
  std::vector<std::int64_t> offset_us;
  std::vector<std::uint32_t> shuffled;
  explicit Load(std::uint32_t count) : n(count), offset_us(count), shuffled(count) {
    std::mt19937_64 rng(42);
    for (std::int64_t& o : offset_us) o = 1 + static_cast<std::int64_t>(rng() % kSpanUs);
    std::iota(shuffled.begin(), shuffled.end(), 0u);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
  }
  std::uint64_t IdSum() const { return std::uint64_t{n} * (n - 1) / 2; }
};

// Accumulates phase time over iterations; publishes ns_per_timer and per-call percentiles.
class PhaseStats {
 public:
  explicit PhaseStats(std::uint32_t n) : n_(n) {}
  void AddPhase(benchmark::State& state, Clock::time_point t0, Clock::time_point t1) {
    total_s_ += Seconds(t0, t1);
    state.SetIterationTime(Seconds(t0, t1));
  }
  void AddCall(double seconds) { calls_us_.push_back(seconds * 1e6); }
  void Publish(benchmark::State& state) {
    const double items = static_cast<double>(state.iterations()) * n_;
    state.SetItemsProcessed(static_cast<std::int64_t>(items));
    if (items > 0) state.counters["ns_per_timer"] = total_s_ * 1e9 / items;
    if (!calls_us_.empty()) {
      std::sort(calls_us_.begin(), calls_us_.end());
      auto at = [&](double q) {
        return calls_us_[static_cast<std::size_t>(q * static_cast<double>(calls_us_.size() - 1))];
      };
      state.counters["call_p50_us"] = at(0.50);
      state.counters["call_p99_us"] = at(0.99);
      state.counters["call_max_us"] = calls_us_.back();
    }
  }

 private:
  std::uint32_t n_;
  double total_s_ = 0;
  std::vector<double> calls_us_;
};

// ---- TimingWheel ---------------------------------------------------------------------

using Wheel = TimingWheel<>;

void FillWheel(Wheel& w, const Load& load, std::vector<WheelHandle>& handles) {
  const std::int64_t base = w.Now();
  for (std::uint32_t i = 0; i < load.n; ++i) {
    Result<WheelHandle> h = w.TryInsert(base + load.offset_us[i], i);
    if (!h.ok()) std::abort();
    handles[i] = *h;
  }
}

// N TryInsert() calls into an empty wheel sized for them (pending grows 0 -> N).
void BM_TimingWheel_Insert(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  Wheel w(load.n, kStart);
  std::vector<WheelHandle> handles(load.n);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    FillWheel(w, load, handles);
    stats.AddPhase(state, t0, Clock::now());
    const std::size_t n = w.AdvanceTo(w.Now() + 2 * kSpanUs, [](auto...) {});  // untimed
    if (n != load.n) state.SkipWithError("not every timer fired once");
  }
  stats.Publish(state);
}

// Cancel() of N pending timers in insertion order (pending shrinks N -> 0).
void BM_TimingWheel_Cancel(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  Wheel w(load.n, kStart);
  std::vector<WheelHandle> handles(load.n);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    FillWheel(w, load, handles);
    const auto t0 = Clock::now();
    std::uint32_t cancelled = 0;
    for (std::uint32_t i = 0; i < load.n; ++i) cancelled += w.Cancel(handles[i]) ? 1u : 0u;
    stats.AddPhase(state, t0, Clock::now());
    if (cancelled != load.n || !w.empty()) state.SkipWithError("cancel lost a timer");
  }
  stats.Publish(state);
}

// As above in random order: each cancel reads and writes one scattered node. The handles are
// gathered in that order before the timed loop (as a caller holds each timer's handle where it
// keeps the timer), so the loop does not also pay a random read of the handle array.
void BM_TimingWheel_Cancel_RandomOrder(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  Wheel w(load.n, kStart);
  std::vector<WheelHandle> handles(load.n), to_cancel(load.n);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    FillWheel(w, load, handles);
    for (std::uint32_t k = 0; k < load.n; ++k) to_cancel[k] = handles[load.shuffled[k]];
    const auto t0 = Clock::now();
    std::uint32_t cancelled = 0;
    for (const WheelHandle h : to_cancel) cancelled += w.Cancel(h) ? 1u : 0u;
    stats.AddPhase(state, t0, Clock::now());
    if (cancelled != load.n || !w.empty()) state.SkipWithError("cancel lost a timer");
  }
  stats.Publish(state);
}

// Expiry of N pending timers: AdvanceTo() in 1 ms steps across the second they span.
void BM_TimingWheel_Expire(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  Wheel w(load.n, kStart);
  std::vector<WheelHandle> handles(load.n);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    FillWheel(w, load, handles);
    std::uint64_t fired = 0;
    std::uint64_t sum = 0;
    std::int64_t last = 0;
    bool ordered = true;
    auto on_expire = [&](std::uint64_t payload, std::int64_t deadline, WheelHandle) {
      ++fired;
      sum += payload;
      ordered &= deadline >= last;
      last = deadline;
    };
    const std::int64_t end = w.Now() + kSpanUs;
    const auto t0 = Clock::now();
    for (std::int64_t now = w.Now() + kStepUs; now <= end; now += kStepUs) {
      const auto c0 = Clock::now();
      w.AdvanceTo(now, on_expire);
      stats.AddCall(Seconds(c0, Clock::now()));
    }
    stats.AddPhase(state, t0, Clock::now());
    if (fired != load.n || sum != load.IdSum() || !ordered || !w.empty()) {
      state.SkipWithError("expiry did not fire every timer once, in order");
    }
  }
  stats.Publish(state);
}

// ---- Baseline: mutex-guarded std::priority_queue ------------------------------------

class HeapTimers {
 public:
  struct Entry {
    std::int64_t deadline;
    std::uint64_t seq;  // ties fire in insertion order
    std::uint32_t id;
    bool operator>(const Entry& o) const {
      return deadline != o.deadline ? deadline > o.deadline : seq > o.seq;
    }
  };
  explicit HeapTimers(std::uint32_t n)
      : heap_(std::greater<Entry>(), Reserved(n)), cancelled_(n, 0) {}

  void Insert(std::int64_t deadline, std::uint32_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_[id] = 0;
    heap_.push(Entry{deadline, seq_++, id});
  }
  // Lazy deletion: the entry stays in the heap until it surfaces.
  void Cancel(std::uint32_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_[id] = 1;
  }
  template <typename F>
  void AdvanceTo(std::int64_t now, F&& on_expire) {
    std::lock_guard<std::mutex> lock(mu_);
    while (!heap_.empty() && heap_.top().deadline <= now) {
      const Entry e = heap_.top();
      heap_.pop();
      if (cancelled_[e.id] == 0) on_expire(e.id, e.deadline);
    }
  }
  bool empty() {
    std::lock_guard<std::mutex> lock(mu_);
    return heap_.empty();
  }

 private:
  static std::vector<Entry> Reserved(std::uint32_t n) {
    std::vector<Entry> v;
    v.reserve(n);
    return v;
  }
  std::mutex mu_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::vector<std::uint8_t> cancelled_;
  std::uint64_t seq_ = 0;
};

void FillHeap(HeapTimers& heap, const Load& load, std::int64_t now) {
  for (std::uint32_t i = 0; i < load.n; ++i) heap.Insert(now + load.offset_us[i], i);
}

void BM_TimingWheel_Insert_HeapBaseline(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  std::int64_t now = kStart;
  HeapTimers heap(load.n);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    FillHeap(heap, load, now);
    stats.AddPhase(state, t0, Clock::now());
    std::uint32_t fired = 0;
    now += 2 * kSpanUs;
    heap.AdvanceTo(now, [&](std::uint32_t, std::int64_t) { ++fired; });
    if (fired != load.n) state.SkipWithError("not every timer fired once");
  }
  stats.Publish(state);
}

void BM_TimingWheel_Cancel_HeapBaseline(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  std::int64_t now = kStart;
  HeapTimers heap(load.n);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    FillHeap(heap, load, now);
    const auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < load.n; ++i) heap.Cancel(i);
    stats.AddPhase(state, t0, Clock::now());
    std::uint32_t fired = 0;
    now += 2 * kSpanUs;
    heap.AdvanceTo(now, [&](std::uint32_t, std::int64_t) { ++fired; });  // drops them all
    if (fired != 0 || !heap.empty()) state.SkipWithError("a cancelled timer fired");
  }
  stats.Publish(state);
}

void BM_TimingWheel_Expire_HeapBaseline(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  std::int64_t now = kStart;
  HeapTimers heap(load.n);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    FillHeap(heap, load, now);
    std::uint64_t fired = 0;
    std::uint64_t sum = 0;
    auto on_expire = [&](std::uint32_t id, std::int64_t) {
      ++fired;
      sum += id;
    };
    const std::int64_t end = now + kSpanUs;
    const auto t0 = Clock::now();
    while (now < end) {
      now += kStepUs;
      const auto c0 = Clock::now();
      heap.AdvanceTo(now, on_expire);
      stats.AddCall(Seconds(c0, Clock::now()));
    }
    stats.AddPhase(state, t0, Clock::now());
    if (fired != load.n || sum != load.IdSum()) {
      state.SkipWithError("expiry did not fire every timer once");
    }
  }
  stats.Publish(state);
}

// ---- Baseline: Boost.Asio steady_timer ----------------------------------------------

struct AsioTimers {
  const Load& load;
  boost::asio::io_context io;
  std::vector<boost::asio::steady_timer> timers;
  std::uint64_t fired = 0;
  std::uint64_t aborted = 0;
  explicit AsioTimers(const Load& l) : load(l) {
    timers.reserve(load.n);
    for (std::uint32_t i = 0; i < load.n; ++i) timers.emplace_back(io);
  }
  // Arms every timer at `base` + its offset.
  void Arm(Clock::time_point base) {
    for (std::uint32_t i = 0; i < load.n; ++i) {
      timers[i].expires_at(base + std::chrono::microseconds(load.offset_us[i]));
      timers[i].async_wait([this](const boost::system::error_code& ec) {
        if (ec) {
          ++aborted;
        } else {
          ++fired;
        }
      });
    }
  }
  // Runs the handlers of cancelled timers (untimed clean-up).
  void Drain() {
    io.restart();
    io.run();
  }
};

void BM_TimingWheel_Insert_AsioBaseline(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  AsioTimers a(load);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    a.Arm(Clock::now() + std::chrono::seconds(60));
    stats.AddPhase(state, t0, Clock::now());
    a.aborted = 0;
    for (auto& t : a.timers) t.cancel();
    a.Drain();
    if (a.aborted != load.n) state.SkipWithError("not every timer completed once");
  }
  stats.Publish(state);
}

void BM_TimingWheel_Cancel_AsioBaseline(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  AsioTimers a(load);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    a.Arm(Clock::now() + std::chrono::seconds(60));
    a.aborted = 0;
    const auto t0 = Clock::now();
    std::size_t cancelled = 0;
    for (auto& t : a.timers) cancelled += t.cancel();
    stats.AddPhase(state, t0, Clock::now());
    a.Drain();
    if (cancelled != load.n || a.aborted != load.n) state.SkipWithError("cancel lost a timer");
  }
  stats.Publish(state);
}

// The timers are armed in the past, so one run() finds all N due and runs their handlers.
void BM_TimingWheel_Expire_AsioBaseline(benchmark::State& state) {
  const Load load(static_cast<std::uint32_t>(state.range(0)));
  AsioTimers a(load);
  PhaseStats stats(load.n);
  for (auto _ : state) {
    a.Arm(Clock::now() - std::chrono::seconds(2));
    a.fired = 0;
    a.io.restart();
    const auto t0 = Clock::now();
    a.io.run();
    stats.AddPhase(state, t0, Clock::now());
    if (a.fired != load.n) state.SkipWithError("expiry did not fire every timer once");
  }
  stats.Publish(state);
}

void Shape(benchmark::internal::Benchmark* b) {
  b->Arg(1 << 20)->Arg(1 << 16)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);
}

BENCHMARK(BM_TimingWheel_Insert)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Insert_HeapBaseline)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Insert_AsioBaseline)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Cancel)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Cancel_RandomOrder)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Cancel_HeapBaseline)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Cancel_AsioBaseline)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Expire)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Expire_HeapBaseline)->Apply(Shape);
BENCHMARK(BM_TimingWheel_Expire_AsioBaseline)->Apply(Shape);

}  // namespace
}  // namespace aps

BENCHMARK_MAIN();
