#define _GNU_SOURCE
#include "observe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/textutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine_logs.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/lock.h"
#include "supervisor/lib/reconcile.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/worktree.h"

static void reportf(observe_report_fn fn, void *ud, const char *level, int64_t id, const char *fmt,
		    ...) __attribute__((format(printf, 5, 6)));
static void reportf(observe_report_fn fn, void *ud, const char *level, int64_t id, const char *fmt,
		    ...)
{
	if (!fn)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	fn(ud, level, id, msg ? msg : "");
}

struct refresh_ctx {
	const struct task_store *st;
	/* orphan step: what was observed, decided again on the fresh record */
	bool orphan;
	const char *container_id;
	struct orphan_observation obs;
	enum task_status before;
	enum task_status after;
};

static int status_path_of(const struct task_store *st, const struct task *t, char **ret)
{
	*ret = task_store_iteration_file(st, t->id, task_iterations(t), TASK_FILE_STATUS);
	return 0;
}

static int update_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct refresh_ctx *c = userdata;
	c->before = c->after = task_status(t);
	_cleanup_free_ char *status = NULL;
	status_path_of(c->st, t, &status);
	bool changed = false;
	int r = reconcile_from_status(t, status, timeutil_now_ms(), &changed, err);
	if (r < 0 && !c->orphan)
		return r;
	if (r < 0) {
		/* An unreadable status file (planted FIFO, garbage) must not stop
		 * the exit code from deciding once the container is gone. */
		*err = rv_error_free(*err);
	}

	if (c->orphan && task_status_is_running(task_status(t))) {
		/* Decide on the record as it is now: if a resume replaced the
		 * container meanwhile, the observation is stale. */
		const char *cid = task_container_id(t);
		if ((cid == NULL) != (c->container_id == NULL) ||
		    (cid && c->container_id && strcmp(cid, c->container_id)))
			goto done;
		c->obs.status = task_status(t);
		struct orphan_verdict v;
		orphan_decide(&c->obs, &v);
		bool ch2 = false;
		r = orphan_apply(
			t, &v, c->obs.container == ORPHAN_CONTAINER_EXITED ? c->obs.exit_code : -1,
			timeutil_now_ms(), &ch2, err);
		orphan_verdict_release(&v);
		if (r < 0)
			return r;
		changed = changed || ch2;
	}
done:
	c->after = task_status(t);
	return changed ? 0 : TASK_UPDATE_SKIP;
}

static void replace(struct task **slot, struct task *fresh)
{
	if (fresh) {
		task_free(*slot);
		*slot = fresh;
	}
}

static void report_change(observe_report_fn report, void *ud, const struct task *t,
			  enum task_status before)
{
	enum task_status s = task_status(t);
	if (s == before)
		return;
	if (s == TASK_FAILED)
		reportf(report, ud, "warn", t->id,
			"Task %lld marked as FAILED: %s. Use \"rover resume %lld\" to continue.",
			(long long)t->id, task_error(t) ? task_error(t) : "failed",
			(long long)t->id);
	else if (s == TASK_PAUSED)
		reportf(report, ud, "info", t->id, "Task %lld is PAUSED: %s", (long long)t->id,
			task_error(t) ? task_error(t) : "paused");
	else
		reportf(report, ud, "info", t->id, "Task %lld is now %s", (long long)t->id,
			task_status_name(s));
}

/* Apply c to the task under its lock (update_fn), take the record as
 * written, and report a status change.  Returns 1 when the status changed. */
static int apply(const struct task_store *st, struct task **t, struct refresh_ctx *c,
		 observe_report_fn report, void *ud)
{
	struct task *fresh = NULL;
	_cleanup_error_ struct rv_error *err = NULL;
	if (task_store_update(st, (*t)->id, update_fn, c, &fresh, &err) < 0) {
		reportf(report, ud, "warn", (*t)->id,
			"Failed to update the status of task %lld: %s", (long long)(*t)->id,
			rv_error_msg(err));
		return 0;
	}
	replace(t, fresh);
	if (c->after == c->before)
		return 0;
	report_change(report, ud, *t, c->before);
	return 1;
}

