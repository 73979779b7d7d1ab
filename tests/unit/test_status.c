/* Unit tests for agent-runner/status: the operations of status.json and our
 * fields, what each one sets and clears, and failures (invalid input, a save
 * that cannot happen) keeping the memory state for the next save. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-runner/status.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "tests/unit/helpers/faults.h"

static char dir[] = "/tmp/rover-test-status-XXXXXX";
static char *path;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-status-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	path = fileio_join(dir, "status.json");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(path);
	return fileio_remove_tree(dir, NULL);
}

static struct json_object *read_doc(void)
{
	struct json_object *o = NULL;
	struct rv_error *e = NULL;
	if (jsonutil_read_object(path, &o, &e) < 0)
		fail_msg("%s", rv_error_msg(e));
	return o;
}

static int64_t int_of(struct json_object *o, const char *key)
{
	int64_t v = -1;
	if (!jsonutil_get_int64(o, key, &v))
		fail_msg("%s is not an integer", key);
	return v;
}

static int64_t time_of(struct json_object *o, const char *key)
{
	int64_t ms = 0;
	if (!timeutil_parse_iso(jsonutil_get_str(o, key), &ms))
		fail_msg("%s is not an ISO time: %s", key, jsonutil_get_str(o, key));
	return ms;
}

static bool has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static struct status_file *create(void)
{
	struct status_file *sf = NULL;
	struct rv_error *e = NULL;
	if (status_file_create(path, "7", "Starting workflow", &sf, &e) < 0)
		fail_msg("%s", rv_error_msg(e));
	return sf;
}

static void test_status_create(void **state)
{
	(void)state;
	int64_t before = timeutil_now_ms();
	struct status_file *sf = create();
	_cleanup_json_ struct json_object *o = read_doc();
	assert_string_equal(jsonutil_get_str(o, "taskId"), "7");
	assert_string_equal(jsonutil_get_str(o, "status"), "initializing");
	assert_string_equal(jsonutil_get_str(o, "currentStep"), "Starting workflow");
	assert_int_equal(int_of(o, "progress"), 0);
	assert_int_equal(time_of(o, "startedAt"), time_of(o, "updatedAt"));
	assert_true(time_of(o, "startedAt") >= before - 1000);
	assert_false(has(o, "completedAt"));
	assert_false(has(o, "error"));
	assert_false(has(o, "provider"));
	assert_false(has(o, "exitCode"));
	assert_string_equal(status_file_current_step(sf), "Starting workflow");
	status_file_free(sf);
}

static void test_status_create_keeps_unknown_keys(void **state)
{
	(void)state;
	const char *old = "{\"taskId\":\"7\",\"status\":\"paused\",\"error\":\"old\","
			  "\"exitCode\":2,\"pauseReason\":\"user\",\"hostNote\":\"keep me\"}";
	assert_int_equal(fileio_write_atomic(path, old, strlen(old), 0644, NULL), 0);
	struct status_file *sf = create();
	_cleanup_json_ struct json_object *o = read_doc();
	assert_string_equal(jsonutil_get_str(o, "hostNote"), "keep me");
	assert_string_equal(jsonutil_get_str(o, "status"), "initializing");
	assert_false(has(o, "error"));
	assert_false(has(o, "exitCode"));
	assert_false(has(o, "pauseReason"));
	status_file_free(sf);

	/* a file that does not parse is replaced whole */
	assert_int_equal(fileio_write_atomic(path, "{\"tr", 4, 0644, NULL), 0);
	sf = create();
	status_file_free(sf);
	_cleanup_json_ struct json_object *o2 = read_doc();
	assert_string_equal(jsonutil_get_str(o2, "status"), "initializing");
}

