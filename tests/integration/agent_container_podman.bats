#!/usr/bin/env bats
# rover-agent as PID 1 in a real podman container.
load agent_container_cases

setup() { ac_setup podman; }
teardown() { ac_teardown; }

@test "podman: a rate-limited agent pauses (exit 2) and a new container resumes the rest" { case_rate_limited_pauses_and_resumes; }
@test "podman: SIGTERM to the container reaches rover-agent as PID 1: exit 2, valid checkpoint" { case_sigterm_to_pid1_pauses_with_checkpoint; }
@test "podman: an engine stop ends in exit 2 with a checkpoint, not 137" { case_engine_stop_gives_exit_2_not_137; }
@test "podman: orphans inside the container are reaped by PID 1" { case_orphans_are_reaped_in_the_container; }
