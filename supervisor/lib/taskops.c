#define _GNU_SOURCE
#include "taskops.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-runner/status.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/engine_events.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/lock.h"
#include "supervisor/lib/reconcile.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/worktree.h"

/* Engine calls of these commands: a dead engine is reported quickly, a slow
 * one (Podman under load) still gets time. */
#define OPS_CONNECT_MS 5000L
#define OPS_REQUEST_MS 30000L
/* The pause loop's tick (progress, drain file) and its inspect safety net. */
#define PAUSE_TICK_MS 1000
#define PAUSE_INSPECT_EVERY_MS 5000
/* status.json is small; an old one kept for a rollback is capped. */
#define STATUS_MAX_BYTES (1024u * 1024u)

static long long lid(const struct task *t)
{
	return (long long)t->id;
}

static bool same_str(const char *a, const char *b)
{
	if (!a || !*a)
		return !b || !*b;
	return b && !strcmp(a, b);
}

static int open_engine(const struct task *t, const char *verb, struct engine **ret,
		       struct rv_error **err)
{
	int r = launch_engine_for_task(t, ret, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot %s task %lld", verb, lid(t));
	engine_set_timeouts(*ret, OPS_CONNECT_MS, OPS_REQUEST_MS);
	return 0;
}

static bool has_checkpoint(const struct task_store *st, int64_t id, int64_t n)
{
	_cleanup_free_ char *cp = task_store_iteration_file(st, id, n, TASK_FILE_CHECKPOINT);
	return iterfile_exists(cp);
}

/* Apply the iteration's status.json (the runner's own word) to t; a status
 * file that cannot be read leaves t as it is: the exit code still decides. */
static void refresh_from_status(const struct task_store *st, struct task *t, int64_t now_ms)
{
	_cleanup_free_ char *path = task_store_iteration_file(st, t->id, task_iterations(t),
							      TASK_FILE_STATUS);
	bool changed = false;
	_cleanup_error_ struct rv_error *e = NULL;
	(void)reconcile_from_status(t, path, now_ms, &changed, &e);
}

/* The orphan detector's verdict for an active task whose container exited
 * with exit_code (-1: the container is gone). */
static int classify_exit(struct task *t, int exit_code, int64_t now_ms, struct rv_error **err)
{
	if (!task_status_is_running(task_status(t)))
		return 0;
	struct orphan_observation obs = {
		.status = task_status(t),
		.has_container_id = true,
		.now_ms = now_ms,
		.container = exit_code < 0 ? ORPHAN_CONTAINER_MISSING : ORPHAN_CONTAINER_EXITED,
		.exit_code = exit_code,
	};
	struct orphan_verdict v;
	orphan_decide(&obs, &v);
	bool changed = false;
	int r = orphan_apply(t, &v, exit_code, now_ms, &changed, err);
	orphan_verdict_release(&v);
	return r;
}

/* ---- pause ---------------------------------------------------------------- */

struct pause_wait {
	const char *cid;
	bool exited;
	int exit_code;
};

static bool id_matches(const char *a, const char *b)
{
	if (!a || !b || !*a || !*b)
		return false;
	size_t la = strlen(a), lb = strlen(b);
	return !strncmp(a, b, la < lb ? la : lb);
}

static int on_die(void *userdata, const struct engine_event *ev, struct rv_error **err)
{
	(void)err;
	struct pause_wait *w = userdata;
	if (!ev->action || strcmp(ev->action, "die") || !id_matches(ev->id, w->cid))
		return 0;
	w->exited = true;
	w->exit_code = ev->has_exit_code ? ev->exit_code : -1;
	return 0;
}

/* Ask the engine whether the container still runs.  Gone: exited, code -1. */
static int check_exited(struct engine *e, struct pause_wait *w, struct rv_error **err)
{
	struct engine_container_info info = {0};
	int r = engine_container_inspect(e, w->cid, &info, err);
	if (r == -ENOENT) {
		rv_error_free(*err);
		*err = NULL;
		w->exited = true;
		w->exit_code = -1;
		return 0;
	}
	if (r < 0)
		return r;
	if (orphan_container_from_state(info.status) == ORPHAN_CONTAINER_EXITED) {
		w->exited = true;
		w->exit_code = info.exit_code;
	}
	engine_container_info_release(&info);
	return 0;
}

/* The first line of the reason, capped, never empty. */
static char *clean_reason(const char *reason)
{
	if (!reason || !*reason)
		reason = TASKOPS_PAUSE_DEFAULT_REASON;
	size_t n = strcspn(reason, "\r\n");
	if (n > TASKOPS_REASON_MAX)
		n = TASKOPS_REASON_MAX;
	if (n == 0)
		return xstrdup(TASKOPS_PAUSE_DEFAULT_REASON);
	return xstrndup(reason, n);
}

static int write_drain(const char *path, const char *reason, struct rv_error **err)
{
	_cleanup_free_ char *text = xasprintf("%s\n", reason);
	int r = iterfile_write_atomic(path, text, strlen(text), 0644, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot request the pause");
	return 0;
}

static int send_signal(struct engine *e, struct pause_wait *w, int signo, struct rv_error **err)
{
	int r = engine_container_kill(e, w->cid, signo, err);
	if (r == -ESRCH) {
		/* Not running any more: it exited between two looks. */
		rv_error_free(*err);
		*err = NULL;
		return check_exited(e, w, err);
	}
	return r;
}

struct pause_finish {
	const struct task_store *st;
	const char *cid;
	const char *reason;
	int exit_code;
	bool asked;     /* we wrote the drain file or sent a signal */
	bool signalled;
	bool paused;
	enum task_pause_reason pause_reason;
};

static int pause_finish_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct pause_finish *pf = userdata;
	if (!same_str(task_container_id(t), pf->cid))
		return rv_error_set(err, ESTALE,
				    "task %lld was given another container while it was pausing; its "
				    "status is left as it is",
				    lid(t));
	int64_t now = timeutil_now_ms();
	refresh_from_status(pf->st, t, now);
	enum task_status s = task_status(t);
	bool ours = pf->asked && (pf->exit_code == 2 ||
		    (pf->signalled && (pf->exit_code == 137 || pf->exit_code == 143)));
	/* The runner reached a breakpoint before our request: it waits for a
	 * person, and an operator's resume must not pass it. */
	if (s == TASK_PAUSED && task_pause_reason(t) == TASK_PAUSE_APPROVAL)
		ours = false;
	if (ours && (task_status_is_running(s) || s == TASK_PAUSED)) {
		_cleanup_free_ char *msg =
			pf->exit_code == 2
				? xasprintf("Paused by user: %s", pf->reason)
				: xasprintf("Paused by user: %s (the container had to be killed, exit "
					    "%d; the steps completed before are kept)",
					    pf->reason, pf->exit_code);
		int r = task_set_status(t, TASK_PAUSED, msg,
					pf->pause_reason != TASK_PAUSE_NONE ? pf->pause_reason
									   : TASK_PAUSE_USER,
					now, err);
		if (r < 0)
			return r;
		task_set_int(t, "exitCode", pf->exit_code);
		task_set_str(t, "executionStatus", "paused");
		pf->paused = true;
		return 0;
	}
	return classify_exit(t, pf->exit_code, now, err);
}

int taskops_pause(const struct task_store *st, const struct task *t,
		  const struct taskops_pause_opts *o, struct taskops_pause_result *ret,
		  struct rv_error **err)
{
	enum task_status s = task_status(t);
	if (!task_status_is_running(s))
		return rv_error_set(err, EPERM,
				    "task %lld is %s: only a running task (IN_PROGRESS or ITERATING) "
				    "can be paused",
				    lid(t), task_status_name(s));
	const char *cid = task_container_id(t);
	if (!cid || !*cid)
		return rv_error_set(err, EAGAIN,
				    "task %lld has no container yet (it is starting); try again in a "
				    "moment",
				    lid(t));
	_cleanup_free_ char *reason = clean_reason(o->reason);
	long drain_s = o->timeout_s < 0 ? TASKOPS_PAUSE_TIMEOUT_S : o->timeout_s;
	long term_s = o->term_timeout_s > 0 ? o->term_timeout_s : LAUNCH_STOP_TIMEOUT_S;
	int64_t n = task_iterations(t);
	_cleanup_free_ char *drain = task_store_iteration_file(st, t->id, n, TASK_FILE_PAUSE_REQUEST);

