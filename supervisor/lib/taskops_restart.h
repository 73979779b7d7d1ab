/*
 * taskops_restart.h - run a task's workflow again from the start (taskops.h: the rules every
 * operation follows, and the calling sequence).
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
 */
#ifndef ROVER_TASKOPS_RESTART_H
#define ROVER_TASKOPS_RESTART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

#define TASKOPS_RESTART_ASIDE_INFIX ".restart-"

struct taskops_restart_result {
	char *container_id;
	char *checkpoint_aside; /* where the old checkpoint went, or NULL (there was none) */
	bool worktree_recreated;
	struct task *task; /* the record as written */
};

/* p gives the project root (worktrees) and the default image (the task's
 * own agentImage is preferred); image (NULL: none) overrides both and is
 * recorded as the task's agentImage. */
int taskops_restart(const struct project *p, const struct task_store *st, const struct task *t,
		    const char *image, struct taskops_restart_result *ret, struct rv_error **err);
void taskops_restart_result_release(struct taskops_restart_result *r);

/* Rename <iter_dir>/checkpoint.json to checkpoint.json.restart-<now_ms>
 * (the next free millisecond when that name exists; never replaces a file)
 * and fsync the directory.  *ret_path: the new path, or NULL when there was
 * no checkpoint (success). */
int taskops_checkpoint_aside(const char *iter_dir, int64_t now_ms, char **ret_path,
			     struct rv_error **err);

#endif
