#!/usr/bin/env bats
# The engine client (supervisor/lib/engine*.c) against the real Docker and
# Podman started by scripts/engines.sh, through tests/tools/engine_probe:
# kind detection, lifecycle and exit codes, log demultiplexing, signals,
# 404 vs a dead engine, the die event within a second, list by label, TCP.

load helpers

setup_file() {
	RUN_LABEL=$(test_run_label)
	export RUN_LABEL
}

teardown_file() {
	cleanup_label docker "$RUN_LABEL"
	cleanup_label podman "$RUN_LABEL"
}

# run_ctr ENGINE [OPTS] CMD...: create+start+wait with our labels
run_ctr() {
	local e=$1
	shift
	run probe "$e" run --label rover.test=1 --label "$RUN_LABEL" "$ROVER_TEST_IMAGE" "$@"
}

ctr_id() { # from run_ctr's output
	sed -n 's/^id //p' <<<"$output"
}

check_kind() { # engine
	require_engine "$1"
	run probe "$1" kind
	[ "$status" -eq 0 ]
	[ "$output" = "$1 1.41 $(engine_uri "$1")" ]
	run probe "$1" ping
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

check_exit_code() { # engine
	require_engine "$1"
	run_ctr "$1" sh -c 'exit 3'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "exit 3" ]
	run probe "$1" inspect "$(ctr_id)"
	[ "$status" -eq 0 ]
	grep -qx 'status=exited' <<<"$output"
	grep -qx 'exit_code=3' <<<"$output"
	grep -qx 'running=0' <<<"$output"
	grep -qx 'label.rover.test=1' <<<"$output"
}

check_logs() { # engine
	require_engine "$1"
	run_ctr "$1" sh -c 'echo out1; echo err1 >&2; printf "out2 no newline"; echo err2 >&2'
	[ "$status" -eq 0 ]
	id=$(ctr_id)
	probe "$1" logs "$id" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(printf 'out1\nout2 no newline')" ]
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = "$(printf 'err1\nerr2')" ]
}

check_kill() { # engine
	require_engine "$1"
	run probe "$1" create --label rover.test=1 --label "$RUN_LABEL" "$ROVER_TEST_IMAGE" \
		sh -c 'trap "echo got TERM; exit 143" TERM; echo ready; while :; do sleep 0.05; done'
	[ "$status" -eq 0 ]
	id=$output
	run probe "$1" start "$id"
	[ "$status" -eq 0 ]
	# until the trap is set (the script printed "ready")
	for _ in $(seq 100); do
		probe "$1" logs "$id" 2>/dev/null | grep -q ready && break
		sleep 0.05
	done
	run probe "$1" kill "$id" 15
	[ "$status" -eq 0 ]
	run probe "$1" wait "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "exit 143" ]
	run probe "$1" logs "$id"
	[[ "$output" == *"got TERM"* ]]
	# a stopped container cannot be signalled: ESRCH, not a generic failure
	run probe "$1" kill "$id" 15
	[ "$status" -eq 1 ]
	[[ "$output" == *"code=ESRCH http=409"* ]]
	# stopping a stopped container is fine
	run probe "$1" stop "$id" 1
	[ "$status" -eq 0 ]
}

check_missing_vs_dead() { # engine
	require_engine "$1"
	run probe "$1" inspect rover-test-no-such-container
	[ "$status" -eq 1 ]
	[[ "$output" == *"code=ENOENT http=404"* ]]
	[[ "$output" == *"cannot inspect container 'rover-test-no-such-container'"* ]]
	# a socket path where nothing listens is a dead engine, never ENOENT
	run "$PROBE" "unix://$BATS_TEST_TMPDIR/nothing.sock" inspect x
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot connect to the engine at unix://$BATS_TEST_TMPDIR/nothing.sock"* ]]
	[[ "$output" == *"code=ECONNREFUSED http=0"* ]]
}

check_die_event() { # engine
	require_engine "$1"
	run probe "$1" run-events --label rover.test=1 --label "$RUN_LABEL" "$ROVER_TEST_IMAGE" \
		sh -c 'exit 4'
	[ "$status" -eq 0 ]
	read -r word code ms <<<"${lines[0]}"
	[ "$word" = die ]
	[ "$code" = 4 ]
	echo "die event ${ms} ms after start returned" >&3
	[ "$ms" -lt 1000 ]
}

