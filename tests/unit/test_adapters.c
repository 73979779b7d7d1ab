/* Unit tests for agent-runner/adapters: every fixture captured from the real
 * CLIs (tests/fixtures/agents/<cli>/<case>, tests/agents/capture-fixtures.sh)
 * is read and judged the way the runner does, and must come out as a user
 * needs it: answer and usage on success, a pause (not an in-process retry)
 * with the reset time on a rate limit or exhausted credit, a fail on a bad
 * key, an in-process retry on an overload.  Plus the argv/environment the
 * adapters build and the usage document summed across runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent-runner/adapters.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/jsonutil.h"

static char *fixture(const char *cli, const char *c, const char *file)
{
	_cleanup_free_ char *dir = fileio_dirname(__FILE__);
	return xasprintf("%s/../fixtures/agents/%s/%s/%s", dir, cli, c, file);
}

static char *read_fixture(const char *cli, const char *c, const char *file)
{
	_cleanup_free_ char *path = fixture(cli, c, file);
	char *buf = NULL;
	struct rv_error *err = NULL;
	if (fileio_read_bounded(path, 4u << 20, &buf, NULL, &err) < 0)
		fail_msg("%s: %s", path, rv_error_msg(err));
	return buf;
}

enum want { WANT_OK, WANT_RETRY, WANT_PAUSE, WANT_FAIL };
enum want_reset { R_NONE, R_ANY, R_EPOCH_EVENT, R_IN_20S };

struct fcase {
	const char *cli, *name;
	enum want want;
	enum want_reset reset;
	bool cost;        /* dollars reported */
	const char *code; /* classify code name, or NULL when OK */
};

static const struct fcase cases[] = {
	{"claude", "success", WANT_OK, R_NONE, true, NULL},
	{"claude", "rate_limit", WANT_PAUSE, R_NONE, false, "RATE_LIMIT_ERROR"},
	{"claude", "rate_limit_noreset", WANT_PAUSE, R_NONE, false, "RATE_LIMIT_ERROR"},
	/* Two 529s: Claude's one retry is spent; the runner retries in-process. */
	{"claude", "blip", WANT_RETRY, R_NONE, false, "SERVER_ERROR"},
	{"claude", "server_error", WANT_RETRY, R_NONE, false, "SERVER_ERROR"},
	{"claude", "credit", WANT_PAUSE, R_NONE, false, "RATE_LIMIT_ERROR"},
	{"claude", "bad_key", WANT_FAIL, R_NONE, false, "AUTHENTICATION_ERROR"},
	{"claude", "session_limit", WANT_PAUSE, R_EPOCH_EVENT, false, "RATE_LIMIT_ERROR"},
	{"claude", "session_limit_zone", WANT_PAUSE, R_EPOCH_EVENT, false, "RATE_LIMIT_ERROR"},
	{"codex", "success", WANT_OK, R_NONE, false, NULL},
	{"codex", "rate_limit", WANT_PAUSE, R_NONE, false, "RATE_LIMIT_ERROR"},
	{"codex", "rate_limit_noreset", WANT_PAUSE, R_NONE, false, "RATE_LIMIT_ERROR"},
	/* Codex does not retry (its retries sleep the whole retry-after): the
	 * runner's own in-process retries absorb a blip. */
	{"codex", "blip", WANT_RETRY, R_NONE, false, "SERVER_ERROR"},
	{"codex", "server_error", WANT_RETRY, R_NONE, false, "SERVER_ERROR"},
	{"codex", "credit", WANT_PAUSE, R_NONE, false, "RATE_LIMIT_ERROR"},
	{"codex", "bad_key", WANT_FAIL, R_NONE, false, "AUTHENTICATION_ERROR"},
	{"gemini", "success", WANT_OK, R_NONE, false, NULL},
	{"gemini", "rate_limit", WANT_PAUSE, R_IN_20S, false, "RATE_LIMIT_ERROR"},
	{"gemini", "rate_limit_noreset", WANT_PAUSE, R_NONE, false, "RATE_LIMIT_ERROR"},
	{"gemini", "blip", WANT_RETRY, R_NONE, false, "SERVER_ERROR"},
	{"gemini", "server_error", WANT_RETRY, R_NONE, false, "SERVER_ERROR"},
	/* "You have exhausted your daily quota": a pause, never a retry. */
	{"gemini", "credit", WANT_PAUSE, R_NONE, false, "RATE_LIMIT_ERROR"},
	{"gemini", "bad_key", WANT_FAIL, R_NONE, false, NULL},
};

