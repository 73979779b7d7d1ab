/* Unit tests for agent-runner/placeholder: substitution, strict vs lenient,
 * the list of unresolved placeholders, and shell quoting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/placeholder.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"

static struct json_object *inputs, *steps;

static int setup(void **state)
{
	(void)state;
	static const char in[] =
		"{\"title\": \"Fix it\", \"n\": 3, \"flag\": true, "
		"\"quote\": \"it's; rm -rf /\", \"nothing\": null, \"empty\": \"\"}";
	static const char st[] =
		"{\"plan\": {\"file\": \"plan.md\", \"ok\": \"yes\"}, \"run-1\": {\"exit_code\": 0, "
		"\"stdout\": \"a'b\\\"c $(x) `y`\"}, \"bare\": \"not an object\"}";
	if (jsonutil_parse(in, strlen(in), "inputs", &inputs, NULL) < 0 ||
	    jsonutil_parse(st, strlen(st), "steps", &steps, NULL) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_object_put(inputs);
	json_object_put(steps);
	return 0;
}

/* Resolve and compare; want_unresolved NULL means everything resolved. */
static void check(const char *text, unsigned flags, const char *want, const char *want_unresolved)
{
	char *out = NULL, *unresolved = (char *)"sentinel";
	struct rv_error *err = NULL;
	int r = placeholder_resolve(text, inputs, steps, flags, &out, &unresolved, &err);
	if (r < 0)
		fail_msg("placeholder_resolve(\"%s\") failed: %s", text, rv_error_msg(err));
	assert_string_equal(out, want);
	if (want_unresolved)
		assert_string_equal(unresolved, want_unresolved);
	else
		assert_null(unresolved);
	free(out);
	free(unresolved);
}

static void test_placeholder_inputs_and_steps(void **state)
{
	(void)state;
	check("Title: {{inputs.title}}", 0, "Title: Fix it", NULL);
	check("{{ inputs.title }}/{{\tsteps.plan.outputs.file\n}}", 0, "Fix it/plan.md", NULL);
	check("{{steps.run-1.outputs.exit_code}}", 0, "0", NULL);
	/* non-string values by their JSON text */
	check("n={{inputs.n}} flag={{inputs.flag}}", 0, "n=3 flag=true", NULL);
	check("[{{inputs.empty}}]", 0, "[]", NULL);
	check("no placeholders at all", 0, "no placeholders at all", NULL);
	check("", 0, "", NULL);
	check("{{inputs.title}}{{inputs.title}}", 0, "Fix itFix it", NULL);
	/* values are not scanned again */
	_cleanup_json_ struct json_object *in = json_object_new_object();
	jsonutil_set_str(in, "a", "{{inputs.b}}");
	jsonutil_set_str(in, "b", "B");
	char *out = NULL;
	assert_int_equal(
		placeholder_resolve("{{inputs.a}}", in, NULL, PLACEHOLDER_STRICT, &out, NULL, NULL),
		0);
	assert_string_equal(out, "{{inputs.b}}");
	free(out);
}

static void test_placeholder_other_braces_are_text(void **state)
{
	(void)state;
	/* docker templates, handlebars, broken forms: not ours, not reported */
	check("docker inspect -f '{{.State.Running}}' x", PLACEHOLDER_STRICT,
	      "docker inspect -f '{{.State.Running}}' x", NULL);
	check("{{ name }} {{inputs.}} {{steps.a.outputs}} {{inputs.a b}}", PLACEHOLDER_STRICT,
	      "{{ name }} {{inputs.}} {{steps.a.outputs}} {{inputs.a b}}", NULL);
	check("{{inputs.title", PLACEHOLDER_STRICT, "{{inputs.title", NULL);
	check("}}{{", 0, "}}{{", NULL);
	check("{{{inputs.title}}}", 0, "{Fix it}", NULL);
	check("{{{{inputs.title}}", 0, "{{Fix it", NULL);
}

