/* Unit tests for supervisor/lib/taskview (what `rover inspect` gathers):
 * a task with nothing yet, a status file and a checkpoint as the runner
 * writes them, a provider reset time past the horizon, the container's
 * hostile files (a link, a broken checkpoint) described and never an error,
 * a gate of the task's account, a container on an engine that does not
 * answer, and the recorded end of a finished task's container.  The answering engine is covered by the integration tests
 * (rover_ops_*.bats, operator_*.bats run inspect). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-runner/checkpoint.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/admit.h"
#include "supervisor/lib/gate.h"
#include "supervisor/lib/taskview.h"

#define DEAD_ENGINE "unix:///nonexistent-rover-taskview/engine.sock"
#define HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[] = "/tmp/rover-test-taskview-XXXXXX";
static char store_dir[sizeof(dir) + 16];
static struct task_store *store;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-taskview-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(store_dir, sizeof(store_dir), "%s/.rover", dir);
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

static int with_container(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	if (userdata) {
		task_set_str(t, "containerId", userdata);
		task_set_engine(t, "docker", DEAD_ENGINE);
	}
	return 0;
}

static struct task *make(const char *container_id)
{
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (task_store_create(store, "t", "d", timeutil_now_ms(), with_container,
			      (void *)container_id, &t, &e) < 0)
		fail_msg("create: %s", rv_error_msg(e));
	assert_int_equal(task_store_make_iteration(store, t->id, 1, NULL), 0);
	return t;
}

static char *iter_file(const struct task *t, enum task_iter_file f)
{
	return task_store_iteration_file(store, t->id, 1, f);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(fileio_write_atomic(path, text, strlen(text), 0644, NULL), 0);
}

static struct json_object *gather(struct task *t)
{
	struct json_object *o = json_object_new_object();
	taskview_add_inspect(store, t, o);
	return o;
}

static void test_nothing_yet(void **state)
{
	(void)state;
	struct task *t = make(NULL);
	_cleanup_json_ struct json_object *o = gather(t);
	_cleanup_free_ char *iter = task_store_iteration_dir(store, t->id, 1);
	assert_string_equal(jsonutil_get_str(o, "iterationPath"), iter);
	/* no status file is not an error */
	assert_null(jsonutil_get_obj(o, "iteration"));
	assert_null(jsonutil_get_str(o, "iterationError"));
	struct json_object *cp = jsonutil_get_obj(o, "checkpoint");
	assert_non_null(cp);
	bool exists = true;
	assert_true(jsonutil_get_bool(cp, "exists", &exists));
	assert_false(exists);
	assert_null(jsonutil_get_str(cp, "error"));
	assert_null(jsonutil_get_obj(o, "resumeLock"));
	assert_null(jsonutil_get_obj(o, "container"));
	assert_null(jsonutil_get_obj(o, "gate"));
	task_free(t);
}

static void save_checkpoint(struct task *t, int64_t reset_at_ms)
{
	_cleanup_free_ char *path = iter_file(t, TASK_FILE_CHECKPOINT);
	struct checkpoint_store *cs = checkpoint_store_new(path, HASH, NULL);
	_cleanup_json_ struct json_object *out = json_object_new_object();
	_cleanup_error_ struct rv_error *e = NULL;
	if (checkpoint_store_add_completed(cs, "plan", out, &e) < 0 ||
	    checkpoint_store_add_completed(cs, "code", out, &e) < 0 ||
	    checkpoint_store_set_pause(cs, "retryable_error", reset_at_ms, &e) < 0)
		fail_msg("checkpoint: %s", rv_error_msg(e));
	checkpoint_store_free(cs);
}

