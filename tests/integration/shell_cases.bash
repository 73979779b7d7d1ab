# `rover shell` against a real engine: a shell in the task's workspace, in a
# new container of the task's image, driven through a pseudo-terminal
# (tests/tools/pty_drive.py types into it as a person would).  The bodies
# are shared by shell_docker.bats and shell_podman.bats.

load helpers
load rover_helpers

PTY="python3 $ROOT/tests/tools/pty_drive.py"

shell_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 9500000)) >"$STORE/tasks/.last-id"
}

shell_teardown() {
	[ -n "${BG_PID:-}" ] && kill "$BG_PID" 2>/dev/null
	rover_teardown
}

# A COMPLETED task whose workspace holds hello.txt; sets TID and WS.
completed_task() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: one
steps:
  - id: hello
    type: command
    command: echo hello > hello.txt
YML
	local out
	out=$("$ROVER" task --json -w wf.yml "shell me") || { echo "$out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	wait_status "$TID" COMPLETED 60
}

# True when no shell container of this store is left on the engine (and
# the engine could be asked).
no_shell_left() {
	local out
	out=$(probe "$ENGINE" list "rover.store=$STORE" "rover.shell=1") || return 1
	[ -z "$out" ] || { echo "left behind: $out" >&2; return 1; }
}

# ---- cases ------------------------------------------------------------------

case_shell_typed_command_runs_in_the_workspace() {
	completed_task
	run --separate-stderr $PTY --rows 33 --cols 101 --wait '$ ' \
		--type 'stty size; pwd; ls; echo marker > /workspace/from-shell; exit 3\r' \
		-- "$ROVER" shell "$TID"
	echo "$output" >&2
	echo "$stderr" >&2
	# the shell's exit status is rover's
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"pty_drive: exit 3"* ]]
	# it ran in the workspace, in a terminal of the caller's size
	[[ "$output" == *"33 101"* ]]
	[[ "$output" == *"/workspace"* ]]
	[[ "$output" == *"hello.txt"* ]]
	[ "$(cat "$WS/from-shell")" = marker ]
	# the caller's terminal is given back as it was; the container is gone
	[[ "$stderr" == *"pty_drive: mode restored"* ]]
	no_shell_left
	# the task itself is untouched
	[ "$(task_json "$TID" | jq -r .status)" = COMPLETED ]
}

case_shell_follows_a_resized_terminal() {
	completed_task
	run --separate-stderr $PTY --rows 24 --cols 80 --wait '$ ' --resize 40x120 \
		--type 'sleep 1; stty size; exit\r' -- "$ROVER" shell "$TID"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"40 120"* ]]
	no_shell_left
}

case_shell_reads_commands_from_a_pipe() {
	completed_task
	run --separate-stderr "$ROVER" shell "$TID" <<<'cat hello.txt; echo oops >&2; exit 5'
	[ "$status" -eq 5 ]
	[ "$output" = hello ]      # stdout and stderr kept apart
	[ "$stderr" = oops ]
	# a command after --, stdin at its end at once
	run "$ROVER" shell "$TID" -- sh -c 'echo "$0:$1"; exit 7' a b </dev/null
	[ "$status" -eq 7 ]
	[ "$output" = "a:b" ]
	no_shell_left
	# while a shell runs its container is there (so the check above can fail)
	"$ROVER" shell "$TID" -- sleep 5 </dev/null &
	BG_PID=$!
	local deadline=$((SECONDS + 20))
	while no_shell_left 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || { echo "no shell container seen" >&2; return 1; }
		sleep 0.2
	done
	wait "$BG_PID"
	BG_PID=
	no_shell_left
}

case_shell_is_confined_like_the_task() {
	completed_task
	run --separate-stderr "$ROVER" shell "$TID" <<'SH'
grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
echo "output:$(ls -A /output 2>/dev/null | wc -l)"
test -e /workflow.yml && echo HAS_WORKFLOW
test -e /rover-agent && echo HAS_RUNNER
echo "uid:$(id -u)"
env | grep -c -E '^(ANTHROPIC|OPENAI|GEMINI)_' || true
SH
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapEff:	0000000000000000"* ]]
	[[ "$output" == *"NoNewPrivs:	1"* ]]
	[[ "$output" == *"output:0"* ]]   # not the iteration dir
	[[ "$output" != *HAS_WORKFLOW* ]]
	[[ "$output" != *HAS_RUNNER* ]]
	[[ "$output" != *"uid:0"* ]]
	[ "$(echo "$output" | tail -n 1)" = 0 ]  # no credentials
}

case_shell_beside_a_running_task() {
	wf_waiting wf.yml
	local out
	out=$("$ROVER" task --json -w wf.yml "busy") || { echo "$out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	while [ ! -e "$WS/waiting" ]; do sleep 0.1; done
	run --separate-stderr "$ROVER" shell "$TID" <<<'ls; touch GO'
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"Task $TID is running"* ]]
	[[ "$output" == *waiting* ]]
	wait_status "$TID" COMPLETED 60
	no_shell_left
}

case_shell_ended_by_a_signal_cleans_up() {
	completed_task
	run --separate-stderr $PTY --wait '$ ' --signal TERM -- "$ROVER" shell "$TID"
	echo "$output" >&2
	[ "$status" -eq 143 ]
	[[ "$output" == *"ended by signal 15"* ]]
	[[ "$stderr" == *"pty_drive: mode restored"* ]]
	no_shell_left
}

case_shell_refuses_clearly() {
	completed_task
	# no such task
	run --separate-stderr "$ROVER" shell 999999999 </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"task 999999999 not found"* ]]
	# an image the engine does not have: named, nothing left behind
	run --separate-stderr "$ROVER" shell --image rover-no-such-image:latest "$TID" </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"image 'rover-no-such-image:latest' is not on the engine"* ]]
	# a command the image lacks
	run --separate-stderr "$ROVER" shell "$TID" -- /no/such/command </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot open a shell in task $TID"* ]]
	# a command without --
	run --separate-stderr "$ROVER" shell "$TID" ls
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"put '--' before the command"* ]]
	# a workspace that is gone
	rm -rf "$WS"
	run --separate-stderr "$ROVER" shell "$TID" </dev/null
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the workspace of task $TID"*"is gone"* ]]
	no_shell_left
}

case_shell_ctrl_c_goes_to_the_container() {
	completed_task
	# Ctrl+C stops what runs in the shell (even output without end), not
	# rover: the session goes on until exit.
	run --separate-stderr $PTY --wait '$ ' --type 'yes\r' --wait 'y\r\ny\r\ny\r\n' \
		--type '\x03' --wait '$ ' --type 'echo still-here; exit 4\r' \
		-- "$ROVER" shell "$TID"
	[ "$status" -eq 4 ]
	[[ "$output" == *still-here* ]]
	[[ "$stderr" == *"pty_drive: mode restored"* ]]
	no_shell_left
}

case_shell_left_by_a_killed_rover_is_reaped() {
	completed_task
	"$ROVER" shell "$TID" -- sleep 300 </dev/null &
	local pid=$! deadline=$((SECONDS + 20))
	while no_shell_left 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || { echo "no shell container seen" >&2; return 1; }
		sleep 0.2
	done
	# SIGKILL: rover cannot remove its container; it keeps running
	kill -KILL "$pid"
	wait "$pid" || true
	! no_shell_left 2>/dev/null
	# the next shell of the store removes it (its owner is gone)
	run "$ROVER" shell "$TID" -- true </dev/null
	[ "$status" -eq 0 ]
	no_shell_left
}
