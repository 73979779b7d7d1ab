#!/usr/bin/env bats
# rover's task operations (task, logs, pause, stop, restart, delete) on Docker.
load rover_ops_cases

setup() { ops_setup docker; }
teardown() { ops_teardown; }

@test "docker: a task runs to COMPLETED in rover-task-<id>-1 with its labels" { case_task_runs_to_completed; }
@test "docker: pause drains: the current step finishes, PAUSED (user) with a checkpoint" { case_pause_drains_after_current_step; }
@test "docker: pause --now interrupts the step: PAUSED, the step not recorded" { case_pause_now_interrupts_the_step; }
@test "docker: pause --timeout escalates to SIGTERM when the step does not finish" { case_pause_timeout_escalates_to_sigterm; }
@test "docker: stop ends FAILED 'stopped by user' and keeps the checkpoint" { case_stop_fails_the_task_and_keeps_the_checkpoint; }
@test "docker: logs -f streams while the task runs and returns when it ends" { case_logs_follow_streams_until_the_end; }
@test "docker: logs -f ends at the exit: 200 KiB and the last line, each byte once, as logs shows it" { case_logs_follow_ends_at_exit_with_everything; }
@test "docker: logs -f --since: the same bytes as logs --since once the task is over" { case_logs_follow_since_is_logs_since; }
@test "docker: three logs -f and a list that see the end together save the output once" { case_logs_followers_together_save_once; }
@test "docker: logs -f --tail N: the last N lines at the start, then the rest once" { case_logs_follow_tail_is_the_last_lines_then_the_rest; }
@test "docker: delete removes container, worktree, branch and task dir" { case_delete_cleans_up; }
@test "docker: a new task replaces a container its id left in a lost store, under its own name" { case_new_task_replaces_a_lost_stores_container; }
@test "docker: restart moves the checkpoint aside and runs from the start" { case_restart_runs_from_the_start; }
@test "docker: a task started on tcp:// keeps using that endpoint" { case_stored_endpoint_is_used; }
