/*
 * iterate.h - `rover iterate ID "instructions"`: a new iteration of a
 * finished task, in the same workspace, with follow-up instructions.
 *
 * iterate_task(), in order:
 *   1. load the task and, when it is active, reconcile it (resume_prepare),
 *      so a task whose container just ended is judged by that end;
 *   2. refuse, changing nothing, unless it is COMPLETED, FAILED, MERGED or
 *      PUSHED (resume_iterate_refusal: a running task is waited for or
 *      stopped; a PAUSED one is resumed first, as the TypeScript rover says);
 *   3. import the commits of iteration n into the project's branch
 *      rover/task-<id> (worktree_sync, as observe.h does when a task stops),
 *      so nothing of the finished iteration is lost whatever happens next;
 *      a failure here stops before anything changes;
 *   4. start iteration n+1 through the resume helper (resume.h,
 *      RESUME_ITERATE): under the new iteration's resume lock write its
 *      inputs.json, then in one write of description.json mark it
 *      IN_PROGRESS at iterations = n+1 with the `resumeInFlight` marker,
 *      launch the container with no lock held and without a checkpoint,
 *      record the container.  The engine is never called under the task lock.
 *
 * The instructions reach the agent as data: the new iteration's inputs.json
 * is the task's recorded `inputs` with `description` replaced by them (the
 * built-in workflows' prompt input; a command step gets it as an environment
 * variable, placeholder.h), read by the runner from /output/inputs.json.
 * No shell ever sees them on the host.
 *
 * Crash safety: a process killed before the mark leaves the task at
 * iteration n, unchanged (iterations/<n+1>/ may hold an inputs.json nobody
 * reads; the next iterate rewrites it).  Killed after the mark, the task is
 * IN_PROGRESS at n+1 with the marker and no container: every observer (list,
 * inspect, resume, supervise) settles it through resume_recover(): a
 * container of iteration n+1 is adopted, else the task goes back to
 * iteration n with its status, error and completedAt.
 *
 * Nothing is printed; err carries the message for every result but OK.
 */
#ifndef ROVER_ITERATE_H
#define ROVER_ITERATE_H

#include "common/error.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/task_store.h"

/* Longest instructions accepted (they travel in inputs.json). */
#define ITERATE_MAX_INSTRUCTIONS (256u * 1024u)

struct iterate_opts {
	const char *instructions; /* required, not empty */
	const char *image;        /* NULL: the task's agentImage */
	observe_report_fn report; /* warnings of the reconciliation (NULL: none) */
	void *userdata;
};

/* Steps 1-4.  Returns 0 with ret->result: OK (ret->task at the new
 * iteration, ret->container_id), NOT_RESUMABLE (refused, nothing changed),
 * ALREADY_RESUMING, FAILED (err says why; the task is back at its old
 * iteration unless the container started and only its recording failed).
 * -errno when the task cannot be loaded or the instructions are unusable
 * (-EINVAL). */
int iterate_task(const struct project *p, const struct task_store *st, int64_t id,
		 const struct iterate_opts *o, struct resume_outcome *ret, struct rv_error **err);

/* The inputs of the new iteration: a copy of the record's `inputs` with
 * `description` = instructions (a new object, caller puts it). */
struct json_object *iterate_inputs(const struct task *t, const char *instructions);

#endif
