/*
 * worktree.h - a task's workspace: a git worktree on its own branch.
 *
 * In a git project each task works in `<store>/workspaces/<id>`, a linked
 * worktree of the project on branch `rover/task-<id>`, created from the
 * project's HEAD.  The store directory is added to the repository's
 * .git/info/exclude so the project's `git status` stays clean.  Outside git
 * the project directory itself is the workspace.
 *
 * git is run as a program (it is the tool that owns worktrees); its stderr
 * becomes the error message when it fails.
 */
#ifndef ROVER_WORKTREE_H
#define ROVER_WORKTREE_H

#include <stdint.h>

#include "common/error.h"

struct worktree {
	char *path;
	char *branch;
	char *base_commit; /* the commit it started from */
};

/* Create the worktree of task id under store_dir for the repository at root. */
int worktree_create(const char *root, const char *store_dir, int64_t id, struct worktree *ret,
		    struct rv_error **err);

/* Remove the worktree and its branch (missing ones are fine). */
int worktree_remove(const char *root, const char *path, const char *branch,
		    struct rv_error **err);

void worktree_release(struct worktree *w);

/* Re-create the directory `path` of a task's worktree that has gone (rover
 * resume): stale registrations of vanished worktrees are pruned, then the
 * worktree is added on `branch` when that branch exists (its commits are the
 * task's work: never -b), else on a new `branch` started from base (NULL or
 * "": HEAD).  An existing directory is left alone (0).  Empty branch:
 * -EINVAL. */
int worktree_restore(const char *root, const char *path, const char *branch, const char *base,
		     struct rv_error **err);

/* Run git with argv (argv[0] is "git") in cwd; *ret_out (may be NULL) gets its
 * stdout with the trailing newline removed. */
int worktree_git(const char *cwd, const char *const *argv, char **ret_out,
		 struct rv_error **err);

#endif
