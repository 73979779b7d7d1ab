#!/usr/bin/env bats
# Durable supervision on Podman: resume, auto-retry, orphans, supervisor crashes.
load rover_durable_cases

setup() { dur_setup podman; }
teardown() { dur_teardown; }

@test "podman: supervise auto-retries a rate-limited task after its reset time and it completes" { case_auto_retry_completes; }
@test "podman: without a reset time the retry follows the backoff" { case_auto_retry_backoff_without_reset_time; }
@test "podman: the budget is spent after max retries; list and inspect ask for a person, said once" { case_budget_exhausted; }
@test "podman: 20 concurrent resumes start exactly one container" { case_concurrent_resumes_start_one_container; }
@test "podman: a resume lock of a killed holder is reclaimed" { case_stale_lock_reclaimed; }
@test "podman: killed (137), exit 2 and removed containers are classified by a running supervisor" { case_orphans_seen_by_supervisor; }
@test "podman: killed (137), exit 2 and removed containers are classified by rover list" { case_orphans_seen_by_list; }
@test "podman: resume of an ITERATING task whose container died needs no list first" { case_resume_of_crashed_iterating_task; }
@test "podman: a supervisor SIGKILLed at random moments neither loses nor repeats a retry" { case_supervisor_sigkill_neither_loses_nor_repeats; }
@test "podman: two supervisors on one store: only one schedules, the other takes over" { case_two_supervisors_one_scheduler; }
@test "podman: list --watch redraws on changes, says who schedules, and Ctrl+C exits 0" { case_list_watch_follows_changes; }
