# Shared helpers for tests that drive the `rover` CLI against real engines.
#
#   load helpers
#   load rover_helpers
#   rover_setup docker      a fresh git project in $P with its own store,
#                           ROVER_ENGINE set to that engine's test socket;
#                           XDG_DATA_HOME and XDG_CONFIG_HOME point into
#                           $P.xdg (beside the project, never in it), so
#                           the store is the user's default one: $STORE
#   rover ARGS...           the rover under test (use with bats' `run`)
#   wait_status ID STATUS [SECONDS]   poll `rover inspect --json` until it says STATUS
#   task_json ID            `rover inspect --json ID`
#   write_wf FILE <<EOF     a workflow file in the project
#
# Containers created by a test carry rover.store=$STORE; rover_teardown
# removes them (after the test, whatever happened).

ROVER=${ROVER_BIN_DIR:-$ROOT/bin}/rover

rover_setup() { # docker|podman
	ENGINE=$1
	require_engine "$ENGINE"
	P=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-proj.XXXXXX")
	git -C "$P" init -q
	git -C "$P" -c user.email=t@example.invalid -c user.name=test commit -q --allow-empty -m init
	export ROVER_ENGINE=$(engine_uri "$ENGINE")
	export ROVER_AGENT_IMAGE=$ROVER_TEST_IMAGE
	export ROVER_NETWORK=none
	export ROVER_AGENT_RETRY_DELAY_MS=50
	export ROVER_AGENT_GRACE=${ROVER_AGENT_GRACE:-5}
	unset ROVER_STORE DOCKER_HOST CONTAINER_HOST
	export XDG_DATA_HOME=$P.xdg/data XDG_CONFIG_HOME=$P.xdg/config
	mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME"
	cd "$P"
	STORE=$("$ROVER" info --json | jq -r .store)
	[ -n "$STORE" ] && [ "$STORE" != null ] || { echo "rover info gave no store" >&2; return 1; }
	export STORE
}

rover_teardown() {
	if [ -n "${P:-}" ] && [ -n "${ENGINE:-}" ]; then
		cleanup_label "$ENGINE" "rover.store=$STORE"
		cd /
		# worktrees and files written by containers (as root) go with it
		rm -rf "$P" "$P.xdg"
	fi
}

rover() {
	"$ROVER" "$@"
}

task_json() {
	"$ROVER" inspect --json "$1"
}

# wait_log FILE REGEX [SECONDS]: true once FILE has a line matching REGEX.
wait_log() {
	local deadline=$((SECONDS + ${3:-30}))
	until grep -qE "$2" "$1" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || { echo "no /$2/ in $1 after ${3:-30}s:" >&2; cat "$1" >&2; return 1; }
		sleep 0.1
	done
}

# wait_status ID STATUS [SECONDS]: true once the task reaches STATUS.
wait_status() {
	local id=$1 want=$2 secs=${3:-60} s
	local deadline=$((SECONDS + secs))
	while [ $SECONDS -lt $deadline ]; do
		s=$("$ROVER" inspect --json "$id" 2>/dev/null | jq -r .status)
		[ "$s" = "$want" ] && return 0
		sleep 0.2
	done
	echo "task $id: wanted $want, still $s after ${secs}s" >&2
	"$ROVER" inspect "$id" >&2 || true
	return 1
}

write_wf() {
	cat >"$P/$1"
}

# A workflow of command steps that append to runs.log, one of them waiting
# for the file GO in the workspace (so a test can pause it mid-step).
wf_waiting() {
	write_wf "${1:-wf.yml}" <<'YML'
version: '1.0'
name: waiting
steps:
  - id: first
    type: command
    command: echo first >> runs.log
  - id: wait
    type: command
    command: touch waiting; while [ ! -e GO ]; do sleep 0.1; done; echo wait >> runs.log
  - id: last
    type: command
    command: echo last >> runs.log
YML
}
