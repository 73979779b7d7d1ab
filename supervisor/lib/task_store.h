/*
 * task_store.h - the tasks of one store: `<store>/tasks/<id>/`.
 *
 * Layout (docs/design/store-layout.md has every file and its writer):
 *     <store>/tasks/.id.lock            flock serialising id allocation
 *     <store>/tasks/.last-id            highest id ever allocated (so a deleted
 *                                       task's id, branch and labels are never
 *                                       reused)
 *     <store>/tasks/<id>/description.json   the record (task.h)
 *     <store>/tasks/<id>/.task.lock     flock for read-modify-write updates
 *     <store>/tasks/<id>/.logs.lock     flock serialising the saving of a
 *                                       container's output (launch.h)
 *     <store>/tasks/<id>/workflow.yml
 *     <store>/tasks/<id>/iterations/<n>/{status.json, checkpoint.json,
 *         .resume.lock, inputs.json, container.log, rover.jsonl, ...}
 * Names starting with '.' in tasks/ are never tasks.
 *
 * Ids: positive decimal integers.  task_store_create() claims a new id with
 * mkdir(tasks/<id>) - atomic, so two creators can never share an id - and
 * retries with the next id on EEXIST.  Allocation is also serialised with
 * flock on tasks/.id.lock, which keeps .last-id exact; mkdir alone would
 * still be correct without it.
 *
 * Updates: every read-modify-write of description.json goes through
 * task_store_update(): flock(tasks/<id>/.task.lock), re-read from disk, let the
 * callback change the record, write it atomically, unlock.  Two processes
 * updating the same task therefore never lose each other's changes.  Plain
 * readers need no lock: the file is always replaced by rename.
 *
 * Errors: ids that are not positive decimal integers (or carry path
 * characters) are -EINVAL, a usage error; a missing task is -ENOENT
 * "task 7 not found"; anything wrong with a task's file is what task_load()
 * says (-EBADMSG naming the file).
 */
#ifndef ROVER_TASK_STORE_H
#define ROVER_TASK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/layout.h" /* the iteration files' names */
#include "task.h"

#define TASK_STORE_TASKS_DIR "tasks"
#define TASK_STORE_ID_LOCK ".id.lock"
#define TASK_STORE_LAST_ID ".last-id"
#define TASK_STORE_TASK_LOCK ".task.lock"
#define TASK_STORE_LOGS_LOCK ".logs.lock"
#define TASK_STORE_WORKFLOW_FILE "workflow.yml"
#define TASK_STORE_ITERATIONS_DIR "iterations"
/* Largest id accepted: fits every integer type we print it with. */
#define TASK_STORE_MAX_ID 999999999999LL
/* A task directory without description.json this young is being created
 * right now; list skips it instead of reporting it broken. */
#define TASK_STORE_CREATE_GRACE_MS 60000
/* A .deleted-* directory whose deleting process still exists is left to it
 * for this long (a pid may be reused). */
#define TASK_STORE_DELETED_STALE_MS (10 * 60 * 1000)
#define TASK_STORE_WORKSPACES_DIR "workspaces"

struct task_store {
	char *dir;       /* <store> */
	char *tasks_dir; /* <store>/tasks */
	/* The project the store's tasks work on (borrowed; set by whoever
	 * opened the project, NULL when unknown).  In a git project
	 * (project_is_git) the agents' commits are imported there
	 * (worktree_sync); outside git it is the workspace itself. */
	const char *project_root;
	bool project_is_git;
	/* NULL: task_store_list() reads the disk.  Else it serves the listing
	 * kept in memory (task_live.h; set by `list --watch`), and this
	 * process's writes are noted there. */
	struct task_live *live;
};

/* Files of an iteration directory. */
enum task_iter_file {
	TASK_FILE_STATUS,        /* status.json (the runner) */
	TASK_FILE_CHECKPOINT,    /* checkpoint.json (the runner) */
	TASK_FILE_RESUME_LOCK,   /* .resume.lock (lock.h) */
	TASK_FILE_INPUTS,        /* inputs.json (rover task) */
	TASK_FILE_CONTAINER_LOG, /* container.log (saved container output) */
	TASK_FILE_EVENT_LOG,     /* rover.jsonl (runner events) */
	TASK_FILE_PAUSE_REQUEST, /* .pause-requested (rover pause) */
	TASK__FILE_MAX,
};

