/* Unit tests for supervisor/lib/watch: which events matter (pure), and the
 * real inotify thread on a temporary store: atomic renames of status.json
 * wake the poller, lock files do not, new task directories get watches. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "supervisor/lib/watch.h"

static char dir[] = "/tmp/rover-test-watch-XXXXXX";

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-watch-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return fileio_remove_tree(dir, NULL);
}

static void test_depth(void **state)
{
	(void)state;
	assert_int_equal(watch_depth("/s/tasks", "/s/tasks"), 0);
	assert_int_equal(watch_depth("/s/tasks/", "/s/tasks/"), 0);
	assert_int_equal(watch_depth("/s/tasks", "/s/tasks/7/"), 1);
	assert_int_equal(watch_depth("/s/tasks/", "/s/tasks/7/iterations/"), 2);
	assert_int_equal(watch_depth("/s/tasks", "/s/tasks/7/iterations/12"), 3);
	assert_int_equal(watch_depth("/s/tasks", "/s/tasks//7//iterations/"), 2);
	assert_int_equal(watch_depth("/s/tasks", "/s/tasksX/7/"), -1);
	assert_int_equal(watch_depth("/s/tasks", "/other/7/"), -1);
}

static void test_relevance(void **state)
{
	(void)state;
	static const struct {
		int depth;
		const char *name;
		bool is_dir;
		bool want;
	} rows[] = {
		{0, "7", true, true},             /* a task appears or goes */
		{0, ".deleted-7-x", true, false}, /* its removal shows as "7" moving away */
		{0, ".id.lock", false, false},
		{0, ".last-id", false, false},
		{1, "description.json", false, true},
		{1, ".description.json.tmp-abc", false, false},
		{1, ".task.lock", false, false}, /* every update opens it: never wake for it */
		{1, "workflow.yml", false, false},
		{1, "iterations", true, true},
		{1, "other", true, false},
		{2, "1", true, true},
		{2, "note", false, false},
		{3, "status.json", false, true},
		{3, ".status.json.tmp-x", false, false},
		{3, "checkpoint.json", false, false},
		{3, ".resume.lock", false, false},
		{3, "container.log", false, false},
		{3, "rover.jsonl", false, false},
		{3, "out", true, false}, /* a workflow's own output directory */
		{1, "", false, false},
		{1, NULL, false, false},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		assert_int_equal(watch_event_relevant(rows[i].depth, rows[i].name, rows[i].is_dir),
				 rows[i].want);
	assert_true(watch_dir_wanted(0, "12"));
	assert_true(watch_dir_wanted(1, "iterations"));
	assert_false(watch_dir_wanted(1, "workspace"));
	assert_true(watch_dir_wanted(2, "3"));
	assert_false(watch_dir_wanted(3, "deeper"));
	assert_false(watch_dir_wanted(0, ".deleted-1"));
}

static void test_event_task(void **state)
{
	(void)state;
	/* the task an event names: the directory itself at depth 0 */
	assert_int_equal(watch_event_task("/s/tasks/", "/s/tasks/", 0, "12"), 12);
	assert_int_equal(watch_event_task("/s/tasks", "/s/tasks/", 0, ".deleted-12-1-2"), 0);
	assert_int_equal(watch_event_task("/s/tasks", "/s/tasks/", 0, "012"), 0);
	/* else the first component below the root */
	assert_int_equal(watch_event_task("/s/tasks/", "/s/tasks/7/", 1, "description.json"), 7);
	assert_int_equal(watch_event_task("/s/tasks", "/s/tasks/7/iterations/3/", 3, "status.json"),
			 7);
	assert_int_equal(watch_event_task("/s/tasks", "/s/tasks/1234567890123/", 1, "x"), 0);
	assert_int_equal(watch_event_task("/s/tasks", "/s/tasks/7/", -1, "x"), 0);
}

/* Wait (poll, no sleep) up to timeout_ms for `want`; returns every flag seen. */
static unsigned wait_for(struct watch *w, unsigned want, int timeout_ms)
{
	unsigned seen = 0;
	int64_t deadline = timeutil_mono_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - timeutil_mono_ms();
		if (left <= 0)
			return seen;
		struct pollfd p = {.fd = watch_fd(w), .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			seen |= watch_drain(w);
		if (seen & want)
			return seen;
	}
}

static char *path_in(const char *rel)
{
	return fileio_join(dir, rel);
}

static void write_file(const char *rel, const char *text)
{
	_cleanup_free_ char *p = path_in(rel);
	assert_int_equal(fileio_write_atomic(p, text, strlen(text), 0644, NULL), 0);
}

static void mkdirs(const char *rel)
{
	_cleanup_free_ char *p = path_in(rel);
	assert_int_equal(fileio_mkdir_p(p, 0755, NULL), 0);
}

