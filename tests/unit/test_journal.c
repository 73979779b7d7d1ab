/* Unit tests for supervisor/lib/journal: the events a record change means
 * (pure), the store's hook (every update journaled once, in order), a torn
 * line and a planted link, and the runner's step events taken as data. */
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
#include "supervisor/lib/hooks.h"
#include "supervisor/lib/journal.h"
#include "supervisor/lib/task_store.h"

static char dir[] = "/tmp/rover-test-journal-XXXXXX";
static struct task_store *store;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-journal-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return task_store_open(dir, &store, NULL);
}

static int teardown(void **state)
{
	(void)state;
	task_store_free(store);
	store = NULL;
	return fileio_remove_tree(dir, NULL);
}

/* "a b c": the types of an array of events. */
static char *types_of(struct json_object *events)
{
	char *out = xstrdup("");
	for (size_t i = 0; i < json_object_array_length(events); i++) {
		const char *type = jsonutil_get_str(json_object_array_get_idx(events, i), "type");
		char *next = xasprintf("%s%s%s", out, *out ? " " : "", type ? type : "?");
		free(out);
		out = next;
	}
	return out;
}

/* Apply change to t and return the types of the events it means. */
static char *step(struct task *t, void (*change)(struct task *), int64_t now)
{
	struct journal_facts before;
	journal_facts_of(t, &before);
	change(t);
	_cleanup_json_ struct json_object *ev = journal_changes(&before, t, now, 5000);
	return types_of(ev);
}

static void start(struct task *t)
{
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, 0, 1000, NULL), 0);
}
static void record_container(struct task *t)
{
	task_set_str(t, "containerId", "abc123");
}
static void pause_scheduled(struct task *t)
{
	assert_int_equal(task_set_status(t, TASK_PAUSED, "rate limit", TASK_PAUSE_RETRYABLE_ERROR,
					 2000, NULL),
			 0);
	struct task_auto_retry ar = {.count = 0, .max = 5, .next_retry_at_ms = 9000};
	task_set_auto_retry(t, &ar);
}
static void retry_fires(struct task *t)
{
	struct task_auto_retry ar = {.count = 1, .max = 5, .last_attempt_at_ms = 9000};
	task_set_auto_retry(t, &ar);
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, 0, 9000, NULL), 0);
	task_set_str(t, "containerId", "def456");
}
static void complete(struct task *t)
{
	assert_int_equal(task_set_status(t, TASK_COMPLETED, NULL, 0, 12000, NULL), 0);
}
static void nothing(struct task *t)
{
	task_set_str(t, "title", "renamed");
}

static void test_journal_changes_of_a_life(void **state)
{
	(void)state;
	struct task *t = NULL;
	assert_int_equal(task_new(1, "t", "d", 0, &t, NULL), 0);
	_cleanup_json_ struct json_object *created = journal_changes(NULL, t, 0, -1);
	_cleanup_free_ char *c = types_of(created);
	assert_string_equal(c, "created");
	_cleanup_free_ char *a = step(t, start, 1000);
	assert_string_equal(a, "started");
	_cleanup_free_ char *b = step(t, record_container, 1100);
	assert_string_equal(b, "container_started");
	_cleanup_free_ char *p = step(t, pause_scheduled, 2000);
	assert_string_equal(p, "paused retry_scheduled");
	_cleanup_free_ char *r = step(t, retry_fires, 9000);
	assert_string_equal(r, "retry_fired resumed");
	_cleanup_free_ char *n = step(t, nothing, 9500);
	assert_string_equal(n, "");
	_cleanup_free_ char *d = step(t, complete, 12000);
	assert_string_equal(d, "completed");
	task_free(t);
}

/* A resume marks the task running (resumeInFlight); rolled back before it
 * recorded a container, the task is back as it was: "resume_undone", not a
 * second "paused" (which would fire onPause twice for one pause). */
static void mark_resume(struct task *t)
{
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, 0, 9000, NULL), 0);
	json_object_object_add(t->obj, "resumeInFlight", json_object_new_object());
}
static void undo_resume(struct task *t)
{
	json_object_object_del(t->obj, "resumeInFlight");
	assert_int_equal(task_set_status(t, TASK_PAUSED, "rate limit", TASK_PAUSE_RETRYABLE_ERROR,
					 2000, NULL),
			 0);
}
static void resume_runs(struct task *t)
{
	json_object_object_del(t->obj, "resumeInFlight");
	task_set_str(t, "containerId", "ghi789");
}

