/* supervise_retry.c - auto-retries and breakpoint timeouts, as the scheduler
 * runs them; see supervise_retry.h. */
#define _GNU_SOURCE
#include "supervise_retry.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/admit.h"
#include "supervisor/lib/approval.h"
#include "supervisor/lib/gate.h"
#include "supervisor/lib/journal.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/supervise_pauses.h"
#include "supervisor/lib/supervise_report.h"
#include "supervisor/lib/supervise_streams.h"

/* Settle resumes that died half-way (scheduler only: one process does it). */
bool sv_retry_recover_pass(struct sv *s)
{
	bool changed = false;
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task *t = s->list.entries[i].task;
		if (!t || !task_status_is_running(task_status(t)) ||
		    (task_container_id(t) && *task_container_id(t)) || !resume_in_flight(t, NULL))
			continue;
		enum retry_recover_action a = RECOVER_NONE;
		_cleanup_error_ struct rv_error *err = NULL;
		if (resume_recover(s->o->store, t->id, &a, &err) < 0) {
			sv_warn(s, t->id, rv_error_msg(err));
			continue;
		}
		if (a == RECOVER_ADOPT || a == RECOVER_START || a == RECOVER_ROLLBACK) {
			sv_emit(s, SUPERVISE_RECOVERED, t->id,
				"task %lld: an interrupted resume was %s", (long long)t->id,
				a == RECOVER_ROLLBACK ? "rolled back (no container had started)"
				: a == RECOVER_START  ? "completed (its container is started now)"
						      : "completed (its container was running)");
			changed = true;
		}
	}
	return changed;
}

struct sched_ctx {
	const struct retry_policy *policy;
	int64_t now_ms, reset_at_ms;
	const char *reset_note; /* an ignored resetAt, recorded with the schedule */
	uint32_t rnd;
	bool give_up;
};

static int sched_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct sched_ctx *c = userdata;
	bool changed =
		c->give_up ? retry_apply_give_up(t, c->policy, c->now_ms)
			   : retry_apply_schedule(t, c->policy, c->now_ms, c->reset_at_ms, c->rnd);
	/* Only with a new schedule: once scheduled, later passes WAIT and
	 * never come here, so the record is not rewritten on every pass. */
	if (changed && !c->give_up)
		retry_set_reset_note(t, c->reset_note);
	return changed ? 0 : TASK_UPDATE_SKIP;
}

static uint32_t random_u32(void)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)random() ^ (uint32_t)timeutil_mono_ms();
	return r;
}

/* The container wrote it: read through iterfile.h, judged against a 7-day
 * horizon (retry.h); *ret_note says why a value was ignored. */
int64_t sv_checkpoint_reset_at(const struct task_store *st, const struct task *t, int64_t now_ms,
			       char **ret_note)
{
	_cleanup_free_ char *cp =
		task_store_iteration_file(st, t->id, task_iterations(t), TASK_FILE_CHECKPOINT);
	_cleanup_free_ char *sp =
		task_store_iteration_file(st, t->id, task_iterations(t), TASK_FILE_STATUS);
	return retry_read_reset_at(cp, sp, now_ms, ret_note);
}

void sv_replace_task(struct task_list_entry *e, struct task *fresh)
{
	if (fresh) {
		task_free(e->task);
		e->task = fresh;
	}
}

struct undo_ctx {
	int64_t due_ms;
};

static int undo_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)err;
	const struct undo_ctx *c = userdata;
	if (!retry_eligible(t))
		return TASK_UPDATE_SKIP;
	retry_undo_attempt(t, c->due_ms);
	return 0;
}

/* The engine could not be reached (a transient error, errors.md): that
 * says nothing about the task, so the attempt is given back and tried again
 * with the engine's own backoff (0.5 s doubling to 30 s).  True when done. */
