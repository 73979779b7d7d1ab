/* Unit tests for supervisor/lib/tasklogs and logsel: --since parsing, the
 * container.log frames, the --tail ring, and the paths of `rover logs` that
 * need no engine: the saved part, an iteration that does not exist, a dead
 * engine after the saved part, and - the list-first case - a container whose
 * output container.log holds whole is not read again (with a dead engine,
 * reading it would fail: before the fix every line was shown twice).  The
 * engine paths run in tests/integration/iterate_*.bats and rover_ops_*.bats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "supervisor/lib/logsel.h"
#include "supervisor/lib/tasklogs.h"

#define DEAD_ENGINE "unix:///nonexistent-rover-tasklogs/engine.sock"
#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char dir[] = "/tmp/rover-test-tasklogs-XXXXXX";
static char store_dir[sizeof(dir) + 16];
static struct task_store *store;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-tasklogs-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(store_dir, sizeof(store_dir), "%s/.rover", dir);
	setenv("ROVER_ENGINE", DEAD_ENGINE, 1);
	return task_store_open(store_dir, &store, NULL);
}

static int teardown(void **state)
{
	(void)state;
	task_store_free(store);
	store = NULL;
	return fileio_remove_tree(dir, NULL);
}

struct spec {
	enum task_status status;
	const char *container_id;
	const char *endpoint;
};

static int spec_fn(struct task *t, void *userdata, struct rv_error **err)
{
	const struct spec *s = userdata;
	int64_t now = timeutil_now_ms();
	if (s->status != TASK_NEW) {
		int r = task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, now, err);
		if (r == 0 && s->status != TASK_IN_PROGRESS)
			r = task_set_status(t, s->status, NULL, TASK_PAUSE_RETRYABLE_ERROR, now,
					    err);
		if (r < 0)
			return r;
	}
	if (s->container_id)
		task_set_str(t, "containerId", s->container_id);
	if (s->endpoint)
		task_set_engine(t, "docker", s->endpoint);
	return 0;
}

static struct task *make(const struct spec *s, const char *log)
{
	struct task *t = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	if (task_store_create(store, "t", "d", timeutil_now_ms(), spec_fn, (void *)s, &t, &e) < 0)
		fail_msg("create: %s", rv_error_msg(e));
	assert_int_equal(task_store_make_iteration(store, t->id, 1, NULL), 0);
	if (log) {
		_cleanup_free_ char *p =
			task_store_iteration_file(store, t->id, 1, TASK_FILE_CONTAINER_LOG);
		assert_int_equal(fileio_write_atomic(p, log, strlen(log), 0644, NULL), 0);
	}
	return t;
}

struct sink {
	char buf[8192];
	size_t len;
	int calls_stderr;
};

static int collect(void *userdata, enum engine_stream stream, const char *data, size_t len,
		   struct rv_error **err)
{
	(void)err;
	struct sink *s = userdata;
	if (stream != ENGINE_STREAM_STDOUT)
		s->calls_stderr++;
	assert_true(s->len + len < sizeof(s->buf));
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return 0;
}

static const struct tasklogs_opts all = {.tail = -1};

/* ---- logsel ------------------------------------------------------------- */

static void test_since_parsing(void **state)
{
	(void)state;
	int64_t now = 1764000000000, v = 0;
	assert_int_equal(logsel_parse_since("10m", now, &v, NULL), 0);
	assert_true(v == now - 600000);
	assert_int_equal(logsel_parse_since("1h30m", now, &v, NULL), 0);
	assert_true(v == now - 5400000);
	assert_int_equal(logsel_parse_since("2d", now, &v, NULL), 0);
	assert_true(v == now - 2LL * 86400000);
	assert_int_equal(logsel_parse_since("90s", now, &v, NULL), 0);
	assert_true(v == now - 90000);
	assert_int_equal(logsel_parse_since("2025-11-24T16:00:00Z", now, &v, NULL), 0);
	assert_true(v == 1764000000000);
	static const char *const bad[] = {"",
					  "10",
					  "m",
					  "10x",
					  "-5m",
					  "1h 2m",
					  "99999999999999d",
					  "2099-01-01T00:00:00Z",
					  "2025-13-01T00:00:00Z"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_error_ struct rv_error *e = NULL;
		int64_t keep = 42;
		assert_int_equal(logsel_parse_since(bad[i], now, &keep, &e), -EINVAL);
		assert_true(keep == 42);
		assert_non_null(e);
	}
}

