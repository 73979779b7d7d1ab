#define _GNU_SOURCE
#include "logsel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/timeutil.h"

#define MAX_SINCE_MS (100LL * 366 * 24 * 3600 * 1000)

static bool parse_duration(const char *s, int64_t *ret_ms)
{
	int64_t total = 0;
	if (!*s)
		return false;
	while (*s) {
		if (*s < '0' || *s > '9')
			return false;
		int64_t v = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s - '0');
			if (v > MAX_SINCE_MS)
				return false;
			s++;
		}
		int64_t unit;
		switch (*s) {
		case 's':
			unit = 1000;
			break;
		case 'm':
			unit = 60 * 1000;
			break;
		case 'h':
			unit = 3600 * 1000;
			break;
		case 'd':
			unit = 24LL * 3600 * 1000;
			break;
		default:
			return false; /* a unit is required: "10" alone is ambiguous */
		}
		s++;
		if (__builtin_mul_overflow(v, unit, &v) ||
		    __builtin_add_overflow(total, v, &total) || total > MAX_SINCE_MS)
			return false;
	}
	*ret_ms = total;
	return true;
}

int logsel_parse_since(const char *text, int64_t now_ms, int64_t *ret_ms, struct rv_error **err)
{
	int64_t v = 0;
	if (text && timeutil_parse_iso(text, &v)) {
		if (v > now_ms)
			return rv_error_set(err, EINVAL, "--since '%s' is in the future", text);
		*ret_ms = v;
		return 0;
	}
	if (text && parse_duration(text, &v)) {
		*ret_ms = now_ms - v;
		return 0;
	}
	return rv_error_set(err, EINVAL,
			    "--since takes an RFC 3339 time (2026-11-25T14:05:00Z) or a duration "
			    "back from now (90s, 10m, 1h30m, 2d), not '%s'",
			    text ? text : "");
}

/* line without its line end */
static size_t trim(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	return len;
}

static bool copy_id(const char *p, size_t n, char *id, size_t idsz)
{
	if (n == 0 || n >= idsz)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	memcpy(id, p, n);
	id[n] = '\0';
	return true;
}

bool logsel_parse_header(const char *line, size_t len, char *id, size_t idsz, int64_t *ret_saved_ms)
{
	static const char pre[] = "==== container ", mid[] = ", saved ", post[] = " ====";
	len = trim(line, len);
	size_t lp = sizeof(pre) - 1, lm = sizeof(mid) - 1, lo = sizeof(post) - 1;
	if (len < lp + lm + lo || memcmp(line, pre, lp) || memcmp(line + len - lo, post, lo))
		return false;
	const char *p = line + lp;
	const char *m = memmem(p, len - lp, mid, lm);
	if (!m || !copy_id(p, (size_t)(m - p), id, idsz))
		return false;
	const char *ts = m + lm;
	size_t tl = (size_t)(line + len - lo - ts);
	char buf[TIMEUTIL_ISO_MAX_INPUT + 1];
	int64_t ms = 0;
	if (tl < sizeof(buf)) {
		memcpy(buf, ts, tl);
		buf[tl] = '\0';
		if (!timeutil_parse_iso(buf, &ms))
			ms = 0;
	}
	*ret_saved_ms = ms;
	return true;
}

bool logsel_parse_trailer(const char *line, size_t len, char *id, size_t idsz)
{
	static const char pre[] = "==== end of container ", post[] = " ====";
	len = trim(line, len);
	size_t lp = sizeof(pre) - 1, lo = sizeof(post) - 1;
	if (len <= lp + lo || memcmp(line, pre, lp) || memcmp(line + len - lo, post, lo))
		return false;
	return copy_id(line + lp, len - lp - lo, id, idsz);
}

bool logsel_same_container(const char *a, const char *b)
{
	if (!a || !b || !*a || !*b)
		return false;
	size_t la = strlen(a), lb = strlen(b);
	size_t n = la < lb ? la : lb;
	if (la != lb && n < 12)
		return false;
	return !strncmp(a, b, n);
}

void logsel_ring_init(struct logsel_ring *r, size_t cap)
{
	*r = (struct logsel_ring){.cap = cap};
}

void logsel_ring_release(struct logsel_ring *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[(r->start + i) % r->alloc].data);
	free(r->lines);
	for (int k = 0; k < 3; k++)
		free(r->partial[k]);
	*r = (struct logsel_ring){0};
}

static void push_line(struct logsel_ring *r, enum engine_stream stream, char *data, size_t len)
{
	r->pushed++;
	if (r->cap == 0) {
		free(data);
		return;
	}
	if (r->n < r->cap) {
		if (r->n == r->alloc) {
			/* Grow only while the ring has not wrapped (start is 0). */
			size_t na = r->alloc ? r->alloc * 2 : 64;
			if (na > r->cap)
				na = r->cap;
			r->lines = xrealloc(r->lines, na * sizeof(*r->lines));
			r->alloc = na;
		}
		r->lines[(r->start + r->n) % r->alloc] =
			(struct logsel_line){.stream = stream, .data = data, .len = len};
		r->n++;
		return;
	}
	struct logsel_line *old = &r->lines[r->start];
	free(old->data);
	*old = (struct logsel_line){.stream = stream, .data = data, .len = len};
	r->start = (r->start + 1) % r->alloc;
}

static int slot(enum engine_stream s)
{
	return s == ENGINE_STREAM_STDOUT ? 0 : s == ENGINE_STREAM_STDERR ? 1 : 2;
}

static enum engine_stream slot_stream(int k)
{
	return k == 0 ? ENGINE_STREAM_STDOUT : k == 1 ? ENGINE_STREAM_STDERR : ENGINE_STREAM_SYSTEM;
}

static void append_partial(struct logsel_ring *r, int k, const char *data, size_t len)
{
	r->partial[k] = xrealloc(r->partial[k], r->partial_len[k] + len + 1);
	memcpy(r->partial[k] + r->partial_len[k], data, len);
	r->partial_len[k] += len;
}

void logsel_ring_feed(struct logsel_ring *r, enum engine_stream stream, const char *data,
		      size_t len)
{
	int k = slot(stream);
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) + 1 : len;
		size_t room = LOGSEL_MAX_LINE - r->partial_len[k];
		bool cut = take > room;
		if (cut)
			take = room;
		append_partial(r, k, data, take);
		data += take;
		len -= take;
		if (nl && !cut && data == nl + 1) {
			push_line(r, slot_stream(k), TAKE_PTR(r->partial[k]), r->partial_len[k]);
			r->partial_len[k] = 0;
		} else if (r->partial_len[k] >= LOGSEL_MAX_LINE) {
			push_line(r, slot_stream(k), TAKE_PTR(r->partial[k]), r->partial_len[k]);
			r->partial_len[k] = 0;
		}
	}
}

void logsel_ring_flush(struct logsel_ring *r)
{
	for (int k = 0; k < 3; k++) {
		if (r->partial_len[k] > 0)
			push_line(r, slot_stream(k), TAKE_PTR(r->partial[k]), r->partial_len[k]);
		r->partial_len[k] = 0;
	}
}

int logsel_ring_emit(const struct logsel_ring *r, size_t skip, engine_log_fn fn, void *userdata,
		     struct rv_error **err)
{
	for (size_t i = skip; i < r->n; i++) {
		const struct logsel_line *l = &r->lines[(r->start + i) % r->alloc];
		int e = fn(userdata, l->stream, l->data, l->len, err);
		if (e < 0)
			return e;
	}
	return 0;
}
