# The container cannot make host git run anything it wrote (issue: the
# container is a security boundary; docs/design/isolation.md).  A workflow
# command step plays the hostile agent inside a real container: it plants
# hooks, fsmonitor and hooksPath settings in the only .git it can reach, tries
# to write the project's object directory, and rewrites /workspace/.git into a
# `gitdir:` file naming a host directory.  Then every rover command and the
# user's own git run on the host: no marker file may appear, no host
# directory may be mounted.  The legitimate flow is checked too: a commit on
# the task branch and an uncommitted file both reach the host.
#
# Bodies shared by isolation_git_docker.bats and isolation_git_podman.bats.

load helpers
load rover_helpers

iso_setup() { # docker|podman
	rover_setup "$1"
	STORE=${STORE:-$P/.rover}
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 3000000)) >"$STORE/tasks/.last-id"
	MARK=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-mark.XXXXXX")
	HOSTDIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-hostdir.XXXXXX")
	echo original >"$HOSTDIR/keep.txt"
	git -C "$P" config user.email t@example.invalid
	git -C "$P" config user.name test
	echo hello >"$P/README"
	git -C "$P" add README
	git -C "$P" commit -q -m readme
}

iso_teardown() {
	rover_teardown
	rm -rf "$MARK" "$HOSTDIR"
}

iso_task() { # ARGS... -> TID, WS
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$(echo "$out" | jq -r .workspace)
	[[ $TID =~ ^[0-9]+$ ]]
}

# wait_running ID SECONDS: the task's "after" step is running (it touched
# "waiting" in the workspace).
wait_running() {
	local deadline=$((SECONDS + $2))
	until [ -e "$WS/waiting" ]; do
		[ $SECONDS -lt $deadline ] || { "$ROVER" inspect "$1" >&2; return 1; }
		sleep 0.2
	done
}

# No file appeared in $MARK (each planted command would create one there).
no_marker() {
	local found
	found=$(ls -A "$MARK")
	[ -z "$found" ] || { echo "host ran planted code: $found" >&2; return 1; }
}

# Every command a user runs, each bounded in time; none may run planted code.
run_every_command() {
	timeout 20 "$ROVER" list >/dev/null
	timeout 20 "$ROVER" inspect "$TID" >/dev/null
	timeout 20 "$ROVER" logs "$TID" >/dev/null || true
	(cd "$P" && timeout 20 git status >/dev/null && timeout 20 git log --all --oneline >/dev/null)
	no_marker
}

case_planted_git_config_never_runs_on_host() {
	write_wf wf.yml <<YML
version: '1.0'
name: hostile-git
steps:
  - id: plant
    type: command
    command: |
      git -c user.email=a@b.invalid -c user.name=agent commit -q --allow-empty -m "agent work"
      hooks=\$(git rev-parse --git-common-dir)/hooks; mkdir -p "\$hooks"
      for h in post-checkout pre-commit reference-transaction post-index-change pre-auto-gc; do
        printf '#!/bin/sh\ntouch $MARK/hook-\$(basename \$0)\n' > "\$hooks/\$h"; chmod +x "\$hooks/\$h"
      done
      mkdir -p /tmp/h; printf '#!/bin/sh\ntouch $MARK/hookspath\n' > /tmp/h/post-checkout
      git config core.fsmonitor "touch $MARK/fsmonitor"
      git config core.hooksPath "\$hooks"
      git config core.pager "touch $MARK/pager"
      git config uploadpack.packObjectsHook "touch $MARK/packobjects"
      objs=\$(cat .git/objects/info/alternates)
      if echo x > "\$objs/planted" 2>/dev/null; then echo WROTE-PROJECT-OBJECTS; fi
YML
	iso_task -w wf.yml "plant things"
	wait_status "$TID" COMPLETED 60
	run_every_command
	# The project's objects were read-only in the container.
	! ls "$P/.git/objects/planted" 2>/dev/null
	! grep -q WROTE-PROJECT-OBJECTS "$STORE/tasks/$TID/iterations/1/container.log" 2>/dev/null
	# The agent's commit was imported into the project's branch without
	# running anything it planted.
	git -C "$P" log --format=%s "rover/task-$TID" | grep -qx "agent work"
	no_marker
	timeout 30 "$ROVER" delete --force "$TID" >/dev/null
	no_marker
	[ -z "$(git -C "$P" branch --list "rover/task-$TID")" ]
}

# The workspace's repository names places outside it for upload-pack to
# read - an extra object directory in its alternates whose pack index is a
# FIFO, a config include of a FIFO: the import must refuse, not hang every
# command that observes the task.
case_redirected_git_dir_never_blocks_the_import() {
	# should the check regress, git's deadline turns a hang into a failure
	export ROVER_GIT_TIMEOUT_S=10
	write_wf wf.yml <<'YML'
version: '1.0'
name: redirect-git
steps:
  - id: plant
    type: command
    command: |
      git -c user.email=a@b.invalid -c user.name=agent commit -q --allow-empty -m "agent work"
      mkdir -p evil/objects/pack && mkfifo evil/objects/pack/pack-1.idx evil/cfg
      : > evil/objects/pack/pack-1.pack
      echo ../../evil/objects >> .git/objects/info/alternates
      printf '[include]\n\tpath = ../evil/cfg\n' >> .git/config
YML
	iso_task -w wf.yml "redirect git"
	wait_status "$TID" COMPLETED 60
	run_every_command
	# refused: nothing of the agent's reached the project's branch
	! git -C "$P" log --format=%s "rover/task-$TID" | grep -qx "agent work"
	# the import is refused with its reason, promptly, by the next command
	# that tries it (iterate imports before it starts the next round)
	run timeout 60 "$ROVER" iterate "$TID" "again"
	[ "$status" -ne 124 ]
	[[ "$output" == *"config includes other files"* || "$output" == *"alternates"* ]] || {
		echo "$output" >&2
		return 1
	}
}

