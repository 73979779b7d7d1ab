#!/usr/bin/env bash
# What rover adds to a container run: `rover task` of a one-step workflow until
# the task is COMPLETED, against a bare Engine API create+start+wait+remove of
# the same image and command (build/bench/bare_lifecycle, rover's engine client
# alone).  RUNS runs of each on each engine, alternating; medians and the
# ratio rover_ms / bare_ms (goal: at most 1.2).
#
#   bench/task_overhead.sh [RUNS]            (default 10)
#   ROVER_BENCH_ENGINES="docker podman"      which engines (default both)
#   BUILD=build-x BINDIR=build-x/bin         build dir and binaries (default build, bin)
#
# rover's run = `rover task` (store, worktree, container start) + `rover logs -f`
# (returns when the container ends) + `rover inspect` (records COMPLETED).  The
# `rover delete` afterwards (container, worktree, branch, task dir) is shown
# apart (del_ms), as are the parts of rover's figure: task_ms (the `rover task`
# command), wait_ms (`rover logs -f` until the container ends), insp_ms.
# A second rover run per round measures the other way a user waits for a
# task: `rover task` + `rover wait` (returns once COMPLETED is recorded):
# wait_flow_ms and its ratio.  The engines and the image come from
# scripts/engines.sh and scripts/build-image.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
engines=${ROVER_BENCH_ENGINES:-docker podman}
image=${ROVER_TEST_IMAGE:-rover-agent-test:latest}
cmd='echo hello'

build=${BUILD:-build}
bindir=${BINDIR:-bin}
make -s -C "$root" BUILD="$build" BINDIR="$bindir" all "$build/bench/bare_lifecycle" >/dev/null
eval "$("$root/scripts/engines.sh" env)"
rover=$root/$bindir/rover
bare=$root/$build/bench/bare_lifecycle

# The clock is read without a process (bash's EPOCHREALTIME): a `date` per
# reading would add its own start-up, twice, inside rover's interval.
stamp() { printf -v "$1" '%s' $((${EPOCHREALTIME//[!0-9]/} / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

proj=$(mktemp -d /tmp/rover-bench.XXXXXX)
trap 'cd /; rm -rf "$proj"' EXIT
git -C "$proj" init -q
git -C "$proj" -c user.email=b@example.invalid -c user.name=bench commit -q --allow-empty -m init
cat >"$proj/wf.yml" <<YML
version: '1.0'
name: trivial
steps:
  - id: hello
    type: command
    command: $cmd
YML
cd "$proj"
export ROVER_AGENT_IMAGE=$image ROVER_NETWORK=none
unset DOCKER_HOST CONTAINER_HOST ROVER_STORE
# the store of this throw-away project, under it: removed with it
export XDG_DATA_HOME=$proj.data
trap 'cd /; rm -rf "$proj" "$proj.data"' EXIT
store=$("$rover" info --json 2>/dev/null | jq -r .store)
mkdir -p "$store/tasks"
# ids far from any test run's: container names are per engine
echo $(((RANDOM << 15 | RANDOM) * 100 + 5000000000)) >"$store/tasks/.last-id"

printf '%-7s %5s %8s %9s %7s | %8s %8s %8s %8s | %12s %7s\n' engine runs bare_ms rover_ms ratio \
	task_ms wait_ms insp_ms del_ms wait_flow_ms ratio
for engine in $engines; do
	case $engine in
	docker) sock=$ROVER_TEST_DOCKER_SOCK ;;
	podman) sock=$ROVER_TEST_PODMAN_SOCK ;;
	*) echo "unknown engine $engine" >&2; exit 2 ;;
	esac
	if [ ! -S "$sock" ]; then
		echo "$engine: no socket at $sock (scripts/engines.sh start); skipped" >&2
		continue
	fi
	export ROVER_ENGINE=unix://$sock
	# one warm-up of each (image layers, page cache)
	"$bare" "$ROVER_ENGINE" "$image" 1 /bin/sh -c "$cmd" >/dev/null 2>&1
	# Bare and rover runs alternate, so a machine whose load changes during
	# the benchmark (other jobs on a shared host) weighs on both alike.
	b_all=() r_all=() k_all=() w_all=() i_all=() d_all=() f_all=()
	for i in $(seq 0 "$runs"); do
		bi=$("$bare" "$ROVER_ENGINE" "$image" 1 /bin/sh -c "$cmd" 2>"$proj/bare.err" | awk '/^median_ms/{print $2}') ||
			{ echo "$engine: bare run failed: $(cat "$proj/bare.err")" >&2; exit 1; }
		stamp t0
		id=$("$rover" task -w wf.yml "bench $i" 2>"$proj/task.err") ||
			{ echo "$engine: rover task failed: $(cat "$proj/task.err")" >&2; exit 1; }
		stamp ta
		"$rover" logs -f "$id" >/dev/null 2>&1
		stamp tb
		# jq's own start (about 30 ms) is not rover's: it parses after the clock
		out=$("$rover" inspect --json "$id" 2>/dev/null) || true
		stamp t1
		s=$(jq -r .status <<<"$out")
		"$rover" delete "$id" >/dev/null 2>&1
		stamp t2
		if [ "$s" != COMPLETED ]; then
			echo "$engine: task $id ended $s" >&2
			exit 1
		fi
		# the same task started and waited for with `rover wait`
		stamp t3
		id2=$("$rover" task -w wf.yml "bench wait $i" 2>"$proj/task.err") ||
			{ echo "$engine: rover task failed: $(cat "$proj/task.err")" >&2; exit 1; }
		"$rover" wait "$id2" >/dev/null 2>&1 ||
			{ echo "$engine: rover wait $id2 exited $?" >&2; exit 1; }
		stamp t4
		"$rover" delete "$id2" >/dev/null 2>&1
		[ "$i" -eq 0 ] && continue # warm-up
		b_all+=("$bi")
		r_all+=($((t1 - t0)))
		k_all+=($((ta - t0)))
		w_all+=($((tb - ta)))
		i_all+=($((t1 - tb)))
		d_all+=($((t2 - t1)))
		f_all+=($((t4 - t3)))
	done
	med() { printf '%s\n' "$@" | median; }
	b=$(med "${b_all[@]}")
	r=$(med "${r_all[@]}")
	f=$(med "${f_all[@]}")
	printf '%-7s %5d %8d %9d %7s | %8d %8d %8d %8d | %12d %7s\n' "$engine" "$runs" "$b" "$r" \
		"$(awk -v r="$r" -v b="$b" 'BEGIN {printf "%.2f", r / b}')" \
		"$(med "${k_all[@]}")" "$(med "${w_all[@]}")" "$(med "${i_all[@]}")" "$(med "${d_all[@]}")" \
		"$f" "$(awk -v r="$f" -v b="$b" 'BEGIN {printf "%.2f", r / b}')"
done
