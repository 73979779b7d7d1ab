#!/usr/bin/env bats
# A supervisor pass visits only its focus (supervise_state.h): the tasks the
# listing re-read since the last pass, the ones last seen NEW or running,
# and PAUSED ones while this process schedules.  Nothing it should act on may
# fall outside: a change another process makes to any task is reported, and
# a paused task whose auto-retry comes due is fired though nothing else
# changes.  `rover supervise --json` over a store of 300 tasks
# (bench/gen_store.py), the engine a socket nobody answers (no container
# ever starts; a fired retry ends in a warning).

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ROVER=${ROVER_BIN_DIR:-$ROOT/bin}/rover

setup() {
	S=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-focus.XXXXXX")
	python3 "$ROOT/bench/gen_store.py" "$S/store" 300 >/dev/null
	T=$S/store/tasks
	# no retry is due unless a test makes one due
	python3 - "$T" 86400000 <<'PY'
import datetime, glob, json, os, sys, time
def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)
now = int(time.time() * 1000)
for p in glob.glob(sys.argv[1] + "/*/description.json"):
    d = json.load(open(p))
    if d["status"] == "PAUSED":
        d["autoRetry"]["nextRetryAt"] = iso(now + int(sys.argv[2]))
        open(p + ".t", "w").write(json.dumps(d))
        os.rename(p + ".t", p)
PY
	echo $((16000000 + RANDOM)) >"$T/.last-id"
	export ROVER_STORE=$S/store ROVER_ENGINE=unix://$S/no-engine.sock
	cd "$S"
}
teardown() {
	[ -z "${pid:-}" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$S"
}

# Rewrite a JSON file by rename, as rover and the runner do: edit PATH KEY=VALUE...
edit() {
	python3 - "$@" <<'PY'
import json, os, sys
p = sys.argv[1]
d = json.load(open(p))
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    d[k] = int(v) if v.isdigit() else v
open(p + ".tmp", "w").write(json.dumps(d))
os.rename(p + ".tmp", p)
PY
}

# Wait up to 10 s for an event line matching the jq filter.
wait_event() {
	local deadline=$((SECONDS + 10))
	while :; do
		[ -z "$(jq -c "select($1)" "$S/sup.log" 2>/dev/null | head -1)" ] || return 0
		[ $SECONDS -lt $deadline ] || { echo "no event $1 in:" >&2; cat "$S/sup.log" >&2; return 1; }
		sleep 0.05
	done
}

start_supervise() {
	"$ROVER" supervise --json >"$S/sup.log" 2>"$S/sup.err" &
	pid=$!
	wait_event '.event == "scheduler" and (.message | startswith("scheduled:")) and .taskId == null'
	sleep 0.3 # let the first pass settle
}

@test "supervise reports every change another process makes, to any task" {
	start_supervise
	# a finished task rewritten: COMPLETED -> FAILED
	edit "$T/2/description.json" status=FAILED executionStatus=failed error="changed elsewhere"
	wait_event '.event == "status" and .taskId == 2 and .from == "COMPLETED" and .to == "FAILED"'
	# another, after the first (the pass's memory of the others is kept)
	edit "$T/250/description.json" status=FAILED executionStatus=failed error="changed too"
	wait_event '.event == "status" and .taskId == 250 and .to == "FAILED"'
	# a task created, then one removed (the listing changes shape)
	cp -r "$T/3" "$T/.new-301"
	edit "$T/.new-301/description.json" id=301 title="A brand new task"
	mv "$T/.new-301" "$T/301"
	wait_event '.event == "status" and .taskId == 301 and .from == null and .to == "COMPLETED"'
	mv "$T/4" "$T/.deleted-4-1-1"
	wait_event '.event == "status" and .taskId == 4 and .to == null'
	# and a change after the shape changed
	edit "$T/5/description.json" status=FAILED executionStatus=failed error="and this"
	wait_event '.event == "status" and .taskId == 5 and .to == "FAILED"'
	# each change reported once, nothing else reported as changed
	[ "$(jq -c 'select(.event == "status")' "$S/sup.log" | wc -l)" -eq 5 ]
	[ "$(jq -c 'select(.event == "status" and .taskId == 2)' "$S/sup.log" | wc -l)" -eq 1 ]
}

@test "a paused task's auto-retry fires when due though nothing else changes" {
	# task 17 is PAUSED (gen_store.py); its retry comes due 4 s after the start
	python3 - "$T/17/description.json" 4000 <<'PY'
import datetime, json, os, sys, time
ms = int(time.time() * 1000) + int(sys.argv[2])
at = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
    "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)
p = sys.argv[1]
d = json.load(open(p))
assert d["status"] == "PAUSED"
d["autoRetry"]["nextRetryAt"] = at
open(p + ".t", "w").write(json.dumps(d))
os.rename(p + ".t", p)
PY
	start_supervise
	# not before it is due
	! jq -e 'select(.taskId == 17 and .event != "scheduler")' "$S/sup.log" >/dev/null
	# then fired: its resume is refused (gen_store's checkpoint does not
	# match the workflow), which the scheduler says
	wait_event '.taskId == 17 and .event == "warning" and (.message | test("cannot be resumed"))'
	# no other paused task was touched
	[ -z "$(jq -c 'select(.taskId != null and .taskId != 17 and .event != "scheduler")' "$S/sup.log")" ]
}
