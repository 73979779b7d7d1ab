/*
 * taskgit.h - getting a task's work out of its workspace without ever
 * running git in it: diff, merge, push, and what a delete would lose.
 *
 * A task's work is two things: the commits the agent made, imported into
 * the project's branch rover/task-<id> (worktree_sync), and the files it
 * left uncommitted in <store>/workspaces/<id>.  The workspace's .git is the
 * container's and is never used.  The uncommitted files are read by a
 * SNAPSHOT: git runs in the project, with the project's git directory as
 * the repository, the workspace as --work-tree and a temporary index
 * (GIT_INDEX_FILE): read-tree of the branch tip, `add -A`, write-tree.  The
 * result is a tree object in the project: the branch tip with the
 * workspace's files as they are.  Before git looks, rover walks the
 * workspace itself (lstat, O_NOFOLLOW, never following a link, never
 * opening anything but directories) and leaves out, by pathspec, what git
 * could block on or must not read: FIFOs, sockets and devices, directories
 * holding a `.git` of their own (git would read their HEAD, which may be a
 * FIFO), files above TASKGIT_MAX_FILE_BYTES; a .gitignore or .gitattributes
 * that is not a regular file (git opens those without a pathspec asking)
 * makes the snapshot fail with a message naming it.  What was left out and
 * git ignores anyway is not reported.  Symlinks are recorded
 * as links (git never follows them).  The workspace's .gitattributes can
 * name filters, but a filter runs only if the project's or the user's own
 * configuration defines it.  Every git command here carries a deadline
 * (ROVER_GIT_TIMEOUT_S, default TASKGIT_TIMEOUT_S) as a last guard against
 * a container that swaps a file for a FIFO while git reads.
 *
 * Calling sequence:
 *     struct taskgit_task tg;  taskgit_open(p, st, t, &tg, &err);
 *     struct taskgit_snapshot s;  taskgit_snapshot(&tg, &s, &err);
 *     taskgit_diff_files(&tg, &s, file, &files, &n, &err);  (or _patch)
 *     taskgit_snapshot_release(&s);  taskgit_task_release(&tg);
 * or taskgit_merge / taskgit_push / taskgit_loss, which take their own
 * snapshot.  Nothing here prints; errors name the task and what to do.
 */
#ifndef ROVER_TASKGIT_H
#define ROVER_TASKGIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"
#include "supervisor/lib/worktree_git.h"

#define TASKGIT_TIMEOUT_S WORKTREE_GIT_TIMEOUT_S
#define TASKGIT_MAX_FILE_BYTES (256ull * 1024 * 1024)
/* How many commits / files a loss report names before "...". */
#define TASKGIT_LOSS_NAMED 3

/* One task as git sees it (owned strings). */
struct taskgit_task {
	int64_t id;
	char *root;      /* the project's top directory */
	char *branch;    /* rover/task-<id> */
	char *workspace; /* <store>/workspaces/<id>, or NULL: there is none */
	char *base;      /* baseCommit as recorded, or NULL */
	char *title;
};

/* From the record: the project must be a git project, the task must have
 * its branch, and the recorded workspace must be the store's own
 * (task_store_check_workspace).  -ENOTSUP outside git. */
int taskgit_open(const struct project *p, const struct task_store *st, const struct task *t,
		 struct taskgit_task *ret, struct rv_error **err);
void taskgit_task_release(struct taskgit_task *tg);

struct taskgit_snapshot {
	char *tip;          /* the branch's commit (the base when the branch is gone) */
	char *tree;         /* tip's tree with the workspace's files */
	char *base;         /* the commit the task started from */
	bool dirty;         /* tree differs from tip's tree: uncommitted work */
	char **skipped;     /* "path (why)" left out of the tree (what git ignores
			   anyway is not listed); valid UTF-8 (U+FFFD for
			   other bytes), not escaped */
	bool *skipped_work; /* for each: a file or repository (work lost if
			       the workspace went), not a FIFO, socket, device */
	size_t n_skipped;
	size_t n_skipped_work;
};

int taskgit_snapshot(const struct taskgit_task *tg, struct taskgit_snapshot *ret,
		     struct rv_error **err);
void taskgit_snapshot_release(struct taskgit_snapshot *s);

/* ---- diff ------------------------------------------------------------- */

struct taskgit_file {
	char *path;
	char status;            /* 'A' added, 'M' modified, 'D' deleted, 'T' type changed */
	int64_t added, deleted; /* lines; -1 for a binary file */
};

/* The files changed from the snapshot's base to its tree; file (NULL: all)
 * limits it to one path (or directory) relative to the project's top. */
