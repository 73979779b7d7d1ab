# Files a hostile container leaves in its /output (issue: the container is a
# security boundary; docs/design/untrusted-files.md).  The iteration directory
# <store>/tasks/<id>/iterations/<n> is the container's /output: a workflow
# command step, playing an agent taken over by a prompt injection, plants
# symlinks to a host marker file (and to a host path that does not exist) and
# FIFOs at every name rover reads or writes there, escape sequences in its
# error text and current step, a year-9999 resetAt, and fills the disk.  Then
# every rover command runs under `timeout`: none may hang, the marker file
# stays as it was, no host file appears, no raw ESC reaches the terminal
# views (--json keeps the raw value), and the task ends in a clear state.
#
# States a runner's own container cannot leave at rest (its runner rewrites
# status.json and checkpoint.json last, then the container ends) are planted
# by a second container with the same /output mount, as a compromised agent's
# sibling would.
#
# Bodies shared by hostile_iofs_docker.bats and hostile_iofs_podman.bats.

load helpers
load rover_helpers

ESC=$'\033'
T=10 # every command must finish within this many seconds

iofs_setup() { # docker|podman
	rover_setup "$1"
	STORE=${STORE:-$P/.rover}
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 5000000)) >"$STORE/tasks/.last-id"
	HOSTM=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-hostm.XXXXXX")
	echo original >"$HOSTM/marker.txt"
	chmod 644 "$HOSTM/marker.txt"
	MARK_SUM=$(sha256sum "$HOSTM/marker.txt")
	MOUNTED=
}

iofs_teardown() {
	[ -n "${SUP_PID:-}" ] && kill "$SUP_PID" 2>/dev/null
	rover_teardown
	if [ -n "$MOUNTED" ]; then
		umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null
		rmdir "$MOUNTED" 2>/dev/null
	fi
	rm -rf "$HOSTM"
}

# The host marker is unchanged and nothing else appeared beside it (a link to
# $HOSTM/nowhere must not have been created through).
host_untouched() {
	[ "$(sha256sum "$HOSTM/marker.txt")" = "$MARK_SUM" ] ||
		{ echo "host marker changed: $(cat "$HOSTM/marker.txt")" >&2; return 1; }
	[ "$(ls -A "$HOSTM")" = marker.txt ] ||
		{ echo "new host files: $(ls -A "$HOSTM")" >&2; return 1; }
}

# t CMD...: run rover CMD under `timeout $T`; fails on a timeout (124/137).
# $out has stdout+stderr, $rc the exit code.
t() {
	rc=0
	out=$(timeout -k 2 "$T" "$ROVER" "$@" 2>&1) || rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "rover $* did not finish within ${T}s; it printed: $out" >&2
		return 1
	fi
	return 0
}

# No raw ESC in $out.
no_raw_esc() {
	if [[ "$out" == *"$ESC"* ]]; then
		echo "raw ESC reached the terminal view: $(printf '%q' "$out")" >&2
		return 1
	fi
}

new_iofs_task() { # ARGS... -> TID, ITER, WS
	local o
	o=$(timeout -k 2 "$T" "$ROVER" task --json "$@") || { echo "rover task failed: $o" >&2; return 1; }
	TID=$(echo "$o" | jq -r .taskId)
	WS=$(echo "$o" | jq -r '.workspace // empty')
	[ -n "$WS" ] || WS=$STORE/workspaces/$TID
	[[ $TID =~ ^[0-9]+$ ]]
	ITER=$("$ROVER" inspect --json "$TID" | jq -r .iterationPath)
	[ -d "$ITER" ]
}

wait_path() { # PATH [SECONDS]
	local deadline=$((SECONDS + ${2:-60}))
	while [ ! -e "$1" ]; do
		[ $SECONDS -lt $deadline ] || { echo "no $1 after ${2:-60}s" >&2; return 1; }
		sleep 0.2
	done
}

# A second container with the task's iteration directory as /output runs sh -c
# SCRIPT there (the engine's own CLI; labelled so teardown removes it).
sibling() { # SCRIPT
	local sock
	sock=$(engine_sock "$ENGINE")
	case "$ENGINE" in
	docker)
		DOCKER_HOST=unix://$sock timeout 60 docker run --rm --network none \
			--label "rover.store=$STORE" -v "$ITER:/output" "$ROVER_TEST_IMAGE" sh -c "$1"
		;;
	podman)
		timeout 60 podman --remote --url "unix://$sock" run --rm --network none \
			--label "rover.store=$STORE" -v "$ITER:/output" "$ROVER_TEST_IMAGE" sh -c "$1"
		;;
	esac
}

