/* rover resume ID [--image IMAGE] [--json]: the resume helper (resume.h) for people. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "supervisor/lib/resume.h"

static const struct cmdopt_spec spec = {
	.verb = "resume",
	.header = "Usage: rover resume ID [--image IMAGE] [--budget USD] [--recreate-workspace]\n"
		  "                       [--allow-workflow-change] [--json]\n"
		  "       rover resume --all [--json] (what pause --all or drain mode paused)\n"
		  "\n"
		  "Resume a paused or failed task from its checkpoint: completed steps are\n"
		  "skipped, the workflow continues where it stopped.  A task whose container\n"
		  "died is classified first, so it can be resumed at once.  A manual resume\n"
		  "resets the task's auto-retry budget.  Before anything changes, what the\n"
		  "checkpoint needs is checked: the workspace its completed steps worked in,\n"
		  "and the workflow it was saved for; a resume that lacks them is refused,\n"
		  "naming what is missing and the option that goes on anyway.\n"
		  "\n",
	.footer = "\n"
		  "Environment: ROVER_AGENT_IMAGE overrides the task's image (--image wins).\n"
		  "Exit status: 0 resumed, 1 not resumed (not found, not PAUSED or FAILED,\n"
		  "already being resumed, the container could not start), 2 usage error.\n",
	.column = 15,
};

static int set_budget(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	json_object_object_add(task_json(t), "budgetUsd",
			       json_object_new_double(*(const double *)userdata));
	return 0;
}

static void print_tree(const struct cmd_env *env, const struct task *t, const char *image)
{
	_cleanup_free_ char *cp = task_store_iteration_file(env->store, t->id, task_iterations(t),
							    TASK_FILE_CHECKPOINT);
	bool has_cp = fileio_exists(cp);
	if (!has_cp)
		printf("⚠ No checkpoint found - will run full workflow from start\n");
	const char *wt = task_get_str(t, "worktreePath");
	const char *branch = task_get_str(t, "branchName");
	printf("Resuming Task\n");
	printf("├── ID: %lld\n", (long long)t->id);
	printf("├── Title: %s\n", task_title(t));
	printf("├── Status: %s\n", task_status_name(task_status(t)));
	if (wt && *wt)
		printf("├── Workspace: %s\n", fileio_is_dir(wt) ? wt : "will be created");
	else
		printf("├── Workspace: %s\n", env->project->root);
	printf("├── Branch: %s\n", branch && *branch ? branch : "will be created");
	printf("├── Checkpoint: %s\n", has_cp ? "found" : "not found");
	if (image)
		printf("├── Agent Image: %s\n", image);
	printf("└── Resuming to: IN_PROGRESS\n");
	fflush(stdout);
}

/* What a resume needs, checked before anything changes: the status, the
 * image on the task's engine, what the checkpoint needs (resume_validate),
 * and the new budget recorded.  Returns -1 to go on, else the exit code. */
