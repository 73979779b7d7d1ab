#!/usr/bin/env bash
# Seconds from a provider's first refused request to the task's pause, per
# real agent CLI and case: `rover task` of a workflow whose agent step is the
# real CLI (image of scripts/build-agent-image.sh) against the stand-in
# provider tests/agents/provider_stub.py (host network), polling
# `rover inspect --json` until PAUSED.  The issue's goal: under 60 s for a
# rate limit or exhausted credit (before the adapters: 549-875 s).
#
#   bench/agent_pause_latency.sh [cli...]      (default: claude codex gemini)
#   ROVER_BENCH_ENGINE=docker|podman           (default docker)
#   BINDIR=build-x/bin                         rover under test (default bin)
#   ROVER_BENCH_CASES="rate_limit credit"      which stub scenarios
# Prints "cli case seconds status" lines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bindir=${BINDIR:-$root/bin}
case $bindir in /*) ;; *) bindir=$root/$bindir ;; esac
rover=$bindir/rover
engine=${ROVER_BENCH_ENGINE:-docker}
cases=${ROVER_BENCH_CASES:-rate_limit rate_limit_noreset credit}
clis=("$@")
[ ${#clis[@]} -gt 0 ] || clis=(claude codex gemini)
run_dir=${ROVER_TEST_RUN_DIR:-/run/rover-test}

[ -x "$rover" ] || { echo "agent_pause_latency: $rover missing (make BINDIR=...)" >&2; exit 1; }
"$root/scripts/install-agents.sh" >/dev/null
ROVER_TEST_ENGINES=$engine "$root/scripts/build-agent-image.sh" >/dev/null

work=$(mktemp -d /tmp/rover-bench-agents.XXXXXX)
python3 "$root/tests/agents/provider_stub.py" --port-file "$work/port" >"$work/stub.log" 2>&1 &
stub=$!
cleanup() {
	kill "$stub" 2>/dev/null || true
	if [ -n "${store:-}" ]; then
		for f in "$store"/tasks/*/description.json; do
			[ -e "$f" ] || continue
			"$rover" delete "$(jq -r .id "$f")" --force >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
stub_url=http://127.0.0.1:$(cat "$work/port")

proj=$work/proj
mkdir -p "$proj"
git -C "$proj" init -q
git -C "$proj" -c user.email=b@example.invalid -c user.name=bench commit -q --allow-empty -m init
export XDG_DATA_HOME=$work/xdg/data XDG_CONFIG_HOME=$work/xdg/config
if [ "$engine" = docker ]; then
	export ROVER_ENGINE=unix://$run_dir/docker.sock
else
	export ROVER_ENGINE=unix://$run_dir/podman.sock
fi
export ROVER_AGENT_IMAGE=rover-agent-real:latest ROVER_NETWORK=host
cd "$proj"
store=$("$rover" info --json | jq -r .store)

first_refusal() {
	curl -fsS "$stub_url/_log" | python3 -c 'import json,sys
r=[e["t"] for e in json.load(sys.stdin) if e["status"]!=200]
print(min(r) if r else "")'
}

printf '%-8s %-20s %8s  %s\n' cli case seconds status
for cli in "${clis[@]}"; do
	unset ANTHROPIC_BASE_URL ANTHROPIC_API_KEY OPENAI_BASE_URL OPENAI_API_KEY GOOGLE_GEMINI_BASE_URL GEMINI_API_KEY
	model=()
	case $cli in
	claude) export ANTHROPIC_BASE_URL=$stub_url ANTHROPIC_API_KEY=sk-ant-stub ;;
	codex) export OPENAI_BASE_URL=$stub_url/v1 OPENAI_API_KEY=sk-stub ;;
	gemini) export GOOGLE_GEMINI_BASE_URL=$stub_url GEMINI_API_KEY=stub-key; model=(-m gemini-2.5-pro) ;;
	esac
	cat >wf.yml <<YML
version: '1.0'
name: bench
steps:
  - id: plan
    type: agent
    tool: $cli
    prompt: "Say hello."
YML
	for c in $cases; do
		curl -fsS -X POST "$stub_url/_control" -d "{\"scenario\":\"$c\",\"reset_s\":120}" >/dev/null
		tid=$("$rover" task --json -w wf.yml "${model[@]}" "bench $cli $c" | jq -r .taskId)
		status=
		deadline=$((SECONDS + 900))
		while [ $SECONDS -lt $deadline ]; do
			status=$("$rover" inspect --json "$tid" | jq -r .status)
			case $status in PAUSED | FAILED | COMPLETED) break ;; esac
			sleep 0.2
		done
		end=$(date +%s.%N)
		first=$(first_refusal)
		secs=n/a
		[ -n "$first" ] && secs=$(python3 -c "print(round($end - $first, 1))")
		printf '%-8s %-20s %8s  %s\n' "$cli" "$c" "$secs" "$status"
		"$rover" delete "$tid" --force >/dev/null 2>&1 || true
	done
done
