/* Unit tests for common/numutil: the libm-free roundings agree with ceil,
 * round and llround over the ranges rover uses, and stay defined beyond. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/numutil.h"

static void test_numutil_round(void **state)
{
	(void)state;
	assert_int_equal(numutil_round_i64(0.0), 0);
	assert_int_equal(numutil_round_i64(0.49), 0);
	assert_int_equal(numutil_round_i64(0.5), 1);
	assert_int_equal(numutil_round_i64(2.5), 3);
	assert_int_equal(numutil_round_i64(-0.5), -1);
	assert_int_equal(numutil_round_i64(-2.4), -2);
	/* the cpus value "1.5" in nanoseconds, and micro-dollars */
	assert_int_equal(numutil_round_i64(1.5 * 1e9), 1500000000);
	assert_int_equal(numutil_round_i64(0.1234565 * 1e6), 123457);
	assert_int_equal(numutil_round_i64(1e6 * 1e9), 1000000000000000);
	/* out of range: saturated, never undefined */
	assert_true(numutil_round_i64(1e300) == INT64_MAX);
	assert_true(numutil_round_i64(-1e300) == INT64_MIN);
}

static void test_numutil_ceil(void **state)
{
	(void)state;
	assert_int_equal(numutil_ceil_i64(0.0), 0);
	assert_int_equal(numutil_ceil_i64(3.0), 3);
	assert_int_equal(numutil_ceil_i64(1.0001), 2);
	assert_int_equal(numutil_ceil_i64(0.2), 1);
	assert_int_equal(numutil_ceil_i64(-1.5), -1);
	assert_int_equal(numutil_ceil_i64(-0.2), 0);
	assert_int_equal(numutil_ceil_i64(31.0 * 86400 * 1000 + 0.5), 2678400001);
	assert_true(numutil_ceil_i64(1e300) == INT64_MAX);
}

static void test_numutil_parse(void **state)
{
	(void)state;
	assert_int_equal(numutil_parse_i64("0"), 0);
	assert_int_equal(numutil_parse_i64("42\tnext"), 42);
	assert_int_equal(numutil_parse_i64("-1"), -1);
	assert_int_equal(numutil_parse_i64(""), 0);
	assert_int_equal(numutil_parse_i64("x1"), 0);
	assert_true(numutil_parse_i64("1764139200000") == INT64_C(1764139200000));
	assert_true(numutil_parse_i64("9223372036854775807") == INT64_MAX);
	assert_true(numutil_parse_i64("9223372036854775808") == INT64_MAX);
	assert_true(numutil_parse_i64("99999999999999999999999") == INT64_MAX);
	assert_true(numutil_parse_i64("-9223372036854775808") == INT64_MIN);
	assert_true(numutil_parse_i64("-99999999999999999999999") == INT64_MIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numutil_round),
		cmocka_unit_test(test_numutil_ceil),
		cmocka_unit_test(test_numutil_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