/* Step 1 for one task. */
static int refresh_status(const struct task_store *st, struct task **t, observe_report_fn report,
			  void *ud)
{
	if (!task_status_is_running(task_status(*t)))
		return 0;
	struct refresh_ctx c = {.st = st};
	/* Tried first on a copy, without the lock: most of the time the status
	 * file says nothing new, and a read-only command (list, inspect) then
	 * takes no lock and writes nothing.  A change is applied for real
	 * under the lock, on the record as it is then. */
	struct task *probe = task_dup(*t);
	if (probe) {
		_cleanup_error_ struct rv_error *err = NULL;
		int r = update_fn(probe, &c, &err);
		task_free(probe);
		if (r == TASK_UPDATE_SKIP)
			return 0;
	}
	return apply(st, t, &c, report, ud);
}

static int64_t started_ms(const struct task *t)
{
	int64_t best = 0, v;
	static const char *const keys[] = {"lastStatusCheck", "lastRestartAt", "runningAt",
					   "startedAt"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (task_get_time(t, keys[i], &v) && v > best)
			best = v;
	return best;
}

/* One endpoint's listing, shared by the tasks started on it. */
struct endpoint {
	char *uri;         /* NULL: tasks that recorded no engine */
	long long task_id; /* the first task naming uri, for messages */
	struct engine *engine;
	struct rv_error *err;
	struct engine_container_summary *list;
	size_t n;
	bool listed;
};

static struct endpoint *endpoint_for(struct endpoint **eps, size_t *n, const char *uri)
{
	for (size_t i = 0; i < *n; i++)
		if ((!uri && !(*eps)[i].uri) ||
		    (uri && (*eps)[i].uri && !strcmp(uri, (*eps)[i].uri)))
			return &(*eps)[i];
	*eps = xrealloc(*eps, (*n + 1) * sizeof(**eps));
	struct endpoint *e = &(*eps)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->uri = uri ? xstrdup(uri) : NULL;
	return e;
}

static bool endpoint_connect(struct endpoint *ep)
{
	if (ep->engine)
		return true;
	if (ep->err)
		return false;
	int r = ep->uri ? engine_open_recorded(ep->task_id, ep->uri, &ep->engine, &ep->err)
			: engine_discover(NULL, &ep->engine, &ep->err);
	if (r < 0)
		return false;
	engine_set_timeouts(ep->engine, 3000, 10000);
	return true;
}

static int cmp_summary_id(const void *a, const void *b)
{
	const char *x = ((const struct engine_container_summary *)a)->id;
	const char *y = ((const struct engine_container_summary *)b)->id;
	return strcmp(x ? x : "", y ? y : "");
}

static void endpoint_list(struct endpoint *ep, const char *store_dir)
{
	if (ep->listed)
		return;
	ep->listed = true;
	if (!endpoint_connect(ep))
		return;
	_cleanup_free_ char *filter = layout_label(LAYOUT_LABEL_STORE, store_dir);
	const char *filters[] = {filter, NULL};
	engine_container_list(ep->engine, filters, &ep->list, &ep->n, &ep->err);
	/* Sorted by id: a listing of 1,000 running tasks looks each one up by
	 * binary search, not by a scan of every container. */
	if (ep->n > 1)
		qsort(ep->list, ep->n, sizeof(*ep->list), cmp_summary_id);
}

static const struct engine_container_summary *find_container(const struct endpoint *ep,
							     const char *cid, const char *name)
{
	if (cid) {
		struct engine_container_summary key = {.id = (char *)cid};
		return ep->n ? bsearch(&key, ep->list, ep->n, sizeof(*ep->list), cmp_summary_id)
			     : NULL;
	}
	for (size_t i = 0; i < ep->n; i++) {
		const struct engine_container_summary *s = &ep->list[i];
		if (!cid && name && s->name && !strcmp(s->name, name))
			return s;
	}
	return NULL;
}

/* The tail of a container's output, for the runner's last words. */
struct tail {
	char buf[16384];
	size_t len;
};

static int tail_write(void *userdata, enum engine_stream stream, const char *data, size_t len,
		      struct rv_error **err)
{
	(void)stream;
	(void)err;
	struct tail *t = userdata;
	if (len >= sizeof(t->buf)) {
		data += len - sizeof(t->buf);
		len = sizeof(t->buf);
	}
	if (t->len + len > sizeof(t->buf)) {
		size_t drop = t->len + len - sizeof(t->buf);
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, data, len);
	t->len += len;
	return 0;
}

#define RUNNER_PREFIX "rover-agent: "
#define RUNNER_SAID_MAX 300

/* What the runner said last on the container's output ("rover-agent: "
 * lines, prefix cut), or NULL.  A save failure is the cause of what follows
 * it (the status and event log then fail too), so the first "cannot save
 * checkpoint" line wins, then the first "cannot save" one, else the last
 * line.  Its text is the container's: callers show it escaped. */
static char *runner_last_words(struct engine *e, const char *cid)
{
	struct tail *t = xcalloc(1, sizeof(*t));
	_cleanup_error_ struct rv_error *err = NULL;
	char *ret = NULL;
	if (engine_container_logs(e, cid, 0, tail_write, t, &err) < 0)
		goto out;
	static const char *const prefer[] = {RUNNER_PREFIX "cannot save checkpoint",
					     RUNNER_PREFIX "cannot save"};
	size_t plen = strlen(RUNNER_PREFIX);
	const char *best = NULL, *last = NULL;
	size_t best_n = 0, last_n = 0;
	int best_rank = 2;
	for (size_t start = 0; start < t->len;) {
		const char *line = t->buf + start;
		const char *nl = memchr(line, '\n', t->len - start);
		size_t n = nl ? (size_t)(nl - line) : t->len - start;
		start += n + 1;
		while (n > 0 && line[n - 1] == '\r')
			n--;
		if (n <= plen || memcmp(line, RUNNER_PREFIX, plen))
			continue;
		last = line;
		last_n = n;
		for (int k = 0; k < best_rank; k++) {
			size_t pl = strlen(prefer[k]);
			if (n >= pl && !memcmp(line, prefer[k], pl)) {
				best = line;
				best_n = n;
				best_rank = k;
				break;
			}
		}
	}
	if (!best) {
		best = last;
		best_n = last_n;
	}
	if (best) {
		size_t k = best_n - plen > RUNNER_SAID_MAX ? RUNNER_SAID_MAX : best_n - plen;
		ret = textutil_utf8_clean(best + plen, k);
	}
out:
	free(t);
	return ret;
}

/* A `rover task` or resume that died between marking the task and recording
 * its container: finish it (adopt the container found by label) or undo it
 * (resume_recover).  Returns 1 when the task changed. */
static int settle_interrupted_start(const struct task_store *st, struct task **t,
				    observe_report_fn report, void *ud)
{
	enum task_status before = task_status(*t);
	enum retry_recover_action a = RECOVER_NONE;
	_cleanup_error_ struct rv_error *err = NULL;
	if (resume_recover(st, (*t)->id, &a, &err) < 0) {
		reportf(report, ud, "warn", (*t)->id,
			"Could not settle the interrupted start of task %lld: %s",
			(long long)(*t)->id, rv_error_msg(err));
		return 0;
	}
	if (a == RECOVER_NONE || a == RECOVER_WAIT)
		return 0;
	if (a == RECOVER_ROLLBACK) {
		/* A start killed while it made the workspace leaves a half-made one
		 * beside it; only the task's own workspace path is looked at. */
		_cleanup_free_ char *own =
			xasprintf("%s/workspaces/%lld", st->dir, (long long)(*t)->id);
		worktree_discard_partial(own);
	}
	struct task *fresh = NULL;
	if (task_store_load_id(st, (*t)->id, &fresh, NULL) == 0)
		replace(t, fresh);
	report_change(report, ud, *t, before);
	return task_status(*t) != before;
}

static int orphan_check(const struct task_store *st, struct task **t, struct endpoint *ep,
			observe_report_fn report, void *ud)
{
	struct refresh_ctx c = {.st = st, .orphan = true};
	const char *cid = task_container_id(*t);
	c.container_id = cid && *cid ? cid : NULL;
	c.obs.has_container_id = c.container_id != NULL;
	c.obs.now_ms = timeutil_now_ms();
	c.obs.started_ms = started_ms(*t);
	_cleanup_free_ char *iter_dir = task_store_iteration_dir(st, (*t)->id, task_iterations(*t));
	struct lock_info li;
	if (lock_inspect(iter_dir, &li, NULL) == 0 && li.held)
		return 0; /* a resume is bringing it up right now */
	if (!c.container_id && resume_in_flight(*t, NULL))
		return settle_interrupted_start(st, t, report, ud);
	if (c.container_id) {
		endpoint_list(ep, st->dir);
		if (ep->err) {
			reportf(report, ud, "warn", (*t)->id,
				"Could not check the container of task %lld, skipping orphan "
				"check: %s",
				(long long)(*t)->id, rv_error_msg(ep->err));
			return 0;
		}
		_cleanup_free_ char *name = launch_container_name((*t)->id, task_iterations(*t));
		const struct engine_container_summary *s = find_container(ep, c.container_id, name);
		if (!s) {
			c.obs.container = ORPHAN_CONTAINER_MISSING;
		} else {
			c.obs.container = orphan_container_from_state(s->state);
			if (c.obs.container == ORPHAN_CONTAINER_EXITED) {
				struct engine_container_info info = {0};
				_cleanup_error_ struct rv_error *e = NULL;
				int r = engine_container_inspect(ep->engine, s->id, &info, &e);
				if (r == -ENOENT) {
					c.obs.container = ORPHAN_CONTAINER_MISSING;
				} else if (r < 0) {
					reportf(report, ud, "warn", (*t)->id,
						"Could not inspect the container of task %lld, "
						"skipping orphan check: %s",
						(long long)(*t)->id, rv_error_msg(e));
					return 0;
				} else {
					c.obs.exit_code = info.exit_code;
					c.obs.oom_killed = info.oom_killed;
					engine_container_info_release(&info);
				}
			}
		}
	}
	_cleanup_free_ char *said = NULL;
	if (c.obs.container == ORPHAN_CONTAINER_EXITED && c.obs.exit_code != 0 &&
	    c.obs.exit_code != 2 && c.obs.exit_code != 137 && c.obs.exit_code != 143) {
		said = runner_last_words(ep->engine, c.container_id);
		c.obs.runner_said = said;
	}
	return apply(st, t, &c, report, ud);
}

static int record_end_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct engine_container_info *seen = userdata;
	/* Only for the container the record still names, once it stopped
	 * running: a resume may have replaced it meanwhile. */
	const char *cid = task_container_id(t);
	if (task_status_is_running(task_status(t)) || !cid || strcmp(cid, seen->id) ||
	    task_container_end(t))
		return TASK_UPDATE_SKIP;
	task_set_container_end(t, seen->id, seen->name, seen->status, seen->exit_code,
			       seen->oom_killed, timeutil_now_ms());
	return 0;
}

