/* Scheduled pause windows: see windows.h. */
#define _GNU_SOURCE
#include "windows.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/fileio.h"

#define DAY_S 86400

/* "HH:MM" or "HH:MM:SS" -> seconds after midnight, or -1. */
static int parse_hhmm(const char *s, size_t len)
{
	if ((len != 5 && len != 8) || s[2] != ':' || (len == 8 && s[5] != ':'))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (i != 2 && i != 5 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	int sec = len == 8 ? (s[6] - '0') * 10 + (s[7] - '0') : 0;
	return h < 24 && m < 60 && sec < 60 ? h * 3600 + m * 60 + sec : -1;
}

/* A zone name as the zone database spells it, and present there. */
static bool zone_ok(const char *z)
{
	size_t n = strlen(z);
	if (n == 0 || n > 64 || z[0] == '/' || strstr(z, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-/",
			    z[i]))
			return false;
	_cleanup_free_ char *path = xasprintf("/usr/share/zoneinfo/%s", z);
	struct stat s;
	return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static void window_release(struct pause_window *w)
{
	free(w->time_zone);
	for (size_t i = 0; w->agents && w->agents[i]; i++)
		free(w->agents[i]);
	free(w->agents);
	*w = (struct pause_window){0};
}

void windows_release(struct pause_windows *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		window_release(&ws->w[i]);
	free(ws->w);
	*ws = (struct pause_windows){0};
}

static int parse_span(const char *text, struct pause_window *w, const char *what, size_t i,
		      struct rv_error **err)
{
	const char *dash = strchr(text, '-');
	int a = dash ? parse_hhmm(text, (size_t)(dash - text)) : -1;
	int b = dash ? parse_hhmm(dash + 1, strlen(dash + 1)) : -1;
	if (a < 0 || b < 0)
		return rv_error_set(
			err, EINVAL,
			"%s: pauseWindows[%zu]: '%.32s' is not \"HH:MM-HH:MM\" (24-hour "
			"clock)",
			what, i, text);
	if (a == b)
		return rv_error_set(
			err, EINVAL,
			"%s: pauseWindows[%zu]: '%.32s' starts and ends at the same time", what, i,
			text);
	w->start_s = a;
	w->end_s = b;
	return 0;
}

static int parse_one(struct json_object *item, const char *what, size_t i, struct pause_window *w,
		     struct rv_error **err)
{
	if (json_object_is_type(item, json_type_string))
		return parse_span(json_object_get_string(item), w, what, i, err);
	if (!json_object_is_type(item, json_type_object))
		return rv_error_set(err, EINVAL,
				    "%s: pauseWindows[%zu] must be \"HH:MM-HH:MM\" or an object",
				    what, i);
	struct json_object *span = NULL, *zone = NULL, *agents = NULL;
	json_object_object_foreach(item, key, val)
	{
		if (!strcmp(key, "window"))
			span = val;
		else if (!strcmp(key, "timeZone"))
			zone = val;
		else if (!strcmp(key, "agents"))
			agents = val;
		else
			return rv_error_set(
				err, EINVAL,
				"%s: pauseWindows[%zu]: unknown key '%.32s' (known: window, "
				"timeZone, agents)",
				what, i, key);
	}
	if (!span || !json_object_is_type(span, json_type_string))
		return rv_error_set(err, EINVAL,
				    "%s: pauseWindows[%zu] needs \"window\": \"HH:MM-HH:MM\"", what,
				    i);
	int r = parse_span(json_object_get_string(span), w, what, i, err);
	if (r < 0)
		return r;
	if (zone) {
		const char *z = json_object_is_type(zone, json_type_string)
					? json_object_get_string(zone)
					: "";
		if (!zone_ok(z))
			return rv_error_set(
				err, EINVAL,
				"%s: pauseWindows[%zu]: unknown timeZone '%.64s' (an IANA "
				"name such as Europe/Berlin)",
				what, i, z);
		if (strcmp(z, "UTC") != 0)
			w->time_zone = xstrdup(z);
	}
	if (agents) {
		size_t n = json_object_is_type(agents, json_type_array)
				   ? json_object_array_length(agents)
				   : 0;
		if (!json_object_is_type(agents, json_type_array) || n == 0 ||
		    n > WINDOWS_MAX_AGENTS)
			return rv_error_set(
				err, EINVAL,
				"%s: pauseWindows[%zu]: agents must be a list of 1 to %d "
				"agent tool names",
				what, i, WINDOWS_MAX_AGENTS);
		w->agents = xcalloc(n + 1, sizeof(*w->agents));
		for (size_t k = 0; k < n; k++) {
			struct json_object *a = json_object_array_get_idx(agents, k);
			if (!json_object_is_type(a, json_type_string) ||
			    json_object_get_string_len(a) == 0)
				return rv_error_set(
					err, EINVAL,
					"%s: pauseWindows[%zu]: agents[%zu] must be a name", what,
					i, k);
			w->agents[k] = xstrdup(json_object_get_string(a));
		}
	}
	return 0;
}

int windows_parse(struct json_object *arr, const char *what, struct pause_windows *ret,
		  struct rv_error **err)
{
	*ret = (struct pause_windows){0};
	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array) ||
	    json_object_array_length(arr) > WINDOWS_MAX)
		return rv_error_set(err, EINVAL,
				    "%s: pauseWindows must be a list of at most %d windows", what,
				    WINDOWS_MAX);
	struct pause_windows ws = {.n = json_object_array_length(arr)};
	ws.w = xcalloc(ws.n ? ws.n : 1, sizeof(*ws.w));
	for (size_t i = 0; i < ws.n; i++) {
		int r = parse_one(json_object_array_get_idx(arr, i), what, i, &ws.w[i], err);
		if (r < 0) {
			windows_release(&ws);
			return r;
		}
	}
	*ret = ws;
	return 0;
}

