#define _GNU_SOURCE
#include "create.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/admit.h"

struct init_ctx {
	const struct task_store *st;
	const struct project *p;
	const struct create_opts *o;
};

static int init_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct init_ctx *c = userdata;
	const struct create_opts *o = c->o;
	task_set_str(t, "workflowName", o->workflow_name);
	if (o->agent)
		task_set_str(t, "agent", o->agent);
	if (o->model)
		task_set_str(t, "agentModel", o->model);
	task_set_str(t, "agentImage", o->image);
	if (o->budget_usd > 0)
		json_object_object_add(task_json(t), "budgetUsd",
				       json_object_new_double(o->budget_usd));
	json_object_object_add(task_json(t), "inputs", json_object_get(o->inputs));
	/* Recorded before anything is made, so whoever settles an interrupted
	 * creation knows where to look and what belongs to the task. */
	if (o->engine)
		task_set_engine(t, engine_kind_name(engine_get_kind(o->engine)),
				engine_get_uri(o->engine));
	if (c->p->is_git) {
		_cleanup_free_ char *ws = xasprintf("%s/workspaces/%lld", c->st->dir,
						    (long long)t->id);
		_cleanup_free_ char *branch = xasprintf("rover/task-%lld", (long long)t->id);
		task_set_str(t, "worktreePath", ws);
		task_set_str(t, "branchName", branch);
		task_set_str(t, "baseCommit", o->base_commit);
	}
	return 0;
}

struct fail_ctx {
	const char *msg;
};

static int fail_fn(struct task *t, void *userdata, struct rv_error **err)
{
	const struct fail_ctx *c = userdata;
	int r = task_set_status(t, TASK_NEW, NULL, TASK_PAUSE_NONE, timeutil_now_ms(), err);
	if (r == 0)
		task_set_str(t, "error", c->msg);
	return r;
}

int create_task(const struct project *p, const struct task_store *st,
		const struct create_opts *o, int64_t *ret_id, struct resume_outcome *ret,
		struct rv_error **err)
{
	*ret = (struct resume_outcome){.result = RESUME_FAILED};
	struct init_ctx ic = {.st = st, .p = p, .o = o};
	struct task *t = NULL;
	int r = task_store_create(st, o->title, o->description, timeutil_now_ms(), init_fn, &ic,
				  &t, err);
	if (r < 0)
		return r;
	int64_t id = t->id;
	task_free(t);
	*ret_id = id;

	_cleanup_free_ char *wf_copy = task_store_workflow_path(st, id);
	_cleanup_free_ char *inputs_path = task_store_iteration_file(st, id, 1, TASK_FILE_INPUTS);
	_cleanup_error_ struct rv_error *ferr = NULL;
	r = fileio_write_atomic(wf_copy, o->workflow_text, o->workflow_len, 0644, &ferr);
	if (r == 0)
		r = task_store_make_iteration(st, id, 1, &ferr);
	if (r == 0)
		r = jsonutil_write_file(inputs_path, o->inputs, &ferr);
	if (r < 0) {
		_cleanup_free_ char *msg = xasprintf("task files could not be written: %s",
						     rv_error_msg(ferr));
		struct fail_ctx fc = {.msg = msg};
		(void)task_store_update(st, id, fail_fn, &fc, &ret->task, NULL);
		rv_error_set(err, -r, "task %lld was created but %s", (long long)id, msg);
		return 0;
	}

	/* The account gate and maxRunning (gate.h): a task that must wait
	 * stays NEW, queued, for the supervisor.  If the queue cannot be
	 * read, the task starts as it would without one. */
	struct admit_result ad = {.lock_fd = -1};
	if (admit_new_task(p, st, id, &ad, NULL) == 0 && !ad.start) {
		ret->result = RESUME_QUEUED;
		(void)task_store_load_id(st, id, &ret->task, NULL);
		rv_error_set(err, EAGAIN, "task %lld is queued: %s", (long long)id, ad.message);
		admit_result_release(&ad);
		return 0;
	}
	struct resume_opts ro = {.mode = RESUME_START, .image = o->image, .observed = true};
	r = resume_task(p, st, id, &ro, ret, err);
	admit_result_release(&ad);
	if (r < 0)
		return r;
	if (ret->result != RESUME_OK)
		rv_error_wrap(err, "task %lld was created, but reset to 'New' due to an error "
				   "starting it",
			      (long long)id);
	return 0;
}
