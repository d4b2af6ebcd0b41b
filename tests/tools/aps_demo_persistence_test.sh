#!/usr/bin/env bash
# The README's main job keeps its jobs: a first `aps demo` on a new store adds them, a second
# one loads them (with their next run times) and both pass their own checks.
#   aps_demo_persistence_test.sh PATH/TO/aps
set -euo pipefail
APS="$1"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
first=$("$APS" demo --store "$T/jobs" --duration 8 --tz UTC)
grep -q "job store: $T/jobs (LMDB; new): added 6 jobs" <<<"$first" || { echo "$first"; exit 1; }
grep -qx "check: ok" <<<"$first" || { echo "$first"; exit 1; }
second=$("$APS" demo --store "$T/jobs" --duration 8 --tz UTC)
# hello-once (due 5 s in) ran and was removed in the first run: five jobs come back and it is
# added again — or, on a slow machine where it had not run yet, all six come back.
grep -Eq "job store: $T/jobs \(LMDB\): loaded (5 stored jobs with their next run times, added 1|6 stored jobs with their next run times, added 0)" \
  <<<"$second" || { echo "$second"; exit 1; }
grep -qx "check: ok" <<<"$second" || { echo "$second"; exit 1; }
echo "aps demo: persistent across runs"
