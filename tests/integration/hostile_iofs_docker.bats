#!/usr/bin/env bats
# A hostile container's /output (symlinks, FIFOs, escapes, resetAt 9999, a
# full disk) against every rover command, on Docker.
load hostile_iofs_cases

setup() { iofs_setup docker; }
teardown() { iofs_teardown; }

@test "docker: links and FIFOs planted while the task runs: no command hangs or follows them, no raw ESC" { case_planted_while_running; }
@test "docker: planted at rest and a year-9999 resetAt: ignored, reported once, stale locks reclaimed" { case_planted_at_rest_and_absurd_reset; }
@test "docker: a full disk fails the task with the runner's reason, shown by logs and inspect" { case_full_disk_fails_the_task_with_the_reason; }