# supervise for a few seconds, then SIGTERM: it must exit promptly.
supervise_briefly() { # SECONDS -> $sup_out
	local f=$BATS_TEST_TMPDIR/supervise.out
	"$ROVER" supervise >"$f" 2>&1 &
	SUP_PID=$!
	sleep "$1"
	kill -TERM "$SUP_PID"
	local deadline=$((SECONDS + T))
	while kill -0 "$SUP_PID" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || { echo "supervise ignored SIGTERM" >&2; kill -9 "$SUP_PID"; return 1; }
		sleep 0.1
	done
	wait "$SUP_PID" || true
	SUP_PID=
	sup_out=$(cat "$f")
}

# The views of a task: none may hang, none may print a raw ESC.
check_views() {
	t list; no_raw_esc
	t inspect "$TID"; no_raw_esc
	t list --json
	t inspect --json "$TID"
	t logs "$TID"
	host_untouched
}

# ---- planted by the runner's own container while it runs -----------------

case_planted_while_running() {
	write_wf wf.yml <<YML
version: '1.0'
name: hostile-files
steps:
  - id: plant
    type: command
    command: |
      for n in container.log rover.jsonl; do rm -f /output/\$n; ln -s $HOSTM/marker.txt /output/\$n; done
      rm -f /output/.pause-requested; ln -s $HOSTM/nowhere /output/.pause-requested
      rm -f /output/.resume.lock; mkfifo /output/.resume.lock
      echo planted
  - id: hang
    type: command
    command: |
      printf '{"taskId":"x","status":"running","currentStep":"\\\\u001b]0;PWNED\\\\u0007\\\\u001b[2Jstep","progress":50,"error":"\\\\u001b[2Jcleared"}' > /output/status.json
      touch /workspace/planted1
      while [ ! -e /workspace/GO1 ]; do sleep 0.1; done
      rm -f /output/status.json /output/checkpoint.json; mkfifo /output/status.json /output/checkpoint.json
      touch /workspace/planted2
      while [ ! -e /workspace/GO2 ]; do sleep 0.1; done
      printf 'fatal: \033]0;PWNED\007\033[2J\033cscreen gone\n' >&2
      exit 1
YML
	new_iofs_task -w wf.yml "hostile files"
	wait_path "$WS/planted1"

	# status.json (regular) carries escape sequences in currentStep
	t list; no_raw_esc
	[[ "$out" == *'\x1b]0;PWNED'* ]] || { echo "list: $out" >&2; false; }
	t inspect "$TID"; no_raw_esc
	[[ "$out" == *'\x1b[2Jstep'* ]] || { echo "inspect: $out" >&2; false; }
	t list --json
	[[ "$(echo "$out" | jq -r '..|strings')" == *"$ESC]0;PWNED"* ]] # raw in JSON
	t inspect --json "$TID"
	[[ "$(echo "$out" | jq -r '.iteration.currentStep')" == "$ESC]0;PWNED"* ]]
	t logs "$TID"
	[[ "$out" != *original* ]] # the symlinked container.log is not followed
	host_untouched
	# list --watch on a terminal: its own screen clearing, never the container's
	out=$(timeout -k 2 4 script -qec "$ROVER list --watch=1" /dev/null) || true
	[[ "$out" == *'\x1b]0;PWNED'* ]] || { echo "watch: $(printf '%q' "$out")" >&2; false; }
	[[ "$out" != *"$ESC]0;PWNED"* ]]

	# FIFOs at status.json and checkpoint.json (and .resume.lock)
	touch "$WS/GO1"
	wait_path "$WS/planted2"
	check_views
	t resume "$TID" # running: refused, quickly
	[ "$rc" -ne 0 ]
	supervise_briefly 3
	[[ "$sup_out" != *"$ESC"* ]]
	host_untouched

	# the step fails with escape sequences in its error
	touch "$WS/GO2"
	wait_status "$TID" FAILED 60
	check_views
	t inspect "$TID"
	[[ "$out" == *'\x1b]0;PWNED'* ]] || { echo "inspect: $out" >&2; false; }
	t inspect --json "$TID"
	[[ "$(echo "$out" | jq -r .error)" == *"$ESC]0;PWNED"* ]]
	# container.log was saved as a regular file, never through the link
	[ -f "$ITER/container.log" ] && [ ! -L "$ITER/container.log" ]
	grep -q 'screen gone' "$ITER/container.log"
	# the saved output is shown; on this (non-terminal) stdout, raw
	t logs "$TID"
	[[ "$out" == *'screen gone'* ]]
	[[ "$out" == *"$ESC]0;PWNED"* ]]
	# on a terminal, escaped; --raw keeps it
	out=$(timeout -k 2 "$T" script -qec "$ROVER logs $TID" /dev/null)
	[[ "$out" == *'screen gone'* ]]
	no_raw_esc
	[[ "$out" == *'\x1b]0;PWNED'* ]]
	out=$(timeout -k 2 "$T" script -qec "$ROVER logs --raw $TID" /dev/null)
	[[ "$out" == *"$ESC]0;PWNED"* ]]

	# every other command, each bounded; the next run waits at GO1 again
	rm -f "$WS/GO1" "$WS/GO2" "$WS/planted1" "$WS/planted2"
	t resume "$TID"
	[ "$rc" -eq 0 ] || { echo "resume: $out" >&2; false; }
	wait_path "$WS/planted1"
	check_views
	T=30 t pause "$TID" --timeout 2
	[ "$rc" -eq 0 ] || { echo "pause: $out" >&2; false; }
	wait_status "$TID" PAUSED 30
	T=40 t stop "$TID"
	wait_status "$TID" FAILED 30
	rm -f "$WS/planted1"
	t restart "$TID"
	[ "$rc" -eq 0 ] || { echo "restart: $out" >&2; false; }
	wait_path "$WS/planted1"
	check_views
	T=40 t stop "$TID"
	t delete --force "$TID"
	[ "$rc" -eq 0 ] || { echo "delete: $out" >&2; false; }
	host_untouched
}

