#!/usr/bin/env bats
# The README's demo must keep working: run it as a user would.

@test "the demo pauses on a rate limit and completes after resume" {
	ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	run "$ROOT/scripts/demo-run.sh"
	echo "$output" | tail -n 30
	[ "$status" -eq 0 ]
	[[ "$output" == *"Workflow completed successfully"* ]]
	[[ "$output" == *"Skipping completed step"* ]]
}
