/* taskops_restart.c - run a task's workflow again from the start; see
 * taskops_restart.h. */
#define _GNU_SOURCE
#include "taskops_restart.h"

#include <fcntl.h>

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
#include "agent-runner/status.h"
#include "supervisor/lib/lock.h"
#include "supervisor/lib/reconcile.h"
#include "supervisor/lib/worktree.h"

int taskops_checkpoint_aside(const char *iter_dir, int64_t now_ms, char **ret_path,
			     struct rv_error **err)
{
	_cleanup_free_ char *cp = fileio_join(iter_dir, LAYOUT_CHECKPOINT_FILE);
	for (int i = 0; i < 1000; i++) {
		_cleanup_free_ char *aside = xasprintf("%s" TASKOPS_RESTART_ASIDE_INFIX "%lld", cp,
						       (long long)(now_ms + i));
		/* renameat within the checked directory moves whatever is there
		 * (a planted symlink is moved as a link, never followed). */
		_cleanup_error_ struct rv_error *re = NULL;
		int r = iterfile_rename(cp, aside, true, &re);
		if (r == 0) {
			r = fileio_fsync_dir(iter_dir, err);
			if (r < 0)
				return r;
			*ret_path = TAKE_PTR(aside);
			return 0;
		}
		if (r == -ENOENT) {
			*ret_path = NULL;
			return 0;
		}
		if (r != -EEXIST) {
			*err = TAKE_PTR(re);
			return rv_error_wrap(err, "cannot move '%s' aside", cp);
		}
	}
	return rv_error_set(err, EEXIST, "cannot move '%s' aside: no free name", cp);
}

struct restart_ctx {
	const struct task_store *st;
	/* what the command saw: the record must still say so */
	enum task_status status;
	const char *cid;
	/* phase 1 */
	struct json_object *prev; /* the record before, for a rollback */
	char *iter_dir;
	char *status_path;
	char *old_status; /* status.json's bytes before, or NULL */
	size_t old_status_len;
	char *aside;
	int64_t restart_count;
	bool begun; /* phase 1 changed the files */
	/* phase 3 */
	const struct task *launched;
	const struct worktree *wt;
};

/* Undo the file changes of phase 1. */
static void restore_files(struct restart_ctx *c)
{
	if (c->aside) {
		_cleanup_free_ char *cp = fileio_join(c->iter_dir, LAYOUT_CHECKPOINT_FILE);
		if (iterfile_rename(c->aside, cp, true, NULL) == 0) {
			(void)fileio_fsync_dir(c->iter_dir, NULL);
			free(c->aside);
			c->aside = NULL;
		}
	}
	if (c->old_status)
		(void)iterfile_write_atomic(c->status_path, c->old_status, c->old_status_len, 0644,
					    NULL);
	else
		(void)iterfile_remove(c->status_path, NULL);
}

static int restart_begin_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct restart_ctx *c = userdata;
	if (task_status(t) != c->status || !taskops_same_str(task_container_id(t), c->cid))
		return rv_error_set(err, ESTALE, "task %lld changed meanwhile (now %s); try again",
				    taskops_lid(t), task_status_name(task_status(t)));
	int r = json_object_deep_copy(t->obj, &c->prev, NULL);
	if (r < 0)
		return rv_error_set(err, ENOMEM, "cannot copy the record of task %lld",
				    taskops_lid(t));
	_cleanup_error_ struct rv_error *re = NULL;
	r = iterfile_read(c->status_path, STATUS_MAX_BYTES, &c->old_status, &c->old_status_len,
			  &re);
	/* Something planted there (or too big) is not worth keeping for a
	 * rollback: the restart replaces it. */
	if (r < 0 && r != -ENOENT && !iterfile_planted(r) && r != -EFBIG) {
		*err = TAKE_PTR(re);
		return r;
	}
	r = taskops_checkpoint_aside(c->iter_dir, timeutil_now_ms(), &c->aside, err);
	if (r < 0)
		return r;
	/* A fresh status file: the old one ("failed", "completed") would make
	 * the next observation end the new run at once. */
	char idbuf[32];
	snprintf(idbuf, sizeof(idbuf), "%lld", taskops_lid(t));
	struct status_file *sf = NULL;
	/* A planted directory there would make the rename below fail. */
	r = iterfile_clear_planted(c->status_path, err);
	if (r < 0)
		goto undo;
	r = status_file_create(c->status_path, idbuf, "Starting workflow", &sf, err);
	status_file_free(sf);
	if (r < 0)
		goto undo;
	r = task_restart(t, timeutil_now_ms(), err);
	if (r < 0)
		goto undo;
	/* No container yet: the orphan detector waits for the startup timeout
	 * instead of judging the old one. */
	task_set_str(t, "containerId", NULL);
	task_set_str(t, "exitCode", NULL);
	task_set_str(t, "executionStatus", NULL);
	task_auto_retry_reset(t);
	task_get_int(t, "restartCount", &c->restart_count);
	c->begun = true;
	return 0;
