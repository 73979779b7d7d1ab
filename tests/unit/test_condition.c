/* Unit tests for agent-runner/condition: every rule of the workflow format 1.0
 * "Conditions" for condition_eval(), and the parser's syntax check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent-runner/condition.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"

static struct json_object *steps_json(const char *text)
{
	struct json_object *o = NULL;
	assert_int_equal(jsonutil_parse(text, strlen(text), "test", &o, NULL), 0);
	return o;
}

/* Evaluate and check both the result and whether a warning came back. */
static void check(const char *expr, struct json_object *steps, bool want, bool want_warning)
{
	char *warning = (char *)"sentinel";
	bool got = condition_eval(expr, steps, &warning);
	if (got != want || (warning != NULL) != want_warning)
		fail_msg("condition_eval(\"%s\") = %d warning=%s, want %d warning=%d", expr, got,
			 warning ? warning : "(null)", want, want_warning);
	free(warning);
}

static void test_condition_equal_and_not_equal(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *s =
		steps_json("{\"run_tests\": {\"exit_code\": \"0\"}, \"b\": {\"x\": \"1\"}}");
	check("steps.run_tests.outputs.exit_code == 0", s, true, false);
	check("steps.run_tests.outputs.exit_code == 1", s, false, false);
	check("steps.run_tests.outputs.exit_code != 0", s, false, false);
	check("steps.run_tests.outputs.exit_code != 1", s, true, false);
	/* no spaces around the operator */
	check("steps.b.outputs.x==1", s, true, false);
	check("steps.b.outputs.x!=1", s, false, false);
	/* hyphens and underscores in ids and names */
	_cleanup_json_ struct json_object *h =
		steps_json("{\"run-tests\": {\"exit-code\": \"0\"}}");
	check("steps.run-tests.outputs.exit-code == 0", h, true, false);
}

static void test_condition_missing_step_or_output_is_undefined(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *s =
		steps_json("{\"a\": {\"x\": \"1\"}, \"n\": {\"x\": null}, \"notobj\": \"str\"}");
	check("steps.missing.outputs.x == 1", s, false, false);
	check("steps.missing.outputs.x != 1", s, true, false);
	check("steps.a.outputs.missing == 1", s, false, false);
	check("steps.a.outputs.missing != 1", s, true, false);
	/* a JSON null output and a step that is not an object are undefined too */
	check("steps.n.outputs.x == null", s, false, false);
	check("steps.n.outputs.x != null", s, true, false);
	check("steps.notobj.outputs.x != 1", s, true, false);
	/* no outputs object at all */
	check("steps.a.outputs.x == 1", NULL, false, false);
	check("steps.a.outputs.x != 1", NULL, true, false);
}

static void test_condition_trims_values(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *s =
		steps_json("{\"a\": {\"x\": \"  done\\n\", \"y\": \"two words\"}}");
	check("  steps.a.outputs.x   ==   done  ", s, true, false);
	check("\tsteps.a.outputs.x == done\n", s, true, false);
	check("steps.a.outputs.y == two words", s, true, false);
	check("steps.a.outputs.y == two  words", s, false, false);
}

static void test_condition_normalizes_booleans(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *s = steps_json(
		"{\"r\": {\"t\": \"True\", \"y\": \"YES\", \"f\": \"false\", \"n\": \"No\", "
		"\"s\": \"Passed\", \"b\": true, \"num\": 42}}");
	check("steps.r.outputs.t == true", s, true, false);
	check("steps.r.outputs.t == yes", s, true, false);
	check("steps.r.outputs.y == TRUE", s, true, false);
	check("steps.r.outputs.f == no", s, true, false);
	check("steps.r.outputs.n == FALSE", s, true, false);
	check("steps.r.outputs.n != false", s, false, false);
	check("steps.r.outputs.t == false", s, false, false);
	/* other strings stay case-sensitive */
	check("steps.r.outputs.s == passed", s, false, false);
	check("steps.r.outputs.s == Passed", s, true, false);
	/* non-string JSON values compare by their JSON text */
	check("steps.r.outputs.b == yes", s, true, false);
	check("steps.r.outputs.num == 42", s, true, false);
	check("steps.r.outputs.num == 42.0", s, false, false);
}