static void test_placeholder_lenient_keeps_unresolved(void **state)
{
	(void)state;
	check("A {{inputs.missing}} B {{ steps.plan.outputs.nope }} C {{inputs.title}}", 0,
	      "A {{inputs.missing}} B {{ steps.plan.outputs.nope }} C Fix it",
	      "{{inputs.missing}}, {{steps.plan.outputs.nope}}");
	/* each one once, in order of first appearance */
	check("{{inputs.x}} {{steps.ghost.outputs.y}} {{ inputs.x }} {{inputs.x}}", 0,
	      "{{inputs.x}} {{steps.ghost.outputs.y}} {{ inputs.x }} {{inputs.x}}",
	      "{{inputs.x}}, {{steps.ghost.outputs.y}}");
	/* null values and steps that are not objects are unresolved */
	check("{{inputs.nothing}}{{steps.bare.outputs.x}}", 0,
	      "{{inputs.nothing}}{{steps.bare.outputs.x}}",
	      "{{inputs.nothing}}, {{steps.bare.outputs.x}}");
	/* no JSON at all */
	char *out = NULL, *unresolved = NULL;
	assert_int_equal(
		placeholder_resolve("x {{inputs.a}}", NULL, NULL, 0, &out, &unresolved, NULL), 0);
	assert_string_equal(out, "x {{inputs.a}}");
	assert_string_equal(unresolved, "{{inputs.a}}");
	free(out);
	free(unresolved);
	/* ret_unresolved may be NULL */
	out = NULL;
	assert_int_equal(placeholder_resolve("{{inputs.zzz}}", inputs, steps, 0, &out, NULL, NULL),
			 0);
	assert_string_equal(out, "{{inputs.zzz}}");
	free(out);
}

static void test_placeholder_strict_lists_all_unresolved(void **state)
{
	(void)state;
	char *out = (char *)"untouched", *unresolved = (char *)"untouched";
	struct rv_error *err = NULL;
	int r = placeholder_resolve("make {{inputs.x}} {{inputs.title}} {{steps.a.outputs.b}} "
				    "{{inputs.x}} {{steps.plan.outputs.c}}",
				    inputs, steps, PLACEHOLDER_STRICT, &out, &unresolved, &err);
	assert_int_equal(r, -EINVAL);
	assert_non_null(err);
	assert_int_equal(err->code, EINVAL);
	assert_string_equal(err->msg, "unresolved placeholders: {{inputs.x}}, "
				      "{{steps.a.outputs.b}}, {{steps.plan.outputs.c}}");
	/* outputs are not written on failure */
	assert_string_equal(out, "untouched");
	assert_string_equal(unresolved, "untouched");
	rv_error_free(err);

	/* strict and fully resolved: fine, unresolved set to NULL */
	check("echo {{inputs.title}}", PLACEHOLDER_STRICT, "echo Fix it", NULL);
	/* NULL text */
	err = NULL;
	assert_int_equal(placeholder_resolve(NULL, inputs, steps, 0, &out, NULL, &err), -EINVAL);
	rv_error_free(err);
}

static void test_placeholder_shell_quote(void **state)
{
	(void)state;
	char *q = placeholder_shell_quote("abc'd");
	assert_string_equal(q, "'abc'\\''d'");
	free(q);
	q = placeholder_shell_quote("");
	assert_string_equal(q, "''");
	free(q);
	q = placeholder_shell_quote("''");
	assert_string_equal(q, "''\\'''\\'''");
	free(q);
	q = placeholder_shell_quote("$(rm -rf /) `x` \"y\" \\n");
	assert_string_equal(q, "'$(rm -rf /) `x` \"y\" \\n'");
	free(q);
}

