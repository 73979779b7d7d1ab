/* Unit tests for supervisor/lib/task: description.json round trips keep
 * unknown fields; malformed, truncated, wrong-version and wrong-id files are
 * refused naming the file with nothing overwritten; migration from 1.5 keeps
 * a backup; every A.4 side effect; the transition table. */
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

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/task.h"

static char dir[] = "/tmp/rover-test-task-XXXXXX";
static char *path; /* <dir>/description.json */
static char *backup;

static const int64_t T0 = 1795335467123; /* 2026-11-22T08:17:47.123Z */

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-task-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	path = fileio_join(dir, "description.json");
	backup = xasprintf("%s.backup", path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(path);
	free(backup);
	return fileio_remove_tree(dir, NULL);
}

static void write_raw(const char *content)
{
	assert_int_equal(fileio_write_atomic(path, content, strlen(content), 0644, NULL), 0);
}

static char *read_raw(const char *p)
{
	char *buf = NULL;
	assert_int_equal(fileio_read_bounded(p, 1 << 20, &buf, NULL, NULL), 0);
	return buf;
}

static const char *valid_doc =
	"{\n"
	"  \"id\": 7,\n"
	"  \"uuid\": \"0f1d8c52-3b2a-4e1f-9d6a-1c2b3d4e5f60\",\n"
	"  \"title\": \"Fix the parser\",\n"
	"  \"description\": \"make it deterministic\",\n"
	"  \"inputs\": {\"description\": \"x\"},\n"
	"  \"status\": \"ITERATING\",\n"
	"  \"createdAt\": \"2026-01-01T10:00:00.000Z\",\n"
	"  \"startedAt\": \"2026-01-01T10:00:01.000Z\",\n"
	"  \"iterations\": 2,\n"
	"  \"workflowName\": \"swe\",\n"
	"  \"worktreePath\": \"\",\n"
	"  \"branchName\": \"rover/task-7\",\n"
	"  \"containerId\": null,\n"
	"  \"engine\": {\"kind\": \"podman\", \"endpoint\": \"unix:///run/podman/podman.sock\","
	"              \"apiVersion\": \"1.41\"},\n"
	"  \"autoRetry\": {\"count\": 2, \"max\": 5, \"provider\": \"claude\","
	"                 \"nextRetryAt\": \"2026-01-01T11:05:00.000Z\", \"futureKnob\": true},\n"
	"  \"futureField\": {\"nested\": [1, 2, {\"deep\": \"yes\"}]},\n"
	"  \"runSegments\": [{\"start\": \"2026-01-01T10:00:01.000Z\"}],\n"
	"  \"version\": \"1.6\"\n"
	"}\n";

static struct task *load_ok(int64_t id, bool persist)
{
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	int r = task_load(path, id, persist, &t, &e);
	if (r < 0)
		fail_msg("task_load: %s", rv_error_msg(e));
	return t;
}

