#!/usr/bin/env bats
# A validated resume on Podman.
load validate_cases

setup() { val_setup podman; }
teardown() { val_teardown; }

@test "podman: resume refuses a task whose workspace is gone, with nothing changed; --recreate-workspace goes on" { case_resume_refuses_a_missing_workspace; }
@test "podman: resume refuses a task whose workflow changed; --allow-workflow-change goes on" { case_resume_refuses_a_changed_workflow; }
