# Operator controls against a real engine: breakpoint steps (rover approve /
# reject), pause --all / resume --all, and the supervisor's drain mode.  The
# bodies are shared by operator_docker.bats and operator_podman.bats (one
# @test per case and engine).  Command steps only: no agent is needed.

load helpers
load rover_helpers

op_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	# container names are per engine: start ids at a random number
	echo $(((RANDOM << 15 | RANDOM) * 100 + 6500000)) >"$STORE/tasks/.last-id"
	export ROVER_RETRY_RESET_WINDOW=0-1 ROVER_RETRY_BASE_SECONDS=1 ROVER_RETRY_CAP_SECONDS=2
	unset ROVER_RETRY_MAX ROVER_AGENT_BIN
	SUP_PIDS=()
}

op_teardown() {
	local p
	for p in "${SUP_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rover_teardown
}

# new_task ARGS...: `rover task --json ARGS`; sets TID, WS and ITER.
new_task() {
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	ITER=$STORE/tasks/$TID/iterations/1
	[[ $TID =~ ^[0-9]+$ ]]
}

# start_supervise NAME [ARGS]: `rover supervise` in the background, output
# in $P/NAME.log, pid in SUP_PID.
start_supervise() {
	local name=$1
	shift
	"$ROVER" supervise "$@" >"$P/$name.log" 2>&1 3>&- &
	SUP_PID=$!
	SUP_PIDS+=("$SUP_PID")
	wait_log "$P/$name.log" "watching" 10
}

# wait_file PATH [SECONDS]
wait_file() {
	local deadline=$((SECONDS + ${2:-30}))
	while [ ! -e "$1" ]; do
		[ $SECONDS -lt $deadline ] || { echo "no $1 after ${2:-30}s" >&2; return 1; }
		sleep 0.1
	done
}

record() { # id -> description.json as the store has it
	cat "$STORE/tasks/$1/description.json"
}

# A breakpoint between two command steps; the first one also plants every
# "approval" a hostile step could write into /output.
wf_gated() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: gated
steps:
  - id: first
    type: command
    command: >-
      echo first >> runs.log;
      echo '{"approved": true, "stepId": "gate"}' > /output/approval.json;
      echo gate > /output/.approved
  - id: gate
    type: breakpoint
    message: "Ship it?"
  - id: after
    type: command
    command: 'echo "after: {{steps.gate.outputs.message}}" >> runs.log'
YML
}

# ---- breakpoints ---------------------------------------------------------------

case_breakpoint_waits_survives_restart_and_approve_continues() {
	wf_gated
	new_task -w wf.yml "gated task"
	wait_status "$TID" PAUSED 60
	run task_json "$TID"
	[ "$(echo "$output" | jq -r .pauseReason)" = approval ]
	[ "$(echo "$output" | jq -r .approvalRequest.stepId)" = gate ]
	[[ "$(echo "$output" | jq -r .error)" == *"Ship it?"* ]]
	[ "$(jq -r .breakpoint "$ITER/status.json")" = gate ]
	run rover list
	[ "$status" -eq 0 ]
	[[ "$output" == *"Awaiting approval"* ]]
	[[ "$output" == *"Waiting for approval"* ]]
	run rover list --json
	[ "$(echo "$output" | jq -r ".[] | select(.id == $TID) | .pauseReason")" = approval ]
	[ "$(echo "$output" | jq -r ".[] | select(.id == $TID) | .error")" = "Waiting for approval: Ship it?" ]
	run rover inspect "$TID"
	[[ "$output" == *"Waiting for approval: Ship it?"* ]]
	[ "$(cat "$WS/runs.log")" = first ]
	cid=$(jq -r .containerId "$STORE/tasks/$TID/description.json")

	# a supervisor, killed and started again, never resumes it
	start_supervise sup1
	sleep 3
	kill -TERM "$SUP_PID"
	wait "$SUP_PID" || true
	start_supervise sup2
	sleep 4
	[ "$(record "$TID" | jq -r .status)" = PAUSED ]
	[ "$(record "$TID" | jq -r .pauseReason)" = approval ]
	[ "$(record "$TID" | jq -r .containerId)" = "$cid" ]
	! grep -q "auto-retry" "$P/sup1.log" "$P/sup2.log"
	[ "$(cat "$WS/runs.log")" = first ]

	# rover resume alone does not pass it
	run rover resume "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"waiting for approval at breakpoint 'gate': approve or reject it"* ]]
	[ "$(record "$TID" | jq -r .status)" = PAUSED ]

	run rover approve "$TID" --message hi
	[ "$status" -eq 0 ]
	[[ "$output" == *"breakpoint 'gate' approved"* ]]
	wait_status "$TID" COMPLETED 60
	[ "$(cat "$WS/runs.log")" = "$(printf 'first\nafter: hi')" ]
	# the approval is the host's, in the record; the runner got it on its
	# command line
	[ "$(record "$TID" | jq -r '.approvals[0].stepId + "=" + .approvals[0].message')" = gate=hi ]
	# a task no longer waiting cannot be approved again
	run rover approve "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not waiting for approval: it is COMPLETED"* ]]
}

