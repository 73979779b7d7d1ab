# Provider-aware supervision against a real engine: the account gate (one
# limit holds the account's other tasks until the reset, then releases them
# one at a time), maxRunning (never more containers of the store than
# allowed), stall detection (a silent step is paused 'stalled' and retried;
# a slow step that prints is left alone).  Shared by gate_docker.bats and
# gate_podman.bats.  Timings are seconds: ROVER_GATE_PROBE_SECONDS,
# ROVER_GATE_STAGGER_SECONDS, ROVER_STALL_SECONDS, ROVER_HEARTBEAT_SECONDS
# and the retry variables of rover_durable_cases.bash.

load rover_durable_cases

gate_setup() { # docker|podman
	dur_setup "$1"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 6000000)) >"$STORE/tasks/.last-id"
	export ROVER_GATE_PROBE_SECONDS=3 ROVER_GATE_STAGGER_SECONDS=2
	unset ROVER_MAX_RUNNING ROVER_STALL_SECONDS ROVER_HEARTBEAT_SECONDS
	SAMPLER=
	TIMED_PID=
	PROXY_PID=
}

# PID and every process below it, by id, children first.
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}

gate_teardown() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	[ -n "$PROXY_PID" ] && kill -KILL "$PROXY_PID" 2>/dev/null
	[ -n "$TIMED_PID" ] && kill_tree "$TIMED_PID"
	dur_teardown
}

# Container starts of the store, each line prefixed with the epoch ms the
# engine gives the event: "<ms> start <id> rover-task-<id>-<n> ...".  (The
# time of receipt is no measure: a loaded machine delivers events in bursts.)
start_events_timed() {
	(
		exec 3>&-
		ENGINE_PROBE_EVENT_TIME=1 probe "$ENGINE" events --label "rover.store=$STORE" \
			--action start --count 100000 --timeout 300000 >"$P/starts.txt" 2>/dev/null
	) &
	TIMED_PID=$!
	sleep 0.3
}
start_times() { # ID: the ms of each start of the task
	# The engine's own account first.  Podman 4.3's event stream drops an
	# event now and then on a loaded machine: when it shows fewer starts
	# than the task's journal (rover events: container_started, written as
	# the container is recorded), the journal's times are used.
	local ev jr
	ev=$(grep " rover-task-$1-" "$P/starts.txt" | cut -d' ' -f1)
	jr=$("$ROVER" events --json --type container_started "$1" 2>/dev/null | jq -r '.[].at' |
		while read -r at; do date -d "$at" +%s%3N; done)
	if [ "$(printf '%s' "$ev" | grep -c .)" -lt "$(printf '%s' "$jr" | grep -c .)" ]; then
		echo "engine events missed a start of task $1; using its journal" >&2
		echo "$jr"
	else
		echo "$ev"
	fi
}

valid() { # schema-name file
	/usr/bin/python3 - "$ROOT/schemas/$1.schema.json" "$2" <<'PY'
import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))
PY
}

wf_ok() { # FILE
	write_wf "$1" <<'YML'
version: '1.0'
name: ok
steps:
  - id: plan
    type: agent
    prompt: "plan it"
  - id: last
    type: command
    command: echo last >> runs.log
YML
}

