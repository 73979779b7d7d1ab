# Getting the agent's work out of a task, and never losing it by accident
# (issue 10: the whole user loop; docs/design/user-loop.md).  A workflow
# command step plays the agent in a real container: it commits a file,
# leaves a tracked file modified and an untracked file.  Then rover diff,
# merge, push and delete run on the host.  The refusals (a dirty tree, a
# conflict, unmerged or uncommitted work) must change nothing, and a hostile
# workspace must neither block them nor make them run anything.
#
# Bodies shared by user_loop_docker.bats and user_loop_podman.bats.

load helpers
load rover_helpers

loop_setup() { # docker|podman
	rover_setup "$1"
	mkdir -p "$STORE/tasks"
	echo $(((RANDOM << 15 | RANDOM) * 100 + 7000000)) >"$STORE/tasks/.last-id"
	MARK=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-mark.XXXXXX")
	HOSTFILE=$(mktemp "${BATS_TMPDIR:-/tmp}/rover-hostfile.XXXXXX")
	echo "host secret" >"$HOSTFILE"
	git -C "$P" config user.email t@example.invalid
	git -C "$P" config user.name test
	printf 'hello\n' >"$P/README"
	printf 'one\ntwo\nthree\n' >"$P/lines.txt"
	git -C "$P" add README lines.txt
	git -C "$P" commit -q -m readme
}

loop_teardown() {
	rover_teardown
	rm -rf "$MARK" "$HOSTFILE" "${REMOTE:-/nonexistent}"
}

loop_task() { # ARGS... -> TID, WS
	local out
	out=$("$ROVER" task --json "$@") || { echo "rover task failed: $out" >&2; return 1; }
	TID=$(echo "$out" | jq -r .taskId)
	WS=$(echo "$out" | jq -r .workspace)
	[[ $TID =~ ^[0-9]+$ ]]
}

# The agent: one commit, one modified tracked file, one untracked file.
wf_agent_work() {
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
      echo "agent line" >> README
      echo draft > notes.txt
YML
	git -C "$P" add wf.yml
	git -C "$P" commit -q -m workflow
}

# Everything a refused merge must leave as it was.
project_state() {
	git -C "$P" rev-parse HEAD
	git -C "$P" status --porcelain
	git -C "$P" diff | sha256sum
	git -C "$P" diff --cached | sha256sum
	git -C "$P" for-each-ref
	git -C "$P" stash list
}

no_marker() {
	local found
	found=$(ls -A "$MARK")
	[ -z "$found" ] || { echo "host ran planted code: $found" >&2; return 1; }
}

