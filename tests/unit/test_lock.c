/* Unit tests for supervisor/lib/lock: acquire/release, busy, every stale rule
 * (dead PID, reused PID, 30 minutes old, future, other boot, garbage), the
 * file is never seen empty or partial, 20 racers on a stale lock give exactly
 * one owner, and release never removes someone else's lock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/helpers/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include "common/proc.h"
#include "common/timeutil.h"
#include "supervisor/lib/lock.h"

#define NPROC 20

static char dir[] = "/tmp/rover-test-lock-XXXXXX";
static char *lock_path;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-lock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	lock_path = fileio_join(dir, LOCK_FILE_NAME);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(lock_path);
	lock_path = NULL;
	return fileio_remove_tree(dir, NULL);
}

static char *read_lock_file(void)
{
	char *buf = NULL;
	if (fileio_read_bounded(lock_path, 8192, &buf, NULL, NULL) < 0)
		return NULL;
	return buf;
}

/* Write a lock file as some other writer would, with its mtime age_s ago. */
static void plant(const char *content, int64_t age_s)
{
	assert_int_equal(fileio_write_atomic(lock_path, content, strlen(content), 0644, NULL), 0);
	if (age_s) {
		struct timespec ts[2];
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		ts[0].tv_sec -= age_s;
		ts[1] = ts[0];
		assert_int_equal(utimensat(AT_FDCWD, lock_path, ts, 0), 0);
	}
}

static char host[256];

