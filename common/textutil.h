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

/* A copy of s safe to print on a terminal (NULL for NULL): every C0 control
 * byte (all of 0x00-0x1F, newline and tab included, so a value stays on its
 * line), DEL and any byte that is not part of well-formed UTF-8 becomes
 * "\xHH"; the C1 controls U+0080-U+009F (CSI U+009B, OSC U+009D ...) become
 * "\u00HH".  So text the container wrote can never send ESC, CSI or OSC
 * sequences (set the title, clear the screen, move the cursor) to the user's
 * terminal.  Everything else, including other UTF-8, is kept.  Only for
 * human output: --json keeps the raw value (json-c escapes it). */
char *textutil_escape_terminal(const char *s);

/* For output printed as it is (`rover logs` on a terminal): the same, but
 * newline, tab and carriage return are kept, and bytes that are not UTF-8
 * are left alone (they are no control sequence on a UTF-8 terminal).  A
 * chunk must not end between 0xC2 and its second byte (the caller carries
 * a trailing 0xC2 over).  *ret_len is the result's length. */
char *textutil_escape_log(const char *s, size_t len, size_t *ret_len);

/* Columns on a terminal.  textutil_char_width: 0 for combining marks and
 * zero-width characters, 2 for East Asian wide and fullwidth characters and
 * emoji, else 1 (a small table, not the full wcwidth: enough to keep a
 * table's columns straight for the text tasks have). */
int textutil_char_width(unsigned cp);

/* The display width of s (UTF-8; a byte that is not UTF-8 counts 1); with
 * utf8 false, as textutil_fit shows it: one column a character. */
int textutil_width(const char *s, bool utf8);

/* s made to fill exactly width columns (pad: spaces after) or at most width
 * (no pad), never more: when it is wider it is cut and ends with an
 * ellipsis, "\u2026" with utf8, "..." (or fewer dots when width < 3)
 * without.  Without utf8 the result is plain ASCII: each non-ASCII
 * character becomes '?'.  s should already be safe for a terminal
 * (textutil_escape_terminal); tab and newline become spaces.  Newly
 * allocated; width <= 0 gives "". */
char *textutil_fit(const char *s, int width, bool utf8, bool pad);

/* True when textutil_escape_terminal(s) would change s. */
bool textutil_needs_escape(const char *s);

#endif
