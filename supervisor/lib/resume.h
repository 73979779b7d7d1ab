/*
 * resume.h - resume a PAUSED or FAILED task from its checkpoint: the helper
 * shared by `rover resume` (manual) and the supervisor's auto-retry (auto),
 * as docs/design/lifecycle.md and retry-policy.md describe it.
 *
 * resume_task(), in order:
 *   1. load the task; an active one (IN_PROGRESS, ITERATING) is first
 *      reconciled with its status file and container (observe.h), so a task
 *      whose container died is classified before the status check;
 *   2. only PAUSED and FAILED are resumable (auto mode: only PAUSED for a
 *      retryable error whose retry is due, retry.h) - else NOT_RESUMABLE;
 *      a task PAUSED for approval is resumable only once the host recorded
 *      the approval of the breakpoint it waits at (approval.h; checked again
 *      in step 5) - else NOT_RESUMABLE "approve or reject it";
 *   3. take the resume lock of the current iteration (lock.h); held by a
 *      live process: ALREADY_RESUMING.  With the lock held, always released:
 *   4. a resume that died half-way is finished or undone first (retry.h
 *      "Crash recovery");
 *   5. under the task lock, in ONE write of description.json: re-check the
 *      status (someone may have won the race: NOT_RESUMABLE), remember the
 *      previous status, error, pauseReason, provider, pausedAt/failedAt in
 *      `resumeInFlight`, reset status.json to "initializing" / "Resuming
 *      workflow" (written before description.json, under the same lock, so
 *      no observer can read the old "paused" for the new IN_PROGRESS), mark
 *      IN_PROGRESS, drop the old containerId; manual mode resets the retry
 *      budget, auto mode records the attempt (count + 1, lastAttemptAt);
 *   6. remove a stale .pause-requested; re-create the worktree if its
 *      directory is gone (its branch is kept: worktree_restore);
 *   7. launch the container with --checkpoint (launch.h: the previous
 *      container's output is saved to container.log before it is removed);
 *   8. success: record the container and drop `resumeInFlight` (one write):
 *      OK.  Failure: restore the remembered status, error, pauseReason,
 *      provider and timestamps, record the failure in status.json
 *      (with the provider), drop `resumeInFlight`: FAILED.  An auto attempt
 *      that failed to start stays counted.
 * Nothing is printed; err carries the message for every result but OK.
 *
 * A new iteration (`rover iterate`, RESUME_ITERATE) takes it too, from a
 * finished task (COMPLETED, FAILED, MERGED, PUSHED) at iteration n: the
 * lock is iteration n+1's; under it the new inputs.json is written, then the
 * one write of step 5 also sets iterations = n+1 (task_iterate) and records
 * n in the marker ("iteration"), so an undo (step 8, or resume_recover after
 * a crash) puts the task back at iteration n with its status, error and
 * completedAt; a crash after the container started leaves it adopted at
 * n+1.  Either way the task is at one iteration or the other, resumable.
 *
 * The first start of a task (`rover task`, RESUME_START) takes the same
 * path from NEW: lock, mark, workspace (created here: worktree_restore),
 * launch, record; a failure puts it back to NEW with the reason, and a crash
 * anywhere is settled by resume_recover() like a resume's.
 *
 * `resumeInFlight` (description.json, ours): {"since", "pid", "mode",
 * "from", "error", "pauseReason", "provider", "pausedAt", "failedAt",
 * "completedAt", "iteration"}.  It
 * exists only between steps 5 and 8; a crash in between leaves it, and
 * resume_recover() (the supervisor, or the next resume of the task) decides
 * from the engine whether the container was started.
 */
#ifndef ROVER_RESUME_H
#define ROVER_RESUME_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/task_store.h"

#define RESUME_IN_FLIGHT_KEY "resumeInFlight"
#define RESUME_STEP "Resuming workflow"
#define RESUME_FAIL_WORKTREE "Resume failed: worktree could not be prepared"
#define RESUME_FAIL_INIT "Resume failed: iteration initialization error"
#define RESUME_FAIL_CONTAINER "Resume failed: container could not start"
#define START_FAIL_WORKTREE "workspace could not be prepared"
#define START_FAIL_CONTAINER "container could not start"
#define ITERATE_FAIL_WORKTREE "Iteration failed: worktree could not be prepared"
#define ITERATE_FAIL_CONTAINER "Iteration failed: container could not start"

