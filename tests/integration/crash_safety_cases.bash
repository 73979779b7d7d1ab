# rover's own commands killed at random moments, and many at once, never
# leave a task a user cannot act on (store-trust issue, items 4-6).
#
# A task whose `rover task` was SIGKILLed is settled by the next reconciling
# command: its container, found by label, is adopted; without one it goes
# back to NEW saying the creation was interrupted.  Afterwards, after ONE
# `rover list`: no NEW task has a container, no container of the store lacks
# a task, no resume lock blocks a resume, every rover/task-* branch and
# workspace belongs to a task, and no half-made directory is left.
#
# Bodies shared by crash_safety_docker.bats and crash_safety_podman.bats.

load helpers
load rover_helpers

crash_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 5000000)) >"$STORE/tasks/.last-id"
	SOCK=$(engine_sock "$1")
	KILLS=${ROVER_TEST_KILLS:-50}
}

crash_teardown() {
	rover_teardown
}

# Containers of this store as "id task-label" lines.
store_containers() {
	local f
	f=$(jq -rn --arg s "rover.store=$STORE" '{label: [$s]} | @uri')
	curl -fsS --unix-socket "$SOCK" "http://d/v1.41/containers/json?all=1&filters=$f" |
		jq -r '.[] | "\(.Id) \(.Labels["rover.task"])"'
}

# One random delay in [0, $1) milliseconds, as sleep's argument.
rand_delay() {
	local ms=$((RANDOM % $1))
	printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# CMD... in the background, SIGKILLed after a random delay (it may have
# finished by then).
kill_at_random() {
	local max=$1
	shift
	"$@" >/dev/null 2>&1 &
	local pid=$!
	sleep "$(rand_delay "$max")"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

wf_pause_once() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: pause-once
steps:
  - id: work
    type: command
    command: |
      if [ -e /output/paused-once ]; then echo done; exit 0; fi
      touch /output/paused-once; exit 75
YML
}

# The whole store is in a state a user can act on.
assert_actionable() {
	timeout 120 "$ROVER" list >/dev/null 2>&1 || true
	local json ids
	json=$(timeout 60 "$ROVER" list --json)
	ids=" $(echo "$json" | jq -r '.[].id' | tr '\n' ' ') "
	local bad=0 line cid tid status
	# No NEW task with a container; every container belongs to a task.
	while read -r cid tid; do
		[ -n "$cid" ] || continue
		if [[ $ids != *" $tid "* ]]; then
			echo "container $cid belongs to no task (task $tid)" >&2
			bad=1
			continue
		fi
		status=$(echo "$json" | jq -r --argjson id "$tid" '.[] | select(.id == $id) | .status')
		if [ "$status" = NEW ]; then
			echo "task $tid is NEW but has container $cid" >&2
			bad=1
		fi
	done < <(store_containers)
	# Every task is in a known status and has a record.
	for d in "$STORE"/tasks/*/; do
		[ -d "$d" ] || continue # no task left: the pattern itself
		tid=$(basename "$d")
		[ -f "$d/description.json" ] || { echo "tasks/$tid has no record" >&2; bad=1; }
	done
	# No half-deleted task, no half-made workspace.
	if compgen -G "$STORE/tasks/.deleted-*" >/dev/null; then
		echo "left over: $(ls -d "$STORE"/tasks/.deleted-*)" >&2
		bad=1
	fi
	if compgen -G "$STORE/workspaces/.*.new" >/dev/null; then
		echo "left over: $(ls -d "$STORE"/workspaces/.*.new)" >&2
		bad=1
	fi
	# Every workspace and branch belongs to a task.
	for d in "$STORE"/workspaces/*/; do
		[ -d "$d" ] || continue
		tid=$(basename "$d")
		[[ $ids == *" $tid "* ]] || { echo "workspace $tid belongs to no task" >&2; bad=1; }
	done
	while read -r b; do
		[ -n "$b" ] || continue
		tid=${b#rover/task-}
		[[ $ids == *" $tid "* ]] || { echo "branch $b belongs to no task" >&2; bad=1; }
	done < <(git -C "$P" for-each-ref --format='%(refname:short)' 'refs/heads/rover/task-*')
	# A resume lock never blocks: every PAUSED or FAILED task can be resumed.
	for tid in $(echo "$json" | jq -r '.[] | select(.status == "PAUSED" or .status == "FAILED") | .id'); do
		if "$ROVER" resume "$tid" 2>&1 | grep -q "already being resumed"; then
			echo "task $tid: a dead resume's lock blocks it" >&2
			bad=1
		fi
	done
	[ $bad = 0 ]
}

case_kill_task_resume_delete_at_random() {
	wf_pause_once
	local i
	for ((i = 0; i < KILLS; i++)); do
		kill_at_random 900 "$ROVER" task -w wf.yml "killed $i"
	done
	echo "# after $KILLS killed 'rover task': $(ls "$STORE/tasks" | wc -l) task dirs" >&3
	timeout 120 "$ROVER" list >/dev/null 2>&1 || true
	sleep 2
	local paused tid
	for ((i = 0; i < KILLS; i++)); do
		paused=$("$ROVER" list --json | jq -r '[.[] | select(.status == "PAUSED" or .status == "FAILED" or .status == "NEW") | .id] | .[]' | shuf -n 1)
		[ -n "$paused" ] || break
		kill_at_random 900 "$ROVER" resume "$paused"
	done
	# Deletes for half the tasks there are: a delete usually finishes
	# inside the kill window, and one per task left no task to judge.
	local deletes
	deletes=$(($(ls "$STORE/tasks" | wc -l) / 2))
	for ((i = 0; i < deletes; i++)); do
		tid=$("$ROVER" list --json | jq -r '.[].id' | shuf -n 1)
		[ -n "$tid" ] || break
		kill_at_random 400 "$ROVER" delete --force "$tid"
	done
	echo "# after the deletes: $(ls "$STORE/tasks" | wc -l) task dirs" >&3
	[ -n "$(ls "$STORE/tasks")" ] # something is left to judge
	assert_actionable
}

case_fifty_concurrent_tasks() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: quick
steps:
  - id: hello
    type: command
    command: echo hello
YML
	local i out=$BATS_TEST_TMPDIR/out
	mkdir -p "$out"
	for ((i = 0; i < 50; i++)); do
		"$ROVER" task --json -w wf.yml "concurrent $i" >"$out/$i.json" 2>"$out/$i.err" &
	done
	wait
	local n fails ids
	fails=0
	for ((i = 0; i < 50; i++)); do
		jq -e '.taskId' "$out/$i.json" >/dev/null 2>&1 || { echo "task $i: $(cat "$out/$i.err")" >&2; fails=$((fails + 1)); }
	done
	[ $fails = 0 ]
	ids=$(cat "$out"/*.json | jq -r .taskId | sort -u | wc -l)
	[ "$ids" = 50 ]
	n=$(store_containers | wc -l)
	[ "$n" = 50 ]
	[ "$(git -C "$P" for-each-ref 'refs/heads/rover/task-*' | wc -l)" = 50 ]
}
