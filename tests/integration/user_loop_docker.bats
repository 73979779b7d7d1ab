#!/usr/bin/env bats
# Getting the agent's work out (diff, merge, push) and delete keeping it, on Docker.
bats_require_minimum_version 1.5.0
load user_loop_cases

setup() { loop_setup docker; }
teardown() { loop_teardown; }

@test "docker: diff shows committed and uncommitted work, merge brings it in, push, then delete" { case_diff_merge_push_delete; }
@test "docker: delete refuses unmerged commits and uncommitted files; -y, --force, the question" { case_delete_refuses_to_lose_work; }
@test "docker: merge refuses a dirty tree and a conflict and changes nothing" { case_merge_refusals_change_nothing; }
@test "docker: a hostile workspace neither blocks diff/merge nor makes them run anything" { case_hostile_workspace_never_blocks_or_runs; }
@test "docker: merge and push are refused while the container runs; diff works" { case_merge_refused_while_running; }
@test "docker: the whole loop: task, diff, merge, iterate paused by a limit and resumed, merge, push, delete" { case_whole_loop_with_iterate; }
