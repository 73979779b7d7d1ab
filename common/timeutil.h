/*
 * timeutil.h - wall-clock timestamps (ISO-8601, UTC, milliseconds) and
 * monotonic deadlines.  Wall time is only stored and shown; every wait is a
 * deadline on CLOCK_MONOTONIC.
 */
#ifndef ROVER_TIMEUTIL_H
#define ROVER_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

#define TIMEUTIL_ISO_LEN 32

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t timeutil_now_ms(void);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t timeutil_mono_ms(void);

/* "2026-11-22T08:17:47.123Z" into buf (at least TIMEUTIL_ISO_LEN); returns buf. */
char *timeutil_format_iso(int64_t ms, char *buf);

/* Parse an RFC 3339 time, strictly: "YYYY-MM-DDTHH:MM:SS", an optional
 * fraction of 1 to TIMEUTIL_ISO_MAX_FRACTION digits (beyond milliseconds it
 * is truncated), then "Z" or "+HH:MM"/"-HH:MM".  Every field has exactly
 * that many digits and its range (month 1-12, a day that exists in that
 * month, hour 0-23, minute 0-59, second 0-60, offset up to 23:59); a text
 * longer than TIMEUTIL_ISO_MAX_INPUT bytes is refused without being read
 * past that.  Untrusted input (checkpoint.json, status.json, engine
 * replies) comes here: nothing is read beyond the terminating NUL and
 * nothing overflows.  false (and *ret_ms unwritten) on anything else. */
#define TIMEUTIL_ISO_MAX_INPUT 64
#define TIMEUTIL_ISO_MAX_FRACTION 9
bool timeutil_parse_iso(const char *s, int64_t *ret_ms);

/* "14:05" in local time. */
char *timeutil_format_hhmm(int64_t ms, char *buf);

#endif
