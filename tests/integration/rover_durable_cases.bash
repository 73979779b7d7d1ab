# Durable supervision against a real engine: `rover resume`, auto-retry by
# `rover supervise`, orphan classification, crash safety of the supervisor.
# The bodies are shared by rover_durable_docker.bats and
# rover_durable_podman.bats (one @test per case and engine).
#
# Retries are made short with ROVER_RETRY_RESET_WINDOW=0-1 (the retry is due
# 0-1 s after the provider's reset time instead of 2-9 min) and the fake
# agent's [[limit-reset-in:N]] (its limit error names a reset N seconds
# away); ROVER_RETRY_BASE_SECONDS/CAP_SECONDS shorten the backoff used when no
# reset time is known.

load helpers
load rover_helpers

dur_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	# container names are per engine: start ids at a random number
	echo $(((RANDOM << 15 | RANDOM) * 100 + 2000000)) >"$STORE/tasks/.last-id"
	export ROVER_RETRY_RESET_WINDOW=0-1 ROVER_RETRY_BASE_SECONDS=1 ROVER_RETRY_CAP_SECONDS=2
	unset ROVER_RETRY_MAX ROVER_AGENT_BIN
	SUP_PIDS=()
	EV_PID=
}

dur_teardown() {
	local p
	for p in "${SUP_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	[ -n "$EV_PID" ] && kill "$EV_PID" 2>/dev/null
	rover_teardown
}

# start_supervise NAME: `rover supervise` in the background, output in
# $P/NAME.log; its pid in SUP_PID.
start_supervise() {
	"$ROVER" supervise >"$P/$1.log" 2>&1 3>&- &
	SUP_PID=$!
	SUP_PIDS+=("$SUP_PID")
	wait_log "$P/$1.log" "watching" 10
}

# The status on disk, as a supervisor wrote it (inspect would observe itself).
desc_status() {
	jq -r .status "$STORE/tasks/$1/description.json"
}

# wait_desc ID STATUS [SECONDS]: poll description.json (every 20 ms).
wait_desc() {
	local deadline=$((SECONDS + ${3:-30})) s
	while :; do
		s=$(desc_status "$1")
		[ "$s" = "$2" ] && return 0
		[ $SECONDS -lt $deadline ] || { echo "task $1: wanted $2 on disk, still $s" >&2; return 1; }
		sleep 0.02
	done
}

now_ms() { date +%s%3N; }

