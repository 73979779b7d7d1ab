/* Unit tests for supervisor/lib/iterfile: what a hostile container can plant
 * in an iteration directory (symlink to a host file, dangling symlink, FIFO,
 * socket, directory, huge file) is refused fast with a clear error, never
 * followed, never blocked on; writes never go through a link; the rover-owned
 * components tasks/<id>/iterations/<n> must be real directories. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "supervisor/lib/iterfile.h"

static char root[] = "/tmp/rover-test-iterfile-XXXXXX";
static char *iter;   /* <root>/store/tasks/7/iterations/1 */
static char *marker; /* <root>/host-marker: a host file the links aim at */

static const char MARKER_TEXT[] = "host secret\n";

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/rover-test-iterfile-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	iter = xasprintf("%s/store/tasks/7/iterations/1", root);
	marker = xasprintf("%s/host-marker", root);
	if (fileio_mkdir_p(iter, 0755, NULL) < 0)
		return -1;
	return fileio_write_atomic(marker, MARKER_TEXT, strlen(MARKER_TEXT), 0600, NULL);
}

static int teardown(void **state)
{
	(void)state;
	free(iter);
	free(marker);
	return fileio_remove_tree(root, NULL);
}

static char *in_iter(const char *name)
{
	return fileio_join(iter, name);
}

static void assert_marker_intact(void)
{
	_cleanup_free_ char *buf = NULL;
	assert_int_equal(fileio_read_bounded(marker, 4096, &buf, NULL, NULL), 0);
	assert_string_equal(buf, MARKER_TEXT);
}

static void test_regular_file_is_read(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("status.json");
	assert_int_equal(fileio_write_atomic(p, "{\"status\":\"running\"}", 20, 0644, NULL), 0);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	assert_int_equal(iterfile_read(p, 1024, &buf, &len, NULL), 0);
	assert_int_equal(len, 20);
	struct json_object *o = NULL;
	assert_int_equal(iterfile_read_json(p, &o, NULL), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "status")), "running");
	json_object_put(o);
	assert_true(iterfile_exists(p));
}

static void test_missing_file(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("status.json");
	_cleanup_error_ struct rv_error *e = NULL;
	char *buf = NULL;
	assert_int_equal(iterfile_read(p, 1024, &buf, NULL, &e), -ENOENT);
	assert_non_null(strstr(e->msg, "does not exist"));
	assert_false(iterfile_exists(p));
}

static void test_symlink_to_host_file_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("container.log");
	assert_int_equal(symlink(marker, p), 0);
	_cleanup_error_ struct rv_error *e = NULL;
	char *buf = NULL;
	int r = iterfile_read(p, 1024, &buf, NULL, &e);
	assert_int_equal(r, -ELOOP);
	assert_true(iterfile_planted(r));
	assert_null(buf);
	assert_non_null(strstr(e->msg, "symbolic link"));
	assert_non_null(strstr(e->msg, p));
	assert_false(iterfile_exists(p));
	assert_string_equal(iterfile_kind(p), "a symbolic link");
	assert_marker_intact();
}

static void test_dangling_symlink_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("checkpoint.json");
	_cleanup_free_ char *nowhere = fileio_join(root, "does-not-exist");
	assert_int_equal(symlink(nowhere, p), 0);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(iterfile_open_read(p, NULL, &e), -ELOOP);
	assert_false(fileio_exists(nowhere));
}

static void test_fifo_refused_without_blocking(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("status.json");
	assert_int_equal(mkfifo(p, 0644), 0);
	int64_t t0 = timeutil_mono_ms();
	_cleanup_error_ struct rv_error *e = NULL;
	struct json_object *o = NULL;
	int r = iterfile_read_json(p, &o, &e);
	assert_int_equal(r, -EINVAL);
	assert_true(iterfile_planted(r));
	assert_non_null(strstr(e->msg, "FIFO"));
	assert_true(timeutil_mono_ms() - t0 < 1000);
}

static void test_socket_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter(".resume.lock");
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	assert_true(strlen(p) < sizeof(a.sun_path));
	strcpy(a.sun_path, p);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(iterfile_open_read(p, NULL, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "socket"));
	close(s);
}

static void test_directory_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("inputs.json");
	assert_int_equal(mkdir(p, 0755), 0);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(iterfile_open_read(p, NULL, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "directory"));
}

static void test_huge_file_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("checkpoint.json");
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	/* Sparse: 1 GiB without using the disk. */
	assert_int_equal(ftruncate(fd, (off_t)1 << 30), 0);
	close(fd);
	int64_t t0 = timeutil_mono_ms();
	_cleanup_error_ struct rv_error *e = NULL;
	struct json_object *o = NULL;
	assert_int_equal(iterfile_read_json(p, &o, &e), -EFBIG);
	assert_non_null(strstr(e->msg, "larger than"));
	assert_true(timeutil_mono_ms() - t0 < 1000);
}

