#!/usr/bin/env bats
# Engine errors say what to do (docs/design/errors.md), with no engine at
# all: a socket that does not exist, a socket nobody answers on, a socket
# the user may not open.  Nothing is created when rover cannot connect.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ROVER=${ROVER_BIN_DIR:-$ROOT/bin}/rover
DOWN_HINT="is the engine running? set ROVER_ENGINE or --engine"
PERM_HINT="add yourself to the docker group (or run rootless podman)"

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-engerr.XXXXXX")
	chmod 755 "$T"
	P=$T/proj
	mkdir -p "$P"
	git -C "$P" init -q
	git -C "$P" -c user.email=t@example.invalid -c user.name=test commit -q --allow-empty -m init
	unset ROVER_STORE DOCKER_HOST CONTAINER_HOST ROVER_AGENT_IMAGE
	export XDG_DATA_HOME=$T/xdg/data XDG_CONFIG_HOME=$T/xdg/config
	export ROVER_ENGINE=unix://$T/missing.sock
	cd "$P"
}

teardown() {
	[ -n "${SOCK_PID:-}" ] && kill "$SOCK_PID" 2>/dev/null
	cd /
	rm -rf "$T"
}

# listen_socket PATH MODE: a unix socket that accepts and never answers
# (python3, as the provider stub of tests/agents uses), with that mode.
listen_socket() {
	python3 - "$1" "$2" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
os.chmod(sys.argv[1], int(sys.argv[2], 8))
time.sleep(120)
PY
	SOCK_PID=$!
	local i
	for i in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
	echo "no socket at $1" >&2
	return 1
}

store_has_no_task() {
	local store
	store=$("$ROVER" info --json | jq -r .store)
	[ -z "$(find "$store/tasks" -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null)" ]
	[ -z "$(git -C "$P" branch --list 'rover/*')" ]
}

@test "a socket that does not exist: 'is the engine running?', nothing created" {
	run "$ROVER" task --image some-image:1 "do it"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot connect to the engine at unix://$T/missing.sock: No such file or directory"* ]]
	[[ "$output" == *"$DOWN_HINT"* ]]
	# one line, the hint said once
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	[ "$(echo "$output" | grep -o "is the engine running" | wc -l)" -eq 1 ]
	store_has_no_task
	# init: refused, nothing written
	run "$ROVER" init --image some-image:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"the engine does not answer"*"$DOWN_HINT"* ]]
	[ ! -e "$P/rover.json" ]
	[ ! -e "$XDG_CONFIG_HOME/rover/config.json" ]
}

@test "the default places tried: every one named, the hint once at the end" {
	unset ROVER_ENGINE
	export XDG_RUNTIME_DIR=$T/run
	run "$ROVER" info --json
	[ "$status" -eq 0 ]
	err=$(echo "$output" | jq -r .engine.error)
	if [ "$err" = null ]; then
		skip "an engine answers at a default socket on this machine"
	fi
	[[ "$err" == "no container engine answers (tried the default places): "* ]]
	[[ "$err" == *"$T/run/podman/podman.sock"* ]]
	[[ "$err" == *"; $DOWN_HINT" ]]
}

@test "a socket nobody answers on (connection refused): the same hint" {
	# a socket file whose listener is gone refuses connections
	listen_socket "$T/dead.sock" 666
	kill "$SOCK_PID"
	wait "$SOCK_PID" 2>/dev/null || true
	SOCK_PID=
	[ -S "$T/dead.sock" ]
	run "$ROVER" --engine "unix://$T/dead.sock" task --image some-image:1 "do it"
	[ "$status" -eq 1 ]
	[[ "$output" == *"unix://$T/dead.sock: Connection refused; $DOWN_HINT"* ]]
	store_has_no_task
}

@test "rover --engine E: before ROVER_ENGINE, and a command's own --engine wins" {
	run "$ROVER" --engine "unix://$T/global.sock" info --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .engine.chosenBy)" = "--engine" ]
	[ "$(echo "$output" | jq -r '.engine.candidates[0]')" = "unix://$T/global.sock" ]
	run "$ROVER" --engine="unix://$T/global.sock" info --engine "unix://$T/own.sock" --json
	[ "$(echo "$output" | jq -r '.engine.candidates[0]')" = "unix://$T/own.sock" ]
	run "$ROVER" --engine
	[ "$status" -eq 2 ]
	[[ "$output" == *"--engine needs a value"* ]]
	run "$ROVER" --engine "kubernetes" task --image x:1 "do it"
	[ "$status" -eq 1 ]
	[[ "$output" == *"'kubernetes' is not an engine"* ]]
}

@test "a socket we may not open: 'permission denied on <socket>: add yourself to the docker group'" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run rover as another user (setpriv)"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
	command -v python3 >/dev/null || skip "python3 is needed to make a listening socket"
	listen_socket "$T/engine.sock" 000
	# nobody must reach the project (its own, or git refuses it), the store
	# and the binary
	chmod -R a+rwX "$T"
	chown -R nobody "$P"
	chmod 000 "$T/engine.sock"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env HOME="$T" XDG_DATA_HOME="$T/xdg/data" XDG_CONFIG_HOME="$T/xdg/config" \
		ROVER_ENGINE="unix://$T/engine.sock" "$ROVER" task --image some-image:1 "do it"
	[ "$status" -eq 1 ]
	[[ "$output" == *"permission denied on $T/engine.sock: $PERM_HINT"* ]]
	# not also told the engine is down: it may well be running
	[[ "$output" != *"is the engine running"* ]]
	store_has_no_task
	# rover info tells the same
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env HOME="$T" XDG_CONFIG_HOME="$T/xdg/config" "$ROVER" info --engine "unix://$T/engine.sock" --json
	[[ "$(echo "$output" | jq -r .engine.error)" == *"$PERM_HINT"* ]]
}
