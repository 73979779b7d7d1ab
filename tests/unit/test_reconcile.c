/* Unit tests for supervisor/lib/reconcile: the status-file refresh (never
 * flipping PAUSED/FAILED back).  The orphan table: test_orphan.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "supervisor/lib/reconcile.h"

#define T0 1795000000000LL

static char dir[] = "/tmp/rover-test-reconcile-XXXXXX";
static char *status_path;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-reconcile-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	status_path = fileio_join(dir, "status.json");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(status_path);
	status_path = NULL;
	return fileio_remove_tree(dir, NULL);
}

static void write_status(const char *json)
{
	assert_int_equal(fileio_write_atomic(status_path, json, strlen(json), 0644, NULL), 0);
}

static struct task *task_in(enum task_status s)
{
	struct task *t = NULL;
	assert_int_equal(task_new(3, "t", "d", T0 - 10000, &t, NULL), 0);
	if (s == TASK_NEW)
		return t;
	assert_int_equal(
		task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, T0 - 9000, NULL), 0);
	switch (s) {
	case TASK_IN_PROGRESS:
		break;
	case TASK_PAUSED:
		assert_int_equal(
			task_set_status(t, s, "limit", TASK_PAUSE_RETRYABLE_ERROR, T0 - 8000, NULL),
			0);
		break;
	case TASK_MERGED:
		assert_int_equal(
			task_set_status(t, TASK_COMPLETED, NULL, TASK_PAUSE_NONE, T0 - 8000, NULL),
			0);
		assert_int_equal(task_set_status(t, s, NULL, TASK_PAUSE_NONE, T0 - 7000, NULL), 0);
		break;
	default:
		assert_int_equal(
			task_set_status(t, s, "old error", TASK_PAUSE_NONE, T0 - 8000, NULL), 0);
	}
	return t;
}

/* ---- reconcile_from_status ---------------------------------------------------- */

static void test_missing_status_file_changes_nothing(void **state)
{
	(void)state;
	struct task *t = task_in(TASK_IN_PROGRESS);
	bool changed = true;
	assert_int_equal(reconcile_from_status(t, status_path, T0, &changed, NULL), 0);
	assert_false(changed);
	assert_int_equal(task_status(t), TASK_IN_PROGRESS);
	task_free(t);
}

static void test_bad_status_file_is_an_error_naming_it(void **state)
{
	(void)state;
	struct task *t = task_in(TASK_IN_PROGRESS);
	static const char *const bad[] = {"", "{\"status\": ", "[1]", "{\"progress\": 3}"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_status(bad[i]);
		bool changed = true;
		_cleanup_error_ struct rv_error *err = NULL;
		assert_true(reconcile_from_status(t, status_path, T0, &changed, &err) < 0);
		assert_non_null(strstr(err->msg, "status.json"));
		assert_false(changed);
		assert_int_equal(task_status(t), TASK_IN_PROGRESS);
	}
	task_free(t);
}

static void test_active_task_follows_the_runner(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		enum task_status want;
		enum task_pause_reason reason;
		const char *error;
	} rows[] = {
		{"{\"status\":\"initializing\"}", TASK_IN_PROGRESS, TASK_PAUSE_NONE, NULL},
		{"{\"status\":\"running\"}", TASK_ITERATING, TASK_PAUSE_NONE, NULL},
		{"{\"status\":\"completed\",\"exitCode\":0}", TASK_COMPLETED, TASK_PAUSE_NONE,
		 NULL},
		{"{\"status\":\"failed\",\"error\":\"boom\",\"exitCode\":1}", TASK_FAILED,
		 TASK_PAUSE_NONE, "boom"},
		{"{\"status\":\"paused\",\"error\":\"limit\",\"pauseReason\":\"user\"}",
		 TASK_PAUSED, TASK_PAUSE_USER, "limit"},
		{"{\"status\":\"paused\",\"error\":\"limit\",\"pauseReason\":\"signal\"}",
		 TASK_PAUSED, TASK_PAUSE_SIGNAL, "limit"},
		/* a runner that names no reason paused for a retryable error (as before) */
		{"{\"status\":\"paused\",\"error\":\"limit\"}", TASK_PAUSED,
		 TASK_PAUSE_RETRYABLE_ERROR, "limit"},
		{"{\"status\":\"paused\",\"pauseReason\":\"bogus\"}", TASK_PAUSED,
		 TASK_PAUSE_RETRYABLE_ERROR, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct task *t = task_in(TASK_IN_PROGRESS);
		write_status(rows[i].json);
		bool changed = false;
		assert_int_equal(reconcile_from_status(t, status_path, T0, &changed, NULL), 0);
		assert_int_equal(task_status(t), rows[i].want);
		assert_int_equal(changed, rows[i].want != TASK_IN_PROGRESS);
		if (rows[i].want == TASK_PAUSED)
			assert_int_equal(task_pause_reason(t), rows[i].reason);
		if (rows[i].error)
			assert_string_equal(task_error(t), rows[i].error);
		task_free(t);
	}
}

