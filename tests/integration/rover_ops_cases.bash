# The operations of `rover` on a task's life - task, logs, pause, stop,
# restart, delete - against a real engine.  The bodies are shared by
# rover_ops_docker.bats and rover_ops_podman.bats (one @test per case and
# engine).
#
# Each test gets a fresh git project ($P) whose task ids start at a random
# number: container names (rover-task-<id>-<n>) are per engine, not per
# project, and other test runs may share the engine.

load helpers
load rover_helpers

ops_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 1000000)) >"$STORE/tasks/.last-id"
}

ops_teardown() {
	# A pause or logs -f a failed test left running.
	[ -n "${BG_PID:-}" ] && kill "$BG_PID" 2>/dev/null
	rover_teardown
}

# new_task ARGS...: `rover task --json ARGS`; sets TID and WS (its worktree).
new_task() {
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	ITER=$STORE/tasks/$TID/iterations/1
	[[ $TID =~ ^[0-9]+$ ]]
}

# wait_file PATH [SECONDS]
wait_file() {
	local deadline=$((SECONDS + ${2:-30}))
	while [ ! -e "$1" ]; do
		[ $SECONDS -lt $deadline ] || { echo "no $1 after ${2:-30}s" >&2; return 1; }
		sleep 0.1
	done
}

completed_steps() { # checkpoint file -> ids, comma-separated
	jq -r '[.completedSteps[].id] | join(",")' "$1"
}

container_of() { # task id -> its container id
	task_json "$1" | jq -r .containerId
}

# ---- cases ------------------------------------------------------------------

case_task_runs_to_completed() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: two-steps
steps:
  - id: build
    type: command
    command: echo built > built.txt; echo "build says hello"
  - id: agent
    type: agent
    prompt: "summarize [[output:summary=all good]]"
YML
	new_task -w wf.yml --agent claude "run two steps"
	wait_status "$TID" COMPLETED 60
	run task_json "$TID"
	[ "$status" -eq 0 ]
	# (inspect --json leaves progress out once COMPLETED: the runner's word)
	[ "$(jq -r .progress "$ITER/status.json")" = 100 ]
	[ "$(jq -r .status "$ITER/status.json")" = completed ]
	[ "$(echo "$output" | jq -r .engine.kind)" = "$ENGINE" ]
	[ "$(echo "$output" | jq -r .container.exitCode)" = 0 ]
	# How the container ended went into the record when rover saw it end, so
	# inspect of the finished task shows it without loading the engine client
	# (strace sees every library opened, by a static rover too).
	cid=$(container_of "$TID")
	[ "$(jq -r .containerEnd.id "$STORE/tasks/$TID/description.json")" = "$cid" ]
	[ "$(jq -r .containerEnd.state "$STORE/tasks/$TID/description.json")" = exited ]
	run strace -f -e trace=open,openat -o "$BATS_TEST_TMPDIR/inspect.trace" "$ROVER" inspect "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"exited (exit 0)"* ]]
	grep -q 'libc\.so' "$BATS_TEST_TMPDIR/inspect.trace" # the trace sees opens
	! grep -q 'libcurl' "$BATS_TEST_TMPDIR/inspect.trace"
	[ "$(cat "$WS/built.txt")" = built ]
	# name and labels of the container, as the engine reports them
	run probe "$ENGINE" inspect "$cid"
	[ "$status" -eq 0 ]
	[[ "$output" == *"name=rover-task-$TID-1"* ]]
	[[ "$output" == *"label.rover.task=$TID"* ]]
	[[ "$output" == *"label.rover.iteration=1"* ]]
	[[ "$output" == *"label.rover.store=$STORE"* ]]
	# its output, from the engine
	run rover logs "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"build says hello"* ]]
	[[ "$output" == *"Workflow completed"* ]]
	# listed as completed
	[ "$(rover list --json | jq -r ".[] | select(.id == $TID) | .status")" = COMPLETED ]
}

# A new task skips the lookup of earlier containers of its id (none can
# exist: launch.h, fresh), unless its name is taken: a store made again after
# it lost its id counter meets its own earlier containers, and replaces them
# as any start does (never a second container under another name).
case_new_task_replaces_a_lost_stores_container() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: one
steps:
  - id: one
    type: command
    command: echo one >> runs.log
