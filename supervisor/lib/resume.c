/*
 * Why one file over 800 lines: it is one procedure, resume_task(), whose
 * eight steps resume.h lists in order; each section below is one of those
 * steps, and the crash recovery of step 4 finishes or undoes exactly what
 * steps 5-8 do (resumeInFlight).  Read together, the order and its undo stay checkable;
 * split, they would not.
 */
#define _GNU_SOURCE
#include "resume.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-runner/status.h"
#include "supervisor/lib/approval.h"
#include "common/sha256.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/lock.h"
#include "supervisor/lib/worktree.h"

void resume_outcome_release(struct resume_outcome *o)
{
	task_free(o->task);
	free(o->container_id);
	o->task = NULL;
	o->container_id = NULL;
}

static bool has_container(const struct task *t)
{
	const char *cid = task_container_id(t);
	return cid && *cid;
}

/* ---- resumeInFlight ---------------------------------------------------------- */

/* What the task was before the resume marked it IN_PROGRESS. */
struct prev_state {
	enum task_status status;
	char *error;
	enum task_pause_reason reason;
	char *provider;
	int64_t paused_at_ms, failed_at_ms, completed_at_ms;
	int64_t iteration; /* RESUME_ITERATE: the iteration it was at; else 0 */
	enum resume_mode mode;
	int64_t since_ms;
	int64_t retry_count; /* autoRetry.count before a manual resume reset it */
};

static void prev_release(struct prev_state *p)
{
	free(p->error);
	free(p->provider);
	p->error = p->provider = NULL;
}

static void prev_capture(const struct task *t, struct prev_state *p)
{
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	p->status = task_status(t);
	p->error = task_error(t) ? xstrdup(task_error(t)) : NULL;
	p->reason = task_pause_reason(t);
	p->provider = ar.provider ? xstrdup(ar.provider) : NULL;
	p->retry_count = ar.count;
	if (!task_get_time(t, "pausedAt", &p->paused_at_ms))
		p->paused_at_ms = 0;
	if (!task_get_time(t, "failedAt", &p->failed_at_ms))
		p->failed_at_ms = 0;
	if (!task_get_time(t, "completedAt", &p->completed_at_ms))
		p->completed_at_ms = 0;
}

/* The statuses a new iteration starts from (task_iterate). */
static bool is_finished(enum task_status s)
{
	return s == TASK_COMPLETED || s == TASK_FAILED || s == TASK_MERGED || s == TASK_PUSHED;
}

static const char *mode_name(enum resume_mode m)
{
	return m == RESUME_AUTO      ? "auto"
	       : m == RESUME_START   ? "start"
	       : m == RESUME_ITERATE ? "iterate"
				     : "manual";
}

static void marker_set(struct task *t, const struct prev_state *p)
{
	char ts[TIMEUTIL_ISO_LEN];
	struct json_object *m = json_object_new_object();
	jsonutil_set_str(m, "since", timeutil_format_iso(p->since_ms, ts));
	jsonutil_set_int64(m, "pid", (int64_t)getpid());
	jsonutil_set_str(m, "mode", mode_name(p->mode));
	jsonutil_set_str(m, "from", task_status_name(p->status));
	jsonutil_set_str(m, "error", p->error);
	jsonutil_set_str(m, "pauseReason", task_pause_reason_name(p->reason));
	jsonutil_set_str(m, "provider", p->provider);
	if (p->paused_at_ms > 0)
		jsonutil_set_str(m, "pausedAt", timeutil_format_iso(p->paused_at_ms, ts));
	if (p->failed_at_ms > 0)
		jsonutil_set_str(m, "failedAt", timeutil_format_iso(p->failed_at_ms, ts));
	if (p->completed_at_ms > 0)
		jsonutil_set_str(m, "completedAt", timeutil_format_iso(p->completed_at_ms, ts));
	if (p->iteration > 0)
		jsonutil_set_int64(m, "iteration", p->iteration);
	if (p->retry_count > 0)
		jsonutil_set_int64(m, "autoRetryCount", p->retry_count);
	json_object_object_add(task_json(t), RESUME_IN_FLIGHT_KEY, m);
}

static void marker_clear(struct task *t)
{
	json_object_object_del(task_json(t), RESUME_IN_FLIGHT_KEY);
}

bool resume_in_flight(const struct task *t, int64_t *ret_since_ms)
{
	struct json_object *m = jsonutil_get_obj(task_json(t), RESUME_IN_FLIGHT_KEY);
	if (!m || !json_object_is_type(m, json_type_object))
		return false;
	int64_t since = 0;
	if (!timeutil_parse_iso(jsonutil_get_str(m, "since"), &since))
		since = 0;
	if (ret_since_ms)
		*ret_since_ms = since;
	return true;
}

