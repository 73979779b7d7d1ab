#define _GNU_SOURCE
#include "tty.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tty_raw(int fd, struct tty_saved *ret)
{
	*ret = (struct tty_saved){.fd = fd};
	if (!isatty(fd))
		return -ENOTTY;
	struct termios tio;
	if (tcgetattr(fd, &tio) < 0)
		return -errno;
	ret->tio = tio;
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	/* TCSANOW, not TCSAFLUSH: what was typed ahead is the session's. */
	if (tcsetattr(fd, TCSANOW, &tio) < 0)
		return -errno;
	ret->saved = true;
	return 0;
}

void tty_restore(struct tty_saved *s)
{
	if (!s || !s->saved)
		return;
	(void)tcsetattr(s->fd, TCSANOW, &s->tio);
	s->saved = false;
}

bool tty_size(int fd, unsigned *ret_rows, unsigned *ret_cols)
{
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0 || ws.ws_row == 0)
		return false;
	*ret_rows = ws.ws_row;
	*ret_cols = ws.ws_col;
	return true;
}

int tty_columns_from(const char *columns_env, unsigned tty_cols)
{
	if (columns_env && *columns_env) {
		char *end = NULL;
		errno = 0;
		long v = strtol(columns_env, &end, 10);
		if (!errno && *end == '\0' && v > 0 && v <= 100000)
			return (int)v;
	}
	return tty_cols > 100000 ? 100000 : (int)tty_cols;
}

int tty_columns(int fd)
{
	unsigned rows = 0, cols = 0;
	if (!isatty(fd))
		return 0;
	if (!tty_size(fd, &rows, &cols))
		cols = 0;
	return tty_columns_from(getenv("COLUMNS"), cols);
}

bool tty_color_from(bool isatty_, const char *no_color, const char *term)
{
	if (!isatty_)
		return false;
	if (no_color && *no_color)
		return false;
	return !(term && !strcmp(term, "dumb"));
}

bool tty_color(int fd)
{
	return tty_color_from(isatty(fd), getenv("NO_COLOR"), getenv("TERM"));
}

bool tty_codeset_is_utf8(const char *codeset)
{
	return codeset && (!strcasecmp(codeset, "UTF-8") || !strcasecmp(codeset, "UTF8"));
}

bool tty_locale_is_utf8(const char *lc_all, const char *lc_ctype, const char *lang)
{
	const char *name = lc_all && *lc_all ? lc_all : lc_ctype && *lc_ctype ? lc_ctype : lang;
	const char *dot = name ? strchr(name, '.') : NULL;
	if (!dot)
		return false; /* unset, "C", "POSIX", or a name without a codeset */
	char codeset[16];
	size_t n = strcspn(dot + 1, "@");
	if (n >= sizeof(codeset))
		return false;
	memcpy(codeset, dot + 1, n);
	codeset[n] = '\0';
	return tty_codeset_is_utf8(codeset);
}

bool tty_utf8(void)
{
	static int known = -1;
	/* The name the environment gives, as setlocale(LC_CTYPE, "") would
	 * choose it, read as text: loading the locale (newlocale) to ask it
	 * cost every `rover list` more than rendering its rows. */
	if (known < 0)
		known = tty_locale_is_utf8(getenv("LC_ALL"), getenv("LC_CTYPE"), getenv("LANG"));
	return known == 1;
}
