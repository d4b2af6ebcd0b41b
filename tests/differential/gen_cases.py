#!/usr/bin/python3
"""Differential test cases for `aps next --batch`, with APScheduler 3.9.1 as the oracle.

Run with Debian's /usr/bin/python3 (python3-apscheduler 3.9.1, pytz, zoneinfo).

Every case holds
  request          exactly the JSON object sent to `aps next --batch`
  expected         what OUR semantics require: {"fire_times_us": [...], "offsets": [[s, ...], ...],
                   "iso": [...]} (UTC instants in microseconds since the epoch, the UTC offsets
                   allowed in the printed text, and one canonical rendering) or {"error": true}
  apscheduler_391  what 3.9.1 itself answers for the same request (fire times as 3.9.1 prints
                   them, or its error / hang)
  rules            the rules (R1..R6, see README.md) that make `expected` differ from 3.9.1
  notes            human readable explanation of every such difference

How `expected` is computed (our rules, APScheduler as the oracle):
  cron / crontab  3.9.1's CronTrigger, run in UTC, is used purely as a *wall-time matcher*: it
                  enumerates the matching local wall times (in UTC there is no DST, so this is
                  exactly the field grammar and search of 3.x).  Each matching wall time is then
                  mapped to instants with zoneinfo: a normal wall time -> 1 instant; an ambiguous
                  one -> both instants (R1); a non-existent one (gap) -> the instant read with the
                  pre-transition offset (R2).  The fire sequence is the sorted set of those
                  instants, >= ceil(max(start, start_date)) (first call) resp. > previous, and
                  <= end_date ("instant order").  The alternative "civil order" reading of R2
                  (3.x's wall-clock walk, see README "R2 order") is stored as expected_civil
                  where it differs.
  crontab         POSIX reading (R3): weekday numbers translated to names, Vixie OR computed as
                  the union of two 3.9.1 wall matchers (day restricted / dow restricted).
  interval        exact integer-microsecond version of 3.9.1's IntervalTrigger.
  date            3.9.1's DateTrigger.
  and / or        rule R6 (childFirst), children as above.
"""

import argparse
import bisect
import json
import math
import random
import re
import sys
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytz
from apscheduler.triggers.combining import AndTrigger, OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

UTC = timezone.utc
US = 1_000_000
HOUR = 3600 * US
DAY = 86400 * US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH = datetime(1970, 1, 1)
ONE_US = timedelta(microseconds=1)
INF = float('inf')
AND_MAX_ITERATIONS = 10000
GAP_ORDER = 'instant'   # 'instant' (default) or 'civil' -- see CronModel.first_sorted/first_civil
GUARD_391_ITERATIONS = 3000  # 3.9.1 AndTrigger first call: give up (="hang") after this
EXTRA = 4  # extra fire times computed beyond max_fire_times, to compare against 3.9.1

DEFAULT_SEED = 20240331
DEFAULT_CASES = 3500

ZONES = [
    'UTC', 'Europe/Helsinki', 'America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham',
    'Europe/Dublin', 'America/Sao_Paulo', 'Pacific/Apia', 'Asia/Kolkata', 'America/St_Johns',
    'Asia/Tehran', 'Africa/Casablanca', 'Europe/Moscow', 'America/Santiago', 'Antarctica/Troll',
    'Asia/Kathmandu', 'Africa/Monrovia',
]
# relative weights for picking zones (DST-heavy zones more often)
ZONE_WEIGHTS = {
    'UTC': 6, 'Europe/Helsinki': 10, 'America/New_York': 10, 'Australia/Lord_Howe': 8,
    'Pacific/Chatham': 7, 'Europe/Dublin': 8, 'America/Sao_Paulo': 7, 'Pacific/Apia': 6,
    'Asia/Kolkata': 3, 'America/St_Johns': 7, 'Asia/Tehran': 6, 'Africa/Casablanca': 4,
    'Europe/Moscow': 3, 'America/Santiago': 4, 'Antarctica/Troll': 3, 'Asia/Kathmandu': 2,
    'Africa/Monrovia': 2,
}

WEEKDAYS_3X = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']   # 3.x numbering 0 = mon
POSIX_DOW_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']  # POSIX numbering 0 = sun
MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']


class SpecError(Exception):
    """The request must be rejected by aps (3.9.1 rejects it too, or a rule R3/R4/R5 says so)."""

    def __init__(self, msg, rule=None):
        super().__init__(msg)
        self.rule = rule


class Hang(Exception):
    """3.9.1 would loop forever (guard tripped)."""


# ---------------------------------------------------------------------------------------------
# time helpers (instants are int microseconds since the epoch, UTC)

def dt_to_us(dt):
    return (dt - EPOCH) // ONE_US


def us_to_dt(us):
    return EPOCH + timedelta(microseconds=us)


def wall_to_us(w):
    """naive wall time -> microseconds, as if the wall time were UTC"""
    return (w - NAIVE_EPOCH) // ONE_US


def us_to_wall(us):
    return NAIVE_EPOCH + timedelta(microseconds=us)


def ceil_sec(us):
    return -((-us) // US) * US


def fmt_offset(off_s):
    sign = '+' if off_s >= 0 else '-'
    a = abs(off_s)
    h, rem = divmod(a, 3600)
    m, s = divmod(rem, 60)
    if s:
        return '%s%02d:%02d:%02d' % (sign, h, m, s)
    return '%s%02d:%02d' % (sign, h, m)


def fmt_iso(us, off_s):
    """ISO-8601 the way `aps` must print it"""
    w = us_to_wall(us + off_s * US)
    text = w.strftime('%Y-%m-%dT%H:%M:%S')
    if w.year < 1000:
        text = '%04d' % w.year + text[text.index('-'):]
    if w.microsecond:
        text += '.%06d' % w.microsecond
    return text + fmt_offset(off_s)


ISO_OUT_RE = re.compile(
    r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{6})?([+-])(\d\d):(\d\d)(?::(\d\d))?$')


def parse_iso_out(text):
    """parse a fire time printed by aps -> (instant us, offset seconds, format problem or None)"""
    m = ISO_OUT_RE.match(text) if isinstance(text, str) else None
    if not m:
        return None, None, 'not ISO-8601 YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM[:SS]'
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7)
    usec = int(frac[1:]) if frac else 0
    off = (int(m.group(9)) * 3600 + int(m.group(10)) * 60 + int(m.group(11) or 0))
    if m.group(8) == '-':
        off = -off
    try:
        w = datetime(y, mo, d, h, mi, s, usec)
    except ValueError as e:
        return None, None, 'invalid date: %s' % e
    problem = None
    if frac and usec == 0:
        problem = '.000000 printed although microseconds are zero'
    elif m.group(11) is not None and int(m.group(11)) == 0:
        problem = 'offset printed with :00 seconds'
    return wall_to_us(w) - off * US, off, problem


# ---------------------------------------------------------------------------------------------
# zones: UTC offset, transitions and constant-offset segments (zoneinfo = the truth)

def read_tzif(name):
    """explicit transitions of a TZif v2+ file: [(instant us, offset before s, offset after s)],
    the offset before the first transition, or None when the file cannot be read"""
    import os
    import struct
    for base in ('/usr/share/zoneinfo', '/usr/lib/zoneinfo', '/usr/share/lib/zoneinfo'):
        path = os.path.join(base, name)
        if os.path.isfile(path):
            break
    else:
        return None
    d = open(path, 'rb').read()
    if d[:4] != b'TZif' or d[4:5] < b'2':
        return None
    isut, isstd, leap, timecnt, typecnt, charcnt = struct.unpack('>6l', d[20:44])
    o = 44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut
    if d[o:o + 4] != b'TZif':
        return None
    isut, isstd, leap, timecnt, typecnt, charcnt = struct.unpack('>6l', d[o + 20:o + 44])
    o += 44
    times = struct.unpack('>%dq' % timecnt, d[o:o + 8 * timecnt])
    o += 8 * timecnt
    idx = d[o:o + timecnt]
    o += timecnt
    utoff = [struct.unpack('>l', d[o + 6 * i:o + 6 * i + 4])[0] for i in range(typecnt)]
    first = utoff[0]
    out = []
    prev = first
    for t, i in zip(times, idx):
        if utoff[i] != prev:
            out.append((t * US, prev, utoff[i]))
            prev = utoff[i]
    return out, first, (times[-1] if times else None)


