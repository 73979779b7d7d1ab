#define _GNU_SOURCE
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void strbuf_grow(struct strbuf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap && b->buf)
		return;
	if (extra > (size_t)-1 / 2 - b->len) {
		fprintf(stderr, "rover: out of memory (buffer of %zu + %zu bytes)\n", b->len,
			extra);
		abort();
	}
	size_t cap = b->cap ? b->cap : STRBUF_MIN_CAP;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->buf = xrealloc(b->buf, cap);
	b->cap = cap;
	b->buf[b->len] = '\0';
}

size_t strbuf_avail(const struct strbuf *b)
{
	return b->cap ? b->cap - b->len - 1 : 0;
}

void strbuf_setlen(struct strbuf *b, size_t len)
{
	if (!b->buf) /* only 0 fits an empty buffer */
		return;
	b->len = len < b->cap ? len : b->cap - 1;
	b->buf[b->len] = '\0';
}

void strbuf_add(struct strbuf *b, const void *data, size_t n)
{
	if (!b->buf || n >= b->cap - b->len) /* no room for n bytes and the NUL */
		strbuf_grow(b, n);
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void strbuf_adds(struct strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

void strbuf_vaddf(struct strbuf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	strbuf_grow(b, 64);
	int n = vsnprintf(b->buf + b->len, strbuf_avail(b) + 1, fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->buf[b->len] = '\0';
		return;
	}
	if ((size_t)n > strbuf_avail(b)) {
		strbuf_grow(b, (size_t)n);
		vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	}
	strbuf_setlen(b, b->len + (size_t)n);
}

void strbuf_addf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(b, fmt, ap);
	va_end(ap);
}

void strbuf_reset(struct strbuf *b)
{
	strbuf_setlen(b, 0);
}

const char *strbuf_str(const struct strbuf *b)
{
	return b->buf ? b->buf : "";
}

char *strbuf_detach(struct strbuf *b, size_t *ret_len)
{
	if (ret_len)
		*ret_len = b->len;
	char *s = b->buf ? b->buf : xstrdup("");
	*b = (struct strbuf)STRBUF_INIT;
	return s;
}

void strbuf_release(struct strbuf *b)
{
	free(b->buf);
	*b = (struct strbuf)STRBUF_INIT;
}
