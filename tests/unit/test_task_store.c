/* Unit tests for supervisor/lib/task_store: unique ids when 20 processes
 * create at once, ids never reused after a delete, bad ids, listing with a
 * broken task, the update lock (20 processes incrementing one field lose no
 * update), migration on load, delete. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/helpers/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/task_store.h"

#define NPROC 20

static char dir[] = "/tmp/rover-test-store-XXXXXX";
static struct task_store *store;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-store-XXXXXX");
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

static int64_t create(const char *title)
{
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (task_store_create(store, title, "desc", timeutil_now_ms(), NULL, NULL, &t, &e) < 0)
		fail_msg("create: %s", rv_error_msg(e));
	int64_t id = t->id;
	task_free(t);
	return id;
}

static void test_store_create_sequential_and_never_reused(void **state)
{
	(void)state;
	assert_int_equal(create("a"), 1);
	assert_int_equal(create("b"), 2);
	assert_int_equal(create("c"), 3);
	assert_int_equal(task_store_delete(store, 3, NULL), 0);
	assert_int_equal(create("d"), 4); /* 3 is not handed out again */

	/* a directory someone claimed without the id lock: skipped by mkdir */
	_cleanup_free_ char *taken = task_store_task_dir(store, 6);
	assert_int_equal(mkdir(taken, 0755), 0);
	_cleanup_free_ char *last = fileio_join(store->tasks_dir, ".last-id");
	assert_int_equal(fileio_write_atomic(last, "4\n", 2, 0644, NULL), 0);
	rmdir(taken);
	assert_int_equal(create("e"), 5);
	assert_int_equal(mkdir(taken, 0755), 0);
	_cleanup_free_ char *seven = task_store_task_dir(store, 7);
	/* .last-id says 5 and 6 exists: the scan finds 6, so 7 */
	assert_int_equal(create("f"), 7);
	/* the record is complete */
	struct task *t = NULL;
	assert_int_equal(task_store_load(store, "7", &t, NULL), 0);
	assert_string_equal(task_title(t), "f");
	assert_int_equal(task_status(t), TASK_NEW);
	task_free(t);
	assert_true(fileio_is_dir(seven));
}

static void test_store_create_races_give_unique_ids(void **state)
{
	(void)state;
	enum { PER = 3 };
	int go[2], out[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(out), 0);
	pid_t pids[NPROC];
	for (int i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(go[1]);
			close(out[0]);
			char c;
			if (read(go[0], &c, 1) != 0) /* wait for the start */
				testutil_child_exit(3);
			for (int k = 0; k < PER; k++) {
				struct task *t = NULL;
				if (task_store_create(store, "race", NULL, timeutil_now_ms(), NULL,
						      NULL, &t, NULL) < 0)
					testutil_child_exit(1);
				int64_t id = t->id;
				task_free(t);
				if (write(out[1], &id, sizeof(id)) != sizeof(id))
					testutil_child_exit(2);
			}
			testutil_child_exit(0);
		}
	}
	close(go[0]);
	close(out[1]);
	close(go[1]); /* everybody starts now */
	int64_t ids[NPROC * PER];
	size_t got = 0;
	int64_t id;
	while (read(out[0], &id, sizeof(id)) == sizeof(id))
		if (got < ARRAY_SIZE(ids))
			ids[got++] = id;
	close(out[0]);
	for (int i = 0; i < NPROC; i++) {
		int st = 0;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(got, NPROC * PER);
	bool seen[NPROC * PER + 1] = {false};
	for (size_t i = 0; i < got; i++) {
		assert_true(ids[i] >= 1 && ids[i] <= NPROC * PER);
		assert_false(seen[ids[i]]);
		seen[ids[i]] = true;
	}
	struct task_list l = {0};
	assert_int_equal(task_store_list(store, &l, NULL), 0);
	assert_int_equal(l.n, NPROC * PER);
	for (size_t i = 0; i < l.n; i++) {
		assert_null(l.entries[i].err);
		assert_int_equal(l.entries[i].id, (int64_t)i + 1);
		assert_int_equal(l.entries[i].task->id, (int64_t)i + 1);
	}
	task_list_release(&l);
}

