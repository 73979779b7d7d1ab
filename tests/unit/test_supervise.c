/* Unit tests for supervisor/lib/supervise: the one-scheduler-per-store lock,
 * who-schedules info, the reconnect backoff and the status-change lines.
 * The loop itself runs against real engines in tests/integration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "supervisor/lib/supervise.h"
#include "supervisor/lib/supervise_state.h"

static char dir[] = "/tmp/rover-test-supervise-XXXXXX";

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-supervise-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return fileio_remove_tree(dir, NULL);
}

static void test_one_scheduler_per_store(void **state)
{
	(void)state;
	int a = -1, b = -1;
	assert_int_equal(supervise_lock_try(dir, &a, NULL), 0);
	assert_true(a >= 0);
	assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
	/* a second open file description (another process, in effect) */
	assert_int_equal(supervise_lock_try(dir, &b, NULL), 0);
	assert_int_equal(b, -1);
	/* a child process cannot take it either */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int c = -1;
		_exit(supervise_lock_try(dir, &c, NULL) == 0 && c == -1 ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the holder goes: the next one takes over */
	close(a);
	assert_int_equal(supervise_lock_try(dir, &b, NULL), 0);
	assert_true(b >= 0);
	close(b);
	/* an unusable store is an error, not "someone else holds it" */
	_cleanup_error_ struct rv_error *err = NULL;
	assert_true(supervise_lock_try("/nonexistent/rover-test", &b, &err) < 0);
	assert_non_null(strstr(err->msg, SUPERVISE_LOCK_FILE));
}

static void write_info(const char *json)
{
	_cleanup_free_ char *p = fileio_join(dir, SUPERVISE_INFO_FILE);
	assert_int_equal(fileio_write_atomic(p, json, strlen(json), 0644, NULL), 0);
}

static void test_scheduler_info(void **state)
{
	(void)state;
	pid_t pid = 0;
	char *role = NULL;
	assert_false(supervise_scheduler_info(dir, &pid, &role)); /* no file */
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	_cleanup_free_ char *live = xasprintf("{\"pid\": %d, \"role\": \"supervise\", \"host\": "
					      "\"%s\"}",
					      (int)getpid(), host);
	write_info(live);
	assert_true(supervise_scheduler_info(dir, &pid, &role));
	assert_int_equal(pid, getpid());
	assert_string_equal(role, "supervise");
	free(role);
	role = NULL;

	/* a dead holder on this host does not count */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	_cleanup_free_ char *dead = xasprintf("{\"pid\": %d, \"host\": \"%s\"}", (int)child, host);
	write_info(dead);
	assert_false(supervise_scheduler_info(dir, &pid, NULL));

	/* another host's holder cannot be checked here: believed */
	write_info(
		"{\"pid\": 1234567, \"host\": \"elsewhere.invalid\", \"role\": \"list --watch\"}");
	assert_true(supervise_scheduler_info(dir, &pid, &role));
	assert_int_equal(pid, 1234567);
	assert_string_equal(role, "list --watch");
	free(role);

	write_info("{\"pid\": \"x\"}");
	assert_false(supervise_scheduler_info(dir, &pid, NULL));
	write_info("not json");
	assert_false(supervise_scheduler_info(dir, &pid, NULL));
}

static void test_reconnect_delay(void **state)
{
	(void)state;
	assert_int_equal(supervise_reconnect_delay_ms(0), SUPERVISE_RECONNECT_MIN_MS);
	assert_int_equal(supervise_reconnect_delay_ms(1), SUPERVISE_RECONNECT_MIN_MS);
	assert_int_equal(supervise_reconnect_delay_ms(2), 2 * SUPERVISE_RECONNECT_MIN_MS);
	assert_int_equal(supervise_reconnect_delay_ms(3), 4 * SUPERVISE_RECONNECT_MIN_MS);
	int64_t prev = 0;
	for (int i = 1; i < 200; i++) {
		int64_t d = supervise_reconnect_delay_ms(i);
		assert_true(d >= prev);
		assert_true(d <= SUPERVISE_RECONNECT_MAX_MS);
		prev = d;
	}
	assert_int_equal(prev, SUPERVISE_RECONNECT_MAX_MS);
}

/* A pass starts at most SUPERVISE_MAX_RESUMES_PER_TURN resumes; the one
 * refused asks the loop to come back at once. */
static void test_resume_budget(void **state)
{
	(void)state;
	struct sv s = {.resumes_left = SUPERVISE_MAX_RESUMES_PER_TURN};
	int taken = 0;
	for (int i = 0; i < SUPERVISE_MAX_RESUMES_PER_TURN + 3; i++)
		taken += sv_resume_take(&s);
	assert_int_equal(taken, SUPERVISE_MAX_RESUMES_PER_TURN);
	assert_true(s.need_status);
	assert_true(SUPERVISE_MAX_RESUMES_PER_TURN >= 1);
}

static void test_status_messages(void **state)
{
	(void)state;
	struct task *t = NULL;
	int64_t now = 1795000000000LL;
	assert_int_equal(task_new(9, "t", "d", now, &t, NULL), 0);
	task_set_str(t, "agent", "claude");
	_cleanup_free_ char *m1 = supervise_status_message(t, "");
	assert_string_equal(m1, "task 9: new -> NEW");
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, now, NULL), 0);
	assert_int_equal(task_set_status(t, TASK_PAUSED, "You've hit your limit",
					 TASK_PAUSE_RETRYABLE_ERROR, now, NULL),
			 0);
	_cleanup_free_ char *m2 = supervise_status_message(t, "IN_PROGRESS");
	assert_string_equal(m2, "task 9: IN_PROGRESS -> PAUSED (retryable_error, claude): You've "
				"hit your limit");
	struct task_auto_retry ar = {.provider = "anthropic"};
	task_set_auto_retry(t, &ar);
	_cleanup_free_ char *m3 = supervise_status_message(t, "ITERATING");
	assert_non_null(strstr(m3, "(retryable_error, anthropic)"));
	assert_int_equal(
		task_set_status(t, TASK_FAILED, "Container was killed", TASK_PAUSE_NONE, now, NULL),
		0);
	_cleanup_free_ char *m4 = supervise_status_message(t, "PAUSED");
	assert_string_equal(m4, "task 9: PAUSED -> FAILED: Container was killed");
	task_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_scheduler_per_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scheduler_info, setup, teardown),
		cmocka_unit_test(test_reconnect_delay),
		cmocka_unit_test(test_status_messages),
		cmocka_unit_test(test_resume_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
