# `rover iterate` and the `rover logs` fixes of the user-loop issue, against
# a real engine.  Bodies shared by iterate_docker.bats and
# iterate_podman.bats (one @test per case and engine).
#
#   - a task completes -> iterate with instructions -> the second iteration
#     sees them (a command step echoes its input; the agent step gets them
#     as its prompt input `description`), in iterations/2/ with its own
#     logs; the first iteration's commits reach the project's branch before
#     the second starts;
#   - iteration 2 pauses on a rate limit, is refused an iterate while
#     PAUSED, resumes (skipping its completed steps) and completes;
#   - iterate refused while running; an iterate SIGKILLed at random moments
#     leaves the task at the old or the new iteration, settled by one list;
#   - logs: each line once after list/inspect saved the output first;
#     -f follows into the container an auto-retry starts; --tail; --since.

load helpers
load rover_helpers

it_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	# container names are per engine: start ids at a random number
	echo $(((RANDOM << 15 | RANDOM) * 100 + 8000000)) >"$STORE/tasks/.last-id"
	export ROVER_RETRY_RESET_WINDOW=0-1 ROVER_RETRY_BASE_SECONDS=1 ROVER_RETRY_CAP_SECONDS=2
	unset ROVER_RETRY_MAX ROVER_AGENT_BIN
	BG_PIDS=()
}

it_teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rover_teardown
}

new_task() { # ARGS... -> TID, WS
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$STORE/workspaces/$TID
	[[ $TID =~ ^[0-9]+$ ]]
}

wait_file() { # FILE [SECONDS]
	local deadline=$((SECONDS + ${2:-30}))
	until [ -e "$1" ]; do
		[ $SECONDS -lt $deadline ] || { echo "no $1" >&2; return 1; }
		sleep 0.1
	done
}

# iterations of the record on disk
desc_iter() { jq -r .iterations "$STORE/tasks/$1/description.json"; }

# A workflow whose command step echoes its input (and appends it to
# said.log), an agent step whose prompt is the input (so the fake agent's
# directives in it apply), and a step that waits for GO when the input
# says "wait".
wf_echo() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: echoer
inputs:
  - name: description
    type: string
    required: true
steps:
  - id: say
    type: command
    command: 'echo "input: {{inputs.description}}"; echo "{{inputs.description}}" >> said.log'
  - id: maybe-wait
    type: command
    command: 'case "{{inputs.description}}" in *wait*) touch waiting; while [ ! -e GO ]; do sleep 0.1; done;; esac; rm -f waiting GO'
  - id: plan
    type: agent
    prompt: "plan {{inputs.description}}"
  - id: done
    type: command
    command: 'echo "done: {{inputs.description}}"; case "{{inputs.description}}" in *hold*) while [ ! -e GO2 ]; do sleep 0.1; done;; esac'
YML
}

# ---- cases ------------------------------------------------------------------