	struct engine *e = NULL;
	int r = open_engine(t, "pause", &e, err);
	if (r < 0)
		return r;
	struct pause_wait w = {.cid = cid, .exit_code = -1};
	/* Subscribe before looking, so an exit between the look and the
	 * subscription is still reported. */
	const char *const actions[] = {"die", NULL};
	const char *const containers[] = {cid, NULL};
	struct engine_events_filter f = {.actions = actions, .containers = containers};
	struct engine_events *ev = NULL;
	_cleanup_error_ struct rv_error *ev_err = NULL;
	if (engine_events_open(e, &f, on_die, &w, &ev, &ev_err) < 0)
		ev = NULL; /* the inspect safety net alone then */

	bool wrote_drain = false, asked = false;
	enum taskops_pause_phase phase = TASKOPS_PAUSE_DRAINING;
	int64_t start = timeutil_mono_ms(), deadline = start;
	r = check_exited(e, &w, err);
	if (r < 0)
		goto fail;
	if (!w.exited) {
		if (o->now) {
			phase = TASKOPS_PAUSE_TERMINATING;
			deadline = start + term_s * 1000;
			r = send_signal(e, &w, SIGTERM, err);
		} else {
			deadline = start + drain_s * 1000;
			r = write_drain(drain, reason, err);
			wrote_drain = r == 0;
		}
		if (r < 0)
			goto fail;
		asked = true;
	}
	int64_t next_tick = start + PAUSE_TICK_MS;
	int64_t next_inspect = start + PAUSE_INSPECT_EVERY_MS;
	while (!w.exited) {
		int64_t now = timeutil_mono_ms();
		if (now >= deadline) {
			if (phase == TASKOPS_PAUSE_DRAINING) {
				phase = TASKOPS_PAUSE_TERMINATING;
				deadline = now + term_s * 1000;
				r = send_signal(e, &w, SIGTERM, err);
			} else if (phase == TASKOPS_PAUSE_TERMINATING) {
				phase = TASKOPS_PAUSE_KILLING;
				deadline = now + TASKOPS_KILL_WAIT_S * 1000;
				r = send_signal(e, &w, SIGKILL, err);
			} else {
				r = rv_error_set(err, ETIMEDOUT,
						 "container %.12s of task %lld did not stop, even "
						 "after SIGKILL",
						 cid, lid(t));
			}
			if (r < 0)
				goto fail;
			continue;
		}
		int64_t until = next_tick < deadline ? next_tick : deadline;
		int wait_ms = (int)(until > now ? until - now : 0);
		if (ev) {
			_cleanup_error_ struct rv_error *pe = NULL;
			if (engine_events_poll(ev, NULL, 0, wait_ms, &pe) < 0) {
				/* The stream ended (engine restarted?): inspect now and
				 * every tick from here on. */
				ev = engine_events_free(ev);
				next_inspect = timeutil_mono_ms();
			}
		} else {
			(void)poll(NULL, 0, wait_ms);
		}
		if (w.exited)
			break;
		now = timeutil_mono_ms();
		if (now >= next_inspect) {
			r = check_exited(e, &w, err);
			if (r < 0)
				goto fail;
			next_inspect = now + (ev ? PAUSE_INSPECT_EVERY_MS : PAUSE_TICK_MS);
			if (w.exited)
				break;
		}
		if (now >= next_tick) {
			next_tick = now + PAUSE_TICK_MS;
			/* A runner that was only starting removes a drain file it
			 * takes for a leftover: ask again. */
			if (phase == TASKOPS_PAUSE_DRAINING && !iterfile_exists(drain)) {
				r = write_drain(drain, reason, err);
				if (r < 0)
					goto fail;
			}
			if (o->progress)
				o->progress(o->userdata, t->id, phase, now - start);
		}
	}
	ev = engine_events_free(ev);
	e = engine_free(e);
	(void)iterfile_remove(drain, NULL);

