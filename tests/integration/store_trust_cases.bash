# The task store belongs to the user (issue 8): a repository whose COMMITTED
# .rover/ holds hostile task records must not steer rover, and records that do
# reach the user's store are used only as far as the user configured them.
# Shared by store_trust_docker.bats and store_trust_podman.bats.
#
# Hostile records:
#   task 1  PAUSED retryable_error, worktreePath = a host directory, engine
#           endpoint = a loopback listener (counts connections)
#   task 2  ITERATING with a container id on the listener (orphan checks)
#   task 3  FAILED, worktreePath = <store>/workspaces/.. (the whole store)
#   task 4  PAUSED retryable_error, its own workspace, endpoint = the listener
#   workspaces/ (in the second half) a symlink to a host directory holding
#           1/ and 3/ with markers
# Every command a user runs - list, inspect, resume, supervise (30 s), delete
# --force - must leave every host path untouched, contact nothing but the
# configured engine (the listener sees NO connection) and say what it refused.

load helpers
load rover_helpers

trust_setup() { # docker|podman
	rover_setup "$1"
	HOST=$P.host
	mkdir -p "$HOST/victim" "$HOST/ws/1" "$HOST/ws/3"
	echo keep >"$HOST/victim/marker"
	echo keep >"$HOST/ws/1/marker"
	echo keep >"$HOST/ws/3/marker"
	start_listener
}

trust_teardown() {
	[ -n "${SUP_PID:-}" ] && kill "$SUP_PID" 2>/dev/null
	[ -n "${LISTENER_PID:-}" ] && kill "$LISTENER_PID" 2>/dev/null
	rover_teardown
	[ -n "${HOST:-}" ] && rm -rf "$HOST"
}

# A loopback TCP listener that records every connection it accepts (and
# the first bytes sent) in $HOST/connections; its port is in $PORT.
start_listener() {
	python3 - "$HOST/connections" "$HOST/port" <<'PY' &
import socket, sys
log, portfile = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
open(log, "a").close()
while True:
    c, _ = s.accept()
    c.settimeout(1)
    try:
        data = c.recv(200)
    except Exception:
        data = b""
    with open(log, "a") as f:
        f.write("connection: %r\n" % data[:80])
    c.close()
PY
	LISTENER_PID=$!
	local deadline=$((SECONDS + 10))
	while [ ! -s "$HOST/port" ]; do
		[ $SECONDS -lt $deadline ] || { echo "listener did not start" >&2; return 1; }
		sleep 0.05
	done
	PORT=$(cat "$HOST/port")
	EVIL=tcp://127.0.0.1:$PORT
	# the listener works: a probe connection is seen (then forgotten)
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT)).close()"
	local d2=$((SECONDS + 5))
	until grep -q connection "$HOST/connections"; do
		[ $SECONDS -lt $d2 ] || { echo "listener sees nothing" >&2; return 1; }
		sleep 0.05
	done
	: >"$HOST/connections"
}

no_connection() {
	if [ -s "$HOST/connections" ]; then
		echo "the listener was contacted:" >&2
		cat "$HOST/connections" >&2
		return 1
	fi
}

host_untouched() {
	[ "$(cat "$HOST/victim/marker")" = keep ]
	[ "$(cat "$HOST/ws/1/marker")" = keep ]
	[ "$(cat "$HOST/ws/3/marker")" = keep ]
	[ "$(ls -A "$HOST/victim")" = marker ]
	[ ! -e "$HOST/victim/PWNED" ] && [ ! -e "$HOST/ws/1/PWNED" ]
}

# record DIR ID STATUS WORKTREE ENDPOINT [CONTAINER]: a hostile description.json
record() {
	local dir=$1 id=$2 status=$3 wt=$4 ep=$5 cid=${6:-}
	mkdir -p "$dir/tasks/$id/iterations/1"
	jq -n --argjson id "$id" --arg st "$status" --arg wt "$wt" --arg ep "$ep" --arg cid "$cid" \
		'{id: $id, title: "hostile \($id)", description: "d", status: $st,
		  version: "1.6", createdAt: "2026-01-01T00:00:00.000Z",
		  startedAt: "2026-01-01T00:00:01.000Z", iterations: 1,
		  worktreePath: $wt, branchName: "rover/task-\($id)",
		  agentImage: env.ROVER_AGENT_IMAGE,
		  engine: {kind: "docker", endpoint: $ep}}
		 + (if $cid != "" then {containerId: $cid} else {} end)
		 + (if $st == "PAUSED" then {pauseReason: "retryable_error",
		      error: "rate limit", autoRetry: {count: 0, nextAt: "2026-01-01T00:00:00.000Z"}}
		    else {} end)' >"$dir/tasks/$id/description.json"
	cat >"$dir/tasks/$id/workflow.yml" <<'YML'
