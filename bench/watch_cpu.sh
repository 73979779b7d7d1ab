#!/usr/bin/env bash
# CPU of `rover list --watch` over a store of 10,000 tasks (bench/gen_store.py:
# 60% COMPLETED, 25% FAILED, 15% PAUSED), on a terminal of 50x200 (a pty):
#   idle     CPU over 15 s with nothing changing
#   change   CPU per changed task: one status.json rewritten by rename, N
#            times (tasks 1..N), each measured until the process is quiet
# each with the engine reachable (ROVER_ENGINE and the tasks' recorded
# endpoint = the test Docker, so the event streams are up) and unreachable
# (both a socket nobody answers: the loop falls back to checking the running
# tasks' containers every 5 s, supervise.h); and the floor: reading and
# parsing one task's description.json and status.json
# (bench/watch_floor.c).  CPU is the process's own (all threads, user and
# kernel) from /proc/PID/task/*/schedstat (bench/watch_cpu.py).
#
#   bench/watch_cpu.sh [N] [TASKS]      (default 30 changes, 10000 tasks)
#
# The watch is kept an observer: another process holds the scheduler lock
# (.supervisor.lock), or it would fire the due auto-retries of the PAUSED
# tasks.  Goal (issue 14): change < 2 ms, idle < 0.01 s per 15 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-30}
tasks=${2:-10000}
build=${BUILD:-build}
make -s -C "$root" -j2 all "$build/bench/watch_floor" >/dev/null
rover=${ROVER_BIN:-$root/bin/rover} # ROVER_BIN: another build, e.g. to compare
work=$(mktemp -d /var/tmp/rover-bench-watch.XXXXXX)
trap 'pids=$(jobs -p); [ -z "$pids" ] || kill $pids 2>/dev/null; rm -rf "$work"' EXIT
store=$work/store
python3 "$root/bench/gen_store.py" "$store" "$tasks"
export ROVER_STORE=$store
unset DOCKER_HOST CONTAINER_HOST
# The lock holder is the job itself (exec), so the trap's kill ends it:
# `flock FILE sleep` would leave its sleep behind, holding nothing useful.
(exec 9>"$store/.supervisor.lock" && flock -n 9 && exec sleep 100000) &
sleep 0.2
cd "$work"

"$root/$build/bench/watch_floor" "$store" 2000
live=unix:///run/rover-test/docker.sock
dead=unix://$work/dead.sock
for engine in reachable unreachable; do
	if [ $engine = reachable ]; then
		export ROVER_ENGINE=$live
	else
		export ROVER_ENGINE=$dead
		find "$store/tasks" -name description.json -exec sed -i "s#$live#$dead#" {} +
	fi
	python3 "$root/bench/watch_cpu.py" "$rover" "$store" "$n" 15 |
		awk -v e="$engine" -v t="$tasks" '
			$1 == "idle" { printf "list --watch, %d tasks, engine %s: idle %.4f s CPU per %d s\n", t, e, $2, $3 }
			$1 == "change" { printf "list --watch, %d tasks, engine %s: %.2f ms CPU per changed task (n=%d)\n", t, e, $2, $3 }'
done