static void test_status_change_wakes_the_poller(void **state)
{
	(void)state;
	mkdirs("7/iterations/1");
	struct watch *w = NULL;
	assert_int_equal(watch_start(dir, &w, NULL), 0);
	int fd = watch_fd(w);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(watch_drain(w), 0);

	struct watch_changes c;
	assert_true(watch_changes_take(&c));
	uint64_t gen = c.gen;
	write_file("7/iterations/1/status.json", "{\"status\":\"running\"}");
	assert_true(wait_for(w, WATCH_CHANGED, 5000) & WATCH_CHANGED);
	write_file("7/description.json", "{}");
	assert_true(wait_for(w, WATCH_CHANGED, 5000) & WATCH_CHANGED);
	/* both named task 7, taken once */
	assert_true(watch_changes_take(&c));
	assert_int_equal(c.gen, gen);
	assert_false(c.all);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ids[0], 7);
	free(c.ids);
	assert_true(watch_changes_take(&c));
	assert_int_equal(c.n, 0);

	/* one process per store: a second watch is refused */
	struct watch *w2 = NULL;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(watch_start(dir, &w2, &err), -EBUSY);
	assert_null(w2);
	w = watch_stop(w);
	assert_null(w);
	assert_false(watch_changes_take(&c)); /* nothing is known without a watch */
	/* and after a stop a new one works, under a new generation */
	assert_int_equal(watch_start(dir, &w, NULL), 0);
	assert_true(watch_changes_take(&c));
	assert_true(c.gen != gen);
	write_file("7/iterations/1/status.json", "{\"status\":\"paused\"}");
	assert_true(wait_for(w, WATCH_CHANGED, 5000) & WATCH_CHANGED);
	watch_stop(w);
}

static void test_lock_and_temp_traffic_is_ignored(void **state)
{
	(void)state;
	mkdirs("7/iterations/1");
	struct watch *w = NULL;
	assert_int_equal(watch_start(dir, &w, NULL), 0);
	for (int i = 0; i < 20; i++) {
		/* what task_store_update does to .task.lock on every pass */
		_cleanup_free_ char *lock = path_in("7/.task.lock");
		int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		close(fd);
		write_file("7/iterations/1/checkpoint.json", "{}");
		write_file("7/iterations/1/.resume.lock", "1:2");
	}
	/* Then a relevant change: it must be the only thing reported, and the
	 * ignored ones before it must not have woken the poller. */
	assert_int_equal(wait_for(w, WATCH_CHANGED, 300), 0);
	write_file("7/iterations/1/status.json", "{}");
	assert_int_equal(wait_for(w, WATCH_CHANGED, 5000), WATCH_CHANGED);
	watch_stop(w);
}

static void test_new_task_directories_are_watched(void **state)
{
	(void)state;
	struct watch *w = NULL;
	assert_int_equal(watch_start(dir, &w, NULL), 0);
	/* a task created after the watch started, all at once (the thread
	 * may see the directory only after its subdirectories exist) */
	mkdirs("8/iterations/1");
	assert_true(wait_for(w, WATCH_CHANGED, 5000) & WATCH_CHANGED);
	/* drain whatever else the creation produced */
	wait_for(w, 0, 200);
	write_file("8/iterations/1/status.json", "{}");
	assert_true(wait_for(w, WATCH_CHANGED, 5000) & WATCH_CHANGED);
	/* an iteration added later */
	mkdirs("8/iterations/2");
	assert_true(wait_for(w, WATCH_CHANGED, 5000) & WATCH_CHANGED);
	wait_for(w, 0, 200);
	write_file("8/iterations/2/status.json", "{}");
	assert_true(wait_for(w, WATCH_CHANGED, 5000) & WATCH_CHANGED);
	/* a task removed the way task_store_delete does it: renamed away */
	_cleanup_free_ char *from = path_in("8"), *to = path_in(".deleted-8-x");
	assert_int_equal(rename(from, to), 0);
	assert_true(wait_for(w, WATCH_CHANGED, 5000) & WATCH_CHANGED);
	watch_stop(w);
}

static void test_missing_directory_fails_cleanly(void **state)
{
	(void)state;
	_cleanup_free_ char *missing = path_in("nope");
	struct watch *w = NULL;
	_cleanup_error_ struct rv_error *err = NULL;
	assert_int_equal(watch_start(missing, &w, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "nope"));
	assert_null(w);
	/* the failed start released the library: a good one works */
	assert_int_equal(watch_start(dir, &w, NULL), 0);
	watch_stop(w);
	assert_null(watch_stop(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_relevance),
		cmocka_unit_test(test_event_task),
		cmocka_unit_test_setup_teardown(test_status_change_wakes_the_poller, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lock_and_temp_traffic_is_ignored, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_new_task_directories_are_watched, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_directory_fails_cleanly, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
