/* rover list [--json] [--watch [SECONDS]] */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/tty.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/list_scan.h"
#include "supervisor/cmd/list_view.h"
#include "supervisor/cmd/queue_view.h"
#include "supervisor/lib/list_cache.h"
#include "supervisor/lib/supervise.h"

static const char usage_text[] =
	"Usage: rover list [--json] [--watch [SECONDS]]\n"
	"\n"
	"List the tasks of this project.  Active tasks are first brought up to date\n"
	"from their status files and containers (a container that exited or vanished\n"
	"without saying so is classified, see 'rover inspect').\n"
	"\n"
	"Options:\n"
	"      --json             print a JSON array of task objects\n"
	"  -w, --watch [SECONDS]  a live table, refreshed on every change and at least\n"
	"                         every SECONDS (1-60, default 3); runs auto-retries\n"
	"                         unless another supervisor does\n"
	"      --no-engine        do not ask the engine (status files only)\n"
	"  -h, --help             this help\n"
	"\n"
	"On a terminal the table fits its width ($COLUMNS, else the terminal's):\n"
	"long titles and steps end with an ellipsis, lines never wrap; statuses are\n"
	"in colour unless NO_COLOR is set.  Into a pipe or a file, lines are whole\n"
	"and plain (--watch prints each frame after a '----' line, no screen\n"
	"clearing).  Outside a UTF-8 locale the output is plain ASCII.\n";

static char *render_json(const struct task_store *st, struct task *t, void *policy, size_t *ret_len)
{
	return list_view_task_text(st, t, policy, ret_len);
}

static char *render_row(const struct task_store *st, struct task *t, void *policy, size_t *ret_len)
{
	return list_view_row_text(st, t, policy, ret_len);
}

/* Both views: one pass over the store (list_scan.h), each with its own cache
 * (the JSON of --json, the rows of the table), and output fully buffered in
 * 64 KiB writes (main line-buffers stdout for people, which cost one
 * write(2) per task). */
static void print_listing(const struct cmd_env *env, bool json, bool no_engine)
{
	static char outbuf[1 << 16], errbuf[1 << 14];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	/* The warnings (one per running task when the engine is unreachable)
	 * too: they are all given before the table, and flushed before it. */
	setvbuf(stderr, errbuf, _IOFBF, sizeof(errbuf));
	struct project_retry *policy = &env->project->settings.retry;
	char key[64];
	snprintf(key, sizeof(key), "retry-max=%d", policy->max);
	struct list_scan_opts o = {
		.cache_file = json ? LIST_CACHE_FILE : LIST_CACHE_ROWS_FILE,
		.view_key = key,
		.render = json ? render_json : render_row,
		.render_data = policy,
		.no_engine = no_engine,
		.report = json ? NULL : cmd_report_stderr,
	};
	struct list_scan scan;
	list_scan_run(env->store, &o, &scan);
	fflush(stderr);
	setvbuf(stderr, NULL, _IONBF, 0);
	if (json) {
		list_view_print_items_json(stdout, scan.items, scan.n);
	} else if (scan.n == 0) {
		printf("No tasks yet. Create one with: rover task \"what to do\"\n");
	} else {
		struct list_view_style style = {.width = tty_columns(STDOUT_FILENO),
						.color = tty_color(STDOUT_FILENO),
						.utf8 = tty_utf8()};
		list_view_print_rows(stdout, scan.items, scan.n, timeutil_now_ms(), &style);
		queue_view_print_gates(stdout, env->store->dir, timeutil_now_ms());
	}
	fflush(stdout);
	list_scan_finish(&scan);
}

struct list_args {
	bool json, watch, no_engine;
	long interval;
};

/* -1: go on; else the exit code (usage printed). */
static int parse_args(int argc, char **argv, struct list_args *a)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"watch", optional_argument, NULL, 'w'},
		{"no-engine", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "w::h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'w':
			a->watch = true;
			/* "--watch 5" as well as "--watch=5" */
			if (!optarg && optind < argc && argv[optind][0] >= '0' &&
			    argv[optind][0] <= '9')
				optarg = argv[optind++];
			if (optarg) {
				if (!cmd_parse_uint("list", "--watch", optarg, 60, &a->interval))
					return CMD_USAGE;
				if (a->interval < 1)
					return cmd_usage_error(
						"list", "Watch interval must be between 1 and 60 "
							"seconds");
			}
			break;
		case 'n':
			a->no_engine = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CMD_OK;
		default:
			return cmd_usage_error("list", "invalid option");
		}
	}
	if (optind < argc)
		return cmd_usage_error("list", "unexpected argument '%s'", argv[optind]);
	return -1;
}

int cmd_list(int argc, char **argv)
{
	struct list_args a = {0};
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	_cleanup_error_ struct rv_error *err = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(a.json, CMD_FAILED, err);
	if (a.watch) {
		rc = cmd_list_watch(&env, (int)a.interval, a.json, a.no_engine);
		cmd_env_release(&env);
		return rc;
	}
	print_listing(&env, a.json, a.no_engine);
	if (!a.json && supervise_draining(env.project->store_dir))
		fprintf(stderr,
			"ℹ The supervisor is in drain mode: running tasks pause after their "
			"current step and nothing new starts\n");
	cmd_env_release(&env);
	return CMD_OK;
}