static void test_task_round_trip_keeps_unknown_fields(void **state)
{
	(void)state;
	write_raw(valid_doc);
	struct task *t = load_ok(7, true);
	assert_int_equal(t->id, 7);
	assert_int_equal(task_status(t), TASK_ITERATING);
	assert_string_equal(task_title(t), "Fix the parser");
	assert_int_equal(task_iterations(t), 2);
	assert_null(task_container_id(t));
	const char *kind = NULL, *endpoint = NULL;
	assert_true(task_get_engine(t, &kind, &endpoint));
	assert_string_equal(kind, "podman");
	assert_string_equal(endpoint, "unix:///run/podman/podman.sock");

	assert_int_equal(task_set_status(t, TASK_PAUSED, "Usage limit reached",
					 TASK_PAUSE_RETRYABLE_ERROR, T0, NULL),
			 0);
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	ar.count = 3;
	ar.next_retry_at_ms = T0 + 60000;
	task_set_auto_retry(t, &ar);
	assert_int_equal(task_save(t, path, NULL), 0);
	task_free(t);

	/* the file on disk still has every unknown field, untouched */
	_cleanup_json_ struct json_object *orig = json_tokener_parse(valid_doc);
	_cleanup_json_ struct json_object *now = NULL;
	assert_int_equal(jsonutil_read_object(path, &now, NULL), 0);
	assert_true(json_object_equal(jsonutil_get_obj(orig, "futureField"),
				      jsonutil_get_obj(now, "futureField")));
	assert_true(json_object_equal(jsonutil_get_array(orig, "runSegments"),
				      jsonutil_get_array(now, "runSegments")));
	assert_string_equal(jsonutil_get_str(jsonutil_get_obj(now, "engine"), "apiVersion"),
			    "1.41");
	struct json_object *nar = jsonutil_get_obj(now, "autoRetry");
	bool knob = false;
	assert_true(jsonutil_get_bool(nar, "futureKnob", &knob));
	assert_true(knob);
	int64_t count = 0;
	assert_true(jsonutil_get_int64(nar, "count", &count));
	assert_int_equal(count, 3);
	assert_string_equal(jsonutil_get_str(nar, "provider"), "claude");
	assert_string_equal(jsonutil_get_str(now, "pauseReason"), "retryable_error");
	assert_string_equal(jsonutil_get_str(now, "status"), "PAUSED");

	/* and it loads again */
	t = load_ok(7, false);
	task_get_auto_retry(t, &ar);
	assert_int_equal(ar.count, 3);
	assert_int_equal(ar.max, 5);
	assert_int_equal(ar.next_retry_at_ms, T0 + 60000);
	assert_string_equal(ar.provider, "claude");
	assert_int_equal(task_pause_reason(t), TASK_PAUSE_RETRYABLE_ERROR);
	assert_string_equal(task_error(t), "Usage limit reached");
	task_free(t);
	assert_false(fileio_exists(backup));
}

static void expect_refused(const char *content, int64_t expected_id, int code, const char *needle)
{
	write_raw(content);
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	int r = task_load(path, expected_id, true, &t, &e);
	if (r != -code)
		fail_msg("want -%d, got %d (%s) for %s", code, r, rv_error_msg(e), content);
	assert_null(t);
	assert_non_null(e);
	if (!strstr(e->msg, path))
		fail_msg("message '%s' does not name the file", e->msg);
	if (needle && !strstr(e->msg, needle))
		fail_msg("message '%s' lacks '%s'", e->msg, needle);
	/* nothing overwritten, no backup */
	_cleanup_free_ char *after = read_raw(path);
	assert_string_equal(after, content);
	assert_false(fileio_exists(backup));
}

static void test_task_refuses_bad_files(void **state)
{
	(void)state;
	expect_refused("", 7, EBADMSG, "empty");
	expect_refused("   \n", 7, EBADMSG, "empty");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"vers", 7, EBADMSG, "truncated");
	expect_refused("\x01\x02garbage", 7, EBADMSG, NULL);
	expect_refused("[{\"id\": 7}]", 7, EBADMSG, "not a JSON object");
	expect_refused("{\"status\": \"NEW\", \"version\": \"1.6\"}", 7, EBADMSG, "'id'");
	expect_refused("{\"id\": 0, \"status\": \"NEW\", \"version\": \"1.6\"}", 7, EBADMSG,
		       "'id'");
	expect_refused("{\"id\": \"7\", \"status\": \"NEW\", \"version\": \"1.6\"}", 7, EBADMSG,
		       "'id'");
	expect_refused("{\"id\": 8, \"status\": \"NEW\", \"version\": \"1.6\"}", 7, EBADMSG,
		       "directory is 7");
	expect_refused("{\"id\": 7, \"version\": \"1.6\"}", 7, EBADMSG, "'status'");
	expect_refused("{\"id\": 7, \"status\": \"DONE\", \"version\": \"1.6\"}", 7, EBADMSG,
		       "'status'");
	expect_refused("{\"id\": 7, \"status\": \"paused\", \"version\": \"1.6\"}", 7, EBADMSG,
		       "'status'");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"2.0\"}", 7, ENOTSUP, "2.0");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"0.9\"}", 7, ENOTSUP, "0.9");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": 1.6}", 7, EBADMSG,
		       "'version'");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.six\"}", 7, EBADMSG,
		       "1.six");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\", \"iterations\": "
		       "\"2\"}",
		       7, EBADMSG, "'iterations'");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\", \"iterations\": 0}",
		       7, EBADMSG, "'iterations'");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\", \"title\": 5}", 7,
		       EBADMSG, "'title'");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\", \"inputs\": []}", 7,
		       EBADMSG, "'inputs'");
	expect_refused("{\"id\": 7, \"status\": \"PAUSED\", \"version\": \"1.6\", \"pauseReason\": "
		       "\"nap\"}",
		       7, EBADMSG, "pauseReason");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\", \"engine\": "
		       "{\"kind\": \"lxc\"}}",
		       7, EBADMSG, "engine.kind");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\", \"engine\": "
		       "{\"kind\": \"docker\", \"endpoint\": 3}}",
		       7, EBADMSG, "engine.endpoint");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\", \"autoRetry\": "
		       "{\"count\": -1}}",
		       7, EBADMSG, "autoRetry.count");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\", \"autoRetry\": "
		       "{\"provider\": 1}}",
		       7, EBADMSG, "autoRetry.provider");
	expect_refused("{\"id\": 7, \"status\": \"NEW\", \"version\": \"1.6\"} trailing", 7,
		       EBADMSG, "trailing");
	/* migration does not rescue a bad id */
	expect_refused("{\"id\": -3, \"status\": \"new\", \"version\": \"1.5\"}", 7, EBADMSG,
		       "'id'");

	/* a missing file is ENOENT */
	unlink(path);
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(task_load(path, 7, false, &t, &e), -ENOENT);
	assert_null(t);
}