	struct pause_finish pf = {.st = st,
				  .cid = cid,
				  .reason = reason,
				  .exit_code = w.exit_code,
				  .asked = asked,
				  .signalled = phase != TASKOPS_PAUSE_DRAINING,
				  .pause_reason = o->pause_reason};
	struct task *fresh = NULL;
	r = task_store_update(st, t->id, pause_finish_fn, &pf, &fresh, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot record the pause of task %lld", lid(t));
	memset(ret, 0, sizeof(*ret));
	ret->paused = pf.paused;
	ret->reached = phase;
	ret->exit_code = w.exit_code;
	ret->has_checkpoint = has_checkpoint(st, t->id, n);
	ret->task = fresh;
	return 0;

fail:
	engine_events_free(ev);
	engine_free(e);
	if (wrote_drain)
		rv_error_wrap(err, "cannot pause task %lld (the pause request stays: the task "
				   "pauses by itself after its current step)",
			      lid(t));
	else
		rv_error_wrap(err, "cannot pause task %lld", lid(t));
	return r;
}

void taskops_pause_result_release(struct taskops_pause_result *r)
{
	task_free(r->task);
	r->task = NULL;
}

struct request_ctx {
	enum task_pause_reason reason;
	int64_t now_ms;
	bool asked;
	int64_t iteration;
};

static int request_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	struct request_ctx *c = userdata;
	const char *cid = task_container_id(t);
	if (!task_status_is_running(task_status(t)) || !cid || !*cid)
		return TASK_UPDATE_SKIP;
	struct json_object *req = json_object_new_object();
	jsonutil_set_str(req, "reason", task_pause_reason_name(c->reason));
	char iso[TIMEUTIL_ISO_LEN];
	jsonutil_set_str(req, "at", timeutil_format_iso(c->now_ms, iso));
	json_object_object_add(task_json(t), "pauseRequested", req);
	c->asked = true;
	c->iteration = task_iterations(t);
	return 0;
}

int taskops_request_pause(const struct task_store *st, int64_t id, enum task_pause_reason reason,
			  const char *text, bool *ret_asked, struct rv_error **err)
{
	*ret_asked = false;
	struct request_ctx c = {.reason = reason, .now_ms = timeutil_now_ms()};
	struct task *fresh = NULL;
	int r = task_store_update(st, id, request_fn, &c, &fresh, err);
	task_free(fresh);
	if (r < 0)
		return rv_error_wrap(err, "cannot ask task %lld to pause", (long long)id);
	if (!c.asked)
		return 0;
	_cleanup_free_ char *drain = task_store_iteration_file(st, id, c.iteration,
							       TASK_FILE_PAUSE_REQUEST);
	_cleanup_free_ char *reason_text = clean_reason(text);
	r = write_drain(drain, reason_text, err);
	if (r < 0)
		return rv_error_wrap(err, "task %lld", (long long)id);
	*ret_asked = true;
	return 0;
}

/* ---- stop ----------------------------------------------------------------- */

struct stop_ctx {
	const struct task_store *st;
	const char *cid;
	int exit_code;
	bool completed;
};

static int stop_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct stop_ctx *c = userdata;
	if (!same_str(task_container_id(t), c->cid))
		return rv_error_set(err, ESTALE,
				    "task %lld was given another container while it was stopping; "
				    "its status is left as it is",
				    lid(t));
	int64_t now = timeutil_now_ms();
	refresh_from_status(c->st, t, now);
	enum task_status s = task_status(t);
	if (s == TASK_COMPLETED || s == TASK_MERGED || s == TASK_PUSHED) {
		c->completed = true;
		return 0;
	}
	int r = task_set_status(t, TASK_FAILED, TASKOPS_STOPPED_ERROR, TASK_PAUSE_NONE, now, err);
	if (r < 0)
		return r;
	if (c->exit_code >= 0)
		task_set_int(t, "exitCode", c->exit_code);
	task_set_str(t, "executionStatus", "stopped");
	return 0;
}

