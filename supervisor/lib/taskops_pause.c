/* taskops_pause.c - pause a running task, or ask it to; see
 * taskops_pause.h. */
#define _GNU_SOURCE
#include "taskops_pause.h"

#include <poll.h>
#include <signal.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/taskops_shared.h"
#include "supervisor/lib/engine_events.h"
#include "supervisor/lib/reconcile.h"

/* The pause loop's tick (progress, drain file) and its inspect safety net. */
#define PAUSE_TICK_MS 1000
#define PAUSE_INSPECT_EVERY_MS 5000

struct pause_wait {
	const char *cid;
	bool exited;
	int exit_code;
};

static int on_die(void *userdata, const struct engine_event *ev, struct rv_error **err)
{
	(void)err;
	struct pause_wait *w = userdata;
	if (!ev->action || strcmp(ev->action, "die") || !taskops_id_matches(ev->id, w->cid))
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
	bool asked; /* we wrote the drain file or sent a signal */
	bool signalled;
	bool paused;
	enum task_pause_reason pause_reason;
};

static int pause_finish_fn(struct task *t, void *userdata, struct rv_error **err)
{
	struct pause_finish *pf = userdata;
	if (!taskops_same_str(task_container_id(t), pf->cid))
		return rv_error_set(
			err, ESTALE,
			"task %lld was given another container while it was pausing; its "
			"status is left as it is",
			taskops_lid(t));
	int64_t now = timeutil_now_ms();
	taskops_refresh_from_status(pf->st, t, now);
	enum task_status s = task_status(t);
	bool ours =
		pf->asked && (pf->exit_code == 2 ||
			      (pf->signalled && (pf->exit_code == 137 || pf->exit_code == 143)));
	/* The runner reached a breakpoint before our request: it waits for a
	 * person, and an operator's resume must not pass it. */
	if (s == TASK_PAUSED && task_pause_reason(t) == TASK_PAUSE_APPROVAL)
		ours = false;
	if (ours && (task_status_is_running(s) || s == TASK_PAUSED)) {
		_cleanup_free_ char *msg =
			pf->exit_code == 2
				? xasprintf("Paused by user: %s", pf->reason)
				: xasprintf(
					  "Paused by user: %s (the container had to be killed, exit "
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
	return taskops_classify_exit(t, pf->exit_code, now, err);
}

int taskops_pause(const struct task_store *st, const struct task *t,
		  const struct taskops_pause_opts *o, struct taskops_pause_result *ret,
		  struct rv_error **err)
{
	enum task_status s = task_status(t);
	if (!task_status_is_running(s))
		return rv_error_set(
			err, EPERM,
			"task %lld is %s: only a running task (IN_PROGRESS or ITERATING) "
			"can be paused",
			taskops_lid(t), task_status_name(s));
	const char *cid = task_container_id(t);
	if (!cid || !*cid)
		return rv_error_set(
			err, EAGAIN,
			"task %lld has no container yet (it is starting); try again in a "
			"moment",
			taskops_lid(t));
	_cleanup_free_ char *reason = clean_reason(o->reason);
	long drain_s = o->timeout_s < 0 ? TASKOPS_PAUSE_TIMEOUT_S : o->timeout_s;
	long term_s = o->term_timeout_s > 0 ? o->term_timeout_s : LAUNCH_STOP_TIMEOUT_S;
	int64_t n = task_iterations(t);
	_cleanup_free_ char *drain =
		task_store_iteration_file(st, t->id, n, TASK_FILE_PAUSE_REQUEST);

	_cleanup_engine_ struct engine *e = NULL;
	int r = taskops_open_engine(t, "pause", &e, err);
	if (r < 0)
		return r;
	struct pause_wait w = {.cid = cid, .exit_code = -1};
	/* Subscribe before looking, so an exit between the look and the
	 * subscription is still reported. */
	const char *const actions[] = {"die", NULL};
	const char *const containers[] = {cid, NULL};
	struct engine_events_filter f = {.actions = actions, .containers = containers};
	_cleanup_engine_events_ struct engine_events *ev = NULL;
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
						 cid, taskops_lid(t));
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
		return rv_error_wrap(err, "cannot record the pause of task %lld", taskops_lid(t));
	memset(ret, 0, sizeof(*ret));
	ret->paused = pf.paused;
	ret->reached = phase;
	ret->exit_code = w.exit_code;
	ret->has_checkpoint = taskops_has_checkpoint(st, t->id, n);
	ret->task = fresh;
	return 0;

fail:
	if (wrote_drain)
		rv_error_wrap(err,
			      "cannot pause task %lld (the pause request stays: the task "
			      "pauses by itself after its current step)",
			      taskops_lid(t));
	else
		rv_error_wrap(err, "cannot pause task %lld", taskops_lid(t));
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
	_cleanup_task_ struct task *fresh = NULL;
	int r = task_store_update(st, id, request_fn, &c, &fresh, err);
	if (r < 0)
		return rv_error_wrap(err, "cannot ask task %lld to pause", (long long)id);
	if (!c.asked)
		return 0;
	_cleanup_free_ char *drain =
		task_store_iteration_file(st, id, c.iteration, TASK_FILE_PAUSE_REQUEST);
	_cleanup_free_ char *reason_text = clean_reason(text);
	r = write_drain(drain, reason_text, err);
	if (r < 0)
		return rv_error_wrap(err, "task %lld", (long long)id);
	*ret_asked = true;
	return 0;
}
