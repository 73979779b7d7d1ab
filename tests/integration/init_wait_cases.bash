# rover init, rover wait and the pre-flight of rover task / restart --image
# against a real engine.  The bodies are shared by init_wait_docker.bats and
# init_wait_podman.bats (one @test per case and engine).

load helpers
load rover_helpers

iw_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 9000000)) >"$STORE/tasks/.last-id"
	UCONF=$XDG_CONFIG_HOME/rover/config.json
	MISSING=rover-missing-image-$RANDOM:never
}

iw_teardown() {
	[ -n "${BG_PID:-}" ] && kill "$BG_PID" 2>/dev/null
	rover_teardown
}

# new_task ARGS...: `rover task --json ARGS`; sets TID.
new_task() {
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	[[ $TID =~ ^[0-9]+$ ]]
}

wf_exit() { # FILE CODE: one command step that exits with CODE
	write_wf "$1" <<YML
version: '1.0'
name: exit-$2
steps:
  - id: only
    type: command
    command: echo ran > ran.txt; exit $2
YML
}

# Nothing of a task was left: no record, no workspace, no branch, the id
# counter as it was.
assert_nothing_created() { # LAST_ID_BEFORE
	[ "$(cat "$STORE/tasks/.last-id")" = "$1" ]
	[ -z "$(find "$STORE/tasks" -mindepth 1 -maxdepth 1 ! -name '.*')" ]
	[ ! -d "$STORE/workspaces" ] || [ -z "$(ls -A "$STORE/workspaces")" ]
	[ -z "$(git -C "$P" branch --list 'rover/*')" ]
}

validate_json() { # schema file.json
	/usr/bin/python3 - "$ROOT/schemas/$1.schema.json" "$2" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))
PY
}

# ---- rover init -------------------------------------------------------------

case_init_writes_settings_and_prints_what_it_found() {
	unset ROVER_AGENT_IMAGE
	run rover init --engine "$ROVER_ENGINE" --image "$ROVER_TEST_IMAGE" --agent codex
	[ "$status" -eq 0 ]
	[[ "$output" == *"Engine:   $ENGINE at $ROVER_ENGINE"* ]]
	[[ "$output" == *"chosen by --engine"* ]]
	[[ "$output" == *"Image:    $ROVER_TEST_IMAGE ("* ]]
	[[ "$output" == *"Agent:    codex"* ]]
	# rover.json: image, agent, retry - and never an engine
	[ "$(jq -r .agentImage "$P/rover.json")" = "$ROVER_TEST_IMAGE" ]
	[ "$(jq -r .agent "$P/rover.json")" = codex ]
	[ "$(jq -r .retry.max "$P/rover.json")" = 5 ]
	[ "$(jq -r 'has("engine")' "$P/rover.json")" = false ]
	! grep -q "$ROVER_ENGINE" "$P/rover.json"
	# the engine went to the user's own configuration
	[ "$(jq -r .engine "$UCONF")" = "$ROVER_ENGINE" ]
	# both as their schemas say
	validate_json rover-json "$P/rover.json"
	validate_json user-config "$UCONF"
	# and what init wrote is what rover uses
	run rover info --json
	[ "$(echo "$output" | jq -r .settings.agentImage)" = "$ROVER_TEST_IMAGE" ]
	# --json tells the image's id and size
	run rover init --force --json --image "$ROVER_TEST_IMAGE"
	[ "$status" -eq 0 ]
	[[ "$(echo "$output" | jq -r .image.id)" == sha256:* ]]
	[ "$(echo "$output" | jq -r .image.size)" -gt 0 ]
	[ "$(echo "$output" | jq -r .engine.kind)" = "$ENGINE" ]
	[ "$(echo "$output" | jq -r .engine.chosenBy)" = ROVER_ENGINE ]
	[ "$(jq -r .agent "$P/rover.json")" = codex ] # kept: not set this time
}