int taskops_stop(const struct task_store *st, const struct task *t,
		 struct taskops_stop_result *ret, struct rv_error **err)
{
	enum task_status s = task_status(t);
	if (s == TASK_COMPLETED || s == TASK_MERGED || s == TASK_PUSHED)
		return rv_error_set(err, EPERM, "task %lld is %s: there is nothing to stop", lid(t),
				    task_status_name(s));
	struct taskops_stop_result res = {.exit_code = -1};
	int64_t n = task_iterations(t);
	if (s == TASK_FAILED) {
		res.already = true;
		res.has_checkpoint = has_checkpoint(st, t->id, n);
		int r = task_store_load_id(st, t->id, &res.task, err);
		if (r < 0)
			return r;
		*ret = res;
		return 0;
	}
	const char *cid = task_container_id(t);
	if (cid && *cid) {
		struct engine *e = NULL;
		_cleanup_error_ struct rv_error *e2 = NULL;
		int r = open_engine(t, "stop", &e, &e2);
		struct engine_container_info info = {0};
		if (r == 0) {
			r = engine_container_inspect(e, cid, &info, &e2);
			if (r == -ENOENT) {
				r = 0; /* gone already: nothing to stop or save */
				e2 = rv_error_free(e2);
				e = engine_free(e);
			}
		}
		if (r == 0 && e && orphan_container_from_state(info.status) == ORPHAN_CONTAINER_ALIVE) {
			engine_container_info_release(&info);
			r = engine_container_stop(e, cid, LAUNCH_STOP_TIMEOUT_S, &e2);
			if (r == 0) {
				res.stopped_running = true;
				r = engine_container_inspect(e, cid, &info, &e2);
				if (r == -ENOENT) {
					r = 0;
					e2 = rv_error_free(e2);
				}
			}
		}
		if (r == 0 && e) {
			if (info.id)
				res.exit_code = info.exit_code;
			engine_container_info_release(&info);
			if (launch_remove_container(e, st, t->id, n, cid, &e2) == 0)
				res.container_removed = true;
			else
				res.left_behind = xasprintf("container %.12s (%s)", cid,
							    rv_error_msg(e2));
		}
		engine_container_info_release(&info);
		engine_free(e);
		if (r < 0) {
			/* A running container we could not stop must not be
			 * recorded as stopped. */
			if (task_status_is_running(s)) {
				free(res.left_behind);
				*err = TAKE_PTR(e2);
				return rv_error_wrap(err, "cannot stop task %lld", lid(t));
			}
			res.left_behind = xasprintf("container %.12s (%s)", cid, rv_error_msg(e2));
		}
	}
	struct stop_ctx c = {.st = st, .cid = cid, .exit_code = res.exit_code};
	int r = task_store_update(st, t->id, stop_fn, &c, &res.task, err);
	if (r < 0) {
		free(res.left_behind);
		return rv_error_wrap(err, "cannot record the stop of task %lld", lid(t));
	}
	res.completed = c.completed;
	res.has_checkpoint = has_checkpoint(st, t->id, n);
	*ret = res;
	return 0;
}