check_list() { # engine
	require_engine "$1"
	local mine="rover.test.list=$BATS_ROOT_PID-$1"
	run probe "$1" create --label rover.test=1 --label "$RUN_LABEL" --label "$mine" \
		"$ROVER_TEST_IMAGE" true
	a=$output
	run probe "$1" create --label rover.test=1 --label "$RUN_LABEL" --label "$mine" \
		"$ROVER_TEST_IMAGE" true
	b=$output
	run probe "$1" create --label rover.test=1 --label "$RUN_LABEL" "$ROVER_TEST_IMAGE" true
	other=$output
	[ -n "$a" ]
	[ -n "$b" ]
	[ -n "$other" ]
	run probe "$1" list "$mine"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(cut -d' ' -f1 <<<"$output" | sort)" = "$(printf '%s\n' "$a" "$b" | sort)" ]
	# two filters: both must match
	run probe "$1" list "$mine" rover.test=1
	[ "${#lines[@]}" -eq 2 ]
	run probe "$1" rm -f "$a"
	[ "$status" -eq 0 ]
	run probe "$1" list "$mine"
	[ "$output" = "$b $(probe "$1" inspect "$b" | sed -n 's/^name=//p') created" ]
}

@test "docker: ping answers and the kind is docker, API 1.41" { check_kind docker; }
@test "podman: ping answers and the kind is podman, API 1.41" { check_kind podman; }

@test "docker: create+start+wait of a container exiting 3 gives 3" { check_exit_code docker; }
@test "podman: create+start+wait of a container exiting 3 gives 3" { check_exit_code podman; }

@test "docker: logs are split into stdout and stderr" { check_logs docker; }
@test "podman: logs are split into stdout and stderr" { check_logs podman; }

@test "docker: SIGTERM reaches PID 1 (exit 143); killing a stopped one is ESRCH" { check_kill docker; }
@test "podman: SIGTERM reaches PID 1 (exit 143); killing a stopped one is ESRCH" { check_kill podman; }

@test "docker: a missing container is ENOENT/404, a dead socket ECONNREFUSED" { check_missing_vs_dead docker; }
@test "podman: a missing container is ENOENT/404, a dead socket ECONNREFUSED" { check_missing_vs_dead podman; }

@test "docker: the event stream reports the die and exit code within a second" { check_die_event docker; }
@test "podman: the event stream reports the die and exit code within a second" { check_die_event podman; }

@test "docker: list by label finds exactly the labelled containers" { check_list docker; }
@test "podman: list by label finds exactly the labelled containers" { check_list podman; }

@test "docker: the tcp endpoint works (kind, run, exit code)" {
	require_engine docker
	run "$PROBE" "$ROVER_TEST_DOCKER_TCP" kind
	[ "$status" -eq 0 ]
	[ "$output" = "docker 1.41 $ROVER_TEST_DOCKER_TCP" ]
	run "$PROBE" "$ROVER_TEST_DOCKER_TCP" run --label rover.test=1 --label "$RUN_LABEL" \
		"$ROVER_TEST_IMAGE" sh -c 'exit 5'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "exit 5" ]
}

@test "discovery: DOCKER_HOST and CONTAINER_HOST pick the engine; ROVER_ENGINE wins" {
	require_engine docker
	require_engine podman
	run env -u ROVER_ENGINE DOCKER_HOST="$(engine_uri podman)" "$PROBE" discover kind
	[ "$status" -eq 0 ]
	[[ "$output" == "podman "* ]]
	run env -u ROVER_ENGINE -u DOCKER_HOST CONTAINER_HOST="$(engine_uri docker)" "$PROBE" discover kind
	[[ "$output" == "docker "* ]]
	run env ROVER_ENGINE="$(engine_uri docker)" DOCKER_HOST="$(engine_uri podman)" "$PROBE" discover kind
	[[ "$output" == "docker "* ]]
	# a set but dead DOCKER_HOST is an error naming it, with no fall-through
	run env -u ROVER_ENGINE DOCKER_HOST="unix://$BATS_TEST_TMPDIR/none.sock" \
		CONTAINER_HOST="$(engine_uri docker)" "$PROBE" discover kind
	[ "$status" -eq 1 ]
	[[ "$output" == *"DOCKER_HOST"*"none.sock"* ]]
}

@test "the test image resolves by its short name on both engines, without a registry" {
	require_engine docker
	require_engine podman
	for e in docker podman; do
		run_ctr "$e" sh -c 'test -x /usr/local/bin/claude && test -d /workspace && test -k /tmp && id -u nobody'
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "exit 0" ]
	done
}
