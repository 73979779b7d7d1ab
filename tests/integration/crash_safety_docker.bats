#!/usr/bin/env bats
# rover task/resume/delete killed at random, and 50 at once, on Docker.
load crash_safety_cases

setup() { crash_setup docker; }
teardown() { crash_teardown; }

@test "docker: 50 concurrent rover task: 50 tasks, 50 containers, 50 branches" { case_fifty_concurrent_tasks; }
@test "docker: task, resume and delete SIGKILLed at random: every task actionable after one list" { case_kill_task_resume_delete_at_random; }
