#!/usr/bin/env bats
# Cached running tasks in `rover list` on Podman: a dead container is still seen.
load list_running_cases

setup() { lr_setup podman; }
teardown() { rover_teardown; }

@test "podman: running tasks served from the list caches are still reconciled when their container dies" { case_cached_running_tasks_are_still_reconciled; }
