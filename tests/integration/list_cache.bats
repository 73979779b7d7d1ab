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
