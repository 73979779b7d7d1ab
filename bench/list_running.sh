#!/usr/bin/env bash
# The cost of running tasks in a listing: `rover list --json` and `rover list`
# over N tasks (default 10,000) with 10 % of them running, against the same
# store with none running (bench/gen_store.py).  Goal (issue: performance):
# within 1.2x.  The running tasks' engine is unreachable, so what is measured
# is rover's own work per running task (status file, record, lock, orphan
# bookkeeping), not an engine's answer.  Medians of RUNS runs (bench/spawn_time).
#
#   bench/list_running.sh [N] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
runs=${2:-15}
make -s -C "$root" all build/bench/spawn_time >/dev/null
rover=$root/bin/rover
spawn=$root/build/bench/spawn_time
work=$(mktemp -d /var/tmp/rover-bench-running.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
export ROVER_ENGINE=unix://$work/no-engine.sock
unset DOCKER_HOST CONTAINER_HOST
python3 "$root/bench/gen_store.py" "$work/idle" "$n" >/dev/null
python3 "$root/bench/gen_store.py" "$work/busy" "$n" 10 >/dev/null
median() { # store args...
	local store=$1
	shift
	ROVER_STORE=$store "$rover" "$@" >/dev/null 2>&1 || true # settle once (cache, records)
	ROVER_STORE=$store "$spawn" "$runs" /bin/sh -c "'$rover' $* >/dev/null 2>&1; exit 0" |
		awk '{print $2}'
}
printf '%-18s %7s %12s %12s %7s\n' command tasks none_us running10_us ratio
for args in "list --json" "list"; do
	a=$(median "$work/idle" $args)
	b=$(median "$work/busy" $args)
	printf '%-18s %7d %12d %12d %7.2f\n' "$args" "$n" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