YML
	new_task -w wf.yml "first life"
	wait_status "$TID" COMPLETED 60
	local first=$TID old
	old=$(container_of "$first")
	# the store loses the task and its counter; the container stays
	rm -rf "${STORE:?}/tasks/$first" "$STORE/workspaces/$first"
	git -C "$P" branch -q -D "rover/task-$first"
	echo $((first - 1)) >"$STORE/tasks/.last-id"
	new_task -w wf.yml "second life"
	[ "$TID" = "$first" ]
	wait_status "$TID" COMPLETED 60
	[ "$(container_of "$TID")" != "$old" ]
	run probe "$ENGINE" list "rover.task=$TID" "rover.store=$STORE"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c .)" = 1 ]
	run probe "$ENGINE" inspect "$(container_of "$TID")"
	[[ "$output" == *"name=rover-task-$TID-1"* ]]
}

case_pause_drains_after_current_step() {
	wf_waiting
	new_task -w wf.yml "pause me"
	wait_file "$WS/waiting"
	rover pause "$TID" --reason "lunch break" --json >"$P/pause.json" 2>"$P/pause.err" &
	BG_PID=$!
	# The pause waits for the step that runs...
	sleep 2
	kill -0 "$BG_PID"
	[ ! -e "$WS/GO" ]
	touch "$WS/GO"
	wait "$BG_PID"
	BG_PID=
	[ "$(jq -r .status "$P/pause.json")" = PAUSED ]
	[ "$(jq -r .reason "$P/pause.json")" = "lunch break" ]
	[ "$(jq -r .hasCheckpoint "$P/pause.json")" = true ]
	[ "$(jq -r .pausedAt "$P/pause.json")" != null ]
	grep -q "waiting for task $TID to finish its current step" "$P/pause.err"
	# ... which finished and was recorded; the next one never started.
	[ "$(cat "$WS/runs.log")" = "$(printf 'first\nwait')" ]
	[ "$(completed_steps "$ITER/checkpoint.json")" = first,wait ]
	[ "$(jq -r .pauseReason "$ITER/checkpoint.json")" = user ]
	run task_json "$TID"
	[ "$(echo "$output" | jq -r .status)" = PAUSED ]
	[ "$(echo "$output" | jq -r .pauseReason)" = user ]
	[[ "$(echo "$output" | jq -r .error)" == *"lunch break"* ]]
	[ "$(echo "$output" | jq -r '.autoRetry.nextRetryAt // "none"')" = none ]
	[ ! -e "$ITER/.pause-requested" ]
	# pausing again, or restarting a paused task, is refused
	run rover pause "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"task $TID is PAUSED"* ]]
	run rover restart "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"rover resume $TID"* ]]
	[ "$(completed_steps "$ITER/checkpoint.json")" = first,wait ]
}

case_pause_now_interrupts_the_step() {
	wf_waiting
	new_task -w wf.yml "interrupt me"
	wait_file "$WS/waiting"
	run rover pause "$TID" --now --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = PAUSED ]
	[ "$(echo "$output" | jq -r .hasCheckpoint)" = true ]
	# the interrupted step is not recorded and never reached its end
	[ "$(completed_steps "$ITER/checkpoint.json")" = first ]
	[ "$(cat "$WS/runs.log")" = first ]
	[ "$(jq -r .pauseReason "$ITER/checkpoint.json")" = signal ]
	run task_json "$TID"
	[ "$(echo "$output" | jq -r .pauseReason)" = user ]
	[ "$(echo "$output" | jq -r .container.exitCode)" = 2 ]
}

case_pause_timeout_escalates_to_sigterm() {
	wf_waiting
	new_task -w wf.yml "never finishes its step"
	wait_file "$WS/waiting"
	run rover pause "$TID" --timeout 1 --reason slow
	[ "$status" -eq 0 ]
	[[ "$output" == *"waiting for task $TID to finish its current step"* ]]
	[[ "$output" == *"interrupted"* ]]
	[ "$(completed_steps "$ITER/checkpoint.json")" = first ]
	run task_json "$TID"
	[ "$(echo "$output" | jq -r .status)" = PAUSED ]
	[ "$(echo "$output" | jq -r .pauseReason)" = user ]
	[[ "$(echo "$output" | jq -r .error)" == *slow* ]]
	[ ! -e "$ITER/.pause-requested" ]
}

