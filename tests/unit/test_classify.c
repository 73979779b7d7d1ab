/* Unit tests for agent-runner/classify: every rule of classify.h both ways,
 * our fixes (5xx/529/overloaded transient, timeouts never retryable, credit
 * balance retryable, auth not), JSON error objects, and reset-time parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/classify.h"
#include "common/cleanup.h"
#include "common/timeutil.h"

static void check_transient(const char *text, bool want)
{
	if (classify_is_transient(text) != want)
		fail_msg("classify_is_transient(\"%s\") should be %s", text ? text : "(null)",
			 want ? "true" : "false");
}

static void check_retryable(const char *text, bool want)
{
	if (classify_is_retryable(text, NULL) != want)
		fail_msg("classify_is_retryable(\"%s\") should be %s", text,
			 want ? "true" : "false");
}

static void test_classify_transient_reference_rules(void **state)
{
	(void)state;
	const char *yes[] = {
		"connect ECONNREFUSED 127.0.0.1:443",
		"request failed: etimedout",
		"ENETUNREACH",
		"Network error while streaming",
		"network_error",
		"network-error",
		"Connection failed",
		"connection_refused by host",
		"connection-reset by peer",
		"Too many requests",
		"too_many_requests",
		"HTTP 429",
		"status=429;",
		"(429)",
		"429",
	};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		check_transient(yes[i], true);
		check_retryable(yes[i], true); /* transient that persists pauses */
	}
	const char *no[] = {
		"networkerror", /* no separator */
		"connection established",
		"too many files open",
		"error 4291",
		"id 14290",
		"x429",
		"429x",
		"a_429",
		"step execution timeout after 300s",
		"timeout",
		"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		check_transient(no[i], false);
	check_transient(NULL, false);
}

static void test_classify_server_errors_are_transient(void **state)
{
	(void)state;
	const char *yes[] = {
		"API Error: 500 Internal Server Error",
		"HTTP 503",
		"529 Overloaded",
		"status 599",
		"{\"type\":\"overloaded_error\"}",
		"Overloaded",
		"Service Unavailable",
		"502 bad gateway",
		"Gateway Timeout",
		/* Codex's words for a provider 5xx (tests/fixtures/agents/codex/server_error). */
		"We\u2019re currently experiencing high demand, which may cause temporary errors.",
		"high-demand",
	};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		check_transient(yes[i], true);
		check_retryable(yes[i], true);
	}
	const char *no[] = {"5000 tokens", "took 50 ms", "error 600", "5290",
			    "1500x",       "v5.00",      "highdemand"};
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		check_transient(no[i], false);
}

static void test_classify_retryable_reference_rules(void **state)
{
	(void)state;
	const char *yes[] = {
		"Rate limit exceeded",
		"rate_limit_error",
		"rate-limit",
		"credit limit reached",
		"credit_exhausted",
		"billing limit",
		"billing error",
		"quota exhausted",
		"Quota exceeded for project",
		"quota_limit",
		"You've hit your limit",
		"Claude AI usage limit reached|1749924000",
		"plan limit",
		"connection timeout",
		"Connection timed out",
	};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		check_retryable(yes[i], true);
	const char *no[] = {
		"step execution timeout after 300s", /* generic timeout: never pauses */
		"Command timed out",
		"Invalid API key · Please run /login",
		"401 Unauthorized",
		"authentication_error",
		"syntax error in file",
	};
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		check_retryable(no[i], false);
	/* "RateLimitError" (one word) counts too */
	check_retryable("openai.RateLimitError: slow down", true);
}

static void test_classify_retryable_fixes(void **state)
{
	(void)state;
	/* "insufficient credit balance" pauses from plain text too (ACP mode). */
	check_retryable("Your credit balance is too low to access the Anthropic API", true);
	check_retryable("insufficient credit balance", true);
	check_retryable("Error: insufficient_quota", true);
	check_retryable("You exceeded your current quota, please check your plan", true);
	check_retryable("billing issue on the account", true);
	check_retryable("account balance is zero", true);
	check_retryable("5-hour limit reached ∙ resets 2pm", true);
	check_retryable("Weekly limit reached", true);
	/* conjunctions stay within one line and need word starts */
	check_retryable("credit card saved\nlimit of 3 files", false);
	check_retryable("load balancer is too slow", false);
	/* a context window overflow is not a quota: retrying cannot help */
	check_retryable("prompt is too long: token limit exceeded", false);
}

