/* Unit tests for the option tables of the commands (supervisor/cmd/cmdopt.c):
 * the help layout every command's --help depends on (the column, a name
 * that reaches it, continued lines, hidden rows, the footer), and parsing:
 * each kind of value, a bad value or an unknown option as a usage error
 * (exit 2), --help ending the parse, options after operands (permuted) or
 * not (stop_at_operand), and no_operands.  cmdopt.c and cmd_util.c are
 * command-side files, not in a library: they are compiled in directly. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* cmd_util.c has a static fail_msg of its own */
#undef fail_msg
#include "supervisor/cmd/cmd_util.c"
#include "supervisor/cmd/cmdopt.c"

/* argv as main gets it: writable strings, NULL-terminated. */
struct args {
	int argc;
	char *argv[16];
};

static struct args *mk(const char *const *words)
{
	static struct args a;
	for (int i = 0; i < a.argc; i++)
		free(a.argv[i]);
	a.argc = 0;
	while (words[a.argc]) {
		a.argv[a.argc] = xstrdup(words[a.argc]);
		a.argc++;
	}
	a.argv[a.argc] = NULL;
	return &a;
}

#define ARGS(...) mk((const char *const[]){__VA_ARGS__, NULL})

static char *help_of(const struct cmdopt_spec *spec, const struct cmdopt *opts)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	cmdopt_print_help(spec, opts, f);
	fclose(f);
	return buf;
}

static void test_help_layout(void **state)
{
	(void)state;
	bool json = false, all = false;
	const char *image = NULL;
	long timeout = 0;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("all", 0, &all, NULL),
		CMDOPT_UINT("timeout", 't', &timeout, 100, "SECONDS", "how long\nat most"),
		CMDOPT_STRING("image", 0, &image, "IMAGE", "the image"),
		CMDOPT_FLAG("json", 0, &json, "print JSON"),
		CMDOPT_END,
	};
	const struct cmdopt_spec spec = {
		.verb = "x", .header = "Usage: rover x\n\n", .footer = "\nEnd.\n", .column = 20};
	_cleanup_free_ char *h = help_of(&spec, opts);
	assert_string_equal(h, "Usage: rover x\n"
			       "\n"
			       "Options:\n"
			       "  -t, --timeout SECONDS  how long\n" /* reaches the column: two */
			       "                    at most\n"
			       "      --image IMAGE the image\n" /* one short: one */
			       "      --json        print JSON\n"
			       "  -h, --help        this help\n"
			       "\n"
			       "End.\n");
}

static void test_help_one_space_short_of_the_column(void **state)
{
	(void)state;
	const char *remote = NULL;
	const struct cmdopt opts[] = {
		CMDOPT_STRING("remote", 'r', &remote, "R", "the remote"),
		CMDOPT_END,
	};
	const struct cmdopt_spec spec = {.verb = "push", .header = "", .column = 17};
	_cleanup_free_ char *h = help_of(&spec, opts);
	assert_string_equal(h, "Options:\n"
			       "  -r, --remote R the remote\n"
			       "  -h, --help     this help\n");
}

static bool odd_only(const char *verb, const char *arg, void *ptr)
{
	long v = strtol(arg, NULL, 10);
	if (v % 2 == 0) {
		cmd_usage_error(verb, "not odd");
		return false;
	}
	*(long *)ptr = v;
	return true;
}

struct parsed {
	bool json, all;
	const char *name;
	long n, odd;
	double usd;
};

static int parse(const struct cmdopt_spec *spec, struct parsed *p, int argc, char **argv)
{
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("json", 0, &p->json, "json"),
		CMDOPT_FLAG("all", 'a', &p->all, NULL),
		CMDOPT_STRING("name", 'n', &p->name, "NAME", "a name"),
		CMDOPT_UINT("count", 'c', &p->n, 10, "N", "a count"),
		CMDOPT_CALL("odd", 0, odd_only, &p->odd, "N", "odd"),
		CMDOPT_DOLLARS("budget", 0, &p->usd, "USD", "money"),
		CMDOPT_END,
	};
	return cmdopt_parse(spec, opts, argc, argv);
}

static void test_parse_values(void **state)
{
	(void)state;
	const struct cmdopt_spec spec = {.verb = "x", .header = "", .column = 10};
	struct parsed p = {0};
	struct args *argv = ARGS("x", "ID", "--json", "-a", "-n", "bob", "--count=7", "--odd", "5",
				 "--budget", "2.5", "rest");
	assert_int_equal(parse(&spec, &p, argv->argc, argv->argv), -1);
	assert_true(p.json && p.all);
	assert_string_equal(p.name, "bob");
	assert_int_equal(p.n, 7);
	assert_int_equal(p.odd, 5);
	assert_true(p.usd == 2.5);
	/* permuted: the operands end up after the options */
	assert_int_equal(optind, 10);
	assert_string_equal(argv->argv[optind], "ID");
	assert_string_equal(argv->argv[optind + 1], "rest");
}

static void test_parse_usage_errors(void **state)
{
	(void)state;
	const struct cmdopt_spec spec = {.verb = "x", .header = "", .column = 10};
	struct parsed p = {0};
	struct args *bogus = ARGS("x", "--bogus");
	assert_int_equal(parse(&spec, &p, bogus->argc, bogus->argv), CMD_USAGE);
	struct args *big = ARGS("x", "--count", "11");
	assert_int_equal(parse(&spec, &p, big->argc, big->argv), CMD_USAGE);
	struct args *even = ARGS("x", "--odd", "4");
	assert_int_equal(parse(&spec, &p, even->argc, even->argv), CMD_USAGE);
	struct args *zero = ARGS("x", "--budget", "0");
	assert_int_equal(parse(&spec, &p, zero->argc, zero->argv), CMD_USAGE);
	struct args *missing = ARGS("x", "--name");
	assert_int_equal(parse(&spec, &p, missing->argc, missing->argv), CMD_USAGE);
	/* a bad value before --help is still the error */
	struct args *first = ARGS("x", "-c", "x", "--help");
	assert_int_equal(parse(&spec, &p, first->argc, first->argv), CMD_USAGE);
}

static void test_parse_help_and_operands(void **state)
{
	(void)state;
	struct cmdopt_spec spec = {.verb = "x", .header = "", .column = 10};
	struct parsed p = {0};
	FILE *saved = stdout;
	stdout = fopen("/dev/null", "w");
	struct args *help = ARGS("x", "-h", "--bogus");
	int rc = parse(&spec, &p, help->argc, help->argv);
	fclose(stdout);
	stdout = saved;
	assert_int_equal(rc, CMD_OK);

	/* stop_at_operand: "--json" after the operand is the operand's */
	spec.stop_at_operand = true;
	struct parsed q = {0};
	struct args *stop = ARGS("x", "7", "--json");
	assert_int_equal(parse(&spec, &q, stop->argc, stop->argv), -1);
	assert_false(q.json);
	assert_int_equal(optind, 1);

	spec.stop_at_operand = false;
	spec.no_operands = true;
	struct args *extra = ARGS("x", "--json", "7");
	assert_int_equal(parse(&spec, &q, extra->argc, extra->argv), CMD_USAGE);
	struct args *none = ARGS("x", "--json");
	assert_int_equal(parse(&spec, &q, none->argc, none->argv), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_layout),
		cmocka_unit_test(test_help_one_space_short_of_the_column),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_usage_errors),
		cmocka_unit_test(test_parse_help_and_operands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
