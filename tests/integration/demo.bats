#!/usr/bin/env bats
# The README's demo must keep working: run both demos as a user would.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

@test "the container demo: a task pauses on a rate limit and completes after rover resume" {
	run "$ROOT/scripts/demo-run.sh"
	echo "$output" | tail -n 40
	[ "$status" -eq 0 ]
	[[ "$output" == *"Paused (claude)"* ]]
	[[ "$output" == *"Skipping completed step"* ]]
	project=$(echo "$output" | sed -n 's/^demo project: \([^ ]*\).*/\1/p')
	[ -n "$project" ]
	cd "$project" && "$ROOT/bin/rover" delete 1 --force >/dev/null 2>&1 || true
	rm -rf "$project"
}

@test "the runner-only demo pauses on a rate limit and completes after resume" {
	run "$ROOT/scripts/demo-agent.sh"
	echo "$output" | tail -n 30
	[ "$status" -eq 0 ]
	[[ "$output" == *"Workflow completed successfully"* ]]
	[[ "$output" == *"Skipping completed step"* ]]
}
