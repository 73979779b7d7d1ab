#define _GNU_SOURCE
#include "task_store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strbuf.h"
#include "common/fileio.h"
#include "common/layout.h"
#include "common/timeutil.h"
#include "supervisor/lib/journal.h"
#include "supervisor/lib/task_live.h"
#include "supervisor/lib/task_store_internal.h"

static const char *const iter_file_names[TASK__FILE_MAX] = {
	[TASK_FILE_STATUS] = LAYOUT_STATUS_FILE,
	[TASK_FILE_CHECKPOINT] = LAYOUT_CHECKPOINT_FILE,
	[TASK_FILE_RESUME_LOCK] = LAYOUT_RESUME_LOCK_FILE,
	[TASK_FILE_INPUTS] = LAYOUT_INPUTS_FILE,
	[TASK_FILE_CONTAINER_LOG] = LAYOUT_CONTAINER_LOG_FILE,
	[TASK_FILE_EVENT_LOG] = LAYOUT_EVENT_LOG_FILE,
	[TASK_FILE_PAUSE_REQUEST] = LAYOUT_DRAIN_FILE,
};

int task_store_open(const char *store_dir, struct task_store **ret, struct rv_error **err)
{
	if (!store_dir || !*store_dir)
		return rv_error_set(err, EINVAL, "the store directory is not set");
	struct task_store *s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(store_dir);
	s->tasks_dir = fileio_join(store_dir, TASK_STORE_TASKS_DIR);
	*ret = s;
	return 0;
}

void task_store_free(struct task_store *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s->tasks_dir);
	free(s);
}

/* Digits only, no sign, no leading zero: the canonical directory name. */
bool task_store_parse_dir_name(const char *name, int64_t *ret)
{
	if (name[0] < '1' || name[0] > '9')
		return false;
	int64_t v = 0;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9' || p - name >= 12)
			return false;
		v = v * 10 + (*p - '0');
	}
	*ret = v;
	return true;
}

int task_store_parse_id(const char *s, int64_t *ret_id, struct rv_error **err)
{
	const char *p = s ? s : "";
	int64_t v = 0;
	/* task_store_parse_dir_name() takes 1-12 digits without a leading zero: anything
	 * with a '/', '.', sign, space or a 13th digit is refused here too. */
	if (!task_store_parse_dir_name(p, &v) || v > TASK_STORE_MAX_ID) {
		if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
			return rv_error_set(
				err, EINVAL,
				"invalid task id '%.40s': write it without leading zeros", p);
		return rv_error_set(err, EINVAL,
				    "invalid task id '%.40s': must be a positive integer (1 to "
				    "%lld, digits only)",
				    p, (long long)TASK_STORE_MAX_ID);
	}
	*ret_id = v;
	return 0;
}

char *task_store_workspace_path(const struct task_store *s, int64_t id)
{
	return xasprintf("%s/%s/%lld", s->dir, TASK_STORE_WORKSPACES_DIR, (long long)id);
}

int task_store_check_workspace(const struct task_store *s, int64_t id, const char *path,
			       struct rv_error **err)
{
	_cleanup_free_ char *want = task_store_workspace_path(s, id);
	if (!path || strcmp(path, want) != 0)
		return rv_error_set(
			err, EPERM,
			"task %lld names workspace '%.300s', which is not its workspace "
			"in the store ('%s'); refusing to use it",
			(long long)id, path ? path : "", want);
	_cleanup_close_ int sfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		if (errno == ENOENT)
			return rv_error_set(err, ENOENT,
					    "the workspace '%s' of task %lld does not "
					    "exist",
					    want, (long long)id);
		return rv_error_errno(err, errno, "cannot open the store '%s'", s->dir);
	}
	char rel[64];
	snprintf(rel, sizeof(rel), "%s/%lld", TASK_STORE_WORKSPACES_DIR, (long long)id);
	int fd = fileio_open_dir_beneath(sfd, rel);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd == -ENOENT)
		return rv_error_set(err, ENOENT, "the workspace '%s' of task %lld does not exist",
				    want, (long long)id);
	if (fd == -ELOOP || fd == -ENOTDIR)
		return rv_error_set(err, EPERM,
				    "task %lld: its workspace '%s' (or '%s/%s') is not a real "
				    "directory (a symlink?); refusing to use it",
				    (long long)id, want, s->dir, TASK_STORE_WORKSPACES_DIR);
	return rv_error_errno(err, -fd, "cannot open the workspace '%s' of task %lld", want,
			      (long long)id);
}