/* A mutation for task_store_update()/task_store_create().  Return < 0 (with
 * err set) to abort without writing, 0 to write, TASK_UPDATE_SKIP to leave the
 * file as it is.  It runs with the task's lock held: keep it short (no engine
 * calls, no waiting). */
typedef int (*task_update_fn)(struct task *t, void *userdata, struct rv_error **err);
#define TASK_UPDATE_SKIP 1

/* One row of a listing: exactly one of task and err is set. */
struct task_list_entry {
	int64_t id;
	struct task *task;
	struct rv_error *err; /* the task could not be read; names its file */
};

struct task_list {
	struct task_list_entry *entries; /* sorted by id, ascending */
	size_t n;
};

/* Paths only; nothing is touched on disk.  store_dir must not be empty. */
int task_store_open(const char *store_dir, struct task_store **ret, struct rv_error **err);
void task_store_free(struct task_store *s); /* NULL-safe */

static inline void task_store_freep(struct task_store **s)
{
	task_store_free(*s);
}
#define _cleanup_task_store_ __attribute__((cleanup(task_store_freep)))

/* "7" -> 7.  Canonical decimal only, the form rover prints and names
 * directories with: digits, no leading zero, no sign or space, value
 * 1..TASK_STORE_MAX_ID; anything else ("01", "+1", " 1", "1e3", a
 * 13-digit number) -EINVAL "invalid task id 'x': ...". */
int task_store_parse_id(const char *s, int64_t *ret_id, struct rv_error **err);

/* The one workspace a task may have: "<store>/workspaces/<id>" (newly
 * allocated). */
char *task_store_workspace_path(const struct task_store *s, int64_t id);

/* Check a record's worktreePath before anything mounts, enters or removes
 * it: it must be exactly task_store_workspace_path() (byte for byte: the
 * store dir was made canonical once, by project_open), and "workspaces" and
 * "<id>" below the store must be real directories, not symlinks (walked
 * with openat O_NOFOLLOW).  0: fine; -ENOENT: the path is right but the
 * directory does not exist (yet, or any more); -EPERM: refused, the message
 * naming the task and the path ("task 3 names workspace '/etc', which is not
 * its workspace in the store ('<store>/workspaces/3'); refusing to use it"). */
int task_store_check_workspace(const struct task_store *s, int64_t id, const char *path,
			       struct rv_error **err);

/* Everything a record names that rover will mount or hand to git, checked
 * before use: a non-empty worktreePath as task_store_check_workspace() (a
 * missing directory is fine here: it is re-created), and a non-empty
 * branchName must be "rover/task-<id>".  0 or -EPERM naming the task and
 * the value. */
int task_store_check_record(const struct task_store *s, const struct task *t,
			    struct rv_error **err);

/* Remove <store>/workspaces/<id> and everything in it, never leaving the
 * store: the walk starts at the store directory and opens "workspaces" with
 * O_NOFOLLOW, then fileio_remove_tree_at().  A symlinked workspaces/ is
 * refused (-ELOOP), a missing one is 0. */
int task_store_remove_workspace(const struct task_store *s, int64_t id, struct rv_error **err);

/* Newly allocated paths. */
char *task_store_task_dir(const struct task_store *s, int64_t id);
char *task_store_description_path(const struct task_store *s, int64_t id);
char *task_store_workflow_path(const struct task_store *s, int64_t id);
char *task_store_iteration_dir(const struct task_store *s, int64_t id, int64_t n);
char *task_store_iteration_file(const struct task_store *s, int64_t id, int64_t n,
				enum task_iter_file f);
/* The file name alone ("status.json"); NULL when out of range. */
const char *task_store_iter_file_name(enum task_iter_file f);

/* Create iterations/<n>/ (and parents) of an existing task. */
int task_store_make_iteration(const struct task_store *s, int64_t id, int64_t n,
			      struct rv_error **err);

