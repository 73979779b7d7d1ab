/* taskops_delete.c - delete a task and what belongs to it; see
 * taskops_delete.h. */
#define _GNU_SOURCE
#include "taskops_delete.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/taskops_shared.h"
#include "supervisor/lib/worktree.h"

static void left(struct taskops_delete_result *res, char *what)
{
	res->left_behind = xrealloc(res->left_behind, (res->n_left + 2) * sizeof(char *));
	res->left_behind[res->n_left++] = what;
	res->left_behind[res->n_left] = NULL;
}

/* Remove the task's containers.  Returns < 0 only for a failure that must
 * stop a delete without force. */
static int delete_containers(const struct task_store *st, int64_t id, const struct task *t,
			     struct taskops_delete_result *res, struct rv_error **err)
{
	const char *cid = t ? task_container_id(t) : NULL;
	const char *endpoint = NULL;
	bool recorded = t && task_get_engine(t, NULL, &endpoint) && endpoint && *endpoint;
	/* A task that never had an engine has no container anywhere; nor has
	 * a NEW one with no container id and no start in flight (a failed
	 * start removes what it created, an interrupted one is settled first:
	 * create.h). */
	if (t && !(cid && *cid) &&
	    (!recorded || (task_status(t) == TASK_NEW && !resume_in_flight(t, NULL))))
		return 0;
	_cleanup_engine_ struct engine *e = NULL;
	int r = t ? launch_engine_for_task(t, &e, err) : engine_discover(NULL, &e, err);
	if (r < 0)
		return rv_error_wrap(err,
				     "cannot reach the engine to remove the container of task "
				     "%lld",
				     (long long)id);
	engine_set_timeouts(e, OPS_CONNECT_MS, OPS_REQUEST_MS);
	char f_task[64];
	snprintf(f_task, sizeof(f_task), LAYOUT_LABEL_TASK "=%lld", (long long)id);
	_cleanup_free_ char *f_store = layout_label(LAYOUT_LABEL_STORE, st->dir);
	const char *filters[] = {f_task, f_store, NULL};
	struct engine_container_summary *list = NULL;
	size_t nl = 0;
	r = engine_container_list(e, filters, &list, &nl, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot list the containers of task %lld", (long long)id);
	bool cid_listed = false;
	for (size_t i = 0; i < nl && r == 0; i++) {
		if (cid && taskops_id_matches(list[i].id, cid))
			cid_listed = true;
		r = engine_container_remove(e, list[i].id, true, err);
		if (r == -ENOENT) {
			r = 0;
			*err = rv_error_free(*err);
		} else if (r == 0) {
			res->containers_removed++;
		}
	}
	if (r == 0 && cid && *cid && !cid_listed) {
		r = engine_container_remove(e, cid, true, err);
		if (r == -ENOENT) {
			r = 0;
			*err = rv_error_free(*err);
		} else if (r == 0) {
			res->containers_removed++;
		}
	}
	engine_container_list_free(list, nl);
	if (r < 0)
		return rv_error_wrap(err, "cannot remove the container of task %lld",
				     (long long)id);
	return 0;
}

int taskops_delete(const struct project *p, const struct task_store *st, int64_t id,
		   const struct task *t, bool force, struct taskops_delete_result *ret,
		   struct rv_error **err)
{
	if (!t && !force)
		return rv_error_set(err, EINVAL,
				    "task %lld cannot be read; use --force to delete it anyway",
				    (long long)id);
	if (t && task_status_is_running(task_status(t)) && !force)
		return rv_error_set(err, EBUSY,
				    "task %lld is %s (its container may be running); stop it first "
				    "with 'rover stop %lld', or use --force",
				    (long long)id, task_status_name(task_status(t)), (long long)id);
	struct taskops_delete_result res = {0};
	_cleanup_error_ struct rv_error *ce = NULL;
	int r = delete_containers(st, id, t, &res, &ce);
	if (r < 0) {
		if (!force) {
			*err = TAKE_PTR(ce);
			taskops_delete_result_release(&res);
			return rv_error_wrap(err, "use --force to delete the task anyway");
		}
		left(&res, xasprintf("its container(s): %s", rv_error_msg(ce)));
	}

	/* Only what rover made is removed: the workspace <store>/workspaces/<id>
	 * (checked without following symlinks, removed by a walk that never
	 * leaves the store) and the branch rover/task-<id>.  Whatever else a
	 * record names is left alone and reported. */
	_cleanup_free_ char *def_path = task_store_workspace_path(st, id);
	_cleanup_free_ char *def_branch = xasprintf("rover/task-%lld", (long long)id);
	const char *path = t ? task_get_str(t, "worktreePath") : def_path;
	const char *branch = t ? task_get_str(t, "branchName") : def_branch;
	bool ws_ok = true;
	if (path && *path) {
		_cleanup_error_ struct rv_error *ce2 = NULL;
		r = task_store_check_workspace(st, id, path, &ce2);
		if (r == -EPERM) {
			left(&res, xasprintf("the workspace '%s' (outside the store's own "
					     "workspace; not removed): %s",
					     path, rv_error_msg(ce2)));
			ws_ok = false;
		}
	}
	if (branch && *branch && strcmp(branch, def_branch) != 0) {
		left(&res, xasprintf("the branch '%s' (not rover's branch for task %lld; not "
				     "deleted)",
				     branch, (long long)id));
		branch = NULL;
	}
	bool existed = ws_ok && path && *path && fileio_exists(def_path);
	if (ws_ok) {
		_cleanup_error_ struct rv_error *we = NULL;
		r = task_store_remove_workspace(st, id, &we);
		if (r < 0) {
			if (!force) {
				*err = TAKE_PTR(we);
				taskops_delete_result_release(&res);
				return rv_error_wrap(err,
						     "cannot remove the workspace of task %lld",
						     (long long)id);
			}
			left(&res, xasprintf("the workspace '%s': %s", def_path, rv_error_msg(we)));
			existed = false;
		}
	}
	if (p->is_git && ((ws_ok && path && *path) || (branch && *branch))) {
		/* The directory is gone already: git only forgets the worktree
		 * (prune) and deletes the branch; it never removes files here. */
		_cleanup_error_ struct rv_error *we = NULL;
		r = worktree_remove(p->root, NULL, branch, &we);
		const char *prune[] = {"git", "worktree", "prune", NULL};
		(void)worktree_git(p->root, prune, NULL, NULL);
		if (r < 0) {
			if (!force) {
				*err = TAKE_PTR(we);
				taskops_delete_result_release(&res);
				return rv_error_wrap(err, "cannot remove the branch of task %lld",
						     (long long)id);
			}
			left(&res, xasprintf("the branch '%s': %s", branch, rv_error_msg(we)));
		}
	}
	res.worktree_removed = existed;
	r = task_store_delete(st, id, err);
	if (r < 0) {
		taskops_delete_result_release(&res);
		return r;
	}
	*ret = res;
	return 0;
}

void taskops_delete_result_release(struct taskops_delete_result *r)
{
	for (size_t i = 0; i < r->n_left; i++)
		free(r->left_behind[i]);
	free(r->left_behind);
	memset(r, 0, sizeof(*r));
}
