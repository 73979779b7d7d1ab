#!/usr/bin/env bats
# rover under faults (docs/design/errors.md): a missing engine socket, an engine that
# answers 500, the engine killed while a task runs, malformed description.json
# files, bad task ids.  Every case checks the one-line error, the exit code,
# and that no file of the store was written or lost.

bats_require_minimum_version 1.5.0
load helpers
load rover_helpers

setup() {
	rover_setup docker
	mkdir -p "$STORE/tasks"
	# Container names are per engine: ids far from other test runs'.
	echo $(((RANDOM << 15 | RANDOM) * 100 + 1000000)) >"$STORE/tasks/.last-id"
	write_wf quick.yml <<'YML'
version: '1.0'
name: quick
steps:
  - id: one
    type: command
    command: echo one
YML
}

teardown() {
	[ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null
	if [ -n "${FAULT_RUN_DIR:-}" ]; then
		# our own Podman service: its containers, then the service itself
		ROVER_TEST_PODMAN_SOCK=$FAULT_RUN_DIR/podman.sock cleanup_label podman "rover.store=$STORE"
		ROVER_TEST_ENGINES=podman ROVER_TEST_RUN_DIR=$FAULT_RUN_DIR "$ROOT/scripts/engines.sh" stop >/dev/null 2>&1
		rm -rf "$FAULT_RUN_DIR"
	fi
	rover_teardown
}

# Task directories of the store (numeric names only).
task_dirs() {
	find "$STORE/tasks" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9]+' 2>/dev/null | sort
}

# A fingerprint of every file of the store but the lock files.
# Every file of the store but the locks and list's caches (derived from the
# records; a first `rover list` writes them, and writes nothing after).
store_sum() {
	(cd "$STORE" && find . -type f ! -name '*.lock' ! -name '.list-cache' ! -name '.list-rows' \
		-print0 | sort -z | xargs -0 sha256sum)
}

new_task() {
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
}

@test "a missing engine socket: one-line error, exit 1, no task created" {
	export ROVER_ENGINE=unix://$P/no-such-engine.sock
	run --separate-stderr rover task -w quick.yml "nothing to run on"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "rover: "*"no-such-engine.sock"* ]]
	[ -z "$output" ]
	[ -z "$(task_dirs)" ]
	# --json: the error as JSON on stdout too
	run --separate-stderr rover task --json -w quick.yml "nothing to run on"
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r .success)" = false ]
	[[ "$(echo "$output" | jq -r '.errors[0]')" == *"no-such-engine.sock"* ]]
	[ -z "$(task_dirs)" ]
}

@test "an engine answering 500: the status and its message, the store intact" {
	# A first task, really run, that must come through untouched.
	new_task -w quick.yml "a good one"
	wait_status "$TID" COMPLETED 60
	good=$TID
	before=$(sha256sum <"$STORE/tasks/$good/description.json")
	# The fault injector: answers /_ping like Docker, everything else 500.
	cat >"$BATS_TEST_TMPDIR/fake.py" <<'PY'
import http.server, socketserver, sys, os
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Server", "Docker/20.10.24 (linux)")
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        if self.path.endswith("/_ping"):
            self.reply(200, b"OK", "text/plain")
        else:
            self.reply(500, b'{"message":"injected fault: the disk is on fire"}')
    do_GET = do_POST = do_DELETE = do_HEAD = any
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    def get_request(self):
        s, _ = self.socket.accept()
        return s, ("fake", 0)
path = sys.argv[1]
if os.path.exists(path): os.unlink(path)
S(path, H).serve_forever()
PY
	sock=$BATS_TEST_TMPDIR/fake.sock
	python3 "$BATS_TEST_TMPDIR/fake.py" "$sock" &
	FAKE_PID=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	# The good task's engine stays one the user configures (their
	# config.json): a record's endpoint nobody configures is refused.
	mkdir -p "$XDG_CONFIG_HOME/rover"
	printf '{"engine": "%s"}\n' "$ROVER_ENGINE" >"$XDG_CONFIG_HOME/rover/config.json"
	export ROVER_ENGINE=unix://$sock
	run --separate-stderr rover task -w quick.yml "meets a broken engine"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"HTTP 500"* ]]
	[[ "$stderr" == *"injected fault: the disk is on fire"* ]]
	# The pre-flight (the image on the engine) met the fault before anything
	# was made: no new task, no branch; the good task is as it was and every
	# record still parses.
	[ "$(sha256sum <"$STORE/tasks/$good/description.json")" = "$before" ]
	for d in $(task_dirs); do jq -e .status "$d/description.json" >/dev/null; done
	[ -z "$(task_dirs | grep -v "/$good\$")" ]
	[ "$(git branch --list 'rover/*' | wc -l)" -eq 1 ]
	# The other commands meet the same engine with the same kind of error.
	run --separate-stderr rover logs "$good"
	[ "$status" -eq 0 ]  # the task's own engine (docker), not ROVER_ENGINE
	[[ "$output" == *"Step \"one\""* ]]
}