static void test_task_migrates_old_version_with_backup(void **state)
{
	(void)state;
	const char *old = "{\"id\": 7, \"status\": \"running\", \"version\": \"1.5\",\n"
			  " \"dockerHost\": \"tcp://10.0.0.2:2375\", \"legacy\": \"kept\",\n"
			  " \"pausedAt\": \"2026-01-01T10:30:00.000Z\", \"iterations\": 0}\n";
	write_raw(old);

	/* without persisting: migrated in memory only */
	struct task *t = load_ok(7, false);
	assert_int_equal(task_status(t), TASK_IN_PROGRESS);
	task_free(t);
	_cleanup_free_ char *same = read_raw(path);
	assert_string_equal(same, old);
	assert_false(fileio_exists(backup));

	t = load_ok(7, true);
	assert_int_equal(task_status(t), TASK_IN_PROGRESS);
	assert_string_equal(task_title(t), "Unknown Task");
	assert_int_equal(task_iterations(t), 1);
	assert_string_equal(task_get_str(t, "workflowName"), "swe");
	assert_string_equal(task_get_str(t, "version"), "1.6");
	assert_string_equal(task_get_str(t, "legacy"), "kept");
	assert_string_equal(task_get_str(t, "pausedAt"), "2026-01-01T10:30:00.000Z");
	assert_null(task_get_str(t, "dockerHost"));
	struct json_object *meta = jsonutil_get_obj(task_json(t), "sandboxMetadata");
	assert_string_equal(jsonutil_get_str(meta, "dockerHost"), "tcp://10.0.0.2:2375");
	assert_non_null(task_get_str(t, "uuid"));
	assert_non_null(task_get_str(t, "createdAt"));
	task_free(t);

	_cleanup_free_ char *bak = read_raw(backup);
	assert_string_equal(bak, old);
	_cleanup_json_ struct json_object *disk = NULL;
	assert_int_equal(jsonutil_read_object(path, &disk, NULL), 0);
	assert_string_equal(jsonutil_get_str(disk, "version"), "1.6");
	assert_string_equal(jsonutil_get_str(disk, "status"), "IN_PROGRESS");

	/* loading again: nothing to migrate, the backup is not rewritten */
	unlink(backup);
	t = load_ok(7, true);
	task_free(t);
	assert_false(fileio_exists(backup));
}

static void test_task_migration_status_mapping(void **state)
{
	(void)state;
	static const struct {
		const char *old;
		enum task_status want;
	} cases[] = {
		{"new", TASK_NEW},
		{"IN_PROGRESS", TASK_IN_PROGRESS},
		{"Running", TASK_IN_PROGRESS},
		{"iterating", TASK_ITERATING},
		{"completed", TASK_COMPLETED},
		{"FAILED", TASK_FAILED},
		{"merged", TASK_MERGED},
		{"pushed", TASK_PUSHED},
		{"paused", TASK_PAUSED},
		{"exploded", TASK_NEW},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *doc = xasprintf(
			"{\"id\": 3, \"status\": \"%s\", \"version\": \"1.4\"}", cases[i].old);
		write_raw(doc);
		struct task *t = load_ok(3, false);
		assert_int_equal(task_status(t), cases[i].want);
		task_free(t);
	}
	/* no version at all: migrated too; a status that is not a string -> NEW */
	write_raw("{\"id\": 3, \"status\": 5}");
	struct task *t = load_ok(3, false);
	assert_int_equal(task_status(t), TASK_NEW);
	task_free(t);
}

