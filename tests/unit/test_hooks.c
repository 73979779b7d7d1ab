/* Unit tests for supervisor/lib/hooks: what the user's configuration may
 * say, and dispatch from the journal: once per event, never for history
 * older than the first dispatch, never again after a restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/hooks.h"
#include "supervisor/lib/journal.h"
#include "supervisor/lib/task_store.h"

static char dir[] = "/tmp/rover-test-hooks-XXXXXX";
static struct task_store *store;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/rover-test-hooks-XXXXXX");
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

static int parse(const char *text, struct hooks *h, struct rv_error **e)
{
	_cleanup_json_ struct json_object *o = json_tokener_parse(text);
	return hooks_parse(o, "'config.json'", h, e);
}

static void test_hooks_parse(void **state)
{
	(void)state;
	struct hooks h;
	struct rv_error *e = NULL;
	assert_int_equal(parse("{\"onPause\": \"true\", \"onFail\": \"false\"}", &h, &e), 0);
	assert_string_equal(h.command[HOOK_ON_PAUSE], "true");
	assert_null(h.command[HOOK_ON_COMPLETE]);
	assert_true(hooks_any(&h));
	hooks_release(&h);
	const char *bad[] = {"{\"onPaused\": \"x\"}", "{\"onPause\": \"\"}", "{\"onPause\": 3}",
			     "[\"onPause\"]"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(parse(bad[i], &h, &e), -EINVAL);
		assert_non_null(strstr(e->msg, "config.json"));
		rv_error_free(e);
		e = NULL;
	}
	assert_int_equal(hooks_parse(NULL, "x", &h, NULL), 0);
	assert_false(hooks_any(&h));
	assert_int_equal(hooks_kind_of_event("paused"), HOOK_ON_PAUSE);
	assert_int_equal(hooks_kind_of_event("needs_attention"), HOOK_ON_NEEDS_ATTENTION);
	assert_int_equal(hooks_kind_of_event("started"), -1);
}

static int64_t create_task(void)
{
	struct task *t = NULL;
	assert_int_equal(
		task_store_create(store, "h", "d", timeutil_now_ms(), NULL, NULL, &t, NULL), 0);
	int64_t id = t->id;
	task_free(t);
	return id;
}

static void append(int64_t id, const char *type)
{
	_cleanup_json_ struct json_object *e = json_object_new_object();
	jsonutil_set_str(e, "type", type);
	assert_int_equal(journal_append(store, id, e, NULL), 0);
}

/* Lines in the count file, after the detached hooks had time to run. */
static int count_lines(const char *path, int want)
{
	int n = 0;
	for (int tries = 0; tries < 100; tries++) {
		_cleanup_free_ char *text = NULL;
		n = 0;
		if (fileio_read_bounded(path, 1 << 16, &text, NULL, NULL) == 0)
			for (char *p = text; *p; p++)
				n += *p == '\n';
		if (n >= want)
			break;
		usleep(20000);
	}
	usleep(100000); /* a late extra line would show now */
	_cleanup_free_ char *text = NULL;
	n = 0;
	if (fileio_read_bounded(path, 1 << 16, &text, NULL, NULL) == 0)
		for (char *p = text; *p; p++)
			n += *p == '\n';
	return n;
}

static void test_hooks_dispatch_once(void **state)
{
	(void)state;
	_cleanup_free_ char *count = fileio_join(dir, "count");
	struct hooks h = {0};
	h.command[HOOK_ON_PAUSE] = xasprintf("echo \"$ROVER_TASK_ID $ROVER_EVENT\" >> %s", count);
	/* history before the first dispatch never fires */
	int64_t old = create_task();
	append(old, "paused");
	usleep(5000);
	hooks_dispatch(store, &h, NULL, NULL);
	assert_int_equal(count_lines(count, 0), 0);
	/* new events fire once, however often dispatch runs */
	int64_t id = create_task();
	append(id, "paused");
	append(old, "paused");
	hooks_dispatch(store, &h, NULL, NULL);
	hooks_dispatch(store, &h, NULL, NULL);
	assert_int_equal(count_lines(count, 2), 2);
	/* an event without a hook moves nothing; the next pause fires */
	append(id, "completed");
	append(id, "paused");
	hooks_dispatch(store, &h, NULL, NULL);
	assert_int_equal(count_lines(count, 3), 3);
	_cleanup_free_ char *text = NULL;
	assert_int_equal(fileio_read_bounded(count, 4096, &text, NULL, NULL), 0);
	/* tasks are visited in directory order: count per task */
	_cleanup_free_ char *mine = xasprintf("%lld onPause\n", (long long)id);
	_cleanup_free_ char *theirs = xasprintf("%lld onPause\n", (long long)old);
	int n_mine = 0, n_theirs = 0;
	for (char *p = text; (p = strstr(p, mine)); p += strlen(mine))
		n_mine++;
	for (char *p = text; (p = strstr(p, theirs)); p += strlen(theirs))
		n_theirs++;
	assert_int_equal(n_mine, 2);
	assert_int_equal(n_theirs, 1);
	hooks_release(&h);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_hooks_parse),
		T(test_hooks_dispatch_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
