#define _GNU_SOURCE
#include "create.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/workflow.h"

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/admit.h"
#include "supervisor/lib/builtin_workflows.h"
#include "supervisor/lib/hardening.h"
#include "supervisor/lib/preflight.h"
#include "supervisor/lib/worktree.h"

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
	/* The account gate's key (admit.h): in the first write, not a second. */
	admit_set_account(t);
	if (c->p->is_git) {
		_cleanup_free_ char *ws =
			xasprintf("%s/workspaces/%lld", c->st->dir, (long long)t->id);
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

int create_task(const struct project *p, const struct task_store *st, const struct create_opts *o,
		int64_t *ret_id, struct resume_outcome *ret, struct rv_error **err)
{
	*ret = (struct resume_outcome){.result = RESUME_FAILED};
	struct init_ctx ic = {.st = st, .p = p, .o = o};
	struct task *t = NULL;
	int r = task_store_create(st, o->title, o->description, timeutil_now_ms(), init_fn, &ic, &t,
				  err);
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
		_cleanup_free_ char *msg =
			xasprintf("task files could not be written: %s", rv_error_msg(ferr));
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
	struct resume_opts ro = {
		.mode = RESUME_START, .image = o->image, .observed = true, .fresh = true};
	r = resume_task(p, st, id, &ro, ret, err);
	admit_result_release(&ad);
	if (r < 0)
		return r;
	if (ret->result != RESUME_OK)
		rv_error_wrap(err,
			      "task %lld was created, but reset to 'New' due to an error "
			      "starting it",
			      (long long)id);
	return 0;
}

char *create_title(const char *description)
{
	size_t n = strcspn(description, "\n");
	if (n > 72) {
		_cleanup_free_ char *t = xstrndup(description, 69);
		return xasprintf("%s...", t);
	}
	return xstrndup(description, n);
}

/* The workflow's text and the name the task records: a file (named by its
 * own `name:`, else "custom"), else a built-in.  Parsed now, so a bad one
 * never becomes a task; its required inputs are checked against inputs. */
static int load_workflow(const char *arg, struct json_object *inputs, char **ret_text,
			 size_t *ret_len, char **ret_name, struct rv_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	bool is_file = arg && fileio_exists(arg);
	if (is_file) {
		int r = fileio_read_bounded(arg, WORKFLOW_MAX_BYTES, &text, &len, err);
		if (r < 0)
			return r;
	} else {
		const char *b = builtin_workflow(arg);
		if (!b)
			return rv_error_set(
				err, ENOENT,
				"workflow '%s' is neither a file nor a built-in workflow "
				"(%s)",
				arg, builtin_workflow_names());
		text = xstrdup(b);
		len = strlen(b);
	}
	struct workflow *wf = NULL;
	int r = workflow_parse(text, len, arg ? arg : "default", &wf, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *name = xstrdup(is_file ? (wf->name ? wf->name : "custom")
					    : arg   ? arg
						    : "default");
	/* Missing inputs are the user's to give now, not the runner's to
	 * discover in a container later. */
	r = preflight_inputs(wf, name, inputs, err);
	workflow_free(wf);
	if (r < 0)
		return r;
	*ret_text = TAKE_PTR(text);
	*ret_len = len;
	*ret_name = TAKE_PTR(name);
	return 0;
}

/* The engine the task will run on, once it answers and has the image: the
 * engine never pulls for us (engine_container_create), so a missing image
 * would only fail once the task exists. */
static int check_engine(const char *engine_arg, const char *image, struct engine **ret,
			struct rv_error **err)
{
	struct engine *engine = NULL;
	int r = engine_discover(engine_arg, &engine, err);
	if (r < 0)
		return r;
	r = preflight_image(engine, image, NULL, err);
	if (r < 0) {
		engine_free(engine);
		return r;
	}
	*ret = engine;
	return 0;
}

int create_task_checked(const struct project *p, const struct task_store *st,
			const struct create_request *rq, int64_t *ret_id,
			struct resume_outcome *ret, struct rv_error **err)
{
	if (!jsonutil_get_str(rq->inputs, "description"))
		jsonutil_set_str(rq->inputs, "description", rq->description);
	_cleanup_free_ char *wf_text = NULL, *wf_name = NULL, *base = NULL, *title = NULL;
	size_t wf_len = 0;
	int r = load_workflow(rq->workflow, rq->inputs, &wf_text, &wf_len, &wf_name, err);
	if (r < 0)
		return r;
	const char *image = rq->image ? rq->image : project_agent_image(p);
	if (!image || !*image)
		return rv_error_set(err, EINVAL,
				    "no container image: pass --image, set ROVER_AGENT_IMAGE, or "
				    "set agentImage in rover.json");
	/* The container's settings, so a rover.json that would loosen them is
	 * refused before any task exists (hardening.h). */
	struct hardening hd;
	r = hardening_load(p->root, &hd, err);
	if (r < 0)
		return r;
	hardening_release(&hd);
	if (p->is_git && (r = worktree_head(p->root, &base, err)) < 0)
		return r;
	struct engine *engine = NULL;
	r = check_engine(rq->engine, image, &engine, err);
	if (r < 0)
		return r;
	title = create_title(rq->description);
	struct create_opts co = {.title = title,
				 .description = rq->description,
				 .workflow_name = wf_name,
				 .workflow_text = wf_text,
				 .workflow_len = wf_len,
				 /* rover.json "agent" (rover init) */
				 .agent = rq->agent ? rq->agent : p->settings.agent,
				 .model = rq->model,
				 .image = image,
				 .inputs = rq->inputs,
				 .engine = engine,
				 .base_commit = base,
				 .budget_usd = rq->budget_usd};
	r = create_task(p, st, &co, ret_id, ret, err);
	engine_free(engine);
	return r;
}