case_init_refuses_to_overwrite_without_force_and_keeps_other_keys() {
	printf '{"agentImage": "old:1", "languages": ["c"], "retry": {"max": 2}}\n' >"$P/rover.json"
	before=$(cat "$P/rover.json")
	run rover init --image "$ROVER_TEST_IMAGE"
	[ "$status" -eq 1 ]
	[[ "$output" == *"rover.json' exists; pass --force"* ]]
	[ "$(cat "$P/rover.json")" = "$before" ]
	run rover init --force --image "$ROVER_TEST_IMAGE"
	[ "$status" -eq 0 ]
	[ "$(jq -c .languages "$P/rover.json")" = '["c"]' ]
	[ "$(jq -r .retry.max "$P/rover.json")" = 2 ]
	[ "$(jq -r .retry.capSeconds "$P/rover.json")" = 3600 ]
	[ "$(jq -r .agentImage "$P/rover.json")" = "$ROVER_TEST_IMAGE" ]
	# no --engine: the user's configuration is not touched
	[ ! -e "$UCONF" ]
}

case_init_refuses_a_missing_image_writing_nothing() {
	run rover init --engine "$ROVER_ENGINE" --image "$MISSING"
	[ "$status" -eq 1 ]
	[[ "$output" == *"image '$MISSING' is not on the $ENGINE engine at $ROVER_ENGINE"* ]]
	[[ "$output" == *"build or pull it"* ]]
	[ ! -e "$P/rover.json" ]
	[ ! -e "$UCONF" ]
}

# ---- pre-flight of rover task -------------------------------------------------

case_task_with_a_missing_image_is_refused_before_anything_exists() {
	last=$(cat "$STORE/tasks/.last-id")
	run rover task --image "$MISSING" "do something"
	[ "$status" -eq 1 ]
	[[ "$output" == *"image '$MISSING' is not on the $ENGINE engine at $ROVER_ENGINE: build or pull it"* ]]
	assert_nothing_created "$last"
}

case_task_missing_a_required_input_is_refused_before_anything_exists() {
	write_wf need.yml <<'YML'
version: '1.0'
name: needs-target
inputs:
  - name: target
    description: the file to write
    required: true
steps:
  - id: write
    type: command
    command: echo hi > {{inputs.target}}
YML
	last=$(cat "$STORE/tasks/.last-id")
	run rover task -w need.yml "write a file"
	[ "$status" -eq 1 ]
	[[ "$output" == *"workflow 'needs-target' needs input 'target' (the file to write): pass -i target=VALUE"* ]]
	assert_nothing_created "$last"
	# given, it runs
	new_task -w need.yml -i target=t.txt "write a file"
	run rover wait --timeout 60 "$TID"
	[ "$status" -eq 0 ]
	[ "$(cat "$STORE/workspaces/$TID/t.txt")" = hi ]
}

# ---- rover wait ---------------------------------------------------------------

case_wait_returns_0_on_completed() {
	wf_exit wf.yml 0
	new_task -w wf.yml "finish"
	run rover wait "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"task $TID: COMPLETED"* ]]
	[ "$(task_json "$TID" | jq -r .status)" = COMPLETED ]
}

case_wait_returns_3_on_failed_and_4_on_paused() {
	wf_exit fail.yml 3
	wf_exit pause.yml 75 # EX_TEMPFAIL: a retryable pause
	new_task -w fail.yml "fail"
	failed=$TID
	new_task -w pause.yml "pause"
	paused=$TID
	run rover wait --json "$paused"
	[ "$status" -eq 4 ]
	[ "$(echo "$output" | jq -r '.tasks[0].status')" = PAUSED ]
	[ "$(echo "$output" | jq -r '.tasks[0].pauseReason')" = retryable_error ]
	[ "$(echo "$output" | jq -r .exitCode)" = 4 ]
	run rover wait "$failed"
	[ "$status" -eq 3 ]
	[[ "$output" == *"task $failed: FAILED"* ]]
	# several: FAILED wins over PAUSED
	run rover wait "$paused" "$failed"
	[ "$status" -eq 3 ]
}

case_wait_times_out_with_124_then_returns_when_it_ends() {
	wf_waiting
	new_task -w wf.yml "wait for GO"
	start=$SECONDS
	run rover wait --timeout 2 "$TID"
	[ "$status" -eq 124 ]
	[[ "$output" == *"task $TID: still "* ]]
	[ $((SECONDS - start)) -le 6 ]
	# a wait in the background returns as soon as the task completes
	"$ROVER" wait "$TID" >"$P/wait.out" 2>&1 &
	BG_PID=$!
	sleep 1
	kill -0 "$BG_PID"
	touch "$STORE/workspaces/$TID/GO"
	rc=0
	wait "$BG_PID" || rc=$?
	BG_PID=
	[ "$rc" -eq 0 ]
	grep -q "task $TID: COMPLETED" "$P/wait.out"
}

