#!/usr/bin/env bats
# Pause windows on Docker.
bats_require_minimum_version 1.5.0
load windows_cases

setup() { win_setup docker; }
teardown() { win_teardown; }

@test "docker: a pause window drains running tasks at its start and resumes exactly those at its end" { case_window_drains_and_resumes; }