static void test_frames(void **state)
{
	(void)state;
	char id[129];
	int64_t ms = 0;
	const char *h = "==== container " CID ", saved 2026-11-25T23:01:40.580Z ====\n";
	assert_true(logsel_parse_header(h, strlen(h), id, sizeof(id), &ms));
	assert_string_equal(id, CID);
	int64_t want = 0;
	assert_true(timeutil_parse_iso("2026-11-25T23:01:40.580Z", &want));
	assert_true(ms == want);
	const char *tr = "==== end of container " CID " ====\n";
	assert_true(logsel_parse_trailer(tr, strlen(tr), id, sizeof(id)));
	assert_string_equal(id, CID);
	assert_false(logsel_parse_header(tr, strlen(tr), id, sizeof(id), &ms));
	assert_false(logsel_parse_trailer(h, strlen(h), id, sizeof(id)));
	const char *junk = "==== end of container ../etc ====\n";
	assert_false(logsel_parse_trailer(junk, strlen(junk), id, sizeof(id)));
	/* an id too long for the buffer is not a frame */
	assert_false(logsel_parse_trailer(tr, strlen(tr), id, 10));
	assert_true(logsel_same_container(CID, "0123456789ab"));
	assert_false(logsel_same_container(CID, "0123"));
	assert_false(logsel_same_container(CID, "1123456789ab"));
	assert_false(logsel_same_container(NULL, CID));
}

static void test_ring(void **state)
{
	(void)state;
	struct logsel_ring r;
	logsel_ring_init(&r, 3);
	logsel_ring_feed(&r, ENGINE_STREAM_STDOUT, "a\nb", 3);
	logsel_ring_feed(&r, ENGINE_STREAM_STDERR, "E1\n", 3);
	logsel_ring_feed(&r, ENGINE_STREAM_STDOUT, "b\nc\nd\n", 6);
	logsel_ring_feed(&r, ENGINE_STREAM_STDOUT, "tail-without-newline", 20);
	logsel_ring_flush(&r);
	struct sink s = {0};
	assert_int_equal(logsel_ring_emit(&r, 0, collect, &s, NULL), 0);
	assert_string_equal(s.buf, "c\nd\ntail-without-newline");
	assert_int_equal(s.calls_stderr, 0);
	assert_true(r.pushed == 6);
	struct sink s2 = {0};
	assert_int_equal(logsel_ring_emit(&r, 2, collect, &s2, NULL), 0);
	assert_string_equal(s2.buf, "tail-without-newline");
	logsel_ring_release(&r);

	/* --tail 0 keeps nothing; a line without end is cut at the cap */
	logsel_ring_init(&r, 0);
	logsel_ring_feed(&r, ENGINE_STREAM_STDOUT, "x\n", 2);
	assert_true(r.n == 0 && r.pushed == 1);
	logsel_ring_release(&r);
	logsel_ring_init(&r, 5);
	_cleanup_free_ char *big = xmalloc(LOGSEL_MAX_LINE + 10);
	memset(big, 'x', LOGSEL_MAX_LINE + 10);
	logsel_ring_feed(&r, ENGINE_STREAM_STDOUT, big, LOGSEL_MAX_LINE + 10);
	assert_true(r.n == 1 && r.lines[0].len == LOGSEL_MAX_LINE);
	logsel_ring_release(&r);
}

/* ---- tasklogs ----------------------------------------------------------- */

static void test_saved_output_and_errors(void **state)
{
	(void)state;
	struct spec s = {.status = TASK_NEW};
	struct task *t = make(&s, "saved line\n");
	struct sink sk = {0};
	struct tasklogs_result res = {0};
	assert_int_equal(tasklogs_show(store, t, &all, collect, &sk, &res, NULL), 0);
	assert_string_equal(sk.buf, "saved line\n");
	assert_true(res.had_saved);
	assert_int_equal(res.container, TASKLOGS_NONE);
	tasklogs_result_release(&res);

	_cleanup_error_ struct rv_error *e = NULL;
	struct tasklogs_opts two = {.iteration = 2, .tail = -1};
	assert_int_equal(tasklogs_show(store, t, &two, collect, &sk, &res, &e), -EINVAL);
	assert_non_null(strstr(e->msg, "no iteration 2"));
	task_free(t);

	/* A dead engine: the saved part first, then the error. */
	struct spec d = {.status = TASK_FAILED, .container_id = "c1", .endpoint = DEAD_ENGINE};
	t = make(&d, "kept\n");
	struct sink sk2 = {0};
	e = rv_error_free(e);
	assert_int_equal(tasklogs_show(store, t, &all, collect, &sk2, &res, &e), -ECONNREFUSED);
	assert_string_equal(sk2.buf, "kept\n");
	assert_non_null(strstr(e->msg, "saved output was shown"));
	task_free(t);
}