void taskops_stop_result_release(struct taskops_stop_result *r)
{
	free(r->left_behind);
	task_free(r->task);
	r->left_behind = NULL;
	r->task = NULL;
}

/* ---- restart -------------------------------------------------------------- */

int taskops_checkpoint_aside(const char *iter_dir, int64_t now_ms, char **ret_path,
			     struct rv_error **err)
{
	_cleanup_free_ char *cp = fileio_join(iter_dir, LAYOUT_CHECKPOINT_FILE);
	for (int i = 0; i < 1000; i++) {
		_cleanup_free_ char *aside = xasprintf("%s" TASKOPS_RESTART_ASIDE_INFIX "%lld", cp,
						       (long long)(now_ms + i));
		/* renameat within the checked directory moves whatever is there
		 * (a planted symlink is moved as a link, never followed). */
		_cleanup_error_ struct rv_error *re = NULL;
		int r = iterfile_rename(cp, aside, true, &re);
		if (r == 0) {
			r = fileio_fsync_dir(iter_dir, err);
			if (r < 0)
				return r;
			*ret_path = TAKE_PTR(aside);
			return 0;
		}
		if (r == -ENOENT) {
			*ret_path = NULL;
			return 0;
		}
		if (r != -EEXIST) {
			*err = TAKE_PTR(re);
			return rv_error_wrap(err, "cannot move '%s' aside", cp);
		}
	}
	return rv_error_set(err, EEXIST, "cannot move '%s' aside: no free name", cp);
}

struct restart_ctx {
	const struct task_store *st;
	/* what the command saw: the record must still say so */
	enum task_status status;
	const char *cid;
	/* phase 1 */
	struct json_object *prev;  /* the record before, for a rollback */
	char *iter_dir;
	char *status_path;
	char *old_status;          /* status.json's bytes before, or NULL */
	size_t old_status_len;
	char *aside;
	int64_t restart_count;
	bool begun;                /* phase 1 changed the files */
	/* phase 3 */
	const struct task *launched;
	const struct worktree *wt;
};

/* Undo the file changes of phase 1. */
static void restore_files(struct restart_ctx *c)
{
	if (c->aside) {
		_cleanup_free_ char *cp = fileio_join(c->iter_dir, LAYOUT_CHECKPOINT_FILE);
		if (iterfile_rename(c->aside, cp, true, NULL) == 0) {
			(void)fileio_fsync_dir(c->iter_dir, NULL);
			free(c->aside);
			c->aside = NULL;
		}
	}
	if (c->old_status)
		(void)iterfile_write_atomic(c->status_path, c->old_status, c->old_status_len,
					    0644, NULL);
	else
		(void)iterfile_remove(c->status_path, NULL);
}

static int restart_begin_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct restart_ctx *c = userdata;
	if (task_status(t) != c->status || !same_str(task_container_id(t), c->cid))
		return rv_error_set(err, ESTALE, "task %lld changed meanwhile (now %s); try again",
				    lid(t), task_status_name(task_status(t)));
	int r = json_object_deep_copy(t->obj, &c->prev, NULL);
	if (r < 0)
		return rv_error_set(err, ENOMEM, "cannot copy the record of task %lld", lid(t));
	_cleanup_error_ struct rv_error *re = NULL;
	r = iterfile_read(c->status_path, STATUS_MAX_BYTES, &c->old_status, &c->old_status_len,
			  &re);
	/* Something planted there (or too big) is not worth keeping for a
	 * rollback: the restart replaces it. */
	if (r < 0 && r != -ENOENT && !iterfile_planted(r) && r != -EFBIG) {
		*err = TAKE_PTR(re);
		return r;
	}
	r = taskops_checkpoint_aside(c->iter_dir, timeutil_now_ms(), &c->aside, err);
	if (r < 0)
		return r;
	/* A fresh status file: the old one ("failed", "completed") would make
	 * the next observation end the new run at once. */
	char idbuf[32];
	snprintf(idbuf, sizeof(idbuf), "%lld", lid(t));
	struct status_file *sf = NULL;
	/* A planted directory there would make the rename below fail. */
	r = iterfile_clear_planted(c->status_path, err);
	if (r < 0)
		goto undo;
	r = status_file_create(c->status_path, idbuf, "Starting workflow", &sf, err);
	status_file_free(sf);
	if (r < 0)
		goto undo;
	r = task_restart(t, timeutil_now_ms(), err);
	if (r < 0)
		goto undo;
	/* No container yet: the orphan detector waits for the startup timeout
	 * instead of judging the old one. */
	task_set_str(t, "containerId", NULL);
	task_set_str(t, "exitCode", NULL);
	task_set_str(t, "executionStatus", NULL);
	task_auto_retry_reset(t);
	task_get_int(t, "restartCount", &c->restart_count);
	c->begun = true;
	return 0;
undo:
	restore_files(c);
	return r;
}