static void test_classify_error_retryable_output(void **state)
{
	(void)state;
	assert_true(classify_is_retryable("whatever", "true"));
	assert_false(classify_is_retryable("whatever", "false"));
	assert_false(classify_is_retryable("whatever", "TRUE")); /* exactly "true" */
	assert_false(classify_is_retryable("whatever", ""));
	assert_false(classify_is_retryable(NULL, NULL));
}

static void test_classify_command_exit(void **state)
{
	(void)state;
	assert_true(classify_command_exit(75));
	assert_false(classify_command_exit(0));
	assert_false(classify_command_exit(1));
	assert_false(classify_command_exit(2));
	assert_false(classify_command_exit(-1));
}

static void check_agent(const char *out, const char *err, bool timed_out, enum classify_code code,
			bool retryable)
{
	struct classify_result r = {.code = CLASSIFY_PERMISSION, .retryable = !retryable};
	classify_agent_failure(out, err, timed_out, &r);
	if (r.code != code || r.retryable != retryable)
		fail_msg("stdout=\"%s\" stderr=\"%s\": got %s/%d, want %s/%d", out ? out : "(null)",
			 err ? err : "(null)", classify_code_name(r.code), r.retryable,
			 classify_code_name(code), retryable);
}

static void test_classify_agent_auth_prompt_and_timeout(void **state)
{
	(void)state;
	check_agent("", "Please visit the following URL to authorize this application", false,
		    CLASSIFY_AUTH, false);
	check_agent("", "Enter the authorization code:", true, CLASSIFY_AUTH, false);
	check_agent("", "open https://accounts.google.com/o/oauth2/v2/auth?x=1", false,
		    CLASSIFY_AUTH, false);
	check_agent("", "Failed to authenticate. Retrying in 5s", false, CLASSIFY_AUTH, false);
	/* the prompt only counts on stderr */
	check_agent("Enter the authorization code:", "", false, CLASSIFY_GENERIC, false);
	/* a timeout is never retryable, even with rate-limit text around */
	check_agent("", "step timed out after 300s", true, CLASSIFY_TIMEOUT, false);
	check_agent("", "rate limit", true, CLASSIFY_TIMEOUT, false);
}

static void test_classify_agent_json_objects(void **state)
{
	(void)state;
	check_agent("",
		    "log line\n{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
		    "\"message\":\"slow down\"}}\n",
		    false, CLASSIFY_RATE_LIMIT, true);
	/* auth-looking but about money: retryable */
	check_agent("",
		    "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
		    "\"message\":\"Your credit balance is too low\"}}",
		    false, CLASSIFY_RATE_LIMIT, true);
	check_agent("",
		    "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
		    "\"message\":\"invalid x-api-key\"}}",
		    false, CLASSIFY_AUTH, false);
	check_agent("", "{\"error\":{\"message\":\"Invalid API key provided\"}}", false,
		    CLASSIFY_AUTH, false);
	check_agent("",
		    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
		    "\"message\":\"Overloaded\"}}",
		    false, CLASSIFY_SERVER, true);
	check_agent("", "{\"error\":{\"code\":503,\"message\":\"x\",\"status\":\"UNAVAILABLE\"}}",
		    false, CLASSIFY_SERVER, true);
	check_agent("",
		    "[API Error] {\"error\":{\"code\":429,\"message\":\"Resource has been "
		    "exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
		    false, CLASSIFY_RATE_LIMIT, true);
	check_agent("", "{\"error\":{\"code\":\"401\"}}", false, CLASSIFY_AUTH, false);
	check_agent("", "{\"error\":{\"type\":\"tool_use_error\"}}", false, CLASSIFY_TOOL, false);
	check_agent("", "{\"error\":{\"type\":\"model_not_available\"}}", false,
		    CLASSIFY_INVALID_MODEL, false);
	check_agent("", "{\"error\":{\"type\":\"permission_error\"}}", false, CLASSIFY_PERMISSION,
		    false);
	check_agent("", "{\"error\":{\"code\":403}}", false, CLASSIFY_PERMISSION, false);
	/* "generate" contains "rate" but is no rate limit */
	check_agent("", "{\"error\":{\"type\":\"generate_failed\"}}", false, CLASSIFY_GENERIC,
		    false);
	/* Claude's result object on stdout; the message decides through the text rules */
	check_agent("{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,"
		    "\"result\":\"Claude AI usage limit reached|1749924000\"}",
		    "", false, CLASSIFY_RATE_LIMIT, true);
	/* is_error false is not an error object; braces in strings do not confuse the scan */
	check_agent("{\"is_error\":false,\"result\":\"}{ fine\"}", "", false, CLASSIFY_GENERIC,
		    false);
	/* the last error object wins; prose quotes outside objects are ignored */
	check_agent("",
		    "he said \"{\" then\n{\"error\":{\"type\":\"permission_error\"}}\n"
		    "{\"error\":{\"type\":\"rate_limit_error\"}}",
		    false, CLASSIFY_RATE_LIMIT, true);
	/* stderr's object beats stdout's */
	check_agent("{\"error\":{\"type\":\"rate_limit_error\"}}",
		    "{\"error\":{\"type\":\"tool_error\"}}", false, CLASSIFY_TOOL, false);
	/* broken JSON is ignored, then the text rules apply */
	check_agent("", "{\"error\": {\"type\": \"rate_limit_err", false, CLASSIFY_RATE_LIMIT,
		    true);
}