static void test_condition_or(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *s =
		steps_json("{\"t\": {\"exit_code\": \"1\"}, \"c\": {\"exit_code\": \"1\"}}");
	check("steps.t.outputs.exit_code == 0 || steps.c.outputs.exit_code != 0", s, true, false);
	check("steps.t.outputs.exit_code == 1 || steps.c.outputs.exit_code == 0", s, true, false);
	check("steps.t.outputs.exit_code == 0 || steps.c.outputs.exit_code == 0", s, false, false);
	check("steps.t.outputs.exit_code == 0 ||   steps.c.outputs.exit_code == 0 || "
	      "steps.c.outputs.exit_code == 1",
	      s, true, false);
}

static void test_condition_or_split_rules(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *s =
		steps_json("{\"a\": {\"v\": \"a||b\", \"w\": \"x || y\", \"z\": \"p ||steps.q\"}, "
			   "\"b\": {\"x\": \"1\"}}");
	/* `||` without whitespace is part of the value */
	check("steps.a.outputs.v == a||b", s, true, false);
	/* `||` with whitespace but not followed by `steps.` is part of the value */
	check("steps.a.outputs.w == x || y", s, true, false);
	/* `||` not followed by whitespace: not a split point */
	check("steps.a.outputs.z == p ||steps.q", s, true, false);
	/* a real split: the first clause is false, the second true */
	check("steps.a.outputs.v == nope || steps.b.outputs.x == 1", s, true, false);
	/* and the value before the split is not extended over it */
	check("steps.a.outputs.w == x || steps.b.outputs.x == 2", s, false, false);
}

static void test_condition_and_is_false_with_warning(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *s = steps_json(
		"{\"a\": {\"x\": \"1\"}, \"b\": {\"y\": \"2\"}, \"c\": {\"v\": \"p && q\"}}");
	check("steps.a.outputs.x == 1 && steps.b.outputs.y == 2", s, false, true);
	check("steps.a.outputs.x == 1 &&steps.b.outputs.y == 2", s, false, true);
	/* even when an OR would have made it true */
	check("steps.a.outputs.x == 1 || steps.a.outputs.x == 1 && steps.b.outputs.y == 2", s,
	      false, true);
	/* `&&` inside a value is not a join */
	check("steps.c.outputs.v == p && q", s, true, false);
	char *w = NULL;
	assert_false(condition_eval("steps.a.outputs.x == 1 && steps.b.outputs.y == 2", s, &w));
	assert_non_null(strstr(w, "&&"));
	assert_null(strchr(w, '\n'));
	free(w);
}

static void test_condition_malformed_and_empty(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *s = steps_json("{\"a\": {\"x\": \"1\"}}");
	check("", s, false, true);
	check("   \t", s, false, true);
	check(NULL, s, false, true);
	check("invalid condition", s, false, true);
	check("steps.a.outputs.x = 1", s, false, true);
	check("steps.a.outputs.x ==", s, false, true);
	check("steps.a.outputs.x ==   ", s, false, true);
	check("steps.a.x == 1", s, false, true);
	check("steps..outputs.x == 1", s, false, true);
	check("steps.a.outputs. == 1", s, false, true);
	check("steps.a b.outputs.x == 1", s, false, true);
	check("inputs.a == 1", s, false, true);
	check("steps.a.outputs.x > 1", s, false, true);
	/* a malformed clause is false, the others still count, and it warns */
	check("steps.a.outputs.x == 1 || steps.bad", s, true, true);
	check("steps.a.outputs.x == 2 || steps.bad", s, false, true);
	/* ret_warning may be NULL */
	assert_false(condition_eval("garbage", s, NULL));
	char *w = NULL;
	assert_false(condition_eval("steps.a.outputs.x = 1", s, &w));
	assert_non_null(strstr(w, "steps.a.outputs.x = 1"));
	free(w);
}

