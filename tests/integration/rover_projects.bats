#!/usr/bin/env bats
# Two projects on one engine: the same task ids, the same container names by
# the contract, and neither may touch the other's containers.

load helpers
load rover_helpers

setup() { rover_setup docker; }
teardown() {
	[ -n "${STORE2:-}" ] && cleanup_label docker "rover.store=$STORE2"
	[ -n "${P2:-}" ] && rm -rf "$P2"
	rover_teardown
}

@test "task 1 of a second project never removes the first project's container" {
	write_wf wf.yml <<'YML'
version: '1.0'
name: one
steps:
  - id: a
    type: command
    command: echo "project one output"
YML
	run rover task -w wf.yml --json "first"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq .taskId)" = 1 ]
	wait_status 1 COMPLETED 60
	first_cid=$(task_json 1 | jq -r .containerId)

	P2=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-proj2.XXXXXX")
	git -C "$P2" init -q
	git -C "$P2" -c user.email=t@x.invalid -c user.name=t commit -q --allow-empty -m init
	cp "$P/wf.yml" "$P2/wf.yml"
	cd "$P2"
	STORE2=$("$ROVER" info --json | jq -r .store)
	[ "$STORE2" != "$STORE" ]
	run "$ROVER" task -w wf.yml --json "second"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq .taskId)" = 1 ]
	wait_status 1 COMPLETED 60
	second_cid=$("$ROVER" inspect --json 1 | jq -r .containerId)
	[ "$first_cid" != "$second_cid" ]

	# the first project's container is still there, with its output
	cd "$P"
	run probe docker inspect "$first_cid"
	[ "$status" -eq 0 ]
	[ "$(task_json 1 | jq -r .container.state)" = exited ]
	run rover logs 1
	[[ "$output" == *"project one output"* ]]
}

@test "a finished task's output is in container.log without an empty header" {
	write_wf wf.yml <<'YML'
version: '1.0'
name: one
steps:
  - id: a
    type: command
    command: echo "visible output"
YML
	run rover task -w wf.yml "logs"
	[ "$status" -eq 0 ]
	wait_status 1 COMPLETED 60
	log="$STORE/tasks/1/iterations/1/container.log"
	grep -q "visible output" "$log"
	[ "$(grep -c '^==== container' "$log")" -eq 1 ]
	rover list >/dev/null   # observing again must not save it twice
	[ "$(grep -c '^==== container' "$log")" -eq 1 ]
}