static void test_store_bad_ids(void **state)
{
	(void)state;
	static const char *const bad[] = {"",
					  "0",
					  "00",
					  "-1",
					  "abc",
					  "1/2",
					  "../1",
					  "1a",
					  " 1",
					  "1 ",
					  "+1",
					  "1.0",
					  "7/",
					  "/7",
					  "0x10",
					  "1e3",
					  "9999999999999",
					  "99999999999999999999999",
					  "01",
					  "\t1",
					  "1\n"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t id = 42;
		_cleanup_error_ struct rv_error *e = NULL;
		assert_int_equal(task_store_parse_id(bad[i], &id, &e), -EINVAL);
		assert_int_equal(id, 42);
		assert_non_null(strstr(e->msg, "invalid task id"));
		struct task *t = NULL;
		_cleanup_error_ struct rv_error *e2 = NULL;
		assert_int_equal(task_store_load(store, bad[i], &t, &e2), -EINVAL);
		assert_null(t);
	}
	int64_t id = 0;
	assert_int_equal(task_store_parse_id(NULL, &id, NULL), -EINVAL);
	/* canonical only: a leading zero is refused, and says so */
	static const char *const zeros[] = {"007", "01", "0001"};
	for (size_t i = 0; i < ARRAY_SIZE(zeros); i++) {
		_cleanup_error_ struct rv_error *e = NULL;
		assert_int_equal(task_store_parse_id(zeros[i], &id, &e), -EINVAL);
		assert_non_null(strstr(e->msg, "leading zeros"));
	}
	assert_int_equal(task_store_parse_id("7", &id, NULL), 0);
	assert_int_equal(id, 7);
	assert_int_equal(task_store_parse_id("999999999999", &id, NULL), 0);
	assert_int_equal(id, 999999999999LL);

	/* a good id that does not exist */
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(task_store_load(store, "8", &t, &e), -ENOENT);
	assert_string_equal(e->msg, "task 8 not found");
	/* updating or locking it creates nothing */
	e = rv_error_free(e);
	assert_int_equal(task_store_update(store, 8, NULL, NULL, NULL, &e), -ENOENT);
	assert_string_equal(e->msg, "task 8 not found");
	assert_int_equal(task_store_make_iteration(store, 8, 1, NULL), -ENOENT);
	_cleanup_free_ char *d8 = task_store_task_dir(store, 8);
	assert_false(fileio_exists(d8));
}

