/*
 * taskops_stop.h - stop a task for good (taskops.h: the rules every
 * operation follows, and the calling sequence).
 *
 * Stop.  Any status but COMPLETED, MERGED, PUSHED (FAILED: nothing to do,
 * `already`).  The container is stopped (SIGTERM, LAUNCH_STOP_TIMEOUT_S,
 * SIGKILL), its output appended to container.log and the container removed;
 * the task ends FAILED with error TASKOPS_STOPPED_ERROR, resumable, never
 * auto-retried.  A task whose container completed before the stop stays
 * COMPLETED.  An engine that cannot be reached fails the stop of an active
 * task (nothing changes); for a NEW or PAUSED task, whose container is not
 * running, the task is still stopped and the container named in
 * left_behind.
 */
#ifndef ROVER_TASKOPS_STOP_H
#define ROVER_TASKOPS_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

#define TASKOPS_STOPPED_ERROR "stopped by user"

struct taskops_stop_result {
	bool already;           /* it was FAILED: nothing done */
	bool completed;         /* its container completed before the stop: COMPLETED */
	bool stopped_running;   /* a live container was stopped */
	bool container_removed; /* ... and removed, its output saved */
	int exit_code;          /* the container's; -1 when unknown */
	char *left_behind;      /* what could not be removed, or NULL */
	bool has_checkpoint;
	struct task *task; /* the record as written */
};

int taskops_stop(const struct task_store *st, const struct task *t, struct taskops_stop_result *ret,
		 struct rv_error **err);
void taskops_stop_result_release(struct taskops_stop_result *r);

#endif