static void test_journal_resume_undone(void **state)
{
	(void)state;
	struct task *t = NULL;
	assert_int_equal(task_new(1, "t", "d", 0, &t, NULL), 0);
	start(t);
	record_container(t);
	pause_scheduled(t);
	_cleanup_free_ char *m = step(t, mark_resume, 9000);
	assert_string_equal(m, "resumed");
	_cleanup_free_ char *u = step(t, undo_resume, 9100);
	assert_string_equal(u, "resume_undone");
	assert_int_equal(hooks_kind_of_event("resume_undone"), -1);
	/* marked again, and this time it runs, then pauses for real */
	_cleanup_free_ char *m2 = step(t, mark_resume, 9200);
	assert_string_equal(m2, "resumed");
	_cleanup_free_ char *r = step(t, resume_runs, 9300);
	assert_string_equal(r, "container_started");
	_cleanup_free_ char *p = step(t, pause_scheduled, 9400);
	assert_string_equal(p, "paused retry_scheduled");
	task_free(t);
}

static void test_journal_resume_details(void **state)
{
	(void)state;
	struct task *t = NULL;
	assert_int_equal(task_new(1, "t", "d", 0, &t, NULL), 0);
	start(t);
	pause_scheduled(t);
	struct journal_facts before;
	journal_facts_of(t, &before);
	int64_t paused_at = before.paused_at_ms;
	assert_true(paused_at > 0);
	retry_fires(t);
	_cleanup_json_ struct json_object *ev = journal_changes(&before, t, paused_at + 7000, 4321);
	struct json_object *resumed = json_object_array_get_idx(ev, 1);
	int64_t v = 0;
	assert_true(jsonutil_get_int64(resumed, "pauseDurationMs", &v));
	assert_int_equal(v, 7000);
	assert_true(jsonutil_get_int64(resumed, "checkpointAgeMs", &v));
	assert_int_equal(v, 4321);
	assert_string_equal(jsonutil_get_str(resumed, "from"), "PAUSED");
	assert_string_equal(jsonutil_get_str(resumed, "containerId"), "def456");
	struct json_object *fired = json_object_array_get_idx(ev, 0);
	assert_true(jsonutil_get_int64(fired, "attempt", &v));
	assert_int_equal(v, 1);
	task_free(t);
}

static int set_in_progress(struct task *t, void *ud, struct rv_error **err)
{
	(void)ud;
	return task_set_status(t, TASK_IN_PROGRESS, NULL, 0, timeutil_now_ms(), err);
}

static int set_paused(struct task *t, void *ud, struct rv_error **err)
{
	(void)ud;
	return task_set_status(t, TASK_PAUSED, "stopped by \x1b]0;evil\x07 hand", TASK_PAUSE_USER,
			       timeutil_now_ms(), err);
}

static int64_t create_task(void)
{
	struct task *t = NULL;
	assert_int_equal(
		task_store_create(store, "j", "d", timeutil_now_ms(), NULL, NULL, &t, NULL), 0);
	int64_t id = t->id;
	task_free(t);
	return id;
}

static void test_journal_store_hook_and_torn_line(void **state)
{
	(void)state;
	int64_t id = create_task();
	assert_int_equal(task_store_update(store, id, set_in_progress, NULL, NULL, NULL), 0);
	assert_int_equal(task_store_update(store, id, set_paused, NULL, NULL, NULL), 0);
	/* a crash in the middle of an append: a torn line at the end */
	_cleanup_free_ char *tdir = task_store_task_dir(store, id);
	_cleanup_free_ char *path = fileio_join(tdir, JOURNAL_FILE);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("{\"at\":\"2026-01-01T00:00:00.000Z\",\"taskId\":1,\"ty", f);
	fclose(f);
	struct json_object *ev = NULL;
	assert_int_equal(journal_read(store, id, true, &ev, NULL), 0);
	_cleanup_free_ char *types = types_of(ev);
	assert_string_equal(types, "created started paused");
	struct json_object *paused = json_object_array_get_idx(ev, 2);
	assert_string_equal(jsonutil_get_str(paused, "reason"), "user");
	/* the raw text is kept; only a terminal printer escapes it */
	assert_non_null(strstr(jsonutil_get_str(paused, "error"), "\x1b]0;"));
	json_object_put(ev);
}

static void test_journal_never_follows_a_link(void **state)
{
	(void)state;
	int64_t id = create_task();
	_cleanup_free_ char *tdir = task_store_task_dir(store, id);
	_cleanup_free_ char *path = fileio_join(tdir, JOURNAL_FILE);
	_cleanup_free_ char *target = fileio_join(dir, "elsewhere");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(target, path), 0);
	/* the record's change still happens; the journal refuses the link */
	assert_int_equal(task_store_update(store, id, set_in_progress, NULL, NULL, NULL), 0);
	struct stat s;
	assert_int_equal(lstat(target, &s), -1);
	assert_int_equal(errno, ENOENT);
	_cleanup_json_ struct json_object *one = json_object_new_object();
	jsonutil_set_str(one, "type", "gate_closed");
	struct rv_error *e = NULL;
	assert_true(journal_append(store, id, one, &e) < 0);
	rv_error_free(e);
	struct json_object *ev = NULL;
	assert_true(journal_read(store, id, false, &ev, NULL) < 0);
}

