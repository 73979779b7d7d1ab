/*
 * backoff.h - when to retry a paused task: pure functions of (policy,
 * attempt, clock value, random number).  Nothing here reads a clock or a
 * random source, so callers pass them in and tests never sleep.
 *
 * Delay without a known reset time (backoff_delay_ms):
 *     full  = min(cap, base * 2^attempt)          attempt 0 is the first retry
 *     delay = full/2 + (full - full/2) * rnd / UINT32_MAX
 * i.e. "equal jitter" (AWS architecture blog, 2015): uniformly between half
 * the full delay and the full delay.  Half is kept so that a burst of paused
 * tasks spreads out but never retries almost at once; the upper end is the
 * full delay, so the result never exceeds cap.  rnd is scaled (not taken
 * modulo), so for a fixed rnd the delay never decreases as attempt grows.
 *
 * With a known provider reset time (backoff_retry_at_ms): reset + 2..9
 * minutes (rnd picks where in that window), as docs/design/retry-policy.md says; a
 * reset time already in the past yields now.
 */
#ifndef ROVER_BACKOFF_H
#define ROVER_BACKOFF_H

#include <stdint.h>

/* Window after a provider's reset time, in ms: [2 min, 9 min]. */
#define BACKOFF_RESET_MIN_MS (2 * 60 * 1000)
#define BACKOFF_RESET_MAX_MS (9 * 60 * 1000)

struct backoff_policy {
	int64_t base_seconds; /* > 0; the first retry waits base/2..base */
	int64_t cap_seconds;  /* >= base_seconds; no delay is longer */
};

/* Delay in ms before retry number attempt (0-based: the number of retries
 * already made; negative counts as 0).  A policy with base <= 0 gives 0; a cap
 * below base is treated as equal to base.  Never above cap * 1000. */
int64_t backoff_delay_ms(const struct backoff_policy *p, int attempt, uint32_t rnd);

/* Absolute time (epoch ms) of the next retry.  reset_at_ms > 0 is a known
 * provider reset time: the result is max(now_ms, reset_at_ms + 2..9 min).
 * reset_at_ms <= 0 means unknown: now_ms + backoff_delay_ms(). */
int64_t backoff_retry_at_ms(const struct backoff_policy *p, int attempt, int64_t now_ms,
			    int64_t reset_at_ms, uint32_t rnd);

#endif
