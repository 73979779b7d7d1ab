#!/usr/bin/env bats
# A validated resume on Docker.
load validate_cases

setup() { val_setup docker; }
teardown() { val_teardown; }

@test "docker: resume refuses a task whose workspace is gone, with nothing changed; --recreate-workspace goes on" { case_resume_refuses_a_missing_workspace; }
@test "docker: resume refuses a task whose workflow changed; --allow-workflow-change goes on" { case_resume_refuses_a_changed_workflow; }
