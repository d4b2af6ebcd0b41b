// Timing wheel microbenchmarks: insert, cancel and expire with a million timers, each phase
// timed on its own (libuv's million-timers split), beside two baselines in this binary:
//   *_HeapBaseline  a mutex-guarded std::priority_queue (the usual scheduler core). Cancel is
//                   lazy deletion: it marks the entry and the heap drops it when it surfaces,
//                   so its cancel cost partly moves into expiry.
//   *_AsioBaseline  Boost.Asio steady_timer: insert = expires_at + async_wait, cancel =
//                   cancel(), expire = io_context::run() over timers already due.
// Load shape (all variants): 2^20 timers with deadlines uniform over the next second
// (1 tick = 1 µs), inserted in random deadline order into a pre-sized structure. Each
// benchmark iteration runs one phase over all of them; reported time is that phase only
// (manual timing), and ns_per_timer = phase time / 2^20. Expire advances in 1 ms steps
// (1000 calls, ~1000 timers each, as a scheduler waking every millisecond would) and reports
// p50/p99/max of one call in µs; the max includes the cascade of a whole higher-level slot.
// Each run ends with a check that every timer fired (or was cancelled) exactly once.
// Run (Release, pinned): taskset -c 1 build-wheel/bench/timing_wheel_bench
//   --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
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

constexpr std::uint32_t kTimers = 1u << 20;
constexpr std::int64_t kSpanUs = 1'000'000;
constexpr std::int64_t kStepUs = 1'000;
constexpr std::int64_t kStart = 1'704'067'200'000'000;  // 2024-01-01 in µs: absolute ticks

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Deadline offsets (µs after the start), in insertion order, and a shuffled cancel order.
struct Load {
  std::vector<std::int64_t> offset_us;
  std::vector<std::uint32_t> shuffled;
  Load() : offset_us(kTimers), shuffled(kTimers) {
    std::mt19937_64 rng(42);
    for (std::int64_t& o : offset_us) o = 1 + static_cast<std::int64_t>(rng() % kSpanUs);
    std::iota(shuffled.begin(), shuffled.end(), 0u);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
  }
};
const Load& TheLoad() {
  static const Load load;
  return load;
}

// Accumulates phase time over iterations; publishes ns_per_timer and latency percentiles.
class PhaseStats {
 public:
  void AddPhase(double seconds) { total_s_ += seconds; }
  void AddCall(double seconds) { calls_us_.push_back(seconds * 1e6); }
  void Publish(benchmark::State& state) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kTimers);
    if (state.iterations() > 0) {
      state.counters["ns_per_timer"] =
          total_s_ * 1e9 / (static_cast<double>(state.iterations()) * kTimers);
    }
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
  double total_s_ = 0;
  std::vector<double> calls_us_;
};

// ---- TimingWheel ---------------------------------------------------------------------

using Wheel = TimingWheel<>;

void FillWheel(Wheel& w, std::vector<WheelHandle>& handles) {
  const Load& load = TheLoad();
  for (std::uint32_t i = 0; i < kTimers; ++i) {
    Result<WheelHandle> h = w.TryInsert(kStart + load.offset_us[i], i);
    if (!h.ok()) std::abort();
    handles[i] = *h;
  }
}

// Fires everything left (untimed clean-up) and returns how many fired.
std::size_t DrainWheel(Wheel& w, std::int64_t& now) {
  now += 2 * kSpanUs;
  const std::size_t n = w.AdvanceTo(now, [](std::uint64_t, std::int64_t, WheelHandle) {});
  return n;
}

// 2^20 TryInsert() calls into an empty wheel pre-sized for them (pending grows 0 -> 2^20).
void BM_TimingWheel_Insert(benchmark::State& state) {
  const Load& load = TheLoad();
  std::int64_t now = kStart;
  Wheel w(kTimers, now);
  std::vector<WheelHandle> handles(kTimers);
  PhaseStats stats;
  for (auto _ : state) {
    const std::int64_t base = now;
    const auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < kTimers; ++i) {
      Result<WheelHandle> h = w.TryInsert(base + load.offset_us[i], i);
      handles[i] = *h;
    }
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    if (DrainWheel(w, now) != kTimers) state.SkipWithError("not every timer fired once");
  }
  stats.Publish(state);
}