static bool still_ours(const struct task *t, const struct restart_ctx *c)
{
	int64_t count = -1;
	task_get_int(t, "restartCount", &count);
	return task_status(t) == TASK_IN_PROGRESS && count == c->restart_count &&
	       !task_container_id(t);
}

static int restart_commit_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct restart_ctx *c = userdata;
	int64_t count = -1;
	task_get_int(t, "restartCount", &count);
	if (count != c->restart_count)
		return rv_error_set(err, ESTALE,
				    "task %lld was restarted by someone else meanwhile", lid(t));
	static const char *const keys[] = {"containerId", "engine", "executionStatus",
					   "runningAt", "agentImage"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct json_object *v = NULL;
		if (json_object_object_get_ex(c->launched->obj, keys[i], &v) && v)
			json_object_object_add(t->obj, keys[i], json_object_get(v));
	}
	if (c->wt && c->wt->path) {
		task_set_str(t, "worktreePath", c->wt->path);
		task_set_str(t, "branchName", c->wt->branch);
		task_set_str(t, "baseCommit", c->wt->base_commit);
	}
	return 0;
}

static int restart_undo_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	struct restart_ctx *c = userdata;
	if (!still_ours(t, c))
		return TASK_UPDATE_SKIP;
	json_object_put(t->obj);
	t->obj = json_object_get(c->prev);
	return 0;
}

/* The workspace to mount: the task's own, re-created when it is gone or
 * its repository was replaced (worktree_restore); a task that never had one
 * gets a new one. */
static int ensure_workspace(const struct project *p, const struct task_store *st,
			    const struct task *t, char **ret_ws, struct worktree *ret_new,
			    bool *ret_recreated, struct rv_error **err)
{
	const char *path = task_get_str(t, "worktreePath");
	const char *branch = task_get_str(t, "branchName");
	*ret_recreated = false;
	/* Only the task's own workspace and branch (a record may have come
	 * from elsewhere). */
	if (task_store_check_record(st, t, err) < 0)
		return -EPERM;
	if (!p->is_git) {
		*ret_ws = xstrdup(path && *path && fileio_is_dir(path) ? path : p->root);
		return 0;
	}
	int r;
	if (path && *path && branch && *branch) {
		r = worktree_restore(p->root, path, branch, task_get_str(t, "baseCommit"),
				     ret_recreated, err);
		if (r < 0)
			return rv_error_wrap(err, "Failed to set up workspace");
		*ret_ws = xstrdup(path);
		return 0;
	}
	r = worktree_create(p->root, st->dir, t->id, ret_new, err);
	if (r < 0)
		return rv_error_wrap(err, "Failed to set up workspace");
	*ret_ws = xstrdup(ret_new->path);
	*ret_recreated = true;
	return 0;
}

int taskops_restart(const struct project *p, const struct task_store *st, const struct task *t,
		    const char *image_override, struct taskops_restart_result *ret,
		    struct rv_error **err)
{
	enum task_status s = task_status(t);
	if (s == TASK_PAUSED)
		return rv_error_set(err, EPERM,
				    "task %lld is not in NEW or FAILED status (current: PAUSED); use "
				    "'rover resume %lld' to resume a paused task from its last "
				    "checkpoint",
				    lid(t), lid(t));
	if (s != TASK_NEW && s != TASK_FAILED && !task_status_is_running(s))
		return rv_error_set(err, EPERM,
				    "task %lld is not in NEW or FAILED status (current: %s)", lid(t),
				    task_status_name(s));
	const char *image = image_override && *image_override ? image_override
							      : task_get_str(t, "agentImage");
	if (!image || !*image)
		image = project_agent_image(p);
	if (!image || !*image)
		return rv_error_set(err, EINVAL,
				    "task %lld has no container image: set ROVER_AGENT_IMAGE or "
				    "agentImage in rover.json",
				    lid(t));
	const char *cid = task_container_id(t);
	struct engine *e = NULL;
	int r;
	if (task_status_is_running(s) && cid && *cid) {
		r = open_engine(t, "restart", &e, err);
		if (r < 0)
			return r;
		struct engine_container_info info = {0};
		_cleanup_error_ struct rv_error *ie = NULL;
		/* An inspect error allows the restart (as in the TypeScript rover): the task is
		 * active only on paper. */
		if (engine_container_inspect(e, cid, &info, &ie) == 0) {
			bool alive = orphan_container_from_state(info.status) == ORPHAN_CONTAINER_ALIVE;
			engine_container_info_release(&info);
			if (alive) {
				engine_free(e);
				return rv_error_set(err, EBUSY,
						    "task %lld is still running in container %.12s; "
						    "stop it first with 'rover stop %lld'",
						    lid(t), cid, lid(t));
			}
		}
	}

