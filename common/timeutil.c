#define _GNU_SOURCE
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t timeutil_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t timeutil_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *timeutil_format_iso(int64_t ms, char *buf)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, TIMEUTIL_ISO_LEN - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 6, ".%03uZ", (unsigned)(ms % 1000) % 1000u);
	return buf;
}

char *timeutil_format_hhmm(int64_t ms, char *buf)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	localtime_r(&s, &tm);
	strftime(buf, 8, "%H:%M", &tm);
	return buf;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (Howard
 * Hinnant's days_from_civil); exact for every year we accept, no time_t and
 * no timegm normalisation of out-of-range fields. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n decimal digits at s (the caller checked that n bytes exist). */
static bool digits(const char *s, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* The text is untrusted (checkpoint.json, status.json, engine replies): every
 * field has its exact number of digits, every read is inside the length
 * measured first, every field is range-checked, and the arithmetic cannot
 * overflow (|result| < 400 000 years in ms). */
bool timeutil_parse_iso(const char *s, int64_t *ret_ms)
{
	if (!s)
		return false;
	size_t len = strnlen(s, TIMEUTIL_ISO_MAX_INPUT + 1);
	if (len > TIMEUTIL_ISO_MAX_INPUT || len < 20) /* "YYYY-MM-DDTHH:MM:SSZ" */
		return false;
	int year, mon, day, hh, mm, ss;
	if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) || s[7] != '-' ||
	    !digits(s + 8, 2, &day) || s[10] != 'T' || !digits(s + 11, 2, &hh) || s[13] != ':' ||
	    !digits(s + 14, 2, &mm) || s[16] != ':' || !digits(s + 17, 2, &ss))
		return false;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] + (mon == 2 && is_leap(year)) ||
	    hh > 23 || mm > 59 || ss > 60 /* a leap second */)
		return false;

	size_t i = 19;
	int64_t frac = 0;
	if (s[i] == '.') {
		size_t first = ++i;
		int scale = 100;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (i - first >= TIMEUTIL_ISO_MAX_FRACTION)
				return false;
			frac += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
		if (i == first)
			return false; /* "12:00:00.Z" */
	}
	int64_t offset_s = 0;
	if (i < len && s[i] == 'Z') {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		int oh, om;
		if (len - i != 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		offset_s = (s[i] == '-' ? -1 : 1) * ((int64_t)oh * 3600 + om * 60);
		i += 6;
	} else {
		return false;
	}
	if (i != len)
		return false;
	int64_t secs = days_from_civil(year, mon, day) * 86400 + (int64_t)hh * 3600 + mm * 60 + ss;
	*ret_ms = (secs - offset_s) * 1000 + frac;
	return true;
}
