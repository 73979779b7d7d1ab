/* supervise_pauses.c - drain mode, pause windows and stalls; see
 * supervise_pauses.h. */
#define _GNU_SOURCE
#include "supervise_pauses.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "agent-runner/status.h"
#include "common/cleanup.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/supervise_report.h"
#include "supervisor/lib/supervise_retry.h"
#include "supervisor/lib/taskops.h"

/* Ask the running task of e to pause after its current step, for reason
 * (taskops.h); asking again is harmless, as a task that paused is no longer
 * running.  True when it was asked now. */
static bool ask_pause(struct sv *s, const struct task_list_entry *e, enum task_pause_reason reason,
		      const char *text)
{
	/* Asked already: only a drain file the runner removed at its start
	 * (as a leftover) is written again. */
	struct json_object *req = jsonutil_get_obj(task_json(e->task), "pauseRequested");
	const char *asked_for = req ? jsonutil_get_str(req, "reason") : NULL;
	if (asked_for && !strcmp(asked_for, task_pause_reason_name(reason))) {
		_cleanup_free_ char *drain = task_store_iteration_file(
			s->o->store, e->id, task_iterations(e->task), TASK_FILE_PAUSE_REQUEST);
		if (iterfile_exists(drain))
			return false;
	}
	bool asked = false;
	_cleanup_error_ struct rv_error *err = NULL;
	if (taskops_request_pause(s->o->store, e->id, reason, text, &asked, &err) < 0)
		sv_warn(s, e->id, rv_error_msg(err));
	return asked;
}

/* Drain mode: every running task pauses after its current step (pauseReason
 * drain). */
void sv_pauses_drain(struct sv *s)
{
	for (size_t i = 0; i < s->list.n && !s->stop; i++) {
		const struct task_list_entry *e = &s->list.entries[i];
		if (!e->task || !task_status_is_running(task_status(e->task)))
			continue;
		if (ask_pause(s, e, TASK_PAUSE_DRAIN, "Paused by the supervisor's drain mode"))
			sv_emit(s, SUPERVISE_DRAIN, e->id,
				"task %lld: drain mode: pausing after its current step",
				(long long)e->id);
	}
}

/* The pause window (windows.h) covering task t, of those marked active,
 * or NULL. */
const struct pause_window *sv_window_of(const struct sv *s, const bool active[WINDOWS_MAX],
					const struct task *t)
{
	return windows_covering(&s->o->project->settings.pause_windows, active,
				task_get_str(t, "agent"));
}

/* Pause windows: a running task a window covers pauses after its current
 * step (pauseReason window); a task a window paused comes back once no
 * window covers it.  The loop wakes at the next boundary of any window. */
void sv_pauses_window(struct sv *s)
{
	const struct pause_windows *ws = &s->o->project->settings.pause_windows;
	if (!ws->n)
		return;
	int64_t now = timeutil_now_ms();
	bool active[WINDOWS_MAX] = {false};
	for (size_t i = 0; i < ws->n; i++) {
		int64_t next = 0;
		active[i] = window_active(&ws->w[i], now, &next);
		if (next > 0 && (s->next_due_wall == 0 || next < s->next_due_wall))
			s->next_due_wall = next;
	}
	for (size_t i = 0; i < s->list.n && !s->stop; i++) {
		const struct task_list_entry *e = &s->list.entries[i];
		if (!e->task)
			continue;
		const struct pause_window *w = sv_window_of(s, active, e->task);
		char span[64];
		if (w && task_status_is_running(task_status(e->task))) {
			window_describe(w, span, sizeof(span));
			_cleanup_free_ char *text =
				xasprintf("Paused for the pause window %s", span);
			if (ask_pause(s, e, TASK_PAUSE_WINDOW, text))
				sv_emit(s, SUPERVISE_WINDOW, e->id,
					"task %lld: pause window %s: pausing after its current step",
					(long long)e->id, span);
		} else if (!w && task_status(e->task) == TASK_PAUSED &&
			   task_pause_reason(e->task) == TASK_PAUSE_WINDOW && sv_resume_take(s)) {
			struct resume_opts ro = {.mode = RESUME_MANUAL, .image = s->o->image};
			struct resume_outcome out = {0};
			_cleanup_error_ struct rv_error *rerr = NULL;
			int r = resume_task(s->o->project, s->o->store, e->id, &ro, &out, &rerr);
			if (r == 0 && out.result == RESUME_OK)
				sv_emit(s, SUPERVISE_WINDOW, e->id,
					"task %lld: its pause window is over: resumed",
					(long long)e->id);
			else
				sv_warn(s, e->id, rerr ? rv_error_msg(rerr) : "could not resume");
			resume_outcome_release(&out);
			s->need_status = true;
		}
	}
}