/* Content for pid as our own writer would produce it, stamped at ts. */
static char *content_for(pid_t pid, int64_t ts, bool with_start, uint64_t start_override)
{
	char boot[40] = "";
	proc_boot_id(boot, sizeof(boot));
	uint64_t start = 0;
	if (!proc_start_time(pid, &start))
		start = 1;
	if (start_override)
		start = start_override;
	char start_line[64] = "";
	if (with_start)
		snprintf(start_line, sizeof(start_line), "start=%" PRIu64 "\n", start);
	return xasprintf("%d:%lld\nhost=%s\n%sboot=%s\n", (int)pid, (long long)ts, host, start_line,
			 boot);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		testutil_child_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static enum lock_state inspect_state(void)
{
	struct lock_info info;
	assert_int_equal(lock_inspect(dir, &info, NULL), 0);
	return info.state;
}

static void expect_reclaimed(enum lock_state want_before)
{
	assert_int_equal(inspect_state(), want_before);
	struct lock *l = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (lock_acquire(dir, &l, &e) < 0)
		fail_msg("acquire over a stale lock: %s", rv_error_msg(e));
	_cleanup_free_ char *now = read_lock_file();
	char want[32];
	snprintf(want, sizeof(want), "%d:", (int)getpid());
	assert_non_null(now);
	assert_true(!strncmp(now, want, strlen(want)));
	assert_int_equal(inspect_state(), LOCK_HELD);
	assert_int_equal(lock_drop(l, NULL), 0);
	assert_false(fileio_exists(lock_path));
	assert_int_equal(testutil_count_entries(dir), 0);
}

static void expect_busy(enum lock_state want)
{
	assert_int_equal(inspect_state(), want);
	_cleanup_free_ char *before = read_lock_file();
	struct lock *l = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(lock_acquire(dir, &l, &e), -EBUSY);
	assert_null(l);
	assert_non_null(strstr(e->msg, "already being resumed"));
	_cleanup_free_ char *after = read_lock_file();
	assert_string_equal(before, after);
	assert_int_equal(testutil_count_entries(dir), 1); /* no temp file left */
}

static void test_lock_acquire_release(void **state)
{
	(void)state;
	assert_int_equal(inspect_state(), LOCK_ABSENT);
	struct lock *l = NULL;
	int64_t t0 = timeutil_now_ms();
	assert_int_equal(lock_acquire(dir, &l, NULL), 0);
	assert_non_null(l);
	_cleanup_free_ char *c = read_lock_file();
	int pid = 0;
	long long ts = 0;
	assert_int_equal(sscanf(c, "%d:%lld\n", &pid, &ts), 2);
	assert_int_equal(pid, getpid());
	assert_true(ts >= t0 && ts <= timeutil_now_ms());
	_cleanup_free_ char *hl = xasprintf("\nhost=%s\n", host);
	assert_non_null(strstr(c, hl));
	assert_non_null(strstr(c, "\nstart="));
	char boot[40];
	if (proc_boot_id(boot, sizeof(boot))) {
		_cleanup_free_ char *bl = xasprintf("\nboot=%s\n", boot);
		assert_non_null(strstr(c, bl));
	}
	assert_int_equal(testutil_count_entries(dir), 1);

	struct lock_info info;
	assert_int_equal(lock_inspect(dir, &info, NULL), 0);
	assert_true(info.held);
	assert_int_equal(info.state, LOCK_HELD);
	assert_int_equal(info.pid, getpid());
	assert_int_equal(info.since_ms, ts);
	assert_true(info.age_ms >= 0 && info.age_ms < 60000);
	assert_string_equal(info.host, host);

	assert_int_equal(lock_drop(l, NULL), 0);
	assert_false(fileio_exists(lock_path));
	assert_int_equal(testutil_count_entries(dir), 0);
	assert_int_equal(lock_drop(NULL, NULL), 0);
}

static void test_lock_second_acquire_is_busy(void **state)
{
	(void)state;
	struct lock *l = NULL;
	assert_int_equal(lock_acquire(dir, &l, NULL), 0);
	_cleanup_free_ char *c = read_lock_file();
	long long ts = 0;
	assert_int_equal(sscanf(c, "%*d:%lld", &ts), 1);
	char hhmm[8];
	timeutil_format_hhmm(ts, hhmm);

	/* the same process */
	struct lock *l2 = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(lock_acquire(dir, &l2, &e), -EBUSY);
	assert_null(l2);
	_cleanup_free_ char *want =
		xasprintf("already being resumed by process %d (since %s)", (int)getpid(), hhmm);
	assert_string_equal(e->msg, want);

	/* another process */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct lock *cl = NULL;
		int r = lock_acquire(dir, &cl, NULL);
		testutil_child_exit(r == -EBUSY ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	_cleanup_free_ char *after = read_lock_file();
	assert_string_equal(c, after);
	assert_int_equal(testutil_count_entries(dir), 1);
	assert_int_equal(lock_drop(l, NULL), 0);
	/* free again afterwards */
	assert_int_equal(lock_acquire(dir, &l, NULL), 0);
	assert_int_equal(lock_drop(l, NULL), 0);
}

static void test_lock_stale_dead_pid(void **state)
{
	(void)state;
	pid_t dead = dead_pid();
	_cleanup_free_ char *c = content_for(dead, timeutil_now_ms(), false, 0);
	plant(c, 0);
	expect_reclaimed(LOCK_STALE_DEAD);
	/* rover's own format: no newline, no extra lines */
	_cleanup_free_ char *ts_only =
		xasprintf("%d:%lld", (int)dead, (long long)timeutil_now_ms());
	plant(ts_only, 0);
	expect_reclaimed(LOCK_STALE_DEAD);
}

static void test_lock_stale_reused_pid(void **state)
{
	(void)state;
	/* our own PID is alive, but the recorded start time is another
	 * process's: the PID was reused */
	uint64_t start = 0;
	assert_true(proc_start_time(getpid(), &start));
	_cleanup_free_ char *c = content_for(getpid(), timeutil_now_ms(), true, start + 12345);
	plant(c, 0);
	expect_reclaimed(LOCK_STALE_REUSED);
	/* a live PID with the right start time is held */
	_cleanup_free_ char *ok = content_for(getppid(), timeutil_now_ms(), true, 0);
	plant(ok, 0);
	expect_busy(LOCK_HELD);
}

static void test_lock_stale_by_age(void **state)
{
	(void)state;
	int64_t now = timeutil_now_ms();
	_cleanup_free_ char *old = content_for(getppid(), now - LOCK_STALE_MS - 1000, true, 0);
	plant(old, 0);
	expect_reclaimed(LOCK_STALE_AGE);
	_cleanup_free_ char *young = content_for(getppid(), now - 29 * 60 * 1000, true, 0);
	plant(young, 0);
	expect_busy(LOCK_HELD);
	/* a bare PID has no timestamp: its mtime counts */
	_cleanup_free_ char *bare = xasprintf("%d", (int)getppid());
	plant(bare, 0);
	expect_busy(LOCK_HELD);
	plant(bare, 31 * 60);
	expect_reclaimed(LOCK_STALE_AGE);
}

static void test_lock_future_timestamp(void **state)
{
	(void)state;
	int64_t now = timeutil_now_ms();
	_cleanup_free_ char *near = content_for(getppid(), now + 20000, true, 0);
	plant(near, 0);
	expect_busy(LOCK_HELD);
	_cleanup_free_ char *far =
		content_for(getppid(), now + LOCK_FUTURE_SKEW_MS + 60000, true, 0);
	plant(far, 0);
	expect_reclaimed(LOCK_STALE_FUTURE);
}

static void test_lock_other_boot_and_host(void **state)
{
	(void)state;
	char boot[40];
	if (!proc_boot_id(boot, sizeof(boot)))
		skip();
	_cleanup_free_ char *other_boot =
		xasprintf("%d:%lld\nhost=%s\nboot=00000000-0000-4000-8000-000000000000\n",
			  (int)getppid(), (long long)timeutil_now_ms(), host);
	plant(other_boot, 0);
	expect_reclaimed(LOCK_STALE_OTHER_BOOT);

	/* another host: its PID cannot be checked here, only its age */
	pid_t dead = dead_pid();
	int64_t now = timeutil_now_ms();
	_cleanup_free_ char *elsewhere =
		xasprintf("%d:%lld\nhost=not-%s\nboot=x\n", (int)dead, (long long)now, host);
	plant(elsewhere, 0);
	expect_busy(LOCK_HELD_OTHER_HOST);
	struct lock *l = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(lock_acquire(dir, &l, &e), -EBUSY);
	_cleanup_free_ char *want = xasprintf("on host not-%s", host);
	assert_non_null(strstr(e->msg, want));
	_cleanup_free_ char *elsewhere_old = xasprintf("%d:%lld\nhost=not-%s\n", (int)dead,
						       (long long)(now - LOCK_STALE_MS), host);
	plant(elsewhere_old, 0);
	expect_reclaimed(LOCK_STALE_AGE);
}

static void test_lock_garbage_content(void **state)
{
	(void)state;
	plant("garbage\n", 0);
	expect_busy(LOCK_HELD_UNREADABLE);
	plant("garbage\n", 10);
	expect_reclaimed(LOCK_STALE_UNREADABLE);
	plant("", 0); /* what rover's O_EXCL-then-write leaves for an instant */
	expect_busy(LOCK_HELD_UNREADABLE);
	plant("", 3600);
	expect_reclaimed(LOCK_STALE_UNREADABLE);
	plant(":123\n", 10);
	expect_reclaimed(LOCK_STALE_UNREADABLE);
	plant("0:123\n", 10);
	expect_reclaimed(LOCK_STALE_UNREADABLE);
	/* a PID followed by a non-number timestamp: the timestamp is absent */
	_cleanup_free_ char *c = xasprintf("%d:soon\n", (int)getppid());
	plant(c, 0);
	expect_busy(LOCK_HELD);
}

/* Content as a reader may see it: complete, never empty or cut short. */
static bool complete(const char *buf, size_t len)
{
	int pid = 0;
	long long ts = 0;
	char boot[40];
	bool want_boot = proc_boot_id(boot, sizeof(boot));
	return len > 0 && buf[len - 1] == '\n' && sscanf(buf, "%d:%lld\n", &pid, &ts) == 2 &&
	       pid > 0 && ts > 0 && strstr(buf, "\nstart=") &&
	       (!want_boot || strstr(buf, "\nboot="));
}

static void test_lock_never_visible_empty(void **state)
{
	(void)state;
	enum { CYCLES = 2000 };
	int done[2];
	assert_int_equal(pipe(done), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(done[0]);
		for (int i = 0; i < CYCLES; i++) {
			struct lock *l = NULL;
			if (lock_acquire(dir, &l, NULL) < 0 || lock_drop(l, NULL) < 0)
				testutil_child_exit(1);
		}
		testutil_child_exit(0);
	}
	close(done[1]);
	int flags = fcntl(done[0], F_GETFL);
	fcntl(done[0], F_SETFL, flags | O_NONBLOCK);
	long seen = 0, bad = 0;
	char buf[LOCK_MAX_BYTES + 1];
	for (;;) {
		int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n >= 0) {
				buf[n] = '\0';
				seen++;
				if (!complete(buf, (size_t)n))
					bad++;
			}
		}
		char c;
		if (read(done[0], &c, 1) == 0)
			break; /* the child is gone */
	}
	close(done[0]);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	print_message("lock file seen %ld times, %ld incomplete\n", seen, bad);
	assert_int_equal(bad, 0);
	assert_true(seen > 0);
	assert_int_equal(testutil_count_entries(dir), 0);
}