static void test_classify_agent_json_only_last_8k(void **state)
{
	(void)state;
	size_t pad = 10000;
	const char *obj = "{\"error\":{\"type\":\"tool_error\"}}\n";
	char *big = malloc(strlen(obj) + pad + 1);
	strcpy(big, obj);
	memset(big + strlen(obj), 'x', pad);
	big[strlen(obj) + pad] = '\0';
	/* the object is outside the window: only the text rules see it */
	check_agent("", big, false, CLASSIFY_GENERIC, false);
	free(big);
}

static void test_classify_agent_text_rules(void **state)
{
	(void)state;
	check_agent("", "usage limit reached", false, CLASSIFY_RATE_LIMIT, true);
	check_agent("", "You've hit your limit · resets 2pm", false, CLASSIFY_RATE_LIMIT, true);
	/* money before auth */
	check_agent("", "authentication failed: insufficient credit balance", false,
		    CLASSIFY_RATE_LIMIT, true);
	check_agent("", "Invalid API key · Please run /login", false, CLASSIFY_AUTH, false);
	check_agent("", "HTTP 401", false, CLASSIFY_AUTH, false);
	check_agent("", "Unauthorized", false, CLASSIFY_AUTH, false);
	check_agent("", "not logged in", false, CLASSIFY_AUTH, false);
	/* auth before rate limit (reference order) */
	check_agent("", "401 and 429", false, CLASSIFY_AUTH, false);
	check_agent("", "rate limit", false, CLASSIFY_RATE_LIMIT, true);
	check_agent("", "Too Many Requests", false, CLASSIFY_RATE_LIMIT, true);
	check_agent("", "got 429", false, CLASSIFY_RATE_LIMIT, true);
	check_agent("", "got 4291", false, CLASSIFY_GENERIC, false);
	check_agent("", "FatalToolExecutionError: bad", false, CLASSIFY_TOOL, false);
	check_agent("", "invalid_tool_params", false, CLASSIFY_TOOL, false);
	check_agent("", "File path must be absolute", false, CLASSIFY_TOOL, false);
	check_agent("", "model claude-9 not found", false, CLASSIFY_INVALID_MODEL, false);
	check_agent("", "Unsupported model: x", false, CLASSIFY_INVALID_MODEL, false);
	check_agent("", "connect ECONNREFUSED", false, CLASSIFY_NETWORK, true);
	check_agent("", "network error", false, CLASSIFY_NETWORK, true);
	check_agent("", "connection failed", false, CLASSIFY_NETWORK, true);
	check_agent("", "connection timeout", false, CLASSIFY_NETWORK, true);
	check_agent("", "API Error: 500", false, CLASSIFY_SERVER, true);
	check_agent("", "529 overloaded", false, CLASSIFY_SERVER, true);
	check_agent("", "Permission denied", false, CLASSIFY_PERMISSION, false);
	check_agent("", "Access denied", false, CLASSIFY_PERMISSION, false);
	check_agent("", "Forbidden", false, CLASSIFY_PERMISSION, false);
	check_agent("", "HTTP 403", false, CLASSIFY_PERMISSION, false);
	check_agent("", "segfault", false, CLASSIFY_GENERIC, false);
	check_agent(NULL, NULL, false, CLASSIFY_GENERIC, false);
	/* stdout counts for text rules too */
	check_agent("rate limit", "", false, CLASSIFY_RATE_LIMIT, true);
}

