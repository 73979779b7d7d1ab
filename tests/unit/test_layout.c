/* Unit tests for common/layout: the label helper, and the contract's names
 * themselves (stores and containers made by earlier versions, and the
 * TypeScript rover's, carry exactly these: a rename here breaks them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "common/cleanup.h"
#include "common/layout.h"

static void test_layout_labels(void **state)
{
	(void)state;
	_cleanup_free_ char *s = layout_label(LAYOUT_LABEL_STORE, "/home/u/.rover");
	assert_string_equal(s, "rover.store=/home/u/.rover");
	_cleanup_free_ char *t = layout_label_id(LAYOUT_LABEL_TASK, 15000001);
	assert_string_equal(t, "rover.task=15000001");
	_cleanup_free_ char *i = layout_label_id(LAYOUT_LABEL_ITERATION, 2);
	assert_string_equal(i, "rover.iteration=2");
	_cleanup_free_ char *e = layout_label(LAYOUT_LABEL_SHELL, NULL);
	assert_string_equal(e, "rover.shell=");
}

static void test_layout_names_are_the_contract(void **state)
{
	(void)state;
	assert_string_equal(LAYOUT_STATUS_FILE, "status.json");
	assert_string_equal(LAYOUT_CHECKPOINT_FILE, "checkpoint.json");
	assert_string_equal(LAYOUT_EVENT_LOG_FILE, "rover.jsonl");
	assert_string_equal(LAYOUT_INPUTS_FILE, "inputs.json");
	assert_string_equal(LAYOUT_CONTAINER_LOG_FILE, "container.log");
	assert_string_equal(LAYOUT_RESUME_LOCK_FILE, ".resume.lock");
	assert_string_equal(LAYOUT_DRAIN_FILE, ".pause-requested");
	assert_string_equal(LAYOUT_CT_OUTPUT_FILE(LAYOUT_STATUS_FILE), "/output/status.json");
	assert_string_equal(LAYOUT_LABEL_SHELL_OWNER, "rover.shell.owner");
	assert_true(LAYOUT_DRAIN_REASON_MAX + 1 <= LAYOUT_DRAIN_FILE_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_labels),
		cmocka_unit_test(test_layout_names_are_the_contract),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