int task_store_check_record(const struct task_store *s, const struct task *t, struct rv_error **err)
{
	const char *wt = task_get_str(t, "worktreePath");
	if (wt && *wt) {
		_cleanup_error_ struct rv_error *e = NULL;
		int r = task_store_check_workspace(s, t->id, wt, &e);
		if (r < 0 && r != -ENOENT) {
			rv_error_pass(err, &e);
			return r;
		}
	}
	const char *branch = task_get_str(t, "branchName");
	char want[64];
	snprintf(want, sizeof(want), "rover/task-%lld", (long long)t->id);
	if (branch && *branch && strcmp(branch, want) != 0)
		return rv_error_set(
			err, EPERM,
			"task %lld names branch '%.200s', which is not its branch ('%s'); "
			"refusing to use it",
			(long long)t->id, branch, want);
	return 0;
}

int task_store_remove_workspace(const struct task_store *s, int64_t id, struct rv_error **err)
{
	_cleanup_close_ int sfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		if (errno == ENOENT)
			return 0;
		return rv_error_errno(err, errno, "cannot open the store '%s'", s->dir);
	}
	int wfd = fileio_open_dir_beneath(sfd, TASK_STORE_WORKSPACES_DIR);
	if (wfd == -ENOENT)
		return 0;
	_cleanup_free_ char *ws = fileio_join(s->dir, TASK_STORE_WORKSPACES_DIR);
	if (wfd < 0)
		return rv_error_errno(err, -wfd, "refusing to remove anything under '%s'", ws);
	_cleanup_close_ int wfd_c = wfd;
	char name[32];
	snprintf(name, sizeof(name), "%lld", (long long)id);
	_cleanup_free_ char *shown = fileio_join(ws, name);
	return fileio_remove_tree_at(wfd, name, shown, err);
}

char *task_store_task_dir(const struct task_store *s, int64_t id)
{
	return xasprintf("%s/%lld", s->tasks_dir, (long long)id);
}

char *task_store_description_path(const struct task_store *s, int64_t id)
{
	return xasprintf("%s/%lld/%s", s->tasks_dir, (long long)id, TASK_DESCRIPTION_FILE);
}

char *task_store_workflow_path(const struct task_store *s, int64_t id)
{
	return xasprintf("%s/%lld/%s", s->tasks_dir, (long long)id, TASK_STORE_WORKFLOW_FILE);
}

char *task_store_iteration_dir(const struct task_store *s, int64_t id, int64_t n)
{
	return xasprintf("%s/%lld/%s/%lld", s->tasks_dir, (long long)id, TASK_STORE_ITERATIONS_DIR,
			 (long long)n);
}

const char *task_store_iter_file_name(enum task_iter_file f)
{
	if ((unsigned)f >= TASK__FILE_MAX)
		return NULL;
	return iter_file_names[f];
}

char *task_store_iteration_file(const struct task_store *s, int64_t id, int64_t n,
				enum task_iter_file f)
{
	const char *name = task_store_iter_file_name(f);
	return xasprintf("%s/%lld/%s/%lld/%s", s->tasks_dir, (long long)id,
			 TASK_STORE_ITERATIONS_DIR, (long long)n, name ? name : "");
}

static int not_found(int64_t id, struct rv_error **err)
{
	return rv_error_set(err, ENOENT, "task %lld not found", (long long)id);
}

int task_store_make_iteration(const struct task_store *s, int64_t id, int64_t n,
			      struct rv_error **err)
{
	if (n < 1)
		return rv_error_set(err, EINVAL, "task %lld: iteration %lld is not valid",
				    (long long)id, (long long)n);
	_cleanup_free_ char *tdir = task_store_task_dir(s, id);
	/* mkdir -p would resurrect a deleted task's directory. */
	if (!fileio_is_dir(tdir))
		return not_found(id, err);
	_cleanup_free_ char *idir = task_store_iteration_dir(s, id, n);
	return fileio_mkdir_p(idir, 0755, err);
}

/* ---- locks ------------------------------------------------------------------ */

static int lock_file(const char *path, int *ret_fd, struct rv_error **err)
{
	_cleanup_close_ int fd =
		open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open '%s'", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return rv_error_errno(err, errno, "cannot lock '%s'", path);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int task_store_lock_named(const struct task_store *s, int64_t id, const char *name, int *ret_fd,
			  struct rv_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%lld/%s", s->tasks_dir, (long long)id, name);
	int r = lock_file(path, ret_fd, err);
	if (r == -ENOENT || r == -ENOTDIR)
		return not_found(id, err);
	return r;
}

int task_store_lock(const struct task_store *s, int64_t id, int *ret_fd, struct rv_error **err)
{
	return task_store_lock_named(s, id, TASK_STORE_TASK_LOCK, ret_fd, err);
}

