/*
 * taskops.h - what a person does to one task besides creating and resuming
 * it: pause it, stop it, restart it, delete it, read its output.  The
 * commands (supervisor/cmd/cmd_{pause,stop,restart,delete}.c) parse
 * options and print; everything that decides or changes something is here.
 *
 * Calling sequence (every operation but delete):
 *     task_store_load_id(st, id, &t, &err);
 *     observe_task(st, &t, 0, report, ud);        (reconcile it first)
 *     taskops_stop(st, t, &res, &err);             (or pause, restart)
 *     ... res.task is the record as written ...
 *     taskops_stop_result_release(&res);
 *
 * Rules all of them follow:
 *   - The status decides what is allowed (below); a refusal is -EPERM with a
 *     message naming the task and its status, and nothing is touched.
 *   - The engine is the one the task was started on (launch_engine_for_task),
 *     whatever ROVER_ENGINE says now.
 *   - No engine call is made with the task lock held: the outcome is written
 *     afterwards by task_store_update(), which re-reads the record; when the
 *     task moved on meanwhile (another container was started for it) the
 *     outcome is not written and -ESTALE says so.
 *   - The checkpoint is never deleted.  Only restart moves it, aside.
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
 * Stop.  Any status but COMPLETED, MERGED, PUSHED (FAILED: nothing to do,
 * `already`).  The container is stopped (SIGTERM, LAUNCH_STOP_TIMEOUT_S,
 * SIGKILL), its output appended to container.log and the container removed;
 * the task ends FAILED with error TASKOPS_STOPPED_ERROR, resumable, never
 * auto-retried.  A task whose container completed before the stop stays
 * COMPLETED.  An engine that cannot be reached fails the stop of an active
 * task (nothing changes); for a NEW or PAUSED task, whose container is not
 * running, the task is still stopped and the container named in
 * left_behind.
 *
 * Restart (as the TypeScript rover defines it).  NEW, FAILED, or IN_PROGRESS/ITERATING whose
 * container is not alive (missing, exited, or the engine cannot say).
 * PAUSED is refused with a tip to resume.  The iteration's checkpoint.json
 * is renamed to checkpoint.json.restart-<epochms> (never reused, never
 * deleted), status.json is reset to "initializing", the task gets
 * task_restart() (restartCount + 1, lastRestartAt, IN_PROGRESS, no
 * container id yet), the worktree is re-created when it is missing (on its
 * branch when that still exists), and a fresh container runs the whole
 * workflow.  The resume lock of the iteration is held throughout, so a
 * concurrent resume cannot start a second container and the orphan detector
 * leaves the task alone.  If anything fails, the record, status.json and the
 * checkpoint are put back as they were.
 *
 * Delete.  Refuses an active task (IN_PROGRESS or ITERATING after
 * observation) unless force.  (`rover delete` first asks taskgit_loss()
 * whether unmerged commits or uncommitted files would be lost and refuses
 * those without --force; this function does not look.)  Removes every container labelled
 * rover.task=<id> and rover.store=<store> (and the recorded one), the
 * worktree and its branch - only a worktree inside <store>/workspaces/, never
 * a directory elsewhere - and the task directory.  Without force any failure
 * stops before the task directory is touched; with force the rest is done
 * and what could not be removed is listed in left_behind.  A task whose
 * record cannot be read (t NULL) can be deleted with force: its containers
 * are found by label on the discovered engine, its worktree and branch by
 * their conventional names.
 *
 * Logs: tasklogs.h.
 */
#ifndef ROVER_TASKOPS_H
#define ROVER_TASKOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/layout.h"
#include "supervisor/lib/engine_logs.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

#define TASKOPS_PAUSE_TIMEOUT_S 600
#define TASKOPS_PAUSE_DEFAULT_REASON "Paused by user via rover pause"
#define TASKOPS_STOPPED_ERROR "stopped by user"
#define TASKOPS_RESTART_ASIDE_INFIX ".restart-"
/* After SIGKILL, how long the engine gets to report the exit. */
#define TASKOPS_KILL_WAIT_S 15
/* Longest pause reason kept (common/layout.h: what the runner reads). */
#define TASKOPS_REASON_MAX LAYOUT_DRAIN_REASON_MAX