case_diff_merge_push_delete() {
	wf_agent_work
	loop_task -w wf.yml "do work"
	wait_status "$TID" COMPLETED 60

	# diff: the commit, the modified file and the untracked one
	run --separate-stderr rover diff "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"+++ b/feature.txt"* ]]
	[[ "$output" == *"+agent line"* ]]
	[[ "$output" == *"+++ b/notes.txt"* ]]
	[[ "$output" == *"+draft"* ]]
	run rover diff "$TID" --stat
	[ "$status" -eq 0 ]
	[[ "$output" == *" A feature.txt | +1 -0"* ]]
	[[ "$output" == *" M README | +1 -0"* ]]
	[[ "$output" == *" A notes.txt | +1 -0"* ]]
	[[ "$output" == *"3 file(s) changed, 3 insertion(s)(+), 0 deletion(s)(-)"* ]]
	run --separate-stderr rover diff "$TID" notes.txt
	[ "$status" -eq 0 ]
	[[ "$output" == *"+draft"* ]]
	[[ "$output" != *"feature"* ]] && [[ "$output" != *"README"* ]]
	run --separate-stderr rover diff --json "$TID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.files | length')" = 3 ]
	[ "$(echo "$output" | jq -r '.files[] | select(.path=="README") | .status')" = M ]
	[ "$(echo "$output" | jq -r '.files[] | select(.path=="notes.txt") | "\(.status) \(.added) \(.deleted)"')" = "A 1 0" ]
	echo "$output" | jq -r .patch | grep -qx "+draft"
	[ "$(echo "$output" | jq -r .base)" = "$(task_json "$TID" | jq -r .baseCommit)" ]
	# nothing of it is in the user's checkout yet
	[ ! -e "$P/feature.txt" ] && [ ! -e "$P/notes.txt" ]

	# merge: all three in the user's branch, the tree clean, a merge commit
	local branch
	branch=$(git -C "$P" symbolic-ref --short HEAD)
	run --separate-stderr rover merge --json "$TID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .merged)" = true ]
	[ "$(echo "$output" | jq -r .into)" = "$branch" ]
	[ "$(echo "$output" | jq -r .commit)" = "$(git -C "$P" rev-parse HEAD)" ]
	local snap
	snap=$(echo "$output" | jq -r .snapshotCommit)
	[ "$(cat "$P/feature.txt")" = feature ]
	[ "$(cat "$P/notes.txt")" = draft ]
	grep -qx "agent line" "$P/README"
	[ -z "$(git -C "$P" status --porcelain --untracked-files=no)" ]
	[ "$(git -C "$P" rev-parse HEAD^2)" = "$snap" ]
	# the uncommitted work became a commit on the task's branch
	[ "$(git -C "$P" rev-parse "rover/task-$TID")" = "$snap" ]
	git -C "$P" log -1 --format=%s "$snap" | grep -qx "rover: uncommitted work of task $TID"
	[ "$(task_json "$TID" | jq -r .status)" = MERGED ]
	# a second merge has nothing to do; a later list (an import) keeps it
	rover list >/dev/null 2>&1
	[ "$(git -C "$P" rev-parse "rover/task-$TID")" = "$snap" ]
	run --separate-stderr rover merge --json "$TID"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .alreadyMerged)" = true ]

	# push to a bare remote: the branch appears there
	REMOTE=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-remote.XXXXXX")
	git init -q --bare "$REMOTE"
	git -C "$P" remote add origin "$REMOTE"
	run --separate-stderr rover push "$TID"
	[ "$status" -eq 0 ]
	[ "$(git -C "$REMOTE" rev-parse "rover/task-$TID")" = "$snap" ]
	[ "$(task_json "$TID" | jq -r .status)" = PUSHED ]
	run rover push "$TID" --remote nowhere
	[ "$status" -eq 1 ]
	[[ "$output" == *"no remote 'nowhere'"* ]]

	# everything is merged: delete needs no --force
	run rover delete "$TID"
	[ "$status" -eq 0 ]
	[ ! -e "$STORE/tasks/$TID" ] && [ ! -e "$WS" ]
	[ -z "$(git -C "$P" branch --list "rover/task-$TID")" ]
	[ -z "$(git -C "$P" for-each-ref "refs/rover/imported/rover/task-$TID")" ]
}

case_delete_refuses_to_lose_work() {
	wf_agent_work
	loop_task -w wf.yml "unmerged"
	wait_status "$TID" COMPLETED 60
	# not on a terminal, without --force: refused, naming what would go
	run rover delete "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"1 commit(s) on rover/task-$TID and no other branch"*"add feature"* ]]
	[[ "$output" == *"2 uncommitted change(s)"*"M README"*"A notes.txt"* ]]
	[[ "$output" == *"--force"* ]]
	[ -d "$STORE/tasks/$TID" ] && [ -d "$WS" ]
	[ -n "$(git -C "$P" branch --list "rover/task-$TID")" ]
	# -y skips the question, not the check
	run rover delete -y "$TID"
	[ "$status" -eq 1 ]
	[ -d "$STORE/tasks/$TID" ]
	# on a terminal it asks; "n" keeps everything
	run script -qec "$ROVER delete --force $TID" /dev/null <<<"n"
	[[ "$output" == *"Delete task $TID (unmerged) and lose 1 commit(s)"*"[y/N]"* ]]
	[[ "$output" == *"not deleted"* ]]
	[ -d "$STORE/tasks/$TID" ] && [ -d "$WS" ]
	# --force deletes
	run rover delete --force "$TID"
	[ "$status" -eq 0 ]
	[ ! -e "$STORE/tasks/$TID" ]
	[ -z "$(git -C "$P" branch --list "rover/task-$TID")" ]

	# uncommitted work only
	write_wf wf2.yml <<'YML'
version: '1.0'
name: draft
steps:
  - id: draft
    type: command
    command: echo draft > only-here.txt
YML
	loop_task -w wf2.yml "draft only"
	wait_status "$TID" COMPLETED 60
	run rover delete "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"1 uncommitted change(s) in its workspace (A only-here.txt)"* ]]
	[[ "$output" != *"commit(s) on"* ]]
	[ -f "$WS/only-here.txt" ]
	# on a terminal, "y" to a task with nothing to lose deletes it
	rm "$WS/only-here.txt"
	run script -qec "$ROVER delete $TID" /dev/null <<<"y"
	[[ "$output" == *"Delete task $TID (draft only)? [y/N]"* ]]
	[ ! -e "$STORE/tasks/$TID" ]
}

