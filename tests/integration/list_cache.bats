#!/usr/bin/env bats
# rover list --json serves finished tasks from the store's .list-cache: never a
# stale one, and a broken cache changes nothing but speed.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ROVER=${ROVER_BIN_DIR:-$ROOT/bin}/rover

setup() {
	S=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-lc.XXXXXX")
	python3 "$ROOT/bench/gen_store.py" "$S/store" 40 >/dev/null
	export ROVER_STORE=$S/store ROVER_ENGINE=unix://$S/no-engine.sock
	cd "$S"
}
teardown() { rm -rf "$S"; }

# Rewrite one record the way rover does: a new file renamed into place.
set_status() { # id status
	python3 - "$S/store/tasks/$1/description.json" "$2" <<'PY'
import json, os, sys
p, status = sys.argv[1], sys.argv[2]
d = json.load(open(p))
d["status"] = status
d["title"] = "changed " + status
open(p + ".new", "w").write(json.dumps(d, indent=2))
os.rename(p + ".new", p)
PY
}

@test "warm and cold listings are identical" {
	run "$ROVER" list --json
	[ "$status" -eq 0 ]
	cold=$output
	[ -s "$S/store/.list-cache" ]
	run "$ROVER" list --json
	[ "$output" = "$cold" ]
	[ "$(echo "$output" | jq length)" -eq 40 ]
}

@test "a changed record is never served from the cache" {
	"$ROVER" list --json >/dev/null
	set_status 7 FAILED
	run "$ROVER" list --json
	[ "$(echo "$output" | jq -r '.[] | select(.id == 7) | .status')" = FAILED ]
	[ "$(echo "$output" | jq -r '.[] | select(.id == 7) | .title')" = "changed FAILED" ]
	set_status 7 COMPLETED
	run "$ROVER" list --json
	[ "$(echo "$output" | jq -r '.[] | select(.id == 7) | .title')" = "changed COMPLETED" ]
}

@test "a deleted task disappears; a corrupt or foreign cache is ignored" {
	"$ROVER" list --json >/dev/null
	rm -rf "$S/store/tasks/3"
	run "$ROVER" list --json
	[ "$(echo "$output" | jq length)" -eq 39 ]
	[ -z "$(echo "$output" | jq '.[] | select(.id == 3)')" ]
	expected=$output
	head -c 5000 "$S/store/.list-cache" >"$S/cut" && mv "$S/cut" "$S/store/.list-cache"
	run "$ROVER" list --json
	[ "$output" = "$expected" ]
	printf 'rover-list-cache 1 retry-max=5\n5 0 0 0 0 0 9\n{"id": 99}\n' >"$S/store/.list-cache"
	run "$ROVER" list --json
	[ "$output" = "$expected" ]
}

# Five of the tasks running (IN_PROGRESS, status.json "running"), their
# engine unreachable.
make_running() {
	python3 - "$S/store" <<'PY'
import json, sys
store = sys.argv[1]
for i in range(1, 6):
    p = f"{store}/tasks/{i}/description.json"
    d = json.load(open(p))
    d["status"] = "IN_PROGRESS"
    d["containerId"] = "deadbeef%d" % i
    for k in ("completedAt", "failedAt", "pausedAt", "error"):
        d.pop(k, None)
    open(p + ".new", "w").write(json.dumps(d, indent=2))
    import os
    os.rename(p + ".new", p)
    s = f"{store}/tasks/{i}/iterations/1/status.json"
    st = json.load(open(s))
    st["status"] = "running"
    st.pop("completedAt", None)
    st.pop("error", None)
    open(s, "w").write(json.dumps(st))
PY
}

@test "list and inspect write nothing and take no lock when no task changed" {
	command -v strace >/dev/null || skip "strace is not installed"
	make_running
	# the first look records what changed (running -> ITERATING, the cache)
	"$ROVER" list --json >/dev/null 2>&1
	"$ROVER" list >/dev/null 2>&1
	for cmd in "list" "list --json" "list --no-engine" "list --json --no-engine" \
		"inspect 2" "inspect --json 2" "inspect 9"; do
		# shellcheck disable=SC2086
		strace -f -e trace=%file,write,flock -o "$S/trace" "$ROVER" $cmd >/dev/null 2>&1 || true
		bad=$(grep -E 'O_CREAT|O_WRONLY|O_RDWR|flock\(|rename|unlink|write\([^12],' "$S/trace" |
			grep -v '/dev/null' || true)
		[ -z "$bad" ] || { echo "rover $cmd wrote or locked: $bad" >&2; return 1; }
	done
}
