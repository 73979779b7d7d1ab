/* Unit tests for supervisor/lib/backoff: exponential growth to the cap, jitter
 * bounds, monotonic for a fixed random value, and the reset-time path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "supervisor/lib/backoff.h"

static const struct backoff_policy policy = {.base_seconds = 60, .cap_seconds = 3600};
static const uint32_t rnds[] = {0,         1, 12345, UINT32_MAX / 3, UINT32_MAX / 2, UINT32_MAX - 1,
				UINT32_MAX};

static void test_backoff_exact_ends(void **state)
{
	(void)state;
	/* rnd 0 gives half the full delay, UINT32_MAX the full delay. */
	assert_int_equal(backoff_delay_ms(&policy, 0, 0), 30000);
	assert_int_equal(backoff_delay_ms(&policy, 0, UINT32_MAX), 60000);
	assert_int_equal(backoff_delay_ms(&policy, 1, UINT32_MAX), 120000);
	assert_int_equal(backoff_delay_ms(&policy, 2, UINT32_MAX), 240000);
	assert_int_equal(backoff_delay_ms(&policy, 5, UINT32_MAX), 1920000);
	assert_int_equal(backoff_delay_ms(&policy, 6, UINT32_MAX), 3600000); /* 3840 s capped */
	assert_int_equal(backoff_delay_ms(&policy, 6, 0), 1800000);
	/* negative attempt counts as the first */
	assert_int_equal(backoff_delay_ms(&policy, -3, UINT32_MAX), 60000);
}

static void test_backoff_monotonic_until_cap_and_never_above(void **state)
{
	(void)state;
	for (size_t r = 0; r < sizeof(rnds) / sizeof(rnds[0]); r++) {
		int64_t prev = 0;
		for (int a = 0; a < 200; a++) {
			int64_t d = backoff_delay_ms(&policy, a, rnds[r]);
			assert_true(d >= prev);
			assert_true(d <= 3600 * 1000);
			prev = d;
		}
	}
	/* huge attempts do not overflow */
	assert_int_equal(backoff_delay_ms(&policy, 1 << 30, UINT32_MAX), 3600000);
}

static void test_backoff_jitter_bounds(void **state)
{
	(void)state;
	uint32_t x = 2463534242u;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		int a = i % 12;
		int64_t full = 60000;
		for (int k = 0; k < a; k++)
			full = full * 2 > 3600000 ? 3600000 : full * 2;
		int64_t d = backoff_delay_ms(&policy, a, x);
		assert_true(d >= full / 2);
		assert_true(d <= full);
	}
	/* jitter actually spreads: two different rnd give different delays */
	assert_true(backoff_delay_ms(&policy, 3, 1000) !=
		    backoff_delay_ms(&policy, 3, 3000000000u));
}

static void test_backoff_degenerate_policies(void **state)
{
	(void)state;
	struct backoff_policy zero = {.base_seconds = 0, .cap_seconds = 10};
	assert_int_equal(backoff_delay_ms(&zero, 3, UINT32_MAX), 0);
	assert_int_equal(backoff_delay_ms(NULL, 3, UINT32_MAX), 0);
	struct backoff_policy inverted = {.base_seconds = 100, .cap_seconds = 10};
	assert_int_equal(backoff_delay_ms(&inverted, 4, UINT32_MAX), 100000);
	/* absurd values are clamped, never overflow */
	struct backoff_policy huge = {.base_seconds = INT64_MAX, .cap_seconds = INT64_MAX};
	int64_t d = backoff_delay_ms(&huge, 1000, UINT32_MAX);
	assert_true(d > 0);
	assert_int_equal(d, backoff_delay_ms(&huge, 0, UINT32_MAX));
	struct backoff_policy flat = {.base_seconds = 7, .cap_seconds = 7};
	assert_int_equal(backoff_delay_ms(&flat, 9, UINT32_MAX), 7000);
	assert_int_equal(backoff_delay_ms(&flat, 9, 0), 3500);
}

static void test_backoff_retry_at_without_reset(void **state)
{
	(void)state;
	int64_t now = 1795335467123;
	for (int a = 0; a < 10; a++)
		assert_int_equal(backoff_retry_at_ms(&policy, a, now, 0, 777),
				 now + backoff_delay_ms(&policy, a, 777));
	assert_int_equal(backoff_retry_at_ms(&policy, 2, now, -5, 777),
			 now + backoff_delay_ms(&policy, 2, 777));
}

static void test_backoff_retry_at_reset_window(void **state)
{
	(void)state;
	int64_t now = 1795335467123;
	int64_t reset = now + 3 * 3600 * 1000;
	assert_int_equal(backoff_retry_at_ms(&policy, 0, now, reset, 0), reset + 120000);
	assert_int_equal(backoff_retry_at_ms(&policy, 0, now, reset, UINT32_MAX), reset + 540000);
	for (size_t r = 0; r < sizeof(rnds) / sizeof(rnds[0]); r++) {
		/* the attempt number does not matter when the reset time is known */
		int64_t at = backoff_retry_at_ms(&policy, 4, now, reset, rnds[r]);
		assert_true(at >= reset + 2 * 60 * 1000);
		assert_true(at <= reset + 9 * 60 * 1000);
		assert_int_equal(at, backoff_retry_at_ms(&policy, 0, now, reset, rnds[r]));
	}
	/* a reset long past: retry now, never in the past */
	assert_int_equal(backoff_retry_at_ms(&policy, 0, now, now - 3600 * 1000, UINT32_MAX), now);
	/* a reset a minute ago: still inside the window after it */
	int64_t at = backoff_retry_at_ms(&policy, 0, now, now - 60000, UINT32_MAX);
	assert_int_equal(at, now - 60000 + 540000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_exact_ends),
		cmocka_unit_test(test_backoff_monotonic_until_cap_and_never_above),
		cmocka_unit_test(test_backoff_jitter_bounds),
		cmocka_unit_test(test_backoff_degenerate_policies),
		cmocka_unit_test(test_backoff_retry_at_without_reset),
		cmocka_unit_test(test_backoff_retry_at_reset_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
