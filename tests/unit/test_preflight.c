/* Unit tests for supervisor/lib/preflight's pure parts: required inputs
 * named with what to do, and image sizes as people read them. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/lib/preflight.h"

static const char wf_text[] = "version: '1.0'\n"
			      "name: needs\n"
			      "inputs:\n"
			      "  - name: target\n"
			      "    description: the file to write\n"
			      "    required: true\n"
			      "  - name: count\n"
			      "    type: number\n"
			      "    default: 3\n"
			      "  - name: optional\n"
			      "steps:\n"
			      "  - id: s\n"
			      "    type: command\n"
			      "    command: 'true'\n";

static void test_preflight_inputs(void **state)
{
	(void)state;
	struct workflow *wf = NULL;
	assert_int_equal(workflow_parse(wf_text, strlen(wf_text), "wf.yml", &wf, NULL), 0);
	_cleanup_json_ struct json_object *in = json_object_new_object();
	struct rv_error *err = NULL;
	assert_int_equal(preflight_inputs(wf, "needs", in, &err), -EINVAL);
	assert_string_equal(err->msg, "workflow 'needs' needs input 'target' (the file to write): "
				      "pass -i target=VALUE");
	err = rv_error_free(err);
	jsonutil_set_str(in, "target", "a.txt");
	assert_int_equal(preflight_inputs(wf, "needs", in, &err), 0); /* count has a default */
	jsonutil_set_str(in, "count", "many");
	assert_int_equal(preflight_inputs(wf, "needs", in, &err), -EINVAL);
	assert_string_equal(err->msg,
			    "workflow 'needs': input 'count' must be a number, got 'many'");
	err = rv_error_free(err);
	jsonutil_set_str(in, "count", "12");
	assert_int_equal(preflight_inputs(wf, "needs", in, &err), 0);
	workflow_free(wf);
}

static void test_workflow_check_input(void **state)
{
	(void)state;
	struct workflow_input in = {.name = (char *)"flag", .type = (char *)"boolean"};
	struct rv_error *err = NULL;
	assert_int_equal(workflow_check_input(&in, NULL, &err), 0); /* optional */
	assert_int_equal(workflow_check_input(&in, "TRUE", &err), 0);
	assert_int_equal(workflow_check_input(&in, "yes", &err), -EINVAL);
	assert_string_equal(err->msg, "input 'flag' must be true or false, got 'yes'");
	err = rv_error_free(err);
	in.required = true;
	assert_int_equal(workflow_check_input(&in, NULL, &err), -EINVAL);
	assert_string_equal(err->msg, "missing required input 'flag'");
	err = rv_error_free(err);
	in.default_value = (char *)"false";
	assert_int_equal(workflow_check_input(&in, NULL, &err), 0);
}

static void test_preflight_format_size(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(preflight_format_size(0, b, sizeof(b)), "0 B");
	assert_string_equal(preflight_format_size(999, b, sizeof(b)), "999 B");
	assert_string_equal(preflight_format_size(8748407, b, sizeof(b)), "8.7 MB");
	assert_string_equal(preflight_format_size(812000, b, sizeof(b)), "812 kB");
	assert_string_equal(preflight_format_size(1200000000, b, sizeof(b)), "1.2 GB");
	assert_string_equal(preflight_format_size(-5, b, sizeof(b)), "0 B");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preflight_inputs),
		cmocka_unit_test(test_workflow_check_input),
		cmocka_unit_test(test_preflight_format_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
