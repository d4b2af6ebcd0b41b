// Trigger::Next: jitter on top of each trigger's own computation.
#include "engine/trigger.h"

#include <atomic>
#include <cstdio>

#include "engine/datetime.h"

namespace aps {
namespace {

std::uint64_t Mix(std::uint64_t z) {  // splitmix64 finalizer
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Distinct default seeds for triggers built in one process. Relaxed: only uniqueness matters.
std::atomic<std::uint32_t> g_seed_counter{0};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

}  // namespace

Trigger::Trigger(Jitter jitter, std::optional<Instant> end_date)
    : jitter_(jitter), end_date_(end_date) {
  if (jitter_.max_us > 0 && jitter_.seed == 0) {
    const std::uint32_t n = g_seed_counter.fetch_add(1, std::memory_order_relaxed);
    jitter_.seed = Mix(reinterpret_cast<std::uintptr_t>(this) ^ (std::uint64_t{n} << 32)) | 1;
  }
}

std::optional<Instant> Trigger::Next(std::optional<Instant> previous, Instant now) const {
  std::optional<Instant> t = NextUnjittered(previous, now);
  if (!t || jitter_.max_us <= 0) return t;
  const std::uint64_t span = static_cast<std::uint64_t>(jitter_.max_us) + 1;
  Instant j{t->us + static_cast<std::int64_t>(
                        Mix(jitter_.seed ^ static_cast<std::uint64_t>(t->us)) % span)};
  if (end_date_ && j > *end_date_) j = *end_date_;
  if (j > kMaxInstant) j = kMaxInstant;
  return j;
}

void Trigger::AppendJitterText(std::string* out) const {
  if (jitter_.max_us <= 0) return;
  *out += ", jitter=";
  *out += FormatSecondsNumber(jitter_.max_us);
  char buf[40];
  std::snprintf(buf, sizeof(buf), ", jitter_seed=%llu",
                static_cast<unsigned long long>(jitter_.seed));
  *out += buf;
}

}  // namespace aps
