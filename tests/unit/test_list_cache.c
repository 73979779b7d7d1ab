/* Unit tests for supervisor/lib/list_cache: hits only on the exact file
 * identity, misses on any change, survives truncated or foreign files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "supervisor/lib/list_cache.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-lc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/.list-cache", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fileio_remove_tree(dir, NULL);
}

static struct stat key(unsigned long ino, long mtime_ns)
{
	struct stat st;
	memset(&st, 0, sizeof(st));
	st.st_dev = 8;
	st.st_ino = ino;
	st.st_size = 100;
	st.st_mtim.tv_sec = 1795335467;
	st.st_mtim.tv_nsec = mtime_ns;
	return st;
}

static void test_list_cache_roundtrip_hits_exact_key(void **state)
{
	(void)state;
	struct list_cache *c = list_cache_open(path, "retry-max=5");
	struct stat a = key(11, 5), b = key(12, 7);
	list_cache_put(c, 2, &b, "{\"id\": 2}", 9);
	list_cache_put(c, 1, &a, "{\"id\": 1}", 9);
	assert_int_equal(list_cache_save(c, NULL), 0);
	list_cache_free(c);

	c = list_cache_open(path, "retry-max=5");
	size_t len = 0;
	const char *t = list_cache_get(c, 1, &a, &len);
	assert_non_null(t);
	assert_int_equal(len, 9);
	assert_memory_equal(t, "{\"id\": 1}", 9);
	assert_non_null(list_cache_get(c, 2, &b, &len));
	/* another inode (an atomic rewrite), size or mtime: a miss */
	struct stat other = key(13, 5);
	assert_null(list_cache_get(c, 1, &other, &len));
	other = key(11, 6);
	assert_null(list_cache_get(c, 1, &other, &len));
	other = key(11, 5);
	other.st_size = 101;
	assert_null(list_cache_get(c, 1, &other, &len));
	assert_null(list_cache_get(c, 3, &a, &len));
	list_cache_free(c);
}

static void test_list_cache_other_view_key_discards_everything(void **state)
{
	(void)state;
	struct list_cache *c = list_cache_open(path, "retry-max=5");
	struct stat a = key(11, 5);
	list_cache_put(c, 1, &a, "{}", 2);
	assert_int_equal(list_cache_save(c, NULL), 0);
	list_cache_free(c);
	c = list_cache_open(path, "retry-max=3");
	size_t len;
	assert_null(list_cache_get(c, 1, &a, &len));
	list_cache_free(c);
}

static void test_list_cache_truncated_or_garbage_file_is_not_trusted(void **state)
{
	(void)state;
	struct list_cache *c = list_cache_open(path, "k");
	struct stat a = key(11, 5), b = key(12, 5);
	list_cache_put(c, 1, &a, "{\"id\": 1}", 9);
	list_cache_put(c, 2, &b, "{\"id\": 2, \"long\": \"xxxxxxxxxxxxxxxx\"}", 37);
	assert_int_equal(list_cache_save(c, NULL), 0);
	list_cache_free(c);
	/* cut the file in the middle of the second entry's text */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 10), 0);
	c = list_cache_open(path, "k");
	size_t len;
	assert_non_null(list_cache_get(c, 1, &a, &len));
	assert_null(list_cache_get(c, 2, &b, &len));
	list_cache_free(c);
	/* garbage */
	assert_int_equal(fileio_write_atomic(path, "not a cache\n1 2 3\n", 18, 0644, NULL), 0);
	c = list_cache_open(path, "k");
	assert_null(list_cache_get(c, 1, &a, &len));
	list_cache_free(c);
}

static void test_list_cache_drops_unused_entries_on_save(void **state)
{
	(void)state;
	struct list_cache *c = list_cache_open(path, "k");
	struct stat a = key(11, 5), b = key(12, 5);
	list_cache_put(c, 1, &a, "one", 3);
	list_cache_put(c, 2, &b, "two", 3);
	assert_int_equal(list_cache_save(c, NULL), 0);
	list_cache_free(c);
	c = list_cache_open(path, "k");
	size_t len;
	assert_non_null(list_cache_get(c, 1, &a, &len)); /* task 2 is gone */
	assert_int_equal(list_cache_save(c, NULL), 0);
	list_cache_free(c);
	c = list_cache_open(path, "k");
	assert_non_null(list_cache_get(c, 1, &a, &len));
	assert_null(list_cache_get(c, 2, &b, &len));
	list_cache_free(c);
}

/* A running task's entry: found by its record key, but only what the caller
 * checks next (status key, container) decides; list_cache_get never serves
 * it; its fields survive a save. */
static void test_list_cache_live_entry_roundtrip(void **state)
{
	(void)state;
	struct list_cache *c = list_cache_open(path, "k");
	struct stat rec = key(21, 5), status = key(22, 9), other = key(22, 10);
	struct list_cache_live live = {
		.iteration = 3, .container_id = "c0ffee", .endpoint = "unix:///run/x y.sock"};
	list_cache_key_of(&status, &live.status);
	const char *stored = list_cache_put_live(c, 4, &rec, &live, "row\twith\ttabs", 13);
	assert_memory_equal(stored, "row\twith\ttabs", 13);
	assert_int_equal(list_cache_save(c, NULL), 0);
	list_cache_free(c);

	c = list_cache_open(path, "k");
	size_t len = 0;
	assert_null(list_cache_get(c, 4, &rec, &len)); /* live: not without its checks */
	struct list_cache_live got;
	const char *t = list_cache_peek(c, 4, &rec, &len, &got);
	assert_non_null(t);
	assert_int_equal(len, 13);
	assert_int_equal(got.iteration, 3);
	assert_string_equal(got.container_id, "c0ffee");
	assert_string_equal(got.endpoint, "unix:///run/x y.sock");
	struct list_cache_key k;
	list_cache_key_of(&status, &k);
	assert_true(list_cache_key_same(&got.status, &k));
	list_cache_key_of(&other, &k);
	assert_false(list_cache_key_same(&got.status, &k));
	/* peeked but not used: dropped on save */
	assert_int_equal(list_cache_save(c, NULL), 0);
	list_cache_free(c);
	c = list_cache_open(path, "k");
	assert_null(list_cache_peek(c, 4, &rec, &len, &got));
	list_cache_free(c);
}

/* A cache of the previous format (no status keys) is ignored, not misread. */
static void test_list_cache_version_1_file_is_ignored(void **state)
{
	(void)state;
	assert_int_equal(
		fileio_write_atomic(path, "rover-list-cache 1 k\n1 8 11 100 1795335467 5 2\n{}\n",
				    50, 0644, NULL),
		0);
	struct list_cache *c = list_cache_open(path, "k");
	struct stat a = key(11, 5);
	size_t len;
	assert_null(list_cache_get(c, 1, &a, &len));
	list_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_cache_roundtrip_hits_exact_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_cache_other_view_key_discards_everything,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_list_cache_truncated_or_garbage_file_is_not_trusted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_cache_drops_unused_entries_on_save, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_cache_live_entry_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_cache_version_1_file_is_ignored, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