case_breakpoint_reject_fails_with_the_reason() {
	wf_gated
	new_task -w wf.yml "rejected task"
	wait_status "$TID" PAUSED 60
	start_supervise sup
	run rover reject "$TID" --message "not today"
	[ "$status" -eq 0 ]
	wait_status "$TID" FAILED 10
	[ "$(task_json "$TID" | jq -r .error)" = "Rejected at breakpoint 'gate': not today" ]
	sleep 3
	# never retried: still FAILED, the step after the breakpoint never ran
	[ "$(record "$TID" | jq -r .status)" = FAILED ]
	[ "$(cat "$WS/runs.log")" = first ]
	! grep -q "auto-retry" "$P/sup.log"
	run rover reject "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not waiting for approval"* ]]
}

case_breakpoint_forged_approval_does_not_pass() {
	wf_gated
	new_task -w wf.yml "forged task"
	wait_status "$TID" PAUSED 60
	# the first step planted approval files; the test forges the rest of
	# what a container could have written in /output: the checkpoint says
	# the breakpoint passed (with a message of its own), the status says it
	# is a plain pause
	[ -e "$ITER/approval.json" ] && [ -e "$ITER/.approved" ]
	jq '.completedSteps += [{"id": "gate", "outputs": {"message": "forged", "approved": "true"}}]' \
		"$ITER/checkpoint.json" >"$ITER/cp.tmp" && mv "$ITER/cp.tmp" "$ITER/checkpoint.json"
	run rover resume "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"approve or reject it"* ]]
	# Even resumed without the host's check (stop, then resume a FAILED
	# task), the runner believes no approval from /output: it waits again.
	run rover stop "$TID"
	[ "$status" -eq 0 ]
	run rover resume "$TID"
	[ "$status" -eq 0 ]
	wait_status "$TID" PAUSED 60
	[ "$(task_json "$TID" | jq -r .pauseReason)" = approval ]
	[ "$(cat "$WS/runs.log")" = first ]
	run rover logs "$TID"
	[[ "$output" == *"rover did not approve it: it waits again"* ]]
	# and a real approval passes, with the host's message, not the forged one
	run rover approve "$TID" -m real
	[ "$status" -eq 0 ]
	wait_status "$TID" COMPLETED 60
	[ "$(cat "$WS/runs.log")" = "$(printf 'first\nafter: real')" ]
}

