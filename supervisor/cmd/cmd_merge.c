/* rover merge ID [--json] */
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
	.verb = "merge",
	.header = "Usage: rover merge ID [--json]\n"
		  "\n"
		  "Merge a task's work into the branch you are on in the project.  Files its\n"
		  "agent left uncommitted are first committed on the task's branch\n"
		  "rover/task-ID (\"rover: uncommitted work of task ID\"), then that branch is\n"
		  "merged (git merge --no-ff).  Refused, with nothing changed, while the task's\n"
		  "container runs, when your tracked files have uncommitted changes, and when\n"
		  "the task's work conflicts with your branch (the conflicting files are named).\n"
		  "\n",
	.column = 17,
};

static int merge(const struct cmd_env *env, struct taskgit_task *tg, int64_t id, bool json,
		 void *ctx)
{
	(void)ctx;
	int rc = CMD_OK;
	_cleanup_error_ struct rv_error *err = NULL;
	struct taskgit_merge_result res = {0};
	int r = taskgit_merge(tg, &res, &err);
	if (r < 0) {
		rc = cmd_fail(json, CMD_FAILED, err);
		goto out;
	}
	cmd_mark_done(env, id, TASK_MERGED, "merged");
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_bool(j, "merged", true);
		jsonutil_set_int64(j, "taskId", id);
		jsonutil_set_str(j, "into", res.into);
		jsonutil_set_str(j, "commit", res.commit);
		json_object_object_add(j, "snapshotCommit",
				       res.snapshot ? json_object_new_string(res.snapshot) : NULL);
		jsonutil_set_bool(j, "alreadyMerged", res.already);
		struct json_object *sk = json_object_new_array();
		for (size_t i = 0; i < res.snap.n_skipped; i++)
			json_object_array_add(sk, json_object_new_string(res.snap.skipped[i]));
		json_object_object_add(j, "skipped", sk);
		if (res.warning)
			jsonutil_set_str(j, "warning", res.warning);
		cmd_print_json(j);
	}
	for (size_t i = 0; !json && i < res.snap.n_skipped; i++) {
		_cleanup_free_ char *safe = textutil_escape_terminal(res.snap.skipped[i]);
		fprintf(stderr, "⚠ Not merged (left in the workspace): %s\n", safe);
	}
	if (res.warning)
		fprintf(stderr, "⚠ %s\n", res.warning);
	if (!json && res.already)
		fprintf(stderr, "ℹ Task %lld's work is already in '%s'; nothing to merge\n",
			(long long)id, res.into);
	else if (!json)
		fprintf(stderr, "✓ Task %lld merged into '%s' (commit %.12s)%s%.12s\n",
			(long long)id, res.into, res.commit,
			res.snapshot ? "; its uncommitted files were committed on its branch as "
				     : "",
			res.snapshot ? res.snapshot : "");
out:
	taskgit_merge_result_release(&res);
	return rc;
}

int cmd_merge(int argc, char **argv)
{
	bool json = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("json", 0, &json,
			    "print {merged, taskId, into, commit, snapshotCommit,\n"
			    "alreadyMerged, skipped}"),
		CMDOPT_END,
	};
	return cmd_run_taskgit(&spec, opts, argc, argv, &json, true, NULL, merge, NULL);
}
