#!/usr/bin/env bash
# Time from a change of a task's status.json to the `rover list --watch`
# screen showing it (the inotify thread -> pipe -> loop -> redraw path).
#
#   bench/watch_latency.sh [N]      N changes (default 30)
#
# The watch runs with a 60 s interval, so every redraw measured is driven by
# the change, not by the timer; its output goes to a pipe read by a loop that
# stamps each line with $EPOCHREALTIME.  Two screens are measured:
#   json   `list --watch --json` (one JSON array per redraw)
#   table  `list --watch` (the human table; one redraw = a clear-screen
#          sequence followed by the table)
# No engine is needed: the task is written by hand and the watch runs with
# --no-engine.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-30}
rover=$root/bin/rover
make -C "$root" -s -j2 all >/dev/null

stats() {
	local label=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v l="$label" '
		{ v[NR] = $1 }
		END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			p = v[int(0.9 * NR + 0.999)]
			printf "%s: median %.1f ms, p90 %.1f ms, max %.1f ms (n=%d)\n", l, m, p, v[NR], NR
		}'
}

P=$(mktemp -d /tmp/rover-bench-watch.XXXXXX)
export ROVER_STORE=$P.store STORE=$P.store
trap 'pids=$(jobs -p); [ -z "$pids" ] || kill $pids 2>/dev/null; rm -rf "$P" "$STORE"' EXIT
iter=$STORE/tasks/1/iterations/1
mkdir -p "$iter"
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
jq -n --arg now "$now" '{version: "1.6", id: 1, uuid: "00000000-0000-4000-8000-000000000001",
	title: "bench", description: "bench", inputs: {}, status: "ITERATING", createdAt: $now,
	startedAt: $now, lastStatusCheck: $now, iterations: 1, workflowName: "swe",
	worktreePath: "", branchName: ""}' >"$STORE/tasks/1/description.json"

prepare_status() { # step: the new status.json, not yet in place
	jq -n --arg s "$1" '{taskId: "1", status: "running", currentStep: $s, progress: 50}' \
		>"$iter/.status.json.new"
}
write_status() { # step
	prepare_status "$1"
	mv "$iter/.status.json.new" "$iter/status.json"
}

measure() { # label args...
	local label=$1
	shift
	local out=$P/$label.out
	write_status "mark-0"
	(cd "$P" && exec "$rover" list --watch 60 --no-engine "$@") |
		while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$out" &
	until grep -q "mark-0" "$out" 2>/dev/null; do sleep 0.05; done
	sleep 0.3
	local lat=() i t0 t1
	for i in $(seq 1 "$n"); do
		prepare_status "mark-$i"
		t0=$EPOCHREALTIME
		mv "$iter/.status.json.new" "$iter/status.json" # atomic, as the runner writes it
		until t1=$(grep -m1 "mark-$i\b" "$out" | cut -d' ' -f1) && [ -n "$t1" ]; do sleep 0.005; done
		lat+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
		sleep 0.1
	done
	kill %% 2>/dev/null || true
	wait 2>/dev/null || true
	stats "status.json -> list --watch ($label)" "${lat[@]}"
}

measure json --json
measure table
