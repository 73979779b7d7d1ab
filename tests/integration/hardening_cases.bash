# The task's container is confined by default (docs/design/hardening.md):
# every capability dropped, no-new-privileges, pids/memory/CPU limits, and an
# agent that is not root when rover is.  A workflow command step plays the
# agent and reports what it sees from inside (/proc/self/status, its ids);
# the engine's own view comes from GET /containers/{id}/json.  A repository's
# rover.json may only tighten: a loosening one is refused before any task
# exists.
#
# Bodies shared by hardening_docker.bats and hardening_podman.bats.

load helpers
load rover_helpers

hard_setup() { # docker|podman
	rover_setup "$1"
	# A store of our own, outside the project: the workspace lies beneath it.
	HSTORE=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-hstore.XXXXXX")/store
	export ROVER_STORE=$HSTORE
	mkdir -p "$HSTORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 4000000)) >"$HSTORE/tasks/.last-id"
	unset ROVER_CONTAINER_PIDS_LIMIT ROVER_CONTAINER_MEMORY ROVER_CONTAINER_CPUS \
		ROVER_CONTAINER_CAP_ADD ROVER_CONTAINER_USER ROVER_CONTAINER_NO_NEW_PRIVILEGES \
		ROVER_CONTAINER_READ_ONLY_ROOTFS
	# The user's own configuration is not this test's.
	export XDG_CONFIG_HOME=$P/.xdg-config
	git -C "$P" config user.email t@example.invalid
	git -C "$P" config user.name test
}

hard_teardown() {
	[ -n "${NP:-}" ] && rm -rf "$NP"
	if [ -n "${HSTORE:-}" ] && [ -n "${ENGINE:-}" ]; then
		cleanup_label "$ENGINE" "rover.store=$HSTORE"
		rm -rf "$(dirname "$HSTORE")"
	fi
	rover_teardown
}

hard_task() { # ARGS... -> TID, WS, ITER
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$(echo "$out" | jq -r .workspace)
	ITER=$("$ROVER" inspect --json "$TID" | jq -r .iterationPath)
	[[ $TID =~ ^[0-9]+$ ]]
}

# The engine's inspection of the task's container: HostConfig and Config.
host_config() { # task id -> HostConfig JSON
	local cid
	cid=$("$ROVER" inspect --json "$1" | jq -r .containerId)
	curl -sf --unix-socket "$(engine_sock "$ENGINE")" "http://engine/v1.41/containers/$cid/json" |
		jq -c .HostConfig
}

# A step that writes what the agent sees into /output/probe.txt.
wf_probe() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: probe
steps:
  - id: probe
    type: command
    command: |
      grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr -d '\t' > /output/probe.txt
      echo "uid:$(id -u)" >> /output/probe.txt
      echo "gid:$(id -g)" >> /output/probe.txt
      echo "home:$HOME" >> /output/probe.txt
      touch "$HOME/.rover-home-test" && echo "homewritable:yes" >> /output/probe.txt
      echo agent-wrote > agent-file.txt && echo "wswritable:yes" >> /output/probe.txt
YML
}

probe_value() { # key -> value from probe.txt
	sed -n "s/^$1://p" "$ITER/probe.txt"
}

# ---- cases ------------------------------------------------------------------

