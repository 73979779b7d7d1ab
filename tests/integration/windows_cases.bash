# Pause windows (rover.json "pauseWindows", windows.h) on a real engine: a
# window computed from now drains two running tasks at its start (each
# finishes its step and pauses with pauseReason window), starts nothing
# during it, and resumes exactly those at its end; they complete, every step
# run once.  Shared by windows_docker.bats and windows_podman.bats.

load rover_durable_cases

win_setup() { # docker|podman
	dur_setup "$1"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 2700000)) >"$STORE/tasks/.last-id"
}

win_teardown() { dur_teardown; }

hms() { date -u -d "@$1" +%H:%M:%S; }

case_window_drains_and_resumes() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: steps
steps:
  - id: s1
    type: command
    command: sleep 1; echo s1 >> runs.log
  - id: s2
    type: command
    command: sleep 1; echo s2 >> runs.log
  - id: s3
    type: command
    command: sleep 1; echo s3 >> runs.log
  - id: s4
    type: command
    command: sleep 1; echo s4 >> runs.log
  - id: s5
    type: command
    command: sleep 1; echo s5 >> runs.log
  - id: s6
    type: command
    command: sleep 1; echo s6 >> runs.log
  - id: s7
    type: command
    command: sleep 1; echo s7 >> runs.log
  - id: s8
    type: command
    command: sleep 1; echo s8 >> runs.log
YML
	local now start end
	now=$(date -u +%s)
	start=$((now + 5))
	end=$((now + 20))
	printf '{"pauseWindows": ["%s-%s", {"window": "03:00-03:01", "agents": ["codex"]}]}\n' \
		"$(hms "$start")" "$(hms "$end")" >rover.json
	start_supervise sup
	new_task -w wf.yml "windowed one"
	local a=$TID
	new_task -w wf.yml "windowed two"
	local b=$TID
	# the window begins: each finishes its step and pauses
	wait_desc "$a" PAUSED 40
	wait_desc "$b" PAUSED 40
	[ "$(date -u +%s)" -ge "$start" ]
	for t in "$a" "$b"; do
		[ "$(jq -r .pauseReason "$STORE/tasks/$t/description.json")" = window ]
	done
	run "$ROVER" list
	[[ "$output" == *"Paused (window)"* ]]
	# inside the window nothing of theirs starts again
	sleep 2
	if [ "$(date -u +%s)" -lt "$end" ]; then
		[ "$(desc_status "$a")" = PAUSED ] && [ "$(desc_status "$b")" = PAUSED ]
	fi
	# its end resumes exactly those; they complete with every step run once
	wait_desc "$a" COMPLETED 90
	wait_desc "$b" COMPLETED 90
	for t in "$a" "$b"; do
		[ "$(sort "$STORE/workspaces/$t/runs.log" | uniq -d)" = "" ]
		[ "$(wc -l <"$STORE/workspaces/$t/runs.log")" -eq 8 ]
		run "$ROVER" events --json --no-steps "$t"
		[ "$(echo "$output" | jq -r '.[] | select(.type == "paused") | .reason')" = window ]
		[ "$(echo "$output" | jq -r '[.[] | select(.type == "resumed")] | length')" = 1 ]
	done
	grep -q "pause window .*: pausing after its current step" "$P/sup.log"
	grep -q "its pause window is over: resumed" "$P/sup.log"
	# a window that does not parse is one clear line naming the file
	echo '{"pauseWindows": ["25:00-26:00"]}' >rover.json
	run "$ROVER" list
	[ "$status" -ne 0 ]
	[[ "$output" == *"rover.json"*"pauseWindows[0]"*"HH:MM-HH:MM"* ]]
}
