#!/usr/bin/env bash
# The cost of running tasks in a listing: `rover list --json` and `rover list`
# (the table, into a pipe) over N tasks (default 10,000) with 10 % of them
# running, against the same store with none running (bench/gen_store.py),
# both warm (a first run fills the caches).  Goal (issue: performance):
# within 1.2x.  The running tasks' engine is unreachable, so what is measured
# is rover's own work per running task (record and status-file keys, the
# cache, the one failed engine connection, the table's warning per task),
# not an engine's answer.  The floor: `cat` of every description.json and of
# the running tasks' status.json.  RUNS runs each (bench/runtime.py): median
# wall time, median CPU time (user + system) and least CPU time, the
# steadier figures on a loaded machine; the ratio is given for each.
#
#   bench/list_running.sh [N] [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
runs=${2:-15}
[ -n "${BINDIR:-}" ] || make -s -C "$root" all >/dev/null
rover=${BINDIR:-$root/bin}/rover # BINDIR: another build to compare
work=$(mktemp -d /var/tmp/rover-bench-running.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
export ROVER_ENGINE=unix://$work/no-engine.sock
unset DOCKER_HOST CONTAINER_HOST
python3 "$root/bench/gen_store.py" "$work/idle" "$n" >/dev/null
python3 "$root/bench/gen_store.py" "$work/busy" "$n" 10 >/dev/null

measure() { # store args... -> "wall_us cpu_us"
	local store=$1
	shift
	ROVER_STORE=$store "$rover" "$@" >/dev/null 2>&1 || true # settle once (cache, records)
	ROVER_STORE=$store python3 "$root/bench/runtime.py" "$runs" "$rover" "$@"
}
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

{
	printf '%s\0' "$work"/busy/tasks/*/description.json
	grep -l '"ITERATING"' "$work"/busy/tasks/*/description.json |
		sed 's,/description.json$,/iterations/1/status.json,' | tr '\n' '\0'
} >"$work/files"
read -r fw fc fm < <(python3 "$root/bench/runtime.py" "$runs" xargs -0 -a "$work/files" cat)
printf '%-12s %6s %9s %9s %9s %9s %9s %9s %7s %7s %7s\n' command tasks none_wall run10_wall \
	none_cpu run10_cpu none_min run10_min x_wall x_cpu x_min
for args in "list --json" "list"; do
	# shellcheck disable=SC2086
	read -r aw ac am < <(measure "$work/idle" $args)
	# shellcheck disable=SC2086
	read -r bw bc bm < <(measure "$work/busy" $args)
	printf '%-12s %6d %9s %9s %9s %9s %9s %9s %7s %7s %7s\n' "$args" "$n" "$(ms "$aw")" \
		"$(ms "$bw")" "$(ms "$ac")" "$(ms "$bc")" "$(ms "$am")" "$(ms "$bm")" \
		"$(ratio "$bw" "$aw")" "$(ratio "$bc" "$ac")" "$(ratio "$bm" "$am")"
done
printf '%-12s %6d %9s %9s %9s %9s %9s %9s  (floor: the files of the running store)\n' "cat" "$n" \
	"-" "$(ms "$fw")" "-" "$(ms "$fc")" "-" "$(ms "$fm")"
echo "(times in ms; none: no task running, run10: 10 % running)"
