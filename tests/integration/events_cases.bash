# rover events against a real engine: the journal of a task that was paused by
# a rate limit, auto-retried by `rover supervise` and completed lists each
# transition once, in order, with the runner's step events merged in.  Shared
# by events_docker.bats and events_podman.bats.

load rover_durable_cases

ev_setup() { # docker|podman
	dur_setup "$1"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 2500000)) >"$STORE/tasks/.last-id"
}

ev_teardown() { dur_teardown; }

case_events_of_a_retried_task() {
	wf_limited wf.yml "[[limit-reset-in:1]] [[rate-limit-once:plan]]"
	new_task -w wf.yml "journaled"
	wait_status "$TID" PAUSED 60
	start_supervise sup
	wait_desc "$TID" COMPLETED 60
	kill -TERM "$SUP_PID"
	wait "$SUP_PID" || true

	run "$ROVER" events --json --no-steps "$TID"
	[ "$status" -eq 0 ]
	# every transition once, in order (a task is marked started, then its
	# container is recorded: container_started follows each start)
	[ "$(echo "$output" | jq -r '[.[].type] | join(" ")')" = \
		"created started container_started paused retry_scheduled retry_fired resumed container_started completed" ]
	[ "$(echo "$output" | jq -r '.[] | select(.type == "paused") | .reason')" = retryable_error ]
	# the resume says how long the task was paused and how old its checkpoint was
	[ "$(echo "$output" | jq '.[] | select(.type == "resumed") | (.pauseDurationMs >= 0 and .checkpointAgeMs >= 0)')" = true ]
	[ "$(echo "$output" | jq -r '.[] | select(.type == "retry_fired") | .attempt')" = 1 ]
	# times never go back
	[ "$(echo "$output" | jq '[.[].at] == ([.[].at] | sort)')" = true ]

	# with the runner's steps: each step done once, though the run was resumed
	run "$ROVER" events --json --type step_done "$TID"
	[ "$(echo "$output" | jq -r '[.[].step] | join(" ")')" = "first plan last" ]
	[ "$(echo "$output" | jq -r '[.[].source] | unique | join(" ")')" = runner ]

	# --limit/--reverse: the newest first
	run "$ROVER" events --json --no-steps --limit 2 --reverse "$TID"
	[ "$(echo "$output" | jq -r '[.[].type] | join(" ")')" = "completed container_started" ]
	# --since an age, and the whole project
	run "$ROVER" events --json --since 10m --type created
	[ "$(echo "$output" | jq -r ".[] | select(.taskId == $TID) | .type")" = created ]
	run "$ROVER" events --since yesterday
	[ "$status" -eq 2 ]
	# the table for people: one line per event
	run "$ROVER" events --no-steps "$TID"
	[ "$status" -eq 0 ]
	[ "$(grep -c " $TID  " <<<"$output")" -eq 9 ]
	# a wrong id is one clear line
	run "$ROVER" events 99999999
	[ "$status" -eq 1 ]
	grep -q "99999999" <<<"$output"
}

case_events_follow_prints_new_events() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: slow
steps:
  - id: wait
    type: command
    command: sleep 2
YML
	"$ROVER" events --follow --json >"$P/follow.jsonl" 2>"$P/follow.err" &
	local fpid=$!
	new_task -w wf.yml "followed"
	wait_status "$TID" COMPLETED 60
	local deadline=$((SECONDS + 10))
	until grep -q '"completed"' "$P/follow.jsonl"; do
		[ $SECONDS -lt $deadline ] || { cat "$P/follow.jsonl" "$P/follow.err" >&2; kill "$fpid"; return 1; }
		sleep 0.2
	done
	kill -INT "$fpid"
	wait "$fpid"
	# each event printed once
	[ "$(jq -r "select(.taskId == $TID) | .type" "$P/follow.jsonl" | sort | uniq -d)" = "" ]
	jq -r "select(.taskId == $TID) | .type" "$P/follow.jsonl" | grep -qx started
}