static void test_status_and_checkpoint(void **state)
{
	(void)state;
	struct task *t = make(NULL);
	_cleanup_free_ char *status = iter_file(t, TASK_FILE_STATUS);
	write_file(status, "{\"status\": \"running\", \"currentStep\": \"code\"}");
	int64_t reset = timeutil_now_ms() + 3600 * 1000;
	save_checkpoint(t, reset);
	_cleanup_json_ struct json_object *o = gather(t);
	assert_string_equal(jsonutil_get_str(jsonutil_get_obj(o, "iteration"), "currentStep"),
			    "code");
	struct json_object *cp = jsonutil_get_obj(o, "checkpoint");
	bool exists = false;
	assert_true(jsonutil_get_bool(cp, "exists", &exists));
	assert_true(exists);
	struct json_object *ids = jsonutil_get_array(cp, "completedSteps");
	assert_int_equal(json_object_array_length(ids), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(ids, 0)), "plan");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(ids, 1)), "code");
	assert_string_equal(jsonutil_get_str(cp, "pauseReason"), "retryable_error");
	char iso[TIMEUTIL_ISO_LEN];
	assert_string_equal(jsonutil_get_str(cp, "resetAt"), timeutil_format_iso(reset, iso));
	assert_null(jsonutil_get_str(cp, "resetAtIgnored"));
	task_free(t);
}

static void test_reset_past_the_horizon_is_ignored(void **state)
{
	(void)state;
	struct task *t = make(NULL);
	save_checkpoint(t, timeutil_now_ms() + 30LL * 24 * 3600 * 1000);
	_cleanup_json_ struct json_object *o = gather(t);
	struct json_object *cp = jsonutil_get_obj(o, "checkpoint");
	/* shown as written, with why it is not used */
	assert_non_null(jsonutil_get_str(cp, "resetAt"));
	assert_non_null(jsonutil_get_str(cp, "resetAtIgnored"));
	task_free(t);
}

static void test_hostile_files_are_described(void **state)
{
	(void)state;
	struct task *t = make(NULL);
	/* status.json a link to a file of the host: not followed */
	_cleanup_free_ char *status = iter_file(t, TASK_FILE_STATUS);
	_cleanup_free_ char *secret = fileio_join(dir, "secret.json");
	write_file(secret, "{\"status\": \"secret\"}");
	assert_int_equal(symlink(secret, status), 0);
	_cleanup_free_ char *cp_path = iter_file(t, TASK_FILE_CHECKPOINT);
	write_file(cp_path, "{\"version\": 1, \"seq\": \"x\"}");
	_cleanup_json_ struct json_object *o = gather(t);
	assert_null(jsonutil_get_obj(o, "iteration"));
	assert_non_null(jsonutil_get_str(o, "iterationError"));
	struct json_object *cp = jsonutil_get_obj(o, "checkpoint");
	bool exists = true;
	assert_true(jsonutil_get_bool(cp, "exists", &exists));
	assert_false(exists);
	assert_non_null(jsonutil_get_str(cp, "error"));
	task_free(t);
}

static void test_container_on_a_dead_engine(void **state)
{
	(void)state;
	struct task *t = make("0123456789abcdef");
	_cleanup_json_ struct json_object *o = gather(t);
	struct json_object *c = jsonutil_get_obj(o, "container");
	assert_non_null(c);
	assert_string_equal(jsonutil_get_str(c, "id"), "0123456789abcdef");
	assert_string_equal(jsonutil_get_str(c, "state"), "unknown");
	assert_non_null(jsonutil_get_str(c, "error"));
	task_free(t);
}

struct ended {
	const char *container_id, *status, *end_id;
};

static int ended_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct ended *e = userdata;
	task_set_str(t, "containerId", e->container_id);
	task_set_engine(t, "docker", DEAD_ENGINE);
	task_set_str(t, "status", e->status);
	if (e->end_id)
		task_set_container_end(t, e->end_id, "rover-task-1-1", "exited", 3, false,
				       timeutil_now_ms());
	return 0;
}

static struct json_object *container_of(const struct ended *e)
{
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *err = NULL;
	if (task_store_create(store, "t", "d", timeutil_now_ms(), ended_fn, (void *)e, &t, &err) <
	    0)
		fail_msg("create: %s", rv_error_msg(err));
	struct json_object *o = gather(t);
	struct json_object *c = json_object_get(jsonutil_get_obj(o, "container"));
	json_object_put(o);
	task_free(t);
	return c;
}

