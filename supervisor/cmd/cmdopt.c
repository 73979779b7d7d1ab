#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"

/* More than any command has.  A longer table is a programming error, and
 * it aborts the first time that command runs (in any test of it). */
#define CMDOPT_MAX 24

/* getopt_long's value for opts[i]: its short letter, else one no letter has. */
#define LONG_ONLY_VAL 256

static bool takes_arg(const struct cmdopt *o)
{
	return o->kind == CMDOPT_CALL ? o->takes_arg : o->kind != CMDOPT_FLAG;
}

static size_t build_getopt(const struct cmdopt_spec *spec, const struct cmdopt *opts,
			   struct option *lo, char *so)
{
	size_t n = 0, k = 0;
	if (spec->stop_at_operand)
		so[k++] = '+';
	for (; n < CMDOPT_MAX && opts[n].name; n++) {
		const struct cmdopt *o = &opts[n];
		lo[n] = (struct option){o->name, takes_arg(o) ? required_argument : no_argument,
					NULL,
					o->short_name ? o->short_name : LONG_ONLY_VAL + (int)n};
		if (o->short_name) {
			so[k++] = o->short_name;
			if (takes_arg(o))
				so[k++] = ':';
		}
	}
	if (opts[n].name)
		abort();
	lo[n] = (struct option){"help", no_argument, NULL, 'h'};
	lo[n + 1] = (struct option){NULL, 0, NULL, 0};
	so[k++] = 'h';
	so[k] = '\0';
	return n;
}

/* Store one option's value; false after a usage error. */
static bool store(const char *verb, const struct cmdopt *o, const char *arg)
{
	_cleanup_free_ char *flag = NULL;
	switch (o->kind) {
	case CMDOPT_FLAG:
		*(bool *)o->ptr = true;
		return true;
	case CMDOPT_STRING:
		*(const char **)o->ptr = arg;
		return true;
	case CMDOPT_UINT:
		flag = xasprintf("--%s", o->name);
		return cmd_parse_uint(verb, flag, arg, o->max, (long *)o->ptr);
	case CMDOPT_DOLLARS:
		flag = xasprintf("--%s", o->name);
		return cmd_parse_dollars(verb, flag, arg, (double *)o->ptr);
	case CMDOPT_CALL:
		return o->call(verb, arg, o->ptr);
	}
	return false;
}

int cmdopt_parse(const struct cmdopt_spec *spec, const struct cmdopt *opts, int argc, char **argv)
{
	struct option lo[CMDOPT_MAX + 2];
	char so[3 * CMDOPT_MAX + 3];
	size_t n = build_getopt(spec, opts, lo, so);
	int c;
	/* 0, not 1: glibc then reads the short options again ("+" included) */
	optind = 0;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (c == 'h') {
			cmdopt_print_help(spec, opts, stdout);
			return CMD_OK;
		}
		size_t i = 0;
		while (i < n &&
		       c != (opts[i].short_name ? opts[i].short_name : LONG_ONLY_VAL + (int)i))
			i++;
		if (i == n)
			return cmd_usage_error(spec->verb, "invalid option");
		if (!store(spec->verb, &opts[i], optarg))
			return CMD_USAGE;
	}
	if (spec->no_operands && optind < argc)
		return cmd_usage_error(spec->verb, "unexpected argument '%s'", argv[optind]);
	return -1;
}

static void print_row(FILE *f, int column, char short_name, const char *name, const char *arg_name,
		      const char *help)
{
	int w = short_name ? fprintf(f, "  -%c, --%s", short_name, name)
			   : fprintf(f, "      --%s", name);
	if (arg_name)
		w += fprintf(f, " %s", arg_name);
	fprintf(f, "%*s", w < column ? column - w : 2, "");
	for (const char *p = help; *p;) {
		size_t len = strcspn(p, "\n");
		fwrite(p, 1, len, f);
		fputc('\n', f);
		p += len;
		if (*p == '\n' && *++p)
			fprintf(f, "%*s", column, "");
	}
}

void cmdopt_print_help(const struct cmdopt_spec *spec, const struct cmdopt *opts, FILE *f)
{
	fputs(spec->header, f);
	fputs("Options:\n", f);
	for (size_t i = 0; opts[i].name; i++)
		if (opts[i].help)
			print_row(f, spec->column, opts[i].short_name, opts[i].name,
				  takes_arg(&opts[i]) ? opts[i].arg_name : NULL, opts[i].help);
	print_row(f, spec->column, 'h', "help", NULL, "this help");
	if (spec->footer)
		fputs(spec->footer, f);
}

bool cmdopt_image(const char *verb, const char *arg, void *ptr)
{
	if (!*arg) {
		cmd_usage_error(verb, "--image needs an image name");
		return false;
	}
	*(const char **)ptr = arg;
	return true;
}