case_stop_fails_the_task_and_keeps_the_checkpoint() {
	wf_waiting
	new_task -w wf.yml "stop me"
	wait_file "$WS/waiting"
	cid=$(container_of "$TID")
	run rover stop "$TID" --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = FAILED ]
	[ "$(echo "$output" | jq -r .error)" = "stopped by user" ]
	[ "$(echo "$output" | jq -r .hasCheckpoint)" = true ]
	[ "$(echo "$output" | jq -r .containerRemoved)" = true ]
	[ "$(completed_steps "$ITER/checkpoint.json")" = first ]
	# the container is gone, its output was saved first
	run probe "$ENGINE" inspect "$cid"
	[ "$status" -ne 0 ]
	grep -q 'Step "first"' "$ITER/container.log"
	run rover logs "$TID"
	[ "$status" -eq 0 ]
	# shown once, from container.log (which holds it whole: no engine read)
	[ "$(grep -c '▶ Step "first"' <<<"$output")" = 1 ]
	run task_json "$TID"
	[ "$(echo "$output" | jq -r .status)" = FAILED ]
	[ "$(echo "$output" | jq -r .error)" = "stopped by user" ]
	[ "$(echo "$output" | jq -r '.autoRetry.nextRetryAt // "none"')" = none ]
	# stopping again changes nothing
	run rover stop "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"already FAILED"* ]]

	# A PAUSED task: FAILED too, its checkpoint untouched to the byte.
	new_task -w wf.yml "pause then stop"
	wait_file "$WS/waiting"
	rover pause --now "$TID" >/dev/null 2>&1
	[ "$(task_json "$TID" | jq -r .status)" = PAUSED ]
	before=$(sha256sum <"$ITER/checkpoint.json")
	run rover stop "$TID" --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = FAILED ]
	[ "$(sha256sum <"$ITER/checkpoint.json")" = "$before" ]
	[ "$(task_json "$TID" | jq -r '.pauseReason // "none"')" = none ]
}

case_logs_follow_streams_until_the_end() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: chatty
steps:
  - id: talk
    type: command
    command: for i in 1 2 3 4 5 6; do echo "line-$i"; sleep 0.5; done; echo "to-stderr" >&2
YML
	new_task -w wf.yml "talk"
	rover logs -f "$TID" >"$P/logs.out" 2>"$P/logs.err" &
	BG_PID=$!
	# output arrives while the task still runs
	local deadline=$((SECONDS + 30))
	until grep -q line-2 "$P/logs.out"; do
		[ $SECONDS -lt $deadline ] || { cat "$P/logs.out" "$P/logs.err" >&2; return 1; }
		sleep 0.1
	done
	s=$(task_json "$TID" | jq -r .status)
	[ "$s" = ITERATING ] || [ "$s" = IN_PROGRESS ]
	[ -z "$(grep line-6 "$P/logs.out")" ]
	# and logs -f returns by itself when the container ends
	wait "$BG_PID"
	BG_PID=
	grep -q line-6 "$P/logs.out"
	grep -q "Workflow completed" "$P/logs.out"
	grep -q to-stderr "$P/logs.err"
	[ -z "$(grep to-stderr "$P/logs.out")" ]
	wait_status "$TID" COMPLETED 30
}

# ---- logs -f ends at the container's exit ---------------------------------
# Podman 4.3 closes a follow stream about 470 ms after the exit; rover ends
# the follow at the exit and reads the rest again (supervisor/lib/
# engine_logs.h).  What these check: nothing lost, nothing twice.

# logs_store: task ids in this file's range of its own, far from others'.
logs_store() {
	echo $(((RANDOM << 15 | RANDOM) * 100 + 7700000)) >"$STORE/tasks/.last-id"
}

# no_info FILE: rover's own "ℹ ..." lines (logs -f says how the task ended)
# dropped; the container's lines kept.
no_info() {
	grep -v '^ℹ ' "$1" || true
}

# no_frames: `rover logs` of a saved container less the lines that frame it.
no_frames() {
	grep -v '^==== ' || true
}

# burst_wf: 200 KiB ending without a newline, then stderr, then a last line
# written right before the exit; a follow started with the task starts
# while it sleeps.
burst_wf() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: burst
steps:
  - id: burst
    type: command
    command: sleep 1; yes abcdefghijklmnopqrstuvwxyz0123456789 | head -c 204800; echo; echo burst-err >&2; echo last-line-before-exit
YML
}