static void test_lock_racers_on_stale_lock_one_winner(void **state)
{
	(void)state;
	for (int round = 0; round < 10; round++) {
		pid_t dead = dead_pid();
		_cleanup_free_ char *c = content_for(dead, timeutil_now_ms(), false, 0);
		plant(c, 0);
		int go[2], res[2], hold[2];
		assert_int_equal(pipe(go), 0);
		assert_int_equal(pipe(res), 0);
		assert_int_equal(pipe(hold), 0);
		pid_t pids[NPROC];
		for (int i = 0; i < NPROC; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				close(go[1]);
				close(res[0]);
				close(hold[1]);
				char ch;
				if (read(go[0], &ch, 1) != 0)
					testutil_child_exit(3);
				struct lock *l = NULL;
				int r = lock_acquire(dir, &l, NULL);
				char out = r == 0 ? 'W' : r == -EBUSY ? 'B' : 'E';
				if (write(res[1], &out, 1) != 1)
					testutil_child_exit(2);
				/* winners stay alive (holding) until every racer tried */
				if (read(hold[0], &ch, 1) != 0)
					testutil_child_exit(3);
				if (l && lock_drop(l, NULL) < 0)
					testutil_child_exit(4);
				testutil_child_exit(0);
			}
		}
		close(go[0]);
		close(res[1]);
		close(hold[0]);
		close(go[1]);
		int won = 0, busy = 0, other = 0;
		char out;
		for (int i = 0; i < NPROC; i++) {
			assert_int_equal(read(res[0], &out, 1), 1);
			won += out == 'W';
			busy += out == 'B';
			other += out == 'E';
		}
		/* exactly one owner, and the file is the winner's */
		assert_int_equal(won, 1);
		assert_int_equal(busy, NPROC - 1);
		assert_int_equal(other, 0);
		struct lock_info info;
		assert_int_equal(lock_inspect(dir, &info, NULL), 0);
		assert_int_equal(info.state, LOCK_HELD);
		bool winner_is_racer = false;
		for (int i = 0; i < NPROC; i++)
			winner_is_racer |= info.pid == pids[i];
		assert_true(winner_is_racer);
		close(hold[1]);
		close(res[0]);
		for (int i = 0; i < NPROC; i++) {
			int st = 0;
			assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		assert_false(fileio_exists(lock_path));
		assert_int_equal(testutil_count_entries(dir), 0);
	}
}

