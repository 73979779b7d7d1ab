#!/usr/bin/env bats
# rover-agent run for real on this host: completion, failures, pause by
# rate limit / signal / drain file / exit 75, resume, workflow drift, loops,
# reaping, and the files it writes checked against our schemas.

load agent_helpers

setup() { agent_setup; }
teardown() { agent_teardown; }

three_steps() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: three
steps:
  - id: one
    type: command
    command: echo one >> runs.log
  - id: two
    type: command
    command: echo two >> runs.log
  - id: three
    type: command
    command: echo three >> runs.log
YML
}

@test "a workflow runs to completion: exit 0, status completed, checkpoint removed" {
	wf=$(three_steps)
	run_agent "$wf"
	[ "$status" -eq 0 ]
	[ "$(cat "$W/ws/runs.log" | tr '\n' ' ')" = "one two three " ]
	[ "$(jqf .status "$W/out/status.json")" = completed ]
	[ "$(jqf .progress "$W/out/status.json")" = 100 ]
	[ ! -e "$W/out/checkpoint.json" ]
	grep -q '"event": *"workflow_start"' "$W/out/rover.jsonl"
	grep -q '"event": *"workflow_complete"' "$W/out/rover.jsonl"
	# every line of the event log is one JSON object with the required keys
	while read -r line; do
		echo "$line" | jq -e '.timestamp and .level and .event and (.message|type=="string")' >/dev/null
	done <"$W/out/rover.jsonl"
	validate_schema status "$W/out/status.json"
}

@test "bad options exit 1 with one clear line, never 0" {
	wf=$(three_steps)
	run "$AGENT" run "$wf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--output DIR is required"* ]]
	run "$AGENT" run "$wf" --output "$W/nope"
	[ "$status" -eq 1 ]
	[[ "$output" == *"does not exist"* ]]
	run "$AGENT" run "$wf" --output "$W/out" --status-file "$W/out/s.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--task-id is required"* ]]
	run "$AGENT" run "$wf" --output "$W/out" --bogus
	[ "$status" -eq 1 ]
	run "$AGENT" frobnicate
	[ "$status" -eq 1 ]
	run "$AGENT" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Exit status: 0 completed, 1 failed, 2 paused"* ]]
}

@test "an invalid workflow is refused with the file, line and reason" {
	wf=$(write_wf bad.yml <<'YML'
version: '1.0'
name: bad
steps:
  - id: a
    type: command
    command: "true"
  - id: a
    type: command
    command: "true"
YML
)
	run_agent "$wf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad.yml:7:"* ]]
	[ "$(jqf .status "$W/out/status.json")" = failed ]
}

@test "a failing command fails the workflow (exit 1) and keeps the checkpoint" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: failing
steps:
  - id: ok
    type: command
    command: echo fine
  - id: bad
    type: command
    command: echo broken >&2; exit 3
  - id: never
    type: command
    command: touch never
YML
)
	run_agent "$wf"
	[ "$status" -eq 1 ]
	[ ! -e "$W/ws/never" ]
	[ "$(jqf .status "$W/out/status.json")" = failed ]
	[[ "$(jqf .error "$W/out/status.json")" == *broken* ]]
	[ "$(completed_ids "$W/out/checkpoint.json")" = ok ]
	[ "$(jqf .failedStepId "$W/out/checkpoint.json")" = bad ]
	validate_schema checkpoint "$W/out/checkpoint.json"
}

@test "a rate-limited agent pauses (exit 2) and resume skips the completed steps" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: limited
steps:
  - id: prepare
    type: command
    command: echo prepare >> runs.log
  - id: plan
    type: agent
    prompt: "plan it [[rate-limit-once:plan]] [[output:summary=done]]"
    outputs:
      - name: summary
        description: what was done
        type: string
  - id: report
    type: command
    command: echo "report {{steps.plan.outputs.summary}}" >> runs.log
YML
)
	run_agent "$wf"
	[ "$status" -eq 2 ]
	[ "$(jqf .status "$W/out/status.json")" = paused ]
	[ "$(jqf .provider "$W/out/status.json")" = claude ]
	[ "$(jqf .pauseReason "$W/out/status.json")" = retryable_error ]
	[[ "$(jqf .error "$W/out/status.json")" == *"hit your limit"* ]]
	cp="$W/out/checkpoint.json"
	[ "$(completed_ids "$cp")" = prepare ]
	[ "$(jqf .pauseReason "$cp")" = retryable_error ]
	[ "$(jqf .failedStepId "$cp")" = plan ]
	[ "$(jqf .isRetryable "$cp")" = true ]
	# one save for the completed step, one for the whole pause (failure included)
	[ "$(jqf .seq "$cp")" = 2 ]
	[ "$(jqf .exitCode "$W/out/status.json")" = 2 ]
	jqf .resetAt "$cp" >/dev/null   # "resets 3pm (UTC)" became a time
	[ "$(jqf '.workflowHash|length' "$cp")" = 64 ]
	validate_schema checkpoint "$cp"
	validate_schema status "$W/out/status.json"

	run_agent "$wf" --checkpoint "$cp"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Skipping completed step: prepare"* ]]
	[ "$(grep -c prepare "$W/ws/runs.log")" -eq 1 ]
	grep -q "report done" "$W/ws/runs.log"
	[ "$(jqf .status "$W/out/status.json")" = completed ]
	grep -q '"event": *"workflow_resume"' "$W/out/rover.jsonl"
}

