#!/usr/bin/env bash
# rover-agent under valgrind on real workflows: a completed run, a rate-limit
# pause, the resume, and a SIGTERM pause.  Uses the dynamically linked build
# (valgrind cannot see malloc inside a static binary).  Exits non-zero on any
# valgrind error or definite leak.
set -euo pipefail
agent=${1:-build-vg/bin/rover-agent}
root=$(cd "$(dirname "$0")/.." && pwd)
w=$(mktemp -d /tmp/rover-vg.XXXXXX)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/out" "$w/ws" "$w/bin"
ln -s "$root/tests/fake-agent/fake-agent" "$w/bin/claude"
export PATH="$w/bin:$PATH" FAKE_AGENT_STATE="$w/state" ROVER_AGENT_RETRY_DELAY_MS=10
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--trace-children=no)
run() { "${vg[@]}" "$agent" run "$@" --output "$w/out" -C "$w/ws" >/dev/null; }
set +e
run "$root/demo/rate-limit.yml"; rc=$?
[ $rc -eq 2 ] || { echo "valgrind-agent: pause run exited $rc" >&2; exit 1; }
run "$root/demo/rate-limit.yml" --checkpoint "$w/out/checkpoint.json"; rc=$?
[ $rc -eq 0 ] || { echo "valgrind-agent: resume exited $rc" >&2; exit 1; }
cat >"$w/long.yml" <<'YML'
version: '1.0'
name: long
steps:
  - id: a
    type: command
    command: echo a
  - id: b
    type: command
    command: touch started; sleep 30
YML
"${vg[@]}" "$agent" run "$w/long.yml" --output "$w/out" -C "$w/ws" >/dev/null &
pid=$!
for _ in $(seq 100); do [ -e "$w/ws/started" ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid; rc=$?
[ $rc -eq 2 ] || { echo "valgrind-agent: SIGTERM run exited $rc" >&2; exit 1; }
echo "valgrind-agent: clean (pause, resume, SIGTERM)"
