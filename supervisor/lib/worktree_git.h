/*
 * worktree_git.h - the hardened git runner: the only way host code runs git
 * (docs/design/isolation.md).
 *
 * Every git command rover runs is the user's git with the
 * repository-location variables of the environment (GIT_DIR, GIT_WORK_TREE
 * and the like) removed, and with hooks and fsmonitor turned off
 * (core.hooksPath=/dev/null, core.fsmonitor=false), on paths rover resolved
 * itself: never on a `gitdir:` file or any other path read from a
 * workspace.  Never give it a workspace as the repository (its .git/config
 * is the container's); worktree.h says how a workspace is read.
 *
 * git's stderr becomes the error message when it fails: -EIO "git <verb>
 * failed: <first error line>", -ENOENT when git is not installed.
 */
#ifndef ROVER_WORKTREE_GIT_H
#define ROVER_WORKTREE_GIT_H

#include <stddef.h>

#include "common/error.h"

/* Run git with argv (argv[0] is "git") in cwd, hardened as said at the top;
 * *ret_out (may be NULL) gets its stdout with the trailing newline removed. */
int worktree_git(const char *cwd, const char *const *argv, char **ret_out, struct rv_error **err);

/* worktree_git with more control, for commands whose output is large or
 * binary (-z lists, patches), that must see a temporary index, or that read
 * files a container wrote (a deadline).  Every field may be left zero. */
struct worktree_git_opts {
	const char *cwd;
	const char *const *env; /* extra "NAME=value" entries (GIT_INDEX_FILE=...),
				   NULL-terminated; added after the location
				   variables were removed */
	int timeout_s;          /* > 0: git and its process group are killed after
				   this long (-ETIMEDOUT) */
	/* stdout chunk by chunk instead of *ret_out; a negative return stops
	 * git and becomes worktree_git_run's result (-EPIPE: the reader left) */
	int (*out_fn)(void *userdata, const char *buf, size_t len);
	void *out_userdata;
	size_t out_max;    /* captured stdout above this is -E2BIG; 0: 64 MiB */
	int *ret_status;   /* non-NULL: an exit status 1..127 is stored here, not
			     an error (git merge-tree: 1 = conflicts) */
	char **ret_stderr; /* non-NULL: git's stderr (64 KiB at most) */
};

/* The deadline for git commands that read what a container wrote:
 * ROVER_GIT_TIMEOUT_S when it is a number of seconds (1..86399), else
 * WORKTREE_GIT_TIMEOUT_S.  A last guard: what can be checked before git
 * runs is refused with a clear message instead. */
#define WORKTREE_GIT_TIMEOUT_S 600
int worktree_git_timeout_s(void);

/* *ret_out (may be NULL) gets stdout exactly as printed (NUL bytes
 * included, *ret_len its length), when out_fn is not set. */
int worktree_git_run(const struct worktree_git_opts *o, const char *const *argv, char **ret_out,
		     size_t *ret_len, struct rv_error **err);

#endif
