# `rover list` over running tasks that are served from the list caches
# (.list-cache for --json, .list-rows for the table): an unchanged running
# task is shown without reading its record, but a container that died since
# the last listing is still classified by the next one, in either view.
# Shared by list_running_docker.bats and list_running_podman.bats.

load helpers
load rover_helpers

lr_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	# container names are per engine: ids in this file's own range
	echo $(((RANDOM << 15 | RANDOM) * 100 + 11000000)) >"$STORE/tasks/.last-id"
	unset ROVER_AGENT_BIN
}

lr_new_task() { # TITLE -> TID
	local out
	out=$("$ROVER" task --json -w wf.yml "$1") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	[[ $TID =~ ^[0-9]+$ ]]
}

lr_kill() { # ID: SIGKILL its container and wait until it is gone
	local cid
	cid=$(jq -r .containerId "$STORE/tasks/$1/description.json")
	probe "$ENGINE" kill "$cid" 9
	probe "$ENGINE" wait "$cid" >/dev/null
}

json_status() { # ID -> its status in `rover list --json`
	"$ROVER" list --json | jq -r --argjson id "$1" '.[] | select(.id == $id) | .status'
}

case_cached_running_tasks_are_still_reconciled() {
	wf_waiting wf.yml
	lr_new_task "killed, seen by list --json"
	local a=$TID
	lr_new_task "killed, seen by the table"
	local b=$TID
	while [ ! -e "$STORE/workspaces/$a/waiting" ] || [ ! -e "$STORE/workspaces/$b/waiting" ]; do
		sleep 0.05
	done
	wait_status "$a" ITERATING 30
	wait_status "$b" ITERATING 30
	# twice each: the second listing serves both tasks from the caches
	for _ in 1 2; do
		[ "$(json_status "$a")" = ITERATING ]
		"$ROVER" list | grep -E "^$b +" | grep -q "Iterating"
	done
	grep -q "$(jq -r .containerId "$STORE/tasks/$a/description.json")" "$STORE/.list-cache"
	grep -q "$(jq -r .containerId "$STORE/tasks/$b/description.json")" "$STORE/.list-rows"

	lr_kill "$a"
	[ "$(json_status "$a")" = FAILED ]
	[ "$(jq -r .exitCode "$STORE/tasks/$a/description.json")" = 137 ]
	[ "$(json_status "$b")" = ITERATING ]

	lr_kill "$b"
	run "$ROVER" list
	[ "$status" -eq 0 ]
	echo "$output" | grep -E "^$b +" | grep -q "Failed"
	[ "$(jq -r .status "$STORE/tasks/$b/description.json")" = FAILED ]
	# and the caches follow: nothing stale on the next look
	[ "$(json_status "$b")" = FAILED ]
	"$ROVER" list | grep -E "^$a +" | grep -q "Failed"
}
