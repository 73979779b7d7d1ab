/*
 * strbuf.h - one growable byte buffer, always NUL-terminated once it holds
 * anything (git's strbuf, cut down to what rover needs).
 *
 * Calling sequence:
 *     _cleanup_strbuf_ struct strbuf b = STRBUF_INIT;   (no allocation yet)
 *     strbuf_add(&b, data, n);  strbuf_addf(&b, "%d", x);
 *     ... b.buf[0 .. b.len) is the content, b.buf[b.len] == '\0' ...
 *     char *s = strbuf_detach(&b, &len);                (caller frees s)
 *
 * Growth doubles (from STRBUF_MIN_CAP), so appending n bytes one at a time
 * costs O(n).  Allocation failure aborts (xmalloc family): callers that must
 * bound memory (engine replies, files, placeholder output) check b.len
 * against their own limit before adding, as they did before.
 *
 * b.buf is NULL until the first growth: use strbuf_str() for a string that
 * is never NULL.  To read straight into the buffer:
 *     strbuf_grow(&b, 4096);
 *     n = read(fd, b.buf + b.len, strbuf_avail(&b));
 *     strbuf_setlen(&b, b.len + n);
 */
#ifndef ROVER_STRBUF_H
#define ROVER_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#define STRBUF_MIN_CAP 256

struct strbuf {
	char *buf;  /* NULL until the first growth */
	size_t len; /* bytes held, not counting the NUL */
	size_t cap; /* bytes allocated, the NUL included */
};

#define STRBUF_INIT        \
	{                  \
		NULL, 0, 0 \
	}

/* Make room for extra more bytes (and the NUL): afterwards
 * strbuf_avail(b) >= extra and b->buf is not NULL. */
void strbuf_grow(struct strbuf *b, size_t extra);

/* Bytes that can be written at b->buf + b->len without growing. */
size_t strbuf_avail(const struct strbuf *b);

/* Set the length (<= len + avail) after writing into the buffer; re-adds
 * the NUL. */
void strbuf_setlen(struct strbuf *b, size_t len);

void strbuf_add(struct strbuf *b, const void *data, size_t n);
void strbuf_adds(struct strbuf *b, const char *s);
void strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Empty it, keeping the allocation. */
void strbuf_reset(struct strbuf *b);

/* The content as a string, "" while nothing was added. */
const char *strbuf_str(const struct strbuf *b);

/* Hand the content over (never NULL: an empty buffer gives ""); *ret_len
 * (may be NULL) gets its length.  b is left empty, ready for reuse. */
char *strbuf_detach(struct strbuf *b, size_t *ret_len);

/* Free the content; b is left empty. */
void strbuf_release(struct strbuf *b);

static inline void strbuf_releasep(struct strbuf *b)
{
	strbuf_release(b);
}
#define _cleanup_strbuf_ __attribute__((cleanup(strbuf_releasep)))

#endif
