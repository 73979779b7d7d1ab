#!/usr/bin/env bash
# `rover list --json` over stores of 1,000 and 10,000 finished tasks (60%
# COMPLETED, 25% FAILED, 15% PAUSED, written by bench/gen_store.py).  Goal:
# under 50 ms for 10,000.  hyperfine when installed, else a loop of `date`.
#
#   bench/list.sh [SIZES...]        (default: 1000 10000)
# Output: one line per size: tasks, mean and median ms, min ms.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
make -s -C "$root" all >/dev/null
rover=$root/bin/rover
work=$(mktemp -d /var/tmp/rover-bench-list.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
# No engine is ever asked: finished tasks need none.  Make sure of it.
export ROVER_ENGINE=unix://$work/no-engine.sock
unset DOCKER_HOST CONTAINER_HOST

printf '%-8s %9s %9s %9s %s\n' tasks mean_ms median_ms min_ms tool
for n in "${sizes[@]}"; do
	store=$work/store-$n
	python3 "$root/bench/gen_store.py" "$store" "$n"
	export ROVER_STORE=$store
	got=$("$rover" list --json | jq length)
	[ "$got" -eq "$n" ] || { echo "list returned $got of $n tasks" >&2; exit 1; }
	if command -v hyperfine >/dev/null; then
		hyperfine -N --warmup 3 --runs 30 --export-json "$work/h.json" \
			"$rover list --json" >/dev/null 2>&1
		jq -r --arg n "$n" '.results[0] | [$n, (.mean*1000), (.median*1000), (.min*1000)] |
			"\(.[0]) \(.[1]) \(.[2]) \(.[3])"' "$work/h.json" |
			awk '{printf "%-8s %9.1f %9.1f %9.1f hyperfine\n", $1, $2, $3, $4}'
	else
		ts=()
		for _ in $(seq 30); do
			t0=$(date +%s%N)
			"$rover" list --json >/dev/null
			ts+=($((($(date +%s%N) - t0) / 1000)))
		done
		printf '%s\n' "${ts[@]}" | sort -n | awk -v n="$n" '{a[NR]=$1; s+=$1}
			END {printf "%-8s %9.1f %9.1f %9.1f loop\n", n, s/NR/1000, a[int((NR+1)/2)]/1000, a[1]/1000}'
	fi
done
