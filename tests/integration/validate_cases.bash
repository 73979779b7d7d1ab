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
