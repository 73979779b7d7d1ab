#!/usr/bin/env bats
# rover init, rover wait, and the pre-flight of task/restart/resume on Podman.
load init_wait_cases

setup() { iw_setup podman; }
teardown() { iw_teardown; }

@test "podman: init prints the engine and image, writes rover.json without the engine" { case_init_writes_settings_and_prints_what_it_found; }
@test "podman: init refuses to overwrite rover.json without --force, keeps other keys" { case_init_refuses_to_overwrite_without_force_and_keeps_other_keys; }
@test "podman: init refuses a missing image and writes nothing" { case_init_refuses_a_missing_image_writing_nothing; }
@test "podman: task with a missing image: refused, no record, workspace or branch" { case_task_with_a_missing_image_is_refused_before_anything_exists; }
@test "podman: task missing a required input: refused, no record, workspace or branch" { case_task_missing_a_required_input_is_refused_before_anything_exists; }
@test "podman: wait returns 0 on COMPLETED" { case_wait_returns_0_on_completed; }
@test "podman: wait returns 3 on FAILED and 4 on PAUSED" { case_wait_returns_3_on_failed_and_4_on_paused; }
@test "podman: wait --timeout returns 124; a wait returns when the task ends" { case_wait_times_out_with_124_then_returns_when_it_ends; }
@test "podman: wait notices a container killed from outside" { case_wait_notices_a_container_killed_from_outside; }
@test "podman: wait goes on through a pause that a running supervisor will retry" { case_wait_follows_a_pause_that_a_supervisor_will_retry; }
@test "podman: wait refuses an unknown task (1) and a bad id (2)" { case_wait_refuses_an_unknown_task; }
@test "podman: restart/resume --image: a missing image refused, a present one recorded" { case_restart_with_image_checks_and_records_it; }