/* A task that just finished has its container's output saved to
 * container.log now, not only when the container is replaced or removed,
 * and how the container ended goes into the record (containerEnd), so
 * inspect shows a finished task without loading the engine client. */
static void save_finished_logs(const struct task_store *st, struct task **t, struct endpoint *ep,
			       observe_report_fn report, void *ud)
{
	const char *cid = task_container_id(*t);
	if (!cid || !*cid || task_container_end(*t) || !endpoint_connect(ep))
		return;
	_cleanup_error_ struct rv_error *err = NULL;
	struct engine_container_info seen = {0};
	if (launch_save_logs_seen(ep->engine, st, (*t)->id, task_iterations(*t), cid, &seen, &err) <
	    0)
		reportf(report, ud, "warn", (*t)->id, "Could not save the output of task %lld: %s",
			(long long)(*t)->id, rv_error_msg(err));
	else if (seen.id && orphan_container_from_state(seen.status) == ORPHAN_CONTAINER_EXITED) {
		struct task *fresh = NULL;
		if (task_store_update(st, (*t)->id, record_end_fn, &seen, &fresh, NULL) == 0)
			replace(t, fresh);
	}
	engine_container_info_release(&seen);
}

/* Outside git the project directory itself is the workspace, so the
 * container could make it a repository whose hooks and fsmonitor the user's
 * next git (or shell prompt) would run.  A .git that appeared there since
 * the task's container started is moved aside, never followed or used. */