#define FRAME(id, body)                                                     \
	"==== container " id ", saved 2026-11-25T23:01:40.580Z ====\n" body \
	"==== end of container " id " ====\n"

static void test_saved_container_is_not_read_again(void **state)
{
	(void)state;
	/* `rover list` saw the container end and saved its output; the
	 * container still exists.  Reading it from the engine (dead here)
	 * would fail - and showed every line twice before. */
	struct spec s = {.status = TASK_COMPLETED, .container_id = CID, .endpoint = DEAD_ENGINE};
	struct task *t = make(&s, FRAME(CID, "one\ntwo\n"));
	struct sink sk = {0};
	struct tasklogs_result res = {0};
	_cleanup_error_ struct rv_error *e = NULL;
	assert_int_equal(tasklogs_show(store, t, &all, collect, &sk, &res, &e), 0);
	assert_string_equal(sk.buf, FRAME(CID, "one\ntwo\n"));
	assert_int_equal(res.container, TASKLOGS_SAVED);
	tasklogs_result_release(&res);

	/* --tail 2: the last two lines of it all. */
	struct sink sk2 = {0};
	struct tasklogs_opts tail2 = {.tail = 2};
	assert_int_equal(tasklogs_show(store, t, &tail2, collect, &sk2, &res, NULL), 0);
	assert_string_equal(sk2.buf, "two\n==== end of container " CID " ====\n");
	tasklogs_result_release(&res);
	task_free(t);
}

static void test_since_drops_containers_saved_before(void **state)
{
	(void)state;
	const char *old_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	_cleanup_free_ char *log =
		xasprintf("==== container %s, saved 2020-01-01T00:00:00.000Z ====\nold\n"
			  "==== end of container %s ====\n" FRAME(CID, "new\n"),
			  old_id, old_id);
	struct spec s = {.status = TASK_COMPLETED, .container_id = CID, .endpoint = DEAD_ENGINE};
	struct task *t = make(&s, log);
	struct sink sk = {0};
	struct tasklogs_result res = {0};
	struct tasklogs_opts since = {.tail = -1};
	assert_true(timeutil_parse_iso("2026-01-01T00:00:00Z", &since.since_ms));
	assert_int_equal(tasklogs_show(store, t, &since, collect, &sk, &res, NULL), 0);
	assert_string_equal(sk.buf, FRAME(CID, "new\n"));
	tasklogs_result_release(&res);
	task_free(t);
}

struct count_sink {
	size_t bytes;
	char last[16];
};

static int count_bytes(void *userdata, enum engine_stream stream, const char *data, size_t len,
		       struct rv_error **err)
{
	(void)stream;
	(void)err;
	struct count_sink *c = userdata;
	c->bytes += len;
	size_t k = len < sizeof(c->last) - 1 ? len : sizeof(c->last) - 1;
	memcpy(c->last, data + len - k, k);
	c->last[k] = '\0';
	return 0;
}

static void test_a_huge_line_is_passed_on_not_held(void **state)
{
	(void)state;
	/* The container can write container.log itself: a line of 3 MiB with
	 * no newline must not be held whole, and must not be taken for a
	 * frame; everything is shown, in order. */
	size_t big = 3u * 1024 * 1024;
	_cleanup_free_ char *log = xmalloc(big + 64);
	memset(log, 'x', big);
	strcpy(log + big, "\nend\n");
	struct spec s = {.status = TASK_NEW};
	struct task *t = make(&s, log);
	struct count_sink c = {0};
	struct tasklogs_result res = {0};
	assert_int_equal(tasklogs_show(store, t, &all, count_bytes, &c, &res, NULL), 0);
	assert_true(c.bytes == big + 5);
	assert_string_equal(c.last, "end\n"); /* the last line, on its own */
	tasklogs_result_release(&res);
	task_free(t);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_since_parsing),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_ring),
		T(test_saved_output_and_errors),
		T(test_saved_container_is_not_read_again),
		T(test_since_drops_containers_saved_before),
		T(test_a_huge_line_is_passed_on_not_held),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
