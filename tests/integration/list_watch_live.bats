#!/usr/bin/env bats
# rover list --watch keeps its listing in memory and re-reads only the tasks
# the file watch names (task_live.h): every kind of change made while it
# watches must still reach the screen - a record rewritten, a running task's
# status file, a task created, one removed, a record edited in place - and
# nothing else may change on screen.  No engine (--no-engine); frames go to
# a file (a pipe: one full frame per redraw); the refresh interval is 60 s,
# so every frame checked was drawn because of the change.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
ROVER=${ROVER_BIN_DIR:-$ROOT/bin}/rover

setup() {
	S=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rover-lwl.XXXXXX")
	python3 "$ROOT/bench/gen_store.py" "$S/store" 3 >/dev/null
	echo 12000000 >"$S/store/tasks/.last-id"
	export ROVER_STORE=$S/store ROVER_ENGINE=unix://$S/no-engine.sock
	T=$S/store/tasks
	cd "$S"
}
teardown() {
	[ -z "${pid:-}" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$S"
}

# Rewrite a JSON file by rename, as rover and the runner do: edit PATH KEY=VALUE...
edit() {
	python3 - "$@" <<'PY'
import json, os, sys
p = sys.argv[1]
d = json.load(open(p))
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    d[k] = int(v) if v.isdigit() else v
open(p + ".tmp", "w").write(json.dumps(d))
os.rename(p + ".tmp", p)
PY
}

# The last complete frame (the text after the last "---- " line).
last_frame() { awk '/^---- /{f=""} {f=f $0 "\n"} END{printf "%s", f}' "$S/watch.txt"; }

# Wait up to 10 s for the last frame to match (grep -E) or, with -v, not to.
wait_frame() {
	local neg=
	[ "$1" != -v ] || { neg=1; shift; }
	local deadline=$((SECONDS + 10))
	while :; do
		if [ -n "$neg" ]; then ! last_frame | grep -qE "$1" && last_frame | grep -q "Refreshing" && return 0
		else last_frame | grep -qE "$1" && last_frame | grep -q "Refreshing" && return 0; fi
		[ $SECONDS -lt $deadline ] || { echo "no frame ${neg:+without }'$1':" >&2; last_frame >&2; return 1; }
		sleep 0.05
	done
}

@test "list --watch shows every change made while it watches" {
	"$ROVER" list --watch 60 --no-engine >"$S/watch.txt" 2>&1 &
	pid=$!
	wait_frame "Benchmark task 3:"
	sleep 0.3 # the watch is up before the first frame; let the first pass settle

	# a record rewritten by another process: task 2 fails
	edit "$T/2/description.json" status=FAILED executionStatus=failed \
		error="Workflow stopped due to step failure" failedAt=2025-10-09T08:50:00.000Z
	wait_frame "^ *2 .*Failed"
	last_frame | grep -E "^ *1 .*Completed"

	# a running task: its status file's step reaches the screen (the status
	# file first, or the loop would settle the task from the old one)
	edit "$T/1/iterations/1/status.json" status=running currentStep=step-alpha progress=30
	edit "$T/1/description.json" status=ITERATING executionStatus=running
	wait_frame "^ *1 .*step-alpha"
	edit "$T/1/iterations/1/status.json" status=running currentStep=step-beta progress=60
	wait_frame "^ *1 .*step-beta"

	# a task created: built aside and renamed into place, as task_store_create does
	cp -r "$T/3" "$T/.new-4"
	edit "$T/.new-4/description.json" id=4 title="A brand new task"
	mv "$T/.new-4" "$T/4"
	wait_frame "^ *4 .*A brand new task"

	# a task removed, as task_store_delete does it
	mv "$T/3" "$T/.deleted-3-1-1"
	wait_frame -v "Benchmark task 3:"
	last_frame | grep -E "^ *4 .*A brand new task"

	# a record edited in place (not renamed): the close-after-write event
	python3 - "$T/4/description.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["title"] = "Edited in place"
with open(p, "r+") as f:
    f.seek(0); f.truncate(); f.write(json.dumps(d))
PY
	wait_frame "^ *4 .*Edited in place"

	# nothing else changed on the way: task 2 is still failed, 1 running
	last_frame | grep -E "^ *2 .*Failed"
	last_frame | grep -E "^ *1 .*step-beta"
	[ "$(last_frame | grep -cE '^ *[0-9]+ ')" -eq 3 ]
}

@test "list --watch on a terminal draws the newest tasks that fit and says how many are above" {
	python3 "$ROOT/bench/gen_store.py" "$S/big" 60 >/dev/null
	export ROVER_STORE=$S/big
	run python3 - "$ROVER" <<'PY'
import fcntl, os, pty, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "list", "--watch", "60", "--no-engine"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 20, 160, 0, 0))
out, end = b"", time.time() + 10
while time.time() < end and b"Refreshing" not in out:
    try:
        out += os.read(fd, 65536)
    except OSError:
        break
os.kill(pid, 15)
os.waitpid(pid, 0)
frame = out.decode(errors="replace").split("\x1b[2J\x1b[H")[-1]
lines = frame.splitlines()
print("\n".join(lines))
print("LINES=%d" % len(lines))
PY
	[ "$status" -eq 0 ]
	echo "$output" | grep -E "^ *60 "               # the newest task is shown
	! echo "$output" | grep -E "^ *1 .*Benchmark"   # the oldest is not
	echo "$output" | grep -E "older tasks above; rover list shows them all"
	lines=$(echo "$output" | sed -n 's/^LINES=//p')
	[ "$lines" -le 20 ]
}

# Frames drawn on a terminal within SECONDS: count_tty_frames SECONDS
count_tty_frames() {
	python3 - "$ROVER" "$1" <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "list", "--watch", "1", "--no-engine"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 160, 0, 0))
out, end = b"", time.time() + float(sys.argv[2])
while time.time() < end:
    if not select.select([fd], [], [], max(0.0, end - time.time()))[0]:
        continue
    try:
        out += os.read(fd, 65536)
    except OSError:
        break
os.kill(pid, 15)
os.waitpid(pid, 0)
print(out.count(b"\x1b[2J"))
PY
}

@test "list --watch on a terminal redraws on the timer only what counts time" {
	# finished tasks only: nothing on screen moves, one frame in 3.5 s
	[ "$(count_tty_frames 3.5)" -eq 1 ]
	# a running task's duration runs: a frame a second
	edit "$T/1/iterations/1/status.json" status=running currentStep=working progress=30
	edit "$T/1/description.json" status=ITERATING executionStatus=running
	[ "$(count_tty_frames 3.5)" -ge 3 ]
}
