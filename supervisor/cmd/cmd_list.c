/* rover list [--json] [--watch [SECONDS]] */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/list_view.h"
#include "supervisor/lib/observe.h"

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
	"  -h, --help             this help\n";

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"watch", optional_argument, NULL, 'w'},
		{"no-engine", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false, watch = false, no_engine = false;
	long interval = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "w::h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'w':
			watch = true;
			/* "--watch 5" as well as "--watch=5" */
			if (!optarg && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
				optarg = argv[optind++];
			if (optarg) {
				if (!cmd_parse_uint("list", "--watch", optarg, 60, &interval))
					return CMD_USAGE;
				if (interval < 1)
					return cmd_usage_error("list",
							       "Watch interval must be between 1 and 60 "
							       "seconds");
			}
			break;
		case 'n':
			no_engine = true;
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

	_cleanup_error_ struct rv_error *err = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	int rc;
	if (watch) {
		rc = cmd_list_watch(&env, (int)interval, json, no_engine);
		cmd_env_release(&env);
		return rc;
	}
	/* Static: the listing stays reachable until exit and is not freed.
	 * Freeing 10 000 parsed records costs ~60 ms, as much as reading them,
	 * for memory the kernel takes back a moment later anyway. */
	static struct task_list l;
	if (task_store_list(env.store, &l, &err) < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		cmd_env_release(&env);
		return rc;
	}
	observe_tasks(env.store, &l, no_engine ? OBSERVE_STATUS_ONLY : 0, json ? NULL : cmd_report_stderr,
		      NULL);
	if (json) {
		list_view_print_json(stdout, env.store, &l, &env.project->settings.retry);
	} else if (l.n == 0) {
		printf("No tasks yet. Create one with: rover task \"what to do\"\n");
	} else {
		list_view_print_table(stdout, env.store, &l, &env.project->settings.retry,
				      timeutil_now_ms());
	}
	cmd_env_release(&env);
	return CMD_OK;
}
