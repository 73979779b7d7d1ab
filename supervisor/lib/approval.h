/*
 * approval.h - breakpoint steps on the host: who may let one pass, and how
 * the runner learns it.
 *
 * A workflow step `type: breakpoint` makes the runner save its checkpoint
 * and exit 2 with pauseReason "approval"; status.json names the step
 * (`breakpoint`), and reconcile.h copies that claim into the record as
 * approvalRequest {stepId, iteration}.  Then a person decides:
 *
 *   approval_approve()  PAUSED for approval -> records {iteration, stepId,
 *                       message, approvedAt} in the record's `approvals`;
 *                       the caller then resumes the task (resume.h), and
 *                       launch.h passes every approval of the iteration on
 *                       the runner's command line (`--approve ID=MESSAGE`).
 *   approval_reject()   PAUSED for approval -> FAILED "Rejected at
 *                       breakpoint 'ID': MESSAGE" (FAILED is never
 *                       auto-retried; `rover resume` of it asks again).
 *   approval_timeout_check()  the supervisor, for a breakpoint with a
 *                       `timeout`: once pausedAt + timeout has passed,
 *                       onTimeout fail -> FAILED, continue -> an approval
 *                       marked timedOut (`--approve-timeout ID`) and a
 *                       resume.
 *
 * Trust (docs/design/untrusted-files.md): everything under the iteration
 * directory is the container's, so an approval is never a file there.  It
 * lives in description.json (never mounted) and reaches the runner only on
 * the command line of the container the host creates; the runner ignores a
 * breakpoint that checkpoint.json records as passed.  The step id the
 * runner claims to wait at is checked against the task's own workflow.yml
 * (the host's copy, mounted read-only) before anything is recorded: it must
 * be a top-level breakpoint step, so an approval can only ever let pass a
 * step the workflow's author made a breakpoint.  The timeout and onTimeout
 * are read from that file too, never from the container.
 *
 * Each update runs under the task lock (task_store_update) and re-checks the
 * status there: approving a task that is no longer waiting is -EPERM with a
 * message naming the task and what it is.
 */
#ifndef ROVER_APPROVAL_H
#define ROVER_APPROVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent-runner/workflow.h"
#include "common/error.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

/* Longest approval or rejection message kept (the runner gets it on its
 * command line). */
#define APPROVAL_MESSAGE_MAX 4096
/* At most this many approvals are passed to one container. */
#define APPROVAL_MAX_PER_RUN 64

/* PAUSED with pauseReason approval; *ret_step_id (may be NULL) is the step
 * the runner claims to wait at in the current iteration, or NULL when it
 * named none (borrowed from t). */
bool approval_waiting(const struct task *t, const char **ret_step_id);

/* Whether the host let step_id pass in t's current iteration. */
bool approval_given(const struct task *t, const char *step_id);

/* Add (or replace) the approval of step_id in t's current iteration, in
 * memory.  message is cut at APPROVAL_MESSAGE_MAX bytes. */
void approval_record(struct task *t, const char *step_id, const char *message, bool timed_out,
		     int64_t now_ms);

/* The runner's arguments for t's current iteration: "--approve" "ID=MSG"
 * or "--approve-timeout" "ID" pairs, NULL-terminated, newly allocated (free
 * with approval_args_free), at most APPROVAL_MAX_PER_RUN pairs. */
char **approval_runner_args(const struct task *t);
void approval_args_free(char **args);

/* Load the task's workflow.yml and find step_id there: it must be a
 * top-level breakpoint step.  -ENOENT/-EBADMSG for the file, -EINVAL
 * "task 7 reports waiting at 'x', which is not a breakpoint step of its
 * workflow" otherwise.  *ret_wf owns *ret_step. */
int approval_find_breakpoint(const struct task_store *st, const struct task *t, const char *step_id,
			     struct workflow **ret_wf, const struct workflow_step **ret_step,
			     struct rv_error **err);

/* Record the approval of the breakpoint task id waits at (timed_out: the
 * supervisor's onTimeout continue).  *ret (may be NULL): the record as
 * written; *ret_step_id (may be NULL): the step approved (newly allocated).
 * -EPERM when the task does not wait for approval. */
int approval_approve(const struct task_store *st, int64_t id, const char *message, bool timed_out,
		     struct task **ret, char **ret_step_id, struct rv_error **err);

/* FAILED with "Rejected at breakpoint 'ID'[: MESSAGE]" (prefix of a
 * timeout: "Approval timed out ..."); same checks as approve. */
int approval_reject(const struct task_store *st, int64_t id, const char *message, struct task **ret,
		    struct rv_error **err);

enum approval_timeout_action {
	APPROVAL_TIMEOUT_NONE,     /* no timeout, or not waiting */
	APPROVAL_TIMEOUT_WAIT,     /* not yet: *ret_due_ms */
	APPROVAL_TIMEOUT_FAIL,     /* onTimeout fail */
	APPROVAL_TIMEOUT_CONTINUE, /* onTimeout continue */
};

/* Pure: the decision for a breakpoint paused at paused_at_ms with
 * timeout_s (0: none) and on_timeout, at now_ms. */
enum approval_timeout_action approval_timeout_decide(int64_t paused_at_ms, int timeout_s,
						     enum workflow_on_timeout on_timeout,
						     int64_t now_ms, int64_t *ret_due_ms);

/* For the supervisor: look at t (a listed task); when it waits at a
 * breakpoint whose timeout passed, fail it or record the timed-out
 * approval (the caller then resumes it: CONTINUE).  *ret_action says what
 * was done (WAIT with *ret_due_ms: nothing yet). */
int approval_timeout_check(const struct task_store *st, const struct task *t, int64_t now_ms,
			   enum approval_timeout_action *ret_action, int64_t *ret_due_ms,
			   struct rv_error **err);

#endif
