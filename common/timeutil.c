#define _GNU_SOURCE
#include "timeutil.h"

#include <ctype.h>
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

bool timeutil_parse_iso(const char *s, int64_t *ret_ms)
{
	struct tm tm = {0};
	if (!s)
		return false;
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return false;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		p++;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 3)
			frac *= 10;
	}
	int64_t offset = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return false;
		offset = sign * (hh * 3600 + mm * 60);
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*ret_ms = ((int64_t)t - offset) * 1000 + frac;
	return true;
}
