/* Unit tests for the table layout of `rover list` (supervisor/cmd/list_view.c):
 * every width gives a table that fits, the natural layout never changes, and
 * the least needed columns go first.  list_view.c is a command-side file,
 * not in a library: it is compiled into this test directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "supervisor/cmd/list_view.c"

static int total(const struct list_view_layout *l)
{
	return layout_total(l);
}

static const struct list_view_want typical = {
	.id = 4,
	.title = 51,
	.agent = 6,
	.workflow = 3,
	.status = 13,
	.step = 20,
	.step_natural = 25,
};

static void test_layout_natural(void **state)
{
	(void)state;
	struct list_view_layout l;
	list_view_layout(0, &typical, &l);
	assert_int_equal(l.title, 30);
	assert_int_equal(l.agent, 14);
	assert_int_equal(l.workflow, 10);
	assert_int_equal(l.status, 20);
	assert_int_equal(l.progress, 10);
	assert_int_equal(l.step, 25);
	assert_int_equal(l.duration, 8);
	/* whatever the rows hold */
	struct list_view_want tiny = {.id = 4, .title = 1, .step = 1, .step_natural = 25};
	struct list_view_layout l2;
	list_view_layout(0, &tiny, &l2);
	assert_memory_equal(&l, &l2, sizeof(l));
}

static void test_layout_wide_terminal(void **state)
{
	(void)state;
	struct list_view_layout l;
	list_view_layout(200, &typical, &l);
	/* everything whole: the title is not cut at 30 any more */
	assert_int_equal(l.title, 51);
	assert_int_equal(l.step, 20);
	assert_int_equal(l.agent, 6);
	assert_int_equal(l.workflow, 8); /* its header */
	assert_true(total(&l) <= 200);
}

static void test_layout_narrow_terminals(void **state)
{
	(void)state;
	for (int w = 1; w <= 300; w++) {
		struct list_view_layout l;
		list_view_layout(w, &typical, &l);
		if (w >= 40)
			assert_true(total(&l) <= w);
		assert_true(l.title >= 10 && l.step >= 10);
		assert_true(l.id == 4 && l.status == 13);
	}
	struct list_view_layout l;
	list_view_layout(100, &typical, &l);
	/* the step whole (it is the shorter), the title cut to the rest */
	assert_int_equal(l.step, 20);
	assert_int_equal(total(&l), 100);
	assert_true(l.workflow > 0 && l.agent > 0);
	list_view_layout(60, &typical, &l);
	assert_int_equal(l.workflow, 0);
	assert_int_equal(l.agent, 0);
	assert_true(l.progress > 0 && l.duration > 0);
	assert_true(total(&l) <= 60);
	list_view_layout(40, &typical, &l);
	assert_int_equal(l.progress, 0);
	assert_int_equal(l.duration, 0);
	assert_true(total(&l) <= 40);
}

static void test_status_color(void **state)
{
	(void)state;
	assert_string_equal(list_view_status_color(TASK_COMPLETED), "\033[32m");
	assert_string_equal(list_view_status_color(TASK_FAILED), "\033[31m");
	assert_string_equal(list_view_status_color(TASK_PAUSED), "\033[33m");
	assert_null(list_view_status_color(TASK_NEW));
}

/* The Duration column, formatted without snprintf. */
static void test_duration(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(list_view_duration(-1, b, sizeof(b)), "-");
	assert_string_equal(list_view_duration(0, b, sizeof(b)), "0s");
	assert_string_equal(list_view_duration(59999, b, sizeof(b)), "59s");
	assert_string_equal(list_view_duration(60000, b, sizeof(b)), "1m 0s");
	assert_string_equal(list_view_duration(3599999, b, sizeof(b)), "59m 59s");
	assert_string_equal(list_view_duration(3600000, b, sizeof(b)), "1h 0m");
	assert_string_equal(list_view_duration(INT64_C(356400000000), b, sizeof(b)), "99000h 0m");
	assert_string_equal(list_view_duration(INT64_MAX, b, sizeof(b)), "2562047788015h 12m");
	assert_string_equal(list_view_duration(3600000, b, 4), "1h ");
	char id[32];
	put_i64_str(id, 0);
	assert_string_equal(id, "0");
	put_i64_str(id, INT64_MIN);
	assert_string_equal(id, "-9223372036854775808");
}

/* A cell is textutil_fit's result, whatever path builds it: plain ASCII
 * (the fast one, fit_ascii), ASCII that turns into UTF-8 or a tab past or
 * before the cut, with and without UTF-8, padded or not, at every width
 * from 1 to past the text's length. */
static void test_cells_are_textutil_fit(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"",
		"a",
		"abc",
		"Refactor the parser",
		"exactly-ten",
		"ascii then \xC3\xA9t\xC3\xA9",
		"\xC3\xA9t\xC3\xA9 then ascii",
		"tab\there",
		"a very long title that is cut somewhere in the middle of it",
		"wide \xE4\xB8\xAD\xE6\x96\x87 chars",
		"\x7F delete",
	};
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		for (int width = 1; width <= 64; width++)
			for (int flags = 0; flags < 4; flags++) {
				bool utf8 = flags & 1, pad = flags & 2;
				struct strbuf b = STRBUF_INIT;
				strbuf_add(&b, "x ", 2); /* cells follow others on a line */
				fit_into(&b, texts[i], -1, width, utf8, pad);
				char *want = textutil_fit(texts[i], width, utf8, pad);
				if (strcmp(strbuf_str(&b) + 2, want))
					fail_msg(
						"'%s' at width %d, utf8 %d, pad %d: '%s', not '%s'",
						texts[i], width, utf8, pad, strbuf_str(&b) + 2,
						want);
				free(want);
				strbuf_release(&b);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_natural),
		cmocka_unit_test(test_layout_wide_terminal),
		cmocka_unit_test(test_layout_narrow_terminals),
		cmocka_unit_test(test_status_color),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_cells_are_textutil_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