case_confined_by_default() {
	wf_probe
	hard_task -w wf.yml "probe the container"
	wait_status "$TID" COMPLETED 60
	cat "$ITER/probe.txt"
	# no capability at all, effective or in the bounding set
	[ "$(probe_value CapEff)" = 0000000000000000 ]
	[ "$(probe_value CapBnd)" = 0000000000000000 ]
	[ "$(probe_value NoNewPrivs)" = 1 ]
	# not root when rover is root; a writable HOME and workspace
	if [ "$(id -u)" -eq 0 ]; then
		[ "$(probe_value uid)" = 1000 ]
		[ "$(probe_value gid)" = 1000 ]
		[ "$(stat -c %u:%g "$WS/agent-file.txt")" = 1000:1000 ]
	else
		[ "$(probe_value uid)" = "$(id -u)" ]
	fi
	[ "$(probe_value home)" = /tmp ]
	[ "$(probe_value homewritable)" = yes ]
	[ "$(probe_value wswritable)" = yes ]
	# the engine applied every limit
	hc=$(host_config "$TID")
	echo "$hc"
	[ "$(echo "$hc" | jq -r '.SecurityOpt | join(",")')" = no-new-privileges ]
	[ "$(echo "$hc" | jq -r .PidsLimit)" = 1024 ]
	[ "$(echo "$hc" | jq -r .Memory)" = $((4 << 30)) ]
	[ "$(echo "$hc" | jq -r .MemorySwap)" = $((4 << 30)) ]
	[ "$(echo "$hc" | jq -r .NanoCpus)" = "$(($(nproc) * 1000000000))" ]
	[ "$(echo "$hc" | jq -r .CapAdd)" = null ] || [ "$(echo "$hc" | jq -r '.CapAdd | length')" = 0 ]
	if [ "$ENGINE" = docker ]; then
		[ "$(echo "$hc" | jq -r '.CapDrop | join(",")')" = ALL ]
	else
		# Podman reports the drop list of its default set: all of it.
		echo "$hc" | jq -e '.CapDrop | index("CHOWN") and index("SETUID") and index("NET_RAW")'
	fi
}

case_pids_limit_stops_a_fork_storm() {
	export ROVER_CONTAINER_PIDS_LIMIT=40
	write_wf wf.yml <<'YML'
version: '1.0'
name: forks
steps:
  - id: storm
    type: command
    command: |
      i=0
      while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done
      echo all-200-forked > /output/forked
YML
	hard_task -w wf.yml "fork more than the limit"
	# The step fails (fork refused), the task ends in a clear state, soon.
	wait_status "$TID" FAILED 60
	[ ! -e "$ITER/forked" ]
	[ "$(host_config "$TID" | jq -r .PidsLimit)" = 40 ]
	run timeout 10 "$ROVER" inspect "$TID"
	[ "$status" -eq 0 ]
	# the container is gone or exited: nothing left running
	run timeout 10 "$ROVER" inspect --json "$TID"
	[ "$(echo "$output" | jq -r .container.running)" != true ]
}

case_memory_limit_stops_a_hog() {
	export ROVER_CONTAINER_MEMORY=32m
	write_wf wf.yml <<'YML'
version: '1.0'
name: hog
steps:
  - id: hog
    type: command
    command: |
      # dd fills a buffer of bs bytes: 128 MiB, four times the limit
      dd if=/dev/zero of=/dev/null bs=128M count=2
      echo "dd:$?" > /output/hog.txt
YML
	hard_task -w wf.yml "allocate past the limit"
	# The hog is killed (SIGKILL: 137), the runner and the task carry on.
	wait_status "$TID" COMPLETED 60
	cat "$ITER/hog.txt"
	[ "$(cat "$ITER/hog.txt")" = dd:137 ]
	hc=$(host_config "$TID")
	[ "$(echo "$hc" | jq -r .Memory)" = $((32 << 20)) ]
	[ "$(echo "$hc" | jq -r .MemorySwap)" = $((32 << 20)) ]
}

case_env_overrides_reach_the_engine() {
	export ROVER_CONTAINER_CAP_ADD=CHOWN ROVER_CONTAINER_MEMORY=512m ROVER_CONTAINER_CPUS=0.5
	export ROVER_CONTAINER_PIDS_LIMIT=300
	wf_probe
	hard_task -w wf.yml "probe with overrides"
	wait_status "$TID" COMPLETED 60
	hc=$(host_config "$TID")
	echo "$hc"
	[ "$(echo "$hc" | jq -r .Memory)" = $((512 << 20)) ]
	[ "$(echo "$hc" | jq -r .MemorySwap)" = $((512 << 20)) ]
	[ "$(echo "$hc" | jq -r .NanoCpus)" = 500000000 ]
	[ "$(echo "$hc" | jq -r .PidsLimit)" = 300 ]
	if [ "$ENGINE" = docker ]; then
		[ "$(echo "$hc" | jq -r '.CapAdd | join(",")')" = CHOWN ]
	else
		echo "$hc" | jq -e '(.CapDrop | index("CHOWN") | not) and (.CapDrop | index("SETUID"))'
	fi
	# CHOWN (bit 0) is the one capability left in the bounding set
	[ "$(probe_value CapBnd)" = 0000000000000001 ]
}

