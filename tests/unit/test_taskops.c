/* Unit tests for supervisor/lib/taskops: what each operation refuses (and
 * that a refusal touches nothing), the paths that need no engine or meet a
 * dead one (pause leaves no drain file, stop of a NEW/PAUSED task, delete
 * with and without --force, a restart rolled back with the record, the
 * status file and the checkpoint as they were) and moving a checkpoint
 * aside (logs: test_tasklogs.c).  The engine paths run in the integration
 * tests (tests/integration/rover_ops_*.bats) against real engines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/taskops.h"

/* An endpoint nothing listens on: every engine call fails to connect. */
#define DEAD_ENGINE "unix:///nonexistent-rover-taskops/engine.sock"
#define CHECKPOINT_TEXT "{\"version\":1,\"completedSteps\":[{\"id\":\"a\"}]}\n"
#define STATUS_TEXT "{\"taskId\":\"1\",\"status\":\"failed\",\"error\":\"boom\"}\n"

static char dir[] = "/tmp/rover-test-taskops-XXXXXX";
static char store_dir[sizeof(dir) + 16];
static struct task_store *store;
static struct project proj;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-taskops-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(store_dir, sizeof(store_dir), "%s/.rover", dir);
	proj = (struct project){.root = dir, .store_dir = store_dir, .is_git = false};
	/* Records name DEAD_ENGINE: the user configures it, or it is refused
	 * before any connection. */
	setenv("ROVER_ENGINE", DEAD_ENGINE, 1);
	return task_store_open(store_dir, &store, NULL);
}

static int teardown(void **state)
{
	(void)state;
	task_store_free(store);
	store = NULL;
	return fileio_remove_tree(dir, NULL);
}

struct spec {
	enum task_status status;
	const char *container_id;
	const char *endpoint;
	const char *worktree;
	const char *error;
};

static int spec_fn(struct task *t, void *userdata, struct rv_error **err)
{
	const struct spec *s = userdata;
	int64_t now = timeutil_now_ms();
	task_set_str(t, "agentImage", "img:latest");
	if (s->status != TASK_NEW) {
		int r = task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, now, err);
		if (r < 0)
			return r;
	}
	if (s->status == TASK_COMPLETED || s->status == TASK_FAILED || s->status == TASK_PAUSED ||
	    s->status == TASK_ITERATING) {
		int r = task_set_status(t, s->status, s->error, TASK_PAUSE_RETRYABLE_ERROR, now,
					err);
		if (r < 0)
			return r;
	}
	if (s->container_id)
		task_set_str(t, "containerId", s->container_id);
	if (s->endpoint)
		task_set_engine(t, "docker", s->endpoint);
	if (s->worktree)
		task_set_str(t, "worktreePath", s->worktree);
	return 0;
}

/* A task in the given state, its iteration dir with a checkpoint and a
 * status file. */
static struct task *make(const struct spec *s)
{
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (task_store_create(store, "t", "d", timeutil_now_ms(), NULL, NULL, &t, &e) < 0)
		fail_msg("create: %s", rv_error_msg(e));
	int64_t id = t->id;
	task_free(t);
	t = NULL;
	if (task_store_update(store, id, spec_fn, (void *)s, &t, &e) < 0)
		fail_msg("update: %s", rv_error_msg(e));
	assert_int_equal(task_store_make_iteration(store, id, 1, NULL), 0);
	_cleanup_free_ char *cp = task_store_iteration_file(store, id, 1, TASK_FILE_CHECKPOINT);
	_cleanup_free_ char *st = task_store_iteration_file(store, id, 1, TASK_FILE_STATUS);
	assert_int_equal(
		fileio_write_atomic(cp, CHECKPOINT_TEXT, strlen(CHECKPOINT_TEXT), 0644, NULL), 0);
	assert_int_equal(fileio_write_atomic(st, STATUS_TEXT, strlen(STATUS_TEXT), 0644, NULL), 0);
	return t;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	if (fileio_read_bounded(path, 1 << 20, &buf, NULL, NULL) < 0)
		return NULL;
	return buf;
}

static char *iter_file(int64_t id, enum task_iter_file f)
{
	return task_store_iteration_file(store, id, 1, f);
}

static void assert_file_is(const char *path, const char *text)
{
	_cleanup_free_ char *got = slurp(path);
	assert_non_null(got);
	assert_string_equal(got, text);
}

static enum task_status status_on_disk(int64_t id)
{
	struct task *t = NULL;
	assert_int_equal(task_store_load_id(store, id, &t, NULL), 0);
	enum task_status s = task_status(t);
	task_free(t);
	return s;
}

/* ---- pause ---------------------------------------------------------------- */

