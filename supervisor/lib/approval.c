#define _GNU_SOURCE
#include "approval.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"

bool approval_waiting(const struct task *t, const char **ret_step_id)
{
	if (task_status(t) != TASK_PAUSED || task_pause_reason(t) != TASK_PAUSE_APPROVAL)
		return false;
	const char *step = NULL;
	struct json_object *req = jsonutil_get_obj(task_json(t), "approvalRequest");
	int64_t n = 0;
	if (req && jsonutil_get_int64(req, "iteration", &n) && n == task_iterations(t))
		step = jsonutil_get_str(req, "stepId");
	if (ret_step_id)
		*ret_step_id = step && *step ? step : NULL;
	return true;
}

static bool is_entry_of(struct json_object *a, int64_t iteration, const char *step_id)
{
	int64_t n = 0;
	const char *id = jsonutil_get_str(a, "stepId");
	return json_object_is_type(a, json_type_object) && jsonutil_get_int64(a, "iteration", &n) &&
	       n == iteration && id && (!step_id || !strcmp(id, step_id));
}

bool approval_given(const struct task *t, const char *step_id)
{
	struct json_object *list = jsonutil_get_array(task_json(t), "approvals");
	int64_t n = task_iterations(t);
	for (size_t i = 0; list && i < json_object_array_length(list); i++)
		if (is_entry_of(json_object_array_get_idx(list, i), n, step_id))
			return true;
	return false;
}

void approval_record(struct task *t, const char *step_id, const char *message, bool timed_out,
		     int64_t now_ms)
{
	struct json_object *obj = task_json(t);
	struct json_object *list = jsonutil_get_array(obj, "approvals");
	if (!list) {
		list = json_object_new_array();
		json_object_object_add(obj, "approvals", list);
	}
	int64_t n = task_iterations(t);
	for (size_t i = json_object_array_length(list); i-- > 0;)
		if (is_entry_of(json_object_array_get_idx(list, i), n, step_id))
			json_object_array_del_idx(list, i, 1);
	struct json_object *a = json_object_new_object();
	jsonutil_set_int64(a, "iteration", n);
	jsonutil_set_str(a, "stepId", step_id);
	_cleanup_free_ char *msg = xstrndup(message ? message : "", APPROVAL_MESSAGE_MAX);
	jsonutil_set_str(a, "message", msg);
	char iso[TIMEUTIL_ISO_LEN];
	jsonutil_set_str(a, "approvedAt", timeutil_format_iso(now_ms, iso));
	jsonutil_set_bool(a, "timedOut", timed_out);
	json_object_array_add(list, a);
}

char **approval_runner_args(const struct task *t)
{
	struct json_object *list = jsonutil_get_array(task_json(t), "approvals");
	size_t len = list ? json_object_array_length(list) : 0;
	char **args = xcalloc(2 * (len < APPROVAL_MAX_PER_RUN ? len : APPROVAL_MAX_PER_RUN) + 1,
			      sizeof(char *));
	size_t k = 0;
	int64_t n = task_iterations(t);
	for (size_t i = 0; i < len && k < 2 * APPROVAL_MAX_PER_RUN; i++) {
		struct json_object *a = json_object_array_get_idx(list, i);
		if (!is_entry_of(a, n, NULL))
			continue;
		const char *id = jsonutil_get_str(a, "stepId");
		/* The record is the user's file: an id the runner would split
		 * differently is not passed. */
		if (!*id || strchr(id, '='))
			continue;
		bool timed_out = false;
		jsonutil_get_bool(a, "timedOut", &timed_out);
		const char *msg = jsonutil_get_str(a, "message");
		if (timed_out) {
			args[k++] = xstrdup("--approve-timeout");
			args[k++] = xstrdup(id);
		} else {
			args[k++] = xstrdup("--approve");
			args[k++] = xasprintf("%s=%.*s", id, APPROVAL_MESSAGE_MAX, msg ? msg : "");
		}
	}
	args[k] = NULL;
	return args;
}

void approval_args_free(char **args)
{
	for (size_t i = 0; args && args[i]; i++)
		free(args[i]);
	free(args);
}

int approval_find_breakpoint(const struct task_store *st, const struct task *t, const char *step_id,
			     struct workflow **ret_wf, const struct workflow_step **ret_step,
			     struct rv_error **err)
{
	_cleanup_free_ char *path = task_store_workflow_path(st, t->id);
	struct workflow *wf = NULL;
	int r = workflow_load(path, &wf, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot read the workflow of task %lld",
				     (long long)t->id);
	const struct workflow_step *s = NULL;
	for (size_t i = 0; step_id && i < wf->n_steps; i++)
		if (!strcmp(wf->steps[i].id, step_id))
			s = &wf->steps[i];
	if (!s || s->type != WORKFLOW_STEP_BREAKPOINT) {
		workflow_free(wf);
		return rv_error_set(
			err, EINVAL,
			"task %lld reports waiting at step '%.128s', which is not a "
			"breakpoint step of its workflow (its container wrote that); stop "
			"it with rover stop %lld",
			(long long)t->id, step_id ? step_id : "(none)", (long long)t->id);
	}
	*ret_wf = wf;
	*ret_step = s;
	return 0;
}

/* ---- approve / reject -------------------------------------------------------- */

struct decide_ctx {
	const struct task_store *st;
	const char *message;
	bool approve;
	bool timed_out;
	int64_t now_ms;
	char *step_id;
};

