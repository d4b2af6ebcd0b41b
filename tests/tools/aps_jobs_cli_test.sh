#!/usr/bin/env bash
# `aps jobs` end to end, as a user runs it: add (options and --batch with bad lines), list
# (text and --json), pause/resume/modify/remove, export → import round trip, check on a good
# and on a damaged store, and the owner rule: while a scheduler (aps demo) owns a store, reads
# work and changes are refused with a message that says why.
#   aps_jobs_cli_test.sh PATH/TO/aps
set -euo pipefail
APS="$1"
T="$(mktemp -d)"
trap 'kill %1 2>/dev/null || true; rm -rf "$T"' EXIT
S="$T/store"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_in() { grep -qF -- "$1" <<<"$2" || fail "expected '$1' in: $2"; }

out=$("$APS" jobs add --store "$S" --id r1 --task send_report --cron 'hour=9' --tz UTC \
  --args '["daily.pdf", 3, {"$bytes": "AP8="}]' --kwargs '{"to": "ops@example.com"}')
[ "$out" = "added r1" ] || fail "add printed: $out"
[ "$(stat -c %a "$S/data.mdb")" = 600 ] || fail "data.mdb is not 0600"

# A duplicate id is an error naming it (exit 1); --replace replaces.
if err=$("$APS" jobs add --store "$S" --id r1 --task x --interval seconds=5 2>&1); then
  fail "duplicate add succeeded"
fi
expect_in "Job identifier (r1) conflicts with an existing job" "$err"
"$APS" jobs add --store "$S" --id r1 --task send_report --cron 'hour=9' --tz UTC --replace \
  --args '["daily.pdf", 3, {"$bytes": "AP8="}]' --kwargs '{"to": "ops@example.com"}' >/dev/null

# --batch: good lines are added (stdout), bad ones reported with their line number (stderr).
set +e
printf '%s\n' \
  '{"id": "b1", "task": "t", "trigger": {"type": "interval", "seconds": 30}}' \
  'not json' \
  '{"id": "b2", "task": "t", "trigger": {"type": "cron", "hour": "25"}}' \
  '{"id": "b3", "task": "t", "trigger": "cron(minute='"'"'*/5'"'"', timezone='"'"'UTC'"'"')"}' \
  '{"id": "b1", "task": "t", "trigger": {"type": "interval", "seconds": 30}}' \
  '{"task": "t", "trigger": {"type": "interval", "seconds": 30}, "colour": "red"}' \
  | "$APS" jobs add --store "$S" --batch >"$T/out" 2>"$T/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "batch with bad lines exited $rc"
[ "$(cat "$T/out")" = $'added b1\nadded b3' ] || fail "batch stdout: $(cat "$T/out")"
expect_in "error 2: line: malformed JSON" "$(cat "$T/err")"
expect_in "error 3: trigger:" "$(cat "$T/err")"
expect_in "error 5: Job identifier (b1) conflicts" "$(cat "$T/err")"
expect_in 'error 6: unknown field "colour"' "$(cat "$T/err")"

# Bad flags: an error naming the problem (exit 2), nothing written.
if err=$("$APS" jobs add --store "$S" --id bad --task t --interval seconds=5 --args '{"a": 1}' 2>&1); then
  fail "--args that is not an array was accepted"
fi
expect_in '"args" must be a JSON array' "$err"
if err=$("$APS" jobs add --store "$S" --id bad --task t --interval seconds=5 --durability fast 2>&1); then
  fail "an unknown durability was accepted"
fi
expect_in 'unknown durability "fast": choose sync, nometasync or nosync' "$err"
if err=$("$APS" jobs add --store "$S" --id bad --task t 2>&1); then fail "add without a schedule"; fi
expect_in "give exactly one schedule" "$err"

list=$("$APS" jobs list --store "$S" --tz UTC)
expect_in "Jobstore $S (3 jobs):" "$list"
expect_in "r1 (trigger: cron[hour='9'], next run at: " "$list"
expect_in "id=r1 task=send_report args=('daily.pdf', 3, b'\\x00\\xff', to='ops@example.com')" "$list"

"$APS" jobs pause --store "$S" b1 | grep -qx "paused b1" || fail "pause"
"$APS" jobs list --store "$S" --json | grep '"id":"b1"' | grep -q '"paused":true' || fail "json paused"
"$APS" jobs resume --store "$S" b1 | grep -qx "resumed b1" || fail "resume"
"$APS" jobs modify --store "$S" b3 --name 'Every seven' --interval minutes=7 >/dev/null
"$APS" jobs list --store "$S" | grep -q "Every seven (trigger: interval\[0:07:00\]" || fail "modify"
# --args changes the positional arguments only; the keyword arguments stay.
"$APS" jobs modify --store "$S" r1 --args '["weekly.pdf"]' >/dev/null
"$APS" jobs list --store "$S" | grep -qF "args=('weekly.pdf', to='ops@example.com')" || fail "modify --args"
if "$APS" jobs remove --store "$S" b1 nope >/dev/null 2>"$T/err"; then fail "remove of a missing id"; fi
expect_in "nope: No job by the id of nope was found" "$(cat "$T/err")"

# export → import into a new store → export again: the same lines.
"$APS" jobs export --store "$S" >"$T/exp.jsonl"
[ "$(wc -l <"$T/exp.jsonl")" -eq 2 ] || fail "export lines"
"$APS" jobs import --store "$T/copy" <"$T/exp.jsonl" >/dev/null
"$APS" jobs export --store "$T/copy" | diff - "$T/exp.jsonl" || fail "export/import differ"
"$APS" jobs check --store "$S" | grep -qx ok || fail "check of a good store"

# A damaged store: check and list fail with a message naming the damage; nothing is changed.
cp -r "$S" "$T/damaged"
printf 'garbage garbage garbage garbage' | dd of="$T/damaged/data.mdb" bs=1 seek=0 conv=notrunc 2>/dev/null
printf 'garbage garbage garbage garbage' | dd of="$T/damaged/data.mdb" bs=1 seek=4096 conv=notrunc 2>/dev/null
before=$(md5sum <"$T/damaged/data.mdb")
if err=$("$APS" jobs check --store "$T/damaged" 2>&1); then fail "check of a damaged store passed"; fi
expect_in "damaged" "$err"
[ "$(md5sum <"$T/damaged/data.mdb")" = "$before" ] || fail "check changed a damaged store"

# Owned by a running scheduler: reads work, writes are refused, saying why.
"$APS" demo --store "$T/owned" --duration 6 --tz UTC >"$T/demo.out" 2>&1 &
for _ in $(seq 50); do [ -s "$T/owned/owner.lock" ] && break; sleep 0.1; done
sleep 0.5
"$APS" jobs list --store "$T/owned" | grep -q "heartbeat (trigger: interval" || fail "list while owned"
if err=$("$APS" jobs pause --store "$T/owned" heartbeat 2>&1); then fail "write while owned"; fi
expect_in "in use by another scheduler (pid" "$err"
expect_in "aps jobs cannot change a store while a scheduler owns it" "$err"
"$APS" jobs check --store "$T/owned" | grep -q "owned by a scheduler (pid" || fail "check owner"
wait %1 || fail "the demo failed: $(cat "$T/demo.out")"
echo "aps jobs: all checks passed"
