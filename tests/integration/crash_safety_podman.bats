#!/usr/bin/env bats
# rover task/resume/delete killed at random, and 50 at once, on Podman.
load crash_safety_cases

setup() { crash_setup podman; }
teardown() { crash_teardown; }

@test "podman: 50 concurrent rover task: 50 tasks, 50 containers, 50 branches" { case_fifty_concurrent_tasks; }
@test "podman: task, resume and delete SIGKILLed at random: every task actionable after one list" { case_kill_task_resume_delete_at_random; }