	memset(ret, 0, sizeof(*ret));
	int64_t n = task_iterations(t);
	struct restart_ctx c = {.st = st, .status = s, .cid = cid};
	c.iter_dir = task_store_iteration_dir(st, t->id, n);
	c.status_path = task_store_iteration_file(st, t->id, n, TASK_FILE_STATUS);
	struct lock *lk = NULL;
	struct task *begun = NULL;
	struct worktree wt = {0};
	/* Freed at out: (not _cleanup_free_: gcc 12's -fanalyzer misreads it here) */
	char *ws = NULL;
	char *new_cid = NULL;
	bool recreated = false;
	r = task_store_make_iteration(st, t->id, n, err);
	if (r == 0)
		r = lock_acquire(c.iter_dir, &lk, err);
	if (r < 0)
		goto out;
	r = task_store_update(st, t->id, restart_begin_fn, &c, &begun, err);
	if (r < 0) {
		if (c.begun) /* the files changed, the record could not be written */
			restore_files(&c);
		goto out;
	}
	r = ensure_workspace(p, st, begun, &ws, &wt, &recreated, err);
	if (r == 0 && !e)
		r = open_engine(t, "restart", &e, err);
	if (r == 0) {
		struct launch_opts lo = {.image = image,
					 .workspace = ws,
					 .project_root = p->is_git ? p->root : NULL,
					 .resume = false};
		r = launch_container(e, st, begun, &lo, &new_cid, err);
		if (r < 0)
			rv_error_wrap(err, "There was an error restarting the task");
	}
	if (r == 0) {
		c.launched = begun;
		c.wt = wt.path ? &wt : NULL;
		r = task_store_update(st, t->id, restart_commit_fn, &c, &ret->task, err);
	}
	if (r < 0) {
		/* Put everything back: record, status file, checkpoint. */
		(void)task_store_update(st, t->id, restart_undo_fn, &c, NULL, NULL);
		restore_files(&c);
		if (new_cid) {
			(void)engine_container_remove(e, new_cid, true, NULL);
			free(new_cid);
			new_cid = NULL;
		}
		goto out;
	}
	ret->container_id = new_cid;
	ret->checkpoint_aside = TAKE_PTR(c.aside);
	ret->worktree_recreated = recreated;
out:
	if (lk)
		lock_drop(lk, NULL);
	if (r < 0)
		rv_error_wrap(err, "cannot restart task %lld", lid(t));
	free(ws);
	task_free(begun);
	worktree_release(&wt);
	engine_free(e);
	json_object_put(c.prev);
	free(c.iter_dir);
	free(c.status_path);
	free(c.old_status);
	free(c.aside);
	return r;
}

void taskops_restart_result_release(struct taskops_restart_result *r)
{
	free(r->container_id);
	free(r->checkpoint_aside);
	task_free(r->task);
	memset(r, 0, sizeof(*r));
}

/* ---- delete --------------------------------------------------------------- */

static void left(struct taskops_delete_result *res, char *what)
{
	res->left_behind = xrealloc(res->left_behind, (res->n_left + 2) * sizeof(char *));
	res->left_behind[res->n_left++] = what;
	res->left_behind[res->n_left] = NULL;
}

/* Remove the task's containers.  Returns < 0 only for a failure that must
 * stop a delete without force. */
static int delete_containers(const struct task_store *st, int64_t id, const struct task *t,
			     struct taskops_delete_result *res, struct rv_error **err)
{
	const char *cid = t ? task_container_id(t) : NULL;
	const char *endpoint = NULL;
	bool recorded = t && task_get_engine(t, NULL, &endpoint) && endpoint && *endpoint;
	/* A task that never had an engine has no container anywhere; nor has
	 * a NEW one with no container id and no start in flight (a failed
	 * start removes what it created, an interrupted one is settled first:
	 * create.h). */
	if (t && !(cid && *cid) &&
	    (!recorded || (task_status(t) == TASK_NEW && !resume_in_flight(t, NULL))))
		return 0;
	struct engine *e = NULL;
	int r = t ? launch_engine_for_task(t, &e, err) : engine_discover(NULL, &e, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot reach the engine to remove the container of task "
					  "%lld",
				     (long long)id);
	engine_set_timeouts(e, OPS_CONNECT_MS, OPS_REQUEST_MS);
	char f_task[64];
	snprintf(f_task, sizeof(f_task), LAYOUT_LABEL_TASK "=%lld", (long long)id);
	_cleanup_free_ char *f_store = layout_label(LAYOUT_LABEL_STORE, st->dir);
	const char *filters[] = {f_task, f_store, NULL};
	struct engine_container_summary *list = NULL;
	size_t nl = 0;
	r = engine_container_list(e, filters, &list, &nl, err);
	if (r < 0) {
		engine_free(e);
		return rv_error_wrap(err, "cannot list the containers of task %lld", (long long)id);
	}
	bool cid_listed = false;
	for (size_t i = 0; i < nl && r == 0; i++) {
		if (cid && id_matches(list[i].id, cid))
			cid_listed = true;
		r = engine_container_remove(e, list[i].id, true, err);
		if (r == -ENOENT) {
			r = 0;
			*err = rv_error_free(*err);
		} else if (r == 0) {
			res->containers_removed++;
		}
	}
	if (r == 0 && cid && *cid && !cid_listed) {
		r = engine_container_remove(e, cid, true, err);
		if (r == -ENOENT) {
			r = 0;
			*err = rv_error_free(*err);
		} else if (r == 0) {
			res->containers_removed++;
		}
	}
	engine_container_list_free(list, nl);
	engine_free(e);
	if (r < 0)
		return rv_error_wrap(err, "cannot remove the container of task %lld", (long long)id);
	return 0;
}

