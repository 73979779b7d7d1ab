#!/usr/bin/env bash
# Start-up of rover's commands that need no engine, against the floor: a
# static hello-world (built here) and the static runner (rover-agent
# --version).  Goal (issue: performance): `rover --version`, `rover inspect`
# of a finished task and `rover list` of 100 finished tasks within 1.5x of
# the static hello-world.  libcurl is loaded only by commands that reach an
# engine (supervisor/lib/curl_lazy.h); the last line shows what an engine
# command's first engine call costs on top (`rover info`, which asks the
# engine, against `rover --version`).
#
#   bench/startup.sh [RUNS]        (default 300)
# Output: one line per command: median_us, and the ratio to hello-world.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-300}
build=${BUILD:-build}
bindir=${BINDIR:-bin}
make -s -C "$root" BUILD="$build" BINDIR="$bindir" all "$build/bench/spawn_time" >/dev/null
rover=$root/$bindir/rover
spawn=$root/$build/bench/spawn_time
work=$(mktemp -d /var/tmp/rover-bench-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n' >"$work/hello.c"
cc -O2 -static -o "$work/hello" "$work/hello.c"
python3 "$root/bench/gen_store.py" "$work/store" 100 >/dev/null
export ROVER_STORE=$work/store ROVER_ENGINE=unix://$work/no-engine.sock
unset DOCKER_HOST CONTAINER_HOST
cd "$work"
"$rover" list >/dev/null # the list cache, as a user's second `list` finds it

floor=$("$spawn" "$runs" "$work/hello" | awk '{print $2}')
printf '%-34s %9s %7s\n' command median_us ratio
row() { # label cmd...
	local label=$1
	shift
	local us
	us=$("$spawn" "$runs" "$@" | awk '{print $2}')
	printf '%-34s %9d %7.2f\n' "$label" "$us" "$(echo "$us / $floor" | bc -l)"
}
row "static hello-world (floor)" "$work/hello"
row "rover-agent --version" "$root/$bindir/rover-agent" --version
row "rover --version" "$rover" --version
row "rover inspect (finished task)" "$rover" inspect 7
row "rover list (100 finished tasks)" "$rover" list
row "rover list --json (100 tasks)" "$rover" list --json
# An engine command: loads libcurl, then fails to reach the missing socket.
printf '%-34s %9d %7s\n' "rover info --json (loads libcurl)" \
	"$("$spawn" "$runs" /bin/sh -c "'$rover' info --json >/dev/null 2>&1; exit 0" | awk '{print $2}')" "(sh)"
