/*
 * error.h - the one error convention of rover and rover-agent.
 *
 * A fallible function returns int: >= 0 on success, -code on failure, where code
 * is an errno value > 0 (non-syscall failures use a synthetic errno such as
 * EBADMSG for malformed input, EPROTO for an engine protocol error, ENOENT for a
 * missing task).  It fills *err (when err is not NULL) with a message that names
 * the object and what is wrong.  Callers add context with rv_error_wrap(); main()
 * prints the message once.  Library code never prints and never exits.
 *
 * Calling sequence:
 *     struct rv_error *err = NULL;          (or _cleanup_error_)
 *     if (checkpoint_load(path, &cp, &err) < 0) {
 *             rv_error_wrap(&err, "cannot resume task %d", id);
 *             ...print err->msg, rv_error_free(err)...
 *     }
 *
 * An error is owned by whoever holds the pointer; rv_error_free() releases it.
 * Setting an error into a slot that already holds one replaces the old one.
 * Allocation failures abort (xmalloc family): an error path must not fail.
 *
 * See docs/design/errors.md.
 */
#ifndef ROVER_ERROR_H
#define ROVER_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct rv_error {
	int code;        /* errno value > 0 */
	int http_status; /* engine HTTP status when the error came from the engine, else 0 */
	char *msg;       /* one line, no trailing newline */
};

/* Record an error; returns -code.  code <= 0 is stored as EIO. */
int rv_error_set(struct rv_error **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As rv_error_set, with ": <strerror(code)>" appended. */
int rv_error_errno(struct rv_error **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix context: "<context>: <old message>".  Returns -code of the held error
 * (or -EIO when there is none, after recording the context alone). */
int rv_error_wrap(struct rv_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Transient errors are worth retrying: EAGAIN, EINTR, EBUSY, ECONNREFUSED,
 * ECONNRESET, ETIMEDOUT, EPIPE, and engine HTTP 429 or 5xx. */
bool rv_error_is_transient(const struct rv_error *err);

/* The message, or "unknown error" when err is NULL. */
const char *rv_error_msg(const struct rv_error *err);

/* NULL-safe; returns NULL so callers can write err = rv_error_free(err). */
struct rv_error *rv_error_free(struct rv_error *err);

/* Hand the error *src to the caller's err (replacing what it held; err
 * NULL: the error is freed).  *src is NULL afterwards. */
void rv_error_pass(struct rv_error **err, struct rv_error **src);

/* Allocation that aborts with a message on out-of-memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As xasprintf, for the variadic functions that format a message of their
 * own (ap is consumed). */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
