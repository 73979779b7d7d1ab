/* Unit tests for common/textutil: UTF-8 validation and repair, and tail
 * truncation that never splits a character and counts what it dropped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/textutil.h"

static void check_clean(const char *in, size_t len, const char *want)
{
	_cleanup_free_ char *out = textutil_utf8_clean(in, len);
	assert_string_equal(out, want);
	assert_true(textutil_utf8_valid(out, strlen(out)));
}

#define R "\xEF\xBF\xBD" /* U+FFFD */

static void test_textutil_utf8(void **state)
{
	(void)state;
	const char *good = "ascii é € 𝄞 \xF4\x8F\xBF\xBF";
	assert_true(textutil_utf8_valid(good, strlen(good)));
	check_clean(good, strlen(good), good);
	check_clean("a\xFF" "b", 3, "a" R "b");
	check_clean("\xC0\xAF", 2, R R);             /* overlong '/' */
	check_clean("\xE0\x80\xAF", 3, R R R);       /* overlong, 3 bytes */
	check_clean("\xED\xA0\x80", 3, R R R);       /* surrogate U+D800 */
	check_clean("\xF4\x90\x80\x80", 4, R R R R); /* > U+10FFFF */
	check_clean("\xE2\x82", 2, R R);             /* truncated € */
	check_clean("", 0, "");
	assert_false(textutil_utf8_valid("\x80", 1));
	assert_false(textutil_utf8_valid("\xE2\x82", 2));
	assert_true(textutil_utf8_valid("", 0));
}

static void test_textutil_tail(void **state)
{
	(void)state;
	_cleanup_free_ char *same = textutil_tail("short", 10);
	assert_string_equal(same, "short");
	_cleanup_free_ char *exact = textutil_tail("0123456789", 10);
	assert_string_equal(exact, "0123456789");
	_cleanup_free_ char *cut = textutil_tail("0123456789abc", 10);
	assert_string_equal(cut, "[...truncated 3 chars...]3456789abc");
	/* "ééé" is 6 bytes; keeping 3 must not split the second é: keep 2 bytes */
	_cleanup_free_ char *mb = textutil_tail("ééé", 3);
	assert_string_equal(mb, "[...truncated 2 chars...]é");
	_cleanup_free_ char *null = textutil_tail(NULL, 3);
	assert_string_equal(null, "");
	_cleanup_free_ char *bad = textutil_tail("ab\xFF", 10);
	assert_string_equal(bad, "ab" R);
	_cleanup_free_ char *zero = textutil_tail("abc", 0);
	assert_string_equal(zero, "[...truncated 3 chars...]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_textutil_utf8),
		cmocka_unit_test(test_textutil_tail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