/* The resetsAt of the fixture's rate_limit_event, in ms. */
static int64_t event_reset_ms(const char *out)
{
	const char *p = strstr(out, "\"resetsAt\":");
	assert_non_null(p);
	return strtoll(p + 11, NULL, 10) * 1000;
}

static void check_case(const struct fcase *c)
{
	_cleanup_free_ char *out = read_fixture(c->cli, c->name, "stdout");
	_cleanup_free_ char *err = read_fixture(c->cli, c->name, "stderr");
	_cleanup_free_ char *rc_text = read_fixture(c->cli, c->name, "exit_code");
	_cleanup_free_ char *version = read_fixture(c->cli, c->name, "version");
	assert_true(strlen(version) > 3);
	int rc = atoi(rc_text);
	const int64_t now = INT64_C(1795638000000);
	_cleanup_(adapter_report_release) struct adapter_report rep = {0};
	adapter_parse(c->cli, out, err, now, &rep);
	if (!rep.structured)
		fail_msg("%s/%s: no structured output read", c->cli, c->name);
	if (c->want == WANT_OK) {
		if (rc != 0 || rep.error || !rep.answer)
			fail_msg("%s/%s: expected success, rc %d error %s", c->cli, c->name, rc,
				 rep.error ? rep.error : "-");
		assert_string_equal(rep.answer, "The stub provider says hello. Done.");
		assert_true(rep.usage.has_usage);
		/* The stub answers every model request with 1234 in / 56 out. */
		assert_true(rep.usage.input_tokens >= 1234 && rep.usage.input_tokens % 1234 == 0);
		assert_true(rep.usage.output_tokens >= 56 && rep.usage.output_tokens % 56 == 0);
		assert_int_equal(rep.usage.has_cost, c->cost);
		if (c->cost)
			assert_true(rep.usage.cost_usd > 0);
		return;
	}
	if (rc == 0)
		fail_msg("%s/%s: fixture exited 0", c->cli, c->name);
	if (!rep.error)
		fail_msg("%s/%s: the CLI's error message was not read", c->cli, c->name);
	/* Readable: one message, not a stack trace. */
	if (strstr(rep.error, "    at ") || strstr(rep.error, "[object Object]"))
		fail_msg("%s/%s: unreadable error: %s", c->cli, c->name, rep.error);
	struct adapter_verdict v;
	adapter_judge(&rep, out, err, rep.error, rc, false, &v);
	free(v.full_text);
	enum want got = v.transient ? WANT_RETRY : v.retryable ? WANT_PAUSE : WANT_FAIL;
	if (got != c->want)
		fail_msg("%s/%s: judged %d (code %s), expected %d; error: %s", c->cli, c->name, got,
			 classify_code_name(v.cls.code), c->want, rep.error);
	if (c->code && strcmp(classify_code_name(v.cls.code), c->code))
		fail_msg("%s/%s: code %s, expected %s", c->cli, c->name,
			 classify_code_name(v.cls.code), c->code);
	switch (c->reset) {
	case R_NONE:
		break;
	case R_ANY:
		assert_true(rep.reset_at_ms > 0);
		break;
	case R_EPOCH_EVENT:
		assert_int_equal(rep.reset_at_ms, event_reset_ms(out));
		break;
	case R_IN_20S:
		/* "Please retry in 20.5s." */
		assert_int_equal(rep.reset_at_ms, now + 20500);
		break;
	}
	if (c->want == WANT_PAUSE && strcmp(c->name, "rate_limit_noreset") &&
	    strcmp(c->name, "rate_limit"))
		assert_true(rep.not_transient || v.cls.code == CLASSIFY_RATE_LIMIT);
}

