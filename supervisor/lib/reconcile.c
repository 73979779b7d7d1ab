#define _GNU_SOURCE
#include "reconcile.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "agent-runner/adapters.h"
#include "agent-runner/status.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "supervisor/lib/iterfile.h"

enum task_pause_reason reconcile_pause_reason(const struct task *t, enum task_pause_reason claimed)
{
	if (claimed == TASK_PAUSE_APPROVAL)
		return claimed;
	enum task_pause_reason asked = TASK_PAUSE_NONE;
	struct json_object *req = jsonutil_get_obj(task_json(t), "pauseRequested");
	if (req && task_pause_reason_parse(jsonutil_get_str(req, "reason"), &asked) &&
	    (asked == TASK_PAUSE_OPERATOR || asked == TASK_PAUSE_DRAIN ||
	     asked == TASK_PAUSE_WINDOW))
		return asked;
	if (claimed == TASK_PAUSE_OPERATOR || claimed == TASK_PAUSE_DRAIN ||
	    claimed == TASK_PAUSE_WINDOW)
		return TASK_PAUSE_SIGNAL;
	return claimed;
}

/* The breakpoint a pause for approval waits at, as the runner says: kept
 * only when it looks like a step id (the workflow decides later). */
static void set_approval_request(struct task *t, const struct status_view *sv)
{
	const char *step = sv->breakpoint;
	if (task_pause_reason(t) != TASK_PAUSE_APPROVAL || !step || !*step || strlen(step) > 128 ||
	    step[strspn(step,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")]) {
		json_object_object_del(task_json(t), "approvalRequest");
		return;
	}
	struct json_object *req = json_object_new_object();
	jsonutil_set_str(req, "stepId", step);
	jsonutil_set_int64(req, "iteration", task_iterations(t));
	json_object_object_add(task_json(t), "approvalRequest", req);
}

int reconcile_from_status(struct task *t, const char *status_path, int64_t now_ms,
			  bool *ret_changed, struct rv_error **err)
{
	*ret_changed = false;
	enum task_status cur = task_status(t);
	if (!task_status_is_running(cur))
		return 0;
	_cleanup_json_ struct json_object *st = NULL;
	_cleanup_error_ struct rv_error *e = NULL;
	/* Written by the container: never followed, never blocked on. */
	int r = iterfile_read_json(status_path, &st, &e);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		*err = TAKE_PTR(e);
		return r;
	}
	struct status_view sv;
	status_parse(st, &sv);
	const char *s = sv.status;
	const char *error = sv.error;
	enum task_status to;
	enum task_pause_reason reason = TASK_PAUSE_NONE;
	if (!s)
		return rv_error_set(err, EBADMSG, "'%s' has no status", status_path);
	if (!strcmp(s, "completed"))
		to = TASK_COMPLETED;
	else if (!strcmp(s, "failed"))
		to = TASK_FAILED;
	else if (!strcmp(s, "paused")) {
		to = TASK_PAUSED;
		const char *pr = sv.pause_reason;
		if (!pr || !task_pause_reason_parse(pr, &reason))
			reason = TASK_PAUSE_RETRYABLE_ERROR;
		reason = reconcile_pause_reason(t, reason);
	} else if (!strcmp(s, "running"))
		to = TASK_ITERATING;
	else
		to = TASK_IN_PROGRESS;
	if (to == cur)
		return 0;
	if (!task_transition_allowed(cur, to))
		return 0;
	r = task_set_status(t, to, error, reason, now_ms, err);
	if (r < 0)
		return r;
	if (sv.has_exit_code)
		task_set_int(t, "exitCode", sv.exit_code);
	if (to == TASK_PAUSED) {
		set_approval_request(t, &sv);
		struct task_auto_retry ar;
		task_get_auto_retry(t, &ar);
		if (sv.provider) {
			ar.provider = sv.provider;
			task_set_auto_retry(t, &ar);
		}
	}
	task_set_str(t, "executionStatus", s);
	/* The last progress and step go into the record, so showing a task that
	 * is no longer running never needs its status file again. */
	if (sv.has_progress)
		task_set_int(t, "progress", sv.progress);
	task_set_str(t, "currentStep", sv.current_step);
	/* Tokens and dollars so far (the runner sums them across resumes):
	 * the container wrote them, so only known figures are kept. */
	struct json_object *usage = adapter_usage_sanitize(sv.usage);
	if (usage)
		json_object_object_add(t->obj, "usage", usage);
	*ret_changed = true;
	return 0;
}