/* Read the marker back; false when there is none. */
static bool marker_get(const struct task *t, struct prev_state *p)
{
	*p = (struct prev_state){.status = TASK_FAILED};
	struct json_object *m = jsonutil_get_obj(task_json(t), RESUME_IN_FLIGHT_KEY);
	if (!m || !json_object_is_type(m, json_type_object))
		return false;
	const char *s = jsonutil_get_str(m, "mode");
	p->mode = s && !strcmp(s, "auto")      ? RESUME_AUTO
		  : s && !strcmp(s, "start")   ? RESUME_START
		  : s && !strcmp(s, "iterate") ? RESUME_ITERATE
					       : RESUME_MANUAL;
	/* The marker is in a file anyone with the store can edit: only what
	 * the mode can come from is restored, anything else is FAILED. */
	bool ok = task_status_parse(jsonutil_get_str(m, "from"), &p->status);
	if (p->mode == RESUME_ITERATE) {
		if (!ok || !is_finished(p->status))
			p->status = TASK_FAILED;
		if (!jsonutil_get_int64(m, "iteration", &p->iteration) || p->iteration < 1)
			p->iteration = 0;
	} else if (!ok || (p->status != TASK_PAUSED && p->status != TASK_FAILED &&
			   p->status != TASK_NEW)) {
		p->status = TASK_FAILED;
	}
	s = jsonutil_get_str(m, "error");
	p->error = s ? xstrdup(s) : NULL;
	if (!task_pause_reason_parse(jsonutil_get_str(m, "pauseReason"), &p->reason))
		p->reason = TASK_PAUSE_NONE;
	s = jsonutil_get_str(m, "provider");
	p->provider = s ? xstrdup(s) : NULL;
	if (!timeutil_parse_iso(jsonutil_get_str(m, "pausedAt"), &p->paused_at_ms))
		p->paused_at_ms = 0;
	if (!timeutil_parse_iso(jsonutil_get_str(m, "failedAt"), &p->failed_at_ms))
		p->failed_at_ms = 0;
	if (!timeutil_parse_iso(jsonutil_get_str(m, "completedAt"), &p->completed_at_ms))
		p->completed_at_ms = 0;
	if (!timeutil_parse_iso(jsonutil_get_str(m, "since"), &p->since_ms))
		p->since_ms = 0;
	if (!jsonutil_get_int64(m, "autoRetryCount", &p->retry_count) || p->retry_count < 0)
		p->retry_count = 0;
	return true;
}

/* Put the task back as it was before the resume (error, reason,
 * provider and the original pausedAt/failedAt are kept).  error NULL: the
 * previous error, else fallback. */
static int restore_prev(struct task *t, const struct prev_state *p, const char *fallback,
			int64_t now_ms, struct rv_error **err)
{
	if (p->mode == RESUME_ITERATE && p->iteration > 0 && p->iteration < task_iterations(t))
		/* Back to the iteration it was at: the new one never ran. */
		task_set_int(t, "iterations", p->iteration);
	if (p->mode == RESUME_ITERATE && p->status != TASK_FAILED) {
		/* A finished task stays finished, as it was: its own error (none,
		 * usually) and completedAt; the caller reports why. */
		int r = task_set_status(t, TASK_COMPLETED, NULL, TASK_PAUSE_NONE, now_ms, err);
		if (r == 0 && p->status != TASK_COMPLETED)
			r = task_set_status(t, p->status, NULL, TASK_PAUSE_NONE, now_ms, err);
		if (r < 0)
			return r;
		if (p->completed_at_ms > 0)
			task_set_time(t, "completedAt", p->completed_at_ms);
		task_set_str(t, "error", p->error);
		task_set_str(t, "executionStatus", "completed");
		marker_clear(t);
		return 0;
	}
	if (p->status == TASK_NEW) {
		/* A first start that failed: NEW with the reason (as the TypeScript rover records it),
		 * ready for `rover restart`. */
		int r = task_set_status(t, TASK_NEW, NULL, TASK_PAUSE_NONE, now_ms, err);
		if (r < 0)
			return r;
		/* NEW takes no error through task_set_status: set it after. */
		task_set_str(
			t, "error",
			fallback ? fallback
				 : "task creation was interrupted before its container started; "
				   "run 'rover restart' to start it");
		task_set_str(t, "executionStatus", NULL);
		marker_clear(t);
		return 0;
	}
	enum task_status to = p->status == TASK_PAUSED ? TASK_PAUSED : TASK_FAILED;
	enum task_pause_reason reason =
		p->reason != TASK_PAUSE_NONE ? p->reason : TASK_PAUSE_RETRYABLE_ERROR;
	int r = task_set_status(t, to, p->error ? p->error : fallback, reason, now_ms, err);
	if (r < 0)
		return r;
	if (to == TASK_PAUSED && p->paused_at_ms > 0)
		task_set_time(t, "pausedAt", p->paused_at_ms);
	if (to == TASK_FAILED && p->failed_at_ms > 0)
		task_set_time(t, "failedAt", p->failed_at_ms);
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	if (p->provider)
		ar.provider = p->provider;
	/* A manual resume resets the budget only by succeeding: one that
	 * failed leaves the count of before. */
	if (p->mode == RESUME_MANUAL && p->retry_count > ar.count)
		ar.count = p->retry_count;
	if (p->provider || p->mode == RESUME_MANUAL)
		task_set_auto_retry(t, &ar);
	task_set_str(t, "executionStatus", to == TASK_PAUSED ? "paused" : "failed");
	marker_clear(t);
	return 0;
}