static void test_task_newer_minor_is_kept(void **state)
{
	(void)state;
	const char *doc = "{\"id\": 4, \"status\": \"PAUSED\", \"version\": \"1.7\", "
			  "\"autoRetryCount\": 2, \"rtkEnabled\": true}";
	write_raw(doc);
	struct task *t = load_ok(4, true);
	assert_int_equal(task_status(t), TASK_PAUSED);
	assert_false(fileio_exists(backup));
	assert_int_equal(task_save(t, path, NULL), 0);
	task_free(t);
	_cleanup_json_ struct json_object *disk = NULL;
	assert_int_equal(jsonutil_read_object(path, &disk, NULL), 0);
	assert_string_equal(jsonutil_get_str(disk, "version"), "1.7");
	int64_t n = 0;
	assert_true(jsonutil_get_int64(disk, "autoRetryCount", &n));
	assert_int_equal(n, 2);
}

static struct task *fresh(enum task_status st)
{
	struct task *t = NULL;
	assert_int_equal(task_new(9, "title", "desc", T0 - 100000, &t, NULL), 0);
	task_set_str(t, "status", task_status_name(st));
	return t;
}

static const char *str(struct task *t, const char *key)
{
	return task_get_str(t, key);
}

static void test_task_side_effects(void **state)
{
	(void)state;
	char ts[TIMEUTIL_ISO_LEN], old[TIMEUTIL_ISO_LEN];
	timeutil_format_iso(T0, ts);
	timeutil_format_iso(T0 - 5000, old);

	/* IN_PROGRESS: startedAt only if absent, error and pausedAt cleared */
	struct task *t = fresh(TASK_PAUSED);
	task_set_str(t, "error", "limit");
	task_set_str(t, "pausedAt", old);
	task_set_str(t, "pauseReason", "retryable_error");
	struct task_auto_retry ar = {.count = 2, .max = 5, .next_retry_at_ms = T0 + 1000};
	task_set_auto_retry(t, &ar);
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, "ignored", TASK_PAUSE_USER, T0, NULL),
			 0);
	assert_string_equal(str(t, "status"), "IN_PROGRESS");
	assert_string_equal(str(t, "startedAt"), ts);
	assert_string_equal(str(t, "lastStatusCheck"), ts);
	assert_null(str(t, "error"));
	assert_null(str(t, "pausedAt"));
	assert_null(str(t, "pauseReason"));
	task_get_auto_retry(t, &ar);
	assert_int_equal(ar.count, 2); /* kept: the budget spans re-pauses */
	assert_int_equal(ar.next_retry_at_ms, 0);
	/* startedAt is not moved by a second entry */
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, 0, T0 + 10, NULL), 0);
	assert_string_equal(str(t, "startedAt"), ts);
	task_free(t);

	/* ITERATING */
	t = fresh(TASK_IN_PROGRESS);
	task_set_str(t, "error", "old");
	assert_int_equal(task_set_status(t, TASK_ITERATING, NULL, 0, T0, NULL), 0);
	assert_string_equal(str(t, "lastIterationAt"), ts);
	assert_null(str(t, "error"));
	assert_null(str(t, "pausedAt"));
	task_free(t);

	/* PAUSED: pausedAt, reason, error set or cleared; failedAt/completedAt untouched */
	t = fresh(TASK_ITERATING);
	task_set_str(t, "failedAt", old);
	task_set_str(t, "completedAt", old);
	task_set_str(t, "error", "previous");
	assert_int_equal(
		task_set_status(t, TASK_PAUSED, "Usage limit reached", TASK_PAUSE_SIGNAL, T0, NULL),
		0);
	assert_string_equal(str(t, "pausedAt"), ts);
	assert_string_equal(str(t, "pauseReason"), "signal");
	assert_string_equal(str(t, "error"), "Usage limit reached");
	assert_string_equal(str(t, "failedAt"), old);
	assert_string_equal(str(t, "completedAt"), old);
	assert_null(str(t, "startedAt"));
	assert_int_equal(task_set_status(t, TASK_PAUSED, "", TASK_PAUSE_USER, T0, NULL), 0);
	assert_null(str(t, "error"));
	assert_string_equal(str(t, "pauseReason"), "user");
	/* a pause needs a reason, and a refused call changes nothing */
	_cleanup_free_ char *before = xstrdup(json_object_to_json_string(task_json(t)));
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(task_set_status(t, TASK_PAUSED, "x", TASK_PAUSE_NONE, T0, &e), -EINVAL);
	assert_string_equal(before, json_object_to_json_string(task_json(t)));
	task_free(t);

	/* FAILED: failedAt, error set or cleared, pausedAt cleared */
	t = fresh(TASK_PAUSED);
	task_set_str(t, "pausedAt", old);
	task_set_str(t, "pauseReason", "retryable_error");
	task_set_str(t, "error", "limit");
	assert_int_equal(task_set_status(t, TASK_FAILED, "stopped by user", 0, T0, NULL), 0);
	assert_string_equal(str(t, "failedAt"), ts);
	assert_string_equal(str(t, "error"), "stopped by user");
	assert_null(str(t, "pausedAt"));
	assert_null(str(t, "pauseReason"));
	assert_int_equal(task_set_status(t, TASK_FAILED, NULL, 0, T0, NULL), 0);
	assert_null(str(t, "error"));
	task_free(t);

	/* COMPLETED: completedAt, pausedAt cleared, error kept, retry count reset */
	t = fresh(TASK_ITERATING);
	task_set_str(t, "error", "kept");
	task_set_str(t, "pausedAt", old);
	ar = (struct task_auto_retry){.count = 4, .max = 5, .provider = "claude"};
	task_set_auto_retry(t, &ar);
	assert_int_equal(task_set_status(t, TASK_COMPLETED, "ignored", 0, T0, NULL), 0);
	assert_string_equal(str(t, "completedAt"), ts);
	assert_string_equal(str(t, "error"), "kept");
	assert_null(str(t, "pausedAt"));
	task_get_auto_retry(t, &ar);
	assert_int_equal(ar.count, 0);
	assert_int_equal(ar.max, 5);
	assert_string_equal(ar.provider, "claude");

	/* MERGED / PUSHED: completedAt only if absent */
	assert_int_equal(task_set_status(t, TASK_MERGED, NULL, 0, T0 + 999, NULL), 0);
	assert_string_equal(str(t, "completedAt"), ts);
	assert_string_equal(str(t, "lastStatusCheck"), timeutil_format_iso(T0 + 999, old));
	task_set_str(t, "completedAt", NULL);
	assert_int_equal(task_set_status(t, TASK_PUSHED, NULL, 0, T0, NULL), 0);
	assert_string_equal(str(t, "completedAt"), ts);
	assert_string_equal(str(t, "error"), "kept");
	task_free(t);

	/* NEW: error and pausedAt cleared */
	t = fresh(TASK_IN_PROGRESS);
	task_set_str(t, "error", "x");
	assert_int_equal(task_set_status(t, TASK_NEW, "ignored", 0, T0, NULL), 0);
	assert_null(str(t, "error"));
	assert_string_equal(str(t, "lastStatusCheck"), ts);
	task_free(t);
}