# Three followers and a lister that all see the container end: its output
# is saved to container.log once (launch_save_logs under the task's logs
# lock), and each follower printed all of it once.
case_logs_followers_together_save_once() {
	logs_store
	burst_wf
	new_task -w wf.yml "followed thrice"
	local i pids=()
	for i in 1 2 3; do
		rover logs -f "$TID" >"$P/f$i.out" 2>/dev/null &
		pids+=($!)
	done
	(for i in $(seq 40); do rover list >/dev/null 2>&1; sleep 0.05; done) &
	pids+=($!)
	for i in "${pids[@]}"; do wait "$i"; done
	wait_status "$TID" COMPLETED 30
	local cid
	cid=$(container_of "$TID")
	probe "$ENGINE" logs "$cid" >"$P/e.out" 2>/dev/null
	for i in 1 2 3; do
		cmp "$P/f$i.out" "$P/e.out" || { ls -l "$P"/f?.out "$P/e.out" >&2; return 1; }
	done
	local log="$STORE/tasks/$TID/iterations/1/container.log"
	[ "$(grep -c "^==== end of container " "$log")" -eq 1 ]
	[ "$(grep -c '^last-line-before-exit$' "$log")" -eq 1 ]
}

case_logs_follow_ends_at_exit_with_everything() {
	logs_store
	burst_wf
	new_task -w wf.yml "burst"
	rover logs -f "$TID" >"$P/f.out" 2>"$P/f.err"
	local t_end cid fin
	t_end=$(date +%s%3N)
	cid=$(container_of "$TID")
	fin=$(probe "$ENGINE" inspect "$cid" | sed -n 's/^finished_at_ms=//p')
	[ "$fin" -gt 0 ]
	echo "# $ENGINE: logs -f returned $((t_end - fin)) ms after the container's exit" >&3
	# each stream byte for byte as the engine keeps it
	probe "$ENGINE" logs "$cid" >"$P/e.out" 2>"$P/e.err"
	[ "$(stat -c %s "$P/e.out")" -gt 204800 ]
	tail -n 3 "$P/e.out" | grep -qx last-line-before-exit
	cmp "$P/f.out" "$P/e.out"
	no_info "$P/f.err" | cmp - "$P/e.err"
	# and `rover logs` once the task is over shows the same, merged
	wait_status "$TID" COMPLETED 30
	probe "$ENGINE" logs "$cid" >"$P/e.all" 2>&1
	rover logs "$TID" | no_frames | cmp - "$P/e.all"
	# a bound far above either engine's own delay: it only catches a hang
	[ $((t_end - fin)) -lt 5000 ]
}

case_logs_follow_since_is_logs_since() {
	logs_store
	burst_wf
	new_task -w wf.yml "burst since"
	rover logs -f --since 1h "$TID" >"$P/since.out" 2>&1
	wait_status "$TID" COMPLETED 30
	rover logs --since 1h "$TID" | no_frames >"$P/after.out"
	[ "$(stat -c %s "$P/after.out")" -gt 204800 ]
	grep -qx last-line-before-exit "$P/after.out"
	no_info "$P/since.out" | cmp - "$P/after.out"
}

case_logs_follow_tail_is_the_last_lines_then_the_rest() {
	logs_store
	write_wf wf.yml <<'YML'
version: '1.0'
name: counted
steps:
  - id: count
    type: command
    command: seq 1 50; while [ ! -e GO ]; do sleep 0.1; done; seq 51 60; echo tail-end
YML
	new_task -w wf.yml "counted"
	local deadline=$((SECONDS + 30))
	until rover logs "$TID" 2>/dev/null | grep -qx 50; do
		[ $SECONDS -lt $deadline ] || { echo "no line 50 after 30s" >&2; return 1; }
		sleep 0.1
	done
	rover logs -f --tail 3 "$TID" >"$P/tail.out" 2>&1 &
	BG_PID=$!
	deadline=$((SECONDS + 30))
	until grep -qx 50 "$P/tail.out"; do
		[ $SECONDS -lt $deadline ] || { cat "$P/tail.out" >&2; return 1; }
		sleep 0.1
	done
	touch "$WS/GO"
	wait "$BG_PID"
	BG_PID=
	wait_status "$TID" COMPLETED 30
	# the last 3 lines when it started, then all the rest, once
	[ "$(sed -n 1p "$P/tail.out")" = 48 ]
	rover logs "$TID" | no_frames >"$P/after.out"
	local full part
	full=$(cat "$P/after.out")
	part=$(no_info "$P/tail.out")
	[ -n "$part" ]
	[[ "$full" == *"$part" ]]
	[ "$(grep -c . <<<"$part")" -lt "$(grep -c . <<<"$full")" ]
	grep -qx tail-end <<<"$part"
	[ "$(grep -cx 55 <<<"$part")" -eq 1 ]
}

