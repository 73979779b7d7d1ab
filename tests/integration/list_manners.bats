#!/usr/bin/env bats
# rover list (and inspect) on a terminal and into a pipe: the table fits the
# terminal's width and never wraps, statuses are coloured only on a terminal
# and never with NO_COLOR, output is plain ASCII outside a UTF-8 locale,
# --watch into a pipe prints no screen codes, and a task the user paused is
# not shown as an error.  No engine: a store of hand-made records.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ROVER=${ROVER_BIN_DIR:-$ROOT/bin}/rover
PTY="python3 $ROOT/tests/tools/pty_drive.py"

LONG_TITLE="A long title about refactoring the parser module and adding its tests"

setup() {
	S=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-lm.XXXXXX")
	python3 "$ROOT/bench/gen_store.py" "$S/store" 3 >/dev/null
	python3 - "$S/store/tasks" "$LONG_TITLE" <<'PY'
import json, sys
tasks, long_title = sys.argv[1], sys.argv[2]
def edit(i, **kw):
    p = "%s/%d/description.json" % (tasks, i)
    d = json.load(open(p))
    d.update(kw)
    json.dump(d, open(p, "w"), indent=2)
edit(1, title=long_title)
edit(2, status="PAUSED", pauseReason="user", error="Paused by user: lunch break",
     pausedAt="2025-10-09T08:50:00.000Z", executionStatus="paused", exitCode=2,
     title="Paused on purpose")
edit(3, status="FAILED", title="Caf\u00e9 cr\u00e8me na\u00efve",
     error="Workflow stopped due to step failure: Command exited with code 3 " + "x" * 80,
     failedAt="2025-10-09T08:50:00.000Z")
PY
	export ROVER_STORE=$S/store ROVER_ENGINE=unix://$S/no-engine.sock
	unset NO_COLOR COLUMNS
	export LC_ALL=C.UTF-8 TERM=xterm
	cd "$S"
}
teardown() { rm -rf "$S"; }

# The widest line of a file in display columns, colour codes left out.
widest() {
	python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).replace("\r", "")
print(max(len(l) for l in text.split("\n")))
PY
}

# rover list on a pseudo-terminal (COLUMNS and the rest from the arguments).
list_on_tty() { # env assignments...
	$PTY -- env "$@" "$ROVER" list --no-engine >"$S/out" 2>"$S/pty.err"
}

@test "on a terminal the table fits COLUMNS: 60 cuts with an ellipsis, 200 shows all" {
	list_on_tty COLUMNS=60
	cat "$S/out" >&2
	[ "$(widest "$S/out")" -le 60 ]
	grep -q "…" "$S/out"
	! grep -q "$LONG_TITLE" "$S/out"
	grep -q "Paused (user)" "$S/out"
	list_on_tty COLUMNS=200
	cat "$S/out" >&2
	[ "$(widest "$S/out")" -le 200 ]
	grep -q "$LONG_TITLE" "$S/out"
	grep -q "Workflow" "$S/out"
	# every width from very narrow up: no line is ever wider
	for w in 30 45 80 120; do
		list_on_tty COLUMNS=$w
		[ "$(widest "$S/out")" -le "$w" ] || { cat "$S/out" >&2; return 1; }
	done
}

@test "into a pipe: whole lines, no colour, COLUMNS ignored" {
	run env COLUMNS=40 "$ROVER" list --no-engine
	[ "$status" -eq 0 ]
	[[ "$output" != *$'\033'* ]]
	echo "$output" >"$S/out"
	[ "$(widest "$S/out")" -gt 40 ]
	# the natural layout: the title column is 30 wide, as it always was
	[[ "$output" == *"A long title about refactorin… "* ]]
}

@test "statuses are coloured on a terminal, never with NO_COLOR or TERM=dumb" {
	list_on_tty COLUMNS=150
	grep -q $'\033\\[32mCompleted' "$S/out"
	grep -q $'\033\\[33mPaused (user)' "$S/out"
	grep -q $'\033\\[31mFailed' "$S/out"
	list_on_tty COLUMNS=150 NO_COLOR=1
	! grep -q $'\033' "$S/out"
	grep -q "Completed" "$S/out"
	list_on_tty COLUMNS=150 TERM=dumb
	! grep -q $'\033' "$S/out"
	# inspect too
	$PTY -- "$ROVER" inspect 3 >"$S/out" 2>/dev/null
	grep -q $'\033\\[31mFailed' "$S/out"
	NO_COLOR=1 $PTY -- env NO_COLOR=1 "$ROVER" inspect 3 >"$S/out" 2>/dev/null
	! grep -q $'\033' "$S/out"
}

@test "outside a UTF-8 locale the output is plain ASCII" {
	list_on_tty COLUMNS=60 LC_ALL=C NO_COLOR=1
	cat "$S/out" >&2
	! LC_ALL=C grep -q -P '[\x80-\xff]' "$S/out"
	grep -q '\.\.\.' "$S/out"
	grep -q '########' "$S/out"
	run env LC_ALL=C "$ROVER" list --no-engine
	! LC_ALL=C grep -q -P '[\x80-\xff]' <<<"$output"
	[[ "$output" == *"Caf? cr?me na?ve"* ]]
	# and in a UTF-8 locale the same rows keep their characters
	run env LC_ALL=C.UTF-8 "$ROVER" list --no-engine
	[[ "$output" == *"Café crème naïve"* ]]
	[[ "$output" == *"████████"* ]]
}

@test "--watch into a pipe prints frames without screen codes; on a terminal it redraws" {
	"$ROVER" list --watch 1 --no-engine >"$S/watch.txt" 2>&1 &
	local pid=$!
	local deadline=$((SECONDS + 15))
	until [ "$(grep -c '^---- ' "$S/watch.txt")" -ge 2 ]; do
		[ $SECONDS -lt $deadline ] || { cat "$S/watch.txt" >&2; kill "$pid"; return 1; }
		sleep 0.2
	done
	kill -INT "$pid"
	wait "$pid"
	! grep -q $'\033' "$S/watch.txt"
	grep -q "Refreshing every 1s" "$S/watch.txt"
	grep -q "Paused (user)" "$S/watch.txt"
	# the same on a terminal clears the screen for each frame
	$PTY --timeout 20 --wait "Refreshing every 1s" --signal INT -- \
		"$ROVER" list --watch 1 --no-engine >"$S/tty.txt" 2>/dev/null
	grep -q $'\033\\[2J' "$S/tty.txt"
	! grep -q '^---- ' "$S/tty.txt"
}

@test "a task paused by the user is not shown as an error" {
	run "$ROVER" list --no-engine
	[[ "$output" == *"Paused (user)"* ]]
	[[ "$output" != *Error* ]]
	run "$ROVER" inspect 2
	[ "$status" -eq 0 ]
	[[ "$output" == *"Paused by user: lunch break"* ]]
	[[ "$output" == *"Message "*"Paused by user"* ]]
	[[ "$output" != *"Error "* ]]
	# a failure still is one
	run "$ROVER" inspect 3
	[[ "$output" == *"Error "*"Workflow stopped"* ]]
}