static void test_placeholder_shell_quoted_values(void **state)
{
	(void)state;
	unsigned f = PLACEHOLDER_STRICT | PLACEHOLDER_SHELL_QUOTE;
	check("echo {{inputs.quote}}", f, "echo 'it'\\''s; rm -rf /'", NULL);
	check("echo {{steps.run-1.outputs.stdout}}", f, "echo 'a'\\''b\"c $(x) `y`'", NULL);
	check("test {{steps.run-1.outputs.exit_code}} = 0", f, "test '0' = 0", NULL);
	/* text around the placeholders is never quoted */
	check("a'b {{inputs.title}}", f, "a'b 'Fix it'", NULL);
	/* lenient + quote leaves unresolved ones as written */
	check("x {{inputs.none}}", PLACEHOLDER_SHELL_QUOTE, "x {{inputs.none}}", "{{inputs.none}}");
}

static void test_placeholder_output_cap(void **state)
{
	(void)state;
	/* 1 MiB value used 17 times exceeds the 16 MiB cap */
	size_t n = 1024 * 1024;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'v', n);
	big[n] = '\0';
	_cleanup_json_ struct json_object *in = json_object_new_object();
	jsonutil_set_str(in, "big", big);
	free(big);
	char text[17 * 14 + 1] = "";
	for (int i = 0; i < 17; i++)
		strcat(text, "{{inputs.big}}");
	char *out = NULL;
	struct rv_error *err = NULL;
	assert_int_equal(placeholder_resolve(text, in, NULL, 0, &out, NULL, &err), -E2BIG);
	assert_null(out);
	rv_error_free(err);
	/* the environment of placeholder_resolve_env counts against the cap too:
	 * a short command naming a big output many times must not build
	 * 17 MiB of variables */
	char **env = NULL;
	err = NULL;
	assert_int_equal(placeholder_resolve_env(text, in, NULL, &out, &env, &err), -E2BIG);
	assert_null(out);
	assert_null(env);
	rv_error_free(err);
	/* 16 times fits */
	text[16 * 14] = '\0';
	assert_int_equal(placeholder_resolve(text, in, NULL, 0, &out, NULL, NULL), 0);
	assert_int_equal(strlen(out), 16 * n);
	free(out);
	text[15 * 14] = '\0';
	assert_int_equal(placeholder_resolve_env(text, in, NULL, &out, &env, NULL), 0);
	assert_non_null(env[14]);
	assert_null(env[15]);
	free(out);
	placeholder_env_free(env);
}

static void test_placeholder_env_mode_keeps_values_out_of_the_text(void **state)
{
	(void)state;
	char *out = NULL, **env = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	const char *text = "echo \"x={{inputs.quote}}\" {{ steps.run-1.outputs.stdout }} "
			   "{{.State.Running}}";
	assert_int_equal(placeholder_resolve_env(text, inputs, steps, &out, &env, &e), 0);
	assert_string_equal(out,
			    "echo \"x=\"${ROVER_PH_0}\"\" \"${ROVER_PH_1}\" {{.State.Running}}");
	assert_non_null(env);
	assert_string_equal(env[0], "ROVER_PH_0=it's; rm -rf /");
	assert_string_equal(env[1], "ROVER_PH_1=a'b\"c $(x) `y`");
	assert_null(env[2]);
	free(out);
	placeholder_env_free(env);
	/* strict: every unresolved placeholder is named, nothing is returned */
	out = NULL;
	env = NULL;
	assert_int_equal(placeholder_resolve_env("{{inputs.missing}} {{steps.x.outputs.y}}", inputs,
						 steps, &out, &env, &e),
			 -EINVAL);
	assert_null(out);
	assert_null(env);
	assert_non_null(strstr(e->msg, "{{inputs.missing}}"));
	assert_non_null(strstr(e->msg, "{{steps.x.outputs.y}}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholder_inputs_and_steps),
		cmocka_unit_test(test_placeholder_other_braces_are_text),
		cmocka_unit_test(test_placeholder_lenient_keeps_unresolved),
		cmocka_unit_test(test_placeholder_strict_lists_all_unresolved),
		cmocka_unit_test(test_placeholder_shell_quote),
		cmocka_unit_test(test_placeholder_shell_quoted_values),
		cmocka_unit_test(test_placeholder_output_cap),
		cmocka_unit_test(test_placeholder_env_mode_keeps_values_out_of_the_text),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