case_root_agent_only_when_asked() {
	[ "$(id -u)" -eq 0 ] || skip "rover runs as root only in this case"
	export ROVER_CONTAINER_USER=0:0
	wf_probe
	hard_task -w wf.yml "root by choice"
	wait_status "$TID" COMPLETED 60
	[ "$(probe_value uid)" = 0 ]
	# still without capabilities
	[ "$(probe_value CapEff)" = 0000000000000000 ]
}

case_repository_may_tighten() {
	cat >"$P/rover.json" <<'JSON'
{"container": {"pidsLimit": 100, "memory": "256m", "readOnlyRootfs": true}}
JSON
	wf_probe
	hard_task -w wf.yml "tightened"
	wait_status "$TID" COMPLETED 60
	hc=$(host_config "$TID")
	[ "$(echo "$hc" | jq -r .PidsLimit)" = 100 ]
	[ "$(echo "$hc" | jq -r .Memory)" = $((256 << 20)) ]
	[ "$(echo "$hc" | jq -r .ReadonlyRootfs)" = true ]
	# HOME on the /tmp tmpfs stays writable
	[ "$(probe_value homewritable)" = yes ]
}

case_repository_cannot_loosen() {
	wf_probe
	local hostile key
	for hostile in '{"capAdd": ["SYS_ADMIN"]}' '{"noNewPrivileges": false}' \
		'{"pidsLimit": 100000}' '{"memory": "64g"}' '{"user": "0:0"}'; do
		key=$(echo "$hostile" | jq -r 'keys[0]')
		echo "{\"container\": $hostile}" >"$P/rover.json"
		git -C "$P" add rover.json
		git -C "$P" commit -q -m "hostile $key"
		run "$ROVER" task -w wf.yml "loosen $key"
		echo "$output"
		[ "$status" -ne 0 ]
		# one clear line: the file, the key, and where to put it instead
		[ "$(echo "$output" | grep -c .)" -eq 1 ]
		[[ "$output" == *"rover.json"* ]]
		[[ "$output" == *"container.$key"* ]]
		[[ "$output" == *"may only tighten"* ]]
		[[ "$output" == *ROVER_CONTAINER_* ]]
	done
	# no task was created, no container started
	run "$ROVER" list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq 'length')" = 0 ]
	[ -z "$(probe "$ENGINE" list "rover.store=$HSTORE")" ]
}

case_plain_directory_is_never_re_owned() {
	[ "$(id -u)" -eq 0 ] || skip "rover runs as root only in this case"
	# A project that is not a git repository: the agent works in the
	# directory itself, which belongs to the user and is never re-owned.
	wf_probe
	NP=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-plain.XXXXXX")
	cp "$P/wf.yml" "$NP/wf.yml"
	echo mine >"$NP/users-file"
	cd "$NP"
	# root's own directory: the agent will not run as root unasked
	run "$ROVER" task -w wf.yml "plain, root-owned"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"belongs to root"* ]]
	[[ "$output" == *ROVER_CONTAINER_USER* ]]
	# a user's directory: the agent runs as that user
	chown 4242:4343 "$NP"
	hard_task -w wf.yml "plain, user-owned"
	wait_status "$TID" COMPLETED 60
	[ "$(probe_value uid)" = 4242 ]
	[ "$(probe_value gid)" = 4343 ]
	[ "$(probe_value wswritable)" = yes ]
	[ "$(stat -c %u:%g "$NP/users-file")" = 0:0 ]
	[ "$(stat -c %u:%g "$NP/wf.yml")" = 0:0 ]
}