/* Untrusted-input limit: an expression longer than CONDITION_MAX_LEN is
 * refused by the validator and false (with a warning) for the evaluator. */
static void test_condition_length_limit(void **state)
{
	(void)state;
	_cleanup_json_ struct json_object *steps = NULL;
	const char *json = "{\"a\":{\"x\":\"1\"}}";
	assert_int_equal(jsonutil_parse(json, strlen(json), "steps", &steps, NULL), 0);
	const char *clause = "steps.a.outputs.x == 1 || ";
	size_t cl = strlen(clause), n = CONDITION_MAX_LEN / cl + 2;
	char *long_expr = calloc(n * cl + 32, 1);
	for (size_t i = 0; i < n; i++)
		memcpy(long_expr + i * cl, clause, cl);
	strcpy(long_expr + n * cl, "steps.a.outputs.x == 1");
	char *reason = NULL, *warning = NULL;
	assert_false(condition_is_valid(long_expr, &reason));
	assert_non_null(strstr(reason, "longer than 4096 bytes"));
	assert_false(condition_eval(long_expr, steps, &warning));
	assert_non_null(strstr(warning, "longer than 4096 bytes"));
	free(reason);
	free(warning);
	/* just under the limit: still evaluated */
	long_expr[(CONDITION_MAX_LEN / cl) * cl - 4] = '\0';
	assert_true(condition_eval(long_expr, steps, &warning));
	assert_null(warning);
	free(long_expr);
}

static void test_condition_is_valid(void **state)
{
	(void)state;
	char *reason = (char *)"sentinel";
	assert_true(condition_is_valid("steps.a.outputs.x == 1", &reason));
	assert_null(reason);
	assert_true(condition_is_valid("steps.a.outputs.x==1||steps.b-c.outputs.y_z != no", NULL));
	assert_true(condition_is_valid("  steps.a.outputs.x != two words  ", NULL));

	static const char *const bad[] = {
		"",
		"   ",
		"steps.a.outputs.x = 1",
		"steps.a.outputs.x ==",
		"steps.a.outputs.x == 1 ||",
		"|| steps.a.outputs.x == 1",
		"steps.a.outputs.x == 1 || nonsense",
		/* validation splits on every ||: a value cannot hold one */
		"steps.a.outputs.x == a||b",
		"steps.a.outputs.x == 1 && steps.b.outputs.y == 2",
		"steps.a.x == 1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		reason = NULL;
		if (condition_is_valid(bad[i], &reason))
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(reason);
		free(reason);
	}
	assert_false(condition_is_valid(NULL, NULL));
	reason = NULL;
	assert_false(condition_is_valid("steps.a.outputs.x == 1 || oops", &reason));
	assert_non_null(strstr(reason, "\"oops\""));
	free(reason);
	reason = NULL;
	assert_false(
		condition_is_valid("steps.a.outputs.x == 1 && steps.b.outputs.y == 2", &reason));
	assert_non_null(strstr(reason, "&&"));
	free(reason);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_condition_equal_and_not_equal),
		cmocka_unit_test(test_condition_missing_step_or_output_is_undefined),
		cmocka_unit_test(test_condition_trims_values),
		cmocka_unit_test(test_condition_normalizes_booleans),
		cmocka_unit_test(test_condition_or),
		cmocka_unit_test(test_condition_or_split_rules),
		cmocka_unit_test(test_condition_and_is_false_with_warning),
		cmocka_unit_test(test_condition_malformed_and_empty),
		cmocka_unit_test(test_condition_is_valid),
		cmocka_unit_test(test_condition_length_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