case_delete_cleans_up() {
	wf_waiting
	new_task -w wf.yml "delete me"
	wait_file "$WS/waiting"
	run rover delete "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--force"* ]]
	[ -d "$STORE/tasks/$TID" ]
	run rover delete "$TID" --force --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .containersRemoved)" = 1 ]
	[ "$(echo "$output" | jq -r .worktreeRemoved)" = true ]
	[ "$(echo "$output" | jq -r '.leftBehind | length')" = 0 ]
	[ -z "$(probe "$ENGINE" list "rover.task=$TID" "rover.store=$STORE")" ]
	[ ! -e "$WS" ]
	[ -z "$(git -C "$P" branch --list "rover/task-$TID")" ]
	[ -z "$(git -C "$P" worktree list | grep "workspaces/$TID")" ]
	[ ! -e "$STORE/tasks/$TID" ]
	run rover inspect "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not found"* ]]
	run rover delete "$TID"
	[ "$status" -eq 1 ]
}

case_restart_runs_from_the_start() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: flaky
steps:
  - id: a
    type: command
    command: echo a >> runs.log
  - id: b
    type: command
    command: if [ -e ok ]; then echo b >> runs.log; else touch ok; echo "b fails once"; exit 3; fi
YML
	new_task -w wf.yml "fail once"
	wait_status "$TID" FAILED 60
	[ "$(completed_steps "$ITER/checkpoint.json")" = a ]
	old=$(sha256sum <"$ITER/checkpoint.json")
	first_cid=$(container_of "$TID")
	run rover restart "$TID" --json
	[ "$status" -eq 0 ]
	aside=$(echo "$output" | jq -r .checkpointMovedTo)
	[[ "$aside" == "$ITER/checkpoint.json.restart-"* ]]
	[ "$(echo "$output" | jq -r .restartCount)" = 1 ]
	[ "$(echo "$output" | jq -r .containerId)" != "$first_cid" ]
	wait_status "$TID" COMPLETED 60
	# the old checkpoint is kept aside, unused: step a ran again
	[ "$(sha256sum <"$aside")" = "$old" ]
	[ "$(cat "$WS/runs.log")" = "$(printf 'a\na\nb')" ]
	[ "$(completed_steps "$aside")" = a ]
	# the first container's output was saved before it was replaced
	grep -q "b fails once" "$ITER/container.log"
	run probe "$ENGINE" inspect "$first_cid"
	[ "$status" -ne 0 ]
	[ "$(task_json "$TID" | jq -r .restartCount)" = 1 ]

	# a task whose container still runs is not restarted
	wf_waiting
	new_task -w wf.yml "busy"
	wait_file "$WS/waiting"
	run rover restart "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"still running"* ]]
	touch "$WS/GO"
	wait_status "$TID" COMPLETED 60
}

# Docker only: a task started on an endpoint keeps using it - as long as the
# user still configures that endpoint somewhere (here: their config file).
case_stored_endpoint_is_used() {
	local tcp=$ROVER_TEST_DOCKER_TCP
	wf_waiting
	unset ROVER_ENGINE
	mkdir -p "$XDG_CONFIG_HOME/rover"
	printf '{"engine": "%s"}\n' "$tcp" >"$XDG_CONFIG_HOME/rover/config.json"
	new_task --engine "$tcp" -w wf.yml "over tcp"
	[ "$(jq -r .engine.endpoint "$STORE/tasks/$TID/description.json")" = "$tcp" ]
	[ "$(jq -r .engine.kind "$STORE/tasks/$TID/description.json")" = docker ]
	wait_file "$WS/waiting"
	# ROVER_ENGINE now names another engine (or nothing): the task's own is used
	export ROVER_ENGINE=$(engine_uri podman)
	run task_json "$TID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .container.state)" = running ]
	[ "$(echo "$output" | jq -r .status)" = ITERATING ]
	run rover logs "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *'Step "wait"'* ]]
	unset ROVER_ENGINE
	run rover stop "$TID" --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = FAILED ]
	[ "$(echo "$output" | jq -r .containerRemoved)" = true ]
	[ -z "$(probe docker list "rover.task=$TID" "rover.store=$STORE")" ]
}