static void test_adapters_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* Claude prints the zone the process runs in; with TZ=UTC (what the
 * adapter sets) the text alone gives the reset too. */
static void test_adapters_claude_text_reset_utc(void **state)
{
	(void)state;
	const char *out = "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,"
			  "\"api_error_status\":429,\"result\":\"You've hit your session limit "
			  "\\u00b7 resets 9:37pm (UTC)\",\"total_cost_usd\":0}\n";
	_cleanup_(adapter_report_release) struct adapter_report rep = {0};
	/* 2026-11-25T20:00:00Z */
	adapter_parse("claude", out, "", INT64_C(1795636800000), &rep);
	assert_true(rep.structured);
	assert_int_equal(rep.http_status, 429);
	assert_int_equal(rep.reset_at_ms, INT64_C(1795636800000) + (97 * 60) * 1000);
}

/* Run in another zone, Claude names it: resolved with the tz database. */
static void test_adapters_claude_text_reset_named_zone(void **state)
{
	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		skip();
	const char *out = "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,"
			  "\"api_error_status\":429,\"result\":\"You've hit your session limit "
			  "\\u00b7 resets 10:37pm (Europe/Berlin)\"}\n";
	_cleanup_(adapter_report_release) struct adapter_report rep = {0};
	/* 2026-11-25T20:00:00Z; Berlin is UTC+1 in November: 21:37Z. */
	adapter_parse("claude", out, "", INT64_C(1795636800000), &rep);
	assert_int_equal(rep.reset_at_ms, INT64_C(1795636800000) + (97 * 60) * 1000);
	assert_null(getenv("TZ") && !strcmp(getenv("TZ"), "Europe/Berlin") ? "TZ leaked" : NULL);
	/* A zone the database does not have is not guessed at. */
	const char *bad = "{\"type\":\"result\",\"is_error\":true,\"result\":\"You've hit your "
			  "session limit \\u00b7 resets 10:37pm (Mars/Olympus_Mons)\"}\n";
	_cleanup_(adapter_report_release) struct adapter_report rep2 = {0};
	adapter_parse("claude", bad, "", INT64_C(1795636800000), &rep2);
	assert_int_equal(rep2.reset_at_ms, 0);
}

static void test_adapters_unstructured_falls_back(void **state)
{
	(void)state;
	_cleanup_(adapter_report_release) struct adapter_report rep = {0};
	adapter_parse("claude", "plain text answer\n{\"done\": true}\n", "", 0, &rep);
	assert_false(rep.structured);
	assert_null(rep.answer);
	assert_null(rep.error);
	assert_false(rep.usage.has_usage);
}

static const char *env_none(const char *name)
{
	(void)name;
	return NULL;
}

static const char *env_keys(const char *name)
{
	if (!strcmp(name, "OPENAI_API_KEY") || !strcmp(name, "GEMINI_API_KEY"))
		return "k";
	if (!strcmp(name, "OPENAI_BASE_URL"))
		return "http://127.0.0.1:9/v1";
	if (!strcmp(name, "CLAUDE_CODE_MAX_RETRIES"))
		return "7";
	return NULL;
}