static void age_path(const char *p, int64_t seconds)
{
	struct timespec ts[2];
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= seconds;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void test_store_list_with_broken_task(void **state)
{
	(void)state;
	for (int i = 1; i <= 12; i++)
		create("t");
	/* 2: truncated; 10: wrong id inside; 11: missing file, old; 12: missing, young */
	_cleanup_free_ char *p2 = task_store_description_path(store, 2);
	assert_int_equal(fileio_write_atomic(p2, "{\"id\": 2, \"sta", 14, 0644, NULL), 0);
	_cleanup_free_ char *p10 = task_store_description_path(store, 10);
	const char *wrong = "{\"id\": 3, \"status\": \"NEW\", \"version\": \"1.6\"}";
	assert_int_equal(fileio_write_atomic(p10, wrong, strlen(wrong), 0644, NULL), 0);
	_cleanup_free_ char *p11 = task_store_description_path(store, 11);
	_cleanup_free_ char *d11 = task_store_task_dir(store, 11);
	unlink(p11);
	age_path(d11, 3600);
	_cleanup_free_ char *p12 = task_store_description_path(store, 12);
	unlink(p12);
	/* names that are not tasks */
	_cleanup_free_ char *junk1 = fileio_join(store->tasks_dir, "notes");
	_cleanup_free_ char *junk2 = fileio_join(store->tasks_dir, "013");
	_cleanup_free_ char *junk3 = fileio_join(store->tasks_dir, ".deleted-5-1-1");
	mkdir(junk1, 0755);
	mkdir(junk2, 0755);
	mkdir(junk3, 0755);

	struct task_list l = {0};
	assert_int_equal(task_store_list(store, &l, NULL), 0);
	assert_int_equal(l.n, 11); /* 12 skipped while young */
	for (size_t i = 0; i < l.n; i++) {
		struct task_list_entry *en = &l.entries[i];
		assert_int_equal(en->id, (int64_t)i + 1); /* numeric order: 2 before 10 */
		if (en->id == 2 || en->id == 10 || en->id == 11) {
			assert_null(en->task);
			assert_non_null(en->err);
		} else {
			assert_null(en->err);
			assert_non_null(en->task);
			assert_int_equal(en->task->id, en->id);
		}
	}
	assert_non_null(strstr(l.entries[1].err->msg, p2));
	assert_non_null(strstr(l.entries[1].err->msg, "truncated"));
	assert_non_null(strstr(l.entries[9].err->msg, "directory is 10"));
	assert_non_null(strstr(l.entries[10].err->msg, "task 11"));
	assert_int_equal(l.entries[10].err->code, ENOENT);
	task_list_release(&l);
	assert_null(l.entries);

	/* the broken file was not rewritten */
	_cleanup_free_ char *buf = NULL;
	assert_int_equal(fileio_read_bounded(p2, 100, &buf, NULL, NULL), 0);
	assert_string_equal(buf, "{\"id\": 2, \"sta");
}

/* Big enough to be listed by several threads: order, skipped and broken
 * entries must come out as with one. */
static void test_store_list_many(void **state)
{
	(void)state;
	enum { N = 700 };
	assert_int_equal(fileio_mkdir_p(store->tasks_dir, 0755, NULL), 0);
	for (int i = 1; i <= N; i++) {
		_cleanup_free_ char *d = task_store_task_dir(store, i);
		assert_int_equal(mkdir(d, 0755), 0);
		if (i == 5 || i == 350)
			continue; /* young and without a file: being created */
		_cleanup_free_ char *p = task_store_description_path(store, i);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		if (i == 600)
			fputs("{\"id\": 600,", f);
		else
			fprintf(f,
				"{\"id\": %d, \"status\": \"NEW\", \"title\": \"t%d\", "
				"\"version\": \"1.6\"}\n",
				i, i);
		assert_int_equal(fclose(f), 0);
	}
	struct task_list l = {0};
	assert_int_equal(task_store_list(store, &l, NULL), 0);
	assert_int_equal(l.n, N - 2);
	int64_t prev = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct task_list_entry *en = &l.entries[i];
		assert_true(en->id > prev);
		assert_true(en->id != 5 && en->id != 350);
		prev = en->id;
		if (en->id == 600) {
			assert_null(en->task);
			assert_non_null(strstr(en->err->msg, "600/description.json"));
			continue;
		}
		assert_null(en->err);
		assert_int_equal(en->task->id, en->id);
		char want[16];
		snprintf(want, sizeof(want), "t%lld", (long long)en->id);
		assert_string_equal(task_title(en->task), want);
	}
	assert_int_equal(prev, N);
	task_list_release(&l);
}

static void test_store_list_empty_store(void **state)
{
	(void)state;
	struct task_list l = {.n = 99};
	assert_int_equal(task_store_list(store, &l, NULL), 0);
	assert_int_equal(l.n, 0);
	task_list_release(&l);
	task_list_release(NULL);
}

static int bump(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	int64_t n = 0;
	task_get_int(t, "counter", &n);
	if (userdata) {
		/* make the read-modify-write window wide: another process would
		 * surely interleave here without the lock */
		for (volatile int i = 0; i < 200000; i++)
			;
	}
	task_set_int(t, "counter", n + 1);
	return 0;
}