static void test_status_heartbeat(void **state)
{
	(void)state;
	struct status_file *sf = create();
	assert_int_equal(status_file_update(sf, "running", "build", 10, NULL, NULL), 0);
	_cleanup_json_ struct json_object *o = read_doc();
	int64_t updated = time_of(o, "updatedAt");
	usleep(5000);
	/* a silent beat: heartbeatAt, no outputAt, updatedAt unchanged */
	assert_int_equal(status_file_heartbeat(sf, false, NULL), 0);
	_cleanup_json_ struct json_object *o2 = read_doc();
	assert_true(time_of(o2, "heartbeatAt") > updated);
	assert_false(has(o2, "outputAt"));
	assert_int_equal(time_of(o2, "updatedAt"), updated);
	assert_int_equal(status_file_heartbeat(sf, true, NULL), 0);
	_cleanup_json_ struct json_object *o3 = read_doc();
	assert_int_equal(time_of(o3, "outputAt"), time_of(o3, "heartbeatAt"));
	/* the resume helper puts a stalled task back as paused 'stalled' */
	assert_int_equal(
		status_file_pause(sf, "Resuming workflow", "x", NULL, "stalled", 0, -1, NULL), 0);
	status_file_free(sf);
	/* a new run does not inherit the old run's heartbeat */
	sf = create();
	_cleanup_json_ struct json_object *o4 = read_doc();
	assert_false(has(o4, "heartbeatAt"));
	assert_false(has(o4, "outputAt"));
	status_file_free(sf);
}

static void test_status_create_failure(void **state)
{
	(void)state;
	_cleanup_free_ char *p = fileio_join(dir, "missing/status.json");
	struct status_file *sf = (struct status_file *)0x1;
	struct rv_error *e = NULL;
	assert_int_equal(status_file_create(p, "7", "x", &sf, &e), -ENOENT);
	assert_ptr_equal(sf, (struct status_file *)0x1); /* not written on failure */
	assert_non_null(strstr(e->msg, "missing"));
	rv_error_free(e);
}

static void test_status_update(void **state)
{
	(void)state;
	struct status_file *sf = create();
	assert_int_equal(status_file_pause(sf, "s", "limit", "claude", "retryable_error",
					   1795341600000, 2, NULL),
			 0);
	assert_int_equal(status_file_update(sf, "running", "Build", 42, "warn", NULL), 0);
	_cleanup_json_ struct json_object *o = read_doc();
	assert_string_equal(jsonutil_get_str(o, "status"), "running");
	assert_string_equal(jsonutil_get_str(o, "currentStep"), "Build");
	assert_int_equal(int_of(o, "progress"), 42);
	assert_string_equal(jsonutil_get_str(o, "error"), "warn");
	/* update clears the provider and the pause fields */
	assert_false(has(o, "provider"));
	assert_false(has(o, "pauseReason"));
	assert_false(has(o, "resetAt"));
	assert_true(time_of(o, "updatedAt") >= time_of(o, "startedAt"));

	/* an empty error is none; NULL step keeps the step; progress clamped */
	assert_int_equal(status_file_update(sf, "running", NULL, 250, "", NULL), 0);
	_cleanup_json_ struct json_object *o2 = read_doc();
	assert_false(has(o2, "error"));
	assert_string_equal(jsonutil_get_str(o2, "currentStep"), "Build");
	assert_int_equal(int_of(o2, "progress"), 100);
	assert_int_equal(status_file_update(sf, "running", "B", -5, NULL, NULL), 0);
	_cleanup_json_ struct json_object *o3 = read_doc();
	assert_int_equal(int_of(o3, "progress"), 0);

	/* an invalid status is refused and nothing changes */
	struct rv_error *e = NULL;
	assert_int_equal(status_file_update(sf, "sleeping", "Z", 1, NULL, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "sleeping"));
	rv_error_free(e);
	assert_string_equal(status_file_current_step(sf), "B");
	_cleanup_json_ struct json_object *o4 = read_doc();
	assert_string_equal(jsonutil_get_str(o4, "currentStep"), "B");
	status_file_free(sf);
}