# Count container starts of the store from the engine's own event stream.
start_events() {
	probe "$ENGINE" events --label "rover.store=$STORE" --action start --count 100000 \
		--timeout 600000 >"$P/starts.txt" 2>/dev/null 3>&- &
	EV_PID=$!
	sleep 0.3
	EV_SINCE=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) # what the journal counts from
}
starts_of() { # id
	grep -c "rover-task-$1-" "$P/starts.txt" || true
}
# expect_starts ID N: exactly N container starts.  Podman's event stream
# can lag by a few hundred ms: wait for N, then make sure no more come.
# Podman 4.3's stream also drops an event now and then on a loaded machine:
# when the task's journal (rover events: container_started) counts more,
# that count is used (more starts than N still fail either way).
expect_starts() {
	local deadline=$((SECONDS + 10))
	while [ "$(starts_of "$1")" -lt "$2" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
	sleep 1
	local n jr
	n=$(starts_of "$1")
	jr=$("$ROVER" events --json --type container_started "$1" 2>/dev/null |
		jq --arg since "$EV_SINCE" '[.[] | select(.at >= $since)] | length')
	if [ "${jr:-0}" -gt "$n" ]; then
		echo "engine events missed a start of task $1; using its journal ($jr)" >&2
		n=$jr
	fi
	[ "$n" = "$2" ] || { echo "task $1: $n container starts, wanted $2" >&2; cat "$P/starts.txt" >&2; return 1; }
}

new_task() { # ARGS... -> TID, WS, ITER
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	ITER=$STORE/tasks/$TID/iterations/1
	[[ $TID =~ ^[0-9]+$ ]]
}

calls_of() { # the fake agent's calls in the task's workspace
	wc -l <"$STORE/workspaces/$1/.fake-agent/calls.log" | tr -d ' '
}

wf_limited() { # FILE DIRECTIVES
	write_wf "$1" <<YML
version: '1.0'
name: limited
steps:
  - id: first
    type: command
    command: echo first >> runs.log
  - id: plan
    type: agent
    prompt: "plan $2"
  - id: last
    type: command
    command: echo last >> runs.log
YML
}

# ---- cases ------------------------------------------------------------------

case_auto_retry_completes() {
	wf_limited wf.yml "[[limit-reset-in:1]] [[rate-limit-once:plan]]"
	start_events
	new_task -w wf.yml "rate limited once"
	wait_status "$TID" PAUSED 60
	run jq -r '.pauseReason + " " + (.resetAt != null | tostring)' "$ITER/checkpoint.json"
	[ "$output" = "retryable_error true" ]

	start_supervise sup
	wait_desc "$TID" COMPLETED 60
	wait_log "$P/sup.log" "task $TID: .*-> COMPLETED" 10
	grep -q "task $TID: auto-retry 1/5 of paused claude task scheduled at .*reset time" "$P/sup.log"
	grep -q "task $TID: auto-retry 1/5 of paused claude task: container .* started" "$P/sup.log"
	# completed steps were skipped: "first" ran once; the agent twice
	[ "$(cat "$WS/runs.log")" = "$(printf 'first\nlast')" ]
	[ "$(calls_of "$TID")" = 2 ]
	expect_starts "$TID" 2
	# the budget resets on success; the attempt is on record
	run jq -r '[.autoRetry.count, (.autoRetry.lastAttemptAt != null), (.resumeInFlight == null)] | @tsv' \
		"$STORE/tasks/$TID/description.json"
	[ "$output" = "$(printf '0\ttrue\ttrue')" ]
	# SIGTERM ends it cleanly
	kill -TERM "$SUP_PID"
	local rc=0
	wait "$SUP_PID" || rc=$?
	[ "$rc" -eq 0 ]
	grep -q "stopping" "$P/sup.log"
	[ ! -e "$STORE/.supervisor.json" ]
}

case_auto_retry_backoff_without_reset_time() {
	wf_limited wf.yml "[[limit-reset-in:none]] [[rate-limit-times:2:plan]]"
	start_supervise sup
	new_task -w wf.yml "no reset time"
	wait_desc "$TID" COMPLETED 60
	# two retries by exponential backoff (base 1 s, cap 2 s), no reset time
	grep -q "task $TID: auto-retry 2/5 of paused claude task scheduled at" "$P/sup.log"
	! grep -q "task $TID: .*reset time" "$P/sup.log"
	[ "$(calls_of "$TID")" = 3 ]
}

case_budget_exhausted() {
	export ROVER_RETRY_MAX=2
	wf_limited wf.yml "[[limit-reset-in:1]] [[rate-limit-always]]"
	start_supervise sup
	new_task -w wf.yml "always limited"
	wait_log "$P/sup.log" "task $TID: gave up after 2 auto-retries" 60
	wait_desc "$TID" PAUSED 10
	# more passes (status file rewritten, as a runner would): no more retries,
	# and "gave up" is said once
	for _ in 1 2 3; do
		cp "$ITER/status.json" "$ITER/.s" && mv "$ITER/.s" "$ITER/status.json"
		sleep 0.4
	done
	[ "$(grep -c "task $TID: gave up" "$P/sup.log")" = 1 ]
	[ "$(calls_of "$TID")" = 3 ]
	run jq -r '[.autoRetry.count, .autoRetry.max, (.autoRetry.nextRetryAt == null)] | @tsv' \
		"$STORE/tasks/$TID/description.json"
	[ "$output" = "$(printf '2\t2\ttrue')" ]
	# list and inspect tell a person to resume
	run "$ROVER" list
	[[ "$output" == *"run rover resume ${TID:0:4}"* ]] # the cell may cut a long id
	run "$ROVER" list --json
	[ "$(echo "$output" | jq -r ".[] | select(.id == $TID) | .needsManualResume")" = true ]
	run "$ROVER" inspect "$TID"
	[[ "$output" == *"rover resume $TID"* ]]
	kill -TERM "$SUP_PID"
	wait "$SUP_PID"
	# a manual resume resets the budget
	run "$ROVER" resume "$TID"
	[ "$status" -eq 0 ]
	wait_status "$TID" PAUSED 60 # inspect observes: no supervisor runs now
	[ "$(jq -r .autoRetry.count "$STORE/tasks/$TID/description.json")" = 0 ]
	run "$ROVER" list --json
	[ "$(echo "$output" | jq -r ".[] | select(.id == $TID) | .needsManualResume")" = false ]
}

case_concurrent_resumes_start_one_container() {
	wf_limited wf.yml "[[rate-limit-once:plan]]"
	new_task -w wf.yml "twenty resumes"
	wait_status "$TID" PAUSED 60
	start_events
	local i pids=()
	for i in $(seq 1 20); do
		(
			while [ ! -e "$P/go" ]; do sleep 0.01; done
			rc=0
			"$ROVER" resume "$TID" >"$P/r.$i.out" 2>&1 || rc=$?
			echo $rc >"$P/r.$i.rc"
		) 3>&- &
		pids+=($!)
	done
	sleep 0.5
	touch "$P/go"
	for i in "${pids[@]}"; do wait "$i" || true; done
	local ok=0 busy=0
	for i in $(seq 1 20); do
		case $(cat "$P/r.$i.rc") in
		0) ok=$((ok + 1)) ;;
		1) grep -q "already being resumed" "$P/r.$i.out" && busy=$((busy + 1)) ;;
		esac
	done
	echo "ok=$ok busy=$busy" >&2
	[ "$ok" = 1 ]
	[ "$busy" = 19 ]
	wait_status "$TID" COMPLETED 60
	expect_starts "$TID" 1
	[ "$(calls_of "$TID")" = 2 ]
	[ ! -e "$ITER/.resume.lock" ]
}