/* ---- step 1 ------------------------------------------------------------------ */

char *resume_iterate_refusal(const struct task *t, int64_t from)
{
	long long id = (long long)t->id;
	enum task_status s = task_status(t);
	if (task_status_is_running(s))
		return xasprintf("Cannot iterate over a running task: task %lld is %s; wait for it "
				 "to finish (rover logs -f %lld) or stop it (rover stop %lld)",
				 id, task_status_name(s), id, id);
	if (s == TASK_PAUSED)
		return xasprintf(
			"Cannot iterate over a paused task: task %lld is PAUSED; resume it "
			"first (rover resume %lld), or stop it (rover stop %lld)",
			id, id, id);
	if (!is_finished(s))
		return xasprintf("Task %lld has not run yet (%s): start it with rover restart %lld",
				 id, task_status_name(s), id);
	if (from > 0 && task_iterations(t) != from)
		return xasprintf("Task %lld moved on to iteration %lld meanwhile", id,
				 (long long)task_iterations(t));
	return NULL;
}

bool resume_is_resumable(const struct task *t)
{
	enum task_status s = task_status(t);
	if (s == TASK_PAUSED || s == TASK_FAILED)
		return true;
	return task_status_is_running(s) && !has_container(t) && resume_in_flight(t, NULL);
}

int resume_prepare(const struct task_store *st, int64_t id, observe_report_fn report,
		   void *userdata, struct task **ret, struct rv_error **err)
{
	struct task *t = NULL;
	int r = task_store_load_id(st, id, &t, err);
	if (r < 0)
		return r;
	/* A PAUSED or FAILED task is never moved by a status file (reconcile.h);
	 * only an active one can be out of date. */
	if (task_status_is_running(task_status(t)))
		observe_task(st, &t, 0, report, userdata);
	*ret = t;
	return 0;
}

/* ---- step 4: a resume that died half-way ------------------------------------ */

struct recover_ctx {
	enum retry_recover_action action;
	int64_t since_ms;
	const char *container_id;
	struct engine *engine;
	int64_t now_ms;
	bool applied;
};

static int recover_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct recover_ctx *c = userdata;
	int64_t since = 0;
	/* Apply only to the resume that was judged: a newer one, or one that
	 * finished meanwhile, is left alone. */
	if (!resume_in_flight(t, &since) || since != c->since_ms)
		return TASK_UPDATE_SKIP;
	bool dead = task_status_is_running(task_status(t)) && !has_container(t);
	if (c->action != RECOVER_CLEAR && !dead)
		return TASK_UPDATE_SKIP;
	c->applied = true;
	switch (c->action) {
	case RECOVER_CLEAR:
		marker_clear(t);
		return 0;
	case RECOVER_ADOPT:
	case RECOVER_START:
		task_set_str(t, "containerId", c->container_id);
		task_set_engine(t, engine_kind_name(engine_get_kind(c->engine)),
				engine_get_uri(c->engine));
		task_set_str(t, "executionStatus", "running");
		task_set_time(t, "runningAt", c->now_ms);
		marker_clear(t);
		return 0;
	case RECOVER_ROLLBACK: {
		struct prev_state p;
		marker_get(t, &p);
		int r = restore_prev(t, &p, NULL, c->now_ms, err);
		if (r == 0 && p.mode == RESUME_AUTO && p.status == TASK_PAUSED)
			/* The attempt never started a container: give it back, due
			 * at once (its time had come already). */
			retry_undo_attempt(t, c->now_ms);
		prev_release(&p);
		return r;
	}
	default:
		c->applied = false;
		return TASK_UPDATE_SKIP;
	}
}

