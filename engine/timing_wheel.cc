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
// Slots are arrays, and cancel is lazy
// ------------------------------------
// A slot (like the overflow, due and firing lists) is a chained array of 16-byte entries
// {deadline, node, filing}, in chunks of kEntriesPerChunk (default 16) from a preallocated
// chunk pool. The node (payload, generation, filing) lives in the node pool and is
// not linked into anything. So re-filing a slot copies entries sequentially without touching
// their nodes, and firing can prefetch the nodes of the entries ahead: with intrusive lists
// (our first design) every step of a walk waited for a cache miss on the next node.
//
// The price is that an entry cannot be unlinked in O(1), so cancel is lazy: Cancel() bumps
// the node's generation (stale handles) and filing, and frees the node at once. The entry
// stays where it is, stale: an entry is live iff its filing equals its node's. Reschedule()
// does the same to the old entry and files a new one. Stale entries are dropped wherever they
// are next met: re-filing a slot checks liveness if an entry may have gone stale since the
// slot's first entry was filed (a per-list mark against a count of cancels; the check reads
// each entry's node, prefetched a chunk ahead), firing always does, and NextDeadline() skips
// them, emptying a slot that holds only stale entries, so its answer stays exact. So a batch
// of cancels costs one checking pass where the cancelled entries are, and the slots that pass
// fills are re-filed further down without checks.
//
// Sweep: the chunk pool has room for capacity + capacity/4 + one chunk of entries. When an
// insert or reschedule finds that room used up by stale entries, it first sweeps every list,
// dropping them all: O(entries), and it drops at least capacity/4 entries, so O(1) amortized
// per cancel (bursty, like a big cascade). A node's 32-bit filing count must not wrap back to
// the count a stale entry still holds, so a sweep also runs after 2^30 filings if any stale
// entry exists.
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
// Cost (aps-loadgen --workload=timer: 10^6 timers due 3-4 s ahead, half cancelled at random;
// figures and commands in docs/benchmarks.md)
// ----
// Insert writes the node and appends an entry to its slot's tail chunk. Cancel reads and
// writes the node (one cache miss at most). Expiry is dominated by re-filing and by the
// node's cache miss: each entry is copied ~3 times (sequential reads and appends), the first
// re-filing after cancels also checks each entry's node, and firing reads and writes the node
// (payload, filing and generation share its 16 bytes, so that is one miss: with the payload
// in a separate array it was two, and expiry of 2^20 timers took 56-80 ns instead of 36).
// Level-0 slots are single ticks, often with one entry each, so the re-filing of a level-1
// slot prefetches the nodes of the 64 ticks it fills; firing then finds them in cache. Re-filing is
// bursty: reaching a slot moves all of its entries in one AdvanceTo() call. With 10^6 timers due
// within one second a level-3 slot holds ~2^18 of them and that call takes milliseconds; with
// realistic loads (thousands of jobs) microseconds. Splitting that work across calls ("incremental
// cascade") is possible but not done.
//
// Memory
// ------
// Per timer of capacity: node 16 B (payload 8, filing 4, generation 4; 12 B with a 32-bit
// Payload trait, as the scheduler's wheel uses), 4 B in the free-index stack, and
// chunk-pool room for 1.25 entries of 16 B: 40 B (36 B with 32-bit payloads), plus per chunk
// 4 B of link. Fixed part: 451 list heads of 16 B and clean marks of 8 B (11 KB), 7 bitmap words,
// and the chunk pool's reserve of one part-filled chunk per list (a list's entries need ceil(k /
// chunk) chunks) plus 3 for lists being rebuilt: 454 chunks of 256 B = 116 KB with the defaults.
// Reserve() maps each pool as its own OS region (engine/internal/mapped_array.h: zeroed by the
// kernel, huge pages offered from 2 MiB, made resident at once), so all of it is
// resident from then on and no later call takes a first-touch page fault: on the development VM
// a fault costs ~10 µs per 4 KB page, and a million inserts into a wheel whose pools were merely
// allocated took 88-120 ns each instead of 9 (docs/scheduler.md, "Seventh pass"). Growth maps
// the doubled pools and copies the used part (docs/scheduler.md, "Eleventh pass"). The price is
// residency: a wheel holds its whole capacity in RAM (the scheduler's starts at 1024 timers: ~140
// KB). A small target wants kEntriesPerChunk = 4 (29 KB of reserve) or fewer levels. Only the
// constructor, Reserve() and Insert() allocate.
#include "engine/timing_wheel.h"

namespace aps {

static_assert(sizeof(WheelHandle) == 8);
static_assert(TimingWheel<>::node_bytes() == 16 && TimingWheel<>::entry_bytes() == 16,
              "update the Memory notes above");

template class TimingWheel<DefaultWheelTraits>;

}  // namespace aps