static int not_waiting(const struct task *t, struct rv_error **err)
{
	enum task_status s = task_status(t);
	const char *reason = task_pause_reason_name(task_pause_reason(t));
	if (s == TASK_PAUSED)
		return rv_error_set(err, EPERM,
				    "task %lld is not waiting for approval: it is PAUSED (%s); use "
				    "rover resume %lld",
				    (long long)t->id, reason ? reason : "no reason",
				    (long long)t->id);
	return rv_error_set(err, EPERM, "task %lld is not waiting for approval: it is %s",
			    (long long)t->id, task_status_name(s));
}

static int decide_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct decide_ctx *c = userdata;
	const char *step = NULL;
	if (!approval_waiting(t, &step))
		return not_waiting(t, err);
	struct workflow *wf = NULL;
	const struct workflow_step *s = NULL;
	int r = approval_find_breakpoint(c->st, t, step, &wf, &s, err);
	workflow_free(wf);
	if (r < 0)
		return r;
	free(c->step_id);
	c->step_id = xstrdup(step);
	if (c->approve) {
		approval_record(t, step, c->message, c->timed_out, c->now_ms);
		return 0;
	}
	_cleanup_free_ char *msg =
		c->timed_out ? xasprintf("Approval timed out at breakpoint '%s'%s%.*s", step,
					 c->message && *c->message ? ": " : "",
					 APPROVAL_MESSAGE_MAX, c->message ? c->message : "")
			     : xasprintf("Rejected at breakpoint '%s'%s%.*s", step,
					 c->message && *c->message ? ": " : "",
					 APPROVAL_MESSAGE_MAX, c->message ? c->message : "");
	r = task_set_status(t, TASK_FAILED, msg, TASK_PAUSE_NONE, c->now_ms, err);
	if (r < 0)
		return r;
	task_set_str(t, "executionStatus", "failed");
	return 0;
}

static int decide(const struct task_store *st, int64_t id, struct decide_ctx *c, struct task **ret,
		  char **ret_step_id, struct rv_error **err)
{
	c->st = st;
	c->now_ms = timeutil_now_ms();
	struct task *fresh = NULL;
	int r = task_store_update(st, id, decide_fn, c, &fresh, err);
	if (r < 0) {
		free(c->step_id);
		task_free(fresh);
		return r;
	}
	if (ret)
		*ret = fresh;
	else
		task_free(fresh);
	if (ret_step_id)
		*ret_step_id = c->step_id;
	else
		free(c->step_id);
	return 0;
}

int approval_approve(const struct task_store *st, int64_t id, const char *message, bool timed_out,
		     struct task **ret, char **ret_step_id, struct rv_error **err)
{
	struct decide_ctx c = {.message = message, .approve = true, .timed_out = timed_out};
	return decide(st, id, &c, ret, ret_step_id, err);
}

int approval_reject(const struct task_store *st, int64_t id, const char *message, struct task **ret,
		    struct rv_error **err)
{
	struct decide_ctx c = {.message = message};
	return decide(st, id, &c, ret, NULL, err);
}

static int reject_timeout(const struct task_store *st, int64_t id, int timeout_s,
			  struct rv_error **err)
{
	_cleanup_free_ char *why =
		xasprintf("nobody answered within %ds (onTimeout: fail)", timeout_s);
	struct decide_ctx c = {.message = why, .timed_out = true};
	return decide(st, id, &c, NULL, NULL, err);
}

/* ---- timeouts ------------------------------------------------------------------ */

enum approval_timeout_action approval_timeout_decide(int64_t paused_at_ms, int timeout_s,
						     enum workflow_on_timeout on_timeout,
						     int64_t now_ms, int64_t *ret_due_ms)
{
	if (timeout_s <= 0 || paused_at_ms <= 0)
		return APPROVAL_TIMEOUT_NONE;
	int64_t due = paused_at_ms + (int64_t)timeout_s * 1000;
	if (now_ms < due) {
		if (ret_due_ms)
			*ret_due_ms = due;
		return APPROVAL_TIMEOUT_WAIT;
	}
	return on_timeout == WORKFLOW_ON_TIMEOUT_CONTINUE ? APPROVAL_TIMEOUT_CONTINUE
							  : APPROVAL_TIMEOUT_FAIL;
}

int approval_timeout_check(const struct task_store *st, const struct task *t, int64_t now_ms,
			   enum approval_timeout_action *ret_action, int64_t *ret_due_ms,
			   struct rv_error **err)
{
	*ret_action = APPROVAL_TIMEOUT_NONE;
	const char *step = NULL;
	if (!approval_waiting(t, &step) || !step || approval_given(t, step))
		return 0;
	struct workflow *wf = NULL;
	const struct workflow_step *s = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	/* A claim that names no breakpoint: nothing times out (approve says
	 * why when a person tries). */
	if (approval_find_breakpoint(st, t, step, &wf, &s, &e) < 0 || !s) {
		workflow_free(wf);
		return 0;
	}
	int64_t paused_at = 0;
	task_get_time(t, "pausedAt", &paused_at);
	int timeout_s = s->timeout_s;
	enum approval_timeout_action a =
		approval_timeout_decide(paused_at, timeout_s, s->on_timeout, now_ms, ret_due_ms);
	workflow_free(wf);
	int r = 0;
	if (a == APPROVAL_TIMEOUT_FAIL)
		r = reject_timeout(st, t->id, timeout_s, err);
	else if (a == APPROVAL_TIMEOUT_CONTINUE)
		r = approval_approve(st, t->id, "", true, NULL, NULL, err);
	if (r < 0)
		return r;
	*ret_action = a;
	return 0;
}