static void test_pause_refuses_what_is_not_running(void **state)
{
	(void)state;
	const enum task_status refused[] = {TASK_NEW, TASK_PAUSED, TASK_COMPLETED, TASK_FAILED};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		struct spec s = {
			.status = refused[i], .container_id = "c1", .endpoint = DEAD_ENGINE};
		struct task *t = make(&s);
		_cleanup_free_ char *desc = task_store_description_path(store, t->id);
		_cleanup_free_ char *before = slurp(desc);
		struct taskops_pause_opts o = {.timeout_s = -1};
		struct taskops_pause_result res = {0};
		_cleanup_error_ struct rv_error *e = NULL;
		assert_int_equal(taskops_pause(store, t, &o, &res, &e), -EPERM);
		assert_non_null(strstr(e->msg, task_status_name(refused[i])));
		assert_null(res.task);
		_cleanup_free_ char *drain = iter_file(t->id, TASK_FILE_PAUSE_REQUEST);
		assert_false(fileio_exists(drain));
		assert_file_is(desc, before);
		task_free(t);
	}
}

static void test_pause_without_container_is_retryable(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_IN_PROGRESS};
	struct task *t = make(&s);
	struct taskops_pause_opts o = {.timeout_s = -1};
	struct taskops_pause_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_pause(store, t, &o, &res, &e), -EAGAIN);
	assert_non_null(strstr(e->msg, "no container yet"));
	task_free(t);
}

static void test_pause_dead_engine_changes_nothing(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_ITERATING, .container_id = "c1", .endpoint = DEAD_ENGINE};
	struct task *t = make(&s);
	struct taskops_pause_opts o = {.timeout_s = -1, .reason = "lunch"};
	struct taskops_pause_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_pause(store, t, &o, &res, &e), -ECONNREFUSED);
	assert_non_null(strstr(e->msg, "cannot pause task"));
	assert_non_null(strstr(e->msg, "nonexistent-rover-taskops"));
	/* No request was left behind for a runner nobody could reach. */
	_cleanup_free_ char *drain = iter_file(t->id, TASK_FILE_PAUSE_REQUEST);
	assert_false(fileio_exists(drain));
	assert_int_equal(status_on_disk(t->id), TASK_ITERATING);
	task_free(t);
}

static void test_request_pause_records_the_reason_then_the_drain_file(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_ITERATING, .container_id = "c1"};
	struct task *t = make(&s);
	bool asked = false;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(
		taskops_request_pause(store, t->id, TASK_PAUSE_DRAIN, "maintenance", &asked, &e),
		0);
	assert_true(asked);
	_cleanup_free_ char *drain = iter_file(t->id, TASK_FILE_PAUSE_REQUEST);
	assert_file_is(drain, "maintenance\n");
	struct task *f = NULL;
	assert_int_equal(task_store_load_id(store, t->id, &f, NULL), 0);
	struct json_object *req = jsonutil_get_obj(task_json(f), "pauseRequested");
	assert_non_null(req);
	assert_string_equal(jsonutil_get_str(req, "reason"), "drain");
	task_free(f);
	task_free(t);
	/* not running, or no container yet: nothing asked, nothing written */
	const struct spec left[] = {{.status = TASK_PAUSED, .container_id = "c2"},
				    {.status = TASK_IN_PROGRESS}};
	for (size_t i = 0; i < ARRAY_SIZE(left); i++) {
		t = make(&left[i]);
		assert_int_equal(taskops_request_pause(store, t->id, TASK_PAUSE_OPERATOR, NULL,
						       &asked, NULL),
				 0);
		assert_false(asked);
		_cleanup_free_ char *d2 = iter_file(t->id, TASK_FILE_PAUSE_REQUEST);
		assert_false(fileio_exists(d2));
		task_free(t);
	}
}

/* ---- stop ----------------------------------------------------------------- */

static void test_stop_new_task_fails_it_and_keeps_checkpoint(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_NEW};
	struct task *t = make(&s);
	struct taskops_stop_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	if (taskops_stop(store, t, &res, &e) < 0)
		fail_msg("stop: %s", rv_error_msg(e));
	assert_int_equal(task_status(res.task), TASK_FAILED);
	assert_string_equal(task_error(res.task), TASKOPS_STOPPED_ERROR);
	assert_false(res.already);
	assert_null(res.left_behind);
	assert_true(res.has_checkpoint);
	_cleanup_free_ char *cp = iter_file(t->id, TASK_FILE_CHECKPOINT);
	assert_file_is(cp, CHECKPOINT_TEXT);
	assert_int_equal(status_on_disk(t->id), TASK_FAILED);
	taskops_stop_result_release(&res);
	task_free(t);
}

