#!/usr/bin/env bash
# The runner-only demo: bin/rover-agent on this host, no engine needed.
# Runs bin/rover-agent locally on demo/rate-limit.yml with the fake agent tool.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/rover-demo.XXXXXX)
mkdir -p "$work/out" "$work/workspace" "$work/bin"
ln -s "$root/tests/fake-agent/fake-agent" "$work/bin/claude"
export PATH="$work/bin:$PATH" FAKE_AGENT_STATE="$work/state"
agent="$root/bin/rover-agent"
wf="$root/demo/rate-limit.yml"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "1. run the workflow: its agent step hits a usage limit"
set +e
"$agent" run "$wf" --output "$work/out" --task-id demo -C "$work/workspace"
rc=$?
set -e
echo "rover-agent exited $rc (2 = paused with a checkpoint saved)"
[ "$rc" -eq 2 ] || { echo "demo: expected a pause" >&2; exit 1; }
step "2. what was saved"
jq '{status, currentStep, error, provider, pauseReason, resetAt}' "$work/out/status.json"
jq '{seq, pauseReason, resetAt, failedStepId, completed: [.completedSteps[].id]}' "$work/out/checkpoint.json"
step "3. resume from the checkpoint: the completed step is skipped"
"$agent" run "$wf" --output "$work/out" --task-id demo -C "$work/workspace" \
	--checkpoint "$work/out/checkpoint.json"
step "4. result"
jq '{status, progress}' "$work/out/status.json"
echo "workspace log (each step once):"
cat "$work/workspace/steps.log"
rm -rf "$work"