case_wait_notices_a_container_killed_from_outside() {
	wf_waiting
	new_task -w wf.yml "killed"
	"$ROVER" wait "$TID" >"$P/wait.out" 2>&1 &
	BG_PID=$!
	sleep 1
	cid=$(task_json "$TID" | jq -r .containerId)
	probe "$ENGINE" kill "$cid" 9
	rc=0
	wait "$BG_PID" || rc=$?
	BG_PID=
	cat "$P/wait.out"
	[ "$rc" -eq 3 ]
	grep -q "task $TID: FAILED" "$P/wait.out"
	grep -q "SIGKILL" "$P/wait.out"
}

case_wait_follows_a_pause_that_a_supervisor_will_retry() {
	write_wf once.yml <<'YML'
version: '1.0'
name: pause-once
steps:
  - id: only
    type: command
    command: if [ -e paused-once ]; then echo done > done.txt; else touch paused-once; exit 75; fi
YML
	export ROVER_RETRY_BASE_SECONDS=1 ROVER_RETRY_CAP_SECONDS=2 ROVER_RETRY_RESET_WINDOW=0-1
	# no scheduler: the pause is where it ends (4)
	new_task -w once.yml "pause once"
	run rover wait --timeout 60 "$TID"
	[ "$status" -eq 4 ]
	# a scheduler: the pause will be retried, so wait goes on until COMPLETED
	"$ROVER" supervise >"$P/supervise.out" 2>&1 &
	BG_PID=$!
	# (wait asks who schedules: only once the supervisor says it does)
	local i
	for i in $(seq 100); do
		[ "$(jq -r .pid "$STORE/.supervisor.json" 2>/dev/null)" = "$BG_PID" ] && break
		sleep 0.1
	done
	[ "$(jq -r .pid "$STORE/.supervisor.json")" = "$BG_PID" ]
	run rover wait --timeout 90 "$TID"
	echo "$output"
	kill "$BG_PID"
	wait "$BG_PID" 2>/dev/null || true
	BG_PID=
	[ "$status" -eq 0 ]
	[[ "$output" == *"task $TID: COMPLETED"* ]]
	[ "$(cat "$STORE/workspaces/$TID/done.txt")" = done ]
}

case_wait_refuses_an_unknown_task() {
	run rover wait 999999999
	[ "$status" -eq 1 ]
	[[ "$output" == *"999999999"* ]]
	run rover wait nope
	[ "$status" -eq 2 ]
}

# ---- restart / resume --image ---------------------------------------------------

case_restart_with_image_checks_and_records_it() {
	wf_exit fail.yml 3
	new_task -w fail.yml "fail then restart"
	run rover wait "$TID"
	[ "$status" -eq 3 ]
	before=$(task_json "$TID" | jq -r .restartCount)
	# a missing image: refused before anything changes
	run rover restart --image "$MISSING" "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"image '$MISSING' is not on the $ENGINE engine"* ]]
	[ "$(task_json "$TID" | jq -r .status)" = FAILED ]
	[ "$(task_json "$TID" | jq -r .restartCount)" = "$before" ]
	[ "$(task_json "$TID" | jq -r .agentImage)" = "$ROVER_TEST_IMAGE" ]
	# the same image by its id: used and recorded
	id=$(rover init --json --image "$ROVER_TEST_IMAGE" | jq -r .image.id)
	[[ $id == sha256:* ]]
	run rover restart --image "$id" "$TID"
	[ "$status" -eq 0 ]
	[ "$(task_json "$TID" | jq -r .agentImage)" = "$id" ]
	run rover wait "$TID"
	[ "$status" -eq 3 ]
	# resume --image: the same check
	run rover resume --image "$MISSING" "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"build or pull it"* ]]
	[ "$(task_json "$TID" | jq -r .status)" = FAILED ]
	run rover resume --image "$ROVER_TEST_IMAGE" "$TID"
	[ "$status" -eq 0 ]
	[ "$(task_json "$TID" | jq -r .agentImage)" = "$ROVER_TEST_IMAGE" ]
	run rover wait "$TID"
	[ "$status" -eq 3 ]
}