case_merge_refusals_change_nothing() {
	wf_agent_work
	loop_task -w wf.yml "conflicting"
	wait_status "$TID" COMPLETED 60
	# a dirty tree: refused before anything is read
	echo "mine" >>"$P/lines.txt"
	local before after
	before=$(project_state)
	run rover merge "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"uncommitted change(s) ( M lines.txt)"*"commit or stash"* ]]
	[ "${#lines[@]}" -eq 1 ]
	after=$(project_state)
	[ "$before" = "$after" ]
	git -C "$P" checkout -q lines.txt

	# a conflict: the user changed README's line since the task started
	printf 'hello from the user\n' >"$P/README"
	git -C "$P" commit -q -am "user edit"
	before=$(project_state)
	run rover merge "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"conflicts with your branch in 1 file(s) (README); nothing was changed"* ]]
	[ "${#lines[@]}" -eq 1 ]
	after=$(project_state)
	[ "$before" = "$after" ]
	[ ! -e "$P/feature.txt" ] && [ ! -e "$P/.git/MERGE_HEAD" ]
	[ "$(task_json "$TID" | jq -r .status)" = COMPLETED ]
	# the work is all still there
	run --separate-stderr rover diff --stat "$TID"
	[[ "$output" == *"3 file(s) changed"* ]]
}

case_hostile_workspace_never_blocks_or_runs() {
	write_wf wf.yml <<YML
version: '1.0'
name: hostile
steps:
  - id: plant
    type: command
    command: |
      echo feature > feature.txt
      git add feature.txt
      git -c user.email=a@b.invalid -c user.name=agent commit -q -m "add feature"
      mkfifo fifo
      ln -s $HOSTFILE link
      mkdir -p nested/.git/objects nested/.git/refs
      mkfifo nested/.git/HEAD
      echo inside > nested/file.txt
      printf '* filter=evil diff=evil\n' > .gitattributes
      git config core.pager "touch $MARK/pager"
      git config diff.external "touch $MARK/external"
      git config filter.evil.clean "touch $MARK/filter"
      git config filter.evil.smudge "touch $MARK/smudge"
      git config diff.evil.command "touch $MARK/diffdriver"
      git config diff.evil.textconv "touch $MARK/textconv"
      git config core.fsmonitor "touch $MARK/fsmonitor"
      hooks=\$(git rev-parse --git-dir)/hooks; mkdir -p "\$hooks"
      for h in pre-commit post-commit post-merge pre-push post-checkout reference-transaction; do
        printf '#!/bin/sh\ntouch $MARK/hook-\$(basename \$0)\n' > "\$hooks/\$h"; chmod +x "\$hooks/\$h"
      done
      printf 'evil \033]0;title\007 \033[2J\n' > evil.txt
      head -c 3000 /dev/zero | tr '\0' x > big.txt
YML
	git -C "$P" add wf.yml
	git -C "$P" commit -q -m workflow
	loop_task -w wf.yml "hostile"
	wait_status "$TID" COMPLETED 60
	export ROVER_SNAPSHOT_MAX_FILE_BYTES=2000
	run --separate-stderr timeout 30 "$ROVER" diff --stat "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *" A link | +1 -0"* ]]
	[[ "$output" == *" A .gitattributes"* ]] && [[ "$output" == *" A evil.txt"* ]]
	[[ "$output" != *fifo* ]] && [[ "$output" != *nested* ]] && [[ "$output" != *big.txt* ]]
	[[ "$stderr" == *"fifo (a FIFO)"* ]]
	[[ "$stderr" == *"nested (a repository of its own)"* ]]
	[[ "$stderr" == *"big.txt (larger than 2000 bytes)"* ]]
	# the link is recorded as a link: its target's name, never the host file
	run --separate-stderr timeout 30 "$ROVER" diff "$TID" link
	[[ "$output" == *"new file mode 120000"* ]]
	[[ "$output" == *"+$HOSTFILE"* ]] && [[ "$output" != *"host secret"* ]]
	# escape sequences of the content reach no terminal; a pipe gets them raw
	run script -qec "$ROVER diff $TID evil.txt" /dev/null
	[[ "$output" == *'\x1b]0;title\x07 \x1b[2J'* ]]
	run --separate-stderr timeout 30 "$ROVER" diff "$TID" evil.txt
	[[ "$output" == *$'\e[2J'* ]]
	no_marker
	run --separate-stderr timeout 60 "$ROVER" merge "$TID"
	[ "$status" -eq 0 ]
	[ -L "$P/link" ] && [ "$(readlink "$P/link")" = "$HOSTFILE" ]
	[ "$(cat "$P/feature.txt")" = feature ]
	[ ! -e "$P/fifo" ] && [ ! -e "$P/nested" ] && [ ! -e "$P/big.txt" ]
	[[ "$stderr" == *"Not merged (left in the workspace): big.txt"* ]]
	no_marker
	[ "$(cat "$HOSTFILE")" = "host secret" ]

	# a .gitignore git would block on: a clear refusal, at once
	mkdir -p "$WS/sub"
	mkfifo "$WS/sub/.gitignore"
	run timeout 30 "$ROVER" diff "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"'sub/.gitignore' is a FIFO, which git would block on; remove it"* ]]
	run timeout 30 "$ROVER" delete "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"sub/.gitignore"*"--force"* ]]
	no_marker
	unset ROVER_SNAPSHOT_MAX_FILE_BYTES
}

