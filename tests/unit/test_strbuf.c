/* Unit tests for common/strbuf (the one growable buffer) and xvasprintf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/strbuf.h"

static void test_empty_is_a_string(void **state)
{
	(void)state;
	_cleanup_strbuf_ struct strbuf b = STRBUF_INIT;
	assert_null(b.buf);
	assert_string_equal(strbuf_str(&b), "");
	assert_int_equal(strbuf_avail(&b), 0);
	size_t len = 99;
	_cleanup_free_ char *s = strbuf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
}

static void test_add_grows_and_terminates(void **state)
{
	(void)state;
	_cleanup_strbuf_ struct strbuf b = STRBUF_INIT;
	/* past several doublings, one byte at a time */
	for (int i = 0; i < 5000; i++)
		strbuf_add(&b, "abcdefghij" + (i % 10), 1);
	assert_int_equal(b.len, 5000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.buf[b.len], '\0');
	assert_int_equal(b.buf[4999], 'j');
	assert_int_equal(strlen(b.buf), 5000);
	strbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	/* binary content keeps its NULs, the length says where it ends */
	strbuf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.buf, "a\0b", 4);
}

static void test_addf_long_and_short(void **state)
{
	(void)state;
	_cleanup_strbuf_ struct strbuf b = STRBUF_INIT;
	strbuf_addf(&b, "task %d", 7);
	strbuf_adds(&b, ": ");
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_addf(&b, "%s|%s", big, "end");
	assert_int_equal(b.len, strlen("task 7: ") + sizeof(big) - 1 + 4);
	assert_memory_equal(b.buf, "task 7: xxx", 11);
	assert_string_equal(b.buf + b.len - 4, "|end");
}

static void test_read_into_setlen(void **state)
{
	(void)state;
	_cleanup_strbuf_ struct strbuf b = STRBUF_INIT;
	strbuf_setlen(&b, 10); /* nothing allocated: stays empty */
	assert_int_equal(b.len, 0);
	strbuf_grow(&b, 100);
	assert_true(strbuf_avail(&b) >= 100);
	memcpy(b.buf + b.len, "hello", 5);
	strbuf_setlen(&b, b.len + 5);
	assert_string_equal(b.buf, "hello");
	/* a length past the allocation is cut to it, never past the NUL */
	strbuf_setlen(&b, b.cap + 50);
	assert_int_equal(b.len, b.cap - 1);
	assert_int_equal(b.buf[b.len], '\0');
	size_t len = 0;
	char *s = strbuf_detach(&b, &len);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	assert_int_equal(len, strlen("hello") + (len - 5));
	free(s);
}

static char *fmt_helper(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_helper(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

static void test_xvasprintf(void **state)
{
	(void)state;
	_cleanup_free_ char *s = fmt_helper("%s %lld", "task", 42LL);
	assert_string_equal(s, "task 42");
	_cleanup_free_ char *e = fmt_helper("%s", "");
	assert_string_equal(e, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_is_a_string),
		cmocka_unit_test(test_add_grows_and_terminates),
		cmocka_unit_test(test_addf_long_and_short),
		cmocka_unit_test(test_read_into_setlen),
		cmocka_unit_test(test_xvasprintf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
