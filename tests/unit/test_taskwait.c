/* Unit tests for supervisor/lib/taskwait's pure parts: which records are
 * still running for `rover wait`, and the exit status of a set of them. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "supervisor/lib/task.h"
#include "supervisor/lib/taskwait.h"

static struct task *task_in(enum task_status to, enum task_pause_reason reason, const char *error)
{
	struct task *t = NULL;
	assert_int_equal(task_new(7, "t", "d", 1000, &t, NULL), 0);
	if (to == TASK_NEW) {
		if (error)
			task_set_str(t, "error", error);
		return t;
	}
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, 2000, NULL),
			 0);
	if (to == TASK_MERGED) {
		assert_int_equal(
			task_set_status(t, TASK_COMPLETED, NULL, TASK_PAUSE_NONE, 3000, NULL), 0);
		assert_int_equal(task_set_status(t, TASK_MERGED, NULL, TASK_PAUSE_NONE, 4000, NULL),
				 0);
	} else if (to != TASK_IN_PROGRESS) {
		assert_int_equal(task_set_status(t, to, error, reason, 3000, NULL), 0);
	}
	return t;
}

static void test_taskwait_classify(void **state)
{
	(void)state;
	struct {
		enum task_status status;
		enum task_pause_reason reason;
		const char *error;
		bool scheduler;
		enum taskwait_state want;
	} cases[] = {
		{TASK_NEW, TASK_PAUSE_NONE, NULL, false, TASKWAIT_RUNNING}, /* being created */
		{TASK_NEW, TASK_PAUSE_NONE, "container could not start", false, TASKWAIT_FAILED},
		{TASK_IN_PROGRESS, TASK_PAUSE_NONE, NULL, false, TASKWAIT_RUNNING},
		{TASK_ITERATING, TASK_PAUSE_NONE, NULL, false, TASKWAIT_RUNNING},
		{TASK_COMPLETED, TASK_PAUSE_NONE, NULL, false, TASKWAIT_COMPLETED},
		{TASK_MERGED, TASK_PAUSE_NONE, NULL, false, TASKWAIT_COMPLETED},
		{TASK_FAILED, TASK_PAUSE_NONE, "boom", false, TASKWAIT_FAILED},
		{TASK_PAUSED, TASK_PAUSE_USER, "lunch", true, TASKWAIT_PAUSED},
		/* a retry only counts as coming when a scheduler runs */
		{TASK_PAUSED, TASK_PAUSE_RETRYABLE_ERROR, "limit", false, TASKWAIT_PAUSED},
		{TASK_PAUSED, TASK_PAUSE_RETRYABLE_ERROR, "limit", true, TASKWAIT_RUNNING},
		{TASK_PAUSED, TASK_PAUSE_ORPHAN, "exit 2", true, TASKWAIT_PAUSED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct task *t = task_in(cases[i].status, cases[i].reason, cases[i].error);
		if (cases[i].status == TASK_ITERATING)
			assert_int_equal(task_set_status(t, TASK_ITERATING, NULL, TASK_PAUSE_NONE,
							 3000, NULL),
					 0);
		assert_int_equal(taskwait_classify(t, cases[i].scheduler, 5, 5000), cases[i].want);
		task_free(t);
	}
	/* the retry budget spent: nothing more will come */
	struct task *t = task_in(TASK_PAUSED, TASK_PAUSE_RETRYABLE_ERROR, "limit");
	struct task_auto_retry ar = {.count = 5, .max = 5};
	task_set_auto_retry(t, &ar);
	assert_int_equal(taskwait_classify(t, true, 5, 5000), TASKWAIT_PAUSED);
	assert_int_equal(taskwait_classify(t, true, 6, 5000), TASKWAIT_RUNNING);
	task_free(t);
	/* a NEW record whose creation died long ago is not waited for */
	t = task_in(TASK_NEW, TASK_PAUSE_NONE, NULL);
	assert_int_equal(taskwait_classify(t, false, 5, 1000 + TASKWAIT_CREATING_MS - 1),
			 TASKWAIT_RUNNING);
	assert_int_equal(taskwait_classify(t, false, 5, 1000 + TASKWAIT_CREATING_MS),
			 TASKWAIT_FAILED);
	task_free(t);
}

static void test_taskwait_exit_code(void **state)
{
	(void)state;
	enum taskwait_state all_done[] = {TASKWAIT_COMPLETED, TASKWAIT_COMPLETED};
	assert_int_equal(taskwait_exit_code(all_done, 2, false), 0);
	assert_int_equal(taskwait_exit_code(all_done, 2, true), 0); /* settled in time */
	enum taskwait_state paused[] = {TASKWAIT_COMPLETED, TASKWAIT_PAUSED};
	assert_int_equal(taskwait_exit_code(paused, 2, false), TASKWAIT_EXIT_PAUSED);
	enum taskwait_state failed[] = {TASKWAIT_PAUSED, TASKWAIT_FAILED, TASKWAIT_COMPLETED};
	assert_int_equal(taskwait_exit_code(failed, 3, false), TASKWAIT_EXIT_FAILED);
	enum taskwait_state running[] = {TASKWAIT_FAILED, TASKWAIT_RUNNING};
	assert_int_equal(taskwait_exit_code(running, 2, true), TASKWAIT_EXIT_TIMEOUT);
	assert_int_equal(taskwait_exit_code(running, 2, false), TASKWAIT_EXIT_ERROR);
	/* none of them clashes with rover's 1 (failed) and 2 (usage) */
	assert_int_not_equal(TASKWAIT_EXIT_FAILED, 2);
	assert_int_not_equal(TASKWAIT_EXIT_PAUSED, 2);
	assert_string_equal(taskwait_state_name(TASKWAIT_PAUSED), "paused");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_taskwait_classify),
		cmocka_unit_test(test_taskwait_exit_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
