/*
 * tty.h - the user's terminal: raw mode and getting it back, its size, and
 * what it can show (colour, UTF-8).
 *
 * Raw mode (tty_raw) is for an interactive session that passes every key
 * through (rover shell): no echo, no line editing, no signals from Ctrl+C
 * or Ctrl+Z, no output processing.  The caller restores the saved mode on
 * every way out (tty_restore; a tty_saved with saved == false is left
 * alone), signals included: block them and read them in the event loop.
 *
 * What a listing may print:
 *   tty_columns   0 (no limit: a pipe or a file gets whole lines, whatever
 *                 $COLUMNS says) when fd is not a terminal; else $COLUMNS
 *                 when it is a positive number (set on purpose: shells do
 *                 not export it), else the terminal's width (TIOCGWINSZ),
 *                 else 0.
 *   tty_color     fd is a terminal, NO_COLOR is unset or empty
 *                 (no-color.org), and TERM is not "dumb".
 *   tty_utf8      the character set named by the locale the environment
 *                 chooses (the first set of LC_ALL, LC_CTYPE, LANG, as
 *                 setlocale(LC_CTYPE, "") picks it; read once, as text,
 *                 without loading the locale or changing the process's) is
 *                 UTF-8, e.g. "en_US.UTF-8", "C.utf8"; else output is plain
 *                 ASCII.
 */
#ifndef ROVER_TTY_H
#define ROVER_TTY_H

#include <stdbool.h>
#include <termios.h>

struct tty_saved {
	int fd;
	bool saved;
	struct termios tio;
};

/* Put terminal fd in raw mode, its previous mode into *ret.  Not a
 * terminal: -ENOTTY (and *ret->saved false); else -errno. */
int tty_raw(int fd, struct tty_saved *ret);

/* Put back what tty_raw saved (at once: pending output is not waited for,
 * typed input is kept). */
void tty_restore(struct tty_saved *s);

/* The terminal's rows and columns; false when fd is not a terminal or it
 * does not know. */
bool tty_size(int fd, unsigned *ret_rows, unsigned *ret_cols);

/* See top. */
int tty_columns(int fd);
bool tty_color(int fd);
bool tty_utf8(void);

/* Pure forms, for tests: columns of a terminal from $COLUMNS (NULL: unset)
 * and its width (0: unknown); colour from isatty, $NO_COLOR and $TERM;
 * UTF-8 from a codeset name ("UTF-8", "utf8"), and from the three
 * variables (NULL: unset). */
int tty_columns_from(const char *columns_env, unsigned tty_cols);
bool tty_color_from(bool isatty, const char *no_color, const char *term);
bool tty_codeset_is_utf8(const char *codeset);
bool tty_locale_is_utf8(const char *lc_all, const char *lc_ctype, const char *lang);

#endif