static void test_journal_runner_steps_as_data(void **state)
{
	(void)state;
	int64_t id = create_task();
	_cleanup_free_ char *log = task_store_iteration_file(store, id, 1, TASK_FILE_EVENT_LOG);
	_cleanup_free_ char *idir = fileio_dirname(log);
	assert_int_equal(fileio_mkdir_p(idir, 0755, NULL), 0);
	const char *text =
		"{\"timestamp\":\"2030-01-01T00:00:01.000Z\",\"event\":\"step_start\",\"stepId\":\"a\"}\n"
		"not json at all\n"
		"{\"timestamp\":\"2030-01-01T00:00:02.000Z\",\"event\":\"step_complete\",\"stepId\":\"a\","
		"\"duration\":1000,\"secret\":\"dropped\"}\n"
		"{\"timestamp\":\"bogus\",\"event\":\"step_complete\",\"stepId\":\"b\"}\n"
		"{\"timestamp\":\"2030-01-01T00:00:03.000Z\",\"event\":\"rm_rf\",\"stepId\":\"c\"}\n"
		"{\"timestamp\":\"2030-01-01T00:00:04.000Z\",\"event\":\"step_failed\",\"stepId\":\"d\","
		"\"error\":\"boom\"}\n";
	assert_int_equal(fileio_write_atomic(log, text, strlen(text), 0644, NULL), 0);
	struct json_object *ev = NULL;
	assert_int_equal(journal_read(store, id, true, &ev, NULL), 0);
	_cleanup_free_ char *types = types_of(ev);
	assert_string_equal(types, "created step_started step_done step_failed");
	struct json_object *done = json_object_array_get_idx(ev, 2);
	assert_string_equal(jsonutil_get_str(done, "source"), "runner");
	assert_null(jsonutil_get_str(done, "secret"));
	json_object_put(ev);
	/* without steps: the host's events only */
	assert_int_equal(journal_read(store, id, false, &ev, NULL), 0);
	_cleanup_free_ char *host = types_of(ev);
	assert_string_equal(host, "created");
	json_object_put(ev);
}

static void test_journal_hostile_runner_log(void **state)
{
	(void)state;
	int64_t id = create_task();
	_cleanup_free_ char *log = task_store_iteration_file(store, id, 1, TASK_FILE_EVENT_LOG);
	_cleanup_free_ char *idir = fileio_dirname(log);
	assert_int_equal(fileio_mkdir_p(idir, 0755, NULL), 0);
	const char *tail =
		"{\"timestamp\":\"2030-01-01T00:00:02.000Z\",\"event\":\"step_complete\","
		"\"stepId\":\"last\"}\n";
	/* huge: only its tail is read, starting at a whole line */
	size_t big = 6u << 20;
	char *text = xmalloc(big + strlen(tail) + 1);
	memset(text, 'x', big);
	text[big - 1] = '\n';
	strcpy(text + big, tail);
	assert_int_equal(fileio_write_atomic(log, text, strlen(text), 0644, NULL), 0);
	free(text);
	struct json_object *ev = NULL;
	assert_int_equal(journal_read(store, id, true, &ev, NULL), 0);
	_cleanup_free_ char *types = types_of(ev);
	assert_string_equal(types, "created step_done");
	json_object_put(ev);
	/* a link to a file elsewhere is not followed; a FIFO is not blocked on */
	_cleanup_free_ char *elsewhere = fileio_join(dir, "elsewhere.jsonl");
	assert_int_equal(fileio_write_atomic(elsewhere, tail, strlen(tail), 0644, NULL), 0);
	assert_int_equal(unlink(log), 0);
	assert_int_equal(symlink(elsewhere, log), 0);
	assert_int_equal(journal_read(store, id, true, &ev, NULL), 0);
	_cleanup_free_ char *linked = types_of(ev);
	assert_string_equal(linked, "created");
	json_object_put(ev);
	assert_int_equal(unlink(log), 0);
	assert_int_equal(mkfifo(log, 0644), 0);
	assert_int_equal(journal_read(store, id, true, &ev, NULL), 0);
	_cleanup_free_ char *fifo = types_of(ev);
	assert_string_equal(fifo, "created");
	json_object_put(ev);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_journal_changes_of_a_life),
		T(test_journal_resume_details),
		T(test_journal_store_hook_and_torn_line),
		T(test_journal_never_follows_a_link),
		T(test_journal_runner_steps_as_data),
		T(test_journal_hostile_runner_log),
		T(test_journal_resume_undone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
