// Hierarchical timing wheel with cascade: design notes. The implementation is the template in
// timing_wheel.h; this file holds the design, the layout checks and the default instantiation
// (which also proves it builds with -fno-exceptions -fno-rtti and our warning set).
//
// Structure
// ---------
// Time is an absolute tick count (`now_`); by default 1 tick = 1 µs on the scheduler's time
// line, so `now_` is a large number (~1.7e15 today) and no offset is needed: slots are indexed
// by bits of the absolute deadline. A tick is read as kLevels digits of kSlotBits bits (default
// 7 digits of 6 bits = 42 bits); level L has 2^kSlotBits slots, one per value of digit L.
//
// An entry with deadline d > now_ is filed at the level of the highest digit in which d differs
// from now_, in the slot named by d's digit there:
//
//     level = (bit_width(d ^ now_) - 1) / kSlotBits,   slot = (d >> level * kSlotBits) & 63
//
// d agrees with now_ above that digit and d > now_, so d's digit is the larger one: every
// occupied slot of a level lies ahead of now_'s digit (no wrap inside a level), all of level
// L's entries precede all of level L+1's, and a level-0 slot holds exactly one deadline.
// Granularity of level L (ticks per slot) = 64^L; a deadline less than 64^(L+1) ticks ahead is
// always at level L or below. For the default traits (1 tick = 1 µs):
//
//   Level Offset  Granularity   Range (deadline - now that stays at this level or below)
//    0        0        1 µs      < 64 µs
//    1       64       64 µs      < 4.096 ms
//    2      128    4.096 ms      < 262.1 ms
//    3      192    262.1 ms      < 16.78 s
//    4      256    16.78 s       < 17.90 min
//    5      320    17.90 min     < 19.09 h
//    6      384    19.09 h       < 50.90 days (2^42 µs)
//   overflow 448   one list      everything later, up to kMaxSpan (2^63 µs; year 9999 is fine)
//
// (Offset = number of the level's first slot. Changing kSlotBits, kLevels or the tick unit
// means updating this table.) Placement is by digits, not by distance: a deadline 1 tick ahead
// sits at level 1 when it crosses a 64-tick boundary. That is harmless: it is re-filed when
// now_ reaches its slot, which is its own tick.
//
// From level 2 up, a slot is kListsPerSlot (default 8) intrusive lists rather than one; the
// list is picked by a hash of the deadline, so equal deadlines share a list and keep their
// insertion order. This changes nothing above but speed: re-filing a big slot walks its lists
// round-robin, overlapping their cache misses (see "Cost" below).
//
// Beyond the last level
// ---------------------
// Deadlines that differ from now_ at or above bit 42 wait, unsorted, in one overflow list with
// a cached minimum. When time reaches the 2^42-aligned epoch of that minimum (the levels are
// empty by then: all their entries are earlier), the list is walked once and that epoch's
// entries move into the levels. Cost O(overflow size) per distinct epoch that holds a deadline:
// at most once per 50.9 days of scheduler time, and only for entries that far out.
//
// Why cascade
// -----------
// Linux's timer.c stopped cascading in 4.8 and accepts firing up to one granularity late
// (12.5% of the delay). We promise exact instants at 1 µs, so we cascade: when now_ reaches
// the start of an occupied level-L slot (all lower levels are then empty), its entries are
// re-filed relative to the new now_ into lower levels, in list order (so equal deadlines keep
// insertion order), and an entry whose deadline is that very tick fires. Each re-filing lowers
// an entry's level, so an entry moves at most kLevels - 1 times: O(kLevels) amortized per
// entry, O(1) for a given tick width.
//
// Empty stretches cost nothing: per-level occupancy bitmaps and a bitmap of non-empty levels
// give the next occupied slot with two count-trailing-zeros, so AdvanceTo() over an hour with
// nothing due is O(1), and NextDeadline() reads the exact earliest deadline there (a level-0
// slot's start, or a cached minimum of the earliest higher slot).
//
// Precision
// ---------
// Never early: an entry fires only inside AdvanceTo(t) with t >= its deadline (comparisons are
// wrap-safe, so this also holds across tick-counter wrap-around). It is late only by how late
// AdvanceTo() is called: the wheel's granularity adds nothing, because an entry reaches level 0,
// whose slots are single ticks, before it fires. The scheduler therefore sleeps exactly until
// NextDeadline() and fires within the platform's wake-up accuracy.
//
// Cost (bench/timing_wheel_bench.cc, 2^20 timers over one second, pool scattered by reuse)
// ----
// Insert and cancel touch one node plus its list neighbours. Expiry is dominated by re-filing:
// each entry is re-filed ~3 times, and when the pool does not fit in cache the first walks of
// a big slot miss on every node, hence the split lists (300 -> 70 ns per expiry at 2^20 timers,
// ~28 ns at 2^16). Re-filing is also bursty: reaching a slot moves all of its entries in one
// AdvanceTo() call. With 2^20 timers due within one second a level-3 slot holds ~2^18 of them
// and that call takes ~7 ms; with realistic loads (thousands of jobs) it is microseconds.
// Splitting that work across calls ("incremental cascade") is possible but not done.
//
// Memory
// ------
// A node is 32 bytes by default: deadline 8, payload 8, prev/next 4 + 4, generation 4, list id
// 4, plus 4 bytes in the free-index stack: 36 bytes per timer. (The firmware note budgets
// 24 B; a 64-bit payload and the generation make 28, padded to 32, and the padding holds the
// list id so cancel needs no search.) Fixed part: 7 x 64 x 8 list heads of 8 B (28 KB; 3.6 KB
// with kListsPerSlot = 1) and 7 bitmap words. Only the constructor, Reserve() and Insert()
// allocate.
#include "engine/timing_wheel.h"

namespace aps {

static_assert(sizeof(WheelHandle) == 8);
static_assert(TimingWheel<>::node_bytes() == 32, "update the Memory notes above");

template class TimingWheel<DefaultWheelTraits>;

}  // namespace aps