static bool has(char **v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static void test_adapters_prepare(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/test-adapters-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char **argv = NULL, **env = NULL;
	struct rv_error *err = NULL;

	struct adapter_ctx c = {
		.tool = "claude", .as_root = true, .scratch_dir = tmpl, .getenv_fn = env_none};
	assert_int_equal(adapter_prepare(&c, "P", &argv, &env, &err), 0);
	assert_string_equal(argv[0], "claude");
	assert_true(has(argv, "stream-json") && has(argv, "--verbose"));
	assert_true(has(env, "IS_SANDBOX=1") && has(env, "TZ=UTC"));
	assert_true(has(env, "CLAUDE_CODE_MAX_RETRIES=0"));
	adapter_strv_free(argv);
	adapter_strv_free(env);

	/* Not root: no IS_SANDBOX; the user's retry setting wins. */
	c.as_root = false;
	c.getenv_fn = env_keys;
	assert_int_equal(adapter_prepare(&c, "P", &argv, &env, &err), 0);
	assert_false(has(env, "IS_SANDBOX=1"));
	assert_false(has(env, "CLAUDE_CODE_MAX_RETRIES=0"));
	adapter_strv_free(argv);
	adapter_strv_free(env);

	c.tool = "codex";
	c.model = "gpt-5";
	assert_int_equal(adapter_prepare(&c, "P", &argv, &env, &err), 0);
	assert_string_equal(argv[0], "codex");
	assert_string_equal(argv[1], "exec");
	assert_true(has(argv, "--json") && has(argv, "--skip-git-repo-check"));
	assert_true(has(argv, "model_providers.rover.base_url=\"http://127.0.0.1:9/v1\""));
	assert_true(has(argv, "model_providers.rover.request_max_retries=0"));
	size_t n = 0;
	while (argv[n])
		n++;
	assert_string_equal(argv[n - 1], "P");
	assert_string_equal(argv[n - 2], "gpt-5");
	adapter_strv_free(argv);
	adapter_strv_free(env);

	c.tool = "gemini";
	c.model = NULL;
	assert_int_equal(adapter_prepare(&c, "P", &argv, &env, &err), 0);
	assert_true(has(argv, "stream-json") && has(env, "GEMINI_CLI_TRUST_WORKSPACE=true"));
	/* No model named: the CLI's default, explicitly (no "auto" router). */
	assert_true(has(argv, "--model") && has(argv, "gemini-2.5-pro"));
	_cleanup_free_ char *settings = xasprintf("%s/gemini/.gemini/settings.json", tmpl);
	_cleanup_json_ struct json_object *s = NULL;
	assert_int_equal(jsonutil_read_object(settings, &s, &err), 0);
	assert_string_equal(
		jsonutil_get_str(jsonutil_get_obj(jsonutil_get_obj(s, "security"), "auth"),
				 "selectedType"),
		"gemini-api-key");
	struct stat st;
	_cleanup_free_ char *gh = xasprintf("%s/gemini", tmpl);
	assert_int_equal(stat(gh, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	adapter_strv_free(argv);
	adapter_strv_free(env);
	assert_int_equal(fileio_remove_tree(tmpl, &err), 0);
}

static void test_adapters_usage_summed(void **state)
{
	(void)state;
	struct agent_usage a = {.input_tokens = 10,
				.output_tokens = 2,
				.cost_usd = 0.25,
				.has_usage = true,
				.has_cost = true};
	struct agent_usage b = {.input_tokens = 5, .output_tokens = 1, .has_usage = true};
	_cleanup_json_ struct json_object *d1 = adapter_usage_record(NULL, "s1", &a);
	/* A resume starts from the checkpoint's document. */
	_cleanup_json_ struct json_object *d2 = adapter_usage_record(d1, "s1", &a);
	_cleanup_json_ struct json_object *d3 = adapter_usage_record(d2, "s2", &b);
	int64_t v = 0;
	assert_true(jsonutil_get_int64(d3, "inputTokens", &v));
	assert_int_equal(v, 25);
	assert_true(jsonutil_get_int64(d3, "agentRuns", &v));
	assert_int_equal(v, 3);
	struct json_object *cost = NULL;
	assert_true(json_object_object_get_ex(d3, "costUsd", &cost));
	assert_true(json_object_get_double(cost) > 0.4999 && json_object_get_double(cost) < 0.5001);
	struct json_object *s1 = jsonutil_get_obj(jsonutil_get_obj(d3, "steps"), "s1");
	assert_true(jsonutil_get_int64(s1, "outputTokens", &v));
	assert_int_equal(v, 4);
	/* d1 was not changed by the later records. */
	assert_true(jsonutil_get_int64(d1, "inputTokens", &v));
	assert_int_equal(v, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adapters_fixtures),
		cmocka_unit_test(test_adapters_claude_text_reset_utc),
		cmocka_unit_test(test_adapters_claude_text_reset_named_zone),
		cmocka_unit_test(test_adapters_unstructured_falls_back),
		cmocka_unit_test(test_adapters_prepare),
		cmocka_unit_test(test_adapters_usage_summed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
