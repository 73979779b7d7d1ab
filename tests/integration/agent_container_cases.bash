# rover-agent as PID 1 of a real container (bodies shared by the docker and
# podman .bats files).  The static binary is bind-mounted read-only as the
# entrypoint, as `rover task` does; the image is FROM scratch + busybox.

load helpers
load agent_helpers

ac_setup() { # engine
	AC_ENGINE=$1
	require_engine "$AC_ENGINE"
	agent_setup
	chmod 777 "$W/out" "$W/ws"
	AC_LABEL=$(test_run_label)
}

ac_teardown() {
	cleanup_label "$AC_ENGINE" "$AC_LABEL"
	agent_teardown
}

# ac_run [--detach] WORKFLOW_FILE [runner args...]: run the runner in a
# container; without --detach waits and sets $ac_exit.
ac_args() {
	local wf=$1
	shift
	echo --label "$AC_LABEL" --bind "$AGENT:/rover-agent:ro" --bind "$W/out:/output" \
		--bind "$W/ws:/workspace" --bind "$wf:/workflow.yml:ro" --workdir /workspace \
		--entrypoint /rover-agent "$ROVER_TEST_IMAGE" run /workflow.yml --output /output \
		--task-id 9 --workdir /workspace "$@"
}

ac_run() {
	local out
	out=$(probe "$AC_ENGINE" run $(ac_args "$@"))
	ac_exit=$(echo "$out" | awk '/^exit /{print $2}')
	ac_id=$(echo "$out" | awk '/^id /{print $2}')
}

case_rate_limited_pauses_and_resumes() {
	cat >"$W/wf.yml" <<'YML'
version: '1.0'
name: limited
steps:
  - id: prepare
    type: command
    command: echo prepare >> runs.log
  - id: agent
    type: agent
    prompt: "work [[rate-limit-once:agent]]"
  - id: finish
    type: command
    command: echo finish >> runs.log
YML
	ac_run "$W/wf.yml"
	[ "$ac_exit" = 2 ]
	[ "$(completed_ids "$W/out/checkpoint.json")" = prepare ]
	[ "$(jqf .pauseReason "$W/out/checkpoint.json")" = retryable_error ]
	[ "$(jqf .status "$W/out/status.json")" = paused ]
	validate_schema checkpoint "$W/out/checkpoint.json"
	ac_run "$W/wf.yml" --checkpoint /output/checkpoint.json
	[ "$ac_exit" = 0 ]
	[ "$(grep -c prepare "$W/ws/runs.log")" -eq 1 ]
	grep -q finish "$W/ws/runs.log"
	[ "$(jqf .status "$W/out/status.json")" = completed ]
}

case_sigterm_to_pid1_pauses_with_checkpoint() {
	cat >"$W/wf.yml" <<'YML'
version: '1.0'
name: sigterm
steps:
  - id: first
    type: command
    command: echo "pid1-is-parent=$PPID" >> runs.log
  - id: long
    type: command
    command: touch waiting; while [ ! -e GO ]; do sleep 0.1; done; echo long >> runs.log
  - id: last
    type: command
    command: echo last >> runs.log
YML
	ac_id=$(probe "$AC_ENGINE" create $(ac_args "$W/wf.yml"))
	probe "$AC_ENGINE" start "$ac_id"
	for _ in $(seq 150); do [ -e "$W/ws/waiting" ] && break; sleep 0.1; done
	[ -e "$W/ws/waiting" ]
	# the step's shell is a child of PID 1: rover-agent itself is PID 1
	grep -q "pid1-is-parent=1" "$W/ws/runs.log"
	SECONDS=0
	probe "$AC_ENGINE" kill "$ac_id" 15
	run probe "$AC_ENGINE" wait "$ac_id"
	[[ "$output" == *"exit 2"* ]] || [[ "$output" == "2" ]] || { echo "wait: $output" >&2; false; }
	[ "$SECONDS" -lt 15 ]
	[ "$(completed_ids "$W/out/checkpoint.json")" = first ]
	[ "$(jqf .pauseReason "$W/out/checkpoint.json")" = signal ]
	validate_schema checkpoint "$W/out/checkpoint.json"
	# resume in a new container: only what is left runs
	touch "$W/ws/GO"
	ac_run "$W/wf.yml" --checkpoint /output/checkpoint.json
	[ "$ac_exit" = 0 ]
	[ "$(grep -c pid1-is-parent "$W/ws/runs.log")" -eq 1 ]
	[ "$(tr '\n' ' ' <"$W/ws/runs.log" | sed 's/pid1-is-parent=1 //')" = "long last " ]
}

case_engine_stop_gives_exit_2_not_137() {
	cat >"$W/wf.yml" <<'YML'
version: '1.0'
name: stop
steps:
  - id: long
    type: command
    command: touch waiting; sleep 60
YML
	ac_id=$(probe "$AC_ENGINE" create --stop-timeout 20 $(ac_args "$W/wf.yml"))
	probe "$AC_ENGINE" start "$ac_id"
	for _ in $(seq 150); do [ -e "$W/ws/waiting" ] && break; sleep 0.1; done
	probe "$AC_ENGINE" stop "$ac_id" 20
	run probe "$AC_ENGINE" inspect "$ac_id"
	[[ "$output" == *"exit_code=2"* ]]
	[ -e "$W/out/checkpoint.json" ]
}

case_orphans_are_reaped_in_the_container() {
	cat >"$W/wf.yml" <<'YML'
version: '1.0'
name: reap
steps:
  - id: spawn
    type: command
    command: (sleep 0.3 &) ; (sleep 0.3 &) ; (sleep 0.3 &) ; true
  - id: look
    type: command
    command: sleep 1.5; ps -o stat,comm > ps.txt; cat ps.txt
YML
	ac_run "$W/wf.yml"
	[ "$ac_exit" = 0 ]
	! awk 'NR>1 && $1 ~ /^Z/' "$W/ws/ps.txt" | grep -q .
}
