#!/usr/bin/env bats
# Operator controls (breakpoints, pause --all / resume --all, drain) on Docker.
load operator_cases

setup() { op_setup docker; }
teardown() { op_teardown; }

@test "docker: a breakpoint waits, survives a supervisor restart, approve --message continues it" { case_breakpoint_waits_survives_restart_and_approve_continues; }
@test "docker: reject ends a task at a breakpoint FAILED with the reason, never retried" { case_breakpoint_reject_fails_with_the_reason; }
@test "docker: an approval forged in /output does not pass a breakpoint" { case_breakpoint_forged_approval_does_not_pass; }
@test "docker: a breakpoint's timeout fails the task or lets it go on, as declared" { case_breakpoint_timeout_fails_or_continues_as_declared; }
@test "docker: pause --all --now pauses every running task; resume --all brings exactly those back" { case_pause_all_now_and_resume_all_bring_back_exactly_those; }
@test "docker: pause --all drains every task after its current step, all at once" { case_pause_all_drains_every_task_after_its_step; }
@test "docker: SIGUSR1 drains the supervisor: tasks pause after their step, nothing is retried" { case_drain_via_sigusr1_pauses_running_tasks_and_starts_nothing; }