static void test_lock_drop_keeps_foreign_lock(void **state)
{
	(void)state;
	struct lock *l = NULL;
	assert_int_equal(lock_acquire(dir, &l, NULL), 0);
	/* our lock was judged stale and taken over by someone else */
	_cleanup_free_ char *other = content_for(getppid(), timeutil_now_ms(), true, 0);
	plant(other, 0);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(lock_drop(l, &e), -ESTALE);
	assert_non_null(strstr(e->msg, "taken over"));
	_cleanup_free_ char *after = read_lock_file();
	assert_string_equal(after, other);

	/* a lock whose file vanished, or whose directory vanished, releases fine */
	unlink(lock_path);
	assert_int_equal(lock_acquire(dir, &l, NULL), 0);
	unlink(lock_path);
	assert_int_equal(lock_drop(l, NULL), 0);
	_cleanup_free_ char *sub = fileio_join(dir, "iter");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(lock_acquire(sub, &l, NULL), 0);
	assert_int_equal(fileio_remove_tree(sub, NULL), 0);
	e = rv_error_free(e);
	assert_int_equal(lock_drop(l, &e), 0);
	assert_null(e);
}

static void test_lock_missing_dir(void **state)
{
	(void)state;
	_cleanup_free_ char *missing = fileio_join(dir, "nope");
	struct lock *l = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(lock_acquire(missing, &l, &e), -ENOENT);
	assert_null(l);
	assert_non_null(strstr(e->msg, missing));
	struct lock_info info;
	assert_int_equal(lock_inspect(missing, &info, NULL), 0);
	assert_int_equal(info.state, LOCK_ABSENT);
	assert_false(info.held);
	assert_string_equal(lock_state_describe(LOCK_STALE_REUSED),
			    "stale: the holder's PID now belongs to another process");
}