static void test_status_complete_and_fail(void **state)
{
	(void)state;
	struct status_file *sf = create();
	assert_int_equal(status_file_update(sf, "running", "a", 50, "transient", NULL), 0);
	assert_int_equal(status_file_complete(sf, "Workflow completed successfully", NULL), 0);
	_cleanup_json_ struct json_object *o = read_doc();
	assert_string_equal(jsonutil_get_str(o, "status"), "completed");
	assert_int_equal(int_of(o, "progress"), 100);
	assert_true(time_of(o, "completedAt") >= time_of(o, "startedAt"));
	assert_int_equal(time_of(o, "completedAt"), time_of(o, "updatedAt"));
	assert_false(has(o, "error"));
	assert_false(has(o, "provider"));
	assert_int_equal(int_of(o, "exitCode"), 0);
	status_file_free(sf);

	sf = create();
	assert_int_equal(status_file_pause(sf, "s", "x", "codex", "retryable_error", 0, 2, NULL),
			 0);
	assert_int_equal(status_file_fail(sf, "Workflow execution", "boom", NULL), 0);
	_cleanup_json_ struct json_object *f = read_doc();
	assert_string_equal(jsonutil_get_str(f, "status"), "failed");
	assert_string_equal(jsonutil_get_str(f, "error"), "boom");
	assert_string_equal(jsonutil_get_str(f, "currentStep"), "Workflow execution");
	assert_int_equal(int_of(f, "progress"), 100);
	assert_true(has(f, "completedAt"));
	assert_false(has(f, "provider"));
	assert_false(has(f, "pauseReason"));
	assert_int_equal(int_of(f, "exitCode"), 1);
	status_file_free(sf);
}

static void test_status_pause(void **state)
{
	(void)state;
	struct status_file *sf = create();
	assert_int_equal(status_file_update(sf, "running", "Plan", 33, NULL, NULL), 0);
	int64_t reset = 1795341600000;
	assert_int_equal(status_file_pause(sf, "Plan", "Usage limit reached", "claude",
					   "retryable_error", reset, -1, NULL),
			 0);
	_cleanup_json_ struct json_object *o = read_doc();
	assert_string_equal(jsonutil_get_str(o, "status"), "paused");
	assert_int_equal(int_of(o, "progress"), 33); /* unchanged */
	assert_false(has(o, "completedAt"));
	assert_string_equal(jsonutil_get_str(o, "error"), "Usage limit reached");
	assert_string_equal(jsonutil_get_str(o, "provider"), "claude");
	assert_string_equal(jsonutil_get_str(o, "pauseReason"), "retryable_error");
	assert_int_equal(time_of(o, "resetAt"), reset);
	assert_false(has(o, "exitCode"));

	/* a signal pause: no provider, no reset time */
	assert_int_equal(status_file_pause(sf, "Plan", "Workflow paused by SIGTERM signal", NULL,
					   "signal", 0, 2, NULL),
			 0);
	_cleanup_json_ struct json_object *o2 = read_doc();
	assert_false(has(o2, "provider"));
	assert_false(has(o2, "resetAt"));
	assert_string_equal(jsonutil_get_str(o2, "pauseReason"), "signal");
	assert_int_equal(int_of(o2, "exitCode"), 2);

	struct rv_error *e = NULL;
	assert_int_equal(status_file_pause(sf, "Plan", "x", NULL, "bored", 0, 2, &e), -EINVAL);
	rv_error_free(e);
	status_file_free(sf);
}

static void test_status_save_failure_keeps_state(void **state)
{
	(void)state;
	struct status_file *sf = create();
	_cleanup_free_ char *moved = xasprintf("%s.moved", dir);
	assert_int_equal(rename(dir, moved), 0);
	struct rv_error *e = NULL;
	int r = status_file_update(sf, "running", "Step two", 50, NULL, &e);
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(e->msg, "status.json"));
	rv_error_free(e);
	assert_string_equal(status_file_current_step(sf), "Step two");
	assert_int_equal(rename(moved, dir), 0);
	/* the next save carries the change that could not be written */
	assert_int_equal(status_file_update(sf, "running", NULL, 60, NULL, NULL), 0);
	_cleanup_json_ struct json_object *o = read_doc();
	assert_string_equal(jsonutil_get_str(o, "currentStep"), "Step two");
	status_file_free(sf);
}

