/* Unit tests for supervisor/lib/approval (what lets a breakpoint pass) and
 * the pause reasons reconcile.c records: approvals per iteration, the
 * runner's arguments, the timeout decision, and a runner's claim that never
 * becomes one of the host's own reasons. */
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
#include "common/jsonutil.h"
#include "supervisor/lib/approval.h"
#include "supervisor/lib/reconcile.h"

#define T0 1795000000000LL

static struct task *running_task(void)
{
	struct task *t = NULL;
	assert_int_equal(task_new(7, "t", "d", T0 - 10000, &t, NULL), 0);
	assert_int_equal(
		task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, T0 - 9000, NULL), 0);
	return t;
}

static char *tmpdir;

static int setup(void **state)
{
	(void)state;
	tmpdir = xstrdup("/tmp/rover-test-approval-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	int r = fileio_remove_tree(tmpdir, NULL);
	free(tmpdir);
	return r;
}

/* status.json of a runner waiting at `step` (NULL: it names none). */
static struct task *waiting_task(const char *reason, const char *step)
{
	struct task *t = running_task();
	_cleanup_free_ char *path = fileio_join(tmpdir, "status.json");
	_cleanup_free_ char *json =
		step ? xasprintf(
			       "{\"status\":\"paused\",\"pauseReason\":\"%s\",\"breakpoint\":\"%s\","
			       "\"error\":\"Waiting for approval: go?\"}",
			       reason, step)
		     : xasprintf("{\"status\":\"paused\",\"pauseReason\":\"%s\"}", reason);
	assert_int_equal(fileio_write_atomic(path, json, strlen(json), 0644, NULL), 0);
	bool changed = false;
	assert_int_equal(reconcile_from_status(t, path, T0, &changed, NULL), 0);
	assert_true(changed);
	return t;
}

static void test_waiting_and_the_claimed_step(void **state)
{
	(void)state;
	struct task *t = waiting_task("approval", "gate");
	const char *step = NULL;
	assert_true(approval_waiting(t, &step));
	assert_string_equal(step, "gate");
	assert_false(approval_given(t, "gate"));
	task_free(t);
	/* a claim that is not a step id is not kept */
	t = waiting_task("approval", "../x y");
	assert_true(approval_waiting(t, &step));
	assert_null(step);
	task_free(t);
	/* another pause reason is not waiting for approval */
	t = waiting_task("user", "gate");
	assert_false(approval_waiting(t, &step));
	assert_null(jsonutil_get_obj(task_json(t), "approvalRequest"));
	task_free(t);
}

static void test_record_is_per_iteration_and_replaces(void **state)
{
	(void)state;
	struct task *t = running_task();
	approval_record(t, "gate", "first", false, T0);
	approval_record(t, "gate", "second", false, T0 + 1);
	approval_record(t, "later", "", true, T0 + 2);
	assert_true(approval_given(t, "gate"));
	assert_false(approval_given(t, "other"));
	struct json_object *list = jsonutil_get_array(task_json(t), "approvals");
	assert_int_equal(json_object_array_length(list), 2);
	char **args = approval_runner_args(t);
	assert_string_equal(args[0], "--approve");
	assert_string_equal(args[1], "gate=second");
	assert_string_equal(args[2], "--approve-timeout");
	assert_string_equal(args[3], "later");
	assert_null(args[4]);
	approval_args_free(args);
	/* a new iteration asks again */
	task_set_int(t, "iterations", 2);
	assert_false(approval_given(t, "gate"));
	args = approval_runner_args(t);
	assert_null(args[0]);
	approval_args_free(args);
	/* restart forgets them */
	task_set_int(t, "iterations", 1);
	assert_int_equal(task_restart(t, T0 + 3, NULL), 0);
	assert_false(approval_given(t, "gate"));
	task_free(t);
}

static void test_runner_args_skip_what_the_runner_would_misread(void **state)
{
	(void)state;
	struct task *t = running_task();
	approval_record(t, "a=b", "x", false, T0);
	char *big = xcalloc(1, APPROVAL_MESSAGE_MAX + 10);
	memset(big, 'm', APPROVAL_MESSAGE_MAX + 5);
	approval_record(t, "gate", big, false, T0);
	free(big);
	char **args = approval_runner_args(t);
	assert_string_equal(args[0], "--approve");
	assert_int_equal(strlen(args[1]), strlen("gate=") + APPROVAL_MESSAGE_MAX);
	assert_null(args[2]);
	approval_args_free(args);
	task_free(t);
}

static void test_timeout_decision(void **state)
{
	(void)state;
	int64_t due = 0;
	assert_int_equal(approval_timeout_decide(T0, 0, WORKFLOW_ON_TIMEOUT_FAIL, T0 + 1, &due),
			 APPROVAL_TIMEOUT_NONE);
	assert_int_equal(approval_timeout_decide(0, 10, WORKFLOW_ON_TIMEOUT_FAIL, T0, &due),
			 APPROVAL_TIMEOUT_NONE);
	assert_int_equal(approval_timeout_decide(T0, 10, WORKFLOW_ON_TIMEOUT_FAIL, T0 + 9999, &due),
			 APPROVAL_TIMEOUT_WAIT);
	assert_int_equal(due, T0 + 10000);
	assert_int_equal(
		approval_timeout_decide(T0, 10, WORKFLOW_ON_TIMEOUT_FAIL, T0 + 10000, &due),
		APPROVAL_TIMEOUT_FAIL);
	assert_int_equal(
		approval_timeout_decide(T0, 10, WORKFLOW_ON_TIMEOUT_CONTINUE, T0 + 10000, &due),
		APPROVAL_TIMEOUT_CONTINUE);
}

static void test_pause_reason_host_request_wins_but_not_over_approval(void **state)
{
	(void)state;
	struct task *t = running_task();
	/* no request: the claim stands, but the host's reasons cannot be claimed */
	assert_int_equal(reconcile_pause_reason(t, TASK_PAUSE_USER), TASK_PAUSE_USER);
	assert_int_equal(reconcile_pause_reason(t, TASK_PAUSE_OPERATOR), TASK_PAUSE_SIGNAL);
	assert_int_equal(reconcile_pause_reason(t, TASK_PAUSE_DRAIN), TASK_PAUSE_SIGNAL);
	struct json_object *req = json_object_new_object();
	jsonutil_set_str(req, "reason", "operator");
	json_object_object_add(task_json(t), "pauseRequested", req);
	assert_int_equal(reconcile_pause_reason(t, TASK_PAUSE_SIGNAL), TASK_PAUSE_OPERATOR);
	assert_int_equal(reconcile_pause_reason(t, TASK_PAUSE_USER), TASK_PAUSE_OPERATOR);
	assert_int_equal(reconcile_pause_reason(t, TASK_PAUSE_RETRYABLE_ERROR),
			 TASK_PAUSE_OPERATOR);
	assert_int_equal(reconcile_pause_reason(t, TASK_PAUSE_APPROVAL), TASK_PAUSE_APPROVAL);
	/* used up once the task pauses */
	assert_int_equal(task_set_status(t, TASK_PAUSED, NULL, TASK_PAUSE_OPERATOR, T0, NULL), 0);
	assert_null(jsonutil_get_obj(task_json(t), "pauseRequested"));
	task_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_waiting_and_the_claimed_step, setup, teardown),
		cmocka_unit_test(test_record_is_per_iteration_and_replaces),
		cmocka_unit_test(test_runner_args_skip_what_the_runner_would_misread),
		cmocka_unit_test(test_timeout_decision),
		cmocka_unit_test(test_pause_reason_host_request_wins_but_not_over_approval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
