#!/usr/bin/env bats
# rover iterate and the rover logs fixes on Docker.
load iterate_cases

setup() { it_setup docker; }
teardown() { it_teardown; }

@test "docker: iterate runs iteration 2 with the instructions, imports iteration 1's commits, refuses while running" { case_iterate_runs_a_second_iteration_with_the_instructions; }
@test "docker: iteration 2 pauses on a rate limit, iterate is refused while PAUSED, resume completes it" { case_iteration_pauses_on_a_rate_limit_and_resumes; }
@test "docker: iterate of an unknown task or without instructions is refused" { case_iterate_refused_for_new_and_unknown; }
@test "docker: an iterate SIGKILLed at random moments leaves the old or the new iteration" { case_iterate_sigkilled_leaves_old_or_new_iteration; }
@test "docker: logs prints each line once after list and inspect saved them; --tail; --since" { case_logs_once_after_list_saved_them; }
@test "docker: logs --since and --tail on a live container are cut by the engine" { case_logs_since_cuts_a_live_container; }
@test "docker: logs -f follows into the container an auto-retry starts and returns at COMPLETED" { case_logs_follow_into_the_auto_retry; }
@test "docker: logs -f returns at a pause nobody will retry" { case_logs_follow_returns_at_a_pause_nobody_retries; }
