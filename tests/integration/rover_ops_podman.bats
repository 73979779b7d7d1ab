#!/usr/bin/env bats
# rover's task operations (task, logs, pause, stop, restart, delete) on Podman.
load rover_ops_cases

setup() { ops_setup podman; }
teardown() { ops_teardown; }

@test "podman: a task runs to COMPLETED in rover-task-<id>-1 with its labels" { case_task_runs_to_completed; }
@test "podman: pause drains: the current step finishes, PAUSED (user) with a checkpoint" { case_pause_drains_after_current_step; }
@test "podman: pause --now interrupts the step: PAUSED, the step not recorded" { case_pause_now_interrupts_the_step; }
@test "podman: pause --timeout escalates to SIGTERM when the step does not finish" { case_pause_timeout_escalates_to_sigterm; }
@test "podman: stop ends FAILED 'stopped by user' and keeps the checkpoint" { case_stop_fails_the_task_and_keeps_the_checkpoint; }
@test "podman: logs -f streams while the task runs and returns when it ends" { case_logs_follow_streams_until_the_end; }
@test "podman: logs -f ends at the exit: 200 KiB and the last line, each byte once, as logs shows it" { case_logs_follow_ends_at_exit_with_everything; }
@test "podman: logs -f --since: the same bytes as logs --since once the task is over" { case_logs_follow_since_is_logs_since; }
@test "podman: three logs -f and a list that see the end together save the output once" { case_logs_followers_together_save_once; }
@test "podman: logs -f --tail N: the last N lines at the start, then the rest once" { case_logs_follow_tail_is_the_last_lines_then_the_rest; }
@test "podman: delete removes container, worktree, branch and task dir" { case_delete_cleans_up; }
@test "podman: a new task replaces a container its id left in a lost store, under its own name" { case_new_task_replaces_a_lost_stores_container; }
@test "podman: restart moves the checkpoint aside and runs from the start" { case_restart_runs_from_the_start; }
