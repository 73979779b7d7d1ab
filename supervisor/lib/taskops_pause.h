/*
 * taskops_pause.h - pause a running task, or ask it to (taskops.h: the rules every
 * operation follows, and the calling sequence).
 *
 * Pause (docs/design/lifecycle.md).  IN_PROGRESS or ITERATING with a
 * container.  Writes <iteration>/.pause-requested (the reason, atomically):
 * the runner finishes its current step, saves the checkpoint and exits 2.
 * The container's exit is learnt from the engine's event stream, with an
 * inspect every few seconds as a safety net.  After timeout_s the container
 * gets SIGTERM (the runner forwards it to the step, saves, exits 2), after
 * LAUNCH_STOP_TIMEOUT_S more SIGKILL.  `now` sends SIGTERM at once.  A
 * container that exits 2, or that we had to signal, leaves the task PAUSED
 * with pauseReason user (never auto-retried); one that ended on its own
 * (completed, failed) is reconciled as any other exit, and the outcome says
 * so.  The drain file is re-written when it vanishes while the container
 * runs (a runner that was just starting removes a stale one), and removed
 * once the container has exited.
 *
 * The wait is a loop of its own, not the supervisor's (supervise.h): one
 * container, one event stream filtered to it, three deadlines (drain,
 * SIGTERM, SIGKILL) and a tick for progress and the drain file; it runs in
 * `rover pause`, which has no supervisor loop to join.  The engine's event
 * stream is the wake-up, an inspect every PAUSE_INSPECT_EVERY_MS the
 * safety net.
 */
#ifndef ROVER_TASKOPS_PAUSE_H
#define ROVER_TASKOPS_PAUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/layout.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

#define TASKOPS_PAUSE_TIMEOUT_S 600
#define TASKOPS_PAUSE_DEFAULT_REASON "Paused by user via rover pause"
/* After SIGKILL, how long the engine gets to report the exit. */
#define TASKOPS_KILL_WAIT_S 15
/* Longest pause reason kept (common/layout.h: what the runner reads). */
#define TASKOPS_REASON_MAX LAYOUT_DRAIN_REASON_MAX

enum taskops_pause_phase {
	TASKOPS_PAUSE_DRAINING,    /* waiting for the current step to finish */
	TASKOPS_PAUSE_TERMINATING, /* SIGTERM sent: the runner saves and exits */
	TASKOPS_PAUSE_KILLING,     /* SIGKILL sent */
};

/* Called about once a second while waiting; elapsed_ms since the pause began. */
typedef void (*taskops_progress_fn)(void *userdata, int64_t task_id, enum taskops_pause_phase phase,
				    int64_t elapsed_ms);

struct taskops_pause_opts {
	bool now;            /* SIGTERM at once instead of draining */
	long timeout_s;      /* drain this long before SIGTERM; < 0: TASKOPS_PAUSE_TIMEOUT_S */
	long term_timeout_s; /* after SIGTERM, before SIGKILL; <= 0: LAUNCH_STOP_TIMEOUT_S */
	const char *reason;  /* NULL or "": TASKOPS_PAUSE_DEFAULT_REASON */
	/* pauseReason recorded (NONE: user); operator for `rover pause --all`,
	 * which `rover resume --all` brings back.  A task that reached a
	 * breakpoint meanwhile keeps approval. */
	enum task_pause_reason pause_reason;
	taskops_progress_fn progress; /* may be NULL */
	void *userdata;
};

struct taskops_pause_result {
	bool paused; /* PAUSED by us; false: the container ended on its own first */
	enum taskops_pause_phase reached; /* DRAINING: it drained; else what we had to send */
	int exit_code;                    /* the container's; -1 when unknown (gone) */
	bool has_checkpoint;              /* checkpoint.json exists */
	struct task *task;                /* the record as written (caller releases) */
};

int taskops_pause(const struct task_store *st, const struct task *t,
		  const struct taskops_pause_opts *o, struct taskops_pause_result *ret,
		  struct rv_error **err);
void taskops_pause_result_release(struct taskops_pause_result *r);

/* Ask a running task to pause after its current step without waiting: under
 * the task lock record pauseRequested {reason, at} (reason operator or
 * drain: the pauseReason the pause is recorded with, reconcile.h), then
 * write the drain file with text.  For `rover pause --all` (before each
 * task's taskops_pause, so that all drain at once) and the supervisor's
 * drain mode.  A task that is not running (or has no container yet) is
 * left alone: 0 with *ret_asked false. */
int taskops_request_pause(const struct task_store *st, int64_t id, enum task_pause_reason reason,
			  const char *text, bool *ret_asked, struct rv_error **err);

#endif
