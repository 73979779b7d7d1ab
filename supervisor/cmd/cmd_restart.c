/* rover restart ID [--image IMAGE] [--json] */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/taskops.h"

static const struct cmdopt_spec spec = {
	.verb = "restart",
	.header = "Usage: rover restart ID [--image IMAGE] [--json]\n"
		  "\n"
		  "Run a task's current iteration again from its first step, in a new container.\n"
		  "For NEW and FAILED tasks, and for running ones whose container is gone.  The\n"
		  "old checkpoint is not reused: it is kept beside as\n"
		  "checkpoint.json.restart-<time>.  A PAUSED task is continued with\n"
		  "'rover resume ID' instead.\n"
		  "\n",
	.column = 17,
};

static int restart(const struct cmd_env *env, struct task *t, bool json, void *ctx)
{
	const char *image = *(const char **)ctx;
	int64_t id = t->id;
	_cleanup_error_ struct rv_error *err = NULL;
	struct taskops_restart_result res = {0};
	int r = cmd_preflight_task_image(t, image, &err);
	if (r == 0)
		r = taskops_restart(env->project, env->store, t, image, &res, &err);
	if (r < 0)
		return cmd_fail(json, CMD_FAILED, err);
	const struct task *f = res.task;
	int64_t count = 0;
	task_get_int(f, "restartCount", &count);
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_int64(j, "taskId", f->id);
		jsonutil_set_str(j, "title", task_title(f));
		jsonutil_set_str(j, "status", task_status_name(task_status(f)));
		jsonutil_set_int64(j, "restartCount", count);
		jsonutil_set_str(j, "containerId", res.container_id);
		jsonutil_set_str(j, "checkpointMovedTo", res.checkpoint_aside);
		jsonutil_set_bool(j, "worktreeRecreated", res.worktree_recreated);
		cmd_print_json(j);
	} else {
		printf("%lld\n", (long long)id);
		fprintf(stderr,
			"✓ Task %lld restarted from its first step in container %.12s "
			"(restart #%lld)\n",
			(long long)id, res.container_id, (long long)count);
		if (res.checkpoint_aside)
			fprintf(stderr, "ℹ The old checkpoint is kept, unused, at %s\n",
				res.checkpoint_aside);
		if (res.worktree_recreated)
			fprintf(stderr, "ℹ The workspace was missing and has been re-created\n");
	}
	taskops_restart_result_release(&res);
	return CMD_OK;
}

int cmd_restart(int argc, char **argv)
{
	bool json = false;
	const char *image = NULL;
	const struct cmdopt opts[] = {
		CMDOPT_CALL("image", 0, cmdopt_image, &image, "IMAGE",
			    "run it in this image from now on (recorded in the task;\n"
			    "checked on the task's engine before anything changes)"),
		CMDOPT_FLAG("json", 0, &json, "print {taskId, title, status, containerId, ...}"),
		CMDOPT_END,
	};
	/* image is read once the options are parsed: passed by address */
	return cmd_run_task(&spec, opts, argc, argv, &json, restart, &image);
}