static void test_stop_paused_with_dead_engine_says_what_is_left(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_PAUSED,
			 .container_id = "0123456789abcdef",
			 .endpoint = DEAD_ENGINE,
			 .error = "limit"};
	struct task *t = make(&s);
	struct taskops_stop_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	if (taskops_stop(store, t, &res, &e) < 0)
		fail_msg("stop: %s", rv_error_msg(e));
	assert_int_equal(task_status(res.task), TASK_FAILED);
	assert_string_equal(task_error(res.task), TASKOPS_STOPPED_ERROR);
	/* Leaving PAUSED drops the pause reason: nothing will retry it. */
	assert_null(task_get_str(res.task, "pauseReason"));
	assert_non_null(res.left_behind);
	assert_non_null(strstr(res.left_behind, "0123456789ab"));
	assert_false(res.container_removed);
	_cleanup_free_ char *cp = iter_file(t->id, TASK_FILE_CHECKPOINT);
	assert_file_is(cp, CHECKPOINT_TEXT);
	taskops_stop_result_release(&res);
	task_free(t);
}

static void test_stop_running_with_dead_engine_fails(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_ITERATING, .container_id = "c1", .endpoint = DEAD_ENGINE};
	struct task *t = make(&s);
	struct taskops_stop_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_stop(store, t, &res, &e), -ECONNREFUSED);
	assert_non_null(strstr(e->msg, "cannot stop task"));
	assert_null(res.task);
	assert_int_equal(status_on_disk(t->id), TASK_ITERATING);
	task_free(t);
}

static void test_stop_finished_tasks(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_COMPLETED};
	struct task *t = make(&s);
	struct taskops_stop_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_stop(store, t, &res, &e), -EPERM);
	assert_non_null(strstr(e->msg, "nothing to stop"));
	task_free(t);

	struct spec f = {.status = TASK_FAILED, .error = "boom"};
	t = make(&f);
	if (taskops_stop(store, t, &res, NULL) < 0)
		fail();
	assert_true(res.already);
	assert_string_equal(task_error(res.task), "boom"); /* the real reason stays */
	taskops_stop_result_release(&res);
	task_free(t);
}

/* ---- restart -------------------------------------------------------------- */

static void test_restart_refusals(void **state)
{
	(void)state;
	struct spec p = {.status = TASK_PAUSED, .error = "limit"};
	struct task *t = make(&p);
	struct taskops_restart_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_restart(&proj, store, t, NULL, &res, &e), -EPERM);
	assert_non_null(strstr(e->msg, "current: PAUSED"));
	assert_non_null(strstr(e->msg, "rover resume"));
	_cleanup_free_ char *cp = iter_file(t->id, TASK_FILE_CHECKPOINT);
	assert_file_is(cp, CHECKPOINT_TEXT);
	task_free(t);
	e = rv_error_free(e);

	struct spec c = {.status = TASK_COMPLETED};
	t = make(&c);
	assert_int_equal(taskops_restart(&proj, store, t, NULL, &res, &e), -EPERM);
	assert_non_null(strstr(e->msg, "current: COMPLETED"));
	task_free(t);
}

static void test_restart_failure_puts_everything_back(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_FAILED, .error = "boom", .endpoint = DEAD_ENGINE};
	struct task *t = make(&s);
	_cleanup_free_ char *desc = task_store_description_path(store, t->id);
	_cleanup_json_ struct json_object *before = NULL;
	assert_int_equal(jsonutil_read_object(desc, &before, NULL), 0);
	struct taskops_restart_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_restart(&proj, store, t, NULL, &res, &e), -ECONNREFUSED);
	assert_non_null(strstr(e->msg, "cannot restart task"));
	assert_null(res.task);

	_cleanup_json_ struct json_object *after = NULL;
	assert_int_equal(jsonutil_read_object(desc, &after, NULL), 0);
	assert_true(json_object_equal(before, after));
	_cleanup_free_ char *cp = iter_file(t->id, TASK_FILE_CHECKPOINT);
	_cleanup_free_ char *st = iter_file(t->id, TASK_FILE_STATUS);
	assert_file_is(cp, CHECKPOINT_TEXT);
	assert_file_is(st, STATUS_TEXT);
	/* Nothing moved aside stays behind, and the resume lock is released. */
	_cleanup_free_ char *iter = task_store_iteration_dir(store, t->id, 1);
	_cleanup_free_ char *lock = fileio_join(iter, ".resume.lock");
	assert_false(fileio_exists(lock));
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q restart-", iter);
	assert_int_not_equal(system(cmd), 0);
	task_free(t);
}