static void quarantine_planted_git(const char *root, const struct task *t, observe_report_fn report,
				   void *ud)
{
	_cleanup_free_ char *dotgit = fileio_join(root, ".git");
	struct stat s;
	int64_t since = 0;
	if (lstat(dotgit, &s) < 0 || !task_get_time(t, "runningAt", &since))
		return;
	int64_t changed_ms = (int64_t)s.st_ctim.tv_sec * 1000 + s.st_ctim.tv_nsec / 1000000;
	if (changed_ms + 1000 < since)
		return; /* there before the task ran: the user's own */
	_cleanup_free_ char *aside =
		xasprintf("%s.rover-quarantine-%lld-%lld", dotgit, (long long)t->id,
			  (long long)(timeutil_now_ms() / 1000));
	if (rename(dotgit, aside) < 0)
		reportf(report, ud, "warn", t->id,
			"Task %lld's container created '%s', which the host's git would obey; "
			"it could not be moved aside (%s): remove it before running git there",
			(long long)t->id, dotgit, strerror(errno));
	else
		reportf(report, ud, "warn", t->id,
			"Task %lld's container created '%s' (a repository the host's git would "
			"obey); moved it to '%s'",
			(long long)t->id, dotgit, aside);
}

/* A task that just finished has its agent's commits imported into the
 * project's branch rover/task-<id>, so the user's own git sees them.  Only
 * the workspace rover made for this task is read (worktree_sync). */
