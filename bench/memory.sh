#!/usr/bin/env bash
# Peak memory (maximum resident set size, /usr/bin/time -v) of
#   - `rover list --json` over a store of TASKS finished tasks
#     (bench/gen_store.py), and of `rover list` (the table), cold (its row
#     cache .list-rows empty: every record read) and warm; goal (issue:
#     performance): `rover list` under 40 MiB at 50,000 tasks
#     (bench/memory.sh 50000);
#   - `rover-agent run` of a workflow on this host: 20 command steps, one of
#     which writes 20 MB of output (the runner keeps only a tail), and two
#     agent steps through the fake agent (tests/fake-agent).
#
#   bench/memory.sh [TASKS]          (default 10000); BINDIR=dir: its rover
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
[ -x /usr/bin/time ] || { echo "memory.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
make -s -C "$root" all >/dev/null
rover=${BINDIR:-$root/bin}/rover # BINDIR: another build to compare
work=$(mktemp -d /var/tmp/rover-bench-mem.XXXXXX)
trap 'rm -rf "$work"' EXIT

peak_kb() { # command... -> max RSS in KiB (the command's output is dropped)
	/usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null || {
		echo "memory.sh: '$*' failed:" >&2
		tail -n 5 "$work/time.txt" >&2
		return 1
	}
	awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt"
}

printf '%-44s %10s\n' what peak_rss_MiB
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

python3 "$root/bench/gen_store.py" "$work/store" "$n"
cd "$work"
export ROVER_STORE=$work/store ROVER_ENGINE=unix://$work/no-engine.sock
printf '%-44s %10s\n' "rover list --json ($n tasks, cold)" "$(mib "$(peak_kb "$rover" list --json)")"
printf '%-44s %10s\n' "rover list ($n tasks, table, cold)" "$(mib "$(peak_kb "$rover" list)")"
printf '%-44s %10s\n' "rover list ($n tasks, table, warm)" "$(mib "$(peak_kb "$rover" list)")"
printf '%-44s %10s\n' "rover inspect (1 task of $n)" "$(mib "$(peak_kb "$rover" inspect 1)")"

mkdir -p "$work/out" "$work/ws" "$work/bin"
ln -s "$root/tests/fake-agent/fake-agent" "$work/bin/claude"
{
	echo "version: '1.0'"
	echo "name: memory"
	echo "steps:"
	for i in $(seq 1 19); do
		printf '  - id: s%d\n    type: command\n    command: echo step %d; echo %d > f%d.txt\n' "$i" "$i" "$i" "$i"
	done
	printf '  - id: big\n    type: command\n    command: head -c 20000000 /dev/zero | tr "\\\\0" x; echo\n'
	printf '  - id: agent1\n    type: agent\n    prompt: "first [[output:summary=one]]"\n'
	printf '  - id: agent2\n    type: agent\n    prompt: "second [[output:summary=two]]"\n'
} >"$work/wf.yml"
kb=$(PATH=$work/bin:$PATH peak_kb "$root/bin/rover-agent" run "$work/wf.yml" --output "$work/out" \
	-C "$work/ws" --agent-tool claude --task-id 1)
printf '%-44s %10s\n' "rover-agent run (22 steps, 20 MB of output)" "$(mib "$kb")"