static void test_pause_records_the_provider(void **state)
{
	(void)state;
	struct task *t = task_in(TASK_ITERATING);
	struct task_auto_retry ar = {.count = 2, .max = 5};
	task_set_auto_retry(t, &ar);
	write_status("{\"status\":\"paused\",\"error\":\"limit\",\"provider\":\"anthropic\","
		     "\"pauseReason\":\"retryable_error\",\"exitCode\":2}");
	bool changed = false;
	assert_int_equal(reconcile_from_status(t, status_path, T0, &changed, NULL), 0);
	assert_true(changed);
	task_get_auto_retry(t, &ar);
	assert_string_equal(ar.provider, "anthropic");
	assert_int_equal(ar.count, 2); /* a re-pause keeps the budget used */
	int64_t code = 0;
	assert_true(task_get_int(t, "exitCode", &code));
	assert_int_equal(code, 2);
	assert_string_equal(task_get_str(t, "executionStatus"), "paused");
	task_free(t);
}

/* A stale "running" never moves a settled task. */
static void test_settled_tasks_are_never_flipped_back(void **state)
{
	(void)state;
	static const enum task_status settled[] = {TASK_NEW, TASK_PAUSED, TASK_FAILED,
						   TASK_COMPLETED, TASK_MERGED};
	static const char *const files[] = {
		"{\"status\":\"running\"}", "{\"status\":\"initializing\"}",
		"{\"status\":\"completed\"}", "{\"status\":\"failed\"}", "{\"status\":\"paused\"}"};
	for (size_t i = 0; i < ARRAY_SIZE(settled); i++) {
		for (size_t k = 0; k < ARRAY_SIZE(files); k++) {
			struct task *t = task_in(settled[i]);
			const char *err_before = task_error(t) ? task_error(t) : "";
			_cleanup_free_ char *keep = xstrdup(err_before);
			write_status(files[k]);
			bool changed = true;
			assert_int_equal(reconcile_from_status(t, status_path, T0, &changed, NULL),
					 0);
			assert_false(changed);
			assert_int_equal(task_status(t), settled[i]);
			assert_string_equal(task_error(t) ? task_error(t) : "", keep);
			task_free(t);
		}
	}
}

static void test_same_status_is_no_change(void **state)
{
	(void)state;
	struct task *t = task_in(TASK_ITERATING);
	_cleanup_free_ char *before = xstrdup(task_get_str(t, "lastStatusCheck"));
	write_status("{\"status\":\"running\"}");
	bool changed = true;
	assert_int_equal(reconcile_from_status(t, status_path, T0, &changed, NULL), 0);
	assert_false(changed); /* already ITERATING: no rewrite, no new lastStatusCheck */
	assert_string_equal(task_get_str(t, "lastStatusCheck"), before);
	/* a runner starting again (a resume) says initializing */
	write_status("{\"status\":\"initializing\"}");
	assert_int_equal(reconcile_from_status(t, status_path, T0, &changed, NULL), 0);
	assert_true(changed);
	assert_int_equal(task_status(t), TASK_IN_PROGRESS);
	task_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_status_file_changes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_status_file_is_an_error_naming_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_active_task_follows_the_runner, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pause_records_the_provider, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settled_tasks_are_never_flipped_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_same_status_is_no_change, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