# ---- planted at rest by a sibling container, and a year-9999 resetAt --------

case_planted_at_rest_and_absurd_reset() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: limited
steps:
  - id: limit
    type: command
    command: echo "usage limit reached" >&2; exit 75
YML
	new_iofs_task -w wf.yml "limited"
	wait_status "$TID" PAUSED 60
	[ "$(task_json "$TID" | jq -r .pauseReason)" = retryable_error ]
	[ -f "$ITER/checkpoint.json" ]

	# resetAt 9999, FIFO at .resume.lock, links at the log names, escapes
	sibling "
		sed -i 's/^{/{\"resetAt\": \"9999-12-31T23:59:59Z\",/' /output/checkpoint.json
		rm -f /output/.resume.lock /output/container.log /output/rover.jsonl /output/.pause-requested
		mkfifo /output/.resume.lock
		ln -s $HOSTM/marker.txt /output/container.log
		ln -s $HOSTM/marker.txt /output/rover.jsonl
		ln -s $HOSTM/nowhere /output/.pause-requested
	"
	grep -q 9999 "$ITER/checkpoint.json"
	check_views

	# supervise: the reset time is ignored and reported, the normal
	# backoff is used (not year 10000), and the record is written once
	export ROVER_RETRY_BASE_SECONDS=3600 ROVER_RETRY_CAP_SECONDS=7200
	supervise_briefly 3
	[[ "$sup_out" == *"ignored: more than 7 days ahead"* ]] || { echo "supervise: $sup_out" >&2; false; }
	local rec=$STORE/tasks/$TID/description.json
	local next
	next=$(jq -r .autoRetry.nextRetryAt "$rec")
	[[ "$next" == 20* ]] || { echo "nextRetryAt $next" >&2; false; }
	[ "$(date -u -d "$next" +%s)" -lt $(($(date +%s) + 86400)) ]
	[[ "$(jq -r .autoRetry.resetAtIgnored "$rec")" == *"9999-12-31T23:59:59Z ignored"* ]]
	local before
	before=$(stat -c %Y.%s "$rec"; sha256sum "$rec")
	sleep 1
	supervise_briefly 3
	[ "$(stat -c %Y.%s "$rec"; sha256sum "$rec")" = "$before" ] ||
		{ echo "supervise rewrote the record on a later pass" >&2; false; }
	t inspect "$TID"; no_raw_esc
	[[ "$out" == *"reset time 9999-12-31T23:59:59Z ignored: more than 7 days ahead"* ]] ||
		{ echo "inspect: $out" >&2; false; }
	t inspect --json "$TID"
	[ "$(echo "$out" | jq -r .checkpoint.resetAt)" = 9999-12-31T23:59:59Z ]
	host_untouched

	# resume: the FIFO at .resume.lock is a stale lock, reclaimed
	t resume "$TID"
	[ "$rc" -eq 0 ] || { echo "resume over a FIFO lock: $out" >&2; false; }
	wait_status "$TID" PAUSED 60
	host_untouched
	# a dangling symlink at .resume.lock: reclaimed as well
	sibling "rm -f /output/.resume.lock; ln -s $HOSTM/nowhere /output/.resume.lock"
	t resume "$TID"
	[ "$rc" -eq 0 ] || { echo "resume over a dangling lock link: $out" >&2; false; }
	wait_status "$TID" PAUSED 60
	[ ! -e "$HOSTM/nowhere" ]
	# FIFOs at status.json and checkpoint.json at rest
	sibling "rm -f /output/status.json /output/checkpoint.json /output/inputs.json
		mkfifo /output/status.json /output/checkpoint.json
		ln -s $HOSTM/nowhere /output/inputs.json"
	check_views
	# supervise keeps serving the other tasks meanwhile: a second task,
	# limited once, is retried and completes beside the hostile one
	local hostile=$TID hostile_iter=$ITER
	write_wf wf2.yml <<'YML'
