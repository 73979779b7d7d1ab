/* Unit tests for agent-runner/eventlog: one JSON object per line with the
 * required keys, fields merged but not overriding, appending across opens, a
 * close-on-exec descriptor, bounded and valid UTF-8 strings, and write
 * failures counted rather than returned. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-runner/eventlog.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "common/timeutil.h"

static char dir[] = "/tmp/rover-test-eventlog-XXXXXX";
static char *path;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-eventlog-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	path = fileio_join(dir, "rover.jsonl");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(path);
	return fileio_remove_tree(dir, NULL);
}

/* The file's lines, each parsed; fails the test on a line that is not a JSON
 * object or lacks a required key. */
static struct json_object *read_lines(void)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_bounded(path, 1 << 24, &buf, &len, NULL), 0);
	assert_true(len > 0 && buf[len - 1] == '\n');
	struct json_object *arr = json_object_new_array();
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = NULL;
		struct rv_error *e = NULL;
		if (jsonutil_parse(line, strlen(line), "line", &o, &e) < 0)
			fail_msg("%s: %s", rv_error_msg(e), line);
		assert_true(json_object_is_type(o, json_type_object));
		int64_t ms;
		assert_true(timeutil_parse_iso(jsonutil_get_str(o, "timestamp"), &ms));
		assert_non_null(jsonutil_get_str(o, "level"));
		assert_non_null(jsonutil_get_str(o, "event"));
		assert_non_null(jsonutil_get_str(o, "message"));
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *line(struct json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

static void test_eventlog_lines(void **state)
{
	(void)state;
	struct eventlog *log = NULL;
	assert_int_equal(eventlog_open(path, "7", &log, NULL), 0);
	eventlog_emit(log, "info", "workflow_start", "Starting", NULL);

	_cleanup_json_ struct json_object *f = json_object_new_object();
	jsonutil_set_str(f, "stepId", "plan");
	jsonutil_set_int64(f, "duration", 1234);
	jsonutil_set_bool(f, "errorRetryable", true);
	jsonutil_set_str(f, "event", "forged"); /* required keys cannot be overridden */
	jsonutil_set_str(f, "level", "debug");
	_cleanup_json_ struct json_object *meta = json_object_new_object();
	jsonutil_set_str(meta, "reason", "retryable_error");
	json_object_object_add(f, "metadata", json_object_get(meta));
	eventlog_emit(log, "warn", "workflow_pause", "paused\nfor a while", f);
	eventlog_emit(log, "loud", "step_fail", NULL, NULL);
	assert_int_equal(eventlog_failures(log), 0);
	eventlog_free(log);

	_cleanup_json_ struct json_object *arr = read_lines();
	assert_int_equal(json_object_array_length(arr), 3);
	struct json_object *a = line(arr, 0), *b = line(arr, 1), *c = line(arr, 2);
	assert_string_equal(jsonutil_get_str(a, "event"), "workflow_start");
	assert_string_equal(jsonutil_get_str(a, "level"), "info");
	assert_string_equal(jsonutil_get_str(a, "taskId"), "7");
	assert_string_equal(jsonutil_get_str(b, "event"), "workflow_pause");
	assert_string_equal(jsonutil_get_str(b, "level"), "warn");
	assert_string_equal(jsonutil_get_str(b, "message"), "paused\nfor a while");
	assert_string_equal(jsonutil_get_str(b, "stepId"), "plan");
	int64_t d = 0;
	assert_true(jsonutil_get_int64(b, "duration", &d));
	assert_int_equal(d, 1234);
	assert_string_equal(jsonutil_get_str(jsonutil_get_obj(b, "metadata"), "reason"),
			    "retryable_error");
	assert_string_equal(jsonutil_get_str(c, "level"), "info"); /* unknown level */
	assert_string_equal(jsonutil_get_str(c, "message"), "");
	/* fields stay the caller's */
	assert_string_equal(jsonutil_get_str(f, "stepId"), "plan");
}

static void test_eventlog_appends(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		struct eventlog *log = NULL;
		assert_int_equal(eventlog_open(path, NULL, &log, NULL), 0);
		eventlog_emit(log, "info", "step_start", "again", NULL);
		eventlog_free(log);
	}
	_cleanup_json_ struct json_object *arr = read_lines();
	assert_int_equal(json_object_array_length(arr), 3);
	assert_null(jsonutil_get_str(line(arr, 0), "taskId"));
}

