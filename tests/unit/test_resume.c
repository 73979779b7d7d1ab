/* Unit tests for supervisor/lib/resume: every path that needs no running
 * engine - not resumable, already being resumed, a start that fails and the
 * exact restore of what the task was, the auto attempt accounting, and
 * the settling of a marker left by a resume that died.  The paths that start
 * containers run against real engines in tests/integration/rover_durable*. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/iterate.h"
#include "supervisor/lib/lock.h"
#include "supervisor/lib/resume.h"

#define DEAD_ENGINE "unix:///nonexistent/rover-test/engine.sock"

static char dir[] = "/tmp/rover-test-resume-XXXXXX";
static struct task_store *st;
static struct project proj;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-resume-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	unsetenv("ROVER_AGENT_IMAGE");
	_cleanup_free_ char *store = fileio_join(dir, ".rover");
	proj = (struct project){.root = dir, .store_dir = store, .is_git = false};
	proj.settings.retry = (struct project_retry){.max = 3, .base_seconds = 1, .cap_seconds = 1};
	int r = task_store_open(store, &st, NULL);
	proj.store_dir = st ? st->dir : NULL;
	return r;
}

static int teardown(void **state)
{
	(void)state;
	task_store_free(st);
	st = NULL;
	return fileio_remove_tree(dir, NULL);
}

struct init {
	enum task_status status;
	int64_t paused_at, failed_at;
	int64_t count, next_retry_at;
};

static int init_fn(struct task *t, void *userdata, struct rv_error **err)
{
	const struct init *in = userdata;
	int r = task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, in->paused_at - 5000,
				err);
	if (r < 0)
		return r;
	task_set_engine(t, "docker", DEAD_ENGINE);
	task_set_str(t, "containerId", "0123456789ab");
	task_set_str(t, "agentImage", "rover-agent-test:latest");
	task_set_str(t, "worktreePath", "");
	if (in->status == TASK_PAUSED)
		r = task_set_status(t, TASK_PAUSED, "You've hit your limit",
				    TASK_PAUSE_RETRYABLE_ERROR, in->paused_at, err);
	else if (in->status == TASK_FAILED)
		r = task_set_status(t, TASK_FAILED, "stopped by user", TASK_PAUSE_NONE,
				    in->failed_at, err);
	else if (in->status != TASK_IN_PROGRESS)
		r = task_set_status(t, in->status, NULL, TASK_PAUSE_NONE, in->paused_at, err);
	if (r < 0)
		return r;
	struct task_auto_retry ar = {.count = in->count,
				     .max = 3,
				     .next_retry_at_ms = in->next_retry_at,
				     .provider = "anthropic"};
	task_set_auto_retry(t, &ar);
	return 0;
}

static int64_t make_task(const struct init *in)
{
	struct task *t = NULL;
	assert_int_equal(task_store_create(st, "t", "do it", in->paused_at - 6000, init_fn,
					   (void *)in, &t, NULL),
			 0);
	int64_t id = t->id;
	task_free(t);
	assert_int_equal(task_store_make_iteration(st, id, 1, NULL), 0);
	return id;
}

static struct task *load(int64_t id)
{
	struct task *t = NULL;
	assert_int_equal(task_store_load_id(st, id, &t, NULL), 0);
	return t;
}

static bool iter_file_exists(int64_t id, enum task_iter_file f)
{
	_cleanup_free_ char *p = task_store_iteration_file(st, id, 1, f);
	return fileio_exists(p);
}

static void test_missing_task(void **state)
{
	(void)state;
	struct resume_opts o = {.mode = RESUME_MANUAL};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(resume_task(&proj, st, 42, &o, &out, &err), -ENOENT);
	resume_outcome_release(&out);
}

static void test_not_resumable_statuses(void **state)
{
	(void)state;
	int64_t now = timeutil_now_ms();
	struct init in = {.status = TASK_COMPLETED, .paused_at = now};
	int64_t id = make_task(&in);
	struct resume_opts o = {.mode = RESUME_MANUAL, .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(resume_task(&proj, st, id, &o, &out, &err), 0);
	assert_int_equal(out.result, RESUME_NOT_RESUMABLE);
	assert_string_equal(err->msg,
			    "Task 1 is not in PAUSED or FAILED status (current: COMPLETED)");
	assert_non_null(out.task);
	resume_outcome_release(&out);
	assert_false(iter_file_exists(id, TASK_FILE_RESUME_LOCK));
}

static void test_already_being_resumed(void **state)
{
	(void)state;
	int64_t now = timeutil_now_ms();
	struct init in = {.status = TASK_PAUSED, .paused_at = now - 1000};
	int64_t id = make_task(&in);
	_cleanup_free_ char *iter = task_store_iteration_dir(st, id, 1);
	struct lock *lk = NULL;
	assert_int_equal(lock_acquire(iter, &lk, NULL), 0);
	struct resume_opts o = {.mode = RESUME_MANUAL, .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(resume_task(&proj, st, id, &o, &out, &err), 0);
	assert_int_equal(out.result, RESUME_ALREADY_RESUMING);
	assert_non_null(strstr(err->msg, "already being resumed"));
	resume_outcome_release(&out);
	/* nothing was touched */
	struct task *t = load(id);
	assert_int_equal(task_status(t), TASK_PAUSED);
	assert_false(resume_in_flight(t, NULL));
	task_free(t);
	assert_int_equal(lock_drop(lk, NULL), 0);
}

