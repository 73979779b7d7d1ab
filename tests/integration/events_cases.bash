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

# The user's hooks (hooks.h): each fires exactly once per transition, with the
# supervisor SIGKILLed and restarted at random moments; a repository's
# rover.json hooks never run.
write_hooks() { # the user's config with hooks counting into $P/hooks.count
	mkdir -p "$P/xdg/rover"
	export XDG_CONFIG_HOME=$P/xdg
	cat >"$P/xdg/rover/config.json" <<JSON
{"hooks": {
  "onPause": "echo \"\$ROVER_TASK_ID \$ROVER_EVENT \$ROVER_EVENT_TYPE\" >> $P/hooks.count",
  "onComplete": "cat > $P/stdin-\$ROVER_TASK_ID.json; echo \"\$ROVER_TASK_ID \$ROVER_EVENT \$ROVER_EVENT_TYPE\" >> $P/hooks.count",
  "onNeedsAttention": "echo \"\$ROVER_TASK_ID \$ROVER_EVENT \$ROVER_EVENT_TYPE\" >> $P/hooks.count"
}}
JSON
}

case_hooks_fire_once_across_supervisor_kills() {
	write_hooks
	# The three tasks share one account: after the limit the gate lets them
	# go one at a time.  This case is about hooks, not the gate's pace (60 s
	# and 30 s by default, which a loaded machine pushed past the deadline).
	export ROVER_GATE_PROBE_SECONDS=2 ROVER_GATE_STAGGER_SECONDS=1
	# a project file naming a hook: it must never run
	echo "{\"hooks\": {\"onComplete\": \"touch $P/repo-hook-ran\"}}" >rover.json
	wf_limited wf.yml "[[limit-reset-in:1]] [[rate-limit-once:plan]]"
	# hooks fire for what happens from the first dispatch on: the
	# supervisor starts first
	start_supervise first
	grep -q 'rover.json sets "hooks", which are ignored' "$P/first.log"
	local ids=() i
	for i in 1 2 3; do
		new_task -w wf.yml "hooked $i"
		ids+=("$TID")
	done
	# At most 10 kills at random moments, then the last supervisor is left
	# alone: on a loaded machine a supervisor killed every second made no
	# progress at all, which tested the machine, not the hooks.
	local deadline=$((SECONDS + 240)) kills=0 pid done_all
	while [ $SECONDS -lt $deadline ]; do
		done_all=1
		for i in "${ids[@]}"; do [ "$(desc_status "$i")" = COMPLETED ] || done_all=0; done
		[ $done_all = 1 ] && break
		if [ $kills -lt 10 ] && [ $((RANDOM % 2)) = 0 ]; then
			kill -KILL "$SUP_PID" 2>/dev/null && kills=$((kills + 1))
			wait "$SUP_PID" 2>/dev/null || true
			"$ROVER" supervise >>"$P/sup.log" 2>&1 3>&- &
			SUP_PID=$!
			SUP_PIDS+=("$SUP_PID")
		fi
		sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
	done
	[ "$done_all" = 1 ] || {
		for i in "${ids[@]}"; do echo "task $i: $(desc_status "$i")" >&2; done
		tail -n 20 "$P/sup.log" >&2
		return 1
	}
	# a last pass by a live supervisor, then the detached hooks finish
	sleep 2
	deadline=$((SECONDS + 20))
	until [ "$(grep -c 'onComplete' "$P/hooks.count" 2>/dev/null)" -ge 3 ] || [ $SECONDS -ge $deadline ]; do
		sleep 0.2
	done
	sleep 1
	echo "supervisor kills: $kills" >&2
	cat "$P/hooks.count" >&2
	grep -h "hook" "$P/first.log" "$P/sup.log" >&2 || true
	for i in "${ids[@]}"; do "$ROVER" events --no-steps "$i" >&2 || true; done
	for i in "${ids[@]}"; do
		[ "$(grep -c "^$i onPause paused$" "$P/hooks.count")" = 1 ]
		[ "$(grep -c "^$i onComplete completed$" "$P/hooks.count")" = 1 ]
		# the task's JSON on stdin, with the event that fired
		[ "$(jq -r '.id, .status, .event.type' "$P/stdin-$i.json" | tr '\n' ' ')" = "$i COMPLETED completed " ]
	done
	[ "$(wc -l <"$P/hooks.count")" -eq 6 ]
	[ ! -e "$P/repo-hook-ran" ]
}

case_hooks_needs_attention_once() {
	write_hooks
	export ROVER_RETRY_MAX=0 # auto-retry off: a person must resume
	wf_limited wf.yml "[[limit-reset-in:1]] [[rate-limit-once:plan]]"
	start_supervise first
	new_task -w wf.yml "needs a person"
	wait_status "$TID" PAUSED 60
	wait_log "$P/first.log" "auto-retry is off" 30
	# a restarted supervisor learns it again, but the journal says it once
	kill -TERM "$SUP_PID"
	wait "$SUP_PID" || true
	start_supervise second
	wait_log "$P/second.log" "auto-retry is off" 30
	# the hook runs detached: wait for it, then long enough for a second
	# (wrong) run to show
	wait_log "$P/hooks.count" "^$TID onNeedsAttention needs_attention$" 30
	sleep 2
	[ "$(grep -c "^$TID onNeedsAttention needs_attention$" "$P/hooks.count")" = 1 ]
	[ "$(grep -c "^$TID onPause paused$" "$P/hooks.count")" = 1 ]
	run "$ROVER" events --json --type needs_attention "$TID"
	[ "$(echo "$output" | jq -r '.[].reason')" = "auto-retry is off" ]
}