/* What a container can plant at .resume.lock (the iteration directory is
 * its /output): a FIFO, a symlink to a host file, a dangling symlink, a
 * directory.  None of them blocks, none is followed; each is a stale lock
 * that acquire reclaims, leaving the link's target alone. */
static void test_lock_planted_non_files_are_stale(void **state)
{
	(void)state;
	_cleanup_free_ char *target = xasprintf("%s-host-marker", dir);
	assert_int_equal(fileio_write_atomic(target, "keep\n", 5, 0644, NULL), 0);
	_cleanup_free_ char *nowhere = xasprintf("%s-nowhere", dir);
	_cleanup_free_ char *sub = fileio_join(lock_path, "x");
	for (int kind = 0; kind < 4; kind++) {
		switch (kind) {
		case 0:
			assert_int_equal(mkfifo(lock_path, 0644), 0);
			break;
		case 1:
			assert_int_equal(symlink(target, lock_path), 0);
			break;
		case 2:
			assert_int_equal(symlink(nowhere, lock_path), 0);
			break;
		default:
			assert_int_equal(mkdir(lock_path, 0755), 0);
			assert_int_equal(mkdir(sub, 0755), 0);
			break;
		}
		int64_t t0 = timeutil_mono_ms();
		struct lock_info info;
		assert_int_equal(lock_inspect(dir, &info, NULL), 0);
		assert_int_equal(info.state, LOCK_STALE_NOT_FILE);
		assert_false(info.held);
		struct lock *l = NULL;
		_cleanup_error_ struct rv_error *e = NULL;
		assert_int_equal(lock_acquire(dir, &l, &e), 0);
		assert_true(timeutil_mono_ms() - t0 < 2000);
		struct stat st;
		assert_int_equal(lstat(lock_path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(lock_drop(l, NULL), 0);
		assert_false(fileio_exists(nowhere));
		_cleanup_free_ char *buf = NULL;
		assert_int_equal(fileio_read_bounded(target, 64, &buf, NULL, NULL), 0);
		assert_string_equal(buf, "keep\n");
	}
	/* a lock replaced by a FIFO while held: release neither blocks nor fails */
	struct lock *l2 = NULL;
	assert_int_equal(lock_acquire(dir, &l2, NULL), 0);
	assert_int_equal(unlink(lock_path), 0);
	assert_int_equal(mkfifo(lock_path, 0644), 0);
	assert_int_equal(lock_drop(l2, NULL), 0);
	unlink(target);
	/* a directory moved aside stays in the iteration directory */
	(void)fileio_remove_tree(dir, NULL);
	assert_int_equal(mkdir(dir, 0700), 0);
}

int main(void)
{
	if (gethostname(host, sizeof(host) - 1) < 0)
		return 1;
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_lock_acquire_release),
		T(test_lock_second_acquire_is_busy),
		T(test_lock_stale_dead_pid),
		T(test_lock_stale_reused_pid),
		T(test_lock_stale_by_age),
		T(test_lock_future_timestamp),
		T(test_lock_other_boot_and_host),
		T(test_lock_garbage_content),
		T(test_lock_never_visible_empty),
		T(test_lock_racers_on_stale_lock_one_winner),
		T(test_lock_drop_keeps_foreign_lock),
		T(test_lock_missing_dir),
		T(test_lock_planted_non_files_are_stale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