void task_store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the only descriptor releases the flock */
}

/* ---- create ----------------------------------------------------------------- */

static int64_t scan_max_id(const char *tasks_dir)
{
	DIR *d = opendir(tasks_dir);
	if (!d)
		return 0;
	int64_t max = 0, v;
	struct dirent *de;
	while ((de = readdir(d)))
		if (task_store_parse_dir_name(de->d_name, &v) && v > max)
			max = v;
	closedir(d);
	return max;
}

static int64_t read_last_id(const char *path)
{
	_cleanup_free_ char *buf = NULL;
	if (fileio_read_bounded(path, 64, &buf, NULL, NULL) < 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	int64_t v = 0;
	return task_store_parse_dir_name(buf, &v) ? v : 0;
}

/* A task directory is assembled under ".new-0-<pid>-<mono ms>" (the name
 * sweep_abandoned() knows) and renamed to its id: the rename is the claim,
 * so a task directory never exists without its record, whatever moment the
 * creator is killed at.  The flock keeps .last-id exact; a rename that finds
 * the id taken (a creator on another host, which the flock does not reach)
 * tries the next one. */
int task_store_create(const struct task_store *s, const char *title, const char *description,
		      int64_t now_ms, task_update_fn init, void *userdata, struct task **ret,
		      struct rv_error **err)
{
	if (!title || !*title)
		return rv_error_set(err, EINVAL, "a task needs a title");
	int r = fileio_mkdir_p(s->tasks_dir, 0755, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = xasprintf("%s/.new-0-%d-%lld", s->tasks_dir, (int)getpid(),
					     (long long)timeutil_mono_ms());
	if (mkdir(tmp, 0755) < 0)
		return rv_error_errno(err, errno, "cannot create '%s'", tmp);
	_cleanup_free_ char *tmp_record = fileio_join(tmp, TASK_DESCRIPTION_FILE);
	_cleanup_free_ char *lock_path = fileio_join(s->tasks_dir, TASK_STORE_ID_LOCK);
	_cleanup_free_ char *last_path = fileio_join(s->tasks_dir, TASK_STORE_LAST_ID);
	int fd = -1;
	r = lock_file(lock_path, &fd, err);
	if (r < 0) {
		(void)fileio_remove_tree(tmp, NULL);
		return r;
	}
	_cleanup_close_ int lock_fd = fd;
	int64_t id = scan_max_id(s->tasks_dir);
	int64_t last = read_last_id(last_path);
	if (last > id)
		id = last;
	struct task *t = NULL;
	for (int tries = 0;; tries++) {
		id++;
		if (id > TASK_STORE_MAX_ID || tries > 100000) {
			r = rv_error_set(err, ENOSPC, "no free task id in '%s'", s->tasks_dir);
			break;
		}
		task_free(t);
		t = NULL;
		r = task_new(id, title, description, now_ms, &t, err);
		if (r >= 0 && init)
			r = init(t, userdata, err);
		if (r >= 0)
			r = task_save(t, tmp_record, err);
		if (r < 0)
			break;
		_cleanup_free_ char *dir = task_store_task_dir(s, id);
		if (rename(tmp, dir) == 0)
			break;
		if (errno != EEXIST && errno != ENOTEMPTY) {
			r = rv_error_errno(err, errno, "cannot create task directory '%s'", dir);
			break;
		}
	}
	if (r >= 0) {
		char text[32];
		int n = snprintf(text, sizeof(text), "%lld\n", (long long)id);
		/* The task exists now; a .last-id that could not be written only
		 * costs the scan of the highest directory next time.  One fsync of
		 * tasks/ makes both new names durable. */
		(void)fileio_write_atomic_dir_later(last_path, text, (size_t)n, 0644, NULL);
		r = fileio_fsync_dir(s->tasks_dir, err);
	}
	if (r >= 0) {
		journal_record_change(s, NULL, t);
		if (s->live)
			task_live_touch(s->live, id);
	}
	if (r < 0) {
		(void)fileio_remove_tree(tmp, NULL);
		task_free(t);
		return rv_error_wrap(err, "cannot create a task");
	}
	if (ret)
		*ret = t;
	else
		task_free(t);
	return 0;
}

/* ---- load, save, update ------------------------------------------------------ */

int task_store_save(const struct task_store *s, const struct task *t, struct rv_error **err)
{
	_cleanup_free_ char *path = task_store_description_path(s, t->id);
	if (s->live)
		task_live_touch(s->live, t->id);
	return task_save(t, path, err);
}

static int load_locked(const struct task_store *s, int64_t id, struct task **ret,
		       struct rv_error **err)
{
	_cleanup_free_ char *path = task_store_description_path(s, id);
	_cleanup_error_ struct rv_error *e = NULL;
	int r = task_load(path, id, true, ret, &e);
	if (r == -ENOENT)
		return not_found(id, err);
	if (r < 0 && err) {
		rv_error_free(*err);
		*err = TAKE_PTR(e);
	}
	return r;
}

int task_store_update(const struct task_store *s, int64_t id, task_update_fn fn, void *userdata,
		      struct task **ret_task, struct rv_error **err)
{
	int fd = -1;
	int r = task_store_lock(s, id, &fd, err);
	if (r < 0)
		return r;
	struct task *t = NULL;
	r = load_locked(s, id, &t, err);
	if (r >= 0 && fn) {
		struct journal_facts before;
		journal_facts_of(t, &before);
		r = fn(t, userdata, err);
		if (r == 0) {
			r = task_store_save(s, t, err);
			/* Under the lock still: the journal's order is the records'. */
			if (r == 0)
				journal_record_change(s, &before, t);
		} else if (r == TASK_UPDATE_SKIP) {
			r = 0;
		}
	}
	task_store_unlock(fd);
	if (r < 0) {
		task_free(t);
		return r;
	}
	if (ret_task)
		*ret_task = t;
	else
		task_free(t);
	return 0;
}

int task_store_load_id(const struct task_store *s, int64_t id, struct task **ret,
		       struct rv_error **err)
{
	_cleanup_free_ char *path = task_store_description_path(s, id);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	_cleanup_error_ struct rv_error *e = NULL;
	int r = fileio_read_bounded(path, TASK_MAX_FILE_BYTES, &buf, &len, &e);
	if (r == -ENOENT || r == -ENOTDIR)
		return not_found(id, err);
	struct task *t = NULL;
	bool migrated = false;
	if (r >= 0)
		r = task_parse(buf, len, id, path, &t, &migrated, &e);
	if (r < 0) {
		rv_error_pass(err, &e);
		return r;
	}
	if (!migrated) {
		*ret = t;
		return 0;
	}
	/* Persist the migration under the lock, re-reading first: another
	 * process may have migrated or changed it meanwhile. */
	task_free(t);
	return task_store_update(s, id, NULL, NULL, ret, err);
}

int task_store_load(const struct task_store *s, const char *id_str, struct task **ret,
		    struct rv_error **err)
{
	int64_t id = 0;
	int r = task_store_parse_id(id_str, &id, err);
	if (r < 0)
		return r;
	return task_store_load_id(s, id, ret, err);
}

/* ---- delete ------------------------------------------------------------------ */

/* tasks/ of the store, opened without following a symlink at tasks/. */
int task_store_open_tasks_dir(const struct task_store *s, int *ret_fd, struct rv_error **err)
{
	_cleanup_close_ int sfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return rv_error_errno(err, errno, "cannot open the store '%s'", s->dir);
	int fd = fileio_open_dir_beneath(sfd, TASK_STORE_TASKS_DIR);
	if (fd < 0)
		return rv_error_errno(err, -fd,
				      "cannot open '%s' (it must be a directory, not a "
				      "symlink)",
				      s->tasks_dir);
	*ret_fd = fd;
	return 0;
}

int task_store_delete(const struct task_store *s, int64_t id, struct rv_error **err)
{
	int tfd = -1;
	int r = task_store_open_tasks_dir(s, &tfd, err);
	if (r == -ENOENT)
		return not_found(id, err);
	if (r < 0)
		return r;
	_cleanup_close_ int tasks_fd = tfd;
	int fd = -1;
	r = task_store_lock(s, id, &fd, err);
	if (r < 0)
		return r;
	char name[32];
	snprintf(name, sizeof(name), "%lld", (long long)id);
	_cleanup_free_ char *gone = xasprintf(".deleted-%lld-%d-%lld", (long long)id, (int)getpid(),
					      (long long)timeutil_mono_ms());
	if (s->live)
		task_live_touch(s->live, id);
	if (renameat(tasks_fd, name, tasks_fd, gone) < 0) {
		int e = errno;
		task_store_unlock(fd);
		if (e == ENOENT)
			return not_found(id, err);
		return rv_error_errno(err, e, "cannot remove task %lld ('%s/%s')", (long long)id,
				      s->tasks_dir, name);
	}
	task_store_unlock(fd);
	_cleanup_free_ char *shown = fileio_join(s->tasks_dir, gone);
	r = fileio_remove_tree_at(tasks_fd, gone, shown, err);
	if (r < 0)
		return rv_error_wrap(err,
				     "task %lld was removed from the store, but not all of "
				     "its files",
				     (long long)id);
	return 0;
}