@test "command exit 75 pauses like a rate limit; a plain timeout fails and never pauses" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: tempfail
steps:
  - id: flaky
    type: command
    command: echo "try later" >&2; exit 75
YML
)
	run_agent "$wf"
	[ "$status" -eq 2 ]
	[ "$(jqf .pauseReason "$W/out/checkpoint.json")" = retryable_error ]

	rm -rf "$W/out"/*
	wf=$(write_wf slow.yml <<'YML'
version: '1.0'
name: slow
config:
  timeout: 1
steps:
  - id: slow
    type: agent
    prompt: "take long [[sleep:30]]"
YML
)
	SECONDS=0
	run_agent "$wf"
	[ "$status" -eq 1 ]
	[ "$SECONDS" -lt 20 ]
	[[ "$(jqf .error "$W/out/status.json")" == *"timed out"* ]]
	[ "$(jqf .status "$W/out/status.json")" = failed ]
}

@test "a transient 529 is retried in-process and the step succeeds" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: transient
steps:
  - id: a
    type: agent
    prompt: "work [[transient-once:a]]"
YML
)
	run_agent "$wf"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Transient error detected"* ]]
	[ "$(wc -l <"$W/state/calls.log")" -eq 2 ]
}

@test "SIGTERM mid-step: forwarded, checkpoint saved, exit 2; resume runs only what is left" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: signal
steps:
  - id: first
    type: command
    command: echo first >> runs.log
  - id: long
    type: command
    command: trap 'echo got-term >> runs.log; exit 143' TERM; echo started >> runs.log; sleep 30 & wait
  - id: last
    type: command
    command: echo last >> runs.log
YML
)
	"$AGENT" run "$wf" --output "$W/out" --task-id 7 -C "$W/ws" >"$W/agent.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q started "$W/ws/runs.log" 2>/dev/null && break; sleep 0.1; done
	kill -TERM $pid
	wait $pid && rc=0 || rc=$?
	[ "$rc" -eq 2 ]
	grep -q got-term "$W/ws/runs.log"          # the step's group got the signal
	[ "$(completed_ids "$W/out/checkpoint.json")" = first ]
	[ "$(jqf .pauseReason "$W/out/checkpoint.json")" = signal ]
	[ "$(jqf .status "$W/out/status.json")" = paused ]
	[[ "$(jqf .error "$W/out/status.json")" == *SIGTERM* ]]

	sed -i 's/sleep 30 & wait/true/' "$W/wf.yml"
	run_agent "$wf" --checkpoint "$W/out/checkpoint.json"
	[ "$status" -eq 1 ]
	[[ "$output" == *"workflow changed"* ]]
	run_agent "$wf" --checkpoint "$W/out/checkpoint.json" --allow-workflow-change
	[ "$status" -eq 0 ]
	[ "$(grep -c first "$W/ws/runs.log")" -eq 1 ]
	grep -q last "$W/ws/runs.log"
}

@test "a step ignoring SIGTERM is killed after the grace and the run still pauses" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: stubborn
steps:
  - id: stubborn
    type: command
    command: trap '' TERM; echo started > started; sleep 60
YML
)
	ROVER_AGENT_GRACE=1 "$AGENT" run "$wf" --output "$W/out" -C "$W/ws" >"$W/agent.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do [ -e "$W/ws/started" ] && break; sleep 0.1; done
	SECONDS=0
	kill -TERM $pid
	wait $pid && rc=0 || rc=$?
	[ "$rc" -eq 2 ]
	[ "$SECONDS" -lt 10 ]
}

@test "the drain file pauses after the current step with pauseReason user" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: drain
steps:
  - id: a
    type: command
    command: touch a-started; while [ ! -e "$DRAIN_GO" ]; do sleep 0.05; done; echo a >> runs.log
  - id: b
    type: command
    command: echo b >> runs.log
YML
)
	export DRAIN_GO=$W/go
	"$AGENT" run "$wf" --output "$W/out" -C "$W/ws" >"$W/agent.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do [ -e "$W/ws/a-started" ] && break; sleep 0.1; done
	echo "lunch break" >"$W/out/.pause-requested"
	touch "$W/go"
	wait $pid && rc=0 || rc=$?
	[ "$rc" -eq 2 ]
	[ "$(cat "$W/ws/runs.log")" = a ]
	[ "$(completed_ids "$W/out/checkpoint.json")" = a ]
	[ "$(jqf .pauseReason "$W/out/checkpoint.json")" = user ]
	[[ "$(jqf .error "$W/out/status.json")" == *"lunch break"* ]]
	[ ! -e "$W/out/.pause-requested" ]
}

@test "a loop resumes at the saved iteration and sub-step" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: loop
steps:
  - id: fix
    type: loop
    maxIterations: 5
    until: steps.check.outputs.done == true
    steps:
      - id: work
        type: command
        command: echo "work $(cat n 2>/dev/null || echo 0)" >> runs.log
      - id: check
        type: agent
        prompt: "check [[rate-limit-times:1:check]] [[output:done=no]]"
        outputs:
          - name: done
            description: finished
            type: boolean
      - id: bump
        type: command
        command: n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; if [ $((n+1)) -ge 2 ]; then echo '{"done":"yes"}'; fi
        outputs:
          - name: done
            description: mirror
            type: string
YML
)
	run_agent "$wf"
	[ "$status" -eq 2 ]
	cp="$W/out/checkpoint.json"
	[ "$(jqf '.loopProgress.fix.iteration' "$cp")" = 1 ]
	[ "$(jqf '.loopProgress.fix.nextSubStepIndex' "$cp")" = 1 ]
	run_agent "$wf" --checkpoint "$cp"
	[[ "$output" == *"Resuming loop"* ]]
	# "work" of iteration 1 ran once before the pause and is not repeated
	[ "$(grep -c 'work 0' "$W/ws/runs.log")" -eq 1 ]
}

@test "orphaned grandchildren are reaped (no zombies left under the runner)" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: reap
steps:
  - id: spawn
    type: command
    command: (sleep 0.2 &) ; (sleep 0.2 &) ; true
  - id: look
    type: command
    command: sleep 1; ps -o stat= --ppid $(ps -o ppid= -p $$) > zombies
YML
)
	run_agent "$wf"
	[ "$status" -eq 0 ]
	# the runner's children at that point: only the step's shell; no Z state
	if [ -e "$W/ws/zombies" ]; then ! grep -q Z "$W/ws/zombies"; fi
}

@test "200 SIGKILLs at random moments never leave a checkpoint that does not parse or lost a step" {
	{
		echo "version: '1.0'"
		echo "name: killme"
		echo "steps:"
		for i in $(seq 1 12); do
			echo "  - id: s$i"
			echo "    type: command"
			echo "    command: echo s$i >> runs.log"
		done
	} >"$W/wf.yml"
	cp="$W/out/checkpoint.json"
	prev=0
	seed=${ROVER_TEST_SEED:-$RANDOM}
	echo "# seed $seed" >&3
	RANDOM=$seed
	for i in $(seq 200); do
		args=()
		[ -e "$cp" ] && args=(--checkpoint "$cp")
		"$AGENT" run "$W/wf.yml" --output "$W/out" -C "$W/ws" "${args[@]}" >/dev/null 2>&1 &
		pid=$!
		sleep "0.0$((RANDOM % 40))"
		kill -KILL $pid 2>/dev/null || true
		{ wait $pid; } 2>/dev/null || true
		if [ -e "$cp" ]; then
			n=$(jq '.completedSteps | length' "$cp") || { echo "iteration $i: checkpoint does not parse" >&3; false; }
			seq_now=$(jq .seq "$cp")
			# never fewer recorded steps than before, and the ids are a prefix of s1..s12
			[ "$n" -ge "$prev" ] || { echo "iteration $i: lost steps ($n < $prev)" >&3; false; }
			expect=$(seq -s, 1 "$n" | sed 's/\([0-9]*\)/s\1/g')
			[ "$n" -eq 0 ] || [ "$(completed_ids "$cp")" = "$expect" ]
			prev=$n
		elif [ "$prev" -gt 0 ]; then
			# the checkpoint only disappears when the workflow completed
			[ "$(jq -r .status "$W/out/status.json")" = completed ] || { echo "iteration $i: checkpoint vanished" >&3; false; }
			prev=0
		fi
		# status.json, when present, always parses
		[ ! -e "$W/out/status.json" ] || jq . "$W/out/status.json" >/dev/null
	done
	# no temp files pile up
	[ "$(ls -A "$W/out" | grep -c '\.tmp-')" -le 2 ]
}

@test "command placeholders carry any value safely, quoted or not (no shell injection)" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: inj
inputs:
  - name: x
    description: hostile
    type: string
    required: true
steps:
  - id: a
    type: command
    command: echo "quoted={{inputs.x}}" >> inj.log; echo unquoted={{ inputs.x }} >> inj.log
  - id: b
    type: command
    command: printf '%s\n' "{{inputs.missing}}"
YML
)
	value='a"b $(touch PWNED) `touch PWNED2` '"'c'"
	run_agent "$wf" -i "x=$value"
	[ "$status" -eq 1 ]   # step b: an unresolved placeholder is an error
	[[ "$(jqf .error "$W/out/status.json")" == *"{{inputs.missing}}"* ]]
	[ "$(sed -n 1p "$W/ws/inj.log")" = "quoted=$value" ]
	[ "$(sed -n 2p "$W/ws/inj.log")" = "unquoted=$value" ]
	[ ! -e "$W/ws/PWNED" ] && [ ! -e "$W/ws/PWNED2" ]
}

@test "if conditions skip steps at the top level and inside loops, on outputs of earlier steps" {
	wf=$(write_wf wf.yml <<'YML'
version: '1.0'
name: conditions
steps:
  - id: decide
    type: command
    command: echo '{"go":"yes","deploy":"no"}'
    outputs:
      - name: go
        description: whether to go
        type: string
      - name: deploy
        description: whether to deploy
        type: string
  - id: deploy
    type: command
    if: steps.decide.outputs.deploy == true
    command: echo deploy >> runs.log
  - id: loop
    type: loop
    maxIterations: 2
    until: steps.count.outputs.n == 2
    steps:
      - id: skipped
        type: command
        if: steps.decide.outputs.go == no
        command: echo skipped >> runs.log
      - id: count
        type: command
        command: n=$(($(cat n 2>/dev/null || echo 0)+1)); echo $n > n; echo "{\"n\":\"$n\"}"
        outputs:
          - name: n
            description: iteration
            type: string
  - id: after
    type: command
    if: steps.decide.outputs.go == true || steps.decide.outputs.deploy == true
    command: echo after >> runs.log
YML
)
	run_agent "$wf"
	[ "$status" -eq 0 ]
	[ "$(cat "$W/ws/runs.log")" = after ]
	[ "$(cat "$W/ws/n")" = 2 ]
	[[ "$output" == *'Skipping step "deploy" (condition not met)'* ]]
	[[ "$output" == *'Skipping step "skipped" (condition not met)'* ]]
}

@test "a breakpoint pauses for approval; only --approve passes it, never the checkpoint" {
	wf=$(write_wf bp.yml <<'YML'
version: '1.0'
name: bp
steps:
  - id: one
    type: command
    command: echo one >> runs.log
  - id: gate
    type: breakpoint
    message: "Ship it?"
  - id: two
    type: command
    command: 'echo "two: {{steps.gate.outputs.message}} {{steps.gate.outputs.approved}}" >> runs.log'
YML
)
	run_agent "$wf"
	[ "$status" -eq 2 ]
	[ "$(jqf .pauseReason "$W/out/status.json")" = approval ]
	[ "$(jqf .breakpoint "$W/out/status.json")" = gate ]
	[ "$(jqf .error "$W/out/status.json")" = "Waiting for approval: Ship it?" ]
	[ "$(jqf .pauseReason "$W/out/checkpoint.json")" = approval ]
	[ "$(completed_ids "$W/out/checkpoint.json")" = one ]
	validate_schema status "$W/out/status.json"
	validate_schema checkpoint "$W/out/checkpoint.json"
	# a step (or anything in the container) records the breakpoint as passed
	jq '.completedSteps += [{"id": "gate", "outputs": {"message": "forged"}}]' \
		"$W/out/checkpoint.json" >"$W/cp" && mv "$W/cp" "$W/out/checkpoint.json"
	run_agent "$wf" --checkpoint "$W/out/checkpoint.json"
	[ "$status" -eq 2 ]
	[[ "$output" == *"rover did not approve it: it waits again"* ]]
	[ "$(cat "$W/ws/runs.log")" = one ]
	# an approval for another step does not pass it either
	run_agent "$wf" --checkpoint "$W/out/checkpoint.json" --approve other=x
	[ "$status" -eq 2 ]
	run_agent "$wf" --checkpoint "$W/out/checkpoint.json" --approve gate=hi
	[ "$status" -eq 0 ]
	[ "$(cat "$W/ws/runs.log")" = "$(printf 'one\ntwo: hi true')" ]
}
