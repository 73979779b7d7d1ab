#!/usr/bin/env bash
# Every benchmark, one after the other (make bench).  Each prints its figures
# and ratios against its baseline; none asserts a time.
set -uo pipefail
cd "$(dirname "$0")/.."
for b in checkpoint.sh task_overhead.sh list.sh list_running.sh memory.sh exit_to_status.sh watch_latency.sh \
	classify.sh workflow_parse.sh agent_pause_latency.sh startup.sh; do
	[ -x "bench/$b" ] || continue
	printf '\n### bench/%s\n' "$b"
	"bench/$b" || echo "bench/$b failed (exit $?)"
done
