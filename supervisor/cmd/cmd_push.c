/* rover push ID [--remote R] [--json] */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/lib/taskgit.h"

static const char usage_text[] =
	"Usage: rover push ID [--remote R] [--json]\n"
	"\n"
	"Push a task's branch rover/task-ID to a remote of the project, under the same\n"
	"name.  Files its agent left uncommitted are first committed on the branch\n"
	"(\"rover: uncommitted work of task ID\"), as 'rover merge' does.  Refused while\n"
	"the task's container runs.\n"
	"\n"
	"Options:\n"
	"  -r, --remote R the remote (default: the branch's upstream remote, else origin)\n"
	"      --json     print {pushed, taskId, remote, branch, commit, snapshotCommit}\n"
	"  -h, --help     this help\n";

int cmd_push(int argc, char **argv)
{
	static const struct option opts[] = {
		{"remote", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool json = false;
	const char *remote = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			remote = optarg;
			if (!*remote || *remote == '-')
				return cmd_usage_error("push", "--remote needs a remote's name");
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CMD_OK;
		default:
			return cmd_usage_error("push", "invalid option");
		}
	}
	struct cmd_env env;
	struct taskgit_task tg = {0};
	int64_t id = 0;
	int rc = cmd_open_taskgit("push", argc, argv, json, true, &env, &id, &tg);
	if (rc >= 0)
		return rc;
	rc = CMD_OK;
	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_error_ struct rv_error *me = NULL;
	struct taskgit_push_result res = {0};
	int r = taskgit_push(&tg, remote, &res, &err);
	if (r < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		goto out;
	}
	if (taskgit_mark(env.store, id, TASK_PUSHED, &me) < 0)
		fprintf(stderr, "⚠ Task %lld was pushed, but its status was not updated: %s\n",
			(long long)id, rv_error_msg(me));
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_bool(j, "pushed", true);
		jsonutil_set_int64(j, "taskId", id);
		jsonutil_set_str(j, "remote", res.remote);
		jsonutil_set_str(j, "branch", tg.branch);
		jsonutil_set_str(j, "commit", res.commit);
		json_object_object_add(j, "snapshotCommit",
				       res.snapshot ? json_object_new_string(res.snapshot) : NULL);
		cmd_print_json(j);
	}
	for (size_t i = 0; !json && i < res.snap.n_skipped; i++) {
		_cleanup_free_ char *safe = textutil_escape_terminal(res.snap.skipped[i]);
		fprintf(stderr, "⚠ Not pushed (left in the workspace): %s\n", safe);
	}
	if (!json) {
		_cleanup_free_ char *rem = textutil_escape_terminal(res.remote);
		fprintf(stderr, "✓ Task %lld's branch %s pushed to '%s' (commit %.12s)%s\n",
			(long long)id, tg.branch, rem, res.commit,
			res.snapshot ? "; its uncommitted files were committed on it first" : "");
	}
out:
	taskgit_push_result_release(&res);
	taskgit_task_release(&tg);
	cmd_env_release(&env);
	return rc;
}