/* The intended table, written out independently of task.c's. */
static const char *const expected_table[TASK__STATUS_MAX] = {
	/*                 NIIPCFMP */
	[TASK_NEW] = "YY...Y..",    [TASK_IN_PROGRESS] = "YYYYYY..", [TASK_ITERATING] = "YYYYYY..",
	[TASK_PAUSED] = ".Y.Y.Y..", [TASK_COMPLETED] = "....Y.YY",   [TASK_FAILED] = ".Y...Y..",
	[TASK_MERGED] = "......YY", [TASK_PUSHED] = "......YY",
};

static void test_task_stall_and_queue_side_effects(void **state)
{
	(void)state;
	/* the supervisor's SIGTERM of a stalled task: signal -> stalled, for
	 * the container it was sent to only */
	struct task *t = fresh(TASK_ITERATING);
	task_set_str(t, "containerId", "abc");
	struct json_object *sr = json_object_new_object();
	jsonutil_set_str(sr, "containerId", "abc");
	json_object_object_add(task_json(t), "stallRequest", sr);
	assert_int_equal(task_set_status(t, TASK_PAUSED, NULL, TASK_PAUSE_SIGNAL, T0, NULL), 0);
	assert_string_equal(str(t, "pauseReason"), "stalled");
	assert_int_equal(task_pause_reason(t), TASK_PAUSE_STALLED);
	assert_null(jsonutil_get_obj(task_json(t), "stallRequest"));
	task_free(t);

	t = fresh(TASK_ITERATING);
	task_set_str(t, "containerId", "new");
	sr = json_object_new_object();
	jsonutil_set_str(sr, "containerId", "old");
	json_object_object_add(task_json(t), "stallRequest", sr);
	assert_int_equal(task_set_status(t, TASK_PAUSED, NULL, TASK_PAUSE_ORPHAN, T0, NULL), 0);
	assert_string_equal(str(t, "pauseReason"), "orphan");
	task_free(t);

	/* a user's pause stays the user's */
	t = fresh(TASK_ITERATING);
	task_set_str(t, "containerId", "abc");
	sr = json_object_new_object();
	jsonutil_set_str(sr, "containerId", "abc");
	json_object_object_add(task_json(t), "stallRequest", sr);
	assert_int_equal(task_set_status(t, TASK_PAUSED, NULL, TASK_PAUSE_USER, T0, NULL), 0);
	assert_string_equal(str(t, "pauseReason"), "user");
	task_free(t);

	/* queued stays through the start (a start that dies goes back into
	 * the queue), and goes with any later status */
	t = fresh(TASK_NEW);
	json_object_object_add(task_json(t), "queued", json_object_new_object());
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, 0, T0, NULL), 0);
	assert_non_null(jsonutil_get_obj(task_json(t), "queued"));
	assert_int_equal(task_set_status(t, TASK_NEW, NULL, 0, T0, NULL), 0);
	assert_non_null(jsonutil_get_obj(task_json(t), "queued"));
	assert_int_equal(task_set_status(t, TASK_FAILED, "stopped", 0, T0, NULL), 0);
	assert_null(jsonutil_get_obj(task_json(t), "queued"));
	task_free(t);
	t = fresh(TASK_IN_PROGRESS);
	json_object_object_add(task_json(t), "queued", json_object_new_object());
	assert_int_equal(task_set_status(t, TASK_ITERATING, NULL, 0, T0, NULL), 0);
	assert_null(jsonutil_get_obj(task_json(t), "queued"));
	task_free(t);
	/* "stalled" parses and validates */
	enum task_pause_reason r;
	assert_true(task_pause_reason_parse("stalled", &r));
	assert_int_equal(r, TASK_PAUSE_STALLED);
}

