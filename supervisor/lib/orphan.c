#define _GNU_SOURCE
#include "orphan.h"

#include <stdlib.h>
#include <strings.h>

#include "common/cleanup.h"

enum orphan_container orphan_container_from_state(const char *state)
{
	static const char *const alive[] = {"running", "created",    "restarting",
					    "paused",  "configured", "initialized"};
	if (!state)
		return ORPHAN_CONTAINER_UNKNOWN;
	for (size_t i = 0; i < ARRAY_SIZE(alive); i++)
		if (!strcasecmp(state, alive[i]))
			return ORPHAN_CONTAINER_ALIVE;
	return ORPHAN_CONTAINER_EXITED;
}

void orphan_decide(const struct orphan_observation *o, struct orphan_verdict *ret)
{
	ret->action = ORPHAN_KEEP;
	ret->message = NULL;
	if (!task_status_is_running(o->status) || o->resume_lock_held)
		return;
	if (!o->has_container_id) {
		/* The CLI died between marking the task IN_PROGRESS and recording
		 * its container: nothing will ever report on it. */
		if (o->started_ms > 0 && o->now_ms - o->started_ms >= ORPHAN_STARTUP_TIMEOUT_MS) {
			ret->action = ORPHAN_MARK_FAILED;
			ret->message = xstrdup("Task startup did not complete before container "
					       "metadata was recorded");
		}
		return;
	}
	switch (o->container) {
	case ORPHAN_CONTAINER_UNKNOWN:
	case ORPHAN_CONTAINER_ALIVE:
		return;
	case ORPHAN_CONTAINER_MISSING:
		ret->action = ORPHAN_MARK_FAILED;
		ret->message = xstrdup("Container is gone (removed, or lost with its engine); "
				       "the checkpoint is kept");
		return;
	case ORPHAN_CONTAINER_EXITED:
		break;
	}
	switch (o->exit_code) {
	case 0:
		/* The runner finished but status.json did not say so (yet). */
		ret->action = ORPHAN_MARK_COMPLETED;
		return;
	case 2:
		ret->action = ORPHAN_MARK_PAUSED;
		ret->message = xstrdup("Workflow paused (container exited 2 without recording "
				       "why)");
		return;
	case 137:
		ret->action = ORPHAN_MARK_FAILED;
		ret->message = xstrdup(
			o->oom_killed ? "Container was killed: out of memory (exit 137)"
				      : "Container was killed (SIGKILL, exit 137): killed from "
					"outside, or its engine restarted");
		return;
	case 143:
		ret->action = ORPHAN_MARK_FAILED;
		ret->message = xstrdup("Container was terminated (SIGTERM, exit 143) before the "
				       "runner could save a pause");
		return;
	default:
		ret->action = ORPHAN_MARK_FAILED;
		if (o->runner_said && *o->runner_said)
			ret->message =
				xasprintf("runner exited %d: %s", o->exit_code, o->runner_said);
		else
			ret->message = xasprintf("Container exited unexpectedly with code %d "
						 "(possible crash or system restart)",
						 o->exit_code);
		return;
	}
}

void orphan_verdict_release(struct orphan_verdict *v)
{
	free(v->message);
	v->message = NULL;
}

int orphan_apply(struct task *t, const struct orphan_verdict *v, int exit_code, int64_t now_ms,
		 bool *ret_changed, struct rv_error **err)
{
	*ret_changed = false;
	int r = 0;
	switch (v->action) {
	case ORPHAN_KEEP:
		return 0;
	case ORPHAN_MARK_COMPLETED:
		r = task_set_status(t, TASK_COMPLETED, NULL, TASK_PAUSE_NONE, now_ms, err);
		break;
	case ORPHAN_MARK_PAUSED:
		r = task_set_status(t, TASK_PAUSED, v->message, TASK_PAUSE_ORPHAN, now_ms, err);
		break;
	case ORPHAN_MARK_FAILED:
		r = task_set_status(t, TASK_FAILED, v->message, TASK_PAUSE_NONE, now_ms, err);
		break;
	}
	if (r < 0)
		return r;
	if (v->action != ORPHAN_MARK_FAILED || exit_code >= 0)
		task_set_int(t, "exitCode", exit_code);
	task_set_str(t, "executionStatus",
		     v->action == ORPHAN_MARK_COMPLETED ? "completed"
		     : v->action == ORPHAN_MARK_PAUSED  ? "paused"
							: "failed");
	*ret_changed = true;
	return 0;
}