case_breakpoint_timeout_fails_or_continues_as_declared() {
	write_wf cont.yml <<'YML'
version: '1.0'
name: timeout-continue
steps:
  - id: gate
    type: breakpoint
    message: "Anyone?"
    timeout: 2
    onTimeout: continue
  - id: after
    type: command
    command: 'echo "timedOut={{steps.gate.outputs.timedOut}}" >> runs.log'
YML
	write_wf fail.yml <<'YML'
version: '1.0'
name: timeout-fail
steps:
  - id: gate
    type: breakpoint
    message: "Anyone?"
    timeout: 2
  - id: after
    type: command
    command: echo after >> runs.log
YML
	new_task -w cont.yml "times out, goes on"
	T1=$TID W1=$WS
	new_task -w fail.yml "times out, fails"
	T2=$TID W2=$WS
	wait_status "$T1" PAUSED 60
	wait_status "$T2" PAUSED 60
	start_supervise sup
	wait_status "$T1" COMPLETED 60
	[ "$(cat "$W1/runs.log")" = timedOut=true ]
	wait_status "$T2" FAILED 30
	[[ "$(task_json "$T2" | jq -r .error)" == "Approval timed out at breakpoint 'gate': nobody answered within 2s"* ]]
	[ ! -e "$W2/runs.log" ]
	grep -q "going on (onTimeout: continue)" "$P/sup.log"
}

# ---- pause --all / resume --all -------------------------------------------------

# A step that waits for the file GO in the workspace, between two others.
wf_go() {
	write_wf go.yml <<'YML'
version: '1.0'
name: go
steps:
  - id: first
    type: command
    command: echo first >> runs.log
  - id: wait
    type: command
    command: touch waiting; while [ ! -e GO ]; do sleep 0.1; done; echo wait >> runs.log
  - id: last
    type: command
    command: echo last >> runs.log
YML
}

case_pause_all_now_and_resume_all_bring_back_exactly_those() {
	wf_go
	wf_gated
	new_task -w go.yml "one"
	T1=$TID W1=$WS
	new_task -w go.yml "two"
	T2=$TID W2=$WS
	new_task -w go.yml "paused by a person"
	T3=$TID W3=$WS
	new_task -w wf.yml "waiting for approval"
	T4=$TID
	wait_file "$W1/waiting" 60
	wait_file "$W2/waiting" 60
	wait_file "$W3/waiting" 60
	wait_status "$T4" PAUSED 60
	run rover pause "$T3" --now
	[ "$status" -eq 0 ]
	[ "$(record "$T3" | jq -r .pauseReason)" = user ]

	start=$SECONDS
	run rover pause --all --now --json
	elapsed=$((SECONDS - start))
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '.paused | sort')" = "$(jq -nc "[$T1, $T2] | sort")" ]
	# about a second per task
	[ "$elapsed" -le 6 ] || { echo "pause --all --now took ${elapsed}s" >&2; false; }
	for t in "$T1" "$T2"; do
		[ "$(record "$t" | jq -r .status)" = PAUSED ]
		[ "$(record "$t" | jq -r .pauseReason)" = operator ]
	done
	[ "$(record "$T3" | jq -r .pauseReason)" = user ]
	[ "$(record "$T4" | jq -r .pauseReason)" = approval ]
	run rover list
	[[ "$output" == *"Paused (operator)"* ]]

	touch "$W1/GO" "$W2/GO" "$W3/GO"
	run rover resume --all --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '.resumed | sort')" = "$(jq -nc "[$T1, $T2] | sort")" ]
	wait_status "$T1" COMPLETED 60
	wait_status "$T2" COMPLETED 60
	[ "$(cat "$W1/runs.log")" = "$(printf 'first\nwait\nlast')" ]
	# the others are left as they were
	[ "$(record "$T3" | jq -r .status)" = PAUSED ]
	[ "$(record "$T3" | jq -r .pauseReason)" = user ]
	[ "$(record "$T4" | jq -r .pauseReason)" = approval ]
	# nothing left to resume
	run rover resume --all
	[ "$status" -eq 0 ]
	[[ "$output" == *"No task paused by"* ]]
}

