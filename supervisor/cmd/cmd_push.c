/* rover push ID [--remote R] [--json] */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/textutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/taskgit.h"

static const struct cmdopt_spec spec = {
	.verb = "push",
	.header =
		"Usage: rover push ID [--remote R] [--json]\n"
		"\n"
		"Push a task's branch rover/task-ID to a remote of the project, under the same\n"
		"name.  Files its agent left uncommitted are first committed on the branch\n"
		"(\"rover: uncommitted work of task ID\"), as 'rover merge' does.  Refused while\n"
		"the task's container runs.\n"
		"\n",
	.column = 17,
};

/* A remote's name: never empty, and never what git would take as an option. */
static bool remote_option(const char *verb, const char *arg, void *ptr)
{
	if (!*arg || *arg == '-') {
		cmd_usage_error(verb, "--remote needs a remote's name");
		return false;
	}
	*(const char **)ptr = arg;
	return true;
}

static int push(const struct cmd_env *env, struct taskgit_task *tg, int64_t id, bool json,
		void *ctx)
{
	const char *remote = *(const char **)ctx;
	int rc = CMD_OK;
	_cleanup_error_ struct rv_error *err = NULL;
	struct taskgit_push_result res = {0};
	int r = taskgit_push(tg, remote, &res, &err);
	if (r < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		goto out;
	}
	cmd_mark_done(env, id, TASK_PUSHED, "pushed");
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_bool(j, "pushed", true);
		jsonutil_set_int64(j, "taskId", id);
		jsonutil_set_str(j, "remote", res.remote);
		jsonutil_set_str(j, "branch", tg->branch);
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
			(long long)id, tg->branch, rem, res.commit,
			res.snapshot ? "; its uncommitted files were committed on it first" : "");
	}
out:
	taskgit_push_result_release(&res);
	return rc;
}

int cmd_push(int argc, char **argv)
{
	bool json = false;
	const char *remote = NULL;
	const struct cmdopt opts[] = {
		CMDOPT_CALL("remote", 'r', remote_option, &remote, "R",
			    "the remote (default: the branch's upstream remote, else origin)"),
		CMDOPT_FLAG("json", 0, &json,
			    "print {pushed, taskId, remote, branch, commit, snapshotCommit}"),
		CMDOPT_END,
	};
	return cmd_run_taskgit(&spec, opts, argc, argv, &json, true, NULL, push, &remote);
}
