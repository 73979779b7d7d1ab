/* Unit tests for common/fileio: the atomic writer keeps the old file on every
 * injected failure (ENOSPC, EIO, short writes) and leaves no temp file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/helpers/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "tests/unit/helpers/faults.h"

static char dir[] = "/tmp/rover-test-fileio-XXXXXX";

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-fileio-XXXXXX");
	faults_reset();
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	faults_reset();
	return fileio_remove_tree(dir, NULL);
}

static void write_old(const char *path)
{
	assert_int_equal(fileio_write_atomic(path, "old", 3, 0644, NULL), 0);
}

static void assert_content(const char *path, const char *want)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_bounded(path, 1024, &buf, &len, NULL), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
}

static void test_fileio_write_atomic_replaces(void **state)
{
	(void)state;
	_cleanup_free_ char *p = fileio_join(dir, "f.json");
	write_old(p);
	faults_reset();
	assert_int_equal(fileio_write_atomic(p, "new!", 4, 0600, NULL), 0);
	/* The durable sequence, exactly: the data reaches the disk before the
	 * rename publishes it, and the directory entry after. */
	assert_string_equal(faults_trace(), "write fsync:file close rename fsync:dir close");
	assert_content(p, "new!");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(testutil_count_entries(dir), 1);
}

static void check_failure_keeps_old(enum fault_call call, int nth, int err, size_t short_len,
				    int want_code)
{
	_cleanup_free_ char *p = fileio_join(dir, "f.json");
	write_old(p);
	faults_reset();
	faults_arm(call, nth, err, short_len);
	struct rv_error *e = NULL;
	int r = fileio_write_atomic(p, "a much longer new content", 25, 0644, &e);
	faults_reset();
	if (want_code == 0) {
		/* a short write is retried, not an error */
		assert_int_equal(r, 0);
		assert_content(p, "a much longer new content");
	} else {
		assert_int_equal(r, -want_code);
		assert_non_null(e);
		assert_non_null(strstr(e->msg, "f.json"));
		assert_content(p, "old");
	}
	assert_int_equal(testutil_count_entries(dir), 1); /* no temp file left behind */
	rv_error_free(e);
}

static void test_fileio_enospc_on_write_keeps_old(void **state)
{
	(void)state;
	check_failure_keeps_old(FAULT_WRITE, 1, ENOSPC, 0, ENOSPC);
}

/* The volatile replacement: the same temporary file and rename, no fsync. */
static void test_fileio_write_atomic_volatile(void **state)
{
	(void)state;
	_cleanup_free_ char *p = fileio_join(dir, "f.json");
	write_old(p);
	faults_reset();
	assert_int_equal(fileio_write_atomic_volatile(p, "new!", 4, 0600, NULL), 0);
	assert_string_equal(faults_trace(), "write close rename");
	assert_content(p, "new!");
	assert_int_equal(testutil_count_entries(dir), 1);
}

static void test_fileio_eio_on_fsync_keeps_old(void **state)
{
	(void)state;
	check_failure_keeps_old(FAULT_FSYNC, 1, EIO, 0, EIO);
}

static void test_fileio_short_write_is_completed(void **state)
{
	(void)state;
	check_failure_keeps_old(FAULT_WRITE, 1, 0, 3, 0);
}

static void test_fileio_rename_failure_keeps_old(void **state)
{
	(void)state;
	check_failure_keeps_old(FAULT_RENAME, 1, EXDEV, 0, EXDEV);
}

static void test_fileio_close_failure_keeps_old(void **state)
{
	(void)state;
	check_failure_keeps_old(FAULT_CLOSE, 1, EIO, 0, EIO);
}

static void test_fileio_read_bounded_limits(void **state)
{
	(void)state;
	_cleanup_free_ char *p = fileio_join(dir, "big");
	char buf[10000];
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(fileio_write_atomic(p, buf, sizeof(buf), 0644, NULL), 0);
	char *out = NULL;
	struct rv_error *e = NULL;
	assert_int_equal(fileio_read_bounded(p, 9999, &out, NULL, &e), -EFBIG);
	assert_null(out);
	e = rv_error_free(e);
	size_t len = 0;
	assert_int_equal(fileio_read_bounded(p, 10000, &out, &len, NULL), 0);
	assert_int_equal(len, 10000);
	free(out);
	_cleanup_free_ char *missing = fileio_join(dir, "nope");
	assert_int_equal(fileio_read_bounded(missing, 10, &out, NULL, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "nope"));
	rv_error_free(e);
}

static void test_fileio_mkdir_p_and_remove_tree(void **state)
{
	(void)state;
	_cleanup_free_ char *deep = fileio_join(dir, "a/b/c");
	assert_int_equal(fileio_mkdir_p(deep, 0755, NULL), 0);
	assert_int_equal(fileio_mkdir_p(deep, 0755, NULL), 0);
	assert_true(fileio_is_dir(deep));
	_cleanup_free_ char *a = fileio_join(dir, "a");
	_cleanup_free_ char *f = fileio_join(deep, "x");
	write_old(f);
	assert_int_equal(fileio_remove_tree(a, NULL), 0);
	assert_false(fileio_exists(a));
	assert_int_equal(fileio_remove_tree(a, NULL), 0);
}

/* rm -rf never follows a symlink: one inside the tree to a host directory
 * is removed as a link, and the host directory survives. */