undo:
	restore_files(c);
	return r;
}

static bool still_ours(const struct task *t, const struct restart_ctx *c)
{
	int64_t count = -1;
	task_get_int(t, "restartCount", &count);
	return task_status(t) == TASK_IN_PROGRESS && count == c->restart_count &&
	       !task_container_id(t);
}

static int restart_commit_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct restart_ctx *c = userdata;
	int64_t count = -1;
	task_get_int(t, "restartCount", &count);
	if (count != c->restart_count)
		return rv_error_set(err, ESTALE,
				    "task %lld was restarted by someone else meanwhile",
				    taskops_lid(t));
	static const char *const keys[] = {"containerId", "engine", "executionStatus", "runningAt",
					   "agentImage"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct json_object *v = NULL;
		if (json_object_object_get_ex(c->launched->obj, keys[i], &v) && v)
			json_object_object_add(t->obj, keys[i], json_object_get(v));
	}
	if (c->wt && c->wt->path) {
		task_set_str(t, "worktreePath", c->wt->path);
		task_set_str(t, "branchName", c->wt->branch);
		task_set_str(t, "baseCommit", c->wt->base_commit);
	}
	return 0;
}

static int restart_undo_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	struct restart_ctx *c = userdata;
	if (!still_ours(t, c))
		return TASK_UPDATE_SKIP;
	json_object_put(t->obj);
	t->obj = json_object_get(c->prev);
	return 0;
}

/* The workspace to mount: the task's own, re-created when it is gone or
 * its repository was replaced (worktree_restore); a task that never had one
 * gets a new one. */
static int ensure_workspace(const struct project *p, const struct task_store *st,
			    const struct task *t, char **ret_ws, struct worktree *ret_new,
			    bool *ret_recreated, struct rv_error **err)
{
	const char *path = task_get_str(t, "worktreePath");
	const char *branch = task_get_str(t, "branchName");
	*ret_recreated = false;
	/* Only the task's own workspace and branch (a record may have come
	 * from elsewhere). */
	if (task_store_check_record(st, t, err) < 0)
		return -EPERM;
	if (!p->is_git) {
		*ret_ws = xstrdup(path && *path && fileio_is_dir(path) ? path : p->root);
		return 0;
	}
	int r;
	if (path && *path && branch && *branch) {
		r = worktree_restore(p->root, path, branch, task_get_str(t, "baseCommit"),
				     ret_recreated, err);
		if (r < 0)
			return rv_error_wrap(err, "Failed to set up workspace");
		*ret_ws = xstrdup(path);
		return 0;
	}
	r = worktree_create(p->root, st->dir, t->id, ret_new, err);
	if (r < 0)
		return rv_error_wrap(err, "Failed to set up workspace");
	*ret_ws = xstrdup(ret_new->path);
	*ret_recreated = true;
	return 0;
}