case_stale_lock_reclaimed() {
	wf_limited wf.yml "[[rate-limit-once:plan]]"
	new_task -w wf.yml "stale lock"
	wait_status "$TID" PAUSED 60
	# a live holder: refused
	sleep 300 >/dev/null 2>&1 3>&- &
	local holder=$!
	printf '%d:%s\n' "$holder" "$(now_ms)" >"$ITER/.resume.lock"
	run "$ROVER" resume "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"already being resumed"* ]]
	[ "$(desc_status "$TID")" = PAUSED ]
	# the holder is killed: its lock is reclaimed
	kill -KILL "$holder"
	wait "$holder" 2>/dev/null || true
	run "$ROVER" resume --json "$TID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .success)" = true ]
	[ ! -e "$ITER/.resume.lock" ]
	wait_status "$TID" COMPLETED 60
	# COMPLETED is not resumable, and says why
	run "$ROVER" resume "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not in PAUSED or FAILED status (current: COMPLETED)"* ]]
}

# Three ways a container ends behind rover's back, with a supervisor running:
# killed (137), exit 2 without a status saying paused, removed.
case_orphans_seen_by_supervisor() {
	wf_waiting wf.yml
	printf '#!/bin/sh\nsleep 2\nexit 2\n' >"$P/exit2-agent"
	chmod +x "$P/exit2-agent"
	start_supervise sup
	new_task -w wf.yml "to be killed"
	local killed=$TID
	new_task -w wf.yml "to be removed"
	local removed=$TID
	ROVER_AGENT_BIN=$P/exit2-agent new_task -w wf.yml "exits 2"
	local exit2=$TID
	wait_file() { while [ ! -e "$1" ]; do sleep 0.05; done; }
	wait_file "$STORE/workspaces/$killed/waiting"
	wait_file "$STORE/workspaces/$removed/waiting"
	wait_desc "$killed" ITERATING 10

	local t0 elapsed
	t0=$(now_ms)
	probe "$ENGINE" kill "$(jq -r .containerId "$STORE/tasks/$killed/description.json")" 9
	wait_desc "$killed" FAILED 10
	elapsed=$(($(now_ms) - t0))
	echo "kill -> FAILED on disk: ${elapsed} ms" >&2
	[ "$elapsed" -lt 2000 ]
	[[ "$(jq -r .error "$STORE/tasks/$killed/description.json")" == *"SIGKILL"* ]]
	[ "$(jq -r .exitCode "$STORE/tasks/$killed/description.json")" = 137 ]

	t0=$(now_ms)
	probe "$ENGINE" rm -f "$(jq -r .containerId "$STORE/tasks/$removed/description.json")"
	if [ "$ENGINE" = podman ]; then
		# Podman's forced removal stops the container first (SIGTERM): the
		# runner checkpoints and records a pause before the container goes.
		wait_desc "$removed" PAUSED 10
		[ "$(jq -r .pauseReason "$STORE/tasks/$removed/description.json")" = signal ]
	else
		# Docker's is a SIGKILL: seen as the kill or as the vanished container
		wait_desc "$removed" FAILED 10
		[[ "$(jq -r .error "$STORE/tasks/$removed/description.json")" == *gone* ||
			"$(jq -r .exitCode "$STORE/tasks/$removed/description.json")" = 137 ]]
	fi
	elapsed=$(($(now_ms) - t0))
	echo "rm -> settled on disk: ${elapsed} ms" >&2
	[ "$elapsed" -lt 2000 ]

	wait_desc "$exit2" PAUSED 15
	run jq -r '.pauseReason + "|" + .error' "$STORE/tasks/$exit2/description.json"
	[[ "$output" == "orphan|"*"exited 2"* ]]
	# reported once each, and the orphan pause is not auto-retried
	sleep 1
	[ "$(grep -c "task $killed: .*-> FAILED" "$P/sup.log")" = 1 ]
	! grep -q "task $exit2: auto-retry" "$P/sup.log"
}