static void test_fileio_remove_tree_does_not_follow(void **state)
{
	(void)state;
	_cleanup_free_ char *host = fileio_join(dir, "host");
	_cleanup_free_ char *marker = fileio_join(host, "marker");
	_cleanup_free_ char *tree = fileio_join(dir, "tree");
	_cleanup_free_ char *sub = fileio_join(dir, "tree/a/b");
	_cleanup_free_ char *link = fileio_join(dir, "tree/a/b/to-host");
	_cleanup_free_ char *link2 = fileio_join(dir, "tree/top-link");
	assert_int_equal(fileio_mkdir_p(host, 0755, NULL), 0);
	assert_int_equal(fileio_write_atomic(marker, "m", 1, 0644, NULL), 0);
	assert_int_equal(fileio_mkdir_p(sub, 0755, NULL), 0);
	assert_int_equal(symlink(host, link), 0);
	assert_int_equal(symlink(marker, link2), 0);
	assert_int_equal(fileio_remove_tree(tree, NULL), 0);
	assert_false(fileio_exists(tree));
	assert_true(fileio_exists(marker));

	/* the top itself a symlink: the link goes, not the target */
	assert_int_equal(symlink(host, tree), 0);
	assert_int_equal(fileio_remove_tree(tree, NULL), 0);
	struct stat st;
	assert_int_equal(lstat(tree, &st), -1);
	assert_true(fileio_exists(marker));

	/* remove_tree_at takes one name only */
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	const char *bad[] = {"..", ".", "", "host/marker", "/etc"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(fileio_remove_tree_at(dfd, bad[i], bad[i], NULL), -EINVAL);
	assert_true(fileio_exists(marker));
	assert_int_equal(fileio_remove_tree(".", NULL), -EINVAL);
}

static void test_fileio_open_dir_beneath(void **state)
{
	(void)state;
	_cleanup_free_ char *real = fileio_join(dir, "a/b/c");
	_cleanup_free_ char *link = fileio_join(dir, "a/l");
	_cleanup_free_ char *file = fileio_join(dir, "a/f");
	assert_int_equal(fileio_mkdir_p(real, 0755, NULL), 0);
	_cleanup_free_ char *target = fileio_join(dir, "a/b");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(fileio_write_atomic(file, "x", 1, 0644, NULL), 0);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = fileio_open_dir_beneath(dfd, "a/b/c");
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fileio_open_dir_beneath(dfd, "a/l"), -ELOOP);
	assert_int_equal(fileio_open_dir_beneath(dfd, "a/l/c"), -ELOOP);
	assert_int_equal(fileio_open_dir_beneath(dfd, "a/f"), -ENOTDIR);
	assert_int_equal(fileio_open_dir_beneath(dfd, "a/nope"), -ENOENT);
	assert_int_equal(fileio_open_dir_beneath(dfd, "a/../a"), -EINVAL);
	assert_int_equal(fileio_open_dir_beneath(dfd, "/a"), -EINVAL);
}

/* The migration copy across filesystems: files and modes copied, symlinks
 * re-created as links (never followed). */
static void test_fileio_copy_tree(void **state)
{
	(void)state;
	_cleanup_free_ char *from = fileio_join(dir, "from");
	_cleanup_free_ char *to = fileio_join(dir, "to");
	_cleanup_free_ char *host = fileio_join(dir, "host");
	_cleanup_free_ char *hfile = fileio_join(dir, "host/secret");
	_cleanup_free_ char *sub = fileio_join(dir, "from/tasks/1");
	_cleanup_free_ char *f = fileio_join(dir, "from/tasks/1/description.json");
	_cleanup_free_ char *l = fileio_join(dir, "from/tasks/1/link");
	assert_int_equal(fileio_mkdir_p(host, 0755, NULL), 0);
	assert_int_equal(fileio_write_atomic(hfile, "s", 1, 0600, NULL), 0);
	assert_int_equal(fileio_mkdir_p(sub, 0755, NULL), 0);
	assert_int_equal(fileio_write_atomic(f, "{}", 2, 0640, NULL), 0);
	assert_int_equal(symlink(host, l), 0);
	assert_int_equal(fileio_copy_tree(from, to, NULL), 0);
	_cleanup_free_ char *cf = fileio_join(to, "tasks/1/description.json");
	_cleanup_free_ char *cl = fileio_join(to, "tasks/1/link");
	_cleanup_free_ char *buf = NULL;
	assert_int_equal(fileio_read_bounded(cf, 10, &buf, NULL, NULL), 0);
	assert_string_equal(buf, "{}");
	struct stat st;
	assert_int_equal(stat(cf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(lstat(cl, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	_cleanup_free_ char *through = fileio_join(to, "tasks/1/link/secret");
	_cleanup_free_ char *copied_secret = fileio_join(to, "tasks/1/secret");
	assert_false(fileio_exists(copied_secret));
	/* a target that exists is refused */
	assert_true(fileio_copy_tree(from, to, NULL) < 0);
	(void)through;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fileio_write_atomic_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_enospc_on_write_keeps_old, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fileio_write_atomic_volatile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_eio_on_fsync_keeps_old, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fileio_short_write_is_completed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fileio_rename_failure_keeps_old, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fileio_close_failure_keeps_old, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fileio_read_bounded_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_mkdir_p_and_remove_tree, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fileio_remove_tree_does_not_follow, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fileio_open_dir_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_copy_tree, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