version: '1.0'
name: hostile
steps:
  - id: own
    type: command
    command: touch /workspace/PWNED
YML
}

# The hostile records into DIR, worktree paths naming STOREPATH.
plant() { # DIR STOREPATH
	local dir=$1 sp=$2
	record "$dir" 1 PAUSED "$HOST/victim" "$EVIL" c0ffee1
	record "$dir" 2 ITERATING "$sp/workspaces/2" "$EVIL" c0ffee2
	record "$dir" 3 FAILED "$sp/workspaces/.." "$ROVER_ENGINE"
	record "$dir" 4 PAUSED "$sp/workspaces/4" "$EVIL" c0ffee4
	mkdir -p "$dir/workspaces/2" "$dir/workspaces/4"
	echo 4 >"$dir/tasks/.last-id"
}

# rover supervise for 30 s, then SIGTERM; its output in $HOST/supervise.log
supervise_30s() {
	"$ROVER" supervise >"$HOST/supervise.log" 2>&1 &
	SUP_PID=$!
	sleep 30
	kill -TERM "$SUP_PID"
	wait "$SUP_PID" || true
	SUP_PID=
}

# A committed .rover/ is never acted on: no task of it is listed, inspected,
# resumed, supervised or deleted; one warning says so, once.
case_committed_store_is_ignored() {
	plant "$P/.rover" "$P/.rover"
	ln -s "$HOST/ws" "$P/.rover/workspaces-link"
	git -C "$P" add -f .rover
	git -C "$P" -c user.email=t@x.invalid -c user.name=t commit -q -m "ship a store"
	local before
	before=$(cd "$P" && find .rover -print0 | sort -z | xargs -0 ls -ld --time-style=+%s.%N | sha256sum)

	run rover list
	[ "$status" -eq 0 ]
	[[ "$output" == *"ignoring $P/.rover: it is tracked by git"* ]]
	[[ "$output" != *hostile* ]]
	run rover list
	[ "$status" -eq 0 ]
	[[ "$output" != *"ignoring"* ]]        # once
	[ "$("$ROVER" list --json | jq length)" = 0 ]
	run rover inspect 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"task 1 not found"* ]]
	run rover resume 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"task 1 not found"* ]]
	supervise_30s
	run rover delete --force 3
	[ "$status" -eq 1 ]
	[[ "$output" == *"task 3 not found"* ]]
	run rover delete --force 1
	[ "$status" -eq 1 ]

	no_connection
	host_untouched
	[ -d "$STORE" ]
	[ -z "$(git -C "$P" status --porcelain --ignored -- .rover)" ]
	[ "$(cd "$P" && find .rover -print0 | sort -z | xargs -0 ls -ld --time-style=+%s.%N | sha256sum)" = "$before" ]
	[ ! -e "$STORE/tasks/1" ]
}

# Hostile records inside the user's own store (copied from elsewhere): each
# path and endpoint is checked against what rover made or the user configured.
case_records_in_the_store_are_checked() {
	plant "$STORE" "$STORE"
	# task 4's workspace is a real worktree on its own branch, as rover makes it
	rmdir "$STORE/workspaces/4"
	git -C "$P" worktree add -q -b rover/task-4 "$STORE/workspaces/4"

	run rover list
	[ "$status" -eq 0 ]
	[[ "$output" == *"task 2 names engine endpoint $EVIL, which is not configured here; set ROVER_ENGINE=$EVIL to use it"* ]]
	run rover inspect 2
	[ "$status" -eq 0 ]
	[[ "$output" == *"task 2 names engine endpoint $EVIL"* ]]

	# the workspace is not its own: refused before anything is mounted
	run rover resume 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"task 1 names workspace '$HOST/victim', which is not its workspace"* ]]
	# its own workspace, but an endpoint nobody configured: no connection
	run rover resume 4
	[ "$status" -eq 1 ]
	[[ "$output" == *"task 4 names engine endpoint $EVIL, which is not configured here"* ]]
	[ "$(jq -r .status "$STORE/tasks/4/description.json")" != IN_PROGRESS ]

	# the supervisor's auto-retry and event streams refuse the same way
	supervise_30s
	grep -q "task 4 names engine endpoint $EVIL" "$HOST/supervise.log" ||
		grep -q "task 2 names engine endpoint $EVIL" "$HOST/supervise.log"
	no_connection
	host_untouched
	[ ! -e "$STORE/workspaces/4/PWNED" ]

	# workspaces/ replaced by a symlink to a host dir holding 1/ and 3/
	rm -rf "$STORE/workspaces"
	ln -s "$HOST/ws" "$STORE/workspaces"
	run rover delete --force 3
	[ "$status" -eq 0 ]
	[[ "$output" == *"Left behind: the workspace '$STORE/workspaces/..'"* ]]
	[ -d "$STORE/tasks/1" ] && [ -d "$STORE/tasks/4" ]    # the store survives
	run rover delete --force 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Left behind: the workspace '$HOST/victim'"* ]]
	run rover delete --force 4
	[ "$status" -eq 0 ]
	[[ "$output" == *"Left behind: the workspace '$STORE/workspaces/4'"*"not a real directory"* ]]
	run rover delete --force 2
	[ "$status" -eq 0 ]
	no_connection
	host_untouched
	[ -L "$STORE/workspaces" ]
	[ -d "$STORE/tasks" ]
	[ -z "$(ls "$STORE/tasks")" ]
}