static void test_status_texts_capped(void **state)
{
	(void)state;
	struct status_file *sf = create();
	size_t n = STATUS_MAX_TEXT * 3;
	char *big = malloc(n + 1);
	memset(big, 'e', n);
	big[0] = '\xff';
	memcpy(big + n - 3, "END", 3);
	big[n] = '\0';
	assert_int_equal(status_file_fail(sf, "step\xc3", big, NULL), 0);
	free(big);
	_cleanup_json_ struct json_object *o = read_doc();
	const char *err = jsonutil_get_str(o, "error");
	assert_true(strlen(err) <= STATUS_MAX_TEXT + 64);
	assert_non_null(strstr(err, "[...truncated "));
	assert_string_equal(err + strlen(err) - 3, "END");
	const char *step = jsonutil_get_str(o, "currentStep");
	assert_true(textutil_utf8_valid(step, strlen(step)));
	assert_null(status_file_free(sf));
	assert_null(status_file_free(NULL));
}

/* Progress and heartbeats are replaced without fsync; every state a
 * recovery reads is written durably (fileio.h's exact sequence). */
static void test_status_durability(void **state)
{
	(void)state;
	struct status_file *sf = NULL;
	faults_reset();
	assert_int_equal(status_file_create(path, "1", NULL, &sf, NULL), 0);
	assert_int_equal(faults_count(FAULT_FSYNC), 2);
	faults_reset();
	assert_int_equal(status_file_update(sf, "running", "s", 50, NULL, NULL), 0);
	assert_int_equal(status_file_heartbeat(sf, true, NULL), 0);
	assert_string_equal(faults_trace(), "write close rename write close rename");
	_cleanup_json_ struct json_object *o = read_doc();
	assert_string_equal(jsonutil_get_str(o, "status"), "running");
	assert_non_null(jsonutil_get_str(o, "heartbeatAt"));
	faults_reset();
	assert_int_equal(status_file_pause(sf, "s", "limit", NULL, "signal", 0, 2, NULL), 0);
	assert_int_equal(status_file_complete(sf, "done", NULL), 0);
	assert_int_equal(status_file_fail(sf, "s", "x", NULL), 0);
	assert_int_equal(faults_count(FAULT_FSYNC), 6);
	assert_null(status_file_free(sf));
}

/* The reader reads back what the writer wrote, and a hostile file can only
 * say less: mistyped fields read as absent. */
static void test_status_parse_reads_the_writer(void **state)
{
	(void)state;
	struct status_file *sf = create();
	status_file_set_breakpoint(sf, "review");
	assert_int_equal(status_file_pause(sf, "Plan", "Waiting", "claude", "approval", 0, 2, NULL),
			 0);
	assert_int_equal(status_file_heartbeat(sf, true, NULL), 0);
	_cleanup_json_ struct json_object *o = read_doc();
	struct status_view sv;
	status_parse(o, &sv);
	assert_string_equal(sv.status, "paused");
	assert_string_equal(sv.current_step, "Plan");
	assert_string_equal(sv.error, "Waiting");
	assert_string_equal(sv.provider, "claude");
	assert_string_equal(sv.pause_reason, "approval");
	assert_string_equal(sv.breakpoint, "review");
	assert_true(sv.has_progress);
	assert_true(sv.has_exit_code);
	assert_int_equal(sv.exit_code, 2);
	assert_int_equal(sv.updated_at_ms, time_of(o, "updatedAt"));
	assert_true(sv.heartbeat_at_ms > 0);
	assert_int_equal(sv.output_at_ms, sv.heartbeat_at_ms);
	status_file_free(sf);

	_cleanup_json_ struct json_object *bad = json_tokener_parse(
		"{\"status\": 7, \"exitCode\": \"2\", \"progress\": [], \"usage\": \"x\","
		" \"updatedAt\": \"yesterday\", \"heartbeatAt\": 5}");
	status_parse(bad, &sv);
	assert_null(sv.status);
	assert_false(sv.has_exit_code);
	assert_false(sv.has_progress);
	assert_null(sv.usage);
	assert_int_equal(sv.updated_at_ms, 0);
	assert_int_equal(sv.heartbeat_at_ms, 0);
	status_parse(NULL, &sv);
	assert_null(sv.status);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_status_create),
		T(test_status_create_keeps_unknown_keys),
		T(test_status_heartbeat),
		T(test_status_create_failure),
		T(test_status_update),
		T(test_status_complete_and_fail),
		T(test_status_pause),
		T(test_status_save_failure_keeps_state),
		T(test_status_texts_capped),
		T(test_status_durability),
		T(test_status_parse_reads_the_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