static void test_checkpoint_aside(void **state)
{
	(void)state;
	_cleanup_free_ char *cp = fileio_join(dir, "checkpoint.json");
	char *aside = NULL;
	/* None: success, nothing to report. */
	assert_int_equal(taskops_checkpoint_aside(dir, 1000, &aside, NULL), 0);
	assert_null(aside);

	assert_int_equal(fileio_write_atomic(cp, "one", 3, 0644, NULL), 0);
	assert_int_equal(taskops_checkpoint_aside(dir, 1000, &aside, NULL), 0);
	assert_non_null(aside);
	assert_non_null(strstr(aside, "/checkpoint.json.restart-1000"));
	assert_file_is(aside, "one");
	assert_false(fileio_exists(cp));

	/* Same millisecond: the next free name, never a replaced file. */
	assert_int_equal(fileio_write_atomic(cp, "two", 3, 0644, NULL), 0);
	char *aside2 = NULL;
	assert_int_equal(taskops_checkpoint_aside(dir, 1000, &aside2, NULL), 0);
	assert_non_null(strstr(aside2, "/checkpoint.json.restart-1001"));
	assert_file_is(aside, "one");
	assert_file_is(aside2, "two");
	free(aside);
	free(aside2);
}

/* ---- delete --------------------------------------------------------------- */

static void test_delete_refuses_running_task(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_IN_PROGRESS, .container_id = "c1", .endpoint = DEAD_ENGINE};
	struct task *t = make(&s);
	struct taskops_delete_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_delete(&proj, store, t->id, t, false, &res, &e), -EBUSY);
	assert_non_null(strstr(e->msg, "--force"));
	_cleanup_free_ char *tdir = task_store_task_dir(store, t->id);
	assert_true(fileio_is_dir(tdir));
	task_free(t);
}

static void test_delete_dead_engine_needs_force(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_FAILED, .container_id = "c1", .endpoint = DEAD_ENGINE};
	struct task *t = make(&s);
	_cleanup_free_ char *tdir = task_store_task_dir(store, t->id);
	struct taskops_delete_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_delete(&proj, store, t->id, t, false, &res, &e), -ECONNREFUSED);
	assert_non_null(strstr(e->msg, "--force"));
	assert_true(fileio_is_dir(tdir));

	assert_int_equal(taskops_delete(&proj, store, t->id, t, true, &res, NULL), 0);
	assert_false(fileio_exists(tdir));
	assert_int_equal(res.n_left, 1);
	assert_non_null(strstr(res.left_behind[0], "container"));
	taskops_delete_result_release(&res);
	task_free(t);
}

static void test_delete_task_that_never_ran_needs_no_engine(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_NEW};
	struct task *t = make(&s);
	_cleanup_free_ char *tdir = task_store_task_dir(store, t->id);
	struct taskops_delete_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	if (taskops_delete(&proj, store, t->id, t, false, &res, &e) < 0)
		fail_msg("delete: %s", rv_error_msg(e));
	assert_false(fileio_exists(tdir));
	assert_int_equal(res.n_left, 0);
	assert_int_equal(res.containers_removed, 0);
	taskops_delete_result_release(&res);
	task_free(t);
}

static void test_delete_never_removes_a_workspace_outside_the_store(void **state)
{
	(void)state;
	_cleanup_free_ char *mine = fileio_join(dir, "precious");
	assert_int_equal(mkdir(mine, 0755), 0);
	struct spec s = {.status = TASK_FAILED, .worktree = mine};
	struct task *t = make(&s);
	struct taskops_delete_result res = {0};
	assert_int_equal(taskops_delete(&proj, store, t->id, t, false, &res, NULL), 0);
	assert_true(fileio_is_dir(mine));
	assert_int_equal(res.n_left, 1);
	assert_non_null(strstr(res.left_behind[0], "outside the store"));
	taskops_delete_result_release(&res);
	task_free(t);

	/* An unreadable record: only with force. */
	t = make(&s);
	int64_t id = t->id;
	task_free(t);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(taskops_delete(&proj, store, id, NULL, false, &res, &e), -EINVAL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_pause_refuses_what_is_not_running),
		T(test_request_pause_records_the_reason_then_the_drain_file),
		T(test_pause_without_container_is_retryable),
		T(test_pause_dead_engine_changes_nothing),
		T(test_stop_new_task_fails_it_and_keeps_checkpoint),
		T(test_stop_paused_with_dead_engine_says_what_is_left),
		T(test_stop_running_with_dead_engine_fails),
		T(test_stop_finished_tasks),
		T(test_restart_refusals),
		T(test_restart_failure_puts_everything_back),
		T(test_checkpoint_aside),
		T(test_delete_refuses_running_task),
		T(test_delete_dead_engine_needs_force),
		T(test_delete_task_that_never_ran_needs_no_engine),
		T(test_delete_never_removes_a_workspace_outside_the_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
