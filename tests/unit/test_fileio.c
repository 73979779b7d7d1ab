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
	assert_int_equal(fileio_write_atomic(p, "new!", 4, 0600, NULL), 0);
	assert_content(p, "new!");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(testutil_count_entries(dir), 1);
	/* temp fsync, dir fsync */
	assert_true(faults_count(FAULT_FSYNC) >= 2);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fileio_write_atomic_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_enospc_on_write_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_eio_on_fsync_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_short_write_is_completed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_rename_failure_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_close_failure_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_read_bounded_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fileio_mkdir_p_and_remove_tree, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