int taskops_restart(const struct project *p, const struct task_store *st, const struct task *t,
		    const char *image_override, struct taskops_restart_result *ret,
		    struct rv_error **err)
{
	enum task_status s = task_status(t);
	if (s == TASK_PAUSED)
		return rv_error_set(
			err, EPERM,
			"task %lld is not in NEW or FAILED status (current: PAUSED); use "
			"'rover resume %lld' to resume a paused task from its last "
			"checkpoint",
			taskops_lid(t), taskops_lid(t));
	if (s != TASK_NEW && s != TASK_FAILED && !task_status_is_running(s))
		return rv_error_set(err, EPERM,
				    "task %lld is not in NEW or FAILED status (current: %s)",
				    taskops_lid(t), task_status_name(s));
	const char *image =
		image_override && *image_override ? image_override : task_get_str(t, "agentImage");
	if (!image || !*image)
		image = project_agent_image(p);
	if (!image || !*image)
		return rv_error_set(err, EINVAL,
				    "task %lld has no container image: set ROVER_AGENT_IMAGE or "
				    "agentImage in rover.json",
				    taskops_lid(t));
	const char *cid = task_container_id(t);
	_cleanup_engine_ struct engine *e = NULL;
	int r;
	if (task_status_is_running(s) && cid && *cid) {
		r = taskops_open_engine(t, "restart", &e, err);
		if (r < 0)
			return r;
		struct engine_container_info info = {0};
		_cleanup_error_ struct rv_error *ie = NULL;
		/* An inspect error allows the restart (as in the TypeScript rover): the task is
		 * active only on paper. */
		if (engine_container_inspect(e, cid, &info, &ie) == 0) {
			bool alive =
				orphan_container_from_state(info.status) == ORPHAN_CONTAINER_ALIVE;
			engine_container_info_release(&info);
			if (alive)
				return rv_error_set(
					err, EBUSY,
					"task %lld is still running in container %.12s; "
					"stop it first with 'rover stop %lld'",
					taskops_lid(t), cid, taskops_lid(t));
		}
	}

	memset(ret, 0, sizeof(*ret));
	int64_t n = task_iterations(t);
	struct restart_ctx c = {.st = st, .status = s, .cid = cid};
	c.iter_dir = task_store_iteration_dir(st, t->id, n);
	c.status_path = task_store_iteration_file(st, t->id, n, TASK_FILE_STATUS);
	struct lock *lk = NULL;
	_cleanup_task_ struct task *begun = NULL;
	struct worktree wt = {0};
	/* Freed at out: (not _cleanup_free_: gcc 12's -fanalyzer misreads it here) */
	char *ws = NULL;
	char *new_cid = NULL;
	bool recreated = false;
	r = task_store_make_iteration(st, t->id, n, err);
	if (r == 0)
		r = lock_acquire(c.iter_dir, &lk, err);
	if (r < 0)
		goto out;
	r = task_store_update(st, t->id, restart_begin_fn, &c, &begun, err);
	if (r < 0) {
		if (c.begun) /* the files changed, the record could not be written */
			restore_files(&c);
		goto out;
	}
	r = ensure_workspace(p, st, begun, &ws, &wt, &recreated, err);
	if (r == 0 && !e)
		r = taskops_open_engine(t, "restart", &e, err);
	if (r == 0) {
		struct launch_opts lo = {.image = image,
					 .workspace = ws,
					 .project_root = p->is_git ? p->root : NULL,
					 .resume = false};
		r = launch_container(e, st, begun, &lo, &new_cid, err);
		if (r < 0)
			rv_error_wrap(err, "There was an error restarting the task");
	}
	if (r == 0) {
		c.launched = begun;
		c.wt = wt.path ? &wt : NULL;
		r = task_store_update(st, t->id, restart_commit_fn, &c, &ret->task, err);
	}
	if (r < 0) {
		/* Put everything back: record, status file, checkpoint. */
		(void)task_store_update(st, t->id, restart_undo_fn, &c, NULL, NULL);
		restore_files(&c);
		if (new_cid) {
			(void)engine_container_remove(e, new_cid, true, NULL);
			free(new_cid);
			new_cid = NULL;
		}
		goto out;
	}
	ret->container_id = new_cid;
	ret->checkpoint_aside = TAKE_PTR(c.aside);
	ret->worktree_recreated = recreated;
out:
	if (lk)
		lock_drop(lk, NULL);
	if (r < 0)
		rv_error_wrap(err, "cannot restart task %lld", taskops_lid(t));
	free(ws);
	worktree_release(&wt);
	json_object_put(c.prev);
	free(c.iter_dir);
	free(c.status_path);
	free(c.old_status);
	free(c.aside);
	return r;
}

void taskops_restart_result_release(struct taskops_restart_result *r)
{
	free(r->container_id);
	free(r->checkpoint_aside);
	task_free(r->task);
	memset(r, 0, sizeof(*r));
}
