/* Unit tests for supervisor/lib/windows: parsing rover.json's pauseWindows,
 * and whether a time falls in a window (UTC, across midnight, in a zone with
 * daylight saving), on an injected clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/windows.h"

static int64_t at(const char *iso)
{
	int64_t ms = 0;
	assert_true(timeutil_parse_iso(iso, &ms));
	return ms;
}

/* The first window of ws covering agent at now, as the supervisor asks. */
static const struct pause_window *windows_active_for(const struct pause_windows *ws,
						     const char *agent, int64_t now)
{
	bool active[WINDOWS_MAX];
	windows_active_now(ws, now, active);
	return windows_covering(ws, active, agent);
}

static int parse(const char *text, struct pause_windows *ws, struct rv_error **e)
{
	_cleanup_json_ struct json_object *o = json_tokener_parse(text);
	return windows_parse(o, "'rover.json'", ws, e);
}

static void test_windows_parse(void **state)
{
	(void)state;
	struct pause_windows ws;
	assert_int_equal(parse("[\"02:00-04:30\", {\"window\": \"22:00-06:00\", \"timeZone\": "
			       "\"Europe/Berlin\", \"agents\": [\"claude\"]}]",
			       &ws, NULL),
			 0);
	assert_int_equal(ws.n, 2);
	assert_int_equal(ws.w[0].start_s, 7200);
	assert_int_equal(ws.w[0].end_s, 16200);
	assert_null(ws.w[0].time_zone);
	assert_string_equal(ws.w[1].time_zone, "Europe/Berlin");
	assert_true(window_covers(&ws.w[1], "claude"));
	assert_false(window_covers(&ws.w[1], "codex"));
	assert_true(window_covers(&ws.w[0], "codex"));
	char buf[64];
	assert_string_equal(window_describe(&ws.w[1], buf, sizeof(buf)),
			    "22:00-06:00 Europe/Berlin");
	windows_release(&ws);
	assert_int_equal(parse("[\"10:00:05-10:00:35\"]", &ws, NULL), 0);
	assert_true(window_active(&ws.w[0], at("2026-11-25T10:00:05.000Z"), NULL));
	assert_false(window_active(&ws.w[0], at("2026-11-25T10:00:35.000Z"), NULL));
	assert_string_equal(window_describe(&ws.w[0], buf, sizeof(buf)), "10:00:05-10:00:35 UTC");
	windows_release(&ws);
	const char *bad[] = {"\"02:00-04:00\"",
			     "[\"2:00-4:00\"]",
			     "[\"24:00-01:00\"]",
			     "[\"03:00-03:00\"]",
			     "[{\"window\": \"01:00-02:00\", \"timeZone\": "
			     "\"../../etc/passwd\"}]",
			     "[{\"window\": \"01:00-02:00\", \"timeZone\": \"Mars/Olympus\"}]",
			     "[{\"window\": \"01:00-02:00\", \"agents\": []}]",
			     "[{\"window\": \"01:00-02:00\", \"color\": \"red\"}]",
			     "[3]"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct rv_error *e = NULL;
		assert_int_equal(parse(bad[i], &ws, &e), -EINVAL);
		assert_non_null(strstr(e->msg, "rover.json"));
		rv_error_free(e);
	}
	assert_int_equal(windows_parse(NULL, "x", &ws, NULL), 0);
	assert_int_equal(ws.n, 0);
}

static void test_windows_active_utc_and_midnight(void **state)
{
	(void)state;
	struct pause_windows ws;
	assert_int_equal(parse("[\"02:00-04:30\", \"22:00-06:00\"]", &ws, NULL), 0);
	int64_t next = 0;
	assert_false(window_active(&ws.w[0], at("2026-11-25T01:59:59.000Z"), &next));
	assert_int_equal(next, at("2026-11-25T02:00:00.000Z"));
	assert_true(window_active(&ws.w[0], at("2026-11-25T02:00:00.000Z"), &next));
	assert_int_equal(next, at("2026-11-25T04:30:00.000Z"));
	assert_false(window_active(&ws.w[0], at("2026-11-25T04:30:00.000Z"), &next));
	assert_int_equal(next, at("2026-11-26T02:00:00.000Z"));
	/* across midnight */
	assert_true(window_active(&ws.w[1], at("2026-11-25T23:10:00.000Z"), &next));
	assert_int_equal(next, at("2026-11-26T06:00:00.000Z"));
	assert_true(window_active(&ws.w[1], at("2026-11-26T05:59:00.000Z"), NULL));
	assert_false(window_active(&ws.w[1], at("2026-11-26T12:00:00.000Z"), &next));
	assert_int_equal(next, at("2026-11-26T22:00:00.000Z"));
	assert_non_null(windows_active_for(&ws, "codex", at("2026-11-26T03:00:00.000Z")));
	assert_null(windows_active_for(&ws, "codex", at("2026-11-26T12:00:00.000Z")));
	windows_release(&ws);
}

static void test_windows_time_zone_follows_dst(void **state)
{
	(void)state;
	struct pause_windows ws;
	assert_int_equal(parse("[{\"window\": \"09:00-10:00\", \"timeZone\": \"Europe/Berlin\", "
			       "\"agents\": [\"claude\"]}]",
			       &ws, NULL),
			 0);
	/* winter: CET = UTC+1, so 09:00 Berlin is 08:00 UTC */
	assert_true(window_active(&ws.w[0], at("2026-01-15T08:30:00.000Z"), NULL));
	assert_false(window_active(&ws.w[0], at("2026-01-15T09:30:00.000Z"), NULL));
	/* summer: CEST = UTC+2, so 09:00 Berlin is 07:00 UTC */
	assert_true(window_active(&ws.w[0], at("2026-07-15T07:30:00.000Z"), NULL));
	assert_false(window_active(&ws.w[0], at("2026-07-15T08:30:00.000Z"), NULL));
	assert_null(windows_active_for(&ws, "codex", at("2026-07-15T07:30:00.000Z")));
	assert_non_null(windows_active_for(&ws, "claude", at("2026-07-15T07:30:00.000Z")));
	windows_release(&ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_parse),
		cmocka_unit_test(test_windows_active_utc_and_midnight),
		cmocka_unit_test(test_windows_time_zone_follows_dst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