/* A task that ended shows its container as recorded when it ended, without
 * the engine (dead here: asking it would say "unknown"); only for the
 * container the record names, and never for a task that runs again. */
static void test_recorded_end_of_a_finished_task(void **state)
{
	(void)state;
	const struct ended done = {"c0ffee", "COMPLETED", "c0ffee"};
	_cleanup_json_ struct json_object *c = container_of(&done);
	assert_non_null(c);
	assert_string_equal(jsonutil_get_str(c, "id"), "c0ffee");
	assert_string_equal(jsonutil_get_str(c, "state"), "exited");
	int64_t code = 0;
	assert_true(jsonutil_get_int64(c, "exitCode", &code));
	assert_int_equal(code, 3);
	assert_non_null(jsonutil_get_str(c, "seenAt"));

	const struct ended other = {"c0ffee", "COMPLETED", "d00d"};
	_cleanup_json_ struct json_object *c2 = container_of(&other);
	assert_string_equal(jsonutil_get_str(c2, "state"), "unknown");

	const struct ended running = {"c0ffee", "IN_PROGRESS", "c0ffee"};
	_cleanup_json_ struct json_object *c3 = container_of(&running);
	assert_string_equal(jsonutil_get_str(c3, "state"), "unknown");

	const struct ended none = {"c0ffee", "FAILED", NULL};
	_cleanup_json_ struct json_object *c4 = container_of(&none);
	assert_string_equal(jsonutil_get_str(c4, "state"), "unknown");

	/* Podman's "stopped" (exited, not cleaned up yet) is the same end */
	struct task *t = NULL;
	assert_int_equal(task_new(1, "t", "d", timeutil_now_ms(), &t, NULL), 0);
	task_set_str(t, "containerId", "c0ffee");
	task_set_container_end(t, "c0ffee", NULL, "stopped", 0, false, timeutil_now_ms());
	assert_string_equal(jsonutil_get_str(task_container_end(t), "state"), "exited");
	task_free(t);
}

static void test_gate_of_the_account(void **state)
{
	(void)state;
	struct task *t = make(NULL);
	struct gate_table g;
	const struct gate *gt = NULL;
	_cleanup_free_ char *label = NULL;
	/* no gates file: no gate, and the account is still named */
	assert_int_equal(taskview_account_gate(store, t, &g, &gt, &label), 0);
	assert_null(gt);
	assert_non_null(label);
	gate_table_release(&g);
	_cleanup_json_ struct json_object *o = gather(t);
	assert_null(jsonutil_get_obj(o, "gate"));

	/* the task's account limited: its gate in the view */
	char *key = NULL, *lbl = NULL;
	admit_account_of_task(t, &key, &lbl);
	struct gate_table w = {0};
	int64_t until = timeutil_now_ms() + 600 * 1000;
	assert_true(gate_close(&w, key, lbl, until, t->id, "limit", timeutil_now_ms()));
	assert_int_equal(gate_table_save(store->dir, &w, NULL), 0);
	gate_table_release(&w);
	free(key);
	free(lbl);
	_cleanup_json_ struct json_object *o2 = gather(t);
	struct json_object *gj = jsonutil_get_obj(o2, "gate");
	assert_non_null(gj);
	char iso[TIMEUTIL_ISO_LEN];
	assert_string_equal(jsonutil_get_str(gj, "limitedUntil"), timeutil_format_iso(until, iso));
	int64_t who = 0;
	assert_true(jsonutil_get_int64(gj, "task", &who));
	assert_int_equal(who, t->id);
	task_free(t);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_nothing_yet),
		T(test_status_and_checkpoint),
		T(test_reset_past_the_horizon_is_ignored),
		T(test_hostile_files_are_described),
		T(test_container_on_a_dead_engine),
		T(test_recorded_end_of_a_finished_task),
		T(test_gate_of_the_account),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
