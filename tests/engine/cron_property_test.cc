// Property tests with a fixed seed:
//   1. an independent oracle for CronTrigger — random field expressions whose value sets are
//      known by construction, evaluated day by day with std::chrono's calendar (ISO weeks,
//      weekdays, last days) — compared with CronTrigger::Next in UTC and in fixed-offset zones;
//   2. fuzzing of every text parser (ParseCronField, CronTrigger::Create, FromCrontab,
//      ParseTrigger, ParseDateTime, LoadTimeZone) with random and mutated strings: each answers
//      ok or an error with a message, never crashes or hangs; every trigger that parses gives
//      strictly increasing fire times, each computed in bounded time.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/cron_trigger.h"
#include "engine/datetime.h"
#include "engine/internal/cron_field.h"
#include "engine/time_zone.h"
#include "engine/trigger_text.h"

// Designated initializers ({.kind = ...}) leave the other members at their defaults on purpose;
// GCC 12 warns about that.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace aps {
namespace {

namespace cr = std::chrono;
using Rng = std::mt19937_64;

int Uniform(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
bool Chance(Rng& rng, double p) { return std::bernoulli_distribution(p)(rng); }

double MillisSince(cr::steady_clock::time_point t0) {
  return cr::duration<double, std::milli>(cr::steady_clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// The oracle's calendar, from <chrono> (independent of engine/time.h).

struct Date {
  int y, m, d;
};

cr::sys_days ToSysDays(const Date& x) {
  return cr::sys_days(cr::year(x.y) / cr::month(static_cast<unsigned>(x.m)) /
                      cr::day(static_cast<unsigned>(x.d)));
}

Date FromSysDays(cr::sys_days sd) {
  const cr::year_month_day ymd(sd);
  return Date{static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
              static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

int LastDayOfMonth(int y, int m) {
  return static_cast<int>(static_cast<unsigned>(
      cr::year_month_day_last(cr::year(y), cr::month_day_last(cr::month(static_cast<unsigned>(m))))
          .day()));
}

// 0 = Monday ... 6 = Sunday.
int MondayWeekday(cr::sys_days sd) {
  return static_cast<int>((cr::weekday(sd).c_encoding() + 6) % 7);
}

int IsoWeekOf(cr::sys_days sd) {
  const cr::sys_days thursday = sd + cr::days(3 - MondayWeekday(sd));
  const cr::year y = cr::year_month_day(thursday).year();
  const cr::sys_days jan1 = cr::sys_days(y / cr::January / 1);
  return static_cast<int>((thursday - jan1).count() / 7 + 1);
}

// ---------------------------------------------------------------------------------------------
// Random field expressions with known value sets.

struct Item {
  enum Kind { kAll, kRange, kLastDay, kNth, kLastWeekday } kind = kAll;
  int first = 0, last = 0, step = 1;  // kAll: step from the field minimum; kRange: first..last
  int nth = 0, weekday = 0;           // day positions (0 = Monday)
};

struct GenField {
  std::string text;
  std::vector<Item> items;
  int lo = 0;
  bool Matches(int v) const {
    for (const Item& it : items) {
      if (it.kind == Item::kAll && (v - lo) % it.step == 0) return true;
      if (it.kind == Item::kRange && v >= it.first && v <= it.last && (v - it.first) % it.step == 0)
        return true;
    }
    return false;
  }
  bool MatchesDay(int y, int m, int d) const {
    if (Matches(d)) return true;
    const int last = LastDayOfMonth(y, m);
    const int wd = MondayWeekday(ToSysDays({y, m, d}));
    for (const Item& it : items) {
      if (it.kind == Item::kLastDay && d == last) return true;
      if (it.kind == Item::kNth && wd == it.weekday && (d - 1) / 7 + 1 == it.nth) return true;
      if (it.kind == Item::kLastWeekday && wd == it.weekday && d + 7 > last) return true;
    }
    return false;
  }
};

const char* const kMonthNames[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kWeekdayNames[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
const char* const kPositions[5] = {"1st", "2nd", "3rd", "4th", "5th"};

std::string RandomCase(Rng& rng, std::string s) {
  for (char& c : s) {
    if (Chance(rng, 0.3)) c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// One numeric item over [lo, hi]; `near_lo`/`near_hi` bound the explicit values (years).
Item NumericItem(Rng& rng, int lo, int hi, int near_lo, int near_hi, std::string* text) {
  Item it;
  const int kind = Uniform(rng, 0, 9);
  if (kind == 0) {
    *text = "*";
    return it;
  }
  if (kind == 1) {
    it.step = Uniform(rng, 1, std::min(hi - lo, 12));
    *text = "*/" + std::to_string(it.step);
    return it;
  }
  it.kind = Item::kRange;
  it.first = Uniform(rng, near_lo, near_hi);
  if (kind <= 4) {  // a
    it.last = it.first;
    *text = std::to_string(it.first);
  } else if (kind <= 6) {  // a-b
    it.last = Uniform(rng, it.first, near_hi);
    *text = std::to_string(it.first) + "-" + std::to_string(it.last);
  } else if (kind <= 8 && it.first < near_hi) {  // a-b/n with b > a
    it.last = Uniform(rng, it.first + 1, near_hi);
    it.step = Uniform(rng, 1, it.last - it.first);
    *text =
        std::to_string(it.first) + "-" + std::to_string(it.last) + "/" + std::to_string(it.step);
  } else if (it.first < hi) {  // a/n
    it.last = hi;
    it.step = Uniform(rng, 1, std::min(hi - it.first, 15));
    *text = std::to_string(it.first) + "/" + std::to_string(it.step);
  } else {
    it.last = it.first;
    *text = std::to_string(it.first);
  }
  return it;
}

GenField RandomField(Rng& rng, engine_internal::CronFieldIndex index) {
  using namespace engine_internal;
  GenField f;
  f.lo = kCronFieldMin[index];
  const int hi = kCronFieldMax[index];
  int near_lo = f.lo, near_hi = hi;
  if (index == kYear) {
    near_lo = 2019;
    near_hi = 2034;
  }
  const int n_items = Uniform(rng, 1, 3);
  for (int i = 0; i < n_items; ++i) {
    std::string text;
    Item it;
    const int special = Uniform(rng, 0, 9);
    if (index == kMonth && special < 3) {
      it.kind = Item::kRange;
      it.first = Uniform(rng, 1, 12);
      it.last = special == 0 ? it.first : Uniform(rng, it.first, 12);
      text = RandomCase(rng, kMonthNames[it.first - 1]);
      if (it.last != it.first) text += "-" + RandomCase(rng, kMonthNames[it.last - 1]);
    } else if (index == kDayOfWeek && special < 4) {
      it.kind = Item::kRange;
      it.first = Uniform(rng, 0, 6);
      it.last = special == 0 ? it.first : Uniform(rng, it.first, 6);
      text = RandomCase(rng, kWeekdayNames[it.first]);
      if (it.last != it.first) text += "-" + RandomCase(rng, kWeekdayNames[it.last]);
    } else if (index == kDay && special < 4) {
      if (special == 0) {
        it.kind = Item::kLastDay;
        text = RandomCase(rng, "last");
      } else if (special <= 2) {
        it.kind = Item::kNth;
        it.nth = Uniform(rng, 1, 5);
        it.weekday = Uniform(rng, 0, 6);
        text =
            std::string(kPositions[it.nth - 1]) + " " + RandomCase(rng, kWeekdayNames[it.weekday]);
      } else {
        it.kind = Item::kLastWeekday;
        it.weekday = Uniform(rng, 0, 6);
        text = RandomCase(rng, "last") + " " + RandomCase(rng, kWeekdayNames[it.weekday]);
      }
    } else {
      it = NumericItem(rng, f.lo, hi, near_lo, near_hi, &text);
    }
    f.items.push_back(it);
    if (i > 0) f.text += Chance(rng, 0.3) ? " , " : ",";
    f.text += text;
  }
  return f;
}

GenField DefaultField(engine_internal::CronFieldIndex index, bool star) {
  using namespace engine_internal;
  GenField f;
  f.lo = kCronFieldMin[index];
  Item it;
  if (star || index == kYear || index == kWeek || index == kDayOfWeek) {
    f.text = "*";
  } else {
    it.kind = Item::kRange;
    it.first = it.last = f.lo;
    f.text = std::to_string(f.lo);
  }
  f.items.push_back(it);
  return f;
}

struct GenCron {
  GenField fields[engine_internal::kNumCronFields];
  CronOptions options;

  // All matching civil times >= `from` (a civil second count) up to `to`, at most `k` of them.
  std::vector<std::int64_t> MatchingCivil(std::int64_t from, std::int64_t to, std::size_t k) const {
    using namespace engine_internal;
    std::vector<std::int64_t> out;
    const cr::sys_days first_day =
        cr::sys_days(cr::days(from >= 0 ? from / 86400 : (from - 86399) / 86400));
    for (cr::sys_days sd = first_day; out.size() < k; sd += cr::days(1)) {
      const std::int64_t day_start =
          static_cast<std::int64_t>(sd.time_since_epoch().count()) * 86400;
      if (day_start > to) break;
      const Date dt = FromSysDays(sd);
      if (!fields[kYear].Matches(dt.y) || !fields[kMonth].Matches(dt.m) ||
          !fields[kDay].MatchesDay(dt.y, dt.m, dt.d) || !fields[kWeek].Matches(IsoWeekOf(sd)) ||
          !fields[kDayOfWeek].Matches(MondayWeekday(sd))) {
        continue;
      }
      for (int h = 0; h < 24 && out.size() < k; ++h) {
        if (!fields[kHour].Matches(h)) continue;
        for (int mi = 0; mi < 60 && out.size() < k; ++mi) {
          if (!fields[kMinute].Matches(mi)) continue;
          for (int s = 0; s < 60 && out.size() < k; ++s) {
            if (!fields[kSecond].Matches(s)) continue;
            const std::int64_t c = day_start + h * 3600 + mi * 60 + s;
            if (c >= from && c <= to) out.push_back(c);
          }
        }
      }
    }
    return out;
  }
};

GenCron RandomCron(Rng& rng) {
  using namespace engine_internal;
  GenCron g;
  bool given[kNumCronFields];
  int least = -1;
  for (int i = 0; i < kNumCronFields; ++i) {
    given[i] = Chance(rng, i == kSecond ? 0.6 : (i == kWeek || i == kYear) ? 0.15 : 0.35);
    if (given[i]) least = i;
  }
  std::optional<std::string>* opts[kNumCronFields] = {
      &g.options.year,        &g.options.month, &g.options.day,    &g.options.week,
      &g.options.day_of_week, &g.options.hour,  &g.options.minute, &g.options.second};
  for (int i = 0; i < kNumCronFields; ++i) {
    const auto index = static_cast<CronFieldIndex>(i);
    if (given[i]) {
      g.fields[i] = RandomField(rng, index);
      *opts[i] = g.fields[i].text;
    } else {
      g.fields[i] = DefaultField(index, least < 0 || i < least);
    }
  }
  return g;
}

void CheckAgainstOracle(const char* zone_name, int offset_seconds, std::uint64_t seed,
                        int triggers) {
  Result<TimeZonePtr> zr = LoadTimeZone(zone_name);
  ASSERT_TRUE(zr.ok()) << zr.status().message();
  const TimeZonePtr zone = *zr;
  ASSERT_EQ(zone->OffsetAt(0).utc_offset_seconds, offset_seconds);
  Rng rng(seed);
  constexpr std::size_t kFires = 12;
  int failures = 0, compared = 0, fire_times = 0, exhausted = 0;
  for (int n = 0; n < triggers && failures < 5; ++n) {
    GenCron g = RandomCron(rng);
    g.options.timezone = zone;
    // now: a random instant in 2020..2029 with a random sub-second part.
    const std::int64_t now_us = (1577836800LL + Uniform(rng, 0, 315'000'000)) * kMicrosPerSecond +
                                (Chance(rng, 0.5) ? Uniform(rng, 0, 999'999) : 0);
    const Instant now{now_us};
    std::int64_t first_us = now_us;
    if (Chance(rng, 0.2)) {
      g.options.start_date = Instant{now_us + Uniform(rng, -86400, 86400 * 40) * kMicrosPerSecond +
                                     Uniform(rng, 0, 999999)};
      first_us = std::max(first_us, g.options.start_date->us);
    }
    const std::int64_t window_end = now_us / kMicrosPerSecond + 3 * 366 * 86400LL;  // Unix seconds
    std::int64_t last_allowed = window_end;
    if (Chance(rng, 0.2)) {
      g.options.end_date = Instant{now_us + Uniform(rng, 0, 86400 * 200) * kMicrosPerSecond};
      last_allowed = std::min(last_allowed, g.options.end_date->unix_seconds_floor());
    }
    Result<std::unique_ptr<CronTrigger>> tr = CronTrigger::Create(g.options);
    if (!tr.ok()) {
      ++failures;
      ADD_FAILURE() << "generated expression rejected: " << tr.status().message();
      continue;
    }
    const CronTrigger& t = **tr;
    // Oracle: civil times from ceil(first) in the zone, mapped back with the fixed offset.
    const std::int64_t first_s = (first_us + kMicrosPerSecond - 1) / kMicrosPerSecond;
    const std::vector<std::int64_t> civil =
        g.MatchingCivil(first_s + offset_seconds, last_allowed + offset_seconds, kFires);
    std::vector<std::string> expected, got;
    for (std::int64_t c : civil)
      expected.push_back(FormatIso(Instant::FromUnixSeconds(c - offset_seconds), *zone));
    std::optional<Instant> prev;
    Instant at = now;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const std::optional<Instant> next = t.Next(prev, at);
      got.push_back(next ? FormatIso(*next, *zone) : "none");
      if (!next) break;
      prev = at = *next;
    }
    bool ok = got == expected;
    std::string beyond;
    if (ok && expected.size() < kFires) {
      // The oracle ran out inside the window: the trigger must have nothing inside it either.
      const std::optional<Instant> next = t.Next(prev, at);
      if (next && next->unix_seconds_floor() <= last_allowed) {
        ok = false;
        beyond = FormatIso(*next, *zone);
      }
      if (next && g.options.end_date && *next > *g.options.end_date) ok = false;
    }
    ++compared;
    fire_times += static_cast<int>(expected.size());
    exhausted += expected.size() < kFires;
    if (!ok) {
      ++failures;
      std::string e, gt;
      for (const auto& s : expected) e += s + " ";
      for (const auto& s : got) gt += s + " ";
      ADD_FAILURE()
          << t.Describe() << " in " << zone_name << " from " << FormatIso(now, *zone)
          << (g.options.start_date ? " start_date " + FormatIso(*g.options.start_date, *zone) : "")
          << (g.options.end_date ? " end_date " + FormatIso(*g.options.end_date, *zone) : "")
          << "\n  oracle: " << e << "\n  engine: " << gt
          << (beyond.empty() ? "" : "\n  then: " + beyond);
    }
  }
  EXPECT_EQ(compared, triggers);
  // The comparison is not vacuous: most schedules fire often enough inside the window.
  EXPECT_GT(fire_times, triggers * static_cast<int>(kFires) / 2);
  std::printf(
      "[ oracle   ] %s: %d triggers, %d fire times compared, %d ran out inside the window\n",
      zone_name, compared, fire_times, exhausted);
}

TEST(CronProperty, NextAgreesWithABruteForceOracleInUtc) {
  CheckAgainstOracle("UTC", 0, 20240101, 400);
}

TEST(CronProperty, NextAgreesWithABruteForceOracleInFixedOffsetZones) {
  CheckAgainstOracle("UTC+05:30", 19800, 7, 150);
  CheckAgainstOracle("UTC-09:30", -34200, 8, 150);
  CheckAgainstOracle("+12:45", 45900, 9, 150);
  CheckAgainstOracle("UTC-12", -43200, 10, 100);
}

TEST(CronProperty, OracleSelfCheckOnKnownVectors) {
  // Guards the oracle itself: C10 (last fri) and C24 (ISO week 53) from the spec.
  GenCron g;
  using namespace engine_internal;
  for (int i = 0; i < kNumCronFields; ++i) {
    // month, day, week, ... = '*'; hour, minute, second = 0.
    g.fields[i] = DefaultField(static_cast<CronFieldIndex>(i), /*star=*/i < kHour);
  }
  g.fields[kDay].items = {Item{.kind = Item::kLastWeekday, .weekday = 4}};
  std::vector<std::int64_t> c = g.MatchingCivil(1704067200, 1704067200 + 200LL * 86400, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(FormatIsoUtc(Instant::FromUnixSeconds(c[0])), "2024-01-26T00:00:00+00:00");
  EXPECT_EQ(FormatIsoUtc(Instant::FromUnixSeconds(c[2])), "2024-03-29T00:00:00+00:00");
  g.fields[kDay] = DefaultField(kDay, true);
  g.fields[kWeek].items = {Item{.kind = Item::kRange, .first = 53, .last = 53}};
  g.fields[kWeek].lo = 1;
  c = g.MatchingCivil(1704067200, 1704067200 + 4LL * 366 * 86400, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(FormatIsoUtc(Instant::FromUnixSeconds(c[0])), "2026-12-28T00:00:00+00:00");
}

// ---------------------------------------------------------------------------------------------
// Fuzzing.

class Fuzzer {
 public:
  explicit Fuzzer(std::uint64_t seed) : rng_(seed) {}

  Rng& rng() { return rng_; }

  std::string RandomString(const std::string& alphabet, int max_len) {
    std::string s;
    const int n = Uniform(rng_, 0, max_len);
    for (int i = 0; i < n; ++i) {
      if (Chance(rng_, 0.03)) {
        s += static_cast<char>(Uniform(rng_, 0, 255));  // any byte, including NUL and non-ASCII
      } else {
        s += alphabet[static_cast<std::size_t>(
            Uniform(rng_, 0, static_cast<int>(alphabet.size()) - 1))];
      }
    }
    return s;
  }

  std::string Mutate(std::string s, const std::string& alphabet,
                     const std::vector<std::string>& seeds) {
    const int rounds = Uniform(rng_, 1, 4);
    for (int r = 0; r < rounds; ++r) {
      const std::size_t pos =
          s.empty() ? 0 : static_cast<std::size_t>(Uniform(rng_, 0, static_cast<int>(s.size())));
      const char c = Chance(rng_, 0.05) ? static_cast<char>(Uniform(rng_, 0, 255))
                                        : alphabet[static_cast<std::size_t>(Uniform(
                                              rng_, 0, static_cast<int>(alphabet.size()) - 1))];
      switch (Uniform(rng_, 0, 7)) {
        case 0:  // insert
          s.insert(pos, 1, c);
          break;
        case 1:  // delete
          if (pos < s.size()) s.erase(pos, 1);
          break;
        case 2:  // replace
          if (pos < s.size()) s[pos] = c;
          break;
        case 3:  // duplicate a slice
          if (!s.empty()) {
            const std::size_t len = static_cast<std::size_t>(Uniform(rng_, 1, 8));
            s.insert(pos, s.substr(pos < s.size() ? pos : 0, len));
          }
          break;
        case 4:  // truncate
          s.resize(pos);
          break;
        case 5: {  // splice with another seed
          const std::string& o =
              seeds[static_cast<std::size_t>(Uniform(rng_, 0, static_cast<int>(seeds.size()) - 1))];
          const std::size_t at =
              o.empty() ? 0
                        : static_cast<std::size_t>(Uniform(rng_, 0, static_cast<int>(o.size())));
          s = s.substr(0, pos) + o.substr(at);
          break;
        }
        case 6:  // a digit run (big numbers)
          s.insert(pos, std::string(static_cast<std::size_t>(Uniform(rng_, 1, 25)),
                                    static_cast<char>('0' + Uniform(rng_, 0, 9))));
          break;
        default:  // swap two characters
          if (s.size() >= 2)
            std::swap(
                s[pos % s.size()],
                s[static_cast<std::size_t>(Uniform(rng_, 0, static_cast<int>(s.size()) - 1))]);
          break;
      }
    }
    return s;
  }

  // A random or mutated input: half of the time a mutation of a seed.
  std::string Input(const std::vector<std::string>& seeds, const std::string& alphabet,
                    int max_len) {
    if (Chance(rng_, 0.3)) return RandomString(alphabet, max_len);
    const std::string& base =
        seeds[static_cast<std::size_t>(Uniform(rng_, 0, static_cast<int>(seeds.size()) - 1))];
    return Chance(rng_, 0.1) ? base : Mutate(base, alphabet, seeds);
  }

 private:
  Rng rng_;
};

// Stats and checks shared by the fuzz tests.
struct FuzzStats {
  int inputs = 0, ok = 0, errors = 0, triggers_checked = 0;
  double max_next_ms = 0;
  double max_parse_ms = 0;
};

constexpr double kMaxCallMs = 250.0;  // generous: sanitizer builds on a loaded 2-core machine

template <typename R>
void ExpectOkOrMessage(const R& r, const std::string& input, FuzzStats* stats) {
  ++stats->inputs;
  if (r.ok()) {
    ++stats->ok;
  } else {
    ++stats->errors;
    EXPECT_NE(r.status().code(), StatusCode::kOk);
    EXPECT_STRNE(r.status().message(), "") << "empty error message for input: " << input;
  }
}

// Five successive fire times are strictly increasing, each computed in bounded time.
void ExpectIncreasingFireTimes(const Trigger& t, Instant now, const std::string& input,
                               FuzzStats* stats) {
  ++stats->triggers_checked;
  std::optional<Instant> prev;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = cr::steady_clock::now();
    const std::optional<Instant> next = t.Next(prev, now);
    const double ms = MillisSince(t0);
    stats->max_next_ms = std::max(stats->max_next_ms, ms);
    EXPECT_LT(ms, kMaxCallMs) << "slow Next() for: " << input;
    if (!next) return;
    if (prev) {
      EXPECT_GT(*next, *prev) << "not increasing for: " << input << " (" << t.ToText() << ")";
      if (*next <= *prev) return;
    }
    prev = now = *next;
  }
}

Instant RandomNow(Rng& rng) {
  // 1960..2100, with odd microseconds; sometimes the far edges.
  switch (Uniform(rng, 0, 9)) {
    case 0:
      return Instant::FromUnixSeconds(253402300799LL - Uniform(rng, 0, 86400 * 30));  // late 9999
    case 1: return Instant::FromUnixSeconds(-Uniform(rng, 0, 400'000'000));
    default:
      return Instant{std::uniform_int_distribution<std::int64_t>(-315'000'000, 4'100'000'000)(rng) *
                         kMicrosPerSecond +
                     Uniform(rng, 0, 999'999)};
  }
}

const std::string kCronAlphabet = "0123456789*/-, abcdefghijklmnopqrstuvwxyz LW#?@\tMONFRIJA";

const std::vector<std::string> kCronSeeds = {
    "*",       "*/15",         "5/15",   "10-40/10",    " 1 , 5 ",     "last",    "last fri",
    "1st mon", "5th fri,last", "*/10",   "31",          "jan-mar",     "mon-fri", "sun",
    "2009/2",  "feb-dec",      "8-10",   "4th wed",     "0,6",         "2-4",     "53",
    "1-5/2",   "*/59",         "9999",   "1970-9999/7", "mon,wed,FRI", "dec",     "0",
    "59",      "23",           "1-31/2", "last sun",
};

TEST(CronFuzz, ParseCronFieldAnswersOkOrAMessage) {
  Fuzzer fz(1);
  FuzzStats stats;
  for (int i = 0; i < 6000; ++i) {
    const std::string in = fz.Input(kCronSeeds, kCronAlphabet, 24);
    const auto index = static_cast<engine_internal::CronFieldIndex>(
        Uniform(fz.rng(), 0, engine_internal::kNumCronFields - 1));
    const auto dialect = Chance(fz.rng(), 0.5) ? engine_internal::CronDialect::kApscheduler
                                               : engine_internal::CronDialect::kCrontab;
    const auto t0 = cr::steady_clock::now();
    Result<engine_internal::CronField> f = engine_internal::ParseCronField(index, in, dialect);
    stats.max_parse_ms = std::max(stats.max_parse_ms, MillisSince(t0));
    ExpectOkOrMessage(f, in, &stats);
  }
  EXPECT_GT(stats.ok, 300);
  EXPECT_GT(stats.errors, 300);
  EXPECT_LT(stats.max_parse_ms, kMaxCallMs);
  RecordProperty("ok", stats.ok);
}

TEST(CronFuzz, CreateWithRandomFieldsGivesIncreasingFireTimes) {
  Fuzzer fz(2);
  FuzzStats stats;
  for (int i = 0; i < 3000; ++i) {
    CronOptions o;
    std::optional<std::string>* fields[] = {&o.year,        &o.month, &o.day,    &o.week,
                                            &o.day_of_week, &o.hour,  &o.minute, &o.second};
    std::string desc;
    for (auto* f : fields) {
      if (Chance(fz.rng(), 0.3)) {
        *f = fz.Input(kCronSeeds, kCronAlphabet, 16);
        desc += "[" + **f + "]";
      } else {
        desc += "[-]";
      }
    }
    if (Chance(fz.rng(), 0.2)) o.start_date = RandomNow(fz.rng());
    if (Chance(fz.rng(), 0.2)) o.end_date = RandomNow(fz.rng());
    if (Chance(fz.rng(), 0.2))
      o.jitter = Jitter{.max_us = Uniform(fz.rng(), 0, 1 << 30), .seed = 0};
    Result<std::unique_ptr<CronTrigger>> t = CronTrigger::Create(o);
    ExpectOkOrMessage(t, desc, &stats);
    if (t.ok()) ExpectIncreasingFireTimes(**t, RandomNow(fz.rng()), desc, &stats);
  }
  EXPECT_GT(stats.triggers_checked, 150);
  EXPECT_LT(stats.max_next_ms, kMaxCallMs);
}

TEST(CronFuzz, FromCrontabGivesIncreasingFireTimes) {
  Fuzzer fz(3);
  FuzzStats stats;
  const std::vector<std::string> seeds = {"0 9 * * 1-5",
                                          "*/5 * * * *",
                                          "0 0 1 * mon",
                                          "0 0 * * 0",
                                          "0 12 1-7 * */2",
                                          "@daily",
                                          "@weekly",
                                          "@hourly",
                                          "@reboot",
                                          "30 2 * * *",
                                          "0 0 L * *",
                                          "0 0 * * 5#3",
                                          "* * * * 7",
                                          "59 23 31 12 *",
                                          "0 0 29 2 *",
                                          "0 0 30 2 *",
                                          "1,2,3 4-5 */2 jan-jun mon,fri"};
  Result<TimeZonePtr> ny = LoadTimeZone("America/New_York");
  ASSERT_TRUE(ny.ok());
  for (int i = 0; i < 3000; ++i) {
    const std::string in = fz.Input(seeds, kCronAlphabet, 30);
    Result<std::unique_ptr<CronTrigger>> t =
        CronTrigger::FromCrontab(in, Chance(fz.rng(), 0.5) ? *ny : UtcZone());
    ExpectOkOrMessage(t, in, &stats);
    if (t.ok()) ExpectIncreasingFireTimes(**t, RandomNow(fz.rng()), in, &stats);
  }
  EXPECT_GT(stats.triggers_checked, 200);
  EXPECT_LT(stats.max_next_ms, kMaxCallMs);
}

TEST(CronFuzz, ParseTriggerGivesIncreasingFireTimes) {
  Fuzzer fz(4);
  FuzzStats stats;
  const std::vector<std::string> seeds = {
      "cron(hour='9', day_of_week='mon-fri', timezone='Europe/Helsinki')",
      "cron(minute='*/7', jitter=12.5, jitter_seed=42, timezone='UTC+05:30')",
      "cron(day='last fri', hour='2', minute='30', timezone='America/New_York', "
      "start_date='2024-01-01', "
      "end_date='2030-01-01')",
      "crontab('0 9 * * 1-5', timezone='Europe/Berlin')",
      "crontab('@weekly', timezone='EST5EDT,M3.2.0,M11.1.0')",
      "interval(hours=2, start_date='2024-01-01T00:00:00+00:00', timezone='UTC')",
      "interval(seconds=0.000001, start_date='2024-01-01')",
      "interval(weeks=1, days=2, hours=3, minutes=4, seconds=5.25, microseconds=7, jitter=3)",
      "date(run_date='2024-06-01T12:00:00+03:00')",
      "calendarinterval(months=1, hour=9, start_date='2024-01-31', timezone='Europe/Helsinki')",
      "calendarinterval(years=1, weeks=2, days=3, hour=23, minute=59, second=59, "
      "start_date='2024-02-29')",
      "and(cron(day_of_week='mon', hour='10'), cron(day='1-7', hour='10'))",
      "and(cron(second='0'), cron(second='30'), max_iterations=100)",
      "and(interval(seconds=7, start_date='2024-01-01'), interval(seconds=11, "
      "start_date='2024-01-01'))",
      "or(date(run_date='2024-01-01T00:05:00+00:00'), interval(minutes=30, "
      "start_date='2024-01-01'))",
      "or(and(cron(minute='0'), cron(hour='*/2')), crontab('0 12 15 * *'), jitter=0.5)",
  };
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz_0123456789()',=.-+/*: \\TZ";
  for (int i = 0; i < 3000; ++i) {
    const std::string in = fz.Input(seeds, alphabet, 80);
    const Instant now = RandomNow(fz.rng());
    const auto t0 = cr::steady_clock::now();
    Result<std::unique_ptr<Trigger>> t = ParseTrigger(in, now);
    stats.max_parse_ms = std::max(stats.max_parse_ms, MillisSince(t0));
    ExpectOkOrMessage(t, in, &stats);
    if (t.ok()) {
      ExpectIncreasingFireTimes(**t, now, in, &stats);
      // Its text form reads back.
      Result<std::unique_ptr<Trigger>> back = ParseTrigger((*t)->ToText(), now);
      EXPECT_TRUE(back.ok()) << in << " -> " << (*t)->ToText() << ": " << back.status().message();
      if (back.ok()) {
        EXPECT_EQ((*back)->ToText(), (*t)->ToText()) << in;
      }
    }
  }
  EXPECT_GT(stats.triggers_checked, 200);
  EXPECT_LT(stats.max_next_ms, kMaxCallMs);
  EXPECT_LT(stats.max_parse_ms, kMaxCallMs);
}

TEST(CronFuzz, ParseDateTimeAnswersOkOrAMessage) {
  Fuzzer fz(5);
  FuzzStats stats;
  const std::vector<std::string> seeds = {"2024-01-05",
                                          "2024-1-5",
                                          "2024-01-05 08:00",
                                          "2024-01-05T08:09:10",
                                          "2024-01-05 08:00:00.5",
                                          "2024-01-05 08:00:00.123456Z",
                                          "2024-01-05T08:00:00+05:30",
                                          "2024-03-31 03:30",
                                          "9999-12-31 23:59:59.999999-23:59",
                                          "0001-01-01T00:00:00+23:59"};
  const std::string alphabet = "0123456789-: T.Z+-";
  Result<TimeZonePtr> hel = LoadTimeZone("Europe/Helsinki");
  ASSERT_TRUE(hel.ok());
  for (int i = 0; i < 3000; ++i) {
    const std::string in = fz.Input(seeds, alphabet, 40);
    Result<Instant> t = ParseDateTime(in, Chance(fz.rng(), 0.5) ? **hel : *UtcZone());
    ExpectOkOrMessage(t, in, &stats);
    if (!t.ok()) {
      EXPECT_EQ(std::string(t.status().message()).rfind("Invalid date string", 0), 0u) << in;
    } else {
      // An accepted string prints and parses back to the same instant.
      const std::string iso = FormatIso(*t, **hel);
      Result<Instant> again = ParseDateTime(iso, *UtcZone());
      if (again.ok()) {
        EXPECT_EQ(*again, *t) << in << " -> " << iso;
      }
    }
  }
  EXPECT_GT(stats.ok, 100);
}

TEST(CronFuzz, LoadTimeZoneAnswersOkOrAMessage) {
  Fuzzer fz(6);
  FuzzStats stats;
  const std::vector<std::string> seeds = {"UTC",
                                          "UTC+05:30",
                                          "+05:30",
                                          "UTC-3",
                                          "GMT+2",
                                          "Europe/Helsinki",
                                          "America/New_York",
                                          "Pacific/Chatham",
                                          "EST5EDT,M3.2.0,M11.1.0",
                                          "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
                                          "IST-2IDT,M3.4.4/26,M10.5.0",
                                          "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
                                          "XST-1XDT,J60,J300",
                                          "XST-1XDT,59,299",
                                          "AEST-10AEDT,M10.1.0,M4.1.0/3",
                                          "IST-1GMT0,M10.5.0,M3.5.0/1",
                                          "XST5XDT,M3.2.0/-167,M11.1.0/167"};
  const std::string alphabet = "ABCDEGHIJMSTUXZabcdefghijklmnopqrstuvwxyz_/<>+-:,.0123456789MJ";
  int zones_checked = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string in = fz.Input(seeds, alphabet, 48);
    const auto t0 = cr::steady_clock::now();
    Result<TimeZonePtr> z = LoadTimeZone(in);
    stats.max_parse_ms = std::max(stats.max_parse_ms, MillisSince(t0));
    ExpectOkOrMessage(z, in, &stats);
    if (!z.ok()) continue;
    ++zones_checked;
    const TimeZone& zone = **z;
    for (int k = 0; k < 5; ++k) {
      const std::int64_t s = RandomNow(fz.rng()).unix_seconds_floor();
      const ZoneOffset off = zone.OffsetAt(s);
      EXPECT_LE(off.utc_offset_seconds, 48 * 3600) << in;
      EXPECT_GE(off.utc_offset_seconds, -48 * 3600) << in;
      ZoneTransition tr;
      if (zone.NextTransition(s, &tr)) {
        EXPECT_GT(tr.at, s) << in;
      }
      const CivilSecond c = ToCivil(zone, s);
      const CivilLookup l = zone.Lookup(c);
      if (l.kind == CivilLookup::kUnique) {
        EXPECT_EQ(l.pre, l.post) << in;
      }
      (void)Localize(zone, c);
    }
  }
  EXPECT_GT(zones_checked, 100);
  EXPECT_LT(stats.max_parse_ms, kMaxCallMs);
}

}  // namespace
}  // namespace aps