// Cancel() of 2^20 pending timers in insertion order (pending shrinks 2^20 -> 0).
void BM_TimingWheel_Cancel(benchmark::State& state) {
  std::int64_t now = kStart;
  Wheel w(kTimers, now);
  std::vector<WheelHandle> handles(kTimers);
  PhaseStats stats;
  for (auto _ : state) {
    FillWheel(w, handles);
    const auto t0 = Clock::now();
    std::uint32_t cancelled = 0;
    for (std::uint32_t i = 0; i < kTimers; ++i) cancelled += w.Cancel(handles[i]) ? 1u : 0u;
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    if (cancelled != kTimers || !w.empty()) state.SkipWithError("cancel lost a timer");
  }
  stats.Publish(state);
}

// As above, in random order: every cancel touches three random nodes of a 32 MB pool.
void BM_TimingWheel_Cancel_RandomOrder(benchmark::State& state) {
  const Load& load = TheLoad();
  std::int64_t now = kStart;
  Wheel w(kTimers, now);
  std::vector<WheelHandle> handles(kTimers);
  PhaseStats stats;
  for (auto _ : state) {
    FillWheel(w, handles);
    const auto t0 = Clock::now();
    std::uint32_t cancelled = 0;
    for (std::uint32_t i : load.shuffled) cancelled += w.Cancel(handles[i]) ? 1u : 0u;
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    if (cancelled != kTimers || !w.empty()) state.SkipWithError("cancel lost a timer");
  }
  stats.Publish(state);
}

// Expiry of 2^20 pending timers: AdvanceTo() in 1 ms steps across the second they span.
void BM_TimingWheel_Expire(benchmark::State& state) {
  std::int64_t now = kStart;
  Wheel w(kTimers, now);
  std::vector<WheelHandle> handles(kTimers);
  PhaseStats stats;
  for (auto _ : state) {
    // Fill relative to the wheel's current time (it moves on every iteration).
    const Load& load = TheLoad();
    for (std::uint32_t i = 0; i < kTimers; ++i) {
      handles[i] = *w.TryInsert(now + load.offset_us[i], i);
    }
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
    const std::int64_t end = now + kSpanUs;
    const auto t0 = Clock::now();
    while (now < end) {
      now += kStepUs;
      const auto c0 = Clock::now();
      w.AdvanceTo(now, on_expire);
      stats.AddCall(Seconds(c0, Clock::now()));
    }
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    if (fired != kTimers || sum != std::uint64_t{kTimers} * (kTimers - 1) / 2 || !ordered ||
        !w.empty()) {
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
  HeapTimers() : heap_(std::greater<Entry>(), Reserved()), cancelled_(kTimers, 0) {}

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
  static std::vector<Entry> Reserved() {
    std::vector<Entry> v;
    v.reserve(kTimers);
    return v;
  }
  std::mutex mu_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  std::vector<std::uint8_t> cancelled_;
  std::uint64_t seq_ = 0;
};

void BM_TimingWheel_Insert_HeapBaseline(benchmark::State& state) {
  const Load& load = TheLoad();
  std::int64_t now = kStart;
  HeapTimers heap;
  PhaseStats stats;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < kTimers; ++i) heap.Insert(now + load.offset_us[i], i);
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    std::uint32_t fired = 0;
    now += 2 * kSpanUs;
    heap.AdvanceTo(now, [&](std::uint32_t, std::int64_t) { ++fired; });
    if (fired != kTimers) state.SkipWithError("not every timer fired once");
  }
  stats.Publish(state);
}

void BM_TimingWheel_Cancel_HeapBaseline(benchmark::State& state) {
  const Load& load = TheLoad();
  std::int64_t now = kStart;
  HeapTimers heap;
  PhaseStats stats;
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < kTimers; ++i) heap.Insert(now + load.offset_us[i], i);
    const auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < kTimers; ++i) heap.Cancel(i);
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    std::uint32_t fired = 0;
    now += 2 * kSpanUs;
    heap.AdvanceTo(now, [&](std::uint32_t, std::int64_t) { ++fired; });  // drops them all
    if (fired != 0 || !heap.empty()) state.SkipWithError("a cancelled timer fired");
  }
  stats.Publish(state);
}