static void test_task_transition_table(void **state)
{
	(void)state;
	for (int from = 0; from < TASK__STATUS_MAX; from++) {
		for (int to = 0; to < TASK__STATUS_MAX; to++) {
			bool want = expected_table[from][to] == 'Y';
			assert_int_equal(task_transition_allowed(from, to), want);
			struct task *t = fresh(from);
			_cleanup_free_ char *before =
				xstrdup(json_object_to_json_string(task_json(t)));
			_cleanup_error_ struct rv_error *e = NULL;
			int r = task_set_status(t, to, "err", TASK_PAUSE_ORPHAN, T0, &e);
			if (want) {
				assert_int_equal(r, 0);
				assert_int_equal(task_status(t), to);
			} else {
				assert_int_equal(r, -EPERM);
				assert_non_null(strstr(e->msg, task_status_name(from)));
				assert_non_null(strstr(e->msg, task_status_name(to)));
				assert_string_equal(before,
						    json_object_to_json_string(task_json(t)));
			}
			task_free(t);
		}
	}
	/* the specific promises of the header */
	assert_false(task_transition_allowed(TASK_COMPLETED, TASK_IN_PROGRESS));
	assert_false(task_transition_allowed(TASK_PAUSED, TASK_ITERATING));
	assert_false(task_transition_allowed(TASK_FAILED, TASK_ITERATING));
	assert_true(task_transition_allowed(TASK_PAUSED, TASK_IN_PROGRESS));
	assert_true(task_transition_allowed(TASK_FAILED, TASK_IN_PROGRESS));
	assert_false(task_transition_allowed(TASK__STATUS_MAX, TASK_NEW));
	assert_false(task_transition_allowed(TASK_NEW, (enum task_status) - 1));
}