# A legitimate task still works end to end next to all this, and `rover
# delete 01` is a usage error that deletes nothing.
case_legit_task_and_canonical_ids() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: ok
steps:
  - id: a
    type: command
    command: echo fine > done.txt
YML
	run rover task -w wf.yml --json "legit"
	[ "$status" -eq 0 ]
	id=$(echo "$output" | jq -r .taskId)
	wait_status "$id" COMPLETED 60
	[ "$(cat "$STORE/workspaces/$id/done.txt")" = fine ]
	[ "$(task_json "$id" | jq -r .worktreePath)" = "$STORE/workspaces/$id" ]
	run rover delete "0$id"
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid task id '0$id': write it without leading zeros"* ]]
	[ -d "$STORE/tasks/$id" ]
	# --force: the task's done.txt is uncommitted work, which delete keeps
	run rover delete --force "$id"
	[ "$status" -eq 0 ]
	[ ! -e "$STORE/tasks/$id" ] && [ ! -e "$STORE/workspaces/$id" ]
	[ -z "$(probe "$ENGINE" list "rover.task=$id" "rover.store=$STORE")" ]
	run git -C "$P" rev-parse --verify -q "rover/task-$id"
	[ "$status" -ne 0 ]
	# a delete killed half-way: list finishes off the .deleted-* it left
	mkdir -p "$STORE/tasks/.deleted-99-999999-1/iterations"
	ln -s "$HOST/victim" "$STORE/tasks/.deleted-99-999999-1/link"
	rover list >/dev/null
	[ ! -e "$STORE/tasks/.deleted-99-999999-1" ]
	host_untouched
}

# A store the previous rover kept in the project (<root>/.rover, with its
# mark in .git/info/exclude) moves to the user's store once; its tasks still
# list and inspect, and their workspaces are where the records say.
case_old_store_migrates_once() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: ok
steps:
  - id: a
    type: command
    command: echo migrated > m.txt
YML
	# The previous layout, made by rover itself with the store in the project.
	ROVER_STORE=$P/.rover run rover task -w wf.yml --json "old layout"
	[ "$status" -eq 0 ]
	id=$(echo "$output" | jq -r .taskId)
	ROVER_STORE=$P/.rover wait_status "$id" COMPLETED 60
	grep -q "^# rover's task store$" "$P/.git/info/exclude" ||
		printf "# rover's task store\n/.rover/\n" >>"$P/.git/info/exclude"
	[ -d "$P/.rover/tasks/$id" ]
	[ ! -e "$STORE/tasks" ]

	run rover list
	[ "$status" -eq 0 ]
	[[ "$output" == *"Moved rover's task store (1 task) from $P/.rover to $STORE"* ]]
	[[ "$output" == *"old layout"* ]]
	[ ! -e "$P/.rover" ]
	run rover list
	[[ "$output" != *"Moved"* ]]
	run task_json "$id"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .status)" = COMPLETED ]
	[ "$(echo "$output" | jq -r .worktreePath)" = "$STORE/workspaces/$id" ]
	[ "$(cat "$STORE/workspaces/$id/m.txt")" = migrated ]
	run rover logs "$id"
	[[ "$output" == *migrated* ]] || [ "$status" -eq 0 ]
	# and delete still finds and removes everything (m.txt is uncommitted
	# work: --force)
	run rover delete --force "$id"
	[ "$status" -eq 0 ]
	[ ! -e "$STORE/workspaces/$id" ]
	cleanup_label "$ENGINE" "rover.store=$P/.rover"
}