/* The newest container of the task's current iteration, if any. */
static int find_iteration_container(struct engine *e, const struct task_store *st,
				    const struct task *t, struct retry_recover_obs *obs,
				    char **ret_id, struct rv_error **err)
{
	_cleanup_free_ char *l_store = layout_label(LAYOUT_LABEL_STORE, st->dir);
	_cleanup_free_ char *l_task = layout_label_id(LAYOUT_LABEL_TASK, t->id);
	_cleanup_free_ char *l_iter = layout_label_id(LAYOUT_LABEL_ITERATION, task_iterations(t));
	const char *filters[] = {l_store, l_task, l_iter, NULL};
	struct engine_container_summary *list = NULL;
	size_t n = 0;
	int r = engine_container_list(e, filters, &list, &n, err);
	if (r < 0)
		return r;
	const struct engine_container_summary *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (!best || list[i].created > best->created)
			best = &list[i];
	if (best) {
		obs->container_exists = true;
		/* created comes from the engine: garbage must not overflow (0: unknown) */
		if (__builtin_mul_overflow(best->created, 1000, &obs->container_created_ms))
			obs->container_created_ms = 0;
		obs->container_never_started = best->state && !strcmp(best->state, "created");
		*ret_id = xstrdup(best->id);
	}
	engine_container_list_free(list, n);
	return 0;
}

/* Called with the resume lock held. *t is replaced by the record afterwards. */
static int recover_locked(const struct task_store *st, struct task **t, int64_t now_ms,
			  enum retry_recover_action *ret_action, struct rv_error **err)
{
	struct retry_recover_obs obs = {.status = task_status(*t),
					.has_container_id = has_container(*t)};
	obs.in_flight = resume_in_flight(*t, &obs.since_ms);
	*ret_action = RECOVER_NONE;
	if (!obs.in_flight)
		return 0;
	struct engine *e = NULL;
	_cleanup_free_ char *cid = NULL;
	_cleanup_error_ struct rv_error *eerr = NULL;
	if (task_status_is_running(obs.status) && !obs.has_container_id) {
		if (launch_engine_for_task(*t, &e, &eerr) == 0 &&
		    find_iteration_container(e, st, *t, &obs, &cid, &eerr) == 0)
			obs.engine_known = true;
	}
	struct recover_ctx c = {.action = retry_recover_decide(&obs),
				.since_ms = obs.since_ms,
				.engine = e,
				.now_ms = now_ms};
	if (c.action == RECOVER_START) {
		if (engine_container_start(e, cid, &eerr) < 0) {
			/* It cannot run: make room for a fresh one and undo. */
			(void)launch_remove_container(e, st, (*t)->id, task_iterations(*t), cid,
						      NULL);
			c.action = RECOVER_ROLLBACK;
		}
	}
	c.container_id = cid;
	int r = 0;
	if (c.action != RECOVER_WAIT && c.action != RECOVER_NONE) {
		struct task *fresh = NULL;
		r = task_store_update(st, (*t)->id, recover_fn, &c, &fresh, err);
		if (r == 0 && fresh) {
			task_free(*t);
			*t = fresh;
		}
		if (r == 0 && !c.applied)
			c.action = RECOVER_NONE;
	} else if (c.action == RECOVER_WAIT && eerr && err) {
		*err = TAKE_PTR(eerr);
		rv_error_wrap(err,
			      "cannot tell whether the interrupted resume of task %lld "
			      "started its container",
			      (long long)(*t)->id);
	}
	engine_free(e);
	*ret_action = c.action;
	return r;
}

int resume_recover(const struct task_store *st, int64_t id, enum retry_recover_action *ret_action,
		   struct rv_error **err)
{
	*ret_action = RECOVER_NONE;
	struct task *t = NULL;
	int r = task_store_load_id(st, id, &t, err);
	if (r < 0)
		return r;
	if (!resume_in_flight(t, NULL)) {
		task_free(t);
		return 0;
	}
	_cleanup_free_ char *iter_dir = task_store_iteration_dir(st, id, task_iterations(t));
	struct lock *lk = NULL;
	_cleanup_error_ struct rv_error *lerr = NULL;
	r = lock_acquire(iter_dir, &lk, &lerr);
	if (r == -EBUSY) {
		task_free(t);
		*ret_action = RECOVER_WAIT;
		return 0;
	}
	if (r < 0) {
		task_free(t);
		*err = TAKE_PTR(lerr);
		return r;
	}
	/* Re-read under the lock: the resume may have finished meanwhile. */
	struct task *fresh = NULL;
	r = task_store_load_id(st, id, &fresh, err);
	if (r == 0) {
		task_free(t);
		t = fresh;
		r = recover_locked(st, &t, timeutil_now_ms(), ret_action, err);
	}
	lock_drop(lk, NULL);
	task_free(t);
	return r;
}

/* ---- steps 5-8 ------------------------------------------------------------- */

struct mark_ctx {
	const struct task_store *st;
	const struct resume_opts *o;
	int64_t now_ms;
	struct prev_state prev;
	struct status_file *sf;
	bool init_failed;
	char *not_resumable; /* why, when the re-check failed */
};