/* ---- pause ---------------------------------------------------------------- */

enum taskops_pause_phase {
	TASKOPS_PAUSE_DRAINING,    /* waiting for the current step to finish */
	TASKOPS_PAUSE_TERMINATING, /* SIGTERM sent: the runner saves and exits */
	TASKOPS_PAUSE_KILLING,     /* SIGKILL sent */
};

/* Called about once a second while waiting; elapsed_ms since the pause began. */
typedef void (*taskops_progress_fn)(void *userdata, int64_t task_id,
				    enum taskops_pause_phase phase, int64_t elapsed_ms);

struct taskops_pause_opts {
	bool now;             /* SIGTERM at once instead of draining */
	long timeout_s;       /* drain this long before SIGTERM; < 0: TASKOPS_PAUSE_TIMEOUT_S */
	long term_timeout_s;  /* after SIGTERM, before SIGKILL; <= 0: LAUNCH_STOP_TIMEOUT_S */
	const char *reason;   /* NULL or "": TASKOPS_PAUSE_DEFAULT_REASON */
	/* pauseReason recorded (NONE: user); operator for `rover pause --all`,
	 * which `rover resume --all` brings back.  A task that reached a
	 * breakpoint meanwhile keeps approval. */
	enum task_pause_reason pause_reason;
	taskops_progress_fn progress; /* may be NULL */
	void *userdata;
};

struct taskops_pause_result {
	bool paused;          /* PAUSED by us; false: the container ended on its own first */
	enum taskops_pause_phase reached; /* DRAINING: it drained; else what we had to send */
	int exit_code;        /* the container's; -1 when unknown (gone) */
	bool has_checkpoint;  /* checkpoint.json exists */
	struct task *task;    /* the record as written (caller releases) */
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

/* ---- stop ----------------------------------------------------------------- */

struct taskops_stop_result {
	bool already;           /* it was FAILED: nothing done */
	bool completed;         /* its container completed before the stop: COMPLETED */
	bool stopped_running;   /* a live container was stopped */
	bool container_removed; /* ... and removed, its output saved */
	int exit_code;          /* the container's; -1 when unknown */
	char *left_behind;      /* what could not be removed, or NULL */
	bool has_checkpoint;
	struct task *task;      /* the record as written */
};

int taskops_stop(const struct task_store *st, const struct task *t,
		 struct taskops_stop_result *ret, struct rv_error **err);
void taskops_stop_result_release(struct taskops_stop_result *r);

/* ---- restart -------------------------------------------------------------- */

struct taskops_restart_result {
	char *container_id;
	char *checkpoint_aside;  /* where the old checkpoint went, or NULL (there was none) */
	bool worktree_recreated;
	struct task *task;       /* the record as written */
};

/* p gives the project root (worktrees) and the default image (the task's
 * own agentImage is preferred); image (NULL: none) overrides both and is
 * recorded as the task's agentImage. */
int taskops_restart(const struct project *p, const struct task_store *st, const struct task *t,
		    const char *image, struct taskops_restart_result *ret,
		    struct rv_error **err);
void taskops_restart_result_release(struct taskops_restart_result *r);

/* Rename <iter_dir>/checkpoint.json to checkpoint.json.restart-<now_ms>
 * (the next free millisecond when that name exists; never replaces a file)
 * and fsync the directory.  *ret_path: the new path, or NULL when there was
 * no checkpoint (success). */
int taskops_checkpoint_aside(const char *iter_dir, int64_t now_ms, char **ret_path,
			     struct rv_error **err);

/* ---- delete --------------------------------------------------------------- */

struct taskops_delete_result {
	size_t containers_removed;
	bool worktree_removed;
	char **left_behind; /* descriptions of what remains; NULL-terminated or NULL */
	size_t n_left;
};

/* t: the task as loaded and observed, or NULL when its record cannot be read
 * (then only with force). */
int taskops_delete(const struct project *p, const struct task_store *st, int64_t id,
		   const struct task *t, bool force, struct taskops_delete_result *ret,
		   struct rv_error **err);
void taskops_delete_result_release(struct taskops_delete_result *r);

#endif