static void import_finished_work(const struct task_store *st, const struct task *t,
				 observe_report_fn report, void *ud)
{
	const char *path = task_get_str(t, "worktreePath");
	const char *branch = task_get_str(t, "branchName");
	if (!st->project_root)
		return;
	if (!branch || !*branch) {
		/* A task without a branch worked in the project directory itself
		 * (decided when it was created: a .git planted since then must not
		 * make it a git task now). */
		quarantine_planted_git(st->project_root, t, report, ud);
		return;
	}
	if (!st->project_is_git || !path || !*path)
		return;
	_cleanup_free_ char *own = xasprintf("%s/workspaces/%lld", st->dir, (long long)t->id);
	if (strcmp(path, own) != 0)
		return;
	_cleanup_error_ struct rv_error *err = NULL;
	if (worktree_sync(st->project_root, path, branch, &err) < 0)
		reportf(report, ud, "warn", t->id, "Could not import the commits of task %lld: %s",
			(long long)t->id, rv_error_msg(err));
}

struct observe_engines {
	struct endpoint *eps;
	size_t n;
};

struct observe_engines *observe_engines_new(void)
{
	return xcalloc(1, sizeof(struct observe_engines));
}

void observe_engines_free(struct observe_engines *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->eps[i].uri);
		engine_free(e->eps[i].engine);
		rv_error_free(e->eps[i].err);
		engine_container_list_free(e->eps[i].list, e->eps[i].n);
	}
	free(e->eps);
	free(e);
}

static struct endpoint *engines_endpoint(struct observe_engines *e, const char *uri, int64_t id)
{
	struct endpoint *ep = endpoint_for(&e->eps, &e->n, uri && *uri ? uri : NULL);
	if (!ep->task_id)
		ep->task_id = (long long)id;
	return ep;
}

/* Is there anything at the task's resume lock name?  Usually not: one
 * fstatat relative to tasks/ (tasks_dfd), or an lstat. */
