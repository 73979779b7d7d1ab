#!/usr/bin/env bats
# The task's container is confined by default, overridable by the user and
# only tightenable by the repository (hardening_cases.bash), on Docker.
load hardening_cases

setup() { hard_setup docker; }
teardown() { hard_teardown; }

@test "docker: no capabilities, no-new-privileges, limits applied, agent not root" { case_confined_by_default; }
@test "docker: the pids limit stops a fork storm and the task ends FAILED" { case_pids_limit_stops_a_fork_storm; }
@test "docker: the memory limit (no swap) kills a process that allocates past it" { case_memory_limit_stops_a_hog; }
@test "docker: ROVER_CONTAINER_* overrides show in the engine's HostConfig" { case_env_overrides_reach_the_engine; }
@test "docker: the agent runs as root only when ROVER_CONTAINER_USER=0:0" { case_root_agent_only_when_asked; }
@test "docker: a repository's rover.json may tighten the container" { case_repository_may_tighten; }
@test "docker: a repository's rover.json that loosens is refused, no task made" { case_repository_cannot_loosen; }
@test "docker: a plain directory project is never re-owned; the agent runs as its owner" { case_plain_directory_is_never_re_owned; }
