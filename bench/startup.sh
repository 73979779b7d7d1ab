#!/usr/bin/env bash
# Start-up of rover's commands that need no engine, against the floor: a
# static hello-world (built here) and the static runner (rover-agent
# --version).  Goal (issue: performance): `rover --version`, `rover inspect`
# of a finished task and `rover list` of 100 finished tasks within 1.5x of
# the static runner's start-up.  rover is linked statically; the last rows
# are the same commands of rover-dynamic, the same program linked the
# ordinary way, which runs after a glibc upgrade (supervisor/lib/linkage.h).
# libcurl is loaded only by commands that
# reach an engine (supervisor/lib/curl_lazy.h); the last line shows what an
# engine command's first engine call costs on top (`rover info`, which asks
# the engine, against `rover --version`).
#
# The commands take turns (bench/spawn_time.c, one run of each per round),
# so load that comes and goes during the run falls on all of them alike.
#
#   bench/startup.sh [RUNS]        (default 300)
# Output: one line per command: median_us, its ratio to the hello-world and
# to the static runner.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-300}
build=${BUILD:-build}
bindir=${BINDIR:-bin}
# (its output only on failure: the static link's warning about dlopen is
# expected, linkage.h)
if ! log=$(make -s -C "$root" BUILD="$build" BINDIR="$bindir" all "$build/bench/spawn_time" 2>&1); then
	echo "$log" >&2
	exit 1
fi
spawn=$root/$build/bench/spawn_time
work=$(mktemp -d /var/tmp/rover-bench-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n' >"$work/hello.c"
cc -O2 -static -o "$work/hello" "$work/hello.c"
# The same, linked against libc.so as rover is: what being dynamic costs.
cc -O2 -o "$work/hello-dyn" "$work/hello.c"
# What a warm `rover list` cannot do without (read the row cache, read
# tasks/, one fstatat per task, write), static and dynamic: list's floor.
cc -O2 -static -o "$work/list-floor" "$root/bench/list_floor.c"
cc -O2 -o "$work/list-floor-dyn" "$root/bench/list_floor.c"
python3 "$root/bench/gen_store.py" "$work/store" 100 >/dev/null
export ROVER_STORE=$work/store ROVER_ENGINE=unix://$work/no-engine.sock
unset DOCKER_HOST CONTAINER_HOST
# Every program is measured as `make install` leaves it, copied (cc's
# hello-worlds too): here the very file the linker wrote starts 0.08-0.09
# ms slower than a byte-for-byte copy of it, whichever program it is (the
# page cache's state, not the program), and that would fall unevenly on
# programs linked at different times.
mkdir "$work/bin"
for f in "$root/$bindir/rover" "$root/$bindir/rover-dynamic" "$root/$bindir/rover-agent" \
	"$work/hello" "$work/hello-dyn" "$work/list-floor" "$work/list-floor-dyn"; do
	cp "$f" "$work/bin/"
done
rover=$work/bin/rover dyn=$work/bin/rover-dynamic
cd "$work"
"$rover" list >/dev/null # the list cache, as a user's second `list` finds it

labels=("static hello-world (floor)" "rover-agent --version (runner)"
	"dynamic hello-world (libc.so)" "rover --version"
	"rover inspect (finished task)" "list's system calls, static C"
	"list's system calls, dynamic C" "rover list (100 finished tasks)"
	"rover list --json (100 tasks)" "rover-dynamic --version"
	"rover-dynamic inspect" "rover-dynamic list")
b=$work/bin
mapfile -t us < <("$spawn" "$runs" -- "$b/hello" -- "$b/rover-agent" --version \
	-- "$b/hello-dyn" -- "$rover" --version -- "$rover" inspect 7 \
	-- "$b/list-floor" "$work/store" -- "$b/list-floor-dyn" "$work/store" \
	-- "$rover" list -- "$rover" list --json \
	-- "$dyn" --version -- "$dyn" inspect 7 -- "$dyn" list |
	awk '{print $2}')
printf '%-34s %9s %8s %9s\n' command median_us x_hello x_runner
for i in "${!labels[@]}"; do
	printf '%-34s %9d %8.2f %9.2f\n' "${labels[$i]}" "${us[$i]}" \
		"$(echo "${us[$i]} / ${us[0]}" | bc -l)" "$(echo "${us[$i]} / ${us[1]}" | bc -l)"
done
# An engine command: loads libcurl, then fails to reach the missing socket.
printf '%-34s %9d %8s\n' "rover info --json (loads libcurl)" \
	"$("$spawn" "$runs" /bin/sh -c "'$rover' info --json >/dev/null 2>&1; exit 0" | awk '{print $2}')" "(sh)"