case_iterate_runs_a_second_iteration_with_the_instructions() {
	wf_echo
	new_task -w wf.yml "first pass"
	wait_status "$TID" COMPLETED 60
	# work left in the workspace after the first iteration (as an agent
	# that committed at the very end would): imported before iteration 2
	git -C "$WS" -c safe.directory="*" -c user.email=a@b.invalid -c user.name=agent commit -q --allow-empty -m "late work of iteration 1"

	run rover iterate "$TID" "second pass: it's \$(not run) wait" --json
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[ "$(echo "$output" | jq -r .iteration)" = 2 ]
	[ "$(echo "$output" | jq -r .status)" = IN_PROGRESS ]
	[ "$(echo "$output" | jq -r .previousStatus)" = COMPLETED ]
	wait_file "$WS/waiting" 60
	# the commit reached the project's branch before iteration 2 ran
	git -C "$P" log --format=%s "rover/task-$TID" | grep -qx "late work of iteration 1"
	# refused while it runs, nothing changed
	run rover iterate "$TID" "third"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Cannot iterate over a running task"* ]]
	[[ "$output" == *"rover stop $TID"* ]]
	[ "$(desc_iter "$TID")" = 2 ]
	: >"$WS/GO"
	wait_status "$TID" COMPLETED 60

	# the instructions reached the container as data, verbatim
	[ "$(cat "$WS/said.log")" = "$(printf '%s\n' "first pass" "second pass: it's \$(not run) wait")" ]
	[ "$(jq -r .description "$STORE/tasks/$TID/iterations/2/inputs.json")" = "second pass: it's \$(not run) wait" ]
	[ "$(jq -r .description "$STORE/tasks/$TID/iterations/1/inputs.json")" = "first pass" ]
	# the fake agent got them as its prompt
	grep -q "plan second pass" "$WS/.fake-agent/calls.log"
	# inspect, list and their JSON say which iteration
	[ "$(task_json "$TID" | jq -r .iterations)" = 2 ]
	rover inspect "$TID" | grep -Eq "Iteration +2"
	rover list | grep "^$TID " | grep -q "Completed #2"
	[ "$(rover list --json | jq -r --argjson id "$TID" '.[] | select(.id == $id) | .iterations')" = 2 ]
	# each iteration has its own logs
	run rover logs --iteration 1 "$TID"
	[ "$status" -eq 0 ]
	local l1=$output
	[[ "$l1" == *"input: first pass"* ]]
	[[ "$l1" != *"second pass"* ]]
	run rover logs "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"input: second pass: it's \$(not run) wait"* ]]
	[[ "$output" != *"input: first pass"* ]]
	[ "$output" != "$l1" ]
	run rover logs --iteration 3 "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no iteration 3"* ]]
}

case_iteration_pauses_on_a_rate_limit_and_resumes() {
	wf_echo
	new_task -w wf.yml "plain first"
	wait_status "$TID" COMPLETED 60
	run rover iterate "$TID" "[[limit-reset-in:1]] [[rate-limit-once:iter2]] second"
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	wait_status "$TID" PAUSED 60
	local it2=$STORE/tasks/$TID/iterations/2
	[ "$(jq -r .pauseReason "$it2/checkpoint.json")" = retryable_error ]
	[ ! -e "$STORE/tasks/$TID/iterations/1/checkpoint.json" ] || \
		[ "$(jq -r .pauseReason "$STORE/tasks/$TID/iterations/1/checkpoint.json")" != retryable_error ]
	rover list | grep "^$TID " | grep -q "Paused (claude) #2"
	# refused while PAUSED: resume first
	run rover iterate "$TID" "something else"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Cannot iterate over a paused task"* ]]
	[[ "$output" == *"rover resume $TID"* ]]
	[ "$(desc_iter "$TID")" = 2 ]
	[ ! -e "$STORE/tasks/$TID/iterations/3" ]
	# the resume resumes iteration 2, from its checkpoint
	run rover resume "$TID"
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	[[ "$output" == *"Checkpoint: found"* ]]
	wait_status "$TID" COMPLETED 60
	[ "$(desc_iter "$TID")" = 2 ]
	# "say" ran once per iteration: completed steps were skipped on resume
	[ "$(cat "$WS/said.log")" = "$(printf '%s\n' "plain first" "[[limit-reset-in:1]] [[rate-limit-once:iter2]] second")" ]
	# the agent: once in iteration 1, twice in iteration 2 (limited, then ok)
	[ "$(wc -l <"$WS/.fake-agent/calls.log")" -eq 3 ]
	# logs of iteration 2: both of its containers, each once
	run rover logs "$TID"
	[ "$(grep -c '^input: \[\[limit' <<<"$output")" = 1 ]
	[ "$(grep -c '^done: \[\[limit' <<<"$output")" = 1 ]
	[ "$(grep -c '==== end of container' <<<"$output")" -ge 1 ]
	run rover logs --iteration 1 "$TID"
	[[ "$output" == *"done: plain first"* ]]
	[[ "$output" != *"limit"* ]]
}

case_iterate_refused_for_new_and_unknown() {
	run rover iterate 999999999 "x"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not found"* ]]
	run rover iterate
	[ "$status" -eq 2 ]
	run rover iterate 1
	[ "$status" -eq 2 ]
	[[ "$output" == *"missing INSTRUCTIONS"* ]]
}

