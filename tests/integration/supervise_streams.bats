#!/usr/bin/env bats
# One supervisor, tasks on both engines: the loop polls every engine event
# stream itself (supervise.h), so a container killed on either engine is
# seen at once, not at the next full pass (30 s) or a fallback check (5 s).
# Needs Docker and Podman both; skipped when either socket is missing.

load helpers
load rover_helpers
load rover_durable_cases

setup() {
	require_engine podman
	dur_setup docker
	# both endpoints configured: ROVER_ENGINE (docker) and CONTAINER_HOST
	# (podman); a record may only name a configured one
	export CONTAINER_HOST=$(engine_uri podman)
	# container names are per engine: start ids at a random number
	echo $(((RANDOM << 15 | RANDOM) * 100 + 14000000)) >"$STORE/tasks/.last-id"
	write_wf long.yml <<'YML'
version: '1.0'
name: long
steps:
  - id: work
    type: command
    command: sleep 300
YML
}

teardown() {
	cleanup_label podman "rover.store=$STORE"
	dur_teardown
}

new_task_on() { # ENGINE DESCRIPTION -> TID
	local out
	out=$(ROVER_ENGINE=$(engine_uri "$1") "$ROVER" task --json -w long.yml "$2") ||
		{ echo "rover task on $1 failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	[[ $TID =~ ^[0-9]+$ ]]
}

container_of() { # ID
	jq -r '.containerId // empty' "$STORE/tasks/$1/description.json"
}

# kill_seen ENGINE ID LOG: SIGKILL the task's container on ENGINE and
# expect the supervisor to report the task's end within 4 s.
kill_seen() {
	local cid t0
	cid=$(container_of "$2")
	[ -n "$cid" ]
	t0=$SECONDS
	probe "$1" kill "$cid" 9 >/dev/null
	wait_log "$3" "task $2: (IN_PROGRESS|ITERATING) -> FAILED" 4
	[ $((SECONDS - t0)) -le 4 ]
}

@test "docker and podman: one supervisor sees a container killed on either engine at once" {
	new_task_on docker "on docker"
	local d=$TID
	new_task_on podman "on podman"
	local p=$TID
	local deadline=$((SECONDS + 60))
	until [ -n "$(container_of "$d")" ] && [ -n "$(container_of "$p")" ]; do
		[ $SECONDS -lt $deadline ] || { echo "no container ids" >&2; return 1; }
		sleep 0.1
	done
	start_supervise sup
	# both streams open: the first pass has run
	wait_log "$P/sup.log" "schedules auto-retries" 10
	sleep 1
	# the engine that is not first in the store's order as well as the first
	kill_seen podman "$p" "$P/sup.log"
	kill_seen docker "$d" "$P/sup.log"
	! grep -q "event stream lost" "$P/sup.log"
}