class Zone:
    """UTC offsets and transitions.  The explicit transitions of the TZif file (read directly,
    for speed) are used before 2037 / before the file's last explicit transition; after that
    zoneinfo is sampled every 6 hours and transitions are located by bisection."""
    STEP = 6 * HOUR

    def __init__(self, name):
        self.name = name
        self.zi = ZoneInfo(name)
        self._chunks = {}        # UTC year -> list of (transition instant, offset before, after)
        self._no_more_after = None
        self.expl_end = 0        # instants < expl_end: use the explicit transition list
        self.expl = []
        tz = read_tzif(name)
        if tz is not None:
            trans, first, last = tz
            end_year = 2037 if last is None else min(2037, us_to_dt(last * US).year)
            self.expl_end = dt_to_us(datetime(end_year, 1, 1, tzinfo=UTC))
            self.expl = [tr for tr in trans if tr[0] < self.expl_end]
            self.expl_t = [tr[0] for tr in self.expl]
            self.expl_first = first
            if not self._selfcheck():
                self.expl_end = 0
                self.expl = []

    def _selfcheck(self):
        for tr in self.expl[-40:]:
            for t, o in ((tr[0] - 1, tr[1]), (tr[0], tr[2])):
                if t >= 0 and self._zi_offset(t) != o:
                    return False
        return True

    def _zi_offset(self, us):
        try:
            return int(us_to_dt(us).astimezone(self.zi).utcoffset().total_seconds())
        except (OverflowError, ValueError):
            return int(datetime(9999, 1, 1, tzinfo=UTC).astimezone(self.zi)
                       .utcoffset().total_seconds())

    def offset(self, us):
        """UTC offset (seconds) in force at the instant"""
        if us < self.expl_end and (not self.expl or us >= 0):
            i = bisect.bisect_right(self.expl_t, us) - 1 if self.expl else -1
            return self.expl[i][2] if i >= 0 else (self.expl_first if self.expl else
                                                   self._zi_offset(us))
        return self._zi_offset(us)

    def _chunk(self, year):
        c = self._chunks.get(year)
        if c is not None:
            return c
        lo = dt_to_us(datetime(year, 1, 1, tzinfo=UTC))
        hi = dt_to_us(datetime(year + 1, 1, 1, tzinfo=UTC)) if year < 9999 else \
            dt_to_us(datetime(9999, 12, 31, 12, tzinfo=UTC))
        if hi <= self.expl_end and lo >= 0:
            i = bisect.bisect_left(self.expl_t, lo)
            j = bisect.bisect_left(self.expl_t, hi)
            out = self.expl[i:j]
            self._chunks[year] = out
            return out
        out = []
        t = lo
        prev = self.offset(t)
        while t < hi:
            t2 = min(t + self.STEP, hi)
            o2 = self.offset(t2)
            if o2 != prev:
                a, b = t // US, t2 // US          # offset(a) = prev, offset(b) = o2
                while b - a > 1:
                    mid = (a + b) // 2
                    if self.offset(mid * US) == prev:
                        a = mid
                    else:
                        b = mid
                out.append((b * US, prev, o2))
                prev = o2
            t = t2
        self._chunks[year] = out
        return out

    def _no_transitions_after_2040(self):
        if self._no_more_after is None:
            self._no_more_after = not any(self._chunk(y) for y in (2038, 2039, 2040))
        return self._no_more_after

    def next_transition(self, us):
        """first transition strictly after `us`: (instant, offset before, offset after) or None"""
        year = us_to_dt(us).year if us < dt_to_us(datetime(9999, 12, 31, tzinfo=UTC)) else 9999
        while year <= 9999:
            if year > 2040 and self._no_transitions_after_2040():
                return None
            for tr in self._chunk(year):
                if tr[0] > us:
                    return tr
            year += 1
        return None

    def transitions_between(self, lo_us, hi_us):
        out = []
        y0, y1 = us_to_dt(lo_us).year, us_to_dt(hi_us).year
        for y in range(y0, y1 + 1):
            out.extend(tr for tr in self._chunk(y) if lo_us <= tr[0] < hi_us)
        return out

    def localize_naive(self, w):
        """our reading of a naive wall time: first occurrence for folds; gaps -> pre-transition"""
        return wall_to_us(w) - int(w.replace(tzinfo=self.zi, fold=0).utcoffset().total_seconds()) * US

    def wall_kind(self, w):
        """'normal', 'fold' (ambiguous) or 'gap' (non-existent) for a naive wall time"""
        d0 = w.replace(tzinfo=self.zi, fold=0)
        d1 = w.replace(tzinfo=self.zi, fold=1)
        if d0.utcoffset() == d1.utcoffset():
            return 'normal'
        back = d0.astimezone(UTC).astimezone(self.zi).replace(tzinfo=None)
        return 'fold' if back == w else 'gap'


_ZONES = {}


def get_zone(name):
    z = _ZONES.get(name)
    if z is None:
        z = _ZONES[name] = Zone(name)
    return z


def check_zone_name(name):
    if not isinstance(name, str) or not name:
        raise SpecError('missing timezone')
    try:
        ZoneInfo(name)
        pytz.timezone(name)
    except Exception:
        raise SpecError('unknown time zone %r' % name)
    return get_zone(name)


# ---------------------------------------------------------------------------------------------
# date strings (APScheduler's convert_to_datetime, ASCII digits)

DATE_RE = re.compile(
    r'^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})'
    r'(?:[ T]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.([0-9]{6}))?(Z|[+-][0-9]{2}:[0-9]{2})?)?$')


def parse_date_string(text, zone):
    """-> (instant us, fixed offset seconds or None when the zone's offset applies)"""
    if not isinstance(text, str):
        raise SpecError('date must be a string')
    m = DATE_RE.match(text)
    if not m:
        raise SpecError('Invalid date string')
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h, mi, s = (int(m.group(i) or 0) for i in (4, 5, 6))
    usec = int(m.group(7) or 0)
    try:
        w = datetime(y, mo, d, h, mi, s, usec)
    except ValueError:
        raise SpecError('Invalid date string')
    tz = m.group(8)
    if tz is None:
        if zone is None:
            raise SpecError('naive date without timezone')
        return zone.localize_naive(w), None
    if tz == 'Z':
        off = 0
    else:
        off = (int(tz[1:3]) * 60 + int(tz[4:6])) * 60 * (1 if tz[0] == '+' else -1)
    return wall_to_us(w) - off * US, off


def parse_start(text):
    d = datetime.fromisoformat(text.replace('Z', '+00:00'))
    return dt_to_us(d), d


# ---------------------------------------------------------------------------------------------
# models of OUR semantics

class WallOracle:
    """3.9.1 CronTrigger(s) in UTC used as a matcher of naive wall times (union of triggers)."""

    def __init__(self, kwargs_list):
        self.triggers = []
        for kw in kwargs_list:
            try:
                self.triggers.append(CronTrigger(timezone=pytz.utc, **kw))
            except (ValueError, TypeError, IndexError) as e:
                raise SpecError(str(e))
        self._q = []     # sorted query walls
        self._r = []     # answers (wall us or None)
        self.calls = 0

    def first(self, w_us):
        """smallest matching wall (us, whole seconds) >= w_us, or None"""
        i = bisect.bisect_right(self._q, w_us) - 1
        if i >= 0:
            r = self._r[i]
            if r is None or w_us <= r:
                return r
        best = None
        try:
            now = us_to_dt(w_us)
        except OverflowError:
            return None
        for tr in self.triggers:
            self.calls += 1
            try:
                t = tr.get_next_fire_time(None, now)
            except (OverflowError, ValueError):
                t = None
            if t is not None:
                t = dt_to_us(t)
                if best is None or t < best:
                    best = t
        j = bisect.bisect_left(self._q, w_us)
        self._q.insert(j, w_us)
        self._r.insert(j, best)
        return best


class CronModel:
    kind = 'cron'

    def __init__(self, oracle, zone, start_us=None, end_us=None):
        self.oracle = oracle
        self.zone = zone
        self.start_us = start_us
        self.end_us = end_us

    def zones(self):
        return [self.zone.name]

    def first(self, c_us):
        if GAP_ORDER == 'civil':
            return self.first_civil(c_us)
        return self.first_sorted(c_us)

    def fires_at(self, inst):
        return inst % US == 0 and self.first(inst) == inst

    def first_civil(self, c_us):
        """ALTERNATIVE reading (--gap-order civil), the civil-order walk of 3.x:
        T = ceil(max(c, start_date)); c1 = smallest matching wall time >= the wall time of T;
        if T is in the first pass of a fold and c1 is past the fold, the second occurrence of the
        first match inside the fold comes first (R1); otherwise c1's instant: unique -> it, gap ->
        read with the pre-transition offset (R2), ambiguous -> its first occurrence >= T (R1)."""
        T = c_us if self.start_us is None else max(c_us, self.start_us)
        T = ceil_sec(T)
        if self.end_us is not None and T > self.end_us:
            return None
        z = self.zone
        cs = T + z.offset(T) * US
        c1 = self.oracle.first(cs)
        res = None
        tr = z.next_transition(T)
        if tr is not None and tr[0] <= T + DAY and tr[2] < tr[1]:
            r0, r1 = tr[0] + tr[2] * US, tr[0] + tr[1] * US     # the fold, as wall times
            if cs >= r0 and (c1 is None or c1 >= r1):
                c2 = self.oracle.first(r0)
                if c2 is not None and c2 < r1:
                    res = c2 - tr[2] * US                          # its second occurrence
        if res is None:
            if c1 is None:
                return None
            w = us_to_wall(c1)
            o0 = int(w.replace(tzinfo=z.zi, fold=0).utcoffset().total_seconds())
            o1 = int(w.replace(tzinfo=z.zi, fold=1).utcoffset().total_seconds())
            res = c1 - o0 * US
            if o0 != o1 and z.wall_kind(w) == 'fold' and res < T:
                res = c1 - o1 * US
        if self.end_us is not None and res > self.end_us:
            return None
        return res

    def first_sorted(self, c_us):
        """OUR rule (default, --gap-order instant): the literal reading of R1 and R2.  Every
        matching wall time is mapped to instants -- unique: 1, ambiguous (fold): both (R1), in a
        gap: the instant read with the pre-transition offset (R2) -- and the trigger fires at
        these instants in time order: the first one >= ceil(max(c, start_date)), <= end_date.
        Implemented per constant-offset segment of the zone (a segment's wall range is extended
        by the following gap)."""
        T = c_us if self.start_us is None else max(c_us, self.start_us)
        T = ceil_sec(T)
        if self.end_us is not None and T > self.end_us:
            return None
        z = self.zone
        t = T - 2 * DAY   # segments that end just before T may still reach T through a gap
        best = None
        none_from = None
        while True:
            if best is not None and t >= best:
                break
            off = z.offset(t)
            tr = z.next_transition(t)
            if tr is None:
                b, delta = INF, 0
            else:
                b, delta = tr[0], max(0, (tr[2] - tr[1])) * US
            seg_end = b + delta
            if seg_end > T:
                lo = max(t, T)
                q = lo + off * US
                if none_from is not None and q >= none_from:
                    break
                w = self.oracle.first(q)
                if w is None:
                    none_from = q if none_from is None else min(none_from, q)
                else:
                    inst = w - off * US
                    if inst < seg_end and (best is None or inst < best):
                        best = inst
            if tr is None:
                break
            t = b
        if best is not None and self.end_us is not None and best > self.end_us:
            return None
        return best

    def sequence(self, start_us, n, first=None):
        first = first or self.first
        out = []
        c = start_us
        while len(out) < n:
            t = first(c)
            if t is None:
                break
            out.append(t)
            c = t + 1
        return out

    def describe(self, inst):
        """kind of the wall time behind a fire instant: 'normal', 'fold' or 'gap'"""
        z = self.zone
        w = us_to_wall(inst + z.offset(inst) * US)
        if z.wall_kind(w) == 'fold':
            return 'fold'
        # in the window after a gap where shifted gap wall times land
        for tr in z.transitions_between(inst - 2 * DAY, inst + 1):
            if tr[2] > tr[1] and tr[0] <= inst < tr[0] + (tr[2] - tr[1]) * US:
                return 'gap'
        return 'normal'


