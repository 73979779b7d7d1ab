/*
 * cmdopt.h - the options of a `rover` command, as one table.
 *
 * Every command used to carry its own getopt_long loop: the struct option
 * array, the short-option string, a switch that stored each value, the
 * --help case and the "invalid option" default, the same dozen lines in
 * twenty files.  A command now describes its options once, in a table of
 * struct cmdopt rows, and that one table both parses argv and writes the
 * "Options:" section of its --help, so the two cannot drift apart.
 *
 * Calling sequence:
 *
 *	bool json = false;
 *	const char *reason = NULL;
 *	static const struct cmdopt_spec spec = {...};   // or on the stack
 *	struct cmdopt opts[] = {
 *		CMDOPT_STRING("reason", 'r', &reason, "TEXT", "why"),
 *		CMDOPT_FLAG("json", 0, &json, "print one JSON object"),
 *		CMDOPT_END,
 *	};
 *	int rc = cmdopt_parse(&spec, opts, argc, argv);
 *	if (rc >= 0)
 *		return rc;          // --help printed, or a usage error printed
 *	// optind is at the operands
 *
 * Parsing is getopt_long underneath (permuting, unless spec->stop_at_operand;
 * long names may be abbreviated; getopt's own "unrecognized option" line on
 * stderr), then "rover: VERB: invalid option" and the hint (cmd_usage_error).
 * Values are stored as each option is met, in argv order: a bad value is a
 * usage error at once, and --help (-h, always there, never in the table)
 * prints the help and ends the parse.  The pointers in the table belong to
 * the caller; cmdopt keeps nothing.
 *
 * Help layout: the spec's header (everything before "Options:"), then one
 * row per option, "  -x, --name ARG" (six spaces instead of "-x, " for a
 * long-only option) padded to spec->column, at least one space, or two when
 * the name reaches the column; a '\n' in the help text goes on at the
 * column; last "  -h, --help" "this help" and the spec's footer.
 */
#ifndef ROVER_CMDOPT_H
#define ROVER_CMDOPT_H

#include <stdbool.h>
#include <stdio.h>

enum cmdopt_kind {
	CMDOPT_FLAG,    /* bool *: set to true */
	CMDOPT_STRING,  /* const char **: the argument (argv's own storage) */
	CMDOPT_UINT,    /* long *: a whole number from 0 to max (cmd_parse_uint) */
	CMDOPT_DOLLARS, /* double *: dollars above 0 (cmd_parse_dollars) */
	CMDOPT_CALL,    /* call(verb, arg, ptr): false after printing a usage error */
};

struct cmdopt {
	const char *name; /* the long name, without "--"; NULL ends the table */
	char short_name;  /* 0: long only */
	enum cmdopt_kind kind;
	void *ptr;
	long max; /* CMDOPT_UINT */
	bool (*call)(const char *verb, const char *arg, void *ptr);
	bool takes_arg;       /* CMDOPT_CALL: whether it has an argument */
	const char *arg_name; /* in the help: "--name ARG" */
	const char *help;     /* NULL: not in the help (pause --all) */
};

#define CMDOPT_FLAG(n, s, p, h)                                                              \
	{                                                                                    \
		.name = (n), .short_name = (s), .kind = CMDOPT_FLAG, .ptr = (p), .help = (h) \
	}
#define CMDOPT_STRING(n, s, p, a, h)                                               \
	{                                                                          \
		.name = (n), .short_name = (s), .kind = CMDOPT_STRING, .ptr = (p), \
		.arg_name = (a), .help = (h)                                       \
	}
#define CMDOPT_UINT(n, s, p, m, a, h)                                                        \
	{                                                                                    \
		.name = (n), .short_name = (s), .kind = CMDOPT_UINT, .ptr = (p), .max = (m), \
		.arg_name = (a), .help = (h)                                                 \
	}
#define CMDOPT_DOLLARS(n, s, p, a, h)                                               \
	{                                                                           \
		.name = (n), .short_name = (s), .kind = CMDOPT_DOLLARS, .ptr = (p), \
		.arg_name = (a), .help = (h)                                        \
	}
#define CMDOPT_CALL(n, s, f, p, a, h)                                                         \
	{                                                                                     \
		.name = (n), .short_name = (s), .kind = CMDOPT_CALL, .ptr = (p), .call = (f), \
		.takes_arg = true, .arg_name = (a), .help = (h)                               \
	}
#define CMDOPT_END           \
	{                    \
		.name = NULL \
	}

struct cmdopt_spec {
	const char *verb;     /* "pause": in usage errors ("rover: pause: ...") */
	const char *header;   /* the help before "Options:\n" */
	const char *footer;   /* after the options (NULL: none) */
	int column;           /* where the options' help texts start */
	bool stop_at_operand; /* options end at the first operand (shell, iterate) */
	bool no_operands;     /* an operand is "unexpected argument '...'" */
};

/* Parse argv[1..] against opts.  Returns -1 to go on (optind at the first
 * operand), CMD_OK after printing the help on stdout, or CMD_USAGE after
 * printing a usage error on stderr. */
int cmdopt_parse(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc, char **argv);

/* The help text the table describes (what --help prints). */
void cmdopt_print_help(const struct cmdopt_spec *spec, const struct cmdopt *opts, FILE *f);

/* CMDOPT_CALL helpers shared by several commands. */
/* A non-empty image name into (const char **)ptr ("--image needs an image name"). */
bool cmdopt_image(const char *verb, const char *arg, void *ptr);

#endif