enum resume_result {
	RESUME_OK,
	RESUME_NOT_RESUMABLE,
	RESUME_ALREADY_RESUMING,
	RESUME_FAILED,
	RESUME_QUEUED, /* create.h only: the task waits in the start queue (gate.h) */
};

enum resume_mode {
	RESUME_MANUAL,  /* `rover resume`: resets the auto-retry budget */
	RESUME_AUTO,    /* the scheduler: counts an attempt; only a due retry */
	RESUME_START,   /* `rover task`: the first start of a NEW task, made
			  crash-safe by the same marker; a failure leaves it NEW
			  with the reason */
	RESUME_ITERATE, /* `rover iterate` (iterate.h): a new iteration of a
			   finished task, no checkpoint; a failure leaves it at
			   its old iteration and status */
};

struct resume_opts {
	enum resume_mode mode;
	const char *image;                 /* overrides the task's agentImage (NULL: the
					      task's, else the project's) */
	const struct retry_policy *policy; /* required for RESUME_AUTO */
	bool observed;                     /* the caller has just observed the task */
	/* RESUME_ITERATE: the iteration the task must be at (the new one is
	 * iterate_from + 1) and the new iteration's inputs.json (required). */
	int64_t iterate_from;
	struct json_object *iterate_inputs;
	observe_report_fn report; /* observe's warnings (NULL: none) */
	void *userdata;
	/* RESUME_MANUAL and RESUME_AUTO check what the checkpoint needs before
	 * anything changes (resume_validate): the workspace its completed steps
	 * worked in, and the workflow it was saved for.  These let it go on
	 * anyway (a person's choice: the supervisor never sets them). */
	bool recreate_workspace;    /* a missing workspace is made again from the branch */
	bool allow_workflow_change; /* resume although the workflow changed */
	bool fresh; /* RESUME_START of a task this process just made (launch_opts.fresh) */
};

/* What a manual resume of t needs and lacks: NULL when nothing, else a
 * one-line message naming what is missing and how to go on (caller frees).
 * Checks: a checkpoint with completed steps needs its workspace (git
 * projects: <store>/workspaces/<id>; unless o->recreate_workspace), and the
 * task's workflow.yml must hash as the checkpoint's workflowHash (unless
 * o->allow_workflow_change).  The checkpoint is the container's file: read
 * through iterfile.h, its values used as data only. */
char *resume_validate(const struct project *p, const struct task_store *st, const struct task *t,
		      const struct resume_opts *o);

struct resume_outcome {
	enum resume_result result;
	struct task *task;         /* the record afterwards, or NULL; owned */
	char *container_id;        /* OK: the new container */
	enum task_status previous; /* the status it was resumed from */
	bool had_checkpoint;
	bool worktree_recreated;
	enum retry_recover_action recovered; /* what step 4 did */
};

void resume_outcome_release(struct resume_outcome *o);

/* Load task id and, when it is active, reconcile it (step 1), so that the
 * caller can show what will be resumed.  *ret is the record (caller frees). */
int resume_prepare(const struct task_store *st, int64_t id, observe_report_fn report,
		   void *userdata, struct task **ret, struct rv_error **err);

/* PAUSED or FAILED (or an active task whose resume died half-way: step 4
 * decides). */
bool resume_is_resumable(const struct task *t);

/* Steps 1-8.  Returns 0 with ret->result set (err set unless OK), or -errno
 * when the task cannot be loaded (-ENOENT "task 7 not found"). */
int resume_task(const struct project *p, const struct task_store *st, int64_t id,
		const struct resume_opts *o, struct resume_outcome *ret, struct rv_error **err);

/* Step 4 on its own, for the supervisor: takes the resume lock (held:
 * RECOVER_WAIT), re-reads the task and finishes or undoes a resume that died
 * half-way.  *ret_action says what happened (RECOVER_NONE: nothing to do).
 * An auto attempt that is rolled back is given back and due at once. */
int resume_recover(const struct task_store *st, int64_t id, enum retry_recover_action *ret_action,
		   struct rv_error **err);

/* Why t cannot get a new iteration now (newly allocated, one line naming
 * the task and what to do), or NULL when it can.  from > 0: the iteration it
 * must still be at. */
char *resume_iterate_refusal(const struct task *t, int64_t from);

/* Whether t records a resume in flight (and since when, may be NULL). */
bool resume_in_flight(const struct task *t, int64_t *ret_since_ms);

#endif