case_orphans_seen_by_list() {
	wf_waiting wf.yml
	printf '#!/bin/sh\nexit 2\n' >"$P/exit2-agent"
	chmod +x "$P/exit2-agent"
	new_task -w wf.yml "to be killed"
	local killed=$TID
	new_task -w wf.yml "to be removed"
	local removed=$TID
	ROVER_AGENT_BIN=$P/exit2-agent new_task -w wf.yml "exits 2"
	local exit2=$TID
	while [ ! -e "$STORE/workspaces/$killed/waiting" ] ||
		[ ! -e "$STORE/workspaces/$removed/waiting" ]; do sleep 0.05; done
	probe "$ENGINE" kill "$(jq -r .containerId "$STORE/tasks/$killed/description.json")" 9
	# removed: gone without a trace (killed, then removed, before anyone looked)
	local rcid
	rcid=$(jq -r .containerId "$STORE/tasks/$removed/description.json")
	probe "$ENGINE" kill "$rcid" 9
	probe "$ENGINE" wait "$rcid" >/dev/null
	probe "$ENGINE" rm -f "$rcid"
	probe "$ENGINE" wait "$(jq -r .containerId "$STORE/tasks/$exit2/description.json")" >/dev/null
	run "$ROVER" list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r ".[] | select(.id == $killed) | .status")" = FAILED ]
	[ "$(echo "$output" | jq -r ".[] | select(.id == $killed) | .exitCode")" = 137 ]
	[ "$(echo "$output" | jq -r ".[] | select(.id == $removed) | .status")" = FAILED ]
	[[ "$(echo "$output" | jq -r ".[] | select(.id == $removed) | .error")" == *gone* ]]
	[ "$(echo "$output" | jq -r ".[] | select(.id == $exit2) | .status")" = PAUSED ]
	[ "$(echo "$output" | jq -r ".[] | select(.id == $exit2) | .pauseReason")" = orphan ]
	# a second listing changes nothing (no flip back from a stale status file)
	run "$ROVER" list --json
	[ "$(echo "$output" | jq -r ".[] | select(.id == $killed) | .status")" = FAILED ]
}

# F.12: a task whose container died is resumable at once, without a list.
case_resume_of_crashed_iterating_task() {
	wf_waiting wf.yml
	new_task -w wf.yml "crashes"
	while [ ! -e "$WS/waiting" ]; do sleep 0.05; done
	wait_status "$TID" ITERATING 10
	probe "$ENGINE" kill "$(jq -r .containerId "$STORE/tasks/$TID/description.json")" 9
	probe "$ENGINE" wait "$(jq -r .containerId "$STORE/tasks/$TID/description.json")" >/dev/null
	[ "$(desc_status "$TID")" = ITERATING ] # nobody has looked yet
	touch "$WS/GO"
	run "$ROVER" resume "$TID"
	echo "$output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == *"Status: FAILED"* ]]
	wait_status "$TID" COMPLETED 60
	# the completed first step was skipped
	[ "$(cat "$WS/runs.log")" = "$(printf 'first\nwait\nlast')" ]
}

