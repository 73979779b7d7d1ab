/* taskops_stop.c - stop a task for good; see taskops_stop.h. */
#define _GNU_SOURCE
#include "taskops_stop.h"

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
#include "supervisor/lib/reconcile.h"

struct stop_ctx {
	const struct task_store *st;
	const char *cid;
	int exit_code;
	bool completed;
};

static int stop_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct stop_ctx *c = userdata;
	if (!taskops_same_str(task_container_id(t), c->cid))
		return rv_error_set(err, ESTALE,
				    "task %lld was given another container while it was stopping; "
				    "its status is left as it is",
				    taskops_lid(t));
	int64_t now = timeutil_now_ms();
	taskops_refresh_from_status(c->st, t, now);
	enum task_status s = task_status(t);
	if (s == TASK_COMPLETED || s == TASK_MERGED || s == TASK_PUSHED) {
		c->completed = true;
		return 0;
	}
	int r = task_set_status(t, TASK_FAILED, TASKOPS_STOPPED_ERROR, TASK_PAUSE_NONE, now, err);
	if (r < 0)
		return r;
	if (c->exit_code >= 0)
		task_set_int(t, "exitCode", c->exit_code);
	task_set_str(t, "executionStatus", "stopped");
	return 0;
}

int taskops_stop(const struct task_store *st, const struct task *t, struct taskops_stop_result *ret,
		 struct rv_error **err)
{
	enum task_status s = task_status(t);
	if (s == TASK_COMPLETED || s == TASK_MERGED || s == TASK_PUSHED)
		return rv_error_set(err, EPERM, "task %lld is %s: there is nothing to stop",
				    taskops_lid(t), task_status_name(s));
	struct taskops_stop_result res = {.exit_code = -1};
	int64_t n = task_iterations(t);
	if (s == TASK_FAILED) {
		res.already = true;
		res.has_checkpoint = taskops_has_checkpoint(st, t->id, n);
		int r = task_store_load_id(st, t->id, &res.task, err);
		if (r < 0)
			return r;
		*ret = res;
		return 0;
	}
	const char *cid = task_container_id(t);
	if (cid && *cid) {
		_cleanup_engine_ struct engine *e = NULL;
		_cleanup_error_ struct rv_error *e2 = NULL;
		int r = taskops_open_engine(t, "stop", &e, &e2);
		struct engine_container_info info = {0};
		if (r == 0) {
			r = engine_container_inspect(e, cid, &info, &e2);
			if (r == -ENOENT) {
				r = 0; /* gone already: nothing to stop or save */
				e2 = rv_error_free(e2);
				e = engine_free(e);
			}
		}
		if (r == 0 && e &&
		    orphan_container_from_state(info.status) == ORPHAN_CONTAINER_ALIVE) {
			engine_container_info_release(&info);
			r = engine_container_stop(e, cid, LAUNCH_STOP_TIMEOUT_S, &e2);
			if (r == 0) {
				res.stopped_running = true;
				r = engine_container_inspect(e, cid, &info, &e2);
				if (r == -ENOENT) {
					r = 0;
					e2 = rv_error_free(e2);
				}
			}
		}
		if (r == 0 && e) {
			if (info.id)
				res.exit_code = info.exit_code;
			engine_container_info_release(&info);
			if (launch_remove_container(e, st, t->id, n, cid, &e2) == 0)
				res.container_removed = true;
			else
				res.left_behind =
					xasprintf("container %.12s (%s)", cid, rv_error_msg(e2));
		}
		engine_container_info_release(&info);
		e = engine_free(e);
		if (r < 0) {
			/* A running container we could not stop must not be
			 * recorded as stopped. */
			if (task_status_is_running(s)) {
				free(res.left_behind);
				*err = TAKE_PTR(e2);
				return rv_error_wrap(err, "cannot stop task %lld", taskops_lid(t));
			}
			res.left_behind = xasprintf("container %.12s (%s)", cid, rv_error_msg(e2));
		}
	}
	struct stop_ctx c = {.st = st, .cid = cid, .exit_code = res.exit_code};
	int r = task_store_update(st, t->id, stop_fn, &c, &res.task, err);
	if (r < 0) {
		free(res.left_behind);
		return rv_error_wrap(err, "cannot record the stop of task %lld", taskops_lid(t));
	}
	res.completed = c.completed;
	res.has_checkpoint = taskops_has_checkpoint(st, t->id, n);
	*ret = res;
	return 0;
}

void taskops_stop_result_release(struct taskops_stop_result *r)
{
	free(r->left_behind);
	task_free(r->task);
	r->left_behind = NULL;
	r->task = NULL;
}