static int check_resumable(const struct cmd_env *env, const struct task *t, const char *opt_image,
			   const struct resume_opts *ro, double budget, bool json)
{
	int64_t id = t->id;
	_cleanup_error_ struct rv_error *err = NULL;
	if (!resume_is_resumable(t)) {
		int rc = cmd_failf(json, CMD_FAILED,
				   "Task %lld is not in PAUSED or FAILED status (current: %s)",
				   (long long)id, task_status_name(task_status(t)));
		if (!json)
			fprintf(stderr,
				"  Only PAUSED and FAILED tasks can be resumed\n"
				"  Use rover inspect %lld to find out the current task status\n",
				(long long)id);
		return rc;
	}
	if (cmd_preflight_task_image(t, opt_image, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	_cleanup_free_ char *missing = resume_validate(env->project, env->store, t, ro);
	if (missing)
		return cmd_failf(json, CMD_FAILED, "Task %lld cannot be resumed as it is: %s",
				 (long long)id, missing);
	/* Recorded before the container starts: its runner gets it. */
	if (budget > 0 && task_store_update(env->store, id, set_budget, &budget, NULL, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	return -1;
}

/* resume_task()'s answer as the exit code, the error printed; -1: resumed. */
static int resume_failure(int r, const struct resume_outcome *out, int64_t id, struct rv_error *err,
			  bool json)
{
	if (r < 0)
		return r == -ENOENT
			       ? cmd_failf(json, CMD_FAILED, "Task %lld was removed during resume",
					   (long long)id)
			       : cmd_fail(json, CMD_FAILED, err);
	switch (out->result) {
	case RESUME_ALREADY_RESUMING:
		return cmd_failf(json, CMD_FAILED,
				 "Task %lld is already being resumed by another process",
				 (long long)id);
	case RESUME_NOT_RESUMABLE:
		return cmd_failf(json, CMD_FAILED, "Task %lld is not in a resumable state: %s",
				 (long long)id, rv_error_msg(err));
	case RESUME_FAILED:
	case RESUME_QUEUED: /* create.h only */
		return cmd_failf(json, CMD_FAILED, "Failed to resume task %lld: %s", (long long)id,
				 rv_error_msg(err));
	case RESUME_OK:
		break;
	}
	if (!out->task)
		return cmd_failf(json, CMD_FAILED, "Task %lld was removed during resume",
				 (long long)id);
	return -1;
}

static void print_resumed(const struct resume_outcome *out, int64_t id, const char *resumed_at,
			  bool json)
{
	if (json) {
		_cleanup_json_ struct json_object *o = json_object_new_object();
		jsonutil_set_bool(o, "success", true);
		jsonutil_set_int64(o, "taskId", id);
		jsonutil_set_str(o, "title", task_title(out->task));
		jsonutil_set_str(o, "description", task_get_str(out->task, "description"));
		jsonutil_set_str(o, "status", task_status_name(task_status(out->task)));
		jsonutil_set_str(o, "resumedAt", resumed_at);
		jsonutil_set_str(o, "containerId", out->container_id);
		jsonutil_set_bool(o, "checkpoint", out->had_checkpoint);
		cmd_print_json(o);
		return;
	}
	if (out->worktree_recreated)
		printf("ℹ The worktree was re-created from branch %s\n",
		       task_get_str(out->task, "branchName"));
	printf("✓ Task resumed successfully!\n"
	       "  Use rover list --watch (or rover supervise) to monitor tasks and auto-retry "
	       "paused tasks on credit reset\n"
	       "  Use rover logs -f %lld to watch the task logs\n"
	       "  Use rover inspect %lld to check the task status\n",
	       (long long)id, (long long)id);
}

struct resume_args {
	const char *image; /* --image */
	double budget;
	bool recreate, allow_change;
};

static int resume(const struct cmd_env *env, struct task *t, bool json, void *ctx)
{
	const struct resume_args *a = ctx;
	int64_t id = t->id;
	const char *image = a->image ? a->image : getenv("ROVER_AGENT_IMAGE");
	if (image && !*image)
		image = NULL;
	struct resume_opts ro = {.mode = RESUME_MANUAL,
				 .image = image,
				 .observed = true,
				 .report = json ? NULL : cmd_report_stderr,
				 .recreate_workspace = a->recreate,
				 .allow_workflow_change = a->allow_change};
	int rc = check_resumable(env, t, a->image, &ro, a->budget, json);
	if (rc >= 0)
		return rc;
	if (!json)
		print_tree(env, t, image);
	char resumed_at[TIMEUTIL_ISO_LEN];
	timeutil_format_iso(timeutil_now_ms(), resumed_at);
	_cleanup_error_ struct rv_error *err = NULL;
	struct resume_outcome out = {0};
	int r = resume_task(env->project, env->store, id, &ro, &out, &err);
	rc = resume_failure(r, &out, id, err, json);
	if (rc < 0) {
		print_resumed(&out, id, resumed_at, json);
		rc = CMD_OK;
	}
	resume_outcome_release(&out);
	return rc;
}

int cmd_resume(int argc, char **argv)
{
	if (cmd_wants_all(argc, argv))
		return cmd_resume_all(argc, argv);
	bool json = false;
	struct resume_args a = {0};
	const struct cmdopt opts[] = {
		CMDOPT_CALL("image", 0, cmdopt_image, &a.image, "IMAGE",
			    "continue in this image (recorded in the task; checked on\n"
			    "the task's engine before anything changes)"),
		CMDOPT_DOLLARS("budget", 0, &a.budget, "USD",
			       "the task's new cost budget (a task paused because its budget\n"
			       "was spent goes on only with a higher one)"),
		CMDOPT_FLAG("recreate-workspace", 0, &a.recreate,
			    "the workspace is gone: make it again from the\n"
			    "task's branch (files never committed are lost)"),
		CMDOPT_FLAG("allow-workflow-change", 0, &a.allow_change,
			    "resume although the task's workflow.yml\n"
			    "changed since the checkpoint was saved"),
		CMDOPT_FLAG("json", 0, &json,
			    "print {\"success\": true, \"taskId\": N, ...} on stdout"),
		CMDOPT_END,
	};
	/* The task is observed first: one whose container died is classified
	 * before the status check (the TypeScript rover refused such a task). */
	return cmd_run_task(&spec, opts, argc, argv, &json, resume, &a);
}