static int mark_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct mark_ctx *c = userdata;
	enum task_status s = task_status(t);
	if (c->o->mode == RESUME_ITERATE) {
		if (!is_finished(s) || task_iterations(t) != c->o->iterate_from) {
			c->not_resumable = resume_iterate_refusal(t, c->o->iterate_from);
			return TASK_UPDATE_SKIP;
		}
	} else if (c->o->mode == RESUME_START ? s != TASK_NEW
					      : s != TASK_PAUSED && s != TASK_FAILED) {
		c->not_resumable = xasprintf("Task %lld is not in PAUSED or FAILED status "
					     "(current: %s)",
					     (long long)t->id, task_status_name(s));
		return TASK_UPDATE_SKIP;
	}
	/* A breakpoint passes only on a person's word (approval.h): a resume
	 * would only bring the runner back to it. */
	const char *bp = NULL;
	if (c->o->mode != RESUME_START && approval_waiting(t, &bp) &&
	    !(bp && approval_given(t, bp))) {
		c->not_resumable = xasprintf(
			"Task %lld is waiting for approval at breakpoint '%s': "
			"approve or reject it (rover approve %lld [--message "
			"TEXT], rover reject %lld)",
			(long long)t->id, bp ? bp : "?", (long long)t->id, (long long)t->id);
		return TASK_UPDATE_SKIP;
	}
	prev_release(&c->prev);
	prev_capture(t, &c->prev);
	c->prev.mode = c->o->mode;
	c->prev.since_ms = c->now_ms;
	if (c->o->mode == RESUME_ITERATE) {
		c->prev.iteration = task_iterations(t);
		/* iterations + 1 first: the status file below is the new one's. */
		int r = task_iterate(t, c->now_ms, err);
		if (r < 0)
			return r;
	}
	if (c->o->mode == RESUME_AUTO) {
		if (!retry_apply_attempt(t, c->o->policy, c->now_ms)) {
			c->not_resumable =
				xasprintf("Task %lld has no automatic retry due", (long long)t->id);
			return TASK_UPDATE_SKIP;
		}
	} else if (c->o->mode == RESUME_MANUAL || c->o->mode == RESUME_ITERATE) {
		task_auto_retry_reset(t);
	}
	/* status.json first: if description.json were written first, an
	 * observer could read the old "paused" for the new IN_PROGRESS. */
	_cleanup_free_ char *status =
		task_store_iteration_file(c->st, t->id, task_iterations(t), TASK_FILE_STATUS);
	char idbuf[32];
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)t->id);
	c->sf = status_file_free(c->sf);
	/* The container may have planted a directory at the name, which a
	 * rename cannot replace (iterfile.h); links and FIFOs are replaced. */
	int r = iterfile_clear_planted(status, err);
	if (r >= 0)
		r = status_file_create(status, idbuf, RESUME_STEP, &c->sf, err);
	if (r < 0) {
		c->init_failed = true;
		return r;
	}
	marker_set(t, &c->prev);
	if (c->o->mode != RESUME_ITERATE) { /* task_iterate did it */
		r = task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, c->now_ms, err);
		if (r < 0)
			return r;
	}
	/* The old container is about to be replaced; keeping its id would let
	 * an orphan check judge the new run by the old container. */
	task_set_str(t, "containerId", NULL);
	task_set_str(t, "executionStatus", "initializing");
	return 0;
}

struct record_ctx {
	const struct task *launched; /* the scratch record launch_container filled */
	int64_t since_ms;
};

static int record_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct record_ctx *c = userdata;
	int64_t since = 0;
	static const char *const keys[] = {"containerId", "runningAt", "agentImage"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		task_set_str(t, keys[i], task_get_str(c->launched, keys[i]));
	const char *kind = NULL, *endpoint = NULL;
	task_get_engine(c->launched, &kind, &endpoint);
	task_set_engine(t, kind, endpoint);
	/* A fast container may already have finished and been reconciled. */
	if (task_status_is_running(task_status(t)))
		task_set_str(t, "executionStatus", "running");
	if (resume_in_flight(t, &since) && since == c->since_ms)
		marker_clear(t);
	return 0;
}

struct restore_ctx {
	const struct prev_state *prev;
	const char *fallback;
	int64_t now_ms;
};

static int restore_fn(struct task *t, void *userdata, struct rv_error **err)
{
	const struct restore_ctx *c = userdata;
	int64_t since = 0;
	if (!resume_in_flight(t, &since) || since != c->prev->since_ms ||
	    !task_status_is_running(task_status(t)))
		return TASK_UPDATE_SKIP;
	return restore_prev(t, c->prev, c->fallback, c->now_ms, err);
}

