#!/usr/bin/env bash
# Time from a container's exit to its task's new status in description.json,
# with `rover supervise` running (goal: under 1 s), per engine.
#
#   bench/exit_to_status.sh [N]     N runs of each kind (default 10)
#
# Two kinds of exit:
#   kill  the container is SIGKILLed through the engine: only the engine can
#         tell (event stream -> orphan decision -> FAILED);
#   done  the workflow finishes: the runner writes status.json before it
#         exits, so the status may be on disk before the container is gone
#         (a negative figure).
# Latency = mtime of description.json (written once, when the status changed)
# minus the container's State.FinishedAt from the engine: no polling error.
# Engines: ROVER_TEST_ENGINES (default "docker podman"), started by
# scripts/engines.sh; the image from scripts/build-image.sh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10}
engines=${ROVER_TEST_ENGINES:-docker podman}
rover=$root/bin/rover
probe=$root/build/tests/tools/engine_probe
make -C "$root" -s -j2 all tools >/dev/null
"$root/scripts/engines.sh" start >/dev/null
"$root/scripts/build-image.sh" >/dev/null
eval "$("$root/scripts/engines.sh" env)"

stats() { # label values... -> "label: median M ms, p90 P ms, max X ms (n=N)"
	local label=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v l="$label" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print l ": no data"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			p = v[int(0.9 * NR + 0.999)]
			printf "%s: median %d ms, p90 %d ms, max %d ms (n=%d)\n", l, m, p, v[NR], NR
		}'
}

mtime_ms() { stat -c %.3Y "$1" | tr -d .; }

wait_for() { # file jq-filter value seconds
	local deadline=$((SECONDS + $4))
	until [ "$(jq -r "$2" "$1" 2>/dev/null)" = "$3" ]; do
		[ $SECONDS -lt $deadline ] || { echo "timeout waiting for $2 = $3 in $1" >&2; return 1; }
		sleep 0.01
	done
}

for engine in $engines; do
	case $engine in
	docker) sock=$ROVER_TEST_DOCKER_SOCK ;;
	podman) sock=$ROVER_TEST_PODMAN_SOCK ;;
	*) echo "unknown engine $engine" >&2; exit 2 ;;
	esac
	uri=unix://$sock
	P=$(mktemp -d /tmp/rover-bench-exit.XXXXXX)
	export ROVER_STORE=$P.store STORE=$P.store
	git -C "$P" init -q
	git -C "$P" -c user.email=b@example.invalid -c user.name=bench commit -q --allow-empty -m init
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 3000000)) >"$STORE/tasks/.last-id"
	cat >"$P/wf.yml" <<'YML'
version: '1.0'
name: waiting
steps:
  - id: wait
    type: command
    command: touch waiting; while [ ! -e GO ]; do sleep 0.05; done
YML
	(
		cd "$P"
		export ROVER_ENGINE=$uri ROVER_AGENT_IMAGE=${ROVER_TEST_IMAGE:-rover-agent-test:latest} \
			ROVER_NETWORK=none
		unset DOCKER_HOST CONTAINER_HOST
		"$rover" supervise >"$P/supervise.log" 2>&1 &
		sup=$!
		trap 'kill $sup 2>/dev/null; "$probe" "$uri" list "rover.store=$STORE" 2>/dev/null |
			while read -r id _; do "$probe" "$uri" rm -f "$id" >/dev/null 2>&1; done; rm -rf "$P" "$STORE"' EXIT
		sleep 0.5
		kill_lat=() done_lat=()
		for i in $(seq 1 "$n"); do
			for kind in kill done; do
				id=$("$rover" task --json -w wf.yml "bench $kind $i" | jq -r .taskId)
				desc=$STORE/tasks/$id/description.json
				ws=$STORE/workspaces/$id
				while [ ! -e "$ws/waiting" ]; do sleep 0.02; done
				wait_for "$desc" .status ITERATING 10
				cid=$(jq -r .containerId "$desc")
				if [ $kind = kill ]; then
					"$probe" "$uri" kill "$cid" 9
					wait_for "$desc" .status FAILED 10
				else
					touch "$ws/GO"
					wait_for "$desc" .status COMPLETED 10
				fi
				"$probe" "$uri" wait "$cid" >/dev/null
				fin=$("$probe" "$uri" inspect "$cid" | sed -n 's/^finished_at_ms=//p')
				lat=$(($(mtime_ms "$desc") - fin))
				if [ $kind = kill ]; then kill_lat+=("$lat"); else done_lat+=("$lat"); fi
			done
		done
		stats "$engine kill -> FAILED" "${kill_lat[@]}"
		stats "$engine done -> COMPLETED" "${done_lat[@]}"
	)
done