/* Allocate a new id, create tasks/<id>/ and write its description.json: a
 * task_new() record that init (may be NULL) may fill in first.  On failure the
 * directory is removed again.  *ret (may be NULL) gets the record as saved. */
int task_store_create(const struct task_store *s, const char *title, const char *description,
		      int64_t now_ms, task_update_fn init, void *userdata, struct task **ret,
		      struct rv_error **err);

/* Load one task by its id as typed by a user (task_store_parse_id rules).  A
 * record in an older schema is migrated on disk (with a .backup) under the
 * task's lock. */
int task_store_load(const struct task_store *s, const char *id_str, struct task **ret,
		    struct rv_error **err);
int task_store_load_id(const struct task_store *s, int64_t id, struct task **ret,
		       struct rv_error **err);

/* Write t to its description.json atomically.  Prefer task_store_update(),
 * which cannot lose a concurrent change; this is for a caller that already
 * holds the task lock. */
int task_store_save(const struct task_store *s, const struct task *t, struct rv_error **err);

/* Lock, re-read, fn, write, unlock (see above).  *ret_task (may be NULL) gets
 * the record as it is on disk afterwards.  Returns fn's error, or 0. */
int task_store_update(const struct task_store *s, int64_t id, task_update_fn fn, void *userdata,
		      struct task **ret_task, struct rv_error **err);

/* The task's update lock, for a caller that needs several steps under it.
 * Blocks until the lock is free.  *ret_fd is the locked descriptor
 * (O_CLOEXEC, so no child inherits the lock); task_store_unlock() closes it. */
int task_store_lock(const struct task_store *s, int64_t id, int *ret_fd, struct rv_error **err);

/* The same for another lock file of the task's directory (name, e.g.
 * TASK_STORE_LOGS_LOCK), for work that must not wait on record updates. */
int task_store_lock_named(const struct task_store *s, int64_t id, const char *name, int *ret_fd,
			  struct rv_error **err);
void task_store_unlock(int fd);

/* The ids of tasks/ (canonical names only, sorted; none when the directory
 * is missing), without reading any record.  Newly allocated. */
int64_t *task_store_ids(const struct task_store *s, size_t *ret_n);

/* task_store_ids, and what task_store_list also does on its walk: remove
 * the abandoned tasks/.deleted-* and .new-* directories (see
 * task_store_delete), which no reader sees.  For the listings. */
int64_t *task_store_ids_sweep(const struct task_store *s, size_t *ret_n);

/* Every task, sorted by id.  A task whose file is missing or broken becomes
 * an entry with err instead of failing the listing.  Takes no lock, migrates
 * only in memory; the one thing it writes is the removal of abandoned
 * tasks/.deleted-* directories (see task_store_delete), which no reader
 * sees.  A store without tasks/ lists empty. */
int task_store_list(const struct task_store *s, struct task_list *ret, struct rv_error **err);
void task_list_release(struct task_list *l);

/* task_store_list() from the disk, whatever s->live says. */
int task_store_list_disk(const struct task_store *s, struct task_list *ret, struct rv_error **err);

/* The entries task_store_list() would give for these ids only (sorted,
 * unique): a task that does not exist, or is being created, gets none.
 * Reads no directory listing and sweeps nothing. */
int task_store_list_ids(const struct task_store *s, const int64_t *ids, size_t n,
			struct task_list *ret, struct rv_error **err);

/* Remove tasks/<id>/ and everything in it: under the task lock the directory
 * is renamed to tasks/.deleted-<id>-<pid>-<ms>, so it vanishes at once for
 * every reader, then removed with fileio_remove_tree_at() from a descriptor
 * of tasks/ opened without following symlinks (a symlinked tasks/ is
 * refused).  Missing task: -ENOENT.  A delete killed half-way leaves the
 * .deleted-* directory; task_store_list() finishes it off once its pid is
 * gone (or after TASK_STORE_DELETED_STALE_MS). */
int task_store_delete(const struct task_store *s, int64_t id, struct rv_error **err);

#endif