case_gate_holds_account_until_reset() {
	export ROVER_RETRY_RESET_WINDOW=0-1
	# one credential for every task: one account; it is hashed, never stored
	export ANTHROPIC_API_KEY=sk-test-gate-secret-value
	wf_limited lim.yml "[[limit-reset-in:20]] [[rate-limit-once:plan]]"
	wf_ok ok.yml
	start_events_timed
	start_supervise sup
	new_task -w lim.yml "hits the limit"
	local a=$TID
	wait_log "$P/sup.log" "limited until .*task $a hit the limit" 60
	[ "$(desc_status "$a")" = PAUSED ]
	local until_iso until_ms
	until_iso=$(jq -r '.gates[0].limitedUntil' "$STORE/gates.json")
	until_ms=$(date -d "$until_iso" +%s%3N)
	[[ "$(jq -r '.gates[0].account' "$STORE/gates.json")" =~ ^claude:[0-9a-f]{12}$ ]]
	! grep -rqs sk-test-gate-secret "$STORE/gates.json" "$STORE/tasks/"

	# three more tasks of the account wait, visibly, in creation order
	local ids=() i out
	for i in 1 2 3; do
		out=$("$ROVER" task --json -w ok.yml "waits $i")
		[ "$(echo "$out" | jq -r .queued.reason)" = gate ]
		[ "$(echo "$out" | jq -r .queued.position)" = "$i" ]
		[[ "$(echo "$out" | jq -r .queued.message)" == *"limited until"* ]]
		ids+=("$(echo "$out" | jq -r .taskId)")
	done
	run "$ROVER" task -w ok.yml "waits 4"
	[ "$status" -eq 0 ]
	[[ "$output" == *"queued (position 4)"*"limited until"* ]]
	ids+=("$(echo "$output" | head -n 1)")
	# the gate is in the store, not in the supervisor: kill it, start another
	# (first, while the limit surely holds: the checks below take seconds on
	# a loaded machine)
	kill -KILL "$SUP_PID"
	wait "$SUP_PID" 2>/dev/null || true
	start_supervise sup2
	wait_log "$P/sup2.log" "scheduled: claude \(key …[0-9a-f]{4}\): limited until" 10
	wait_log "$P/sup2.log" "scheduled: 1 auto-retry, 1 account gate, 4 queued tasks" 10
	echo "the limit holds $((until_ms - $(date +%s%3N))) ms more" >&2
	run "$ROVER" list
	[[ "$output" == *"Queued"* ]]
	[[ "$output" == *"claude (key …"*"): limited until "* ]]
	run "$ROVER" list --json
	[ "$(echo "$output" | jq -r ".[] | select(.id == ${ids[2]}) | .queued.position")" = 3 ]
	run "$ROVER" inspect "${ids[0]}"
	[[ "$output" == *"limited until"* ]]
	run "$ROVER" inspect --json "${ids[0]}"
	[ "$(echo "$output" | jq -r .gate.task)" = "$a" ]
	[ "$(echo "$output" | jq -r .gate.limitedUntil)" = "$until_iso" ]
	valid gates "$STORE/gates.json"
	valid description "$STORE/tasks/${ids[0]}/description.json"

	for i in "$a" "${ids[@]}"; do wait_desc "$i" COMPLETED 120; done
	# nothing of the account started before the reset (but a's first run)
	local t all=()
	for i in "${ids[@]}"; do
		t=$(start_times "$i")
		[ "$(echo "$t" | wc -l)" = 1 ]
		[ "$t" -ge "$until_ms" ] || { echo "task $i started $((until_ms - t)) ms before the reset" >&2; return 1; }
		all+=("$t")
	done
	[ "$(start_times "$a" | wc -l)" = 2 ]
	t=$(start_times "$a" | tail -n 1)
	[ "$t" -ge "$until_ms" ]
	all+=("$t")
	# released one at a time: a probe, then 2 s apart (at least 1.5 s seen)
	local sorted prev=0
	sorted=$(printf '%s\n' "${all[@]}" | sort -n)
	for t in $sorted; do
		if [ "$prev" -gt 0 ] && [ $((t - prev)) -lt 1500 ]; then
			echo "two starts $((t - prev)) ms apart:" >&2
			cat "$P/starts.txt" "$P/sup.log" "$P/sup2.log" >&2
			return 1
		fi
		prev=$t
	done
	grep -q "started from the queue (probe for claude (key …" "$P/sup2.log"
	# nobody waits any more: the gate opens and the file goes
	wait_log "$P/sup2.log" "nothing waits any more: open" 20
	[ ! -e "$STORE/gates.json" ]
}

