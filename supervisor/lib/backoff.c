#include "backoff.h"

/* Scale span by rnd / UINT32_MAX without overflow for any span we allow
 * (spans are at most a few days in ms, far below 2^32 * 2^32). */
static int64_t scale(int64_t span, uint32_t rnd)
{
	if (span <= 0)
		return 0;
	return (int64_t)(((unsigned __int128)span * rnd) / UINT32_MAX);
}

/* No policy needs more than a century; clamping keeps every product below in
 * range whatever a caller passes. */
static int64_t clamp_seconds(int64_t s)
{
	const int64_t century = 100LL * 366 * 24 * 3600;
	return s > century ? century : s;
}

int64_t backoff_delay_ms(const struct backoff_policy *p, int attempt, uint32_t rnd)
{
	if (!p || p->base_seconds <= 0)
		return 0;
	int64_t base = clamp_seconds(p->base_seconds) * 1000;
	int64_t cap =
		p->cap_seconds > p->base_seconds ? clamp_seconds(p->cap_seconds) * 1000 : base;
	if (attempt < 0)
		attempt = 0;
	/* Double until the cap is reached; stopping there avoids any overflow
	 * however large attempt is. */
	int64_t full = base;
	for (int i = 0; i < attempt && full < cap; i++)
		full = full > cap / 2 ? cap : full * 2;
	if (full > cap)
		full = cap;
	int64_t half = full / 2;
	return half + scale(full - half, rnd);
}

int64_t backoff_retry_at_ms(const struct backoff_policy *p, int attempt, int64_t now_ms,
			    int64_t reset_at_ms, uint32_t rnd)
{
	if (reset_at_ms > 0) {
		int64_t at = reset_at_ms + BACKOFF_RESET_MIN_MS +
			     scale(BACKOFF_RESET_MAX_MS - BACKOFF_RESET_MIN_MS, rnd);
		return at > now_ms ? at : now_ms;
	}
	return now_ms + backoff_delay_ms(p, attempt, rnd);
}
