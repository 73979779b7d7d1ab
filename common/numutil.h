/*
 * numutil.h - the few roundings rover needs, without libm, and decimal
 * formatting for hot loops.
 *
 * rover is linked dynamically (libcurl is loaded only when an engine is
 * needed, curl_lazy.h), and every shared library costs each command's
 * start-up a map, relocations and page faults.  libm was needed for three
 * calls (ceil, round, llround), so they are done here on integers instead.
 *
 * Each takes a finite value whose magnitude is below 2^62 (callers check
 * their range first); beyond that the result is the input truncated, never
 * undefined behaviour.
 */
#ifndef ROVER_NUMUTIL_H
#define ROVER_NUMUTIL_H

#include <stdint.h>

#define NUMUTIL_EXACT_LIMIT 4.6e18 /* below INT64_MAX, above 2^62 */

/* v rounded to the nearest integer, halves away from zero (as llround). */
static inline int64_t numutil_round_i64(double v)
{
	if (!(v > -NUMUTIL_EXACT_LIMIT && v < NUMUTIL_EXACT_LIMIT))
		return v > 0 ? INT64_MAX : INT64_MIN;
	return v < 0 ? -(int64_t)(-v + 0.5) : (int64_t)(v + 0.5);
}

/* The smallest integer not below v (as ceil). */
static inline int64_t numutil_ceil_i64(double v)
{
	if (!(v > -NUMUTIL_EXACT_LIMIT && v < NUMUTIL_EXACT_LIMIT))
		return v > 0 ? INT64_MAX : INT64_MIN;
	int64_t t = (int64_t)v; /* toward zero */
	return (double)t < v ? t + 1 : t;
}

/* The decimal digits of v at p (no NUL; at most 20 bytes); returns the
 * end.  For loops that format a number per task (`rover list` of many
 * tasks), where snprintf's generality was a large part of the time. */
static inline char *numutil_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int k = 0;
	do
		tmp[k++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (k)
		*p++ = tmp[--k];
	return p;
}

#endif
