/* rover delete ID [--force] [-y] [--json] */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/cmd/cmd.h"
#include "supervisor/cmd/cmdopt.h"
#include "common/textutil.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/taskgit.h"
#include "supervisor/lib/taskops.h"

static const struct cmdopt_spec spec = {
	.verb = "delete",
	.header = "Usage: rover delete ID [--force] [-y] [--json]\n"
		  "\n"
		  "Delete a task: its containers, its worktree and branch (rover/task-ID), and\n"
		  "its directory in the store (checkpoints and logs included).  A running task\n"
		  "is refused: stop it first, or use --force.  So is a task whose work would be\n"
		  "lost: commits on its branch that no other branch (local or remote-tracking)\n"
		  "has, or uncommitted files in its workspace ('rover merge' or 'rover push'\n"
		  "it first).  On a terminal it asks before deleting.\n"
		  "\n",
	.column = 17,
};

/* What deleting task t would lose (NULL: nothing; "" when there is no
 * telling, with *ret_err set). */
static char *would_lose(const struct cmd_env *env, const struct task *t, struct rv_error **err)
{
	if (!t || !env->project->is_git || task_status_is_running(task_status(t)))
		return NULL; /* a running task is refused anyway (or forced) */
	const char *branch = task_get_str(t, "branchName");
	if (!branch || !*branch)
		return NULL;
	struct taskgit_task tg = {0};
	struct taskgit_loss l = {0};
	int r = taskgit_open(env->project, env->store, t, &tg, err);
	if (r == 0)
		r = taskgit_loss(&tg, &l, err);
	char *what = NULL;
	if (r < 0)
		what = xstrdup("");
	else if (taskgit_loss_any(&l))
		what = taskgit_loss_describe(&l, tg.branch);
	taskgit_loss_release(&l);
	taskgit_task_release(&tg);
	return what;
}

/* Whether to go on: refuses work that would be lost without --force, asks
 * on a terminal without --yes.  false: *rc says how the command ends. */
static bool confirm_delete(const struct cmd_env *env, const struct task *t, int64_t id, bool force,
			   bool yes, bool json, int *rc)
{
	bool ask = !yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	if (force && !ask)
		return true; /* nothing to check it against */
	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_free_ char *lost = would_lose(env, t, &err);
	if (lost && !force) {
		if (!*lost)
			*rc = cmd_failf(json, CMD_FAILED,
					"%s; not deleted (use --force to delete task %lld anyway)",
					rv_error_msg(err), (long long)id);
		else
			*rc = cmd_failf(
				json, CMD_FAILED,
				"task %lld has work that would be lost: %s; merge it ('rover "
				"merge %lld') or push it ('rover push %lld') first, or use "
				"--force to delete it anyway",
				(long long)id, lost, (long long)id, (long long)id);
		return false;
	}
	if (!ask)
		return true;
	_cleanup_free_ char *title = textutil_escape_terminal(t ? task_title(t) : "");
	_cleanup_free_ char *safe = lost && *lost ? textutil_escape_terminal(lost) : NULL;
	fprintf(stderr, "Delete task %lld (%s)%s%s? [y/N] ", (long long)id, title,
		safe ? " and lose " : "", safe ? safe : "");
	fflush(stderr);
	char answer[16] = "";
	if (!fgets(answer, sizeof(answer), stdin))
		answer[0] = '\0';
	if (answer[0] == 'y' || answer[0] == 'Y')
		return true;
	fprintf(stderr, "Task %lld not deleted\n", (long long)id);
	*rc = CMD_FAILED;
	return false;
}

/* The task's record, observed; NULL with --force when it cannot be read
 * (said on stderr).  Returns -1 to go on, else the exit code. */
static int load_for_delete(const struct cmd_env *env, int64_t id, bool force, bool json,
			   struct task **ret)
{
	_cleanup_error_ struct rv_error *err = NULL;
	struct task *t = NULL;
	int r = task_store_load_id(env->store, id, &t, &err);
	/* A record that cannot be read can still be deleted with --force. */
	if (r < 0 && (r == -ENOENT || !force)) {
		if (r != -ENOENT)
			rv_error_wrap(&err, "use --force to delete task %lld anyway",
				      (long long)id);
		return cmd_fail(json, CMD_FAILED, err);
	}
	if (r < 0)
		fprintf(stderr, "⚠ %s\n", rv_error_msg(err));
	else
		observe_task(env->store, &t, 0, json ? NULL : cmd_report_stderr, NULL);
	*ret = t;
	return -1;
}

static void print_deleted(int64_t id, const struct taskops_delete_result *res, bool json);

static int delete_task(const struct cmd_env *env, int64_t id, const struct task *t, bool force,
		       bool json)
{
	_cleanup_error_ struct rv_error *err = NULL;
	struct taskops_delete_result res = {0};
	if (taskops_delete(env->project, env->store, id, t, force, &res, &err) < 0)
		return cmd_fail(json, CMD_FAILED, err);
	print_deleted(id, &res, json);
	taskops_delete_result_release(&res);
	return CMD_OK;
}

static void print_deleted(int64_t id, const struct taskops_delete_result *res, bool json)
{
	if (json) {
		_cleanup_json_ struct json_object *j = json_object_new_object();
		jsonutil_set_int64(j, "taskId", id);
		jsonutil_set_bool(j, "deleted", true);
		jsonutil_set_int64(j, "containersRemoved", (int64_t)res->containers_removed);
		jsonutil_set_bool(j, "worktreeRemoved", res->worktree_removed);
		struct json_object *lb = json_object_new_array();
		for (size_t i = 0; i < res->n_left; i++)
			json_object_array_add(lb, json_object_new_string(res->left_behind[i]));
		json_object_object_add(j, "leftBehind", lb);
		cmd_print_json(j);
	} else {
		fprintf(stderr, "✓ Task %lld deleted (%zu container(s) removed%s)\n", (long long)id,
			res->containers_removed, res->worktree_removed ? ", worktree removed" : "");
	}
	for (size_t i = 0; i < res->n_left; i++)
		fprintf(stderr, "⚠ Left behind: %s\n", res->left_behind[i]);
}

int cmd_delete(int argc, char **argv)
{
	bool force = false, yes = false, json = false;
	const struct cmdopt opts[] = {
		CMDOPT_FLAG("force", 'f', &force,
			    "delete a running task, or one whose work would be lost; go on\n"
			    "when the engine cannot be reached or the task's record cannot\n"
			    "be read, and say what was left behind"),
		CMDOPT_FLAG("yes", 'y', &yes, "do not ask"),
		CMDOPT_FLAG("json", 0, &json,
			    "print {taskId, deleted, containersRemoved, worktreeRemoved,\n"
			    "leftBehind}"),
		CMDOPT_END,
	};
	int64_t id;
	struct cmd_env env;
	int rc = cmd_open_opts(&spec, opts, argc, argv, &json, &id, &env);
	if (rc >= 0)
		return rc;
	struct task *t = NULL;
	rc = load_for_delete(&env, id, force, json, &t);
	if (rc < 0 && confirm_delete(&env, t, id, force, yes, json, &rc))
		rc = delete_task(&env, id, t, force, json);
	task_free(t);
	cmd_env_release(&env);
	return rc;
}