@test "the engine killed while a task runs: list and inspect warn and change nothing; reconciled after restart" {
	# A Podman API service of our own (scripts/engines.sh, separate run dir),
	# so killing it disturbs nobody else's tests.
	FAULT_RUN_DIR=$(mktemp -d /run/rover-test-faults.XXXXXX)
	ROVER_TEST_ENGINES=podman ROVER_TEST_RUN_DIR=$FAULT_RUN_DIR "$ROOT/scripts/engines.sh" start >/dev/null
	export ROVER_ENGINE=unix://$FAULT_RUN_DIR/podman.sock
	wf_waiting
	new_task -w wf.yml "outlives its engine"
	ws=$STORE/workspaces/$TID
	for _ in $(seq 300); do [ -e "$ws/waiting" ] && break; sleep 0.1; done
	[ -e "$ws/waiting" ]
	wait_status "$TID" ITERATING 30
	pid=$(head -n1 "$FAULT_RUN_DIR/podman.started")
	kill "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || false
	sum=$(store_sum)
	run --separate-stderr rover list
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"Could not check the container of task $TID"* ]]
	[[ "$output" == *"outlives its engine"* ]]
	run --separate-stderr rover inspect --json "$TID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = ITERATING ]
	[ "$(echo "$output" | jq -r .container.state)" = unknown ]
	# (the sign is ASCII outside a UTF-8 locale)
	LC_ALL=C.UTF-8 run rover inspect "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"⚠"* ]]
	[ "$(store_sum)" = "$sum" ]
	# pause and stop cannot reach it either: they say so and change nothing
	run rover stop "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cannot stop task $TID"* ]]
	[ "$(store_sum)" = "$sum" ]

	# The service comes back; the container kept running under conmon.
	ROVER_TEST_ENGINES=podman ROVER_TEST_RUN_DIR=$FAULT_RUN_DIR "$ROOT/scripts/engines.sh" start >/dev/null
	[ "$(task_json "$TID" | jq -r .container.state)" = running ]
	touch "$ws/GO"
	wait_status "$TID" COMPLETED 60
	[ "$(cat "$ws/runs.log")" = "$(printf 'first\nwait\nlast')" ]
}

@test "a malformed description.json: list names it, inspect fails naming it, the file is untouched" {
	new_task -w quick.yml "first"
	a=$TID
	new_task -w quick.yml "second"
	b=$TID
	new_task -w quick.yml "third"
	c=$TID
	wait_status "$c" COMPLETED 60
	wait_status "$a" COMPLETED 60
	f=$STORE/tasks/$b/description.json
	for variant in truncated garbage; do
		if [ $variant = truncated ]; then
			head -c 57 "$STORE/tasks/$a/description.json" >"$f"
		else
			printf '\x00\xff not json at all {{{' >"$f"
		fi
		sum=$(sha256sum <"$f")
		run --separate-stderr rover list
		[ "$status" -eq 0 ]
		[[ "$output$stderr" == *"$f"* ]]
		[[ "$output" == *first* ]]
		[[ "$output" == *third* ]]
		run --separate-stderr rover list --json
		[ "$status" -eq 0 ]
		[ "$(echo "$output" | jq -r "[.[] | select(.id == $a or .id == $c) | .status] | join(\",\")")" = COMPLETED,COMPLETED ]
		[[ "$(echo "$output" | jq -r ".[] | select(.id == $b) | .loadError")" == *"$f"* ]]
		for cmd in inspect logs pause stop restart delete; do
			run --separate-stderr rover $cmd "$b"
			[ "$status" -eq 1 ]
			[ "${#stderr_lines[@]}" -eq 1 ]
			[[ "$stderr" == "rover: "*"$f"* ]]
		done
		[ "$(sha256sum <"$f")" = "$sum" ]
		[ -z "$(ls "$STORE/tasks/$b" | grep -E 'backup|tmp')" ]
	done
	# --force deletes it all the same (worktree and branch by their names)
	others=$(sha256sum "$STORE/tasks/$a/description.json" "$STORE/tasks/$c/description.json")
	run --separate-stderr rover delete --force "$b"
	[ "$status" -eq 0 ]
	[ ! -e "$STORE/tasks/$b" ]
	[ ! -e "$STORE/workspaces/$b" ]
	[ -z "$(git -C "$P" branch --list "rover/task-$b")" ]
	[ -z "$(probe docker list "rover.task=$b" "rover.store=$STORE")" ]
	[ "$(sha256sum "$STORE/tasks/$a/description.json" "$STORE/tasks/$c/description.json")" = "$others" ]
}

@test "bad task ids are usage errors (exit 2)" {
	for cmd in inspect logs pause stop restart delete; do
		for id in abc 0 -1 ../x 1/2 99999999999999999999 ""; do
			run --separate-stderr rover $cmd "$id"
			if [ "$status" -ne 2 ]; then
				echo "rover $cmd '$id' exited $status: $stderr" >&2
				return 1
			fi
			[[ "$stderr" == *"rover: $cmd: "* ]]
		done
		run rover $cmd
		[ "$status" -eq 2 ]
		run rover $cmd 1 --no-such-flag
		[ "$status" -eq 2 ]
	done
	[ -z "$(task_dirs)" ]
}
