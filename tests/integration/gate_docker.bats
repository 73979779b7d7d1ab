#!/usr/bin/env bats
# Provider-aware supervision on Docker: account gate, maxRunning, stalls.
load gate_cases

setup() { gate_setup docker; }
teardown() { gate_teardown; }

@test "docker: a limit holds the account's tasks until the reset, then releases them one at a time" { case_gate_holds_account_until_reset; }
@test "docker: maxRunning 2 with five tasks: never more than two containers, all complete" { case_max_running_limits_containers; }
@test "docker: maxRunning per engine (docker: 2): never more than two containers, all complete" { case_max_running_limits_containers per-engine; }
@test "docker: a silent step is paused 'stalled' and completes after the retry; a talking one is not" { case_stall_paused_and_retried; }
@test "docker: an engine that is down does not consume the retry budget" { case_engine_down_keeps_retry_budget; }
