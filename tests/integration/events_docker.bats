#!/usr/bin/env bats
# rover events on Docker: the journal of transitions, with the runner's steps.
load events_cases

setup() { ev_setup docker; }
teardown() { ev_teardown; }

@test "docker: events lists each transition of a paused, retried, completed task once, in order" { case_events_of_a_retried_task; }
@test "docker: events --follow prints each new event once" { case_events_follow_prints_new_events; }