static void test_task_restart(void **state)
{
	(void)state;
	char ts[TIMEUTIL_ISO_LEN];
	struct task *t = fresh(TASK_COMPLETED);
	task_set_str(t, "error", "x");
	assert_int_equal(task_restart(t, T0, NULL), 0);
	assert_int_equal(task_status(t), TASK_IN_PROGRESS);
	int64_t n = 0;
	assert_true(task_get_int(t, "restartCount", &n));
	assert_int_equal(n, 1);
	assert_string_equal(str(t, "lastRestartAt"), timeutil_format_iso(T0, ts));
	assert_null(str(t, "error"));
	assert_int_equal(task_restart(t, T0 + 1, NULL), 0);
	assert_true(task_get_int(t, "restartCount", &n));
	assert_int_equal(n, 2);
	int64_t ms = 0;
	assert_true(task_get_time(t, "lastRestartAt", &ms));
	assert_int_equal(ms, T0 + 1);
	task_free(t);

	/* Issue 15: restartCount INT64_MAX (a hand-edited or hostile record)
	 * wrapped negative and the next save refused the record; now the restart
	 * is refused with a clear message and the task is left as it was. */
	t = fresh(TASK_FAILED);
	task_set_int(t, "restartCount", INT64_MAX);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(task_restart(t, T0, &e), -ERANGE);
	assert_non_null(strstr(rv_error_msg(e), "restartCount"));
	assert_int_equal(task_status(t), TASK_FAILED);
	assert_true(task_get_int(t, "restartCount", &n));
	assert_int_equal(n, INT64_MAX);
	assert_false(task_get_time(t, "lastRestartAt", &ms));
	assert_int_equal(task_validate(t, "task.json", NULL), 0);
	task_set_int(t, "restartCount", INT64_MAX - 1);
	assert_int_equal(task_restart(t, T0, NULL), 0);
	assert_true(task_get_int(t, "restartCount", &n));
	assert_int_equal(n, INT64_MAX);
	task_free(t);
	e = rv_error_free(e);

	t = fresh(TASK_MERGED);
	assert_int_equal(task_restart(t, T0, &e), -EPERM);
	assert_int_equal(task_status(t), TASK_MERGED);
	assert_false(task_get_int(t, "restartCount", &n));
	task_free(t);
}

static void test_task_iterate(void **state)
{
	(void)state;
	static const enum task_status ok[] = {TASK_COMPLETED, TASK_FAILED, TASK_MERGED,
					      TASK_PUSHED};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct task *t = fresh(ok[i]);
		assert_int_equal(task_iterate(t, T0, NULL), 0);
		assert_int_equal(task_status(t), TASK_IN_PROGRESS);
		assert_int_equal(task_iterations(t), 2);
		int64_t ms = 0;
		assert_true(task_get_time(t, "lastIterationAt", &ms));
		assert_int_equal(ms, T0);
		assert_null(str(t, "error"));
		task_free(t);
	}
	static const enum task_status refused[] = {TASK_NEW, TASK_IN_PROGRESS, TASK_ITERATING,
						   TASK_PAUSED};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct task *t = fresh(refused[i]);
		_cleanup_error_ struct rv_error *e = NULL;
		assert_int_equal(task_iterate(t, T0, &e), -EPERM);
		assert_int_equal(task_status(t), refused[i]);
		assert_int_equal(task_iterations(t), 1);
		task_free(t);
	}
	/* iterations that cannot grow: refused, t unchanged */
	struct task *t = fresh(TASK_COMPLETED);
	task_set_int(t, "iterations", INT64_MAX);
	assert_int_equal(task_iterate(t, T0, NULL), -ERANGE);
	assert_int_equal(task_status(t), TASK_COMPLETED);
	task_free(t);
}