class IntervalModel:
    kind = 'interval'

    def __init__(self, iv_us, zone, start_us, end_us=None):
        self.iv = iv_us
        self.zone = zone
        self.start_us = start_us
        self.end_us = end_us

    def zones(self):
        return [self.zone.name]

    def first(self, c_us):
        if self.start_us > c_us:
            t = self.start_us
        else:
            k = -((self.start_us - c_us) // self.iv)     # ceil((c - start) / iv)
            t = self.start_us + k * self.iv
        if self.end_us is not None and t > self.end_us:
            return None
        return t

    def sequence(self, start_us, n):
        out = []
        t = self.first(start_us)
        while t is not None and len(out) < n:
            out.append(t)
            t = t + self.iv
            if self.end_us is not None and t > self.end_us:
                t = None
        return out


class DateModel:
    kind = 'date'

    def __init__(self, run_us, zone, fixed_off):
        self.run_us = run_us
        self.zone = zone
        self.fixed_off = fixed_off

    def zones(self):
        return [self.zone.name] if self.zone else ['fixed:%d' % self.fixed_off]

    def first(self, c_us):
        return self.run_us if self.run_us >= c_us else None

    def sequence(self, start_us, n):
        return [self.run_us][:n]


class Guard:
    def __init__(self, limit):
        self.limit = limit
        self.count = 0

    def tick(self):
        self.count += 1
        if self.count > self.limit:
            raise Hang()


class CombineModel:
    def __init__(self, kind, children):
        self.kind = kind
        self.children = children
        self.last_iterations = 0
        self.max_iterations = 0

    def zones(self):
        out = []
        for c in self.children:
            for z in c.zones():
                if z not in out:
                    out.append(z)
        return out

    def first(self, c_us):
        t = self._first(c_us)
        self.max_iterations = max(self.max_iterations, self.last_iterations)
        return t

    def _first(self, c_us):
        if self.kind == 'or':
            ts = [t for t in (ch.first(c_us) for ch in self.children) if t is not None]
            return min(ts) if ts else None
        c = c_us
        for it in range(AND_MAX_ITERATIONS):
            ts = []
            for ch in self.children:
                t = ch.first(c)
                if t is None:
                    self.last_iterations = it + 1
                    return None
                ts.append(t)
            if min(ts) == max(ts):
                self.last_iterations = it + 1
                return ts[0]
            c = max(ts)
        self.last_iterations = AND_MAX_ITERATIONS + 1
        return None

    def sequence(self, start_us, n):
        out = []
        c = start_us
        while len(out) < n:
            t = self.first(c)
            if t is None:
                break
            out.append(t)
            c = t + 1
        return out


# ---------------------------------------------------------------------------------------------
# building models from a request SPEC (and the R3/R4/R5 rules)

CRON_FIELDS = ('year', 'month', 'day', 'week', 'day_of_week', 'hour', 'minute', 'second')
NAME_ITEM = re.compile(r'^[a-z]+(?:-[a-z]+)?', re.I)   # 3.9.1's name patterns (not anchored at the end)


def has_non_ascii_digit(text):
    return any(unicodedata.category(ch) == 'Nd' and not ('0' <= ch <= '9') for ch in text)


def check_r4_field(name, value):
    """our strictness rules (R4); raise SpecError for what 3.9.1 accepts silently"""
    text = str(value)
    if has_non_ascii_digit(text):
        raise SpecError('non-ASCII digit in %s=%r' % (name, text), 'R4')
    for item in re.split(' *, *', text.strip()):
        if name in ('month', 'day_of_week'):
            m = NAME_ITEM.match(item)
            if m and m.end() < len(item):
                raise SpecError('step/trailing text after a name range in %s=%r' % (name, text), 'R4')
        if name == 'day':
            low = item.lower()
            if low.startswith('last') and low != 'last' and not re.match(r'^last +[a-z]+$', low):
                raise SpecError('only exactly "last" is accepted, got %r' % item, 'R4')


def cron_kwargs(spec):
    kw = {}
    for f in CRON_FIELDS:
        if f in spec:
            v = spec[f]
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise SpecError('bad field type')
            check_r4_field(f, v)
            kw[f] = v
    return kw


CRONTAB_MACROS = {
    '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
    '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *',
    '@hourly': '0 * * * *',
}


def posix_dow_to_names(text):
    """POSIX day-of-week field -> (3.9.1 day_of_week expression, restricted?)"""
    if has_non_ascii_digit(text):
        raise SpecError('non-ASCII digit in day-of-week', 'R4')
    days = set()
    for item in text.split(','):
        m = re.match(r'^(\*|[0-9]+|[a-z]+)(?:-([0-9]+|[a-z]+))?(?:/([0-9]+))?$', item, re.I)
        if not m:
            raise SpecError('Unrecognized expression %r for day-of-week' % item)
        a, b, step = m.group(1), m.group(2), m.group(3)
        if step is not None and (a.isalpha() or (b or '').isalpha()):
            raise SpecError('step on a weekday name range %r' % item, 'R4')

        def num(x):
            if x.isdigit():
                v = int(x)
                if v > 7:
                    raise SpecError('day-of-week value %d out of range' % v)
                return v
            try:
                return POSIX_DOW_NAMES.index(x.lower())
            except ValueError:
                raise SpecError('Invalid weekday name %r' % x)
        if a == '*':
            if b is not None:
                raise SpecError('Unrecognized expression %r' % item)
            lo, hi = 0, 6
        else:
            lo = num(a)
            hi = num(b) if b is not None else (6 if step is not None else lo)
            if lo > hi:
                raise SpecError('The minimum value in a range must not be higher than the maximum')
        st = int(step) if step is not None else 1
        if st == 0:
            raise SpecError('step must be positive')
        if step is not None and st > hi - lo and not (a == '*'):
            raise SpecError('step higher than the range')
        if a == '*' and st > 6:
            raise SpecError('step higher than the range')
        for v in range(lo, hi + 1, st):
            days.add(v % 7)
    names = ','.join(POSIX_DOW_NAMES[d] for d in sorted(days))
    return names


def crontab_parts(expr):
    """POSIX crontab -> list of 3.9.1 CronTrigger kwargs whose union is the schedule (R3)"""
    if not isinstance(expr, str):
        raise SpecError('expr must be a string')
    e = expr.strip()
    if e.startswith('@'):
        if e.lower() not in CRONTAB_MACROS:
            raise SpecError('unknown macro %r' % e)
        e = CRONTAB_MACROS[e.lower()]
    fields = e.split()
    if len(fields) != 5:
        raise SpecError('Wrong number of fields; got %d, expected 5' % len(fields))
    minute, hour, dom, month, dow = fields
    for name, v in (('minute', minute), ('hour', hour), ('day', dom), ('month', month)):
        check_r4_field(name, v)
        if re.search(r'[a-z]', v, re.I) and name != 'month':
            raise SpecError('names are not allowed in the %s field' % name)
    dow_names = posix_dow_to_names(dow)
    base = dict(minute=minute, hour=hour, month=month, second=0)
    dom_restricted = not dom.startswith('*')
    dow_restricted = not dow.startswith('*')
    if dom_restricted and dow_restricted:
        return [dict(base, day=dom, day_of_week='*'), dict(base, day='*', day_of_week=dow_names)]
    return [dict(base, day=dom, day_of_week=dow_names)]


UNIT_US = {'weeks': 7 * DAY, 'days': DAY, 'hours': HOUR, 'minutes': 60 * US, 'seconds': US}


def interval_us(spec):
    total = Decimal(0)
    for k, unit in UNIT_US.items():
        v = spec.get(k, 0)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise SpecError('bad interval value')
        total += Decimal(repr(v)) * unit
    us = int(total.to_integral_value())    # generator only makes whole microseconds
    if us <= 0:
        raise SpecError('The time interval must be positive', 'R5')
    return us


def build_model(spec):
    if not isinstance(spec, dict):
        raise SpecError('trigger must be an object')
    t = spec.get('type')
    if t == 'cron':
        zone = check_zone_name(spec.get('timezone'))
        kw = cron_kwargs(spec)
        oracle = WallOracle([kw])
        s = parse_date_string(spec['start_date'], zone)[0] if 'start_date' in spec else None
        e = parse_date_string(spec['end_date'], zone)[0] if 'end_date' in spec else None
        return CronModel(oracle, zone, s, e)
    if t == 'crontab':
        zone = check_zone_name(spec.get('timezone'))
        oracle = WallOracle(crontab_parts(spec.get('expr')))
        return CronModel(oracle, zone)
    if t == 'interval':
        zone = check_zone_name(spec.get('timezone'))
        iv = interval_us(spec)
        s = parse_date_string(spec['start_date'], zone)[0]
        e = parse_date_string(spec['end_date'], zone)[0] if 'end_date' in spec else None
        return IntervalModel(iv, zone, s, e)
    if t == 'date':
        zone = check_zone_name(spec['timezone']) if 'timezone' in spec else None
        run, fixed = parse_date_string(spec.get('run_date'), zone)
        return DateModel(run, zone, fixed)
    if t in ('and', 'or'):
        ch = spec.get('triggers')
        if not isinstance(ch, list) or not ch:
            raise SpecError('triggers must be a non-empty list')
        return CombineModel(t, [build_model(c) for c in ch])
    raise SpecError('unknown trigger type %r' % (t,))


def allowed_offsets(model, inst):
    out = []
    for z in model.zones():
        if z.startswith('fixed:'):
            o = int(z[6:])
        else:
            o = get_zone(z).offset(inst)
        if o not in out:
            out.append(o)
    return out


# ---------------------------------------------------------------------------------------------
# APScheduler 3.9.1 itself

def build_391(spec, guard=None, translate_crontab=False):
    """the 3.9.1 trigger for a SPEC.  translate_crontab: use the R3 translation (a 3.9.1
    CronTrigger, or an OrTrigger of the two CronTriggers for the Vixie OR rule) instead of
    3.9.1's own from_crontab"""
    t = spec['type']
    if t == 'cron':
        kw = {f: spec[f] for f in CRON_FIELDS if f in spec}
        tr = CronTrigger(timezone=spec['timezone'], start_date=spec.get('start_date'),
                         end_date=spec.get('end_date'), **kw)
    elif t == 'crontab':
        if translate_crontab:
            parts = [CronTrigger(timezone=spec['timezone'], **kw)
                     for kw in crontab_parts(spec['expr'])]
            tr = parts[0] if len(parts) == 1 else OrTrigger(parts)
        else:
            tr = CronTrigger.from_crontab(spec['expr'], timezone=spec['timezone'])
    elif t == 'interval':
        kw = {k: spec[k] for k in UNIT_US if k in spec}
        tr = IntervalTrigger(start_date=spec['start_date'], end_date=spec.get('end_date'),
                             timezone=spec['timezone'], **kw)
    elif t == 'date':
        tr = DateTrigger(run_date=spec['run_date'], timezone=spec.get('timezone'))
    else:
        children = [build_391(c, guard, translate_crontab) for c in spec['triggers']]
        tr = (AndTrigger if t == 'and' else OrTrigger)(children)
    if guard is not None:
        tr = Guarded(tr, guard)
    return tr


class Guarded:
    def __init__(self, tr, guard):
        self.tr = tr
        self.guard = guard

    def get_next_fire_time(self, prev, now):
        self.guard.tick()
        return self.tr.get_next_fire_time(prev, now)


def contains_type(spec, types):
    if spec['type'] in types:
        return True
    return spec['type'] in ('and', 'or') and any(contains_type(c, types) for c in spec['triggers'])


def count_leaves(spec):
    if spec['type'] in ('and', 'or'):
        return sum(count_leaves(c) for c in spec['triggers'])
    return 1


def run_391(request, n, translate_crontab=False):
    """3.9.1's own loop: first call (None, start), then previous = now = last fire time.
    -> dict(times=[aware datetimes], error, status) with status
       'done'   3.9.1 returned None (finished)      'full'  n fire times collected
       'stuck'  3.9.1 returned a time <= previous  'hang'  AndTrigger guard tripped
       'first'  AndTrigger: only its first call is made (it hangs after it)"""
    spec = request['trigger']
    _, now = parse_start(request['start'])
    res = {'times': [], 'error': None, 'status': 'done'}
    has_and = contains_type(spec, ('and',))
    guard = Guard(GUARD_391_ITERATIONS * (count_leaves(spec) + 1) + 100) if has_and else None
    try:
        tr = build_391(spec, guard, translate_crontab)
    except SpecError as e:
        res['error'] = 'translation: %s' % e
        return res
    except Exception as e:    # 3.9.1 rejects
        res['error'] = '%s: %s' % (type(e).__name__, e)
        return res
    prev = None
    while True:
        if len(res['times']) >= n:
            res['status'] = 'full'
            break
        try:
            t = tr.get_next_fire_time(prev, now)
        except Hang:
            res['status'] = 'hang'
            break
        except Exception as e:
            res['error'] = 'at call %d: %s: %s' % (len(res['times']) + 1, type(e).__name__, e)
            break
        if t is None:
            break
        if prev is not None and t <= prev:
            res['status'] = 'stuck'      # 3.9.1 repeats (or goes back): its loop does not advance
            res['stuck_at'] = t
            break
        res['times'].append(t)
        if has_and:
            res['status'] = 'first'      # never call 3.9.1's AndTrigger twice
            break
        prev = now = t
    return res


def raw_horizon(raw):
    """instants of a 3.9.1 run and the horizon up to which they are complete"""
    insts = [dt_to_us(t) for t in raw['times']]
    if raw['status'] == 'done':
        return insts, INF
    if not insts:
        return insts, -INF
    return insts, insts[-1]


def raw_record(raw, n):
    if raw['error']:
        return {'error': raw['error']}
    rec = {'fire_times': [t.isoformat() for t in raw['times'][:n]]}
    if raw['status'] == 'hang':
        rec['hang'] = True
    if raw['status'] == 'first':
        rec['first_call_only'] = True
    if raw['status'] == 'stuck' and len(raw['times']) < n:
        rec['stuck_repeating'] = raw['stuck_at'].isoformat()
    return rec


# ---------------------------------------------------------------------------------------------
# evaluation of one request: expected, 3.9.1's answer, rules

def label_of(dt):
    return int(dt.utcoffset().total_seconds())


def spec_kinds(spec):
    t = spec['type']
    if t in ('and', 'or'):
        out = set()
        for c in spec['triggers']:
            out |= spec_kinds(c)
        return out
    return {t}


def cron_models(model):
    if isinstance(model, CronModel):
        return [model]
    if isinstance(model, CombineModel):
        out = []
        for c in model.children:
            out.extend(cron_models(c))
        return out
    return []


def explain_instant(model, inst, ref=None, ours=True):
    """why may 3.9.1 (pytz) disagree with us about this instant?
    'fold' (R1): the wall time is ambiguous;
    'gap' (R2): the instant lies in the window after a DST gap where shifted gap wall times land;
    'carry' (DST-CARRY): a DST change lies between `ref` (the previous fire time or the start)
        and the instant: 3.9.1 adds a carried wall-clock difference as absolute time and lands an
        hour (or the DST delta) off the intended wall time;
    None otherwise.  ours=True: only instants at which one of our cron (children) fires."""
    for cm in cron_models(model):
        if ours and not cm.fires_at(inst):
            continue
        k = cm.describe(inst)
        if k != 'normal':
            return k
        if ref is not None and cm.zone.transitions_between(min(ref, inst) + 1, max(ref, inst) + 1):
            return 'carry'
    return None


def pytz_limited(request, insts):
    """pytz (used by 3.9.1) has no transitions after 2037 and rounds offsets to whole minutes"""
    zones = set()

    def walk(s):
        if s['type'] in ('and', 'or'):
            for c in s['triggers']:
                walk(c)
        elif 'timezone' in s:
            zones.add(s['timezone'])
    walk(request['trigger'])
    lim = dt_to_us(datetime(2037, 12, 1, tzinfo=UTC))
    if any(i >= lim for i in insts):
        return True
    if 'Africa/Monrovia' in zones and any(i < dt_to_us(datetime(1972, 6, 1, tzinfo=UTC))
                                          for i in insts):
        return True
    return False


RULE_OF_KIND = {'fold': 'R1', 'gap': 'R2', 'carry': 'DST-CARRY'}
WHY_OF_KIND = {'fold': 'ambiguous wall time', 'gap': 'just after a DST gap: gap wall times and '
                'the real times of the hour after it',
               'carry': "3.9.1's carry arithmetic crossed a DST change"}


def compare_sets(model, request, start_us, exp_ext, exp_hz, raw_insts, raw_hz, rules, notes,
                 tag=''):
    """classify the differences between our instants and 3.9.1's (up to the common horizon).
    -> True when every difference is explained"""
    horizon = min(exp_hz, raw_hz)
    e = set(i for i in exp_ext if i <= horizon)
    r = set(i for i in raw_insts if i <= horizon)
    ok = True
    z = model.zones()[0]

    def txt(i):
        return fmt_iso(i, get_zone(z).offset(i)) if not z.startswith('fixed') else str(i)

    for i, what in [(i, 'misses') for i in sorted(e - r)] + [(i, 'fires at') for i in sorted(r - e)]:
        # the carry of 3.9.1's search starts at its previous fire time (or the start)
        ref = max([x for x in r if x < i] or [start_us])
        kind = None if pytz_limited(request, [i]) else \
            explain_instant(model, i, ref, ours=(what == 'misses'))
        if kind:
            rules.add(RULE_OF_KIND[kind])
            notes.append('%s%s: 3.9.1 %s %s (%s)' % (RULE_OF_KIND[kind], tag, what, txt(i),
                                                     WHY_OF_KIND[kind]))
        elif pytz_limited(request, [i]):
            rules.add('PYTZ')
            notes.append('PYTZ%s: 3.9.1 %s %s (pytz data limits)' % (tag, what, txt(i)))
        else:
            ok = False
            notes.append('MODEL%s: 3.9.1 %s %s, unexplained' % (tag, what, txt(i)))
    return ok


def same_within(a, b):
    """two 3.9.1 runs agree up to their common horizon (or both are errors)?"""
    if a['error'] or b['error']:
        return bool(a['error']) == bool(b['error'])
    ia, ha = raw_horizon(a)
    ib, hb = raw_horizon(b)
    h = min(ha, hb)
    return [i for i in ia if i <= h] == [i for i in ib if i <= h]


def evaluate(request):
    """compute the full case record for one request"""
    n = request['max_fire_times']
    spec = request['trigger']
    case = {'request': request, 'kind': spec.get('type')}
    rules, notes = set(), []
    start_us, _ = parse_start(request['start'])
    model = None
    spec_rule = None
    try:
        model = build_model(spec)
    except SpecError as e:
        case['expected'] = {'error': True, 'reason': str(e)}
        spec_rule = e.rule
    raw = run_391(request, n + EXTRA)
    case['apscheduler_391'] = raw_record(raw, n)
    if model is None and spec_rule:
        if raw['error']:
            notes.append('%s: we reject it (%s); 3.9.1 rejects it too'
                         % (spec_rule, case['expected']['reason']))
        else:
            rules.add(spec_rule)
            notes.append('%s: we reject (%s)' % (spec_rule, case['expected']['reason']))

    if model is None:
        if not raw['error']:
            if not spec_rule:
                rules.add('MODEL')
                notes.append('MODEL: we expect an error, 3.9.1 accepts')
            else:
                notes.append('3.9.1 accepts it: %s' % case['apscheduler_391']['fire_times'][:3])
        case['rules'] = sorted(rules)
        case['notes'] = notes
        return case

    ext = model.sequence(start_us, n + EXTRA)
    exp = ext[:n]
    exp_hz = ext[-1] if len(ext) >= n + EXTRA else INF
    case['expected'] = {
        'fire_times_us': exp,
        'offsets': [allowed_offsets(model, i) for i in exp],
        'iso': [fmt_iso(i, allowed_offsets(model, i)[0]) for i in exp],
    }
    if isinstance(model, CombineModel):
        case['and_iterations'] = max([m.max_iterations for m in combine_models(model)] or [0])
    alt = alternative_expected(spec, start_us, n, exp)
    if alt is not None:
        case['expected_civil'] = alt
        notes.append('R2 order: with --gap-order civil (3.x civil-order walk) we would expect %s'
                     % alt['iso'][:6])
    t = spec['type']
    kinds = spec_kinds(spec)

    # 3.9.1 as the oracle: crontab translated by R3 (identical to raw for other requests)
    if 'crontab' in kinds:
        ora = run_391(request, n + EXTRA, translate_crontab=True)
        if not same_within(raw, ora):
            rules.add('R3')
            if raw['error']:
                notes.append('R3: 3.9.1 from_crontab rejects it (%s)' % raw['error'])
            else:
                notes.append('R3: 3.9.1 from_crontab reads it differently (0 = Monday, day AND '
                             'day-of-week): %s' % case['apscheduler_391']['fire_times'][:3])
    else:
        ora = raw
    if ora['error']:
        rules.add('MODEL')
        notes.append('MODEL: 3.9.1 rejects, we accept: %s' % ora['error'])
        case['rules'] = sorted(rules)
        case['notes'] = notes
        return case

    # R2 (labels): 3.9.1 prints an offset that is not the one in force
    for x in raw['times'] if not raw['error'] else []:
        i = dt_to_us(x)
        allowed = allowed_offsets(model, i)
        if label_of(x) not in allowed and i in exp:
            if explain_instant(model, i) == 'gap':
                why = 'gap wall time labelled with the pre-transition offset'
            elif pytz_limited(request, [i]):
                why = 'pytz data limits'
            else:
                why = 'it keeps the fixed offset of the given date string'
            rules.add('R2')
            notes.append('R2: 3.9.1 prints %s, the offset in force is %s (%s)'
                         % (x.isoformat(), fmt_offset(allowed[0]), why))
            break

    ora_insts, ora_hz = raw_horizon(ora)
    if ora['status'] == 'stuck':
        st = dt_to_us(ora['stuck_at'])
        kind = explain_instant(model, st)
        if kind == 'fold':
            rules.add('R1')
            notes.append('R1: 3.9.1 gets stuck returning %s again (fold)' % ora['stuck_at'].isoformat())
        else:
            rules.add('MODEL')
            notes.append('MODEL: 3.9.1 gets stuck at %s' % ora['stuck_at'].isoformat())

    if t in ('and', 'or'):
        first_exp = ext[0] if ext else None
        first_ora = ora_insts[0] if ora_insts else None
        if ora['status'] == 'hang':
            rules.add('R6')
            notes.append('R6: 3.9.1 %s hangs on the first call (gave up after %d iterations)'
                         % (t, GUARD_391_ITERATIONS))
        elif first_exp != first_ora:
            why = None
            past_dates = [m.run_us for m in leaf_models(model)
                          if isinstance(m, DateModel) and m.run_us < start_us]
            if first_ora is not None and first_ora in past_dates:
                why = 'R6'
                notes.append('R6: first fire differs: 3.9.1 takes a DateTrigger run_date < start '
                             '(we discard child results < c)')
            for i in (first_exp, first_ora):
                if why is None and i is not None:
                    k = explain_instant(model, i, start_us, ours=(i == first_exp))
                    if k:
                        why = RULE_OF_KIND[k]
                        notes.append('%s: first fire time differs from 3.9.1 %s (%s in a child)'
                                     % (why, t, WHY_OF_KIND[k]))
            if why is None and 'date' in kinds:
                why = 'R6'
                notes.append('R6: first fire differs: 3.9.1 takes a DateTrigger run_date < start '
                             '(we discard child results < c)')
            if why is None and any(float_artifact(m, start_us) for m in leaf_models(model)):
                why = 'F'
                notes.append('F: first fire differs: 3.9.1 finds an interval child\'s first slot '
                             'with float seconds and rounds wrongly')
            if why is None and pytz_limited(request, [i for i in (first_exp, first_ora) if i]):
                why = 'PYTZ'
                notes.append('PYTZ: first fire differs (pytz data limits)')
            if why is None:
                why = 'MODEL'
                notes.append('MODEL: first fire time differs from 3.9.1 %s (sanity check)' % t)
            rules.add(why)
        if t == 'or' and ora['status'] != 'hang':
            sub_rules, sub_notes = set(), []
            ok_sets = compare_sets(model, request, start_us, ext, exp_hz, ora_insts, ora_hz,
                                   sub_rules, sub_notes)
            if not ok_sets and kinds & {'interval', 'date', 'and'}:
                rules.add('R6')
                notes.append('R6: 3.9.1 OrTrigger gives interval children the combined previous '
                             'fire time / loses date children: %s'
                             % [x.isoformat() for x in ora['times'][:4]])
            else:
                if not ok_sets:
                    rules.add('MODEL')
                rules |= sub_rules
                notes.extend(sub_notes)
        if t == 'and' and ora['status'] == 'first' and len(exp) > 1:
            rules.add('R6')
            notes.append('R6: 3.9.1 AndTrigger hangs after its first call; the rest of the '
                         'sequence is from our rule only')
    else:
        sub_rules, sub_notes = set(), []
        ok = compare_sets(model, request, start_us, ext, exp_hz, ora_insts, ora_hz,
                          sub_rules, sub_notes)
        if not ok and t == 'interval' and interval_float_artifact(request, model, ora):
            rules.add('F')
            notes.append('F: 3.9.1 finds the first slot with float seconds and rounds wrongly '
                         '(ceil of %r); we use exact microseconds'
                         % ((start_us - model.start_us) / model.iv))
        else:
            if not ok:
                rules.add('MODEL')
            rules |= sub_rules
            notes.extend(sub_notes)
    case['rules'] = sorted(rules)
    case['notes'] = notes
    return case


def alternative_expected(spec, start_us, n, exp):
    """the expected fire times under the other gap-order reading, when they differ"""
    global GAP_ORDER
    try:
        model = build_model(spec)
    except SpecError:
        return None
    cms = cron_models(model)
    if not cms:
        return None
    lo = start_us - 2 * DAY
    hi = min((exp[-1] if exp else start_us) + DAY, lo + 15 * 366 * DAY)
    if not any(tr[2] > tr[1] for cm in cms for tr in cm.zone.transitions_between(lo, hi)):
        return None
    saved = GAP_ORDER
    GAP_ORDER = 'civil' if saved == 'instant' else 'instant'
    try:
        alt = model.sequence(start_us, n)
    finally:
        GAP_ORDER = saved
    if alt == exp:
        return None
    return {'fire_times_us': alt, 'offsets': [allowed_offsets(model, i) for i in alt],
            'iso': [fmt_iso(i, allowed_offsets(model, i)[0]) for i in alt]}


def leaf_models(model):
    if isinstance(model, CombineModel):
        out = []
        for c in model.children:
            out.extend(leaf_models(c))
        return out
    return [model]


def combine_models(model):
    out = []
    if isinstance(model, CombineModel):
        out.append(model)
        for c in model.children:
            out.extend(combine_models(c))
    return out


def float_artifact(model, c_us):
    """3.9.1's IntervalTrigger: ceil(timedelta_seconds(now - start) / interval_length) is done
    in floating point and can be off by one slot; True if that happens at `now` = c_us"""
    if not isinstance(model, IntervalModel) or model.start_us > c_us:
        return False
    diff = (c_us - model.start_us) / US
    k_float = int(math.ceil(diff / (model.iv / US)))
    k_exact = -((model.start_us - c_us) // model.iv)
    return k_float != k_exact


def interval_float_artifact(request, model, raw):
    if not raw['times']:
        return False
    start_us, _ = parse_start(request['start'])
    return float_artifact(model, start_us)


# ---------------------------------------------------------------------------------------------
# random generation

class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.trans_cache = {}

    # --- instants ---
    def zone(self):
        names = list(ZONE_WEIGHTS)
        return self.rng.choices(names, [ZONE_WEIGHTS[n] for n in names])[0]

    def transitions(self, zname):
        tl = self.trans_cache.get(zname)
        if tl is None:
            z = get_zone(zname)
            tl = []
            for y in range(1971, 2038):
                tl.extend(tr for tr in z._chunk(y))
            self.trans_cache[zname] = tl
        return tl

    def instant(self, zname, period_us=HOUR):
        """a start instant: often shortly before a DST transition of the zone"""
        r = self.rng
        tl = self.transitions(zname)
        if zname == 'Africa/Monrovia' and r.random() < 0.6:
            base = dt_to_us(datetime(1971, 1, 1, tzinfo=UTC)) + r.randrange(400) * DAY
            return base + r.randrange(DAY // US) * US
        if tl and r.random() < 0.65:
            tr = r.choice(tl)[0]
            x = r.random()
            if x < 0.5:
                back = int(period_us * r.uniform(0, 4))
            elif x < 0.85:
                back = int(r.uniform(0, 2 * DAY))
            else:
                back = int(r.uniform(2 * DAY, 40 * DAY))
            back = max(0, back)
            t = tr - back
        else:
            lo = dt_to_us(datetime(1971, 1, 1, tzinfo=UTC))
            hi = dt_to_us(datetime(2037, 6, 1, tzinfo=UTC))
            t = r.randrange(lo, hi)
        t -= t % US
        x = r.random()
        if x < 0.3:
            t -= t % (60 * US)
        elif x < 0.4:
            t -= t % HOUR
        elif x < 0.5:
            t += r.randrange(1, US)
        return t

    def start_text(self, zname, t):
        """the request's start: ISO-8601 with an explicit offset"""
        r = self.rng
        z = get_zone(zname)
        off = z.offset(t)
        x = r.random()
        if off % 60 != 0 or x < 0.2:
            off = 0
        elif x < 0.28:
            off = r.choice([-12, -9, -5, -3, 0, 1, 2, 5, 9, 13]) * 3600 + r.choice([0, 0, 1800, 2700])
        w = us_to_wall(t + off * US)
        text = w.strftime('%Y-%m-%dT%H:%M:%S')
        if w.microsecond:
            text += '.%06d' % w.microsecond
        return text + fmt_offset(off)

    def date_text(self, zname, t, allow_naive=True, allow_date_only=False):
        """a date string for start_date/end_date/run_date (explicit offset, sometimes naive)"""
        r = self.rng
        z = get_zone(zname) if zname else None
        sep = r.choice(['T', ' '])
        x = r.random()
        if z is not None and allow_naive and x < 0.12:
            w = us_to_wall(t + z.offset(t) * US)
            if allow_date_only and r.random() < 0.3:
                w0 = datetime(w.year, w.month, w.day)
                if (z.wall_kind(w0) == 'normal' and w0.year < 2037 and
                        not (zname == 'Africa/Monrovia' and w0.year < 1973)):
                    return w0.strftime('%Y-%m-%d')
            if (z.wall_kind(w) == 'normal' and w.year < 2037 and
                    not (zname == 'Africa/Monrovia' and w.year < 1973)):
                text = w.strftime('%Y-%m-%d' + sep + '%H:%M:%S')
                if w.microsecond:
                    text += '.%06d' % w.microsecond
                return text
        if z is not None and x < 0.75:
            off = z.offset(t)
            if off % 60:
                off = 0
        elif x < 0.88:
            off = 0
        else:
            off = r.choice([-10, -5, -4, 0, 2, 3, 8, 14]) * 3600 + r.choice([0, 1800])
        w = us_to_wall(t + off * US)
        text = w.strftime('%Y-%m-%d' + sep + '%H:%M:%S')
        if w.microsecond:
            text += '.%06d' % w.microsecond
        if off == 0 and r.random() < 0.5:
            return text + 'Z'
        return text + fmt_offset(off)

    # --- cron (3.x grammar) ---
    FIELD_MINMAX = {'year': (1970, 9999), 'month': (1, 12), 'day': (1, 31), 'week': (1, 53),
                    'day_of_week': (0, 6), 'hour': (0, 23), 'minute': (0, 59), 'second': (0, 59)}

    def cron_item(self, field, year0):
        r = self.rng
        lo, hi = self.FIELD_MINMAX[field]
        if field == 'year':
            lo, hi = max(1970, year0 - 3), min(2045, year0 + 12)
        span = hi - lo
        x = r.random()
        if field == 'month' and x < 0.2:
            a = r.randrange(12)
            if r.random() < 0.5:
                return self.case(MONTHS[a])
            b = r.randrange(a, 12)
            return self.case(MONTHS[a]) + '-' + self.case(MONTHS[b])
        if field == 'day_of_week' and x < 0.3:
            a = r.randrange(7)
            if r.random() < 0.5:
                return self.case(WEEKDAYS_3X[a])
            b = r.randrange(a, 7)
            return self.case(WEEKDAYS_3X[a]) + '-' + self.case(WEEKDAYS_3X[b])
        if field == 'day' and x < 0.25:
            y = r.random()
            if y < 0.35:
                return self.case('last')
            pos = r.choice(['1st', '2nd', '3rd', '4th', '5th', 'last'])
            return self.case(pos) + ' ' * r.choice([1, 1, 1, 2]) + self.case(r.choice(WEEKDAYS_3X))
        y = r.random()
        if y < 0.1:
            return '*'
        if y < 0.3:
            n = r.randint(1, max(1, min(span, 30 if field != 'year' else 5)))
            return '*/%d' % n
        if y < 0.6:
            return str(r.randint(lo, hi))
        if y < 0.75:
            a = r.randint(lo, hi)
            b = r.randint(a, hi)
            return '%d-%d' % (a, b)
        if y < 0.88:
            a = r.randint(lo, hi - 1)
            b = r.randint(a + 1, hi)
            n = r.randint(1, b - a)
            return '%d-%d/%d' % (a, b, n)
        a = r.randint(lo, hi - 1)
        n = r.randint(1, hi - a) if field != 'year' else r.randint(1, 4)
        if field == 'year':
            return '%d-%d/%d' % (a, min(hi, a + 10), n) if n <= min(hi, a + 10) - a else str(a)
        return '%d/%d' % (a, n)

    def case(self, s):
        r = self.rng.random()
        if r < 0.1:
            return s.upper()
        if r < 0.2:
            return s.capitalize()
        return s

    def cron_field(self, field, year0):
        r = self.rng
        k = r.choices([1, 2, 3], [75, 18, 7])[0]
        items = [self.cron_item(field, year0) for _ in range(k)]
        if k == 1 and re.fullmatch(r'[0-9]+', items[0]) and r.random() < 0.4:
            return int(items[0])
        sep = r.choice([',', ',', ',', ', ', ' , '])
        return sep.join(items)

    def invalid_cron_field(self):
        r = self.rng
        return r.choice([
            ('minute', 60), ('hour', '24'), ('second', '*/60'), ('minute', '*/0'),
            ('day', 0), ('day', '32'), ('month', 13), ('month', 'january'), ('week', 54),
            ('day_of_week', 7), ('day_of_week', 'sun-mon'), ('day_of_week', 'monday'),
            ('hour', '5-3'), ('minute', '50/20'), ('hour', '23/2'), ('day', '4-6/3'),
            ('year', 1969), ('minute', 'xyz'), ('minute', '5.5'), ('minute', '-1'),
            ('day', '1st 1'), ('day_of_week', 'last'), ('hour', '1 - 5'), ('month', 'feb-jan'),
            ('day', 'last sat,foo'),
        ])

    def r4_case(self):
        r = self.rng
        return r.choice([
            {'day_of_week': 'mon-fri/2', 'hour': 9},
            {'month': 'jan-mar/2', 'day': 1},
            {'month': 'jan/2', 'day': 15},
            {'month': 'Mar-Sep/3', 'day': 'last'},
            {'day_of_week': 'sat-sun/2'},
            {'day': 'lastfoo'},
            {'day': 'lastday', 'hour': 12},
            {'day': 'LASTx'},
            {'hour': '\u0663', 'minute': 0},              # ARABIC-INDIC DIGIT THREE
            {'minute': '\uff11\uff10'},                   # FULLWIDTH 1 0
            {'second': '\u0967\u0968'},                   # DEVANAGARI 1 2
            {'day': '1-\u0665', 'hour': 0},               # ARABIC-INDIC FIVE
        ])

    def cron_spec(self, zname, year0, profile=None):
        r = self.rng
        spec = {'type': 'cron'}
        p = profile or r.choices(
            ['daily', 'subhourly', 'seconds', 'monthly', 'weekly', 'yearly', 'week', 'yearlim',
             'random', 'none', 'impossible', 'invalid', 'r4'],
            [16, 16, 6, 9, 9, 6, 4, 5, 18, 0.4, 1.0, 3, 3])[0]
        if p == 'daily':
            spec['hour'] = self.cron_field('hour', year0)
            spec['minute'] = self.cron_field('minute', year0)
            if r.random() < 0.2:
                spec['second'] = self.cron_field('second', year0)
        elif p == 'subhourly':
            spec['minute'] = r.choice(['*/%d' % r.choice([1, 5, 10, 15, 20, 30, 7]),
                                       self.cron_field('minute', year0)])
            if r.random() < 0.4:
                spec['hour'] = self.cron_field('hour', year0)
        elif p == 'seconds':
            spec['second'] = r.choice(['*/%d' % r.choice([1, 10, 15, 30, 45]),
                                       self.cron_field('second', year0)])
            if r.random() < 0.5:
                spec['minute'] = r.choice(['*', '*/15', '0-1', self.cron_field('minute', year0)])
        elif p == 'monthly':
            spec['day'] = self.cron_field('day', year0)
            spec['hour'] = self.cron_field('hour', year0)
            if r.random() < 0.5:
                spec['minute'] = self.cron_field('minute', year0)
        elif p == 'weekly':
            spec['day_of_week'] = self.cron_field('day_of_week', year0)
            spec['hour'] = self.cron_field('hour', year0)
            if r.random() < 0.5:
                spec['minute'] = self.cron_field('minute', year0)
        elif p == 'yearly':
            spec['month'] = self.cron_field('month', year0)
            spec['day'] = self.cron_field('day', year0)
            if r.random() < 0.5:
                spec['hour'] = self.cron_field('hour', year0)
        elif p == 'week':
            spec['week'] = self.cron_field('week', year0)
            if True:
                spec['year'] = '%d-%d' % (max(1970, year0 - 1), year0 + r.randint(2, 15))
            if r.random() < 0.6:
                spec['day_of_week'] = self.cron_field('day_of_week', year0)
            spec['hour'] = self.cron_field('hour', year0)
        elif p == 'yearlim':
            spec['year'] = self.cron_field('year', year0)
            for f in r.sample(['month', 'day', 'hour', 'minute'], r.randint(1, 3)):
                spec[f] = self.cron_field(f, year0)
        elif p == 'random':
            fields = r.sample(CRON_FIELDS, r.randint(1, 5))
            if 'year' not in fields and r.random() < 0.3:
                fields.append('year')
            for f in fields:
                spec[f] = self.cron_field(f, year0)
            if ('*' in str(spec.get('year', '*')) and (set(fields) & {'week', 'day_of_week', 'day'})
                    and ('week' in fields or r.random() < 0.97)):
                # sparse day constraints: cap the year so that 3.9.1 does not scan to 9999
                # (it walks day by day: an impossible week/month combination costs seconds)
                spec['year'] = '%d-%d' % (max(1970, year0 - 1), year0 + r.randint(2, 15))
        elif p == 'impossible':
            spec.update(r.choice([
                {'month': 2, 'day': 30}, {'month': 2, 'day': 31}, {'month': '4,6,9,11', 'day': 31},
                {'month': 'feb', 'day': '30-31', 'hour': 3},
                {'year': year0 - 1, 'month': 5},
                {'year': '%d-%d' % (year0 - 2, year0 - 1), 'hour': 1},
            ]))
        elif p == 'invalid':
            f, v = self.invalid_cron_field()
            spec[f] = v
            if r.random() < 0.5:
                spec['hour'] = r.randint(0, 23) if f != 'hour' else 1
        elif p == 'r4':
            spec.update(self.r4_case())
        spec['timezone'] = zname
        return spec, p

    # --- crontab (POSIX) ---
    def crontab_field(self, name):
        r = self.rng
        lo, hi = {'minute': (0, 59), 'hour': (0, 23), 'dom': (1, 31), 'month': (1, 12),
                  'dow': (0, 7)}[name]
        items = []
        for _ in range(r.choices([1, 2, 3], [70, 22, 8])[0]):
            x = r.random()
            if name == 'month' and x < 0.2:
                a = r.randrange(12)
                items.append(self.case(MONTHS[a]) if r.random() < 0.5 else
                             MONTHS[a] + '-' + MONTHS[r.randrange(a, 12)])
                continue
            if name == 'dow' and x < 0.3:
                a = r.randrange(7)
                items.append(self.case(POSIX_DOW_NAMES[a]) if r.random() < 0.5 else
                             POSIX_DOW_NAMES[a] + '-' + POSIX_DOW_NAMES[r.randrange(a, 7)])
                continue
            y = r.random()
            top = 6 if name == 'dow' else hi
            if y < 0.25:
                items.append('*')
            elif y < 0.4:
                items.append('*/%d' % r.randint(1, max(1, min(top - lo, 20))))
            elif y < 0.7:
                items.append(str(r.randint(lo, hi)))
            elif y < 0.87:
                a = r.randint(lo, hi)
                items.append('%d-%d' % (a, r.randint(a, hi)))
            else:
                a = r.randint(lo, hi - 1)
                b = r.randint(a + 1, hi)
                items.append('%d-%d/%d' % (a, b, r.randint(1, b - a)))
        # a '*' item makes other items pointless; keep it first so the field starts with '*'
        if '*' in items:
            items = ['*'] + [i for i in items if i != '*']
        return ','.join(items)

    def crontab_spec(self, zname):
        r = self.rng
        x = r.random()
        if x < 0.08:
            expr = r.choice(list(CRONTAB_MACROS))
        elif x < 0.11:
            expr = r.choice(['60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 8',
                             '* * * * 5-1', '* * * *', '* * * * * *', '0 0 * * fri-mon'])
        elif x < 0.14:
            expr = r.choice(['0 9 * * mon-fri/2', '0 0 1 jan-jun/2 *', '0 0 1 jan/3 *',
                             '30 \u0661 * * *', '0 0 * * sun-sat/2'])
        else:
            f = {k: self.crontab_field(k) for k in ('minute', 'hour', 'dom', 'month', 'dow')}
            # keep schedules from being too dense most of the time
            if f['minute'].startswith('*') and r.random() < 0.6:
                f['minute'] = str(r.randint(0, 59))
            if r.random() < 0.35:
                f['dom'] = '*'
            if r.random() < 0.35:
                f['dow'] = '*'
            if r.random() < 0.4:
                f['month'] = '*'
            expr = ' '.join(f[k] for k in ('minute', 'hour', 'dom', 'month', 'dow'))
            if r.random() < 0.1:
                expr = '  ' + expr.replace(' ', r.choice(['  ', '\t'])) + ' '
        return {'type': 'crontab', 'expr': expr, 'timezone': zname}

    # --- interval ---
    def interval_spec(self, zname, start_us):
        r = self.rng
        spec = {'type': 'interval'}
        x = r.random()
        if x < 0.02:
            spec.update(r.choice([{'seconds': 0}, {'minutes': 0, 'hours': 0}, {}]))
        elif x < 0.04:
            spec.update(r.choice([{'seconds': -5}, {'hours': -1}, {'minutes': -0.5}]))
        else:
            units = r.sample(['weeks', 'days', 'hours', 'minutes', 'seconds'], r.choices([1, 2, 3], [65, 25, 10])[0])
            for u in units:
                y = r.random()
                if u == 'seconds':
                    if y < 0.4:
                        v = r.randint(1, 90)
                    elif y < 0.7:
                        v = r.choice([0.5, 0.25, 1.5, 2.75, 0.1, 0.3, 0.7, 0.29, 1.1, 59.999999,
                                      0.000001, 0.001, 12.345678, 3600.5])
                    else:
                        v = r.randint(1, 100000) / 1000
                elif u == 'minutes':
                    v = r.randint(1, 120) if y < 0.8 else r.choice([0.5, 1.25, 7.5, 0.1, 2.3])
                elif u == 'hours':
                    v = r.randint(1, 48) if y < 0.85 else r.choice([0.5, 1.5, 0.25, 2.3, 0.1])
                elif u == 'days':
                    v = r.randint(1, 30) if y < 0.9 else r.choice([0.5, 1.5, 0.25])
                else:
                    v = r.randint(1, 8) if y < 0.9 else 0.5
                spec[u] = v
        try:
            iv = interval_us(spec)
        except SpecError:
            iv = US
        y = r.random()
        if y < 0.35:
            sd = start_us + int(r.uniform(0, 3) * iv) + r.randrange(0, 3600) * US
        elif y < 0.55:                          # start exactly on a slot (inclusive "now")
            k = r.randint(0, 2000)
            sd = start_us - k * iv
        elif y < 0.85:
            sd = start_us - int(r.uniform(0, 60) * iv) - r.randrange(0, 10 ** 6) * US
        else:                                   # very long ago: big multipliers
            sd = start_us - r.randrange(0, 40 * 365) * DAY - r.randrange(0, DAY)
        sd = max(sd, dt_to_us(datetime(1970, 1, 2, tzinfo=UTC)))
        if r.random() < 0.7:
            sd -= sd % US
        spec['start_date'] = self.date_text(zname, sd, allow_date_only=True)
        if r.random() < 0.3:
            base = max(start_us, sd)
            ed = base + int(r.uniform(0, 14) * iv)
            if r.random() < 0.3:
                ed = base + r.randint(0, 12) * iv
            spec['end_date'] = self.date_text(zname, ed)
        spec['timezone'] = zname
        return spec

    def date_spec(self, zname, start_us):
        r = self.rng
        rd = start_us + int(r.uniform(-3 * DAY, 10 * DAY))
        if r.random() < 0.5:
            rd -= rd % US
        spec = {'type': 'date'}
        if r.random() < 0.85:
            spec['run_date'] = self.date_text(zname, rd, allow_date_only=True)
            spec['timezone'] = zname
        else:
            # no timezone: explicit offset required
            z = get_zone(zname)
            off = z.offset(rd)
            if off % 60:
                off = 0
            w = us_to_wall(rd + off * US)
            text = w.strftime('%Y-%m-%dT%H:%M:%S') + ('.%06d' % w.microsecond if w.microsecond else '')
            spec['run_date'] = text + fmt_offset(off)
        return spec

    # --- and / or ---
    def simple_child(self, zname, start_us, year0, allow_date=True):
        r = self.rng
        x = r.random()
        if x < 0.55:
            return self.cron_spec(zname, year0, r.choice(['daily', 'subhourly', 'weekly',
                                                          'monthly', 'random']))[0]
        if x < 0.65:
            return self.crontab_spec(zname)
        if x < 0.88 or not allow_date:
            return self.interval_spec(zname, start_us)
        return self.date_spec(zname, start_us)

    def and_children(self, zname, start_us, year0):
        """children that usually do coincide (and a few that never do)"""
        r = self.rng
        x = r.random()
        h = r.randint(0, 23)
        m = r.choice([0, 0, 15, 30, 45])
        if x < 0.25:
            return [{'type': 'cron', 'day_of_week': self.cron_field('day_of_week', year0),
                     'hour': h, 'minute': m, 'timezone': zname},
                    {'type': 'cron', 'day': r.choice(['1-7', '8-14', '*/2', 'last', '10-20', '13']),
                     'hour': h, 'minute': m, 'timezone': zname}]
        if x < 0.45:
            step = r.choice([1, 2, 3, 4, 6])
            sd = start_us - start_us % DAY - r.randrange(0, 30) * DAY
            sd -= get_zone(zname).offset(sd) * US    # local midnight (roughly): they coincide
            return [{'type': 'interval', 'hours': step,
                     'start_date': fmt_iso(sd, 0), 'timezone': zname},
                    {'type': 'cron', 'hour': r.choice(['*/2', '*/3', '1-23/4', '*', '9-17']),
                     'minute': r.choice([0, 0, '0,30']), 'timezone': zname}]
        if x < 0.6:
            a, b = r.choice([(7, 11), (2, 3), (4, 6), (5, 15), (60, 90), (10, 25)])
            sd = start_us - r.randrange(0, 600) * US
            sd -= sd % US
            unit = r.choice(['seconds', 'minutes'])
            c = [{'type': 'interval', unit: a, 'start_date': fmt_iso(sd, 0), 'timezone': zname},
                 {'type': 'interval', unit: b, 'start_date': fmt_iso(sd, 0), 'timezone': zname}]
            if r.random() < 0.3:
                c[1]['start_date'] = fmt_iso(sd + r.randint(1, 5) * US, 0)   # never coincide?
            return c
        if x < 0.72:
            c = self.cron_spec(zname, year0, 'daily')[0]
            try:
                t = build_model(c).first(start_us + r.randrange(0, 5) * DAY)
            except SpecError:
                t = None
            if t is None:
                t = start_us
            if r.random() < 0.3:
                t += r.choice([-US, US, HOUR])
            return [{'type': 'date', 'run_date': fmt_iso(t, get_zone(zname).offset(t) if
                                                         get_zone(zname).offset(t) % 60 == 0 else 0),
                     'timezone': zname}, c]
        if x < 0.95:
            c1 = self.cron_spec(zname, year0, r.choice(['subhourly', 'daily', 'weekly']))[0]
            c2 = {'type': 'cron', 'timezone': zname,
                  r.choice(['hour', 'day_of_week', 'day']): r.choice(['*/2', '1-5', '3', '0,4'])}
            for f in ('minute', 'second'):
                if f in c1:
                    c2[f] = c1[f]
            return [c1, c2]
        # never coincide -> 10000 iterations, then "no further fire time"
        return [{'type': 'cron', 'hour': 1, 'minute': m, 'timezone': zname},
                {'type': 'cron', 'hour': 2, 'minute': m, 'timezone': zname}]

    def combo_spec(self, zname, start_us, year0):
        r = self.rng
        kind = 'or' if r.random() < 0.55 else 'and'
        z2 = zname if r.random() < 0.85 else self.zone()
        if kind == 'or':
            n = r.choice([2, 2, 2, 3])
            ch = [self.simple_child(zname if i == 0 else z2, start_us, year0) for i in range(n)]
            if r.random() < 0.12:
                ch.append({'type': 'and', 'triggers': self.and_children(zname, start_us, year0)})
        else:
            ch = self.and_children(zname, start_us, year0)
            if r.random() < 0.1:
                ch[0] = {'type': 'or', 'triggers': [ch[0], self.simple_child(zname, start_us, year0,
                                                                             allow_date=False)]}
        return {'type': kind, 'triggers': ch}

    # --- one request ---
    def dst_spec(self, kind, zname):
        """a schedule that matches wall times inside a fold or gap, started shortly before"""
        r = self.rng
        tr, ob, oa = r.choice(self.transitions(zname))
        lo, hi = sorted((tr + ob * US, tr + oa * US))     # the wall times of the gap / fold
        w = us_to_wall(r.randrange(lo, hi) // (60 * US) * (60 * US))
        w2 = us_to_wall(lo)
        start_us = tr - int(r.choice([r.uniform(0, 3 * HOUR), r.uniform(0, 2 * DAY),
                                      r.uniform(0, 8 * DAY)]))
        start_us -= start_us % US if r.random() < 0.8 else 0
        x = r.random()
        if kind == 'crontab':
            if x < 0.4:
                expr = '%d %d * * *' % (w.minute, w.hour)
            elif x < 0.7:
                expr = '*/%d %d * * *' % (r.choice([5, 10, 15, 20, 30]), w.hour)
            elif x < 0.85:
                expr = '%d %d-%d * * *' % (w.minute, w2.hour, min(23, w2.hour + 2))
            else:
                expr = '%d %d %d * *' % (w.minute, w.hour, w.day)
            return {'type': 'crontab', 'expr': expr, 'timezone': zname}, start_us
        spec = {'type': 'cron'}
        if x < 0.3:
            spec.update(hour=w.hour, minute=w.minute)
        elif x < 0.5:
            spec.update(hour=w.hour, minute='*/%d' % r.choice([1, 5, 10, 15, 20, 30]))
        elif x < 0.6:
            spec.update(minute='*/%d' % r.choice([10, 15, 20, 30]))
        elif x < 0.7:
            spec.update(hour='%d-%d' % (w2.hour, min(23, w2.hour + r.randint(0, 3))),
                        minute=str(w.minute))
        elif x < 0.8:
            spec.update(day=w.day, hour=w.hour, minute=w.minute)
        elif x < 0.9:
            spec.update(hour=w.hour, minute=w.minute, second='*/%d' % r.choice([15, 20, 30]))
        else:
            spec.update(day_of_week=WEEKDAYS_3X[w.weekday()], hour=str(w.hour),
                        minute=w.minute)
        spec['timezone'] = zname
        if r.random() < 0.15:
            spec['end_date'] = self.date_text(zname, start_us + int(r.uniform(0, 3 * DAY)))
        return spec, start_us

    def request(self, idx):
        r = self.rng
        zname = self.zone()
        kind = r.choices(['cron', 'crontab', 'interval', 'date', 'combo'], [50, 17, 15, 5, 13])[0]
        period = r.choice([60 * US, 15 * 60 * US, HOUR, 6 * HOUR, DAY])
        start_us = self.instant(zname, period)
        year0 = us_to_dt(start_us).year
        if kind in ('cron', 'crontab') and r.random() < 0.35 and self.transitions(zname):
            spec, start_us = self.dst_spec(kind, zname)
        elif kind == 'cron':
            spec, prof = self.cron_spec(zname, year0)
            if prof not in ('invalid', 'r4', 'impossible') and r.random() < 0.2:
                sd = start_us + int(r.uniform(-2 * DAY, 2 * DAY))
                spec['start_date'] = self.date_text(zname, sd, allow_date_only=True)
            if r.random() < 0.15:
                ed = start_us + int(r.uniform(0, 20 * DAY))
                spec['end_date'] = self.date_text(zname, ed, allow_date_only=True)
        elif kind == 'crontab':
            spec = self.crontab_spec(zname)
        elif kind == 'interval':
            spec = self.interval_spec(zname, start_us)
        elif kind == 'date':
            spec = self.date_spec(zname, start_us)
        else:
            spec = self.combo_spec(zname, start_us, year0)
        n = r.choices(range(1, 13), [6, 4, 5, 6, 8, 10, 8, 8, 6, 5, 4, 6])[0]
        rid = idx if r.random() < 0.9 else 'case-%d' % idx
        return {'id': rid, 'trigger': spec, 'start': self.start_text(zname, start_us),
                'max_fire_times': n}


def generate(n_cases=DEFAULT_CASES, seed=DEFAULT_SEED, log=None):
    g = Gen(seed)
    cases = []
    t0 = time.time()
    idx = 0
    while len(cases) < n_cases:
        req = g.request(idx)
        idx += 1
        t1 = time.time()
        c = evaluate(req)
        dt = time.time() - t1
        it = c.get('and_iterations', 0)
        # avoid the ambiguous border of the 10000-iteration limit (off-by-one conventions)
        if 9000 < it <= AND_MAX_ITERATIONS + 1 and it != AND_MAX_ITERATIONS + 1:
            continue
        c['gen_seconds'] = round(dt, 4)
        cases.append(c)
        if log and len(cases) % 500 == 0:
            log('generated %d cases in %.1f s' % (len(cases), time.time() - t0))
    return cases


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--cases', type=int, default=DEFAULT_CASES)
    ap.add_argument('--seed', type=int, default=DEFAULT_SEED)
    ap.add_argument('--out', default='-')
    a = ap.parse_args(argv)
    t0 = time.time()
    cases = generate(a.cases, a.seed, log=lambda s: print(s, file=sys.stderr))
    out = sys.stdout if a.out == '-' else open(a.out, 'w', encoding='utf-8')
    for c in cases:
        out.write(json.dumps(c, ensure_ascii=False, sort_keys=True) + '\n')
    if out is not sys.stdout:
        out.close()
    counts = {}
    for c in cases:
        for rl in c['rules']:
            counts[rl] = counts.get(rl, 0) + 1
    print('%d cases in %.1f s; rules: %s' % (len(cases), time.time() - t0, counts), file=sys.stderr)


if __name__ == '__main__':
    main()