static bool lock_present(const struct task_store *st, int tasks_dfd, int64_t id, int64_t iteration)
{
	struct stat ls;
	if (tasks_dfd >= 0) {
		char rel[96];
		snprintf(rel, sizeof(rel), "%lld/iterations/%lld/%s", (long long)id,
			 (long long)iteration, LOCK_FILE_NAME);
		return fstatat(tasks_dfd, rel, &ls, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
	}
	_cleanup_free_ char *path =
		task_store_iteration_file(st, id, iteration, TASK_FILE_RESUME_LOCK);
	return lstat(path, &ls) == 0 || errno != ENOENT;
}

int observe_unchanged_running(const struct task_store *st, struct observe_engines *e, int tasks_dfd,
			      int64_t id, int64_t iteration, const char *container_id,
			      const char *endpoint, observe_report_fn report, void *userdata)
{
	if (!container_id || !*container_id)
		return 0; /* an interrupted start: observe_tasks settles it */
	struct endpoint *ep = engines_endpoint(e, endpoint, id);
	endpoint_list(ep, st->dir);
	if (ep->err) {
		/* What orphan_check does: nothing, with a warning unless a resume
		 * holds the task (looked at only when someone reads warnings). */
		if (report) {
			_cleanup_free_ char *iter_dir = task_store_iteration_dir(st, id, iteration);
			struct lock_info li;
			if (lock_present(st, tasks_dfd, id, iteration) &&
			    lock_inspect(iter_dir, &li, NULL) == 0 && li.held)
				return 1;
			reportf(report, userdata, "warn", id,
				"Could not check the container of task %lld, skipping orphan "
				"check: %s",
				(long long)id, rv_error_msg(ep->err));
		}
		return 1;
	}
	const struct engine_container_summary *s = find_container(ep, container_id, NULL);
	return s && orphan_container_from_state(s->state) == ORPHAN_CONTAINER_ALIVE;
}

int observe_tasks(const struct task_store *st, struct task_list *list, unsigned flags,
		  observe_report_fn report, void *userdata)
{
	return observe_tasks_with(st, list, flags, NULL, report, userdata);
}

int observe_tasks_with(const struct task_store *st, struct task_list *list, unsigned flags,
		       struct observe_engines *engines, observe_report_fn report, void *userdata)
{
	int changed = 0;
	bool *was_active = xcalloc(list->n ? list->n : 1, sizeof(bool));
	for (size_t i = 0; i < list->n; i++) {
		if (!list->entries[i].task)
			continue;
		was_active[i] = task_status_is_running(task_status(list->entries[i].task));
		changed += refresh_status(st, &list->entries[i].task, report, userdata);
		/* A start (resume, iterate) killed after its container started but
		 * before recording it, whose container then finished: the status
		 * file settled the task, only the marker is left.  Dropped here
		 * (resume_recover: RECOVER_CLEAR, no engine call), or it would
		 * stand in the way of the next start. */
		struct task **t = &list->entries[i].task;
		if (!task_status_is_running(task_status(*t)) && resume_in_flight(*t, NULL))
			changed += settle_interrupted_start(st, t, report, userdata);
	}
	if (flags & OBSERVE_STATUS_ONLY) {
		free(was_active);
		return changed;
	}

	struct observe_engines *own = engines ? NULL : observe_engines_new();
	struct observe_engines *eng = engines ? engines : own;
	for (size_t i = 0; i < list->n; i++) {
		struct task **t = &list->entries[i].task;
		if (!*t)
			continue;
		const char *uri = NULL;
		task_get_engine(*t, NULL, &uri);
		if (!was_active[i])
			continue;
		struct endpoint *ep = engines_endpoint(eng, uri, (*t)->id);
		if (task_status_is_running(task_status(*t)))
			changed += orphan_check(st, t, ep, report, userdata);
		if (!task_status_is_running(task_status(*t))) {
			save_finished_logs(st, t, ep, report, userdata);
			import_finished_work(st, *t, report, userdata);
		}
	}
	free(was_active);
	observe_engines_free(own);
	return changed;
}

int observe_task(const struct task_store *st, struct task **t, unsigned flags,
		 observe_report_fn report, void *userdata)
{
	struct task_list_entry e = {.id = (*t)->id, .task = *t};
	struct task_list l = {.entries = &e, .n = 1};
	int r = observe_tasks(st, &l, flags, report, userdata);
	*t = e.task;
	return r;
}