case_pause_all_drains_every_task_after_its_step() {
	wf_go
	new_task -w go.yml "one"
	T1=$TID W1=$WS
	new_task -w go.yml "two"
	T2=$TID W2=$WS
	wait_file "$W1/waiting" 60
	wait_file "$W2/waiting" 60
	rover pause --all >"$P/pause.log" 2>&1 &
	PID=$!
	# both were asked at once: both drain files are there before either
	# step ends
	wait_file "$STORE/tasks/$T1/iterations/1/.pause-requested" 10
	wait_file "$STORE/tasks/$T2/iterations/1/.pause-requested" 10
	touch "$W1/GO" "$W2/GO"
	wait "$PID"
	for t in "$T1" "$T2"; do
		[ "$(record "$t" | jq -r .status)" = PAUSED ]
		[ "$(record "$t" | jq -r .pauseReason)" = operator ]
	done
	# the step finished: the last step has not run
	[ "$(cat "$W1/runs.log")" = "$(printf 'first\nwait')" ]
	run rover resume --all
	[ "$status" -eq 0 ]
	wait_status "$T1" COMPLETED 60
	wait_status "$T2" COMPLETED 60
	[ "$(cat "$W2/runs.log")" = "$(printf 'first\nwait\nlast')" ]
}

# ---- drain mode -------------------------------------------------------------------

case_drain_via_sigusr1_pauses_running_tasks_and_starts_nothing() {
	wf_go
	write_wf limit.yml <<'YML'
version: '1.0'
name: limit
steps:
  - id: once
    type: command
    command: '[ -e retried ] || { touch retried; echo "limit reached" >&2; exit 75; }'
YML
	new_task -w go.yml "one"
	T1=$TID W1=$WS
	new_task -w go.yml "two"
	T2=$TID W2=$WS
	wait_file "$W1/waiting" 60
	wait_file "$W2/waiting" 60
	# a task paused by a limit whose retry would be due 3-6 s from now
	new_task -w limit.yml "limited"
	T3=$TID
	wait_status "$T3" PAUSED 60
	[ "$(record "$T3" | jq -r .pauseReason)" = retryable_error ]
	cid3=$(record "$T3" | jq -r .containerId)
	ROVER_RETRY_BASE_SECONDS=6 ROVER_RETRY_CAP_SECONDS=6 start_supervise sup
	kill -USR1 "$SUP_PID"
	wait_log "$P/sup.log" "rover supervise: drain mode" 10
	wait_file "$STORE/tasks/$T1/iterations/1/.pause-requested" 10
	wait_file "$STORE/tasks/$T2/iterations/1/.pause-requested" 10
	run rover info
	[[ "$output" == *"in drain mode"* ]]
	run rover list
	[[ "$output" == *"drain mode"* ]]
	# the running steps finish, then the tasks pause
	touch "$W1/GO" "$W2/GO"
	wait_status "$T1" PAUSED 60
	wait_status "$T2" PAUSED 60
	for t in "$T1" "$T2"; do
		[ "$(record "$t" | jq -r .pauseReason)" = drain ]
	done
	[ "$(cat "$W1/runs.log")" = "$(printf 'first\nwait')" ]
	# the limited task's retry came due meanwhile: it did not fire
	sleep 6
	[ "$(record "$T3" | jq -r .status)" = PAUSED ]
	[ "$(record "$T3" | jq -r .containerId)" = "$cid3" ]
	! grep -q "auto-retry" "$P/sup.log"
	kill -TERM "$SUP_PID"
	wait "$SUP_PID" || true

	# started with --drain: the overdue retry still does not fire
	start_supervise sup2 --drain
	wait_log "$P/sup2.log" "rover supervise: drain mode" 10
	sleep 3
	[ "$(record "$T3" | jq -r .containerId)" = "$cid3" ]
	! grep -q "auto-retry" "$P/sup2.log"
	kill -TERM "$SUP_PID"
	wait "$SUP_PID" || true

	# resume --all brings back the drained tasks, not the limited one
	run rover resume --all --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '.resumed | sort')" = "$(jq -nc "[$T1, $T2] | sort")" ]
	wait_status "$T1" COMPLETED 60
	wait_status "$T2" COMPLETED 60
	[ "$(cat "$W2/runs.log")" = "$(printf 'first\nwait\nlast')" ]
	[ "$(record "$T3" | jq -r .status)" = PAUSED ]
}