/* Undo the mark after a failure of steps 6-7; sets ret and err. */
static void fail_and_restore(const struct task_store *st, int64_t id, struct mark_ctx *mc,
			     const char *fallback, struct rv_error *cause,
			     struct resume_outcome *ret, struct rv_error **err)
{
	/* A NEW task keeps the whole reason: it has no earlier error to show. */
	_cleanup_free_ char *full = xasprintf("%s: %s", fallback, rv_error_msg(cause));
	struct restore_ctx rc = {.prev = &mc->prev,
				 .fallback = mc->prev.status == TASK_NEW ? full : fallback,
				 .now_ms = timeutil_now_ms()};
	struct task *fresh = NULL;
	_cleanup_error_ struct rv_error *uerr = NULL;
	/* If this write fails too, resumeInFlight stays and resume_recover()
	 * rolls back later. */
	(void)task_store_update(st, id, restore_fn, &rc, &fresh, &uerr);
	if (mc->sf) {
		if (mc->prev.status != TASK_PAUSED)
			(void)status_file_fail(mc->sf, RESUME_STEP, full, NULL);
		else
			(void)status_file_pause(
				mc->sf, RESUME_STEP, full, mc->prev.provider,
				task_pause_reason_name(mc->prev.reason != TASK_PAUSE_NONE
							       ? mc->prev.reason
							       : TASK_PAUSE_RETRYABLE_ERROR),
				0, -1, NULL);
	}
	if (fresh) {
		task_free(ret->task);
		ret->task = fresh;
	}
	ret->result = RESUME_FAILED;
	rv_error_set(err, cause && cause->code ? cause->code : EIO, "%s: %s", fallback,
		     rv_error_msg(cause));
}

