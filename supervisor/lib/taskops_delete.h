/*
 * taskops_delete.h - delete a task and what belongs to it (taskops.h: the rules every
 * operation follows, and the calling sequence).
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
 */
#ifndef ROVER_TASKOPS_DELETE_H
#define ROVER_TASKOPS_DELETE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

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