case_merge_refused_while_running() {
	wf_waiting
	loop_task -w wf.yml "still running"
	wait_file_ws() { local d=$((SECONDS + 60)); until [ -e "$WS/waiting" ]; do [ $SECONDS -lt $d ] || return 1; sleep 0.2; done; }
	wait_file_ws
	run rover merge "$TID"
	[ "$status" -eq 1 ]
	[[ "$output" == *"its container is running"*"rover stop $TID"* ]]
	run rover push "$TID"
	[ "$status" -eq 1 ]
	# diff works on a running task (it reads files, starts nothing)
	run --separate-stderr timeout 30 "$ROVER" diff --stat "$TID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"runs.log"* ]]
	touch "$WS/GO"
	wait_status "$TID" COMPLETED 60
}

# The loop as a user runs it (issue 10): a task whose agent commits and
# leaves files -> diff shows both -> merge brings both -> iterate runs a
# second iteration that pauses on a rate limit and is resumed -> its work is
# merged too -> push to a bare remote -> delete, with nothing to force.
case_whole_loop_with_iterate() {
	write_wf wf.yml <<'YML'
version: '1.0'
name: loop
steps:
  - id: work
    type: command
    command: |
      echo feature >> feature.txt
      git add feature.txt
      git -c user.email=a@b.invalid -c user.name=agent commit -q -m "add feature" || true
      echo "agent line" >> README
      echo draft >> notes.txt
  - id: plan
    type: agent
    prompt: "{{inputs.description}}"
YML
	git -C "$P" add wf.yml
	git -C "$P" commit -q -m workflow
	loop_task -w wf.yml "first pass"
	wait_status "$TID" COMPLETED 60
	run --separate-stderr rover diff --stat "$TID"
	[[ "$output" == *" A feature.txt "* ]] && [[ "$output" == *" M README "* ]] &&
		[[ "$output" == *" A notes.txt "* ]]
	run --separate-stderr rover merge "$TID"
	[ "$status" -eq 0 ]
	[ "$(cat "$P/notes.txt")" = draft ]

	# iteration 2: the instructions reach the agent step; it hits a limit
	run --separate-stderr rover iterate "$TID" "second pass [[limit-reset-in:1]] [[rate-limit-once:plan]]"
	[ "$status" -eq 0 ]
	wait_status "$TID" PAUSED 60
	[ "$(task_json "$TID" | jq -r .iterations)" = 2 ]
	run rover iterate "$TID" "not while paused"
	[ "$status" -eq 1 ]
	[[ "$output" == *"resume"* ]]
	run --separate-stderr rover resume "$TID"
	[ "$status" -eq 0 ]
	run rover wait "$TID" --timeout 60
	[ "$status" -eq 0 ]
	# the second iteration's logs are its own; the first's are kept
	run rover logs --iteration 1 "$TID"
	[[ "$output" != *"second pass"* ]]
	# its work is diffed and merged like the first's
	run --separate-stderr rover diff "$TID" notes.txt
	[[ "$output" == *"+draft"* ]]
	run --separate-stderr rover merge "$TID"
	[ "$status" -eq 0 ]
	[ "$(grep -c draft "$P/notes.txt")" = 2 ]
	[ "$(grep -c "agent line" "$P/README")" = 2 ]

	REMOTE=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-remote.XXXXXX")
	git init -q --bare "$REMOTE"
	git -C "$P" remote add origin "$REMOTE"
	run --separate-stderr rover push "$TID"
	[ "$status" -eq 0 ]
	[ "$(git -C "$REMOTE" rev-parse "rover/task-$TID")" = "$(git -C "$P" rev-parse "rover/task-$TID")" ]
	run rover delete "$TID"
	[ "$status" -eq 0 ]
	[ ! -e "$STORE/tasks/$TID" ]
	# the journal of that life, before the delete removed it, is covered by
	# events_cases.bash; here: the user's branch has both iterations' work
	git -C "$P" log --format=%s | grep -q "rover: uncommitted work of task $TID"
}