static void test_task_new_save_load(void **state)
{
	(void)state;
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(task_new(0, "t", NULL, T0, &t, &e), -EINVAL);
	e = rv_error_free(e);
	assert_int_equal(task_new(5, "", NULL, T0, &t, &e), -EINVAL);
	assert_null(t);
	assert_int_equal(task_new(5, "Title", NULL, T0, &t, NULL), 0);
	const char *uuid = task_get_str(t, "uuid");
	assert_non_null(uuid);
	assert_int_equal(strlen(uuid), 36);
	assert_int_equal(uuid[14], '4');
	task_set_engine(t, "docker", "unix:///var/run/docker.sock");
	task_set_str(t, "containerId", "abc");
	assert_int_equal(task_save(t, path, NULL), 0);
	task_free(t);

	/* saving under another directory id is refused by load */
	struct task *u = NULL;
	e = rv_error_free(e);
	assert_int_equal(task_load(path, 6, false, &u, &e), -EBADMSG);
	u = load_ok(5, false);
	assert_int_equal(task_status(u), TASK_NEW);
	assert_string_equal(task_container_id(u), "abc");
	assert_string_equal(task_get_str(u, "description"), "");
	int64_t ms = 0;
	assert_true(task_get_time(u, "createdAt", &ms));
	assert_int_equal(ms, T0);
	assert_false(task_get_time(u, "pausedAt", &ms));
	task_free(u);
}

static void test_task_save_refuses_invalid_record(void **state)
{
	(void)state;
	write_raw(valid_doc);
	struct task *t = load_ok(7, false);
	task_set_str(t, "status", "BOGUS");
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(task_save(t, path, &e), -EBADMSG);
	assert_non_null(strstr(e->msg, "status"));
	task_free(t);
	_cleanup_free_ char *after = read_raw(path);
	assert_string_equal(after, valid_doc);

	t = load_ok(7, false);
	task_set_int(t, "iterations", 0);
	e = rv_error_free(e);
	assert_int_equal(task_save(t, path, &e), -EBADMSG);
	task_free(t);
}

static void test_task_auto_retry_accessors(void **state)
{
	(void)state;
	struct task *t = fresh(TASK_PAUSED);
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	assert_int_equal(ar.count, 0);
	assert_int_equal(ar.next_retry_at_ms, 0);
	assert_null(ar.provider);
	ar = (struct task_auto_retry){.count = 1,
				      .max = 5,
				      .next_retry_at_ms = T0,
				      .last_attempt_at_ms = T0 - 1,
				      .provider = "codex"};
	task_set_auto_retry(t, &ar);
	task_get_auto_retry(t, &ar);
	/* writing back a provider borrowed from the record itself */
	ar.count = 2;
	task_set_auto_retry(t, &ar);
	task_get_auto_retry(t, &ar);
	assert_int_equal(ar.count, 2);
	assert_string_equal(ar.provider, "codex");
	assert_int_equal(ar.last_attempt_at_ms, T0 - 1);
	ar.provider = NULL;
	ar.next_retry_at_ms = 0;
	task_set_auto_retry(t, &ar);
	struct json_object *o = jsonutil_get_obj(task_json(t), "autoRetry");
	assert_null(jsonutil_get_str(o, "provider"));
	assert_null(jsonutil_get_str(o, "nextRetryAt"));
	task_auto_retry_reset(t);
	task_get_auto_retry(t, &ar);
	assert_int_equal(ar.count, 0);
	assert_int_equal(ar.max, 5);
	task_free(t);

	/* names */
	enum task_status st;
	assert_false(task_status_parse("paused", &st));
	assert_true(task_status_parse("PUSHED", &st));
	assert_int_equal(st, TASK_PUSHED);
	assert_null(task_status_name(TASK__STATUS_MAX));
	assert_null(task_pause_reason_name(TASK_PAUSE_NONE));
	assert_string_equal(task_pause_reason_name(TASK_PAUSE_ORPHAN), "orphan");
	assert_true(task_status_is_active(TASK_NEW));
	assert_false(task_status_is_active(TASK_PAUSED));
	/* running: a container should be up now; NEW has none yet */
	for (int k = 0; k < TASK__STATUS_MAX; k++)
		assert_int_equal(task_status_is_running((enum task_status)k),
				 k == TASK_IN_PROGRESS || k == TASK_ITERATING);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_task_round_trip_keeps_unknown_fields),
		T(test_task_refuses_bad_files),
		T(test_task_migrates_old_version_with_backup),
		T(test_task_migration_status_mapping),
		T(test_task_newer_minor_is_kept),
		T(test_task_side_effects),
		T(test_task_stall_and_queue_side_effects),
		T(test_task_transition_table),
		T(test_task_restart),
		T(test_task_iterate),
		T(test_task_new_save_load),
		T(test_task_save_refuses_invalid_record),
		T(test_task_auto_retry_accessors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