static int fd_of_path(const char *p)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;
	while (d && (de = readdir(d))) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, p) == 0)
			found = atoi(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

static void test_eventlog_fd_flags(void **state)
{
	(void)state;
	struct eventlog *log = NULL;
	assert_int_equal(eventlog_open(path, "1", &log, NULL), 0);
	int fd = fd_of_path(path);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_APPEND);
	eventlog_free(log);
	assert_int_equal(fd_of_path(path), -1); /* closed */
}

static void test_eventlog_strings_bounded_and_utf8(void **state)
{
	(void)state;
	size_t n = EVENTLOG_MAX_TEXT * 2;
	char *big = malloc(n + 1);
	memset(big, 'm', n);
	big[n] = '\0';
	struct eventlog *log = NULL;
	assert_int_equal(eventlog_open(path, "1", &log, NULL), 0);
	_cleanup_json_ struct json_object *f = json_object_new_object();
	jsonutil_set_str(f, "error", big);
	eventlog_emit(log, "error", "step_fail", "bad \xff\xfe bytes", f);
	eventlog_free(log);
	free(big);

	_cleanup_free_ char *raw = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_bounded(path, 1 << 24, &raw, &len, NULL), 0);
	assert_true(textutil_utf8_valid(raw, len));
	_cleanup_json_ struct json_object *arr = read_lines();
	const char *err = jsonutil_get_str(line(arr, 0), "error");
	assert_true(strlen(err) <= EVENTLOG_MAX_TEXT + 64);
	assert_non_null(strstr(err, "[...truncated "));
}

static void test_eventlog_failures_counted(void **state)
{
	(void)state;
	struct eventlog *log = NULL;
	struct rv_error *e = NULL;
	_cleanup_free_ char *missing = fileio_join(dir, "nope/rover.jsonl");
	assert_int_equal(eventlog_open(missing, "1", &log, &e), -ENOENT);
	assert_null(log);
	assert_non_null(strstr(e->msg, "nope/rover.jsonl"));
	rv_error_free(e);

	/* /dev/full fails every write with ENOSPC: counted, never fatal */
	if (access("/dev/full", W_OK) != 0)
		skip();
	assert_int_equal(eventlog_open("/dev/full", "1", &log, NULL), 0);
	eventlog_emit(log, "info", "a", "x", NULL);
	eventlog_emit(log, "info", "b", "y", NULL);
	assert_int_equal(eventlog_failures(log), 2);
	eventlog_free(log);

	/* a NULL log is a no-op */
	eventlog_emit(NULL, "info", "a", "x", NULL);
	assert_int_equal(eventlog_failures(NULL), 0);
	assert_null(eventlog_free(NULL));
}

static void test_eventlog_format(void **state)
{
	(void)state;
	_cleanup_free_ char *s = eventlog_format("9", "debug", "agent_error", "m", NULL);
	size_t len = strlen(s);
	assert_true(len > 0 && s[len - 1] == '\n');
	assert_null(memchr(s, '\n', len - 1));
	_cleanup_json_ struct json_object *o = NULL;
	assert_int_equal(jsonutil_parse(s, len, "line", &o, NULL), 0);
	assert_string_equal(jsonutil_get_str(o, "taskId"), "9");
	assert_string_equal(jsonutil_get_str(o, "level"), "debug");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_eventlog_lines),
		T(test_eventlog_appends),
		T(test_eventlog_fd_flags),
		T(test_eventlog_strings_bounded_and_utf8),
		T(test_eventlog_failures_counted),
		T(test_eventlog_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
