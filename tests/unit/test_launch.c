/* Unit tests for the container.log saving of supervisor/lib/launch.c
 * (launch_save_logs): never through a symlink the container planted, a save
 * cut short by a full disk is truncated back and done again whole later, and
 * only a save with its trailer line counts as done.  The engine is replaced
 * at link time (-Wl,--wrap=engine_container_inspect,engine_container_logs),
 * write(2) through tests/unit/helpers/faults.c. */
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
#include "supervisor/lib/engine.h"
#include "supervisor/lib/engine_logs.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/task_store.h"
#include "tests/unit/helpers/faults.h"

#define CID "4f1c0ffee0000000000000000000000000000000000000000000000000000001"
#define OUTPUT "step output\nrover-agent: cannot save checkpoint: No space left on device\n"

int __wrap_engine_container_inspect(struct engine *e, const char *id,
				    struct engine_container_info *info, struct rv_error **err);
int __wrap_engine_container_logs(struct engine *e, const char *id, unsigned flags, engine_log_fn fn,
				 void *userdata, struct rv_error **err);

int __wrap_engine_container_inspect(struct engine *e, const char *id,
				    struct engine_container_info *info, struct rv_error **err)
{
	(void)e;
	(void)id;
	(void)err;
	memset(info, 0, sizeof(*info));
	info->id = xstrdup(CID);
	info->status = xstrdup("exited");
	return 0;
}

int __wrap_engine_container_logs(struct engine *e, const char *id, unsigned flags, engine_log_fn fn,
				 void *userdata, struct rv_error **err)
{
	(void)e;
	(void)id;
	(void)flags;
	return fn(userdata, ENGINE_STREAM_STDOUT, OUTPUT, strlen(OUTPUT), err);
}

static char root[] = "/tmp/rover-test-launch-XXXXXX";
static struct task_store *st;
static char *log_path, *marker;

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/rover-test-launch-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	if (task_store_open(root, &st, NULL) < 0)
		return -1;
	_cleanup_free_ char *iter = task_store_iteration_dir(st, 7, 1);
	if (fileio_mkdir_p(iter, 0755, NULL) < 0)
		return -1;
	log_path = task_store_iteration_file(st, 7, 1, TASK_FILE_CONTAINER_LOG);
	marker = fileio_join(root, "host-marker");
	faults_reset();
	return fileio_write_atomic(marker, "host\n", 5, 0644, NULL);
}

static int teardown(void **state)
{
	(void)state;
	faults_reset();
	free(log_path);
	free(marker);
	task_store_free(st);
	return fileio_remove_tree(root, NULL);
}

static char *read_log(void)
{
	char *buf = NULL;
	if (fileio_read_bounded(log_path, 1 << 20, &buf, NULL, NULL) < 0)
		return NULL;
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_save_is_whole_and_once(void **state)
{
	(void)state;
	struct engine *e = NULL; /* never used: the engine is wrapped */
	assert_int_equal(launch_save_logs(e, st, 7, 1, CID, NULL), 0);
	_cleanup_free_ char *a = read_log();
	assert_non_null(a);
	assert_int_equal(count(a, "==== container " CID ","), 1);
	assert_non_null(strstr(a, OUTPUT));
	assert_int_equal(count(a, "==== end of container " CID " ====\n"), 1);
	/* saved already: not repeated */
	assert_int_equal(launch_save_logs(e, st, 7, 1, CID, NULL), 0);
	_cleanup_free_ char *b = read_log();
	assert_string_equal(a, b);
}

static void test_planted_symlink_is_not_followed(void **state)
{
	(void)state;
	assert_int_equal(symlink(marker, log_path), 0);
	assert_int_equal(launch_save_logs(NULL, st, 7, 1, CID, NULL), 0);
	struct stat sb;
	assert_int_equal(lstat(log_path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	_cleanup_free_ char *m = NULL;
	assert_int_equal(fileio_read_bounded(marker, 64, &m, NULL, NULL), 0);
	assert_string_equal(m, "host\n");
	/* a FIFO there neither blocks nor stays */
	assert_int_equal(unlink(log_path), 0);
	assert_int_equal(mkfifo(log_path, 0644), 0);
	assert_int_equal(launch_save_logs(NULL, st, 7, 1, CID, NULL), 0);
	assert_int_equal(lstat(log_path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
}

static void test_failed_save_is_truncated_and_redone(void **state)
{
	(void)state;
	/* an earlier container's complete save stays as it is */
	const char *before = "==== container old, saved x ====\nold output\n"
			     "==== end of container old ====\n";
	assert_int_equal(fileio_write_atomic(log_path, before, strlen(before), 0644, NULL), 0);
	/* header written, then the disk is full */
	faults_arm(FAULT_WRITE, 2, ENOSPC, 0);
	_cleanup_error_ struct rv_error *e = NULL;
	assert_true(launch_save_logs(NULL, st, 7, 1, CID, &e) < 0);
	assert_non_null(strstr(e->msg, "No space left on device"));
	faults_reset();
	_cleanup_free_ char *a = read_log();
	assert_string_equal(a, before); /* cut back: no header left alone */
	/* the trailer fails: cut back too */
	faults_arm(FAULT_WRITE, 3, ENOSPC, 0);
	e = rv_error_free(e);
	assert_true(launch_save_logs(NULL, st, 7, 1, CID, &e) < 0);
	faults_reset();
	_cleanup_free_ char *b = read_log();
	assert_string_equal(b, before);
	/* space again: saved whole, once */
	assert_int_equal(launch_save_logs(NULL, st, 7, 1, CID, NULL), 0);
	_cleanup_free_ char *c = read_log();
	assert_int_equal(strncmp(c, before, strlen(before)), 0);
	assert_int_equal(count(c, "==== container " CID ","), 1);
	assert_int_equal(count(c, "==== end of container " CID " ====\n"), 1);
}

static void test_header_without_trailer_is_saved_again(void **state)
{
	(void)state;
	/* what a rover killed mid-save leaves: a header, part of the output */
	const char *cut = "==== container " CID ", saved x ====\nstep out";
	assert_int_equal(fileio_write_atomic(log_path, cut, strlen(cut), 0644, NULL), 0);
	assert_int_equal(launch_save_logs(NULL, st, 7, 1, CID, NULL), 0);
	_cleanup_free_ char *a = read_log();
	assert_int_equal(count(a, "==== end of container " CID " ====\n"), 1);
	assert_non_null(strstr(a, OUTPUT));
	/* the new save starts on a line of its own */
	assert_non_null(strstr(a, "step out\n==== container " CID ", saved "));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_save_is_whole_and_once),
		T(test_planted_symlink_is_not_followed),
		T(test_failed_save_is_truncated_and_redone),
		T(test_header_without_trailer_is_saved_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