/* A manual resume whose container cannot start puts everything back. */
static void test_failed_start_restores_paused(void **state)
{
	(void)state;
	int64_t paused_at = timeutil_now_ms() - 60000;
	struct init in = {.status = TASK_PAUSED, .paused_at = paused_at, .count = 2};
	int64_t id = make_task(&in);
	_cleanup_free_ char *req = task_store_iteration_file(st, id, 1, TASK_FILE_PAUSE_REQUEST);
	assert_int_equal(fileio_write_atomic(req, "x", 1, 0644, NULL), 0);

	struct resume_opts o = {.mode = RESUME_MANUAL, .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(resume_task(&proj, st, id, &o, &out, &err), 0);
	assert_int_equal(out.result, RESUME_FAILED);
	assert_non_null(strstr(err->msg, RESUME_FAIL_CONTAINER));
	assert_int_equal(out.previous, TASK_PAUSED);
	resume_outcome_release(&out);

	struct task *t = load(id);
	assert_int_equal(task_status(t), TASK_PAUSED);
	assert_int_equal(task_pause_reason(t), TASK_PAUSE_RETRYABLE_ERROR);
	assert_string_equal(task_error(t), "You've hit your limit");
	int64_t pa = 0;
	assert_true(task_get_time(t, "pausedAt", &pa));
	assert_int_equal(pa, paused_at); /* the original pause time, not the failed attempt's */
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	assert_string_equal(ar.provider, "anthropic"); /* F.19: the provider is kept */
	/* a manual resume resets the budget only by succeeding (issue 11) */
	assert_int_equal(ar.count, 2);
	assert_false(resume_in_flight(t, NULL));
	task_free(t);
	assert_false(iter_file_exists(id, TASK_FILE_RESUME_LOCK));
	assert_false(iter_file_exists(id, TASK_FILE_PAUSE_REQUEST));

	/* status.json says paused again, with the provider */
	_cleanup_free_ char *sp = task_store_iteration_file(st, id, 1, TASK_FILE_STATUS);
	_cleanup_json_ struct json_object *s = NULL;
	assert_int_equal(jsonutil_read_object(sp, &s, NULL), 0);
	assert_string_equal(jsonutil_get_str(s, "status"), "paused");
	assert_string_equal(jsonutil_get_str(s, "provider"), "anthropic");
	assert_string_equal(jsonutil_get_str(s, "pauseReason"), "retryable_error");
	assert_non_null(strstr(jsonutil_get_str(s, "error"), RESUME_FAIL_CONTAINER));
}

static void test_failed_start_restores_failed(void **state)
{
	(void)state;
	int64_t failed_at = timeutil_now_ms() - 120000;
	struct init in = {.status = TASK_FAILED, .paused_at = failed_at, .failed_at = failed_at};
	int64_t id = make_task(&in);
	struct resume_opts o = {.mode = RESUME_MANUAL, .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(resume_task(&proj, st, id, &o, &out, &err), 0);
	assert_int_equal(out.result, RESUME_FAILED);
	resume_outcome_release(&out);
	struct task *t = load(id);
	assert_int_equal(task_status(t), TASK_FAILED);
	assert_string_equal(task_error(t), "stopped by user");
	int64_t fa = 0;
	assert_true(task_get_time(t, "failedAt", &fa));
	assert_int_equal(fa, failed_at);
	task_free(t);
	_cleanup_free_ char *sp = task_store_iteration_file(st, id, 1, TASK_FILE_STATUS);
	_cleanup_json_ struct json_object *s = NULL;
	assert_int_equal(jsonutil_read_object(sp, &s, NULL), 0);
	assert_string_equal(jsonutil_get_str(s, "status"), "failed");
}

static void test_missing_workspace_outside_git(void **state)
{
	(void)state;
	struct init in = {.status = TASK_PAUSED, .paused_at = timeutil_now_ms() - 1000};
	int64_t id = make_task(&in);
	struct task *t = load(id);
	task_set_str(t, "worktreePath", "/nonexistent/rover-test/workspace");
	assert_int_equal(task_store_save(st, t, NULL), 0);
	task_free(t);
	struct resume_opts o = {.mode = RESUME_MANUAL, .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(resume_task(&proj, st, id, &o, &out, &err), 0);
	assert_int_equal(out.result, RESUME_FAILED);
	assert_non_null(strstr(err->msg, RESUME_FAIL_WORKTREE));
	resume_outcome_release(&out);
	t = load(id);
	assert_int_equal(task_status(t), TASK_PAUSED);
	task_free(t);
}

static void test_auto_counts_only_a_due_attempt(void **state)
{
	(void)state;
	int64_t now = timeutil_now_ms();
	struct retry_policy p;
	retry_policy_init(&p, &proj.settings.retry);
	struct resume_opts o = {.mode = RESUME_AUTO, .policy = &p, .observed = true};
	struct resume_outcome out;

	/* not due yet: refused, nothing counted */
	struct init in = {.status = TASK_PAUSED,
			  .paused_at = now - 1000,
			  .count = 1,
			  .next_retry_at = now + 3600 * 1000LL};
	int64_t id = make_task(&in);
	_cleanup_error_ struct rv_error *e1 = NULL;
	assert_int_equal(resume_task(&proj, st, id, &o, &out, &e1), 0);
	assert_int_equal(out.result, RESUME_NOT_RESUMABLE);
	resume_outcome_release(&out);
	struct task *t = load(id);
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	assert_int_equal(ar.count, 1);
	task_free(t);

	/* due: the attempt counts even though the container cannot start */
	struct init in2 = {.status = TASK_PAUSED,
			   .paused_at = now - 1000,
			   .count = 1,
			   .next_retry_at = now - 10};
	int64_t id2 = make_task(&in2);
	_cleanup_error_ struct rv_error *e2 = NULL;
	assert_int_equal(resume_task(&proj, st, id2, &o, &out, &e2), 0);
	assert_int_equal(out.result, RESUME_FAILED);
	resume_outcome_release(&out);
	t = load(id2);
	task_get_auto_retry(t, &ar);
	assert_int_equal(ar.count, 2);
	assert_true(ar.last_attempt_at_ms >= now);
	assert_int_equal(ar.next_retry_at_ms, 0); /* the scheduler plans the next one */
	assert_int_equal(task_status(t), TASK_PAUSED);
	assert_false(resume_in_flight(t, NULL));
	task_free(t);

	/* a user pause is never auto-resumed */
	struct init in3 = {
		.status = TASK_PAUSED, .paused_at = now - 1000, .next_retry_at = now - 10};
	int64_t id3 = make_task(&in3);
	t = load(id3);
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, now, NULL), 0);
	assert_int_equal(task_set_status(t, TASK_PAUSED, "by user", TASK_PAUSE_USER, now, NULL), 0);
	assert_int_equal(task_store_save(st, t, NULL), 0);
	task_free(t);
	_cleanup_error_ struct rv_error *e3 = NULL;
	assert_int_equal(resume_task(&proj, st, id3, &o, &out, &e3), 0);
	assert_int_equal(out.result, RESUME_NOT_RESUMABLE);
	resume_outcome_release(&out);
}

static void put_marker(int64_t id, enum task_status status, bool auto_mode)
{
	struct task *t = load(id);
	if (status != task_status(t))
		assert_int_equal(
			task_set_status(t, status, NULL, TASK_PAUSE_NONE, timeutil_now_ms(), NULL),
			0);
	task_set_str(t, "containerId", NULL);
	struct json_object *m = json_object_new_object();
	char ts[TIMEUTIL_ISO_LEN];
	jsonutil_set_str(m, "since", timeutil_format_iso(timeutil_now_ms(), ts));
	jsonutil_set_str(m, "mode", auto_mode ? "auto" : "manual");
	jsonutil_set_str(m, "from", "PAUSED");
	jsonutil_set_str(m, "error", "You've hit your limit");
	jsonutil_set_str(m, "pauseReason", "retryable_error");
	json_object_object_add(task_json(t), RESUME_IN_FLIGHT_KEY, m);
	assert_int_equal(task_store_save(st, t, NULL), 0);
	task_free(t);
}

static void test_recover_settles_or_waits(void **state)
{
	(void)state;
	int64_t now = timeutil_now_ms();
	/* a marker left on a task that is PAUSED again: only the marker goes */
	struct init in = {.status = TASK_PAUSED, .paused_at = now - 1000};
	int64_t id = make_task(&in);
	put_marker(id, TASK_PAUSED, false);
	enum retry_recover_action a = RECOVER_NONE;
	assert_int_equal(resume_recover(st, id, &a, NULL), 0);
	assert_int_equal(a, RECOVER_CLEAR);
	struct task *t = load(id);
	assert_false(resume_in_flight(t, NULL));
	assert_int_equal(task_status(t), TASK_PAUSED);
	task_free(t);
	assert_int_equal(resume_recover(st, id, &a, NULL), 0);
	assert_int_equal(a, RECOVER_NONE);

	/* IN_PROGRESS without container and the engine unreachable: nothing is
	 * decided, the marker stays, and a resume refuses to guess */
	struct init in2 = {.status = TASK_IN_PROGRESS, .paused_at = now - 1000};
	int64_t id2 = make_task(&in2);
	put_marker(id2, TASK_IN_PROGRESS, true);
	assert_int_equal(resume_recover(st, id2, &a, NULL), 0);
	assert_int_equal(a, RECOVER_WAIT);
	t = load(id2);
	assert_true(resume_in_flight(t, NULL));
	assert_int_equal(task_status(t), TASK_IN_PROGRESS);
	assert_true(resume_is_resumable(t));
	task_free(t);
	struct resume_opts o = {.mode = RESUME_MANUAL, .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(resume_task(&proj, st, id2, &o, &out, &err), 0);
	assert_int_equal(out.result, RESUME_FAILED);
	assert_non_null(strstr(err->msg, "could not be settled"));
	resume_outcome_release(&out);
	assert_false(iter_file_exists(id2, TASK_FILE_RESUME_LOCK));

	/* a live resume holds the lock: recovery waits */
	_cleanup_free_ char *iter = task_store_iteration_dir(st, id2, 1);
	struct lock *lk = NULL;
	assert_int_equal(lock_acquire(iter, &lk, NULL), 0);
	assert_int_equal(resume_recover(st, id2, &a, NULL), 0);
	assert_int_equal(a, RECOVER_WAIT);
	lock_drop(lk, NULL);
}

/* ---- rover iterate ------------------------------------------------------- */

static void test_iterate_refuses_running_paused_new(void **state)
{
	(void)state;
	int64_t now = timeutil_now_ms();
	static const struct {
		enum task_status status;
		const char *says;
	} cases[] = {
		{TASK_IN_PROGRESS, "Cannot iterate over a running task"},
		{TASK_ITERATING, "Cannot iterate over a running task"},
		{TASK_PAUSED, "resume it first (rover resume"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct init in = {.status = cases[i].status, .paused_at = now - 1000};
		int64_t id = make_task(&in);
		_cleanup_free_ char *before = NULL;
		_cleanup_free_ char *desc = task_store_description_path(st, id);
		assert_int_equal(fileio_read_bounded(desc, 1 << 20, &before, NULL, NULL), 0);
		struct iterate_opts io = {.instructions = "more"};
		struct resume_outcome out;
		_cleanup_error_ struct rv_error *err = NULL;
		assert_int_equal(iterate_task(&proj, st, id, &io, &out, &err), 0);
		assert_int_equal(out.result, RESUME_NOT_RESUMABLE);
		assert_non_null(strstr(err->msg, cases[i].says));
		resume_outcome_release(&out);
		/* nothing changed: the record byte for byte, no iteration 2 */
		_cleanup_free_ char *after = NULL;
		assert_int_equal(fileio_read_bounded(desc, 1 << 20, &after, NULL, NULL), 0);
		if (cases[i].status == TASK_PAUSED)
			assert_string_equal(before, after);
		_cleanup_free_ char *it2 = task_store_iteration_dir(st, id, 2);
		assert_false(fileio_exists(it2));
	}
	/* a NEW task has not run: restart it */
	struct task *t = NULL;
	assert_int_equal(task_store_create(st, "n", "d", now, NULL, NULL, &t, NULL), 0);
	_cleanup_free_ char *why = resume_iterate_refusal(t, 0);
	assert_non_null(strstr(why, "rover restart"));
	task_free(t);
	/* empty instructions: a usage problem, nothing looked at */
	struct iterate_opts empty = {.instructions = ""};
	struct resume_outcome out;
	assert_int_equal(iterate_task(&proj, st, 1, &empty, &out, NULL), -EINVAL);
}

static void test_iterate_failed_start_restores_the_old_iteration(void **state)
{
	(void)state;
	int64_t done_at = timeutil_now_ms() - 90000;
	struct init in = {.status = TASK_COMPLETED, .paused_at = done_at};
	int64_t id = make_task(&in);
	struct task *t = load(id);
	int64_t completed_before = 0;
	assert_true(task_get_time(t, "completedAt", &completed_before));
	task_free(t);

	/* the engine is dead: the container cannot start */
	struct iterate_opts io = {.instructions = "now with tests; $(rm -rf /) 'x'"};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(iterate_task(&proj, st, id, &io, &out, &err), 0);
	assert_int_equal(out.result, RESUME_FAILED);
	assert_non_null(strstr(err->msg, ITERATE_FAIL_CONTAINER));
	resume_outcome_release(&out);

	t = load(id);
	assert_int_equal(task_status(t), TASK_COMPLETED);
	assert_int_equal(task_iterations(t), 1);
	int64_t completed_after = 0;
	assert_true(task_get_time(t, "completedAt", &completed_after));
	assert_true(completed_after == completed_before);
	assert_false(resume_in_flight(t, NULL));
	task_free(t);
	/* iteration 2's inputs were written as data, the lock is gone */
	_cleanup_free_ char *inputs = task_store_iteration_file(st, id, 2, TASK_FILE_INPUTS);
	_cleanup_json_ struct json_object *j = NULL;
	assert_int_equal(jsonutil_read_object(inputs, &j, NULL), 0);
	assert_string_equal(jsonutil_get_str(j, "description"), io.instructions);
	_cleanup_free_ char *lk = task_store_iteration_file(st, id, 2, TASK_FILE_RESUME_LOCK);
	assert_false(fileio_exists(lk));

	/* a FAILED task keeps its error and failedAt the same way */
	int64_t failed_at = timeutil_now_ms() - 50000;
	struct init inf = {.status = TASK_FAILED, .paused_at = failed_at, .failed_at = failed_at};
	int64_t id2 = make_task(&inf);
	_cleanup_error_ struct rv_error *err2 = NULL;
	assert_int_equal(iterate_task(&proj, st, id2, &io, &out, &err2), 0);
	assert_int_equal(out.result, RESUME_FAILED);
	resume_outcome_release(&out);
	t = load(id2);
	assert_int_equal(task_status(t), TASK_FAILED);
	assert_int_equal(task_iterations(t), 1);
	assert_string_equal(task_error(t), "stopped by user");
	int64_t fa = 0;
	assert_true(task_get_time(t, "failedAt", &fa));
	assert_true(fa == failed_at);
	task_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_task, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_resumable_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_already_being_resumed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_start_restores_paused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_start_restores_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_workspace_outside_git, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_auto_counts_only_a_due_attempt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recover_settles_or_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iterate_refuses_running_paused_new, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_iterate_failed_start_restores_the_old_iteration, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