static void test_classify_long_text_is_bounded(void **state)
{
	(void)state;
	/* 1 MB of noise then the error: the tail is what matters. */
	size_t n = 1024 * 1024;
	const char *tail = "\nError: rate limit exceeded\n";
	char *t = malloc(n + strlen(tail) + 1);
	for (size_t i = 0; i < n; i++)
		t[i] = (i % 80 == 79) ? '\n' : "abc 123 "[i % 8];
	strcpy(t + n, tail);
	assert_true(classify_is_retryable(t, NULL));
	/* a match only at the very start, beyond the window, is not seen */
	memcpy(t, "429 ", 4);
	strcpy(t + n, "\nplain failure\n");
	assert_false(classify_is_transient(t));
	free(t);
}

/* The conjunctions are matched as two patterns on one line (linear time);
 * they must mean what "a.*b" meant. */
static void test_classify_conjunctions_on_one_line(void **state)
{
	(void)state;
	check_agent(NULL, "credit balance too low", false, CLASSIFY_RATE_LIMIT, true);
	check_agent(NULL, "credit ok\nbalance", false, CLASSIFY_GENERIC, false);
	check_agent(NULL, "balance\ncredit", false, CLASSIFY_GENERIC, false);
	/* a second "credit" on a later line still pairs with its own line */
	check_agent(NULL, "credit\nnoise\nyour credit limit", false, CLASSIFY_RATE_LIMIT, true);
	/* b must come after a on the line */
	check_agent(NULL, "limit: credit", false, CLASSIFY_GENERIC, false);
	/* SEP may span a newline inside a, as in the regular expression */
	check_agent(NULL, "api\nkey is invalid", false, CLASSIFY_AUTH, false);
	check_agent(NULL, "the model was not found", false, CLASSIFY_INVALID_MODEL, false);
	check_agent(NULL, "model ok\nnot found", false, CLASSIFY_GENERIC, false);
	check_agent(NULL, "failed to authenticate, retrying", false, CLASSIFY_AUTH, false);

	/* In a long text the rules see the last 64 KiB: a conjunction right at
	 * its start counts, with the word start checked as anywhere else. */
	size_t pad = 200000, win = 64 * 1024;
	const char *hit = "credit limit reached for this account";
	char *t = malloc(pad + 1);
	memset(t, 'a', pad);
	t[pad] = '\0';
	memcpy(t + pad - win + 1, hit, strlen(hit));
	t[pad - win] = ' ';
	check_agent(NULL, t, false, CLASSIFY_RATE_LIMIT, true);
	t[pad - win] = 'x'; /* "xcredit" is no "credit" */
	check_agent(NULL, t, false, CLASSIFY_GENERIC, false);
	t[pad - win] = ' ';
	memcpy(t + pad - win - 7, "credit ", 7); /* b in the window, a before it */
	memcpy(t + pad - win + 1, "xxxxxx", 6);
	check_agent(NULL, t, false, CLASSIFY_GENERIC, false);
	free(t);
}