static bool give_back(struct sv *s, struct task_list_entry *e, struct seen *sn,
		      struct resume_outcome *out, const struct rv_error *cause)
{
	sn->engine_failures++;
	int64_t due = timeutil_now_ms() + supervise_reconnect_delay_ms(sn->engine_failures);
	struct undo_ctx c = {.due_ms = due};
	_cleanup_task_ struct task *fresh = NULL;
	_cleanup_error_ struct rv_error *err = NULL;
	if (task_store_update(s->o->store, e->id, undo_fn, &c, &fresh, &err) != 0)
		return false;
	sv_replace_task(e, TAKE_PTR(fresh));
	resume_outcome_release(out);
	char hms[TIMEUTIL_ISO_LEN];
	sv_emit(s, SUPERVISE_RETRY_FAILED, e->id,
		"task %lld: auto-retry not counted: the engine is unreachable (%s); trying again at %s",
		(long long)e->id, rv_error_msg(cause), timeutil_format_iso(due, hms));
	return true;
}

/* Returns true when the attempt was given back (the engine was down): no
 * container started, so it did not use the account's turn either. */
bool sv_retry_fire(struct sv *s, struct task_list_entry *e, struct seen *sn,
		   const struct retry_decision *d)
{
	const struct supervise_opts *o = s->o;
	int64_t id = e->id;
	struct resume_opts ro = {
		.mode = RESUME_AUTO, .image = o->image, .policy = &o->policy, .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_free_ char *provider = xstrdup(sv_provider_of(e->task));
	int r = resume_task(o->project, o->store, id, &ro, &out, &err);
	struct supervise_event ev = {.task_id = id, .attempt = d->attempt, .max = d->max};
	_cleanup_free_ char *msg = NULL;
	s->need_status = true;
	if (r < 0) {
		msg = xasprintf("task %lld: auto-retry %d/%d failed: %s", (long long)id, d->attempt,
				d->max, rv_error_msg(err));
		ev.kind = SUPERVISE_RETRY_FAILED;
		sn->not_before_ms = timeutil_now_ms() + RETRY_BUSY_DEFER_MS;
	} else {
		switch (out.result) {
		case RESUME_OK:
			sn->engine_failures = 0;
			ev.kind = SUPERVISE_RETRY_FIRED;
			msg = xasprintf("task %lld: auto-retry %d/%d of paused %s task: container "
					"%.12s started",
					(long long)id, d->attempt, d->max, provider,
					out.container_id ? out.container_id : "?");
			break;
		case RESUME_ALREADY_RESUMING:
			/* Someone else resumes it right now; nothing was counted. */
			sn->not_before_ms = timeutil_now_ms() + RETRY_BUSY_DEFER_MS;
			resume_outcome_release(&out);
			return false;
		case RESUME_NOT_RESUMABLE:
			/* What the checkpoint needs is missing (resume_validate): only
			 * a person can choose how to go on.  Said once, journaled once,
			 * and not tried again for a while. */
			if (err) {
				sv_warn(s, id, rv_error_msg(err));
				journal_needs_attention(o->store, id, rv_error_msg(err));
			}
			sn->not_before_ms = timeutil_now_ms() + SUPERVISE_REFUSED_RETRY_MS;
			resume_outcome_release(&out);
			return false;
		case RESUME_QUEUED:
			resume_outcome_release(&out);
			return false;
		case RESUME_FAILED:
			if (rv_error_is_transient(err) && give_back(s, e, sn, &out, err)) {
				resume_outcome_release(&out);
				return true;
			}
			ev.kind = SUPERVISE_RETRY_FAILED;
			msg = xasprintf("task %lld: auto-retry %d/%d could not resume it: %s%s",
					(long long)id, d->attempt, d->max, rv_error_msg(err),
					d->attempt >= d->max ? "; giving up" : "; rescheduling");
			sn->not_before_ms = timeutil_now_ms() + RETRY_BUSY_DEFER_MS;
			break;
		}
		sv_replace_task(e, TAKE_PTR(out.task));
		resume_outcome_release(&out);
	}
	ev.message = msg;
	sv_emit_ev(s, &ev);
	return false;
}

/* One task: persist a due time, fire a due retry, or record a give-up.
 * Returns the wall time of its next retry (0: none). */
static int64_t schedule_task(struct sv *s, struct task_list_entry *e, struct seen *sn)
{
	const struct supervise_opts *o = s->o;
	int64_t now = timeutil_now_ms();
	struct retry_decision d;
	retry_decide(e->task, &o->policy, now, 0, 0, &d);
	if (d.action != RETRY_GIVE_UP)
		sn->gave_up_reported = false;
	switch (d.action) {
	case RETRY_NONE:
		return 0;
	case RETRY_GIVE_UP: {
		struct sched_ctx c = {.policy = &o->policy, .now_ms = now, .give_up = true};
		_cleanup_task_ struct task *fresh = NULL;
		_cleanup_error_ struct rv_error *err = NULL;
		if (task_store_update(o->store, e->id, sched_fn, &c, &fresh, &err) < 0)
			sv_warn(s, e->id, rv_error_msg(err));
		sv_replace_task(e, TAKE_PTR(fresh));
		if (!sn->gave_up_reported) {
			sn->gave_up_reported = true;
			journal_needs_attention(o->store, e->id,
						d.max <= 0 ? "auto-retry is off"
							   : "the auto-retry budget is spent");
			struct supervise_event ev = {.kind = SUPERVISE_RETRY_GAVE_UP,
						     .task_id = e->id,
						     .attempt = d.attempt - 1,
						     .max = d.max};
			_cleanup_free_ char *m =
				d.max <= 0
					? xasprintf(
						  "task %lld: auto-retry is off; use rover resume "
						  "%lld to retry manually",
						  (long long)e->id, (long long)e->id)
					: xasprintf("task %lld: gave up after %d auto-retries; use "
						    "rover resume %lld to retry manually",
						    (long long)e->id, d.max, (long long)e->id);
			ev.message = m;
			sv_emit_ev(s, &ev);
		}
		return 0;
	}
	case RETRY_SCHEDULE: {
		_cleanup_free_ char *note = NULL;
		struct sched_ctx c = {.policy = &o->policy,
				      .now_ms = now,
				      .reset_at_ms =
					      sv_checkpoint_reset_at(o->store, e->task, now, &note),
				      .rnd = random_u32()};
		c.reset_note = note;
		_cleanup_task_ struct task *fresh = NULL;
		_cleanup_error_ struct rv_error *err = NULL;
		if (task_store_update(o->store, e->id, sched_fn, &c, &fresh, &err) < 0) {
			sv_warn(s, e->id, rv_error_msg(err));
			return 0;
		}
		sv_replace_task(e, TAKE_PTR(fresh));
		struct task_auto_retry ar;
		task_get_auto_retry(e->task, &ar);
		if (ar.next_retry_at_ms <= 0)
			return 0;
		char iso[TIMEUTIL_ISO_LEN];
		_cleanup_free_ char *m = xasprintf(
			"task %lld: auto-retry %d/%d of paused %s task scheduled at %s%s%s",
			(long long)e->id, d.attempt, d.max, sv_provider_of(e->task),
			timeutil_format_iso(ar.next_retry_at_ms, iso),
			c.reset_at_ms > 0 ? " (after the provider's reset time)"
			: note            ? "; "
					  : "",
			c.reset_at_ms <= 0 && note ? note : "");
		struct supervise_event ev = {.kind = SUPERVISE_RETRY_SCHEDULED,
					     .task_id = e->id,
					     .at_ms = ar.next_retry_at_ms,
					     .attempt = d.attempt,
					     .max = d.max,
					     .message = m};
		sv_emit_ev(s, &ev);
		/* Due at once (a reset time long past)? Fire in this pass. */
		retry_decide(e->task, &o->policy, timeutil_now_ms(), 0, 0, &d);
		if (d.action != RETRY_FIRE)
			return ar.next_retry_at_ms;
		__attribute__((fallthrough));
	}
	case RETRY_FIRE:
		if (sn->not_before_ms > now)
			return sn->not_before_ms;
		/* Fired by queue_pass, which asks the account's gate and the
		 * slots first. */
		sn->due = true;
		return 0;
	case RETRY_WAIT:
		return d.at_ms;
	}
	return 0;
}

/* A task waiting at a breakpoint with a timeout (approval.h): when it
 * passed, fail the task or resume it past the breakpoint.  Returns the wall
 * time it is due (0: none). */
static int64_t approval_timeout_task(struct sv *s, struct task_list_entry *e)
{
	enum approval_timeout_action a;
	int64_t due = 0;
	_cleanup_error_ struct rv_error *err = NULL;
	if (approval_timeout_check(s->o->store, e->task, timeutil_now_ms(), &a, &due, &err) < 0) {
		sv_warn(s, e->id, rv_error_msg(err));
		return 0;
	}
	if (a == APPROVAL_TIMEOUT_WAIT)
		return due;
	if (a == APPROVAL_TIMEOUT_NONE)
		return 0;
	s->need_status = true;
	_cleanup_free_ char *msg = NULL;
	if (a == APPROVAL_TIMEOUT_FAIL) {
		msg = xasprintf("task %lld: nobody answered its breakpoint in time: FAILED "
				"(onTimeout: fail)",
				(long long)e->id);
	} else {
		/* Counted, never refused: the timed-out approval is recorded
		 * already, so the resume must follow now. */
		s->resumes_left--;
		struct resume_opts ro = {.mode = RESUME_MANUAL, .image = s->o->image};
		struct resume_outcome out;
		_cleanup_error_ struct rv_error *rerr = NULL;
		int r = resume_task(s->o->project, s->o->store, e->id, &ro, &out, &rerr);
		msg = r == 0 && out.result == RESUME_OK
			      ? xasprintf(
					"task %lld: nobody answered its breakpoint in time; going "
					"on (onTimeout: continue)",
					(long long)e->id)
			      : xasprintf(
					"task %lld: its breakpoint timed out (onTimeout: continue) "
					"but it could not be resumed: %s; run rover resume %lld",
					(long long)e->id, rv_error_msg(rerr), (long long)e->id);
		resume_outcome_release(&out);
	}
	struct supervise_event ev = {
		.kind = SUPERVISE_APPROVAL_TIMEOUT, .task_id = e->id, .message = msg};
	sv_emit_ev(s, &ev);
	return 0;
}

void sv_retry_schedule_pass(struct sv *s)
{
	s->next_due_wall = 0;
	for (size_t i = 0; i < s->n_seen; i++)
		s->seen[i].due = false;
	for (size_t i = 0; i < s->list.n && !s->stop; i++) {
		struct task_list_entry *e = &s->list.entries[i];
		if (!e->task)
			continue;
		struct seen *sn = sv_seen_find(s, e->id);
		if (!sn)
			continue;
		int64_t at = approval_waiting(e->task, NULL) ? approval_timeout_task(s, e)
							     : schedule_task(s, e, sn);
		if (at > 0 && (s->next_due_wall == 0 || at < s->next_due_wall))
			s->next_due_wall = at;
	}
}

/* What this scheduler found scheduled when it took over: retries, gates,
 * the queue - one line each kind, once. */
void sv_retry_announce(struct sv *s)
{
	if (s->announced_schedule)
		return;
	s->announced_schedule = true;
	char hhmm[TIMEUTIL_ISO_LEN];
	size_t retries = 0, queued = 0;
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task *t = s->list.entries[i].task;
		if (!t)
			continue;
		queued += admit_queued(t) != NULL;
		struct task_auto_retry ar;
		task_get_auto_retry(t, &ar);
		if (!retry_eligible(t) || ar.next_retry_at_ms <= 0)
			continue;
		retries++;
		sv_emit(s, SUPERVISE_SCHEDULER, t->id,
			"scheduled: task %lld: auto-retry %lld at %s", (long long)t->id,
			(long long)ar.count + 1, timeutil_format_hhmm(ar.next_retry_at_ms, hhmm));
	}
	struct gate_table g = {0};
	(void)gate_table_load(s->o->store->dir, &g, NULL);
	for (size_t i = 0; i < g.n; i++)
		sv_emit(s, SUPERVISE_SCHEDULER, 0, "scheduled: %s: limited until %s", g.v[i].label,
			timeutil_format_hhmm(g.v[i].until_ms, hhmm));
	sv_emit(s, SUPERVISE_SCHEDULER, 0,
		"scheduled: %zu auto-retr%s, %zu account gate%s, %zu queued task%s (maxRunning %d, "
		"stallSeconds %lld)",
		retries, retries == 1 ? "y" : "ies", g.n, g.n == 1 ? "" : "s", queued,
		queued == 1 ? "" : "s", s->o->project->settings.max_running,
		(long long)s->o->project->settings.stall_seconds);
	gate_table_release(&g);
}