int taskgit_diff_files(const struct taskgit_task *tg, const struct taskgit_snapshot *s,
		       const char *file, struct taskgit_file **ret, size_t *ret_n,
		       struct rv_error **err);
void taskgit_files_free(struct taskgit_file *f, size_t n);

/* The patch (unified, no colour, no external diff or textconv), handed to
 * fn chunk by chunk as git prints it.  fn returning < 0 stops (-EPIPE). */
int taskgit_diff_patch(const struct taskgit_task *tg, const struct taskgit_snapshot *s,
		       const char *file, int (*fn)(void *ud, const char *buf, size_t len), void *ud,
		       struct rv_error **err);

/* Pure parsers of git's -z output, exposed for the tests: numstat
 * ("added\tdeleted\tpath\0") and name-status ("M\0path\0") of the same
 * diff, joined by path.  -EBADMSG on anything else. */
int taskgit_parse_diff(const char *numstat, size_t nlen, const char *names, size_t slen,
		       struct taskgit_file **ret, size_t *ret_n, struct rv_error **err);

/* ---- merge ------------------------------------------------------------ */

struct taskgit_merge_result {
	char *into;     /* the user's branch ("main") */
	char *commit;   /* its commit afterwards */
	char *snapshot; /* the commit made of the uncommitted work, or NULL */
	bool already;   /* everything was merged already: nothing changed */
	char *warning;  /* a problem after the merge succeeded, or NULL */
	struct taskgit_snapshot snap;
};

/* Merge the task's work into the branch checked out in the project.
 * Refused, with nothing changed (HEAD, index, work tree and every ref as
 * they were), when: HEAD is detached or on the task's own branch (-EINVAL);
 * the user's tracked files have changes (-EBUSY, naming them); the work
 * conflicts with the branch (-EEXIST, naming the files; checked with `git
 * merge-tree --write-tree`, which touches no ref, index or file).  Else the
 * uncommitted work becomes a commit "rover: uncommitted work of task N"
 * on the task's branch's tip, `git merge --no-ff` merges it, and the
 * branch rover/task-<id> is moved to it.  The caller checks that the
 * task's container is not running. */
int taskgit_merge(const struct taskgit_task *tg, struct taskgit_merge_result *ret,
		  struct rv_error **err);
void taskgit_merge_result_release(struct taskgit_merge_result *r);

/* Pure: the first conflicted paths of `git merge-tree --write-tree
 * --name-only -z` output (after the tree id), deduplicated. */
int taskgit_parse_merge_tree(const char *out, size_t len, char **ret_tree, char ***ret_paths,
			     size_t *ret_n);

/* ---- push ------------------------------------------------------------- */

struct taskgit_push_result {
	char *remote;
	char *commit;   /* what the branch was pushed at */
	char *snapshot; /* the commit made of the uncommitted work, or NULL */
	struct taskgit_snapshot snap;
};

/* Commit the uncommitted work on the task's branch (as merge does), then
 * push the branch to remote (NULL: the branch's upstream remote, else
 * "origin") under the same name. */
int taskgit_push(const struct taskgit_task *tg, const char *remote, struct taskgit_push_result *ret,
		 struct rv_error **err);
void taskgit_push_result_release(struct taskgit_push_result *r);

/* ---- what a delete would lose ----------------------------------------- */

struct taskgit_loss {
	size_t n_commits; /* commits on the branch and on no other local or
			      remote-tracking branch */
	char **commits;   /* the first TASKGIT_LOSS_NAMED: "abc1234 subject" */
	size_t n_changes; /* uncommitted changes in the workspace */
	char **changes;   /* the first TASKGIT_LOSS_NAMED: "M path" */
};

int taskgit_loss(const struct taskgit_task *tg, struct taskgit_loss *ret, struct rv_error **err);
bool taskgit_loss_any(const struct taskgit_loss *l);
/* Pure: "2 commit(s) on rover/task-5 and no other branch (abc1234 add x,
 * def5678 fix); 1 uncommitted change(s) in its workspace (M notes.txt)". */
char *taskgit_loss_describe(const struct taskgit_loss *l, const char *branch);
void taskgit_loss_release(struct taskgit_loss *l);

/* ---- the task record --------------------------------------------------- */

/* -EBUSY naming the task when its container runs or has not run yet (NEW):
 * merge and push must not snapshot files the agent is still writing. */
int taskgit_check_idle(const struct task *t, const char *verb, struct rv_error **err);

/* Move the task to MERGED or PUSHED when its status allows it (COMPLETED,
 * or the other of the two); any other status is left as it is. */
int taskgit_mark(const struct task_store *st, int64_t id, enum task_status to,
		 struct rv_error **err);

#endif