static void test_classify_code_names(void **state)
{
	(void)state;
	assert_string_equal(classify_code_name(CLASSIFY_GENERIC), "GENERIC_ERROR");
	assert_string_equal(classify_code_name(CLASSIFY_AUTH), "AUTHENTICATION_ERROR");
	assert_string_equal(classify_code_name(CLASSIFY_RATE_LIMIT), "RATE_LIMIT_ERROR");
	assert_string_equal(classify_code_name(CLASSIFY_TIMEOUT), "TIMEOUT_ERROR");
	assert_string_equal(classify_code_name(CLASSIFY_NETWORK), "NETWORK_ERROR");
	assert_string_equal(classify_code_name(CLASSIFY_SERVER), "SERVER_ERROR");
	assert_string_equal(classify_code_name(CLASSIFY_TOOL), "TOOL_EXECUTION_ERROR");
	assert_string_equal(classify_code_name(CLASSIFY_INVALID_MODEL), "INVALID_MODEL_ERROR");
	assert_string_equal(classify_code_name(CLASSIFY_PERMISSION), "PERMISSION_ERROR");
}

/* ---- reset times ---- */

static int64_t iso(const char *s)
{
	int64_t ms = 0;
	if (!timeutil_parse_iso(s, &ms))
		fail_msg("bad ISO in test: %s", s);
	return ms;
}

static void check_reset(const char *text, const char *now, const char *want)
{
	int64_t got = -1;
	bool ok = classify_reset_time(text, iso(now), &got);
	if (!want) {
		if (ok) {
			char b[TIMEUTIL_ISO_LEN];
			fail_msg("\"%s\" at %s: want no reset time, got %s", text, now,
				 timeutil_format_iso(got, b));
		}
		return;
	}
	if (!ok)
		fail_msg("\"%s\" at %s: no reset time found, want %s", text, now, want);
	if (got != iso(want)) {
		char b[TIMEUTIL_ISO_LEN];
		fail_msg("\"%s\" at %s: got %s, want %s", text, now, timeutil_format_iso(got, b),
			 want);
	}
}

#define NOW "2026-11-22T10:00:00Z"

static void test_classify_reset_relative(void **state)
{
	(void)state;
	check_reset("Please retry after 120 seconds", NOW, "2026-11-22T10:02:00Z");
	check_reset("Retry-After: 30", NOW, "2026-11-22T10:00:30Z");
	check_reset("Please retry after 30.", NOW, "2026-11-22T10:00:30Z");
	check_reset("retry after 2026-11-23", NOW, NULL); /* a date, not 2026 s */
	check_reset("retry after 14:30", NOW, "2026-11-22T14:30:00Z");
	check_reset("try again after 2pm", NOW, "2026-11-22T14:00:00Z");
	check_reset("\"retry_after\": 45", NOW, "2026-11-22T10:00:45Z");
	check_reset("try again in 5 minutes", NOW, "2026-11-22T10:05:00Z");
	check_reset("Please try again in 7.042s.", NOW, "2026-11-22T10:00:07.042Z");
	check_reset("Please try again in 1m9.6s", NOW, "2026-11-22T10:01:09.600Z");
	check_reset("Please try again in 20ms", NOW, "2026-11-22T10:00:00.020Z");
	check_reset("retry in 1 hour and 30 minutes", NOW, "2026-11-22T11:30:00Z");
	check_reset("limit resets in 2h", NOW, "2026-11-22T12:00:00Z");
	check_reset("try again in a few minutes", NOW, NULL);
	check_reset("retry in 3 attempts", NOW, NULL);
	check_reset("retry after 400 days", NOW, NULL); /* too far to be a reset */
	check_reset("retry after 99999999999999 seconds", NOW, NULL);
}