bool window_covers(const struct pause_window *w, const char *agent)
{
	if (!w->agents)
		return true;
	for (size_t i = 0; agent && w->agents[i]; i++)
		if (!strcmp(w->agents[i], agent))
			return true;
	return false;
}

/* The offset of zone from UTC at t, in seconds (east positive).  The C
 * library answers for the process's TZ only, so TZ is swapped under a lock
 * and put back. */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t zone_offset_s(const char *zone, int64_t t)
{
	if (!zone)
		return 0;
	pthread_mutex_lock(&tz_lock);
	const char *old = getenv("TZ");
	_cleanup_free_ char *saved = old ? xstrdup(old) : NULL;
	setenv("TZ", zone, 1);
	tzset();
	time_t tt = (time_t)t;
	struct tm tm;
	int64_t off = localtime_r(&tt, &tm) ? (int64_t)tm.tm_gmtoff : 0;
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	pthread_mutex_unlock(&tz_lock);
	return off;
}

bool window_active(const struct pause_window *w, int64_t now_ms, int64_t *ret_next_ms)
{
	int64_t now_s = now_ms >= 0 ? now_ms / 1000 : (now_ms - 999) / 1000;
	int64_t local = now_s + zone_offset_s(w->time_zone, now_s);
	int64_t sec_of_day = ((local % DAY_S) + DAY_S) % DAY_S;
	int64_t start = w->start_s, end = w->end_s;
	bool inside = start < end ? sec_of_day >= start && sec_of_day < end
				  : sec_of_day >= start || sec_of_day < end;
	if (ret_next_ms) {
		int64_t target = inside ? end : start;
		int64_t delta = ((target - sec_of_day) % DAY_S + DAY_S) % DAY_S;
		if (delta == 0)
			delta = DAY_S;
		*ret_next_ms = (now_s + delta) * 1000;
	}
	return inside;
}

void windows_active_now(const struct pause_windows *ws, int64_t now_ms, bool active[WINDOWS_MAX])
{
	for (size_t i = 0; i < WINDOWS_MAX; i++)
		active[i] = ws && i < ws->n && window_active(&ws->w[i], now_ms, NULL);
}

const struct pause_window *windows_covering(const struct pause_windows *ws,
					    const bool active[WINDOWS_MAX], const char *agent)
{
	for (size_t i = 0; ws && i < ws->n; i++)
		if (active[i] && window_covers(&ws->w[i], agent))
			return &ws->w[i];
	return NULL;
}

const char *window_describe(const struct pause_window *w, char *buf, size_t n)
{
	char a[16], b[16];
	int sa = w->start_s % 60, sb = w->end_s % 60;
	snprintf(a, sizeof(a), sa ? "%02d:%02d:%02d" : "%02d:%02d", w->start_s / 3600,
		 w->start_s / 60 % 60, sa);
	snprintf(b, sizeof(b), sb ? "%02d:%02d:%02d" : "%02d:%02d", w->end_s / 3600,
		 w->end_s / 60 % 60, sb);
	snprintf(buf, n, "%s-%s %s", a, b, w->time_zone ? w->time_zone : "UTC");
	return buf;
}