version: '1.0'
name: limited-once
steps:
  - id: once
    type: command
    command: if [ -e once ]; then echo ok; else touch once; echo "usage limit reached" >&2; exit 75; fi
YML
	new_iofs_task -w wf2.yml "limited once"
	local other=$TID
	wait_status "$other" PAUSED 60
	export ROVER_RETRY_BASE_SECONDS=1 ROVER_RETRY_CAP_SECONDS=2
	"$ROVER" supervise >"$BATS_TEST_TMPDIR/sup2.out" 2>&1 &
	SUP_PID=$!
	wait_status "$other" COMPLETED 60
	kill -TERM "$SUP_PID"
	local deadline=$((SECONDS + T))
	while kill -0 "$SUP_PID" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || { echo "supervise ignored SIGTERM" >&2; false; }
		sleep 0.1
	done
	SUP_PID=
	TID=$hostile ITER=$hostile_iter
	host_untouched
	t restart "$TID"
	t delete --force "$TID"
	[ "$rc" -eq 0 ] || { echo "delete: $out" >&2; false; }
	host_untouched
}

# ---- a full disk -------------------------------------------------------------

case_full_disk_fails_the_task_with_the_reason() {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	MOUNTED=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-small.XXXXXX")
	mount -t tmpfs -o size=4m tmpfs "$MOUNTED"
	export ROVER_STORE=$MOUNTED/store
	STORE=$ROVER_STORE
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 6000000)) >"$STORE/tasks/.last-id"
	write_wf wf.yml <<'YML'
version: '1.0'
name: fill
steps:
  - id: fill
    type: command
    command: while [ ! -e GO ]; do sleep 0.1; done; dd if=/dev/zero of=/output/fill bs=64k 2>/dev/null; echo filled
  - id: after
    type: command
    command: echo never
YML
	new_iofs_task -w wf.yml "fill the disk"
	touch "$WS/GO"
	# The runner cannot save the checkpoint after "fill": it must exit 1.
	local deadline=$((SECONDS + 60)) s=
	while [ $SECONDS -lt $deadline ]; do
		t inspect --json "$TID"
		s=$(echo "$out" | jq -r '.container.state // empty' 2>/dev/null)
		[ "$s" = exited ] && break
		sleep 0.5
	done
	[ "$s" = exited ] || { echo "container did not exit: $out" >&2; false; }
	[ "$(echo "$out" | jq -r .container.exitCode)" = 1 ] || { echo "exit: $out" >&2; false; }
	[ "$(echo "$out" | jq -r .status)" != COMPLETED ]
	# rover logs shows the runner's own account, from the engine
	t logs "$TID"
	[[ "$out" == *"rover-agent: cannot save checkpoint"* ]] || { echo "logs: $out" >&2; false; }
	[[ "$out" == *"No space left on device"* ]]
	# The user frees the space: the next look records FAILED with the reason.
	rm -f "$ITER/fill"
	wait_status "$TID" FAILED 30
	t inspect --json "$TID"
	local err
	err=$(echo "$out" | jq -r .error)
	[[ "$err" == *"runner exited 1: cannot save checkpoint"* ]] || { echo "error: $err" >&2; false; }
	[[ "$err" == *"No space left on device"* ]]
	[[ "$(echo "$out" | jq -r .status)" = FAILED ]]
	t logs "$TID"
	[[ "$out" == *"rover-agent: cannot save checkpoint"* ]]
	t delete --force "$TID"
}
