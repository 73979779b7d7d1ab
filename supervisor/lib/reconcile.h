/*
 * reconcile.h - bring a task record in line with what really happened: the
 * runner's status.json and the container's state.
 *
 * reconcile_from_status() maps the iteration's status.json onto the task
 * (what the TypeScript rover calls "refresh from iteration") - but only for an active task
 * (IN_PROGRESS, ITERATING).  A task that is already PAUSED, FAILED or done is
 * never moved by a status file, so a stale `running` cannot flip an orphaned
 * task back (a flaw of the TypeScript rover).  A pause for approval records the
 * breakpoint the runner names (`breakpoint`) as approvalRequest {stepId,
 * iteration}: a claim, checked against the workflow by approval.h.
 *
 * What the container's state says when status.json does not (the orphan
 * detector) is orphan.h, included here: its callers reconcile with both.
 */
#ifndef ROVER_RECONCILE_H
#define ROVER_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/orphan.h"
#include "supervisor/lib/task.h"

/* Apply status.json at status_path to t.  A missing status file changes
 * nothing; one that does not parse is an error naming it (t unchanged).
 * *ret_changed tells whether t was modified. */
int reconcile_from_status(struct task *t, const char *status_path, int64_t now_ms,
			  bool *ret_changed, struct rv_error **err);

/* The reason a pause of t is recorded with, given the reason its runner
 * claimed (status.json, written in the container).  approval stays (a
 * breakpoint is answered by a person, and nothing resumes it by itself);
 * otherwise a pause the host asked for (`pauseRequested.reason`: operator,
 * drain) wins, so `rover resume --all` finds what it paused; and the
 * host's own reasons claimed by a container (operator, drain) become
 * signal: a container cannot have itself resumed by `rover resume --all`. */
enum task_pause_reason reconcile_pause_reason(const struct task *t, enum task_pause_reason claimed);

#endif
