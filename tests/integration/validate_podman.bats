#!/usr/bin/env bats
# A validated resume on Podman.
bats_require_minimum_version 1.5.0
load validate_cases

setup() { val_setup podman; }
teardown() { val_teardown; }

@test "podman: resume refuses a task whose workspace is gone, with nothing changed; --recreate-workspace goes on" { case_resume_refuses_a_missing_workspace; }
@test "podman: resume refuses a task whose workflow changed; --allow-workflow-change goes on" { case_resume_refuses_a_changed_workflow; }
@test "podman: a cost budget pauses the task (reason budget), never auto-retried; resume --budget raises it" { case_budget_pauses_and_resume_raises_it; }
@test "podman: an auto-retry refuses a task whose workspace is gone, says so once, and waits for a person" { case_auto_retry_refuses_a_missing_workspace; }