# An iterate killed at random moments: after ONE `rover list` the task is at
# the old iteration (COMPLETED, no container of the next) or at the new one
# with its container, never stuck; and the next iterate works.
case_iterate_sigkilled_leaves_old_or_new_iteration() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: quick
steps:
  - id: say
    type: command
    command: 'echo "input: {{inputs.description}}"'
YML
	new_task -w wf.yml "first"
	wait_status "$TID" COMPLETED 60
	local i k before adopted=0 rolled=0 late=0 SOCK
	SOCK=$(engine_sock "$ENGINE")
	for i in $(seq 1 ${ROVER_TEST_KILLS:-12}); do
		before=$(desc_iter "$TID")
		"$ROVER" iterate "$TID" "round $i" >/dev/null 2>&1 &
		local pid=$!
		sleep "0.$(printf '%03d' $((RANDOM % 500)))"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		"$ROVER" list >/dev/null 2>&1
		k=$(desc_iter "$TID")
		[ "$(jq -r '.resumeInFlight // "none"' "$STORE/tasks/$TID/description.json")" = none ] || {
			echo "round $i: resumeInFlight left after list" >&2
			cat "$STORE/tasks/$TID/description.json" >&2
			return 1
		}
		if [ "$k" = "$before" ]; then
			rolled=$((rolled + 1))
			[ "$(desc_status "$TID")" = COMPLETED ]
			# A container of the iteration that did not happen can appear
			# after the list when the engine was still creating it as the
			# client died (its request was in flight); the next iterate
			# replaces it (launch.h).  Counted, not an error.
			local f
			f=$(jq -rn --arg s "rover.store=$STORE" --arg t "rover.task=$TID" \
				--arg n "rover.iteration=$((before + 1))" '{label: [$s, $t, $n]} | @uri')
			[ "$(curl -fsS --unix-socket "$SOCK" "http://d/v1.41/containers/json?all=1&filters=$f" | jq length)" = 0 ] ||
				late=$((late + 1))
		else
			adopted=$((adopted + 1))
			[ "$k" = $((before + 1)) ]
			wait_status "$TID" COMPLETED 60
			rover logs "$TID" | grep -q "input: round $i"
		fi
	done
	echo "# $adopted new iterations, $rolled rolled back ($late with a late container)" >&3
	# still usable
	before=$(desc_iter "$TID")
	run rover iterate "$TID" "after the storm"
	[ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
	wait_status "$TID" COMPLETED 60
	[ "$(desc_iter "$TID")" = $((before + 1)) ]
}

desc_status() { jq -r .status "$STORE/tasks/$1/description.json"; }

# container lines of `rover logs` output that are not frame lines
content() { grep -v '^====' || true; }

case_logs_once_after_list_saved_them() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: lines
steps:
  - id: talk
    type: command
    command: 'for i in 1 2 3 4 5; do echo "line-$i"; done; echo "err-line" >&2'
YML
	new_task -w wf.yml "talk"
	# list and inspect notice the end first and save container.log
	local deadline=$((SECONDS + 60))
	until [ "$("$ROVER" list --json | jq -r --argjson id "$TID" '.[] | select(.id == $id) | .status')" = COMPLETED ]; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.3
	done
	rover inspect "$TID" >/dev/null
	grep -q "==== end of container" "$STORE/tasks/$TID/iterations/1/container.log"
	# the container is still on the engine
	probe "$ENGINE" inspect "$(task_json "$TID" | jq -r .containerId)" | grep -q "^status=exited"
	run rover logs "$TID"
	[ "$status" -eq 0 ]
	local i
	for i in 1 2 3 4 5; do
		[ "$(grep -c "^line-$i\$" <<<"$output")" = 1 ] || { echo "line-$i not once:" >&2; echo "$output" >&2; return 1; }
	done
	[ "$(grep -c "Workflow completed" <<<"$output")" = 1 ]
	[ "$(grep -c "err-line" <<<"$output")" = 1 ]
	# --tail N: the last N lines of that same output
	local full=$output
	run rover logs --tail 3 "$TID"
	[ "$output" = "$(tail -n 3 <<<"$full")" ]
	run rover logs --tail 0 "$TID"
	[ -z "$output" ]
	# --since: saved before TIME: dropped; an hour back: all of it
	run rover logs --since 1h "$TID"
	[ "$output" = "$full" ]
	sleep 1.2
	run rover logs --since "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$TID"
	[ "$status" -eq 0 ]
	[ -z "$(content <<<"$output")" ]
	run rover logs --since yesterday "$TID"
	[ "$status" -eq 2 ]
	[[ "$output" == *"RFC 3339"* ]]
}