static void test_symlinked_iteration_component_refused(void **state)
{
	(void)state;
	/* tasks/8 -> a host directory: nothing beneath it is touched. */
	_cleanup_free_ char *task8 = xasprintf("%s/store/tasks/8", root);
	_cleanup_free_ char *hostdir = xasprintf("%s/hostdir", root);
	_cleanup_free_ char *hostiter = xasprintf("%s/hostdir/iterations/1", root);
	assert_int_equal(fileio_mkdir_p(hostiter, 0755, NULL), 0);
	assert_int_equal(symlink(hostdir, task8), 0);
	_cleanup_free_ char *p = xasprintf("%s/iterations/1/container.log", task8);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(iterfile_open_append(p, &e), -ELOOP);
	assert_non_null(strstr(e->msg, "not a real directory"));
	_cleanup_free_ char *planted = xasprintf("%s/container.log", hostiter);
	assert_false(fileio_exists(planted));
	/* The iteration directory itself as a symlink too. */
	_cleanup_free_ char *it2 = xasprintf("%s/store/tasks/7/iterations/2", root);
	assert_int_equal(symlink(hostiter, it2), 0);
	_cleanup_free_ char *p2 = xasprintf("%s/status.json", it2);
	e = rv_error_free(e);
	assert_int_equal(iterfile_write_atomic(p2, "{}", 2, 0644, &e), -ELOOP);
	_cleanup_free_ char *planted2 = xasprintf("%s/status.json", hostiter);
	assert_false(fileio_exists(planted2));
}

static void test_append_replaces_planted_symlink(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("container.log");
	assert_int_equal(symlink(marker, p), 0);
	_cleanup_error_ struct rv_error *e = NULL;
	int fd = iterfile_open_append(p, &e);
	assert_true(fd >= 0);
	assert_int_equal(fileio_write_all(fd, "output\n", 7), 0);
	close(fd);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_marker_intact();
}

static void test_append_replaces_fifo_and_directory(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("container.log");
	assert_int_equal(mkfifo(p, 0644), 0);
	int fd = iterfile_open_append(p, NULL);
	assert_true(fd >= 0);
	close(fd);
	assert_true(iterfile_exists(p));
	/* A non-empty directory is moved aside, not walked. */
	_cleanup_free_ char *q = in_iter(".pause-requested");
	_cleanup_free_ char *inner = fileio_join(q, "link");
	assert_int_equal(mkdir(q, 0755), 0);
	assert_int_equal(symlink(marker, inner), 0);
	assert_int_equal(iterfile_clear_planted(q, NULL), 1);
	assert_false(fileio_exists(q));
	assert_marker_intact();
	assert_int_equal(iterfile_clear_planted(q, NULL), 0);
}

static void test_write_atomic_over_planted_things(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter(".pause-requested");
	assert_int_equal(symlink(marker, p), 0);
	assert_int_equal(iterfile_write_atomic(p, "why\n", 4, 0644, NULL), 0);
	assert_true(iterfile_exists(p));
	assert_marker_intact();
	_cleanup_free_ char *d = in_iter("status.json");
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(iterfile_write_atomic(d, "{}", 2, 0644, NULL), 0);
	assert_true(iterfile_exists(d));
}

static void test_remove_never_follows(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter(".resume.lock");
	assert_int_equal(symlink(marker, p), 0);
	assert_int_equal(iterfile_remove(p, NULL), 0);
	struct stat st;
	assert_int_equal(lstat(p, &st), -1);
	assert_marker_intact();
	assert_int_equal(iterfile_remove(p, NULL), 0); /* already gone: fine */
}

static void test_rename_moves_link_itself(void **state)
{
	(void)state;
	_cleanup_free_ char *p = in_iter("checkpoint.json");
	_cleanup_free_ char *q = in_iter("checkpoint.json.restart-1");
	assert_int_equal(symlink(marker, p), 0);
	assert_int_equal(iterfile_rename(p, q, true, NULL), 0);
	struct stat st;
	assert_int_equal(lstat(q, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_marker_intact();
	assert_int_equal(iterfile_rename(p, q, true, NULL), -ENOENT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_regular_file_is_read),
		T(test_missing_file),
		T(test_symlink_to_host_file_refused),
		T(test_dangling_symlink_refused),
		T(test_fifo_refused_without_blocking),
		T(test_socket_refused),
		T(test_directory_refused),
		T(test_huge_file_refused),
		T(test_symlinked_iteration_component_refused),
		T(test_append_replaces_planted_symlink),
		T(test_append_replaces_fifo_and_directory),
		T(test_write_atomic_over_planted_things),
		T(test_remove_never_follows),
		T(test_rename_moves_link_itself),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
