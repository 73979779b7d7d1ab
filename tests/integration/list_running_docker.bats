#!/usr/bin/env bats
# Cached running tasks in `rover list` on Docker: a dead container is still seen.
load list_running_cases

setup() { lr_setup docker; }
teardown() { rover_teardown; }

@test "docker: running tasks served from the list caches are still reconciled when their container dies" { case_cached_running_tasks_are_still_reconciled; }
