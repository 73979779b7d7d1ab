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

#include <stdbool.h>
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

/* The decimal integer at the start of s (an optional '-', then digits;
 * whatever follows is ignored), saturated at the int64 range; 0 when there
 * are no digits.  strtoll without locale, errno or base: the list cache's
 * rows hold a few numbers each, and strtoll was a tenth of a listing. */
static inline int64_t numutil_parse_i64(const char *s)
{
	bool neg = *s == '-';
	if (neg)
		s++;
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_C(9223372036854775808) - d) / 10) {
			v = UINT64_C(9223372036854775808);
			break;
		}
		v = v * 10 + d;
	}
	if (neg)
		return v >= UINT64_C(9223372036854775808) ? INT64_MIN : -(int64_t)v;
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

#endif