void BM_TimingWheel_Expire_HeapBaseline(benchmark::State& state) {
  const Load& load = TheLoad();
  std::int64_t now = kStart;
  HeapTimers heap;
  PhaseStats stats;
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < kTimers; ++i) heap.Insert(now + load.offset_us[i], i);
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
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    if (fired != kTimers || sum != std::uint64_t{kTimers} * (kTimers - 1) / 2) {
      state.SkipWithError("expiry did not fire every timer once");
    }
  }
  stats.Publish(state);
}

// ---- Baseline: Boost.Asio steady_timer ----------------------------------------------

struct AsioTimers {
  boost::asio::io_context io;
  std::vector<boost::asio::steady_timer> timers;
  std::uint64_t fired = 0;
  std::uint64_t aborted = 0;
  AsioTimers() {
    timers.reserve(kTimers);
    for (std::uint32_t i = 0; i < kTimers; ++i) timers.emplace_back(io);
  }
  // Arms every timer at `base` + its offset.
  void Arm(Clock::time_point base) {
    const Load& load = TheLoad();
    for (std::uint32_t i = 0; i < kTimers; ++i) {
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
  void CancelAllAndDrain() {
    for (auto& t : timers) t.cancel();
    io.restart();
    io.run();
  }
};

void BM_TimingWheel_Insert_AsioBaseline(benchmark::State& state) {
  AsioTimers a;
  PhaseStats stats;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    a.Arm(Clock::now() + std::chrono::seconds(60));
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    a.aborted = 0;
    a.CancelAllAndDrain();
    if (a.aborted != kTimers) state.SkipWithError("not every timer completed once");
  }
  stats.Publish(state);
}

void BM_TimingWheel_Cancel_AsioBaseline(benchmark::State& state) {
  AsioTimers a;
  PhaseStats stats;
  for (auto _ : state) {
    a.Arm(Clock::now() + std::chrono::seconds(60));
    a.aborted = 0;
    const auto t0 = Clock::now();
    std::size_t cancelled = 0;
    for (auto& t : a.timers) cancelled += t.cancel();
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    a.io.restart();
    a.io.run();  // the aborted handlers (untimed)
    if (cancelled != kTimers || a.aborted != kTimers) state.SkipWithError("cancel lost a timer");
  }
  stats.Publish(state);
}

// The timers are armed in the past, so run() finds all 2^20 due and runs their handlers.
void BM_TimingWheel_Expire_AsioBaseline(benchmark::State& state) {
  AsioTimers a;
  PhaseStats stats;
  for (auto _ : state) {
    a.Arm(Clock::now() - std::chrono::seconds(2));
    a.fired = 0;
    a.io.restart();
    const auto t0 = Clock::now();
    a.io.run();
    const auto t1 = Clock::now();
    stats.AddPhase(Seconds(t0, t1));
    state.SetIterationTime(Seconds(t0, t1));
    if (a.fired != kTimers) state.SkipWithError("expiry did not fire every timer once");
  }
  stats.Publish(state);
}

#define APS_WHEEL_BENCH(fn) \
  BENCHMARK(fn)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5)

APS_WHEEL_BENCH(BM_TimingWheel_Insert);
APS_WHEEL_BENCH(BM_TimingWheel_Insert_HeapBaseline);
APS_WHEEL_BENCH(BM_TimingWheel_Insert_AsioBaseline);
APS_WHEEL_BENCH(BM_TimingWheel_Cancel);
APS_WHEEL_BENCH(BM_TimingWheel_Cancel_RandomOrder);
APS_WHEEL_BENCH(BM_TimingWheel_Cancel_HeapBaseline);
APS_WHEEL_BENCH(BM_TimingWheel_Cancel_AsioBaseline);
APS_WHEEL_BENCH(BM_TimingWheel_Expire);
APS_WHEEL_BENCH(BM_TimingWheel_Expire_HeapBaseline);
APS_WHEEL_BENCH(BM_TimingWheel_Expire_AsioBaseline);

}  // namespace
}  // namespace aps

BENCHMARK_MAIN();
