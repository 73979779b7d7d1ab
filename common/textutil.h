/*
 * textutil.h - making untrusted text (a tool's stdout/stderr, an error
 * message) safe to store in JSON files and logs.
 *
 * JSON text must be UTF-8 (RFC 8259); json-c writes whatever bytes it is
 * given, so a command that prints binary would otherwise produce a file that
 * strict readers (and schema validators) reject.  Both functions return a new
 * NUL-terminated string that is valid UTF-8: every byte that does not start a
 * well-formed sequence (overlongs, surrogates, > U+10FFFF, truncated
 * sequences) becomes U+FFFD.  The caller frees the result.
 */
#ifndef ROVER_TEXTUTIL_H
#define ROVER_TEXTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Prefix of a value cut by textutil_tail(): "[...truncated N chars...]". */
#define TEXTUTIL_TRUNCATED_FMT "[...truncated %zu chars...]"

/* A valid UTF-8 copy of s[0..len). */
char *textutil_utf8_clean(const char *s, size_t len);

/* True when s[0..len) is valid UTF-8. */
bool textutil_utf8_valid(const char *s, size_t len);

/* A valid UTF-8 copy of s keeping at most its last max bytes.  When bytes are
 * dropped the copy starts with "[...truncated N chars...]" (N counts the
 * characters, i.e. code points, removed) and the cut never splits a
 * character, so the kept tail may be up to 3 bytes shorter than max.  The
 * reference keeps the tail because the end of a tool's output is where its
 * error is. */
char *textutil_tail(const char *s, size_t max);

#endif
