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

/* ---- display width ------------------------------------------------------ */

int textutil_char_width(unsigned cp)
{
	if (cp == 0)
		return 0;
	if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x0483 && cp <= 0x0489) ||
	    (cp >= 0x0591 && cp <= 0x05BD) || (cp >= 0x0610 && cp <= 0x061A) ||
	    (cp >= 0x064B && cp <= 0x065F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
	    (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x200B && cp <= 0x200F) ||
	    (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
	    (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0xFEFF || (cp >= 0xE0100 && cp <= 0xE01EF))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
	    (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
	    (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
	    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
	    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
	    (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
	    (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD))
		return 2;
	return 1;
}

/* The character at s: its code point and byte length (a byte that does not
 * start well-formed UTF-8: itself, length 1, *ret_ok false). */
static size_t next_char(const unsigned char *s, unsigned *ret_cp, bool *ret_ok)
{
	size_t n = seq_len(s, strnlen((const char *)s, 4));
	*ret_ok = n > 0;
	if (n == 0) {
		*ret_cp = s[0];
		return 1;
	}
	unsigned cp = n == 1 ? s[0] : n == 2 ? s[0] & 0x1Fu : n == 3 ? s[0] & 0x0Fu : s[0] & 0x07u;
	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3Fu);
	*ret_cp = cp;
	return n;
}

int textutil_width(const char *s, bool utf8)
{
	int w = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		unsigned cp;
		bool ok;
		p += next_char(p, &cp, &ok);
		w += !utf8 || !ok ? 1 : textutil_char_width(cp);
	}
	return w;
}

char *textutil_fit(const char *s, int width, bool utf8, bool pad)
{
	if (width <= 0)
		return xstrdup("");
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int total = textutil_width((const char *)p, utf8);
	const char *ell = utf8 ? "\xE2\x80\xA6" : "...";
	int ell_w = utf8 ? 1 : width < 3 ? width : 3;
	int limit = total > width ? width - ell_w : width;
	size_t cap = strlen((const char *)p) + (size_t)width + 8;
	char *out = xmalloc(cap);
	size_t o = 0;
	int cols = 0;
	while (*p) {
		unsigned cp;
		bool ok;
		size_t n = next_char(p, &cp, &ok);
		int w = !utf8 || !ok ? 1 : textutil_char_width(cp);
		if (cols + w > limit)
			break;
		if (*p == '\t' || *p == '\n' || *p == '\r')
			out[o++] = ' ';
		else if (!utf8 && (n > 1 || *p >= 0x80))
			out[o++] = '?';
		else {
			memcpy(out + o, p, n);
			o += n;
		}
		cols += w;
		p += n;
	}
	if (total > width) {
		if (utf8) {
			memcpy(out + o, ell, 3);
			o += 3;
		} else {
			memcpy(out + o, ell, (size_t)ell_w);
			o += (size_t)ell_w;
		}
		cols += ell_w;
	}
	while (pad && cols < width) {
		out[o++] = ' ';
		cols++;
	}
	out[o] = '\0';
	return out;
}