# The supervisor is SIGKILLed at random moments while it retries a task
# that needs exactly max retries: a lost attempt would exhaust the budget
# before the task completes, a repeated one would show as an extra start.
case_supervisor_sigkill_neither_loses_nor_repeats() {
	export ROVER_RETRY_MAX=3
	wf_limited wf.yml "[[limit-reset-in:1]] [[rate-limit-times:3:plan]]"
	start_events
	new_task -w wf.yml "killed supervisor"
	wait_status "$TID" PAUSED 60
	local deadline=$((SECONDS + 120)) kills=0 pid
	while [ "$(desc_status "$TID")" != COMPLETED ] && [ $SECONDS -lt $deadline ]; do
		"$ROVER" supervise >>"$P/sup.log" 2>&1 3>&- &
		pid=$!
		SUP_PIDS+=("$pid")
		sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
		kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
		wait "$pid" 2>/dev/null || true
	done
	# let a final supervisor settle whatever the last kill interrupted
	if [ "$(desc_status "$TID")" != COMPLETED ]; then
		start_supervise final
		wait_desc "$TID" COMPLETED 60
	fi
	echo "supervisor kills: $kills; resumes settled after a kill: $(grep -c 'interrupted resume' "$P"/*.log)" >&2
	[ "$(desc_status "$TID")" = COMPLETED ]
	[ "$(calls_of "$TID")" = 4 ]
	expect_starts "$TID" 4
	[ "$(jq -r '.resumeInFlight' "$STORE/tasks/$TID/description.json")" = null ]
}

case_two_supervisors_one_scheduler() {
	start_supervise a
	local a=$SUP_PID
	wait_log "$P/a.log" "this process schedules" 10
	start_supervise b
	local b=$SUP_PID
	wait_log "$P/b.log" "scheduled by process $a" 10
	! grep -q "this process schedules" "$P/b.log"
	wf_limited wf.yml "[[limit-reset-in:1]] [[rate-limit-once:plan]]"
	start_events
	new_task -w wf.yml "two supervisors"
	wait_desc "$TID" COMPLETED 60
	sleep 0.5
	expect_starts "$TID" 2
	[ "$(calls_of "$TID")" = 2 ]
	grep -q "task $TID: auto-retry 1/5" "$P/a.log"
	! grep -q "task $TID: auto-retry" "$P/b.log"
	# both saw the task change
	grep -q "task $TID: .*-> COMPLETED" "$P/b.log"
	# the scheduler goes away: the other takes over
	kill -TERM "$a"
	wait "$a"
	wait_log "$P/b.log" "this process schedules" 10
	[ "$(jq -r .pid "$STORE/.supervisor.json")" = "$b" ]
}

# `rover list --watch` runs the same loop: it redraws on a change (well
# before its interval), says who schedules, and Ctrl+C ends it with 0.
case_list_watch_follows_changes() {
	start_supervise sup
	"$ROVER" list --watch 60 --json >"$P/watch.json" 2>"$P/watch.err" 3>&- &
	local w=$!
	SUP_PIDS+=("$w")
	"$ROVER" list --watch 60 >"$P/watch.txt" 2>&1 3>&- &
	local h=$!
	SUP_PIDS+=("$h")
	# (a watcher whose first frame came before the scheduler wrote who it is
	# draws again when it learns it: nothing else changes here)
	wait_log "$P/watch.txt" "scheduled by process $SUP_PID" 10
	wf_waiting wf.yml
	new_task -w wf.yml "watched"
	while [ ! -e "$WS/waiting" ]; do sleep 0.05; done
	# each line is one JSON array; the task shows up ITERATING long before 60 s
	local deadline=$((SECONDS + 10))
	until tail -n 1 "$P/watch.json" | jq -e ".[] | select(.id == $TID and .status == \"ITERATING\")" \
		>/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || { cat "$P/watch.json" "$P/watch.err" >&2; return 1; }
		sleep 0.1
	done
	touch "$WS/GO"
	deadline=$((SECONDS + 20))
	until tail -n 1 "$P/watch.json" | jq -e ".[] | select(.id == $TID and .status == \"COMPLETED\")" \
		>/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || { tail -n 3 "$P/watch.json" >&2; return 1; }
		sleep 0.1
	done
	# every line parses
	while IFS= read -r line; do echo "$line" | jq -e 'type == "array"' >/dev/null; done <"$P/watch.json"
	grep -q "Refreshing every 60s" "$P/watch.txt"
	grep -q "task $TID: .*-> COMPLETED" "$P/watch.txt"
	local rc=0
	kill -INT "$w" "$h"
	wait "$w" || rc=$?
	[ "$rc" -eq 0 ]
	wait "$h" || rc=$?
	[ "$rc" -eq 0 ]
}