case_rewritten_gitdir_is_never_mounted() {
	write_wf wf.yml <<YML
version: '1.0'
name: gitdir-swap
steps:
  - id: swap
    type: command
    command: |
      if [ -e /output/swapped ]; then echo second-run; exit 0; fi
      rm -rf .git; echo "gitdir: $HOSTDIR" > .git; touch /output/swapped
      exit 75
  - id: after
    type: command
    command: |
      ls $HOSTDIR > /output/seen.txt 2>&1 || true
      echo planted > $HOSTDIR/planted.txt 2>/dev/null || true
      git -c user.email=a@b.invalid -c user.name=agent commit -q --allow-empty -m "after resume"
YML
	iso_task -w wf.yml "swap gitdir"
	wait_status "$TID" PAUSED 60
	run_every_command
	timeout 60 "$ROVER" resume "$TID" >/dev/null
	wait_status "$TID" COMPLETED 60
	run_every_command
	# The host directory was never mounted into the container.
	[ ! -e "$HOSTDIR/planted.txt" ]
	[ "$(cat "$HOSTDIR/keep.txt")" = original ]
	[ "$(ls -A "$HOSTDIR")" = keep.txt ]
	# The workspace has a repository of its own again, on the task branch.
	[ -d "$WS/.git" ] && [ ! -L "$WS/.git" ]
	git -C "$P" log --format=%s "rover/task-$TID" | grep -qx "after resume"
}

case_agent_work_reaches_the_host() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: work
steps:
  - id: work
    type: command
    command: |
      echo feature > feature.txt
      git add feature.txt
      git -c user.email=a@b.invalid -c user.name=agent commit -q -m "add feature"
      echo draft > notes.txt
YML
	iso_task -w wf.yml "do work"
	wait_status "$TID" COMPLETED 60
	# Committed: on the project's branch; uncommitted: in the workspace.
	[ "$(git -C "$P" show "rover/task-$TID:feature.txt")" = feature ]
	[ "$(cat "$WS/notes.txt")" = draft ]
	# The user's checkout is untouched.
	[ ! -e "$P/feature.txt" ]
	[ -z "$(git -C "$P" status --porcelain --untracked-files=no)" ]
}

case_non_git_project_planted_git_is_moved_aside() {
	# Outside git the project directory is the workspace: the container may
	# make it a repository.  It is moved aside once the task stops.
	local Q
	Q=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-nogit.XXXXXX")
	chown 1000:1000 "$Q"
	cd "$Q"
	cat >wf.yml <<YML
version: '1.0'
name: make-repo
steps:
  - id: plant
    type: command
    command: |
      mkdir -p .git/hooks .git/objects .git/refs
      echo 'ref: refs/heads/main' > .git/HEAD
      printf '[core]\n\trepositoryformatversion = 0\n\tfsmonitor = touch $MARK/fsmonitor\n' > .git/config
      printf '#!/bin/sh\ntouch $MARK/hook\n' > .git/hooks/post-checkout
YML
	local out tid
	out=$("$ROVER" task --json -w wf.yml "plant a repository") || { echo "$out" >&2; return 1; }
	tid=$(echo "$out" | jq -r .taskId)
	wait_status "$tid" COMPLETED 60
	timeout 20 "$ROVER" list >/dev/null 2>&1
	[ ! -e "$Q/.git" ]
	ls -d "$Q"/.git.rover-quarantine-"$tid"-* >/dev/null
	(cd "$Q" && ! git status >/dev/null 2>&1)
	no_marker
	cleanup_label "$ENGINE" "rover.task=$tid"
	cd /
	rm -rf "$Q"
}

case_supervise_retry_never_mounts_a_rewritten_gitdir() {
	# The same attack, resumed by `rover supervise`'s auto-retry with no
	# user action, then a stop and a restart of the task.
	write_wf wf.yml <<YML
version: '1.0'
name: gitdir-swap-auto
steps:
  - id: swap
    type: command
    command: |
      if [ -e /output/swapped ]; then exit 0; fi
      rm -rf .git; echo "gitdir: $HOSTDIR" > .git; touch /output/swapped
      exit 75
  - id: after
    type: command
    command: |
      echo planted > $HOSTDIR/planted.txt 2>/dev/null || true
      touch waiting; while [ ! -e GO ]; do sleep 0.1; done
YML
	iso_task -w wf.yml "swap gitdir, auto"
	wait_status "$TID" PAUSED 60
	ROVER_RETRY_BASE_SECONDS=1 ROVER_RETRY_CAP_SECONDS=2 timeout 60 "$ROVER" supervise >"$BATS_TEST_TMPDIR/sv.log" 2>&1 &
	local sv=$!
	wait_running "$TID" 45
	kill -TERM "$sv"
	wait "$sv" || true
	run_every_command
	timeout 30 "$ROVER" stop "$TID" >/dev/null
	wait_status "$TID" FAILED 30
	rm -f "$WS/waiting"
	timeout 60 "$ROVER" restart "$TID" >/dev/null
	wait_running "$TID" 30
	touch "$WS/GO"
	wait_status "$TID" COMPLETED 60
	run_every_command
	[ ! -e "$HOSTDIR/planted.txt" ]
	[ "$(ls -A "$HOSTDIR")" = keep.txt ]
	[ -d "$WS/.git" ] && [ ! -L "$WS/.git" ]
}
