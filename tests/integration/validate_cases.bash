# A validated resume (issue 12): before `rover resume` starts a container it
# checks what the checkpoint needs - the workspace its completed steps worked
# in, the workflow it was saved for - and refuses, naming what is missing and
# how to go on, with nothing changed.  Shared by validate_docker.bats and
# validate_podman.bats.

load rover_durable_cases

val_setup() { # docker|podman
	dur_setup "$1"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 2800000)) >"$STORE/tasks/.last-id"
	export ROVER_RETRY_MAX=0 # nobody but the test resumes
}

val_teardown() { dur_teardown; }

paused_task() { # -> TID, paused by a limit after its first step
	wf_limited wf.yml "[[rate-limit-once:plan]]"
	new_task -w wf.yml "$1"
	wait_status "$TID" PAUSED 60
	[ "$(jq '.completedSteps | length' "$ITER/checkpoint.json")" -ge 1 ]
}

case_resume_refuses_a_missing_workspace() {
	paused_task "loses its workspace"
	rm -rf "$STORE/workspaces/$TID"
	local before
	before=$(sha256sum <"$STORE/tasks/$TID/description.json")
	run --separate-stderr rover resume "$TID"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"workspace"*"is gone"*"--recreate-workspace"*"rover restart"* ]]
	# nothing changed: same record, still PAUSED, no workspace made
	[ "$(sha256sum <"$STORE/tasks/$TID/description.json")" = "$before" ]
	[ ! -e "$STORE/workspaces/$TID" ]
	run --separate-stderr rover resume "$TID" --recreate-workspace
	[ "$status" -eq 0 ]
	[ -d "$STORE/workspaces/$TID/.git" ]
	# it ran on from the checkpoint: the completed first step is not run again
	# (the fake agent's "once" was kept in the lost workspace, so it may
	# pause again: any end will do)
	run rover wait "$TID" --timeout 60
	[ "$status" -eq 0 ] || [ "$status" -eq 4 ]
	! grep -q first "$STORE/workspaces/$TID/runs.log" 2>/dev/null
}

case_resume_refuses_a_changed_workflow() {
	paused_task "its workflow changes"
	echo "# edited" >>"$STORE/tasks/$TID/workflow.yml"
	run --separate-stderr rover resume "$TID"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"workflow"*"changed since its checkpoint"*"--allow-workflow-change"* ]]
	[ "$(desc_status "$TID")" = PAUSED ]
	run --separate-stderr rover resume "$TID" --allow-workflow-change
	[ "$status" -eq 0 ]
	wait_status "$TID" COMPLETED 60
	# the runner was told too: it resumed (first step not run again)
	[ "$(grep -c first "$STORE/workspaces/$TID/runs.log")" = 1 ]
}

# A cost budget (issue 11): the agents' reported dollars reach it, the task
# pauses with reason budget before the next agent step, is never
# auto-retried, and goes on when resumed with a higher budget.
case_budget_pauses_and_resume_raises_it() {
	unset ROVER_RETRY_MAX
	write_wf wf.yml <<'YML'
version: '1.0'
name: costly
steps:
  - id: one
    type: agent
    prompt: "first [[cost:0.6]]"
  - id: two
    type: agent
    prompt: "second [[cost:0.6]]"
  - id: three
    type: agent
    prompt: "third [[cost:0.6]]"
YML
	start_supervise sup
	new_task -w wf.yml --budget 1 "on a budget"
	wait_desc "$TID" PAUSED 60
	[ "$(jq -r .pauseReason "$STORE/tasks/$TID/description.json")" = budget ]
	[[ "$(jq -r .error "$STORE/tasks/$TID/description.json")" == *'$1.20 spent of $1.00'* ]]
	[ "$(jq -r '[.completedSteps[].id] | join(" ")' "$ITER/checkpoint.json")" = "one two" ]
	run "$ROVER" list
	[[ "$output" == *"Paused (budget)"* ]]
	# never auto-retried, though a supervisor runs
	sleep 4
	[ "$(desc_status "$TID")" = PAUSED ]
	[ "$(jq -r '.autoRetry.nextRetryAt // "none"' "$STORE/tasks/$TID/description.json")" = none ]
	run "$ROVER" events --json --no-steps --type needs_attention "$TID"
	[ "$(echo "$output" | jq -r '.[0].reason')" = "the cost budget is spent" ]
	# a resume without more budget pauses again at once, spending nothing
	run --separate-stderr rover resume "$TID"
	[ "$status" -eq 0 ]
	run rover wait "$TID" --timeout 60
	[ "$status" -eq 4 ]
	[ "$(calls_of "$TID")" = 2 ]
	# a higher one lets it finish
	run --separate-stderr rover resume "$TID" --budget 5
	[ "$status" -eq 0 ]
	run rover wait "$TID" --timeout 60
	[ "$status" -eq 0 ]
	[ "$(calls_of "$TID")" = 3 ]
	[ "$(jq -r .budgetUsd "$STORE/tasks/$TID/description.json")" = 5 ]
	run rover task --budget nope "x"
	[ "$status" -eq 2 ]
}

# The supervisor's auto-retry checks the same: a lost workspace is not
# re-created behind the user's back; the task stays PAUSED, the supervisor
# says why once and journals needs_attention.
case_auto_retry_refuses_a_missing_workspace() {
	unset ROVER_RETRY_MAX
	wf_limited wf.yml "[[limit-reset-in:1]] [[rate-limit-once:plan]]"
	new_task -w wf.yml "auto-retry without its workspace"
	wait_status "$TID" PAUSED 60
	rm -rf "$STORE/workspaces/$TID"
	start_supervise sup
	wait_log "$P/sup.log" "Task $TID cannot be resumed as it is: its workspace .* is gone" 30
	sleep 3
	[ "$(desc_status "$TID")" = PAUSED ]
	[ ! -e "$STORE/workspaces/$TID" ]
	[ "$(grep -c "cannot be resumed as it is" "$P/sup.log")" = 1 ]
	run "$ROVER" events --json --no-steps --type needs_attention "$TID"
	[[ "$(echo "$output" | jq -r '.[0].reason')" == *"workspace"* ]]
	run --separate-stderr rover resume "$TID" --recreate-workspace
	[ "$status" -eq 0 ]
}
