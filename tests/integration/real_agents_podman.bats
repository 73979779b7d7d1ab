#!/usr/bin/env bats
# The real agent CLIs as agent steps of rover tasks on Podman (see
# real_agents_cases.bash): pause within 60 s, reset times, resume, cost.
load real_agents_cases

setup_file() { ra_setup_file podman; }

setup() {
	local d=${BATS_TEST_DESCRIPTION#podman }
	ra_setup podman "${d%%:*}"
}
teardown() { ra_teardown; }

@test "podman claude: success records tokens and dollars in status, record, inspect and list" { case_success_records_usage; }
@test "podman claude: a 429 pauses within 60 s; resume skips the completed step and sums usage" { case_rate_limit_pauses_then_resume_skips; }
@test "podman claude: 'credit balance is too low' pauses within 60 s with a readable error" { case_credit_pauses; }
@test "podman claude: a subscription session limit pauses with the reset time of its rate_limit_event" { case_session_limit_reset_time; }
@test "podman claude: a bad key fails the task" { case_bad_key_fails; }
@test "podman claude: two 529s are absorbed without a pause" { case_blip_absorbed; }
@test "podman codex: success records tokens" { case_success_records_usage; }
@test "podman codex: a 429 pauses within 60 s; resume skips the completed step" { case_rate_limit_pauses_then_resume_skips; }
@test "podman codex: insufficient_quota pauses within 60 s" { case_credit_pauses; }
@test "podman codex: a bad key fails the task" { case_bad_key_fails; }
@test "podman codex: two 503s are absorbed by the runner's retries" { case_blip_absorbed; }
@test "podman gemini: success records tokens" { case_success_records_usage; }
@test "podman gemini: RESOURCE_EXHAUSTED with RetryInfo pauses within 60 s with a reset time; resume skips" { case_rate_limit_pauses_then_resume_skips; }
@test "podman gemini: the daily quota pauses within 60 s, never retried in-process" { case_credit_pauses; }
@test "podman gemini: two 503s are absorbed by the runner's retries" { case_blip_absorbed; }
@test "podman login: a shared login is one read-only copy, only when asked; the rest of the home stays out" { case_login_copy_read_only; }
