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
	check_clean("a\xFF"
		    "b",
		    3, "a" R "b");
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

static void check_escape(const char *in, const char *want)
{
	_cleanup_free_ char *out = textutil_escape_terminal(in);
	assert_string_equal(out, want);
	assert_true(textutil_needs_escape(in) == (strcmp(in, want) != 0));
}

static void test_textutil_escape_terminal(void **state)
{
	(void)state;
	check_escape("plain text, déjà vu ✓", "plain text, déjà vu ✓");
	/* title change (OSC 0) and clear screen (CSI 2J) */
	check_escape("\x1b]0;pwned\x07"
		     "err",
		     "\\x1b]0;pwned\\x07err");
	check_escape("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H");
	/* every C0, including newline and tab, and DEL */
	check_escape("a\nb\tc\rd\x01\x7f", "a\\x0ab\\x09c\\x0dd\\x01\\x7f");
	/* C1 as UTF-8 (U+009B CSI, U+009D OSC, U+0080) and as a raw 8-bit byte */
	check_escape("x\xc2\x9b"
		     "2Jy",
		     "x\\u009b2Jy");
	check_escape("\xc2\x9d"
		     "0;t\xc2\x80",
		     "\\u009d0;t\\u0080");
	check_escape("\x9b"
		     "2J",
		     "\\x9b2J");
	/* U+00A0 and beyond are text */
	check_escape("\xc2\xa0\xc2\xa9", "\xc2\xa0\xc2\xa9");
	assert_null(textutil_escape_terminal(NULL));
	assert_false(textutil_needs_escape(NULL));
}

static void test_textutil_escape_log(void **state)
{
	(void)state;
	const char in[] = "line 1\n\x1b]0;title\x07\tok\r\n\xc2\x9b\xff";
	size_t len = 0;
	_cleanup_free_ char *out = textutil_escape_log(in, sizeof(in) - 1, &len);
	assert_string_equal(out, "line 1\n\\x1b]0;title\\x07\tok\r\n\\u009b\xff");
	assert_int_equal(len, strlen(out));
	assert_null(memchr(out, 0x1b, len));
}

static void check_fit(const char *in, int width, bool utf8, bool pad, const char *want)
{
	_cleanup_free_ char *out = textutil_fit(in, width, utf8, pad);
	assert_string_equal(out, want);
	if (pad)
		assert_int_equal(textutil_width(out, utf8), width > 0 ? width : 0);
	else
		assert_true(textutil_width(out, utf8) <= (width > 0 ? width : 0));
}

static void test_textutil_fit(void **state)
{
	(void)state;
	/* fits: padded or left as it is */
	check_fit("abc", 5, true, true, "abc  ");
	check_fit("abc", 5, true, false, "abc");
	check_fit("abcde", 5, true, true, "abcde");
	/* too wide: cut with one ellipsis column, or three dots in ASCII */
	check_fit("abcdef", 5, true, true, "abcd\xE2\x80\xA6");
	check_fit("abcdef", 5, false, true, "ab...");
	check_fit("abcdef", 2, false, false, "..");
	check_fit("abcdef", 0, true, true, "");
	check_fit("abcdef", -3, true, false, "");
	/* non-ASCII: kept in UTF-8, '?' in ASCII; widths by the character */
	check_fit("h\xC3\xA9llo", 6, true, true, "h\xC3\xA9llo ");
	check_fit("h\xC3\xA9llo", 6, false, true, "h?llo ");
	check_fit("h\xC3\xA9llo w\xC3\xB6rld", 8, false, false, "h?llo...");
	/* wide characters take two columns and are never split */
	check_fit("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", 6, true, true,
		  "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
	check_fit("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", 5, true, true,
		  "\xE6\x97\xA5\xE6\x9C\xAC\xE2\x80\xA6");
	check_fit("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", 4, true, true,
		  "\xE6\x97\xA5\xE2\x80\xA6 ");
	/* tab and newline never break a row */
	check_fit("a\tb\nc", 5, true, false, "a b c");
	/* a byte that is not UTF-8 counts one column */
	check_fit("a\xFF"
		  "b",
		  3, true, true,
		  "a\xFF"
		  "b");
	check_fit(NULL, 3, true, true, "   ");
	assert_int_equal(textutil_width("\xE6\x97\xA5"
					"a",
					true),
			 3);
	assert_int_equal(textutil_width("\xE6\x97\xA5"
					"a",
					false),
			 2);
	assert_int_equal(textutil_width("e\xCC\x81", true), 1); /* e + combining acute */
	assert_int_equal(textutil_char_width(0x1F600), 2);
	assert_int_equal(textutil_char_width('x'), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_textutil_utf8),
		cmocka_unit_test(test_textutil_tail),
		cmocka_unit_test(test_textutil_fit),
		cmocka_unit_test(test_textutil_escape_terminal),
		cmocka_unit_test(test_textutil_escape_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