struct stall_ctx {
	const char *container_id;
	int64_t now_ms, progress_ms;
};

static int stall_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct stall_ctx *c = userdata;
	const char *cid = task_container_id(t);
	if (!task_status_is_running(task_status(t)) || !cid || strcmp(cid, c->container_id) != 0 ||
	    jsonutil_get_obj(task_json(t), "stallRequest"))
		return TASK_UPDATE_SKIP;
	struct json_object *o = json_object_new_object();
	char iso[TIMEUTIL_ISO_LEN];
	jsonutil_set_str(o, "containerId", cid);
	jsonutil_set_str(o, "at", timeutil_format_iso(c->now_ms, iso));
	jsonutil_set_str(o, "lastProgressAt", timeutil_format_iso(c->progress_ms, iso));
	json_object_object_add(task_json(t), "stallRequest", o);
	return 0;
}

/* A time from the container's status file, never later than now: a file
 * that claims future progress cannot hold its task off for ever. */
static int64_t status_time(int64_t ms, int64_t now)
{
	return ms > now ? now : ms;
}

void sv_pauses_stall(struct sv *s)
{
	const struct supervise_opts *o = s->o;
	int64_t stall_ms = o->project->settings.stall_seconds * 1000;
	if (stall_ms <= 0)
		return;
	int64_t now = timeutil_now_ms();
	for (size_t i = 0; i < s->list.n && !s->stop; i++) {
		struct task_list_entry *e = &s->list.entries[i];
		const struct task *t = e->task;
		const char *cid = t ? task_container_id(t) : NULL;
		if (!t || !task_status_is_running(task_status(t)) || !cid || !*cid ||
		    resume_in_flight(t, NULL) || jsonutil_get_obj(task_json(t), "stallRequest"))
			continue;
		_cleanup_free_ char *sp = task_store_iteration_file(
			o->store, t->id, task_iterations(t), TASK_FILE_STATUS);
		_cleanup_json_ struct json_object *st = NULL;
		(void)iterfile_read_json(sp, &st, NULL);
		/* Progress: a status change, output seen by the heartbeat, or
		 * the container's start. */
		struct status_view sv;
		status_parse(st, &sv);
		int64_t updated = status_time(sv.updated_at_ms, now);
		int64_t output = status_time(sv.output_at_ms, now);
		int64_t beat = status_time(sv.heartbeat_at_ms, now);
		int64_t started = 0;
		task_get_time(t, "runningAt", &started);
		int64_t progress = updated;
		if (output > progress)
			progress = output;
		if (started > progress)
			progress = started;
		if (progress <= 0 || now - progress < stall_ms) {
			int64_t at = progress > 0 ? progress + stall_ms : now + stall_ms;
			if (s->next_due_wall == 0 || at < s->next_due_wall)
				s->next_due_wall = at;
			continue;
		}
		struct stall_ctx c = {.container_id = cid, .now_ms = now, .progress_ms = progress};
		_cleanup_error_ struct rv_error *err = NULL;
		_cleanup_task_ struct task *fresh = NULL;
		int r = task_store_update(o->store, t->id, stall_fn, &c, &fresh, &err);
		if (r < 0) {
			sv_warn(s, t->id, rv_error_msg(err));
			continue;
		}
		if (r == TASK_UPDATE_SKIP)
			continue;
		sv_replace_task(e, TAKE_PTR(fresh));
		t = e->task;
		cid = task_container_id(t);
		_cleanup_engine_ struct engine *eng = NULL;
		if (launch_engine_for_task(t, &eng, &err) == 0)
			r = engine_container_kill(eng, cid, SIGTERM, &err);
		else
			r = -1;
		char a[TIMEUTIL_ISO_LEN], b[TIMEUTIL_ISO_LEN];
		const char *how = beat > progress
					  ? "the runner is alive (heartbeat at %s), its step "
					    "printed nothing since %s"
					  : "no heartbeat from the runner since %s%s";
		_cleanup_free_ char *why =
			beat > progress ? xasprintf(how, timeutil_format_hhmm(beat, a),
						    timeutil_format_hhmm(progress, b))
					: xasprintf(how, timeutil_format_hhmm(progress, a), "");
		if (r < 0)
			sv_emit(s, SUPERVISE_STALL, t->id,
				"task %lld: no progress for %llds (%s); could not send SIGTERM: %s",
				(long long)t->id, (long long)((now - progress) / 1000), why,
				rv_error_msg(err));
		else
			sv_emit(s, SUPERVISE_STALL, t->id,
				"task %lld: no progress for %llds (%s): SIGTERM sent, it pauses as "
				"'stalled' and is retried",
				(long long)t->id, (long long)((now - progress) / 1000), why);
	}
}