case_logs_since_cuts_a_live_container() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: slow
steps:
  - id: talk
    type: command
    command: 'echo early; sleep 3; echo late; touch said-late; while [ ! -e GO ]; do sleep 0.1; done'
YML
	new_task -w wf.yml "slow"
	wait_file "$WS/said-late" 60
	sleep 0.2
	# the container is live: the engine cuts at the second
	run rover logs --since 2s "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *late* ]]
	[[ "$output" != *early* ]]
	run rover logs --tail 1 "$TID"
	[ "$output" = late ]
	: >"$WS/GO"
	wait_status "$TID" COMPLETED 60
}

case_logs_follow_into_the_auto_retry() {
	# Each container holds at a gate file until the test has seen -f where
	# it should be: following the first one live ("wait": GO), then
	# following into the retry's ("hold": GO2).  Without the gates a loaded
	# machine could let the retry run to its end before -f looked again (it
	# then shows the retry's output from container.log, correctly, but
	# never follows into it).
	wf_echo
	# The scheduler first: -f waits through a pause only while one runs
	# (a pause with nobody to retry it ends -f: the next case).
	"$ROVER" supervise >"$P/sup.log" 2>&1 3>&- &
	BG_PIDS+=("$!")
	wait_log "$P/sup.log" "schedules auto-retries" 20
	new_task -w wf.yml "[[limit-reset-in:2]] [[rate-limit-once:f]] go wait hold"
	"$ROVER" logs -f "$TID" >"$P/follow.out" 2>"$P/follow.err" 3>&- &
	local lpid=$!
	BG_PIDS+=("$lpid")
	# -f follows the first container while it runs; it then pauses on the
	# rate limit and the supervisor starts the retry, which -f follows into
	wait_log "$P/follow.out" "^input: \\[\\[limit" 60
	: >"$WS/GO"
	wait_log "$P/follow.err" "Following task $TID into container" 90
	: >"$WS/GO2"
	wait_status "$TID" COMPLETED 90
	# logs -f returns by itself once the task is COMPLETED
	local deadline=$((SECONDS + 20))
	while kill -0 "$lpid" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || { echo "logs -f still running" >&2; cat "$P/follow.out" "$P/follow.err" >&2; return 1; }
		sleep 0.2
	done
	wait "$lpid"
	# both containers: the limited one ("input:" of the first run), the retry's ("done:")
	[ "$(grep -c '^input: \[\[limit' "$P/follow.out")" = 1 ] || { cat "$P/follow.out" "$P/follow.err" >&2; return 1; }
	[ "$(grep -c '^done: \[\[limit' "$P/follow.out")" = 1 ] || { cat "$P/follow.out" "$P/follow.err" "$P/sup.log" >&2; return 1; }
	grep -q "is COMPLETED" "$P/follow.err"
	# and it is what `rover logs` shows afterwards, line for line (saved
	# output has both streams in one; -f kept them apart)
	diff <("$ROVER" logs "$TID" 2>/dev/null | content | sort) \
		<(cat "$P/follow.out" "$P/follow.err" | content | grep -Ev '^(ℹ|⚠|rover:)' | sort)
}

case_logs_follow_returns_at_a_pause_nobody_retries() {
	wf_echo
	new_task -w wf.yml "[[rate-limit-always]] stuck"
	wait_status "$TID" PAUSED 60
	# no supervisor runs: nothing will resume it, -f returns at once
	run timeout 20 "$ROVER" logs -f "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"is PAUSED"* ]]
}
