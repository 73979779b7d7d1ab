/*
 * worktree.h - a task's workspace: a git repository of its own, on its own
 * branch, that the host never runs git in.
 *
 * The container writes everything in the workspace, its .git included, so
 * nothing there may ever steer git on the host (docs/design/isolation.md).
 * In a git project each task therefore works in `<store>/workspaces/<id>`, a
 * separate repository as `git clone --shared` would make it (its objects
 * are borrowed from the project's object directory, which the container
 * sees read-only: worktree_shared_objects; only the task's branch exists
 * in it), checked out on branch
 * `rover/task-<id>` at the project's HEAD.  The project gets a branch of
 * the same name, created at the same commit; the agent's commits reach it
 * only through worktree_sync(), which runs git in the PROJECT and lets
 * `git upload-pack` read the workspace - the one git command made to be run
 * in an untrusted repository.  Outside git the project directory itself is
 * the workspace.
 *
 * Every git command rover runs goes through worktree_git.h.
 */
#ifndef ROVER_WORKTREE_H
#define ROVER_WORKTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/worktree_git.h"

struct worktree {
	char *path;
	char *branch;
	char *base_commit; /* the commit it started from */
};

/* Create the workspace of task id under store_dir for the repository at
 * root: the branch in the project, then the workspace repository.  On
 * failure nothing it made is left behind (no branch, no directory).  A
 * workspace is assembled under `.<id>.new` beside its final name and renamed
 * into place, so a crash never leaves a half-made one (worktree_remove and
 * the next attempt remove the leftover). */
int worktree_create(const char *root, const char *store_dir, int64_t id, struct worktree *ret,
		    struct rv_error **err);

/* Remove what a killed creation of the workspace at path left half-made
 * (nothing when there is none). */
void worktree_discard_partial(const char *path);

/* The project's HEAD commit (newly allocated hex), or an error telling the
 * user to make a first commit. */
int worktree_head(const char *root, char **ret, struct rv_error **err);

/* Import the agent's branch from the workspace at path into the project's
 * branch of the same name: fetched into worktree_import_ref(branch), then
 * the branch moved to it (forced: it is the task's own branch) unless the
 * branch was moved in the project since the last import - then nothing the
 * project's branch holds is dropped (docs/design/user-loop.md).  The
 * workspace's .git must be a directory (not a symlink, not a gitdir file);
 * a workspace whose branch is gone imports nothing (0).  -EPERM when the
 * .git was replaced, -EIO when git failed or the user has that branch
 * checked out in the project (the commits are then only in the import ref). */
int worktree_sync(const char *root, const char *path, const char *branch, struct rv_error **err);

/* refs/rover/imported/<branch>: the workspace's tip as imported last
 * (newly allocated).  worktree_sync() compares the next import with it to
 * tell the agent's new commits from commits made in the project since. */
char *worktree_import_ref(const char *branch);

/* *ret: whether commit a is an ancestor of (or equal to) commit b. */
int worktree_is_ancestor(const char *root, const char *a, const char *b, bool *ret,
			 struct rv_error **err);

/* NULL when git knows the user's identity in the project; else the
 * environment ("GIT_AUTHOR_NAME=rover", ...) that gives commits rover made
 * for the user the identity "rover <rover@localhost>" rather than failing. */
const char *const *worktree_identity_env(const char *root);

/* git commit-tree in the project: a commit of tree with parents
 * (NULL-terminated, at most 5) and message; the user's identity, or
 * "rover <rover@localhost>" when git has none.  *ret: the new commit. */
int worktree_commit_tree(const char *root, const char *tree, const char *const *parents,
			 const char *message, char **ret, struct rv_error **err);

/* Remove the workspace and the project's branch (missing ones are fine). */
int worktree_remove(const char *root, const char *path, const char *branch, struct rv_error **err);

void worktree_release(struct worktree *w);

/* Make the workspace at `path` usable for another container (rover resume,
 * restart): a missing directory is cloned again on `branch` (from the
 * project's branch when it exists - its commits are the task's work - else
 * from base, NULL or "": HEAD); a workspace whose .git is not a directory
 * (a linked worktree made by an older rover, or a .git the container
 * replaced) gets a fresh repository on the project's branch, its files kept.
 * *ret_recreated (may be NULL) tells whether anything was made.  Empty
 * branch: -EINVAL. */
int worktree_restore(const char *root, const char *path, const char *branch, const char *base,
		     bool *ret_recreated, struct rv_error **err);

/* The project's object directory (absolute, newly allocated): the workspace
 * repositories borrow objects from it, so containers mount it read-only. */
int worktree_shared_objects(const char *root, char **ret, struct rv_error **err);

#endif
