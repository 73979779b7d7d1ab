#!/usr/bin/env bats
# The real agent CLIs as agent steps of rover tasks on Docker (see
# real_agents_cases.bash): pause within 60 s, reset times, resume, cost.
load real_agents_cases

setup_file() { ra_setup_file docker; }

setup() {
	local d=${BATS_TEST_DESCRIPTION#docker }
	ra_setup docker "${d%%:*}"
}
teardown() { ra_teardown; }

@test "docker claude: success records tokens and dollars in status, record, inspect and list" { case_success_records_usage; }
@test "docker claude: a 429 pauses within 60 s; resume skips the completed step and sums usage" { case_rate_limit_pauses_then_resume_skips; }
@test "docker claude: 'credit balance is too low' pauses within 60 s with a readable error" { case_credit_pauses; }
@test "docker claude: a subscription session limit pauses with the reset time of its rate_limit_event" { case_session_limit_reset_time; }
@test "docker claude: a bad key fails the task" { case_bad_key_fails; }
@test "docker claude: two 529s are absorbed without a pause" { case_blip_absorbed; }
@test "docker codex: success records tokens" { case_success_records_usage; }
@test "docker codex: a 429 pauses within 60 s; resume skips the completed step" { case_rate_limit_pauses_then_resume_skips; }
@test "docker codex: insufficient_quota pauses within 60 s" { case_credit_pauses; }
@test "docker codex: a bad key fails the task" { case_bad_key_fails; }
@test "docker codex: two 503s are absorbed by the runner's retries" { case_blip_absorbed; }
@test "docker gemini: success records tokens" { case_success_records_usage; }
@test "docker gemini: RESOURCE_EXHAUSTED with RetryInfo pauses within 60 s with a reset time; resume skips" { case_rate_limit_pauses_then_resume_skips; }
@test "docker gemini: the daily quota pauses within 60 s, never retried in-process" { case_credit_pauses; }
@test "docker gemini: two 503s are absorbed by the runner's retries" { case_blip_absorbed; }
@test "docker login: a shared login is one read-only copy, only when asked; the rest of the home stays out" { case_login_copy_read_only; }
