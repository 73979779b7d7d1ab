#!/usr/bin/env bats
# rover iterate and the rover logs fixes on Podman.
load iterate_cases

setup() { it_setup podman; }
teardown() { it_teardown; }

@test "podman: iterate runs iteration 2 with the instructions, imports iteration 1's commits, refuses while running" { case_iterate_runs_a_second_iteration_with_the_instructions; }
@test "podman: iteration 2 pauses on a rate limit, iterate is refused while PAUSED, resume completes it" { case_iteration_pauses_on_a_rate_limit_and_resumes; }
@test "podman: iterate of an unknown task or without instructions is refused" { case_iterate_refused_for_new_and_unknown; }
@test "podman: an iterate SIGKILLed at random moments leaves the old or the new iteration" { case_iterate_sigkilled_leaves_old_or_new_iteration; }
@test "podman: logs prints each line once after list and inspect saved them; --tail; --since" { case_logs_once_after_list_saved_them; }
@test "podman: logs --since and --tail on a live container are cut by the engine" { case_logs_since_cuts_a_live_container; }
@test "podman: logs -f follows into the container an auto-retry starts and returns at COMPLETED" { case_logs_follow_into_the_auto_retry; }
@test "podman: logs -f returns at a pause nobody will retry" { case_logs_follow_returns_at_a_pause_nobody_retries; }
