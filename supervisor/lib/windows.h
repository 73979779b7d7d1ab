/*
 * windows.h - scheduled pause windows: daily times when the supervisor
 * drains the tasks a window covers and starts none of them, then resumes
 * exactly those at the window's end.
 *
 * rover.json "pauseWindows" is a list; each item is either a string
 * "HH:MM-HH:MM" (UTC; "HH:MM:SS" is taken too) or an object
 *
 *     {"window": "22:00-06:00", "timeZone": "Europe/Berlin", "agents": ["claude"]}
 *
 * A window whose end is not after its start wraps midnight (22:00-06:00 is
 * 22:00 to 06:00 the next morning); "00:00-00:00" is refused (it would be
 * always or never).  timeZone is an IANA name found under
 * /usr/share/zoneinfo (default UTC); the window follows that zone's clock,
 * daylight saving included.  agents (default: every agent) limits the window
 * to tasks of those agent tools.
 *
 * Everything here is pure over an injected clock (now_ms), except the
 * zone's offset, which comes from the C library's zone database.
 */
#ifndef ROVER_WINDOWS_H
#define ROVER_WINDOWS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define WINDOWS_MAX 32
#define WINDOWS_MAX_AGENTS 16

struct pause_window {
	int start_s; /* seconds after local midnight, 0..86399 */
	int end_s;
	char *time_zone; /* NULL: UTC */
	char **agents;   /* NULL-terminated; NULL: every agent */
};

struct pause_windows {
	struct pause_window *w;
	size_t n;
};

/* Parse rover.json's "pauseWindows" (what names the file in messages; arr
 * NULL: none).  Errors name the item and what is wrong. */
int windows_parse(struct json_object *arr, const char *what, struct pause_windows *ret,
		  struct rv_error **err);
void windows_release(struct pause_windows *ws);

/* Whether window w covers a task of agent tool `agent` (NULL: unknown,
 * covered only by a window for every agent). */
bool window_covers(const struct pause_window *w, const char *agent);

/* Whether now_ms falls inside w; *ret_end_ms (may be NULL) gets when the
 * current occurrence ends (when inside) or when the next one starts (when
 * not). */
bool window_active(const struct pause_window *w, int64_t now_ms, int64_t *ret_next_ms);

/* Which windows of ws are active at now_ms (active[i] for ws->w[i]).  A
 * zone's offset costs the C library a read of its zone file, so a pass over
 * many tasks asks this once and then windows_covering() per task. */
void windows_active_now(const struct pause_windows *ws, int64_t now_ms, bool active[WINDOWS_MAX]);

/* The first window marked active that covers agent, or NULL. */
const struct pause_window *windows_covering(const struct pause_windows *ws,
					    const bool active[WINDOWS_MAX], const char *agent);

/* "22:00-06:00 Europe/Berlin" (UTC when no zone), into buf. */
const char *window_describe(const struct pause_window *w, char *buf, size_t n);

#endif
