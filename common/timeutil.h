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

/* Parse an ISO-8601 UTC time ("...Z" or "+HH:MM" offsets, optional fraction). */
bool timeutil_parse_iso(const char *s, int64_t *ret_ms);

/* "14:05" in local time. */
char *timeutil_format_hhmm(int64_t ms, char *buf);

#endif