static void test_store_update_lock_loses_nothing(void **state)
{
	(void)state;
	enum { PER = 10 };
	int64_t id = create("counter");
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pids[NPROC];
	for (int i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(go[1]);
			char c;
			if (read(go[0], &c, 1) != 0)
				testutil_child_exit(3);
			for (int k = 0; k < PER; k++)
				if (task_store_update(store, id, bump, (void *)1, NULL, NULL) < 0)
					testutil_child_exit(1);
			testutil_child_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < NPROC; i++) {
		int st = 0;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct task *t = NULL;
	assert_int_equal(task_store_load_id(store, id, &t, NULL), 0);
	int64_t n = 0;
	assert_true(task_get_int(t, "counter", &n));
	assert_int_equal(n, NPROC * PER);
	task_free(t);
}

static int fail_cb(struct task *t, void *userdata, struct rv_error **err)
{
	(void)userdata;
	task_set_str(t, "title", "changed");
	return rv_error_set(err, EIO, "callback says no");
}

static int skip_cb(struct task *t, void *userdata, struct rv_error **err)
{
	(void)userdata;
	(void)err;
	task_set_str(t, "title", "changed");
	return TASK_UPDATE_SKIP;
}

static int pause_cb(struct task *t, void *userdata, struct rv_error **err)
{
	(void)userdata;
	return task_set_status(t, TASK_PAUSED, "limit", TASK_PAUSE_RETRYABLE_ERROR,
			       timeutil_now_ms(), err);
}

static void test_store_update_callback_results(void **state)
{
	(void)state;
	int64_t id = create("orig");
	_cleanup_free_ char *p = task_store_description_path(store, id);
	struct stat before, after;
	assert_int_equal(stat(p, &before), 0);

	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(task_store_update(store, id, fail_cb, NULL, NULL, &e), -EIO);
	assert_string_equal(e->msg, "callback says no");
	assert_int_equal(task_store_update(store, id, skip_cb, NULL, NULL, NULL), 0);
	assert_int_equal(stat(p, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino); /* never rewritten */

	/* a refused transition aborts the update */
	e = rv_error_free(e);
	assert_int_equal(task_store_update(store, id, pause_cb, NULL, NULL, &e), -EPERM);
	struct task *t = NULL;
	assert_int_equal(task_store_load_id(store, id, &t, NULL), 0);
	assert_string_equal(task_title(t), "orig");
	assert_int_equal(task_status(t), TASK_NEW);
	task_free(t);

	/* and a good one returns the saved record */
	struct task *saved = NULL;
	assert_int_equal(task_store_update(store, id, bump, NULL, &saved, NULL), 0);
	int64_t n = 0;
	assert_true(task_get_int(saved, "counter", &n));
	assert_int_equal(n, 1);
	task_free(saved);
}

static int init_cb(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	char branch[64];
	snprintf(branch, sizeof(branch), "rover/task-%lld", (long long)t->id);
	task_set_str(t, "branchName", branch);
	task_set_str(t, "agent", userdata);
	return 0;
}

static int init_fail(struct task *t, void *userdata, struct rv_error **err)
{
	(void)t;
	(void)userdata;
	return rv_error_set(err, EINVAL, "bad workflow");
}

static void test_store_create_init_callback(void **state)
{
	(void)state;
	struct task *t = NULL;
	char agent[] = "claude";
	assert_int_equal(
		task_store_create(store, "x", "y", timeutil_now_ms(), init_cb, agent, &t, NULL), 0);
	assert_string_equal(task_get_str(t, "branchName"), "rover/task-1");
	task_free(t);
	assert_int_equal(task_store_load(store, "1", &t, NULL), 0);
	assert_string_equal(task_get_str(t, "agent"), "claude");
	task_free(t);

	_cleanup_error_ struct rv_error *e = NULL;
	t = NULL;
	assert_int_equal(
		task_store_create(store, "x", "y", timeutil_now_ms(), init_fail, NULL, &t, &e),
		-EINVAL);
	assert_null(t);
	assert_non_null(strstr(e->msg, "bad workflow"));
	_cleanup_free_ char *d2 = task_store_task_dir(store, 2);
	assert_false(fileio_exists(d2)); /* removed again */
	e = rv_error_free(e);
	assert_int_equal(task_store_create(store, "", "y", 0, NULL, NULL, &t, &e), -EINVAL);
}

static void test_store_load_migrates_on_disk(void **state)
{
	(void)state;
	int64_t id = create("m");
	_cleanup_free_ char *p = task_store_description_path(store, id);
	const char *old = "{\"id\": 1, \"status\": \"paused\", \"version\": \"1.5\"}";
	assert_int_equal(fileio_write_atomic(p, old, strlen(old), 0644, NULL), 0);
	_cleanup_free_ char *bak = xasprintf("%s.backup", p);

	/* list does not write */
	struct task_list l = {0};
	assert_int_equal(task_store_list(store, &l, NULL), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(task_status(l.entries[0].task), TASK_PAUSED);
	task_list_release(&l);
	assert_false(fileio_exists(bak));

	struct task *t = NULL;
	assert_int_equal(task_store_load(store, "1", &t, NULL), 0);
	assert_int_equal(task_status(t), TASK_PAUSED);
	assert_string_equal(task_get_str(t, "version"), "1.6");
	task_free(t);
	_cleanup_free_ char *b = NULL;
	assert_int_equal(fileio_read_bounded(bak, 1000, &b, NULL, NULL), 0);
	assert_string_equal(b, old);
	_cleanup_json_ struct json_object *disk = NULL;
	assert_int_equal(jsonutil_read_object(p, &disk, NULL), 0);
	assert_string_equal(jsonutil_get_str(disk, "version"), "1.6");
}

static void test_store_delete(void **state)
{
	(void)state;
	int64_t id = create("del");
	assert_int_equal(task_store_make_iteration(store, id, 1, NULL), 0);
	_cleanup_free_ char *lockf = task_store_iteration_file(store, id, 1, TASK_FILE_RESUME_LOCK);
	assert_int_equal(fileio_write_atomic(lockf, "1:2\n", 4, 0644, NULL), 0);
	assert_int_equal(task_store_delete(store, id, NULL), 0);
	_cleanup_free_ char *d = task_store_task_dir(store, id);
	assert_false(fileio_exists(d));
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(task_store_delete(store, id, &e), -ENOENT);
	assert_string_equal(e->msg, "task 1 not found");
	struct task_list l = {0};
	assert_int_equal(task_store_list(store, &l, NULL), 0);
	assert_int_equal(l.n, 0);
	task_list_release(&l);
	/* nothing left behind in tasks/ but the allocator's files */
	_cleanup_free_ char *gone = fileio_join(store->tasks_dir, ".deleted-1");
	assert_false(fileio_exists(gone));
}

/* A record's worktreePath is used only when it is exactly the task's own
 * workspace, reached through real directories. */
static void test_store_check_workspace(void **state)
{
	(void)state;
	_cleanup_free_ char *want = task_store_workspace_path(store, 3);
	_cleanup_free_ char *ws = fileio_join(dir, "workspaces");
	_cleanup_error_ struct rv_error *e = NULL;
	/* right path, not there yet */
	assert_int_equal(task_store_check_workspace(store, 3, want, &e), -ENOENT);
	assert_int_equal(fileio_mkdir_p(want, 0755, NULL), 0);
	assert_int_equal(task_store_check_workspace(store, 3, want, NULL), 0);
	/* anything else is refused, naming the task and the path */
	_cleanup_free_ char *up = xasprintf("%s/workspaces/..", dir);
	_cleanup_free_ char *dotdot = xasprintf("%s/workspaces/../workspaces/3", dir);
	_cleanup_free_ char *slash = xasprintf("%s/workspaces/3/", dir);
	_cleanup_free_ char *other = task_store_workspace_path(store, 4);
	const char *bad[] = {"/etc", up, dotdot, slash, other, "", "workspaces/3"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		e = rv_error_free(e);
		assert_int_equal(task_store_check_workspace(store, 3, bad[i], &e), -EPERM);
		assert_non_null(strstr(e->msg, "task 3"));
		assert_non_null(strstr(e->msg, bad[i]));
	}
	/* workspaces/ replaced by a symlink to a host directory */
	_cleanup_free_ char *host = xasprintf("%s-host", dir);
	_cleanup_free_ char *host3 = fileio_join(host, "3");
	assert_int_equal(fileio_mkdir_p(host3, 0755, NULL), 0);
	assert_int_equal(fileio_remove_tree(ws, NULL), 0);
	assert_int_equal(symlink(host, ws), 0);
	e = rv_error_free(e);
	assert_int_equal(task_store_check_workspace(store, 3, want, &e), -EPERM);
	assert_non_null(strstr(e->msg, "not a real directory"));
	/* and removal refuses to walk through it: the host dir survives */
	e = rv_error_free(e);
	assert_int_equal(task_store_remove_workspace(store, 3, &e), -ELOOP);
	assert_true(fileio_is_dir(host3));
	/* <id> itself a symlink */
	unlink(ws);
	assert_int_equal(mkdir(ws, 0755), 0);
	assert_int_equal(symlink(host3, want), 0);
	assert_int_equal(task_store_check_workspace(store, 3, want, NULL), -EPERM);
	assert_int_equal(task_store_remove_workspace(store, 3, NULL), 0);
	assert_true(fileio_is_dir(host3)); /* the link went, not its target */
	assert_false(fileio_exists(want));
	assert_int_equal(fileio_remove_tree(host, NULL), 0);

	/* the branch must be rover's own */
	struct task *t = NULL;
	assert_int_equal(task_new(3, "t", "d", 1, &t, NULL), 0);
	task_set_str(t, "worktreePath", want);
	task_set_str(t, "branchName", "rover/task-3");
	assert_int_equal(task_store_check_record(store, t, NULL), 0);
	task_set_str(t, "branchName", "main");
	e = rv_error_free(e);
	assert_int_equal(task_store_check_record(store, t, &e), -EPERM);
	assert_non_null(strstr(e->msg, "branch 'main'"));
	task_set_str(t, "branchName", "rover/task-3");
	task_set_str(t, "worktreePath", "/etc");
	assert_int_equal(task_store_check_record(store, t, NULL), -EPERM);
	task_free(t);
}

/* A delete killed half-way leaves tasks/.deleted-*; listing finishes it off
 * once its process is gone, never while it may still be working. */
static void test_store_list_sweeps_abandoned_deletes(void **state)
{
	(void)state;
	create("t");
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	_cleanup_free_ char *dead = xasprintf("%s/.deleted-9-%d-%lld", store->tasks_dir, (int)child,
					      (long long)timeutil_mono_ms());
	_cleanup_free_ char *live = xasprintf("%s/.deleted-8-%d-%lld", store->tasks_dir,
					      (int)getpid(), (long long)timeutil_mono_ms());
	_cleanup_free_ char *dead_sub = fileio_join(dead, "iterations/1");
	assert_int_equal(fileio_mkdir_p(dead_sub, 0755, NULL), 0);
	assert_int_equal(mkdir(live, 0755), 0);
	/* a symlink inside the abandoned tree points at a host dir */
	_cleanup_free_ char *host = xasprintf("%s-host", dir);
	_cleanup_free_ char *marker = fileio_join(host, "marker");
	assert_int_equal(fileio_mkdir_p(host, 0755, NULL), 0);
	assert_int_equal(fileio_write_atomic(marker, "x", 1, 0644, NULL), 0);
	_cleanup_free_ char *link = fileio_join(dead, "ws");
	assert_int_equal(symlink(host, link), 0);

	struct task_list l = {0};
	assert_int_equal(task_store_list(store, &l, NULL), 0);
	assert_int_equal(l.n, 1);
	task_list_release(&l);
	assert_false(fileio_exists(dead));
	assert_true(fileio_is_dir(live));
	assert_true(fileio_exists(marker));
	assert_int_equal(fileio_remove_tree(host, NULL), 0);
}

/* tasks/ replaced by a symlink: delete refuses instead of removing through it. */
static void test_store_delete_refuses_symlinked_tasks_dir(void **state)
{
	(void)state;
	int64_t id = create("t");
	_cleanup_free_ char *host = xasprintf("%s-host", dir);
	assert_int_equal(rename(store->tasks_dir, host), 0);
	assert_int_equal(symlink(host, store->tasks_dir), 0);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_true(task_store_delete(store, id, &e) < 0);
	assert_non_null(strstr(e->msg, "symlink"));
	_cleanup_free_ char *kept = xasprintf("%s/%lld/description.json", host, (long long)id);
	assert_true(fileio_exists(kept));
	assert_int_equal(fileio_remove_tree(host, NULL), 0);
}

static void test_store_paths(void **state)
{
	(void)state;
	_cleanup_free_ char *a = task_store_iteration_file(store, 7, 2, TASK_FILE_STATUS);
	_cleanup_free_ char *want = xasprintf("%s/tasks/7/iterations/2/status.json", dir);
	assert_string_equal(a, want);
	_cleanup_free_ char *b = task_store_workflow_path(store, 7);
	_cleanup_free_ char *want_b = xasprintf("%s/tasks/7/workflow.yml", dir);
	assert_string_equal(b, want_b);
	assert_string_equal(task_store_iter_file_name(TASK_FILE_CHECKPOINT), "checkpoint.json");
	assert_string_equal(task_store_iter_file_name(TASK_FILE_RESUME_LOCK), ".resume.lock");
	assert_string_equal(task_store_iter_file_name(TASK_FILE_CONTAINER_LOG), "container.log");
	assert_string_equal(task_store_iter_file_name(TASK_FILE_EVENT_LOG), "rover.jsonl");
	assert_string_equal(task_store_iter_file_name(TASK_FILE_INPUTS), "inputs.json");
	assert_null(task_store_iter_file_name(TASK__FILE_MAX));
	struct task_store *s = NULL;
	assert_int_equal(task_store_open("", &s, NULL), -EINVAL);
	assert_null(s);
}

/* A reader listing while another process updates never sees a torn record. */
static void test_store_list_during_updates(void **state)
{
	(void)state;
	int64_t id = create("busy");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int k = 0; k < 300; k++)
			if (task_store_update(store, id, bump, NULL, NULL, NULL) < 0)
				testutil_child_exit(1);
		testutil_child_exit(0);
	}
	int st = 0, rounds = 0;
	while (waitpid(pid, &st, WNOHANG) == 0 || rounds < 3) {
		struct task_list l = {0};
		assert_int_equal(task_store_list(store, &l, NULL), 0);
		assert_int_equal(l.n, 1);
		if (l.entries[0].err)
			fail_msg("torn read: %s", l.entries[0].err->msg);
		task_list_release(&l);
		rounds++;
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_store_create_sequential_and_never_reused),
		T(test_store_create_races_give_unique_ids),
		T(test_store_bad_ids),
		T(test_store_list_with_broken_task),
		T(test_store_list_many),
		T(test_store_list_empty_store),
		T(test_store_update_lock_loses_nothing),
		T(test_store_update_callback_results),
		T(test_store_create_init_callback),
		T(test_store_load_migrates_on_disk),
		T(test_store_delete),
		T(test_store_check_workspace),
		T(test_store_list_sweeps_abandoned_deletes),
		T(test_store_delete_refuses_symlinked_tasks_dir),
		T(test_store_paths),
		T(test_store_list_during_updates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