static void not_resumable(struct resume_outcome *ret, struct rv_error **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void not_resumable(struct resume_outcome *ret, struct rv_error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	ret->result = RESUME_NOT_RESUMABLE;
	rv_error_set(err, EPERM, "%s", msg ? msg : "not resumable");
}

/* The directory to mount: only the task's own workspace in the store (a
 * record may have come from elsewhere), or the project itself outside git.
 * NULL with err set when the record names anything else. */
static char *workspace_of(const struct project *p, const struct task_store *st,
			  const struct task *t, struct rv_error **err)
{
	if (task_store_check_record(st, t, err) < 0)
		return NULL;
	const char *wt = task_get_str(t, "worktreePath");
	if (!(wt && *wt) && p->is_git) {
		rv_error_set(err, EPERM,
			     "task %lld records no workspace; refusing to mount the "
			     "project itself",
			     (long long)t->id);
		return NULL;
	}
	return xstrdup(wt && *wt ? wt : p->root);
}

/* The new iteration's files, under its resume lock and before the mark
 * (nothing reads the directory yet: the record says iteration n).  The
 * directory may be left from an iteration that was undone: what a container
 * may have planted at the names is cleared, and a checkpoint there (it would
 * be nobody's) is moved aside, never deleted. */
static int iterate_files(const struct task_store *st, int64_t id, int64_t n,
			 struct json_object *inputs, struct rv_error **err)
{
	_cleanup_free_ char *cp = task_store_iteration_file(st, id, n, TASK_FILE_CHECKPOINT);
	if (iterfile_exists(cp)) {
		_cleanup_free_ char *aside =
			xasprintf("%s.abandoned-%lld", cp, (long long)timeutil_now_ms());
		if (rename(cp, aside) < 0)
			return rv_error_errno(err, errno, "cannot move '%s' aside", cp);
	}
	_cleanup_free_ char *path = task_store_iteration_file(st, id, n, TASK_FILE_INPUTS);
	int r = iterfile_clear_planted(path, err);
	if (r < 0)
		return r;
	return jsonutil_write_file(path, inputs, err);
}

/* Steps 4-8, with the resume lock held. */
static int resume_locked(const struct project *p, const struct task_store *st, int64_t id,
			 const struct resume_opts *o, struct resume_outcome *ret,
			 struct rv_error **err)
{
	struct task *t = NULL;
	int r = task_store_load_id(st, id, &t, err);
	if (r < 0)
		return r;
	task_free(ret->task);
	ret->task = t;
	if (resume_in_flight(t, NULL)) {
		_cleanup_error_ struct rv_error *rerr = NULL;
		r = recover_locked(st, &ret->task, timeutil_now_ms(), &ret->recovered, &rerr);
		t = ret->task;
		if (r < 0 || ret->recovered == RECOVER_WAIT) {
			ret->result = RESUME_FAILED;
			*err = TAKE_PTR(rerr);
			rv_error_wrap(err,
				      "an interrupted resume of task %lld could not be settled",
				      (long long)id);
			return 0;
		}
		if (ret->recovered == RECOVER_ADOPT || ret->recovered == RECOVER_START) {
			not_resumable(
				ret, err,
				"Task %lld is running again: an interrupted resume had already "
				"started its container",
				(long long)id);
			return 0;
		}
	}

	if (o->mode == RESUME_ITERATE) {
		_cleanup_free_ char *why = resume_iterate_refusal(t, o->iterate_from);
		if (why) {
			not_resumable(ret, err, "%s", why);
			return 0;
		}
		_cleanup_error_ struct rv_error *ierr = NULL;
		r = iterate_files(st, id, o->iterate_from + 1, o->iterate_inputs, &ierr);
		if (r < 0) {
			ret->result = RESUME_FAILED;
			*err = TAKE_PTR(ierr);
			rv_error_wrap(err, RESUME_FAIL_INIT);
			return 0;
		}
	}

	struct mark_ctx mc = {.st = st, .o = o, .now_ms = timeutil_now_ms()};
	struct task *marked = NULL;
	_cleanup_error_ struct rv_error *merr = NULL;
	r = task_store_update(st, id, mark_fn, &mc, &marked, &merr);
	if (r < 0 || mc.not_resumable) {
		if (r < 0) {
			ret->result = RESUME_FAILED;
			*err = TAKE_PTR(merr);
			if (mc.init_failed)
				rv_error_wrap(err, RESUME_FAIL_INIT);
		} else {
			not_resumable(ret, err, "%s", mc.not_resumable);
		}
		if (marked) {
			task_free(ret->task);
			ret->task = marked;
		}
		free(mc.not_resumable);
		prev_release(&mc.prev);
		status_file_free(mc.sf);
		return 0;
	}
	task_free(ret->task);
	ret->task = marked;
	ret->previous = mc.prev.status;

	_cleanup_free_ char *pause_req =
		task_store_iteration_file(st, id, task_iterations(marked), TASK_FILE_PAUSE_REQUEST);
	(void)iterfile_remove(pause_req, NULL); /* a drain request of the run that paused */
	_cleanup_free_ char *checkpoint =
		task_store_iteration_file(st, id, task_iterations(marked), TASK_FILE_CHECKPOINT);
	ret->had_checkpoint = iterfile_exists(checkpoint);

	_cleanup_error_ struct rv_error *cause = NULL;
	_cleanup_free_ char *workspace = workspace_of(p, st, marked, &cause);
	if (!workspace)
		goto failed_worktree;
	const char *branch = task_get_str(marked, "branchName");
	if (p->is_git && branch && *branch) {
		/* Also gives a workspace whose .git the container replaced (or an
		 * older rover's linked worktree) a repository of its own again. */
		if (worktree_restore(p->root, workspace, branch, task_get_str(marked, "baseCommit"),
				     &ret->worktree_recreated, &cause) < 0)
			goto failed_worktree;
	} else if (!fileio_is_dir(workspace)) {
		rv_error_set(&cause, ENOENT, "the workspace '%s' is gone", workspace);
		goto failed_worktree;
	}

	const char *image = o->image && *o->image ? o->image : task_get_str(marked, "agentImage");
	if (!image || !*image)
		image = project_agent_image(p);
	struct engine *e = NULL;
	if (!image || !*image) {
		rv_error_set(
			&cause, EINVAL,
			"no container image: set ROVER_AGENT_IMAGE or agentImage in rover.json");
		goto failed_container;
	}
	if (launch_engine_for_task(marked, &e, &cause) < 0)
		goto failed_container;
	struct launch_opts lo = {.image = image,
				 .workspace = workspace,
				 .project_root = p->is_git ? p->root : NULL,
				 .resume = o->mode != RESUME_START && o->mode != RESUME_ITERATE,
				 .allow_workflow_change = o->allow_workflow_change,
				 .fresh = o->fresh && o->mode == RESUME_START,
				 .budget_usd = task_budget_usd(marked, p->settings.budget_usd)};
	r = launch_container(e, st, marked, &lo, &ret->container_id, &cause);
	engine_free(e);
	if (r < 0)
		goto failed_container;

	struct record_ctx rc = {.launched = marked, .since_ms = mc.prev.since_ms};
	struct task *recorded = NULL;
	r = task_store_update(st, id, record_fn, &rc, &recorded, &cause);
	if (r < 0) {
		/* The container runs; resume_recover() adopts it later. */
		ret->result = RESUME_FAILED;
		*err = TAKE_PTR(cause);
		rv_error_wrap(err, "the container started but could not be recorded");
	} else {
		task_free(ret->task);
		ret->task = recorded;
		ret->result = RESUME_OK;
	}
	prev_release(&mc.prev);
	status_file_free(mc.sf);
	return 0;

failed_worktree:
	fail_and_restore(st, id, &mc,
			 o->mode == RESUME_START     ? START_FAIL_WORKTREE
			 : o->mode == RESUME_ITERATE ? ITERATE_FAIL_WORKTREE
						     : RESUME_FAIL_WORKTREE,
			 cause, ret, err);
	prev_release(&mc.prev);
	status_file_free(mc.sf);
	return 0;
failed_container:
	fail_and_restore(st, id, &mc,
			 o->mode == RESUME_START     ? START_FAIL_CONTAINER
			 : o->mode == RESUME_ITERATE ? ITERATE_FAIL_CONTAINER
						     : RESUME_FAIL_CONTAINER,
			 cause, ret, err);
	prev_release(&mc.prev);
	status_file_free(mc.sf);
	return 0;
}

char *resume_validate(const struct project *p, const struct task_store *st, const struct task *t,
		      const struct resume_opts *o)
{
	_cleanup_free_ char *cp_path =
		task_store_iteration_file(st, t->id, task_iterations(t), TASK_FILE_CHECKPOINT);
	_cleanup_json_ struct json_object *cp = NULL;
	if (!iterfile_exists(cp_path) || iterfile_read_json(cp_path, &cp, NULL) < 0)
		return NULL; /* no checkpoint: the run starts over, nothing to check */
	struct json_object *done = jsonutil_get_array(cp, "completedSteps");
	size_t n_done = done ? json_object_array_length(done) : 0;
	const char *wt = task_get_str(t, "worktreePath");
	const char *branch = task_get_str(t, "branchName");
	if (n_done > 0 && p->is_git && wt && *wt && !fileio_is_dir(wt) && !o->recreate_workspace)
		return xasprintf("its workspace '%s' is gone, and the %zu step(s) its checkpoint "
				 "skips worked there: run rover resume %lld --recreate-workspace "
				 "to make it again from branch %s (files never committed are "
				 "lost), or rover restart %lld to run every step again",
				 wt, n_done, (long long)t->id, branch ? branch : "(none)",
				 (long long)t->id);
	const char *want = jsonutil_get_str(cp, "workflowHash");
	_cleanup_free_ char *wf = task_store_workflow_path(st, t->id);
	char have[SHA256_HEX_LEN];
	if (want && !o->allow_workflow_change && sha256_file_hex(wf, have, NULL) == 0 &&
	    strcmp(want, have) != 0)
		return xasprintf(
			"its workflow (%s) changed since its checkpoint was saved "
			"(checkpoint %.12s, workflow %.12s), so the steps it skips may not "
			"be the ones it did: run rover resume %lld --allow-workflow-change "
			"to go on anyway, or rover restart %lld",
			wf, want, have, (long long)t->id, (long long)t->id);
	return NULL;
}

int resume_task(const struct project *p, const struct task_store *st, int64_t id,
		const struct resume_opts *o, struct resume_outcome *ret, struct rv_error **err)
{
	*ret = (struct resume_outcome){.result = RESUME_FAILED};
	struct task *t = NULL;
	int r;
	if (o->observed)
		r = task_store_load_id(st, id, &t, err);
	else
		r = resume_prepare(st, id, o->report, o->userdata, &t, err);
	if (r < 0)
		return r;
	ret->task = t;
	ret->previous = task_status(t);
	if (o->mode == RESUME_ITERATE) {
		_cleanup_free_ char *why = resume_iterate_refusal(t, o->iterate_from);
		if (why || !o->iterate_inputs) {
			not_resumable(ret, err, "%s",
				      why ? why : "no inputs for the new iteration");
			return 0;
		}
	} else if (o->mode == RESUME_START) {
		if (task_status(t) != TASK_NEW) {
			not_resumable(ret, err, "Task %lld is not NEW (current: %s)", (long long)id,
				      task_status_name(task_status(t)));
			return 0;
		}
	} else if (!resume_is_resumable(t)) {
		not_resumable(ret, err, "Task %lld is not in PAUSED or FAILED status (current: %s)",
			      (long long)id, task_status_name(task_status(t)));
		return 0;
	}
	if (o->mode == RESUME_MANUAL || o->mode == RESUME_AUTO) {
		_cleanup_free_ char *why = resume_validate(p, st, t, o);
		if (why) {
			not_resumable(ret, err, "Task %lld cannot be resumed as it is: %s",
				      (long long)id, why);
			return 0;
		}
	}
	if (o->mode == RESUME_AUTO && (!o->policy || !retry_eligible(t))) {
		not_resumable(ret, err, "Task %lld is not paused for a retryable error",
			      (long long)id);
		return 0;
	}
	/* A new iteration is locked in its own directory: the one every
	 * observer looks at once the mark says iterations = n + 1. */
	int64_t lock_n = task_iterations(t) + (o->mode == RESUME_ITERATE ? 1 : 0);
	_cleanup_free_ char *iter_dir = task_store_iteration_dir(st, id, lock_n);
	_cleanup_error_ struct rv_error *lerr = NULL;
	r = task_store_make_iteration(st, id, lock_n, &lerr);
	struct lock *lk = NULL;
	if (r == 0)
		r = lock_acquire(iter_dir, &lk, &lerr);
	if (r == -EBUSY) {
		ret->result = RESUME_ALREADY_RESUMING;
		rv_error_set(err, EBUSY, "Task %lld is already being resumed by another process",
			     (long long)id);
		return 0;
	}
	if (r < 0) {
		ret->result = RESUME_FAILED;
		*err = TAKE_PTR(lerr);
		return 0;
	}
	r = resume_locked(p, st, id, o, ret, err);
	lock_drop(lk, NULL);
	return r;
}
