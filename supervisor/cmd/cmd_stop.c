/* rover stop ID [--json] */
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
	.verb = "stop",
	.header = "Usage: rover stop ID [--json]\n"
		  "\n"
		  "Stop a task: its container gets SIGTERM (the runner saves what it has), then\n"
		  "SIGKILL after 30 s; its output is saved to container.log and the container is\n"
		  "removed.  The task ends FAILED with \"stopped by user\".  Its checkpoint is\n"
		  "kept: 'rover resume ID' continues it, 'rover restart ID' starts it over.\n"
		  "It is never retried automatically.\n"
		  "\n",
	.column = 17,
};

static int stop(const struct cmd_env *env, struct task *t, bool json, void *ctx)
{
	(void)ctx;
	int64_t id = t->id;
	_cleanup_error_ struct rv_error *err = NULL;
	struct taskops_stop_result res = {0};
	if (taskops_stop(env->store, t, &res, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	const struct task *f = res.task;
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_int64(j, "taskId", f->id);
		jsonutil_set_str(j, "title", task_title(f));
		jsonutil_set_str(j, "status", task_status_name(task_status(f)));
		jsonutil_set_str(j, "error", task_error(f));
		jsonutil_set_bool(j, "hasCheckpoint", res.has_checkpoint);
		jsonutil_set_bool(j, "alreadyStopped", res.already);
		jsonutil_set_bool(j, "containerRemoved", res.container_removed);
		if (res.exit_code >= 0)
			jsonutil_set_int64(j, "exitCode", res.exit_code);
		jsonutil_set_str(j, "leftBehind", res.left_behind);
		cmd_print_json(j);
	}
	if (res.left_behind)
		fprintf(stderr, "⚠ Left behind: %s\n", res.left_behind);
	if (!json) {
		if (res.already)
			fprintf(stderr, "ℹ Task %lld is already FAILED (%s); nothing to stop\n",
				(long long)id, task_error(f) ? task_error(f) : "no error recorded");
		else if (res.completed)
			fprintf(stderr, "ℹ Task %lld completed before it could be stopped\n",
				(long long)id);
		else
			fprintf(stderr, "■ Task %lld stopped%s. %s\n", (long long)id,
				res.stopped_running ? " (its container was running)" : "",
				res.has_checkpoint
					? "Its checkpoint is kept: 'rover resume' continues it."
					: "It had no checkpoint: 'rover restart' runs it again.");
	}
	taskops_stop_result_release(&res);
	return CMD_OK;
}

int cmd_stop(int argc, char **argv)
{
	bool json = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("json", 0, &json,
			    "print {taskId, title, status, error, hasCheckpoint, ...}"),
		CMDOPT_END,
	};
	return cmd_run_task(&spec, opts, argc, argv, &json, stop, NULL);
}