case_max_running_limits_containers() { # [per-engine]
	if [ "${1:-}" = per-engine ]; then
		echo "{\"maxRunning\": {\"$ENGINE\": 2}}" >"$P/rover.json"
	else
		echo '{"maxRunning": 2}' >"$P/rover.json"
	fi
	write_wf slow.yml <<'YML'
version: '1.0'
name: slow
steps:
  - id: work
    type: command
    command: i=0; while [ ! -e /output/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; echo done >> runs.log
YML
	# Each task's step waits for a file the test puts in its /output once
	# all five exist, so the first two still hold their slots when the
	# others are created (a fixed sleep let them end first on a loaded
	# machine, and the third was never queued).
	start_supervise sup
	local ids=() i out
	for i in 1 2 3 4 5; do
		out=$("$ROVER" task --json -w slow.yml "slot $i")
		ids+=("$(echo "$out" | jq -r .taskId)")
		if [ "$i" -gt 2 ]; then
			[ "$(echo "$out" | jq -r .queued.reason)" = maxRunning ]
			if [ "${1:-}" = per-engine ]; then
				[[ "$(echo "$out" | jq -r .queued.message)" == *"free $ENGINE slot"* ]]
			fi
		fi
	done
	for i in "${ids[@]}"; do touch "$STORE/tasks/$i/iterations/1/go"; done
	# sample the engine until all are done
	(
		while :; do
			probe "$ENGINE" list "rover.store=$STORE" 2>/dev/null | grep -c ' running$' || true
			sleep 0.1
		done
	) >"$P/samples.txt" 3>&- &
	SAMPLER=$!
	for i in "${ids[@]}"; do wait_desc "$i" COMPLETED 120; done
	kill "$SAMPLER"
	SAMPLER=
	local most
	most=$(sort -n "$P/samples.txt" | tail -n 1)
	[ "$most" -le 2 ] || { echo "saw $most containers running" >&2; return 1; }
	[ "$(grep -c 'started from the queue' "$P/sup.log")" = 3 ]
	for i in "${ids[@]}"; do [ "$(cat "$STORE/workspaces/$i/runs.log")" = done ]; done
}

case_stall_paused_and_retried() {
	export ROVER_STALL_SECONDS=4 ROVER_HEARTBEAT_SECONDS=1
	write_wf silent.yml <<'YML'
version: '1.0'
name: silent
steps:
  - id: hang
    type: command
    command: if [ -e stalled-once ]; then echo recovered; else touch stalled-once; sleep 60; fi
YML
	write_wf chatty.yml <<'YML'
version: '1.0'
name: chatty
steps:
  - id: slow
    type: command
    command: for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 1; done
YML
	start_supervise sup
	new_task -w silent.yml "goes silent"
	local s=$TID
	new_task -w chatty.yml "slow but talks"
	local c=$TID
	wait_log "$P/sup.log" "task $s: no progress for [0-9]+s \(the runner is alive" 30
	wait_log "$P/sup.log" "task $s: .*-> PAUSED \(stalled\)" 30
	wait_desc "$s" COMPLETED 60
	grep -q "task $s: auto-retry 1/5 of paused .* task: container" "$P/sup.log"
	wait_desc "$c" COMPLETED 60
	! grep -q "task $c: no progress" "$P/sup.log"
	! grep -q "task $c: .*PAUSED" "$P/sup.log"
	# the heartbeat is in the status file
	jq -e '.heartbeatAt and .outputAt' "$STORE/tasks/$c/iterations/1/status.json" >/dev/null
	valid status "$STORE/tasks/$c/iterations/1/status.json"
	valid description "$STORE/tasks/$s/description.json"
}

# A Unix-socket proxy to the engine: rover talks to $P/eng.sock; killing
# the proxy makes the engine unreachable (ECONNREFUSED: the socket file
# stays, nobody listens), starting it again brings it back.
proxy_start() {
	/usr/bin/python3 - "$P/eng.sock" "$(engine_sock "$ENGINE")" 3>&- <<'PY' &
import os, socket, sys, threading
listen, target = sys.argv[1], sys.argv[2]
if os.path.exists(listen):
    os.unlink(listen)
srv = socket.socket(socket.AF_UNIX)
srv.bind(listen)
srv.listen(64)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
while True:
    c, _ = srv.accept()
    u = socket.socket(socket.AF_UNIX)
    try:
        u.connect(target)
    except OSError:
        c.close()
        continue
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
PY
	PROXY_PID=$!
	local i
	for i in $(seq 50); do [ -S "$P/eng.sock" ] && return 0; sleep 0.1; done
	return 1
}
proxy_stop() {
	kill -KILL "$PROXY_PID"
	wait "$PROXY_PID" 2>/dev/null || true
	PROXY_PID=
}

case_engine_down_keeps_retry_budget() {
	export ROVER_RETRY_RESET_WINDOW=0-1
	proxy_start
	export ROVER_ENGINE=unix://$P/eng.sock
	wf_limited lim.yml "[[limit-reset-in:2]] [[rate-limit-once:plan]]"
	new_task -w lim.yml "the engine goes away"
	wait_status "$TID" PAUSED 60
	proxy_stop
	start_supervise sup
	wait_log "$P/sup.log" "task $TID: auto-retry not counted: the engine is unreachable" 30
	# several tries while it is down, none counted (how soon the second
	# comes depends on the machine's load: wait for it)
	local deadline=$((SECONDS + 30))
	until [ "$(grep -c "task $TID: auto-retry not counted" "$P/sup.log")" -ge 2 ]; do
		[ $SECONDS -lt $deadline ] || { cat "$P/sup.log" >&2; return 1; }
		sleep 0.2
	done
	[ "$(jq -r '.autoRetry.count // 0' "$STORE/tasks/$TID/description.json")" = 0 ]
	[ "$(desc_status "$TID")" = PAUSED ]
	proxy_start
	wait_desc "$TID" COMPLETED 60
	# one attempt ran: the one that found the engine back
	grep -q "task $TID: auto-retry 1/5 of paused .* task: container" "$P/sup.log"
	! grep -q "task $TID: auto-retry 2/5" "$P/sup.log"
}
