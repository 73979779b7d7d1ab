#!/usr/bin/env bash
# `rover list --json` and `rover list` (the table, into a pipe) over stores
# of 1,000 and 10,000 finished tasks (60% COMPLETED, 25% FAILED, 15% PAUSED,
# written by bench/gen_store.py), warm (the caches .list-cache and .list-rows
# filled by a first run), each against its floor: `cat` of every
# description.json of the store (what a listing without a cache must read at
# least).  Goal: list --json under 50 ms for 10,000.  RUNS runs each
# (bench/runtime.py): median wall time, median and least CPU time (user +
# system), the steadier figures on a loaded machine.
#
#   bench/list.sh [SIZES...]        (default: 1000 10000); RUNS=15
# Output: one line per size and command: wall and CPU ms, the cat floor's,
# and the ratios.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
runs=${RUNS:-15}
[ -n "${BINDIR:-}" ] || make -s -C "$root" all >/dev/null
rover=${BINDIR:-$root/bin}/rover # BINDIR: another build to compare
work=$(mktemp -d /var/tmp/rover-bench-list.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
# No engine is ever asked: finished tasks need none.  Make sure of it.
export ROVER_ENGINE=unix://$work/no-engine.sock
unset DOCKER_HOST CONTAINER_HOST

ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

printf '%-8s %-12s %8s %8s %8s %9s %8s %8s %7s %7s %7s\n' tasks command wall cpu cpu_min \
	cat_wall cat_cpu cat_min x_wall x_cpu x_min
for n in "${sizes[@]}"; do
	store=$work/store-$n
	python3 "$root/bench/gen_store.py" "$store" "$n"
	export ROVER_STORE=$store
	got=$("$rover" list --json | jq length)
	[ "$got" -eq "$n" ] || { echo "list returned $got of $n tasks" >&2; exit 1; }
	"$rover" list >/dev/null
	printf '%s\0' "$store"/tasks/*/description.json >"$work/files"
	read -r cw cc cm < <(python3 "$root/bench/runtime.py" "$runs" xargs -0 -a "$work/files" cat)
	for args in "list --json" "list"; do
		# shellcheck disable=SC2086
		read -r w c m < <(python3 "$root/bench/runtime.py" "$runs" "$rover" $args)
		printf '%-8s %-12s %8s %8s %8s %9s %8s %8s %7s %7s %7s\n' "$n" "$args" "$(ms "$w")" \
			"$(ms "$c")" "$(ms "$m")" "$(ms "$cw")" "$(ms "$cc")" "$(ms "$cm")" \
			"$(ratio "$w" "$cw")" "$(ratio "$c" "$cc")" "$(ratio "$m" "$cm")"
	done
done
echo "(times in ms: median wall, median and least CPU; x_: rover against cat of the records)"