static void test_classify_reset_clock_times(void **state)
{
	(void)state;
	check_reset("5-hour limit reached ∙ resets 2pm", NOW, "2026-11-22T14:00:00Z");
	check_reset("resets 2 PM", NOW, "2026-11-22T14:00:00Z");
	check_reset("resets at 14:30", NOW, "2026-11-22T14:30:00Z");
	check_reset("resets 2:30pm (UTC)", NOW, "2026-11-22T14:30:00Z");
	check_reset("Your limit will reset at 11am.", NOW, "2026-11-22T11:00:00Z");
	/* already passed today: the next day */
	check_reset("resets 9am", NOW, "2026-11-23T09:00:00Z");
	check_reset("resets 12am", NOW, "2026-11-23T00:00:00Z");
	check_reset("resets 12pm", NOW, "2026-11-22T12:00:00Z");
	/* wrap across a month end */
	check_reset("resets 1am", "2026-11-30T23:30:00Z", "2026-12-01T01:00:00Z");
	/* a few minutes ago: the provider's clock, not tomorrow */
	check_reset("resets 10am", "2026-11-22T10:05:00Z", "2026-11-22T10:00:00Z");
	check_reset("resets 10am", "2026-11-22T10:11:00Z", "2026-11-23T10:00:00Z");
	/* offsets */
	check_reset("resets 2pm (UTC+2)", NOW, "2026-11-22T12:00:00Z");
	check_reset("resets 9am (UTC+2)", NOW, "2026-11-23T07:00:00Z");
	check_reset("resets 2:30pm GMT-05:30", NOW, "2026-11-22T20:00:00Z");
	check_reset("resets 14:00 +01:00", NOW, "2026-11-22T13:00:00Z");
	check_reset("resets 3pm PST", NOW, "2026-11-22T23:00:00Z");
	/* local day differs from the UTC day */
	check_reset("resets 1am (UTC+9)", "2026-11-22T20:00:00Z", "2026-11-23T16:00:00Z");
	/* a zone we cannot resolve: no guess */
	check_reset("resets 2pm (America/Los_Angeles)", NOW, NULL);
	/* not times */
	check_reset("resets 3", NOW, NULL);
	check_reset("resets 25:00", NOW, NULL);
	check_reset("resets 13pm", NOW, NULL);
	check_reset("connection reset by peer", NOW, NULL);
	check_reset("no reset time here", NOW, NULL);
	check_reset("", NOW, NULL);
}

static void test_classify_reset_dates_and_epochs(void **state)
{
	(void)state;
	check_reset("reset at 2026-11-22T15:00:00Z", NOW, "2026-11-22T15:00:00Z");
	check_reset("resets at 2026-11-22T17:00:00+02:00.", NOW, "2026-11-22T15:00:00Z");
	check_reset("reset at 2025-01-01T00:00:00Z", NOW, NULL); /* long past */
	check_reset("Weekly limit reached ∙ resets Nov 25 at 10am", NOW, "2026-11-25T10:00:00Z");
	check_reset("resets December 1, 9:00am (UTC)", NOW, "2026-12-01T09:00:00Z");
	/* said in December about January: next year */
	check_reset("resets Jan 3 at 1am", "2026-12-30T10:00:00Z", "2027-01-03T01:00:00Z");
	check_reset("resets Feb 30 at 1am", NOW, NULL);
	check_reset("Claude AI usage limit reached|1795341600", NOW, "2026-11-22T10:00:00Z");
	check_reset("usage limit reached|1795345200000", NOW, "2026-11-22T11:00:00Z");
	check_reset("usage limit reached|17954", NOW, NULL);
	/* the latest mention wins */
	check_reset("retry after 10 seconds\nlater: retry after 60 seconds", NOW,
		    "2026-11-22T10:01:00Z");
	check_reset("resets 2pm ... try again in 1 minute", NOW, "2026-11-22T10:01:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_transient_reference_rules),
		cmocka_unit_test(test_classify_server_errors_are_transient),
		cmocka_unit_test(test_classify_retryable_reference_rules),
		cmocka_unit_test(test_classify_retryable_fixes),
		cmocka_unit_test(test_classify_error_retryable_output),
		cmocka_unit_test(test_classify_command_exit),
		cmocka_unit_test(test_classify_agent_auth_prompt_and_timeout),
		cmocka_unit_test(test_classify_agent_json_objects),
		cmocka_unit_test(test_classify_agent_json_only_last_8k),
		cmocka_unit_test(test_classify_agent_text_rules),
		cmocka_unit_test(test_classify_conjunctions_on_one_line),
		cmocka_unit_test(test_classify_long_text_is_bounded),
		cmocka_unit_test(test_classify_code_names),
		cmocka_unit_test(test_classify_reset_relative),
		cmocka_unit_test(test_classify_reset_clock_times),
		cmocka_unit_test(test_classify_reset_dates_and_epochs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
