#define _GNU_SOURCE
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
	static const char m[] = "rover: out of memory\n";
	/* write(2) directly: stdio may itself need memory. */
	if (fwrite(m, 1, sizeof(m) - 1, stderr) == 0) {
		/* nothing more we can do */
	}
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		oom();
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

static int store(struct rv_error **err, int code, char *msg)
{
	if (code <= 0)
		code = EIO;
	if (!err) {
		free(msg);
		return -code;
	}
	rv_error_free(*err);
	struct rv_error *e = xcalloc(1, sizeof(*e));
	e->code = code;
	e->msg = msg;
	*err = e;
	return -code;
}

int rv_error_set(struct rv_error **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	return store(err, code, msg);
}

int rv_error_errno(struct rv_error **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *head = xvasprintf(fmt, ap);
	va_end(ap);
	char *msg = xasprintf("%s: %s", head, strerror(code > 0 ? code : EIO));
	free(head);
	return store(err, code, msg);
}

void rv_error_pass(struct rv_error **err, struct rv_error **src)
{
	struct rv_error *e = *src;
	*src = NULL;
	if (!err) {
		rv_error_free(e);
		return;
	}
	rv_error_free(*err);
	*err = e;
}

int rv_error_wrap(struct rv_error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *ctx = xvasprintf(fmt, ap);
	va_end(ap);
	if (!err) {
		free(ctx);
		return -EIO;
	}
	if (!*err)
		return store(err, EIO, ctx);
	char *msg = xasprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return -(*err)->code;
}

bool rv_error_is_transient(const struct rv_error *err)
{
	if (!err)
		return false;
	if (err->http_status == 429 || err->http_status >= 500)
		return true;
	switch (err->code) {
	case EAGAIN:
	case EINTR:
	case EBUSY:
	case ECONNREFUSED:
	case ECONNRESET:
	case ETIMEDOUT:
	case EPIPE:
		return true;
	default:
		return false;
	}
}

const char *rv_error_msg(const struct rv_error *err)
{
	return err && err->msg ? err->msg : "unknown error";
}

struct rv_error *rv_error_free(struct rv_error *err)
{
	if (err) {
		free(err->msg);
		free(err);
	}
	return NULL;
}