int taskops_delete(const struct project *p, const struct task_store *st, int64_t id,
		   const struct task *t, bool force, struct taskops_delete_result *ret,
		   struct rv_error **err)
{
	if (!t && !force)
		return rv_error_set(err, EINVAL,
				    "task %lld cannot be read; use --force to delete it anyway",
				    (long long)id);
	if (t && task_status_is_running(task_status(t)) && !force)
		return rv_error_set(err, EBUSY,
				    "task %lld is %s (its container may be running); stop it first "
				    "with 'rover stop %lld', or use --force",
				    (long long)id, task_status_name(task_status(t)), (long long)id);
	struct taskops_delete_result res = {0};
	_cleanup_error_ struct rv_error *ce = NULL;
	int r = delete_containers(st, id, t, &res, &ce);
	if (r < 0) {
		if (!force) {
			*err = TAKE_PTR(ce);
			taskops_delete_result_release(&res);
			return rv_error_wrap(err, "use --force to delete the task anyway");
		}
		left(&res, xasprintf("its container(s): %s", rv_error_msg(ce)));
	}

	/* Only what rover made is removed: the workspace <store>/workspaces/<id>
	 * (checked without following symlinks, removed by a walk that never
	 * leaves the store) and the branch rover/task-<id>.  Whatever else a
	 * record names is left alone and reported. */
	_cleanup_free_ char *def_path = task_store_workspace_path(st, id);
	_cleanup_free_ char *def_branch = xasprintf("rover/task-%lld", (long long)id);
	const char *path = t ? task_get_str(t, "worktreePath") : def_path;
	const char *branch = t ? task_get_str(t, "branchName") : def_branch;
	bool ws_ok = true;
	if (path && *path) {
		_cleanup_error_ struct rv_error *ce2 = NULL;
		r = task_store_check_workspace(st, id, path, &ce2);
		if (r == -EPERM) {
			left(&res, xasprintf("the workspace '%s' (outside the store's own "
					     "workspace; not removed): %s",
					     path, rv_error_msg(ce2)));
			ws_ok = false;
		}
	}
	if (branch && *branch && strcmp(branch, def_branch) != 0) {
		left(&res, xasprintf("the branch '%s' (not rover's branch for task %lld; not "
				     "deleted)",
				     branch, (long long)id));
		branch = NULL;
	}
	bool existed = ws_ok && path && *path && fileio_exists(def_path);
	if (ws_ok) {
		_cleanup_error_ struct rv_error *we = NULL;
		r = task_store_remove_workspace(st, id, &we);
		if (r < 0) {
			if (!force) {
				*err = TAKE_PTR(we);
				taskops_delete_result_release(&res);
				return rv_error_wrap(err, "cannot remove the workspace of task %lld",
						     (long long)id);
			}
			left(&res, xasprintf("the workspace '%s': %s", def_path, rv_error_msg(we)));
			existed = false;
		}
	}
	if (p->is_git && ((ws_ok && path && *path) || (branch && *branch))) {
		/* The directory is gone already: git only forgets the worktree
		 * (prune) and deletes the branch; it never removes files here. */
		_cleanup_error_ struct rv_error *we = NULL;
		r = worktree_remove(p->root, NULL, branch, &we);
		const char *prune[] = {"git", "worktree", "prune", NULL};
		(void)worktree_git(p->root, prune, NULL, NULL);
		if (r < 0) {
			if (!force) {
				*err = TAKE_PTR(we);
				taskops_delete_result_release(&res);
				return rv_error_wrap(err, "cannot remove the branch of task %lld",
						     (long long)id);
			}
			left(&res, xasprintf("the branch '%s': %s", branch, rv_error_msg(we)));
		}
	}
	res.worktree_removed = existed;
	r = task_store_delete(st, id, err);
	if (r < 0) {
		taskops_delete_result_release(&res);
		return r;
	}
	*ret = res;
	return 0;
}

void taskops_delete_result_release(struct taskops_delete_result *r)
{
	for (size_t i = 0; i < r->n_left; i++)
		free(r->left_behind[i]);
	free(r->left_behind);
	memset(r, 0, sizeof(*r));
}
