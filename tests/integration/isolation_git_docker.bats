#!/usr/bin/env bats
# Host git never runs what a container wrote, on Docker.
load isolation_git_cases

setup() { iso_setup docker; }
teardown() { iso_teardown; }

@test "docker: hooks, fsmonitor and hooksPath planted in the workspace never run on the host" { case_planted_git_config_never_runs_on_host; }
@test "docker: alternates or a config include leading to a FIFO never block the import" { case_redirected_git_dir_never_blocks_the_import; }
@test "docker: a .git rewritten to a gitdir: file naming a host dir is never mounted" { case_rewritten_gitdir_is_never_mounted; }
@test "docker: the agent's commit and uncommitted files reach the host" { case_agent_work_reaches_the_host; }
@test "docker: outside git, a .git the container made in the project is moved aside" { case_non_git_project_planted_git_is_moved_aside; }
@test "docker: supervise's auto-retry, stop and restart never mount a rewritten gitdir" { case_supervise_retry_never_mounts_a_rewritten_gitdir; }
