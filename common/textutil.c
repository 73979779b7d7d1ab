#define _GNU_SOURCE
#include "textutil.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

/* Length of the well-formed UTF-8 sequence at p (at most n bytes left), or 0
 * when p does not start one (Unicode 15, table 3-7). */
static size_t seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		else if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* > U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

bool textutil_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t l = seq_len(p + i, len - i);
		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

char *textutil_utf8_clean(const char *s, size_t len)
{
	static const char repl[] = "\xEF\xBF\xBD";
	const unsigned char *p = (const unsigned char *)s;
	/* Each bad byte grows to 3 bytes: bound the result before filling it. */
	char *out = xmalloc(len * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t l = seq_len(p + i, len - i);
		if (l == 0) {
			memcpy(out + o, repl, 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return out;
}

char *textutil_tail(const char *s, size_t max)
{
	if (!s)
		s = "";
	_cleanup_free_ char *clean = textutil_utf8_clean(s, strlen(s));
	size_t len = strlen(clean);
	if (len <= max)
		return TAKE_PTR(clean);

	size_t cut = len - max;
	while (cut < len && ((unsigned char)clean[cut] & 0xC0) == 0x80)
		cut++;
	size_t dropped = 0;
	for (size_t i = 0; i < cut; i++)
		if (((unsigned char)clean[i] & 0xC0) != 0x80)
			dropped++;
	return xasprintf(TEXTUTIL_TRUNCATED_FMT "%s", dropped, clean + cut);
}

char *textutil_escape_terminal(const char *s)
{
	if (!s)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	/* Worst case: every byte becomes "\xHH" (4) or a C1 pair "\u00HH" (6
	 * for 2 bytes): 4 bytes per input byte is enough. */
	char *out = xmalloc(n * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c < 0x20 || c == 0x7F) {
			o += (size_t)sprintf(out + o, "\\x%02x", c);
			i++;
			continue;
		}
		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		size_t l = seq_len(p + i, n - i);
		if (l == 0) {
			/* Not UTF-8: a lone 0x9B is CSI on an 8-bit terminal. */
			o += (size_t)sprintf(out + o, "\\x%02x", c);
			i++;
			continue;
		}
		if (l == 2 && c == 0xC2 && p[i + 1] <= 0x9F) {
			o += (size_t)sprintf(out + o, "\\u%04x", p[i + 1]);
			i += 2;
			continue;
		}
		memcpy(out + o, p + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return out;
}

bool textutil_needs_escape(const char *s)
{
	if (!s)
		return false;
	_cleanup_free_ char *e = textutil_escape_terminal(s);
	return strcmp(e, s) != 0;
}

char *textutil_escape_log(const char *s, size_t len, size_t *ret_len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(len * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F) {
			o += (size_t)sprintf(out + o, "\\x%02x", c);
		} else if (c == 0xC2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F) {
			o += (size_t)sprintf(out + o, "\\u%04x", p[i + 1]);
			i++;
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	*ret_len = o;
	return out;
}
