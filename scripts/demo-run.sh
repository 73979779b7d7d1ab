#!/usr/bin/env bash
# The demo (scripts/demo.sh installs and builds first): a real task in a real
# container whose agent hits a (simulated) rate limit.  The task pauses with its
# checkpoint saved; `rover resume` starts a new container that skips the step
# that had completed and finishes the work.
#
# Engines come from scripts/engines.sh (dockerd and the Podman API service on
# sockets under /run/rover-test); ROVER_DEMO_ENGINE=docker|podman picks one,
# else the first that started.  The demo project is left in /tmp for a look.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rover=$root/bin/rover
bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

bold "0. engines and the demo image"
"$root/scripts/engines.sh" start
eval "$("$root/scripts/engines.sh" env)"
"$root/scripts/build-image.sh"
engine=${ROVER_DEMO_ENGINE:-}
if [ -z "$engine" ]; then
	for e in docker podman; do
		sock=$([ $e = docker ] && echo "$ROVER_TEST_DOCKER_SOCK" || echo "$ROVER_TEST_PODMAN_SOCK")
		if [ -S "$sock" ]; then engine=$e; break; fi
	done
fi
[ -n "$engine" ] || { echo "demo: no engine could be started" >&2; exit 1; }
sock=$([ "$engine" = docker ] && echo "$ROVER_TEST_DOCKER_SOCK" || echo "$ROVER_TEST_PODMAN_SOCK")
export ROVER_ENGINE=unix://$sock ROVER_AGENT_IMAGE=rover-agent-test:latest ROVER_NETWORK=none
unset ROVER_STORE DOCKER_HOST CONTAINER_HOST
echo "using $engine at $ROVER_ENGINE"

project=$(mktemp -d /tmp/rover-demo.XXXXXX)
cd "$project"
git init -q
git -c user.email=demo@example.invalid -c user.name=demo commit -q --allow-empty -m "demo project"
cp "$root/demo/rate-limit.yml" workflow.yml

# wait_for ID STATUS...: poll until the task has one of STATUS, with a progress line
wait_for() {
	local id=$1 s t0=$SECONDS
	shift
	while :; do
		s=$("$rover" inspect --json "$id" | jq -r .status)
		for want in "$@"; do [ "$s" = "$want" ] && { printf '\n'; return 0; }; done
		printf '\r⏳ task %s is %s (%ds)   ' "$id" "$s" $((SECONDS - t0))
		[ $((SECONDS - t0)) -lt 120 ] || { echo; echo "demo: task $id stuck in $s" >&2; return 1; }
		sleep 0.5
	done
}

bold "1. rover task: the agent step will hit a usage limit"
id=$("$rover" task -w workflow.yml "Implement the feature")
wait_for "$id" PAUSED COMPLETED FAILED
"$rover" list

bold "2. rover inspect: paused, checkpoint saved, provider reset time known"
"$rover" inspect "$id"

bold "3. rover logs: what the container printed"
"$rover" logs "$id" | tail -n 8

bold "4. rover resume: a new container skips the completed step"
"$rover" resume "$id"
wait_for "$id" COMPLETED FAILED PAUSED
"$rover" logs "$id" | grep -E 'Skipping|completed|Resuming' || true

bold "5. result"
"$rover" list
echo "each step ran once in the task's worktree:"
cat "$("$rover" info --json | jq -r .store)/workspaces/$id/steps.log"
status=$("$rover" inspect --json "$id" | jq -r .status)
echo
echo "demo project: $project   (rover delete $id --force there to clean up)"
[ "$status" = COMPLETED ]
