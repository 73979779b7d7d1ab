/* rover delete ID [--force] [--json] */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/taskops.h"

static const char usage_text[] =
	"Usage: rover delete ID [--force] [--json]\n"
	"\n"
	"Delete a task: its containers, its worktree and branch (rover/task-ID), and\n"
	"its directory in the store (checkpoints and logs included).  A running task\n"
	"is refused: stop it first, or use --force.\n"
	"\n"
	"Options:\n"
	"  -f, --force    delete a running task too; go on when the engine cannot be\n"
	"                 reached or the task's record cannot be read, and say what was\n"
	"                 left behind\n"
	"      --json     print {taskId, deleted, containersRemoved, worktreeRemoved,\n"
	"                 leftBehind}\n"
	"  -h, --help     this help\n";

int cmd_delete(int argc, char **argv)
{
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false, force = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CMD_OK;
		default:
			return cmd_usage_error("delete", "invalid option");
		}
	}
	if (optind + 1 != argc)
		return optind >= argc ? cmd_usage_error("delete", "missing task id")
				      : cmd_usage_error("delete", "unexpected argument '%s'",
							argv[optind + 1]);
	int64_t id;
	if (!cmd_parse_id("delete", argv[optind], &id))
		return CMD_USAGE;

	_cleanup_error_ struct rv_error *err = NULL;
	struct cmd_env env;
	if (cmd_env_open(&env, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	struct task *t = NULL;
	int rc = CMD_OK;
	int r = task_store_load_id(env.store, id, &t, &err);
	/* A record that cannot be read can still be deleted with --force. */
	if (r < 0 && (r == -ENOENT || !force)) {
		if (r != -ENOENT)
			rv_error_wrap(&err, "use --force to delete task %lld anyway", (long long)id);
		rc = cmd_fail(json, CMD_FAILED, err);
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "⚠ %s\n", rv_error_msg(err));
		err = rv_error_free(err);
	} else {
		observe_task(env.store, &t, 0, json ? NULL : cmd_report_stderr, NULL);
	}
	struct taskops_delete_result res = {0};
	r = taskops_delete(env.project, env.store, id, t, force, &res, &err);
	task_free(t);
	if (r < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		goto out;
	}
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_int64(j, "taskId", id);
		jsonutil_set_bool(j, "deleted", true);
		jsonutil_set_int64(j, "containersRemoved", (int64_t)res.containers_removed);
		jsonutil_set_bool(j, "worktreeRemoved", res.worktree_removed);
		struct json_object *lb = json_object_new_array();
		for (size_t i = 0; i < res.n_left; i++)
			json_object_array_add(lb, json_object_new_string(res.left_behind[i]));
		json_object_object_add(j, "leftBehind", lb);
		cmd_print_json(j);
	} else {
		fprintf(stderr, "✓ Task %lld deleted (%zu container(s) removed%s)\n", (long long)id,
			res.containers_removed, res.worktree_removed ? ", worktree removed" : "");
	}
	for (size_t i = 0; i < res.n_left; i++)
		fprintf(stderr, "⚠ Left behind: %s\n", res.left_behind[i]);
	taskops_delete_result_release(&res);
out:
	cmd_env_release(&env);
	return rc;
}
