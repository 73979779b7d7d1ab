#!/usr/bin/env bats
# rover events on Docker: the journal of transitions, with the runner's steps.
bats_require_minimum_version 1.5.0
load events_cases

setup() { ev_setup docker; }
teardown() { ev_teardown; }

@test "docker: events lists each transition of a paused, retried, completed task once, in order" { case_events_of_a_retried_task; }
@test "docker: events --follow prints each new event once" { case_events_follow_prints_new_events; }
@test "docker: the user's hooks fire once per transition across supervisor SIGKILLs; rover.json hooks never run" { case_hooks_fire_once_across_supervisor_kills; }
@test "docker: onNeedsAttention fires once when auto-retry cannot help" { case_hooks_needs_attention_once; }
