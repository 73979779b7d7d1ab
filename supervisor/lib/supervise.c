#define _GNU_SOURCE
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent-runner/checkpoint.h"
#include "supervisor/lib/approval.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/taskops.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/proc.h"
#include "common/timeutil.h"
#include "supervisor/lib/windows.h"
#include "supervisor/lib/hooks.h"
#include "supervisor/lib/journal.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/admit.h"
#include "supervisor/lib/engine_events.h"
#include "supervisor/lib/gate.h"
#include "supervisor/lib/iterfile.h"
#include "supervisor/lib/launch.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/watch.h"

/* ---- small pure pieces --------------------------------------------------- */

int64_t supervise_reconnect_delay_ms(int failures)
{
	int64_t d = SUPERVISE_RECONNECT_MIN_MS;
	for (int i = 1; i < failures && d < SUPERVISE_RECONNECT_MAX_MS; i++)
		d *= 2;
	return d > SUPERVISE_RECONNECT_MAX_MS ? SUPERVISE_RECONNECT_MAX_MS : d;
}

static const char *provider_of(const struct task *t)
{
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	if (ar.provider)
		return ar.provider;
	const char *a = task_get_str(t, "agent");
	return a ? a : "unknown";
}

char *supervise_status_message(const struct task *t, const char *from)
{
	enum task_status s = task_status(t);
	const char *to = task_status_name(s);
	const char *error = task_error(t);
	if (s == TASK_PAUSED) {
		const char *reason = task_pause_reason_name(task_pause_reason(t));
		if (task_pause_reason(t) == TASK_PAUSE_RETRYABLE_ERROR)
			return xasprintf("task %lld: %s -> %s (%s, %s)%s%s", (long long)t->id,
					 from && *from ? from : "new", to, reason, provider_of(t),
					 error ? ": " : "", error ? error : "");
		return xasprintf("task %lld: %s -> %s (%s)%s%s", (long long)t->id,
				 from && *from ? from : "new", to, reason ? reason : "paused",
				 error ? ": " : "", error ? error : "");
	}
	if (s == TASK_FAILED)
		return xasprintf("task %lld: %s -> %s%s%s", (long long)t->id,
				 from && *from ? from : "new", to, error ? ": " : "",
				 error ? error : "");
	return xasprintf("task %lld: %s -> %s", (long long)t->id, from && *from ? from : "new",
			 to);
}

/* ---- the scheduler lock -------------------------------------------------- */

int supervise_lock_try(const char *store_dir, int *ret_fd, struct rv_error **err)
{
	*ret_fd = -1;
	_cleanup_free_ char *path = fileio_join(store_dir, SUPERVISE_LOCK_FILE);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return rv_error_errno(err, errno, "cannot open '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return 0;
		return rv_error_errno(err, errno, "cannot lock '%s'", path);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static void write_info(const struct supervise_opts *o, bool draining)
{
	_cleanup_free_ char *path = fileio_join(o->store->dir, SUPERVISE_INFO_FILE);
	_cleanup_json_ struct json_object *j = json_object_new_object();
	char host[256] = "", ts[TIMEUTIL_ISO_LEN];
	gethostname(host, sizeof(host) - 1);
	jsonutil_set_int64(j, "pid", (int64_t)getpid());
	jsonutil_set_str(j, "role", o->role ? o->role : "supervise");
	jsonutil_set_str(j, "host", host);
	jsonutil_set_str(j, "since", timeutil_format_iso(timeutil_now_ms(), ts));
	if (draining)
		jsonutil_set_bool(j, "draining", true);
	(void)jsonutil_write_file(path, j, NULL);
}

bool supervise_draining(const char *store_dir)
{
	pid_t pid = 0;
	if (!supervise_scheduler_info(store_dir, &pid, NULL))
		return false;
	_cleanup_free_ char *path = fileio_join(store_dir, SUPERVISE_INFO_FILE);
	_cleanup_json_ struct json_object *j = NULL;
	bool draining = false;
	if (jsonutil_read_object(path, &j, NULL) == 0)
		jsonutil_get_bool(j, "draining", &draining);
	return draining;
}

bool supervise_scheduler_info(const char *store_dir, pid_t *ret_pid, char **ret_role)
{
	_cleanup_free_ char *path = fileio_join(store_dir, SUPERVISE_INFO_FILE);
	_cleanup_json_ struct json_object *j = NULL;
	if (jsonutil_read_object(path, &j, NULL) < 0)
		return false;
	int64_t pid = 0;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	const char *h = jsonutil_get_str(j, "host");
	if (!jsonutil_get_int64(j, "pid", &pid) || pid <= 0 || pid > INT_MAX)
		return false;
	if ((!h || !strcmp(h, host)) && !proc_is_alive((pid_t)pid))
		return false;
	*ret_pid = (pid_t)pid;
	if (ret_role) {
		const char *r = jsonutil_get_str(j, "role");
		*ret_role = r ? xstrdup(r) : NULL;
	}
	return true;
}

/* ---- loop state ------------------------------------------------------------ */

struct stream {
	char *uri;
	long long task_id; /* the first task naming uri, for messages */
	struct engine *engine;
	struct engine_events *ev;
	int failures;
	int64_t retry_mono; /* when to reopen (while ev is NULL) */
	bool wanted;        /* some task still uses the endpoint */
};

struct seen {
	int64_t id;
	enum task_status status;
	bool changed;          /* its status changed in this pass */
	bool gave_up_reported;
	int64_t not_before_ms; /* wall: no auto-resume before (after a busy/failed one) */
	char *last_warning;
	bool due;              /* this pass: its retry is due (fired by the queue pass) */
	int engine_failures;   /* auto-retries in a row that found the engine down */
	char held[200];        /* why its due retry waits, as last reported */
};

struct sv {
	const struct supervise_opts *o;
	int sigfd;
	struct watch *watch;
	int lock_fd;
	bool announced_other;
	struct stream *streams;
	size_t n_streams;
	struct seen *seen;
	size_t n_seen;
	bool first_pass;
	bool need_full, need_status, engine_event;
	int64_t next_full_mono, next_view_mono, next_lock_mono, next_due_wall;
	/* Containers the engine said ended whose task still looks active: the
	 * engine's listing can lag its own event by a moment, so they are
	 * checked again, SUPERVISE_RECHECK_FIRST_MS doubling, for a while. */
	struct exit_seen {
		char *container_id;
		int64_t since_mono;
	} exits[SUPERVISE_MAX_PENDING_EXITS];
	size_t n_exits;
	int64_t recheck_delay_ms, next_recheck_mono;
	/* observe's warnings of this pass, reported after the status diff */
	struct pending_warning {
		int64_t id;
		char *msg;
	} *warnings;
	size_t n_warnings;
	char *last_warning; /* of warnings about no task in particular */
	struct task_list list;
	bool stop;
	bool draining; /* drain mode: pause running tasks, start nothing */
	bool announced_schedule; /* said what is scheduled, once per scheduler term */
};

static void emit(struct sv *s, enum supervise_event_kind kind, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void emit(struct sv *s, enum supervise_event_kind kind, int64_t id, const char *fmt, ...)
{
	if (!s->o->on_event)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	struct supervise_event ev = {
		.kind = kind, .time_ms = timeutil_now_ms(), .task_id = id, .message = msg ? msg : ""};
	s->o->on_event(s->o->userdata, &ev);
}

static void emit_ev(struct sv *s, struct supervise_event *ev)
{
	if (!s->o->on_event)
		return;
	ev->time_ms = timeutil_now_ms();
	s->o->on_event(s->o->userdata, ev);
}

static struct seen *seen_find(struct sv *s, int64_t id)
{
	size_t lo = 0, hi = s->n_seen;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->seen[mid].id == id)
			return &s->seen[mid];
		if (s->seen[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void seen_free_all(struct seen *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].last_warning);
	free(v);
}

static uint32_t random_u32(void)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)random() ^ (uint32_t)timeutil_mono_ms();
	return r;
}

/* ---- observing ----------------------------------------------------------- */

static void warn_task(struct sv *s, int64_t id, const char *msg)
{
	struct seen *e = id > 0 ? seen_find(s, id) : NULL;
	char **last = e ? &e->last_warning : id <= 0 ? &s->last_warning : NULL;
	if (last && *last && !strcmp(*last, msg))
		return;
	if (last) {
		free(*last);
		*last = xstrdup(msg);
	}
	struct supervise_event ev = {.kind = SUPERVISE_WARNING, .task_id = id, .message = msg};
	emit_ev(s, &ev);
}

/* observe's reports arrive before the status diff; a "marked as FAILED" is a
 * status change the diff reports itself, so they wait until then. */
static void on_observe(void *userdata, const char *level, int64_t id, const char *msg)
{
	struct sv *s = userdata;
	if (strcmp(level, "warn") != 0)
		return;
	s->warnings = xrealloc(s->warnings, (s->n_warnings + 1) * sizeof(*s->warnings));
	s->warnings[s->n_warnings++] = (struct pending_warning){.id = id, .msg = xstrdup(msg)};
}

static void flush_warnings(struct sv *s)
{
	for (size_t i = 0; i < s->n_warnings; i++) {
		struct seen *e = seen_find(s, s->warnings[i].id);
		if (!e || !e->changed)
			warn_task(s, s->warnings[i].id, s->warnings[i].msg);
		free(s->warnings[i].msg);
	}
	free(s->warnings);
	s->warnings = NULL;
	s->n_warnings = 0;
}

/* Report what changed since the last pass and carry the per-task state
 * over (both lists are sorted by id). */
static void diff_and_carry(struct sv *s)
{
	struct seen *next = xcalloc(s->list.n ? s->list.n : 1, sizeof(*next));
	size_t n = 0, j = 0;
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task_list_entry *e = &s->list.entries[i];
		while (j < s->n_seen && s->seen[j].id < e->id) {
			if (!s->first_pass) {
				struct supervise_event ev = {
					.kind = SUPERVISE_STATUS,
					.task_id = s->seen[j].id,
					.from = task_status_name(s->seen[j].status),
					.to = ""};
				_cleanup_free_ char *m = xasprintf("task %lld: removed",
								   (long long)s->seen[j].id);
				ev.message = m;
				emit_ev(s, &ev);
			}
			free(s->seen[j].last_warning);
			j++;
		}
		struct seen *old = j < s->n_seen && s->seen[j].id == e->id ? &s->seen[j++] : NULL;
		struct seen *cur = &next[n++];
		if (old)
			*cur = *old; /* takes last_warning */
		else
			*cur = (struct seen){.id = e->id, .status = TASK__STATUS_MAX};
		cur->changed = false;
		if (!e->task)
			continue;
		enum task_status st = task_status(e->task);
		if (!s->first_pass && cur->status != st) {
			cur->changed = true;
			const char *from = cur->status == TASK__STATUS_MAX ? ""
									   : task_status_name(cur->status);
			_cleanup_free_ char *m = supervise_status_message(e->task, from);
			struct supervise_event ev = {.kind = SUPERVISE_STATUS,
						     .task_id = e->id,
						     .from = from,
						     .to = task_status_name(st),
						     .message = m};
			emit_ev(s, &ev);
		}
		cur->status = st;
	}
	for (; j < s->n_seen; j++) {
		if (!s->first_pass) {
			_cleanup_free_ char *m = xasprintf("task %lld: removed", (long long)s->seen[j].id);
			struct supervise_event ev = {.kind = SUPERVISE_STATUS,
						     .task_id = s->seen[j].id,
						     .from = task_status_name(s->seen[j].status),
						     .to = "",
						     .message = m};
			emit_ev(s, &ev);
		}
		free(s->seen[j].last_warning);
	}
	free(s->seen);
	s->seen = next;
	s->n_seen = n;
	s->first_pass = false;
}

/* Settle resumes that died half-way (scheduler only: one process does it). */
static bool recover_pass(struct sv *s)
{
	bool changed = false;
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task *t = s->list.entries[i].task;
		if (!t || !task_status_is_running(task_status(t)) ||
		    (task_container_id(t) && *task_container_id(t)) ||
		    !resume_in_flight(t, NULL))
			continue;
		enum retry_recover_action a = RECOVER_NONE;
		_cleanup_error_ struct rv_error *err = NULL;
		if (resume_recover(s->o->store, t->id, &a, &err) < 0) {
			warn_task(s, t->id, rv_error_msg(err));
			continue;
		}
		if (a == RECOVER_ADOPT || a == RECOVER_START || a == RECOVER_ROLLBACK) {
			emit(s, SUPERVISE_RECOVERED, t->id,
			     "task %lld: an interrupted resume was %s", (long long)t->id,
			     a == RECOVER_ROLLBACK ? "rolled back (no container had started)"
			     : a == RECOVER_START  ? "completed (its container is started now)"
						   : "completed (its container was running)");
			changed = true;
		}
	}
	return changed;
}

/* ---- scheduling ------------------------------------------------------------ */

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
	bool changed = c->give_up ? retry_apply_give_up(t, c->policy, c->now_ms)
				  : retry_apply_schedule(t, c->policy, c->now_ms, c->reset_at_ms,
							 c->rnd);
	/* Only with a new schedule: once scheduled, later passes WAIT and
	 * never come here, so the record is not rewritten on every pass. */
	if (changed && !c->give_up)
		retry_set_reset_note(t, c->reset_note);
	return changed ? 0 : TASK_UPDATE_SKIP;
}

/* The container wrote it: read through iterfile.h, judged against a 7-day
 * horizon (retry.h); *ret_note says why a value was ignored. */
static int64_t checkpoint_reset_at(const struct task_store *st, const struct task *t,
				   int64_t now_ms, char **ret_note)
{
	_cleanup_free_ char *cp = task_store_iteration_file(st, t->id, task_iterations(t),
							    TASK_FILE_CHECKPOINT);
	_cleanup_free_ char *sp = task_store_iteration_file(st, t->id, task_iterations(t),
							    TASK_FILE_STATUS);
	return retry_read_reset_at(cp, sp, now_ms, ret_note);
}

static void replace_task(struct task_list_entry *e, struct task *fresh)
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
	struct task *fresh = NULL;
	_cleanup_error_ struct rv_error *err = NULL;
	if (task_store_update(s->o->store, e->id, undo_fn, &c, &fresh, &err) != 0) {
		task_free(fresh);
		return false;
	}
	replace_task(e, fresh);
	resume_outcome_release(out);
	char hms[TIMEUTIL_ISO_LEN];
	emit(s, SUPERVISE_RETRY_FAILED, e->id,
	     "task %lld: auto-retry not counted: the engine is unreachable (%s); trying again at %s",
	     (long long)e->id, rv_error_msg(cause), timeutil_format_iso(due, hms));
	return true;
}

/* Returns true when the attempt was given back (the engine was down): no
 * container started, so it did not use the account's turn either. */
static bool fire(struct sv *s, struct task_list_entry *e, struct seen *sn,
		 const struct retry_decision *d)
{
	const struct supervise_opts *o = s->o;
	int64_t id = e->id;
	struct resume_opts ro = {.mode = RESUME_AUTO,
				 .image = o->image,
				 .policy = &o->policy,
				 .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_free_ char *provider = xstrdup(provider_of(e->task));
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
				warn_task(s, id, rv_error_msg(err));
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
		replace_task(e, TAKE_PTR(out.task));
		resume_outcome_release(&out);
	}
	ev.message = msg;
	emit_ev(s, &ev);
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
		struct task *fresh = NULL;
		_cleanup_error_ struct rv_error *err = NULL;
		if (task_store_update(o->store, e->id, sched_fn, &c, &fresh, &err) < 0)
			warn_task(s, e->id, rv_error_msg(err));
		replace_task(e, fresh);
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
				d.max <= 0 ? xasprintf("task %lld: auto-retry is off; use rover resume "
						       "%lld to retry manually",
						       (long long)e->id, (long long)e->id)
					   : xasprintf("task %lld: gave up after %d auto-retries; use "
						       "rover resume %lld to retry manually",
						       (long long)e->id, d.max, (long long)e->id);
			ev.message = m;
			emit_ev(s, &ev);
		}
		return 0;
	}
	case RETRY_SCHEDULE: {
		_cleanup_free_ char *note = NULL;
		struct sched_ctx c = {.policy = &o->policy,
				      .now_ms = now,
				      .reset_at_ms = checkpoint_reset_at(o->store, e->task, now, &note),
				      .rnd = random_u32()};
		c.reset_note = note;
		struct task *fresh = NULL;
		_cleanup_error_ struct rv_error *err = NULL;
		if (task_store_update(o->store, e->id, sched_fn, &c, &fresh, &err) < 0) {
			warn_task(s, e->id, rv_error_msg(err));
			return 0;
		}
		replace_task(e, fresh);
		struct task_auto_retry ar;
		task_get_auto_retry(e->task, &ar);
		if (ar.next_retry_at_ms <= 0)
			return 0;
		char iso[TIMEUTIL_ISO_LEN];
		_cleanup_free_ char *m = xasprintf(
			"task %lld: auto-retry %d/%d of paused %s task scheduled at %s%s%s",
			(long long)e->id, d.attempt, d.max, provider_of(e->task),
			timeutil_format_iso(ar.next_retry_at_ms, iso),
			c.reset_at_ms > 0 ? " (after the provider's reset time)" : note ? "; " : "",
			c.reset_at_ms <= 0 && note ? note : "");
		struct supervise_event ev = {.kind = SUPERVISE_RETRY_SCHEDULED,
					     .task_id = e->id,
					     .at_ms = ar.next_retry_at_ms,
					     .attempt = d.attempt,
					     .max = d.max,
					     .message = m};
		emit_ev(s, &ev);
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
		warn_task(s, e->id, rv_error_msg(err));
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
		struct resume_opts ro = {.mode = RESUME_MANUAL, .image = s->o->image};
		struct resume_outcome out;
		_cleanup_error_ struct rv_error *rerr = NULL;
		int r = resume_task(s->o->project, s->o->store, e->id, &ro, &out, &rerr);
		msg = r == 0 && out.result == RESUME_OK
			      ? xasprintf("task %lld: nobody answered its breakpoint in time; going "
					  "on (onTimeout: continue)",
					  (long long)e->id)
			      : xasprintf("task %lld: its breakpoint timed out (onTimeout: continue) "
					  "but it could not be resumed: %s; run rover resume %lld",
					  (long long)e->id, rv_error_msg(rerr), (long long)e->id);
		resume_outcome_release(&out);
	}
	struct supervise_event ev = {.kind = SUPERVISE_APPROVAL_TIMEOUT, .task_id = e->id,
				     .message = msg};
	emit_ev(s, &ev);
	return 0;
}

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
		warn_task(s, e->id, rv_error_msg(err));
	return asked;
}

/* Drain mode: every running task pauses after its current step (pauseReason
 * drain). */
static void drain_pass(struct sv *s)
{
	for (size_t i = 0; i < s->list.n && !s->stop; i++) {
		const struct task_list_entry *e = &s->list.entries[i];
		if (!e->task || !task_status_is_running(task_status(e->task)))
			continue;
		if (ask_pause(s, e, TASK_PAUSE_DRAIN, "Paused by the supervisor's drain mode"))
			emit(s, SUPERVISE_DRAIN, e->id,
			     "task %lld: drain mode: pausing after its current step", (long long)e->id);
	}
}

/* The pause window (windows.h) covering task t, of those marked active,
 * or NULL. */
static const struct pause_window *window_of(const struct sv *s, const bool active[WINDOWS_MAX],
					    const struct task *t)
{
	return windows_covering(&s->o->project->settings.pause_windows, active,
				task_get_str(t, "agent"));
}

/* Pause windows: a running task a window covers pauses after its current
 * step (pauseReason window); a task a window paused comes back once no
 * window covers it.  The loop wakes at the next boundary of any window. */
static void window_pass(struct sv *s)
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
		const struct pause_window *w = window_of(s, active, e->task);
		char span[64];
		if (w && task_status_is_running(task_status(e->task))) {
			window_describe(w, span, sizeof(span));
			_cleanup_free_ char *text = xasprintf("Paused for the pause window %s", span);
			if (ask_pause(s, e, TASK_PAUSE_WINDOW, text))
				emit(s, SUPERVISE_WINDOW, e->id,
				     "task %lld: pause window %s: pausing after its current step",
				     (long long)e->id, span);
		} else if (!w && task_status(e->task) == TASK_PAUSED &&
			   task_pause_reason(e->task) == TASK_PAUSE_WINDOW) {
			struct resume_opts ro = {.mode = RESUME_MANUAL, .image = s->o->image};
			struct resume_outcome out = {0};
			_cleanup_error_ struct rv_error *rerr = NULL;
			int r = resume_task(s->o->project, s->o->store, e->id, &ro, &out, &rerr);
			if (r == 0 && out.result == RESUME_OK)
				emit(s, SUPERVISE_WINDOW, e->id,
				     "task %lld: its pause window is over: resumed", (long long)e->id);
			else
				warn_task(s, e->id, rerr ? rv_error_msg(rerr) : "could not resume");
			resume_outcome_release(&out);
			s->need_status = true;
		}
	}
}

static void schedule_pass(struct sv *s)
{
	s->next_due_wall = 0;
	for (size_t i = 0; i < s->n_seen; i++)
		s->seen[i].due = false;
	for (size_t i = 0; i < s->list.n && !s->stop; i++) {
		struct task_list_entry *e = &s->list.entries[i];
		if (!e->task)
			continue;
		struct seen *sn = seen_find(s, e->id);
		if (!sn)
			continue;
		int64_t at = approval_waiting(e->task, NULL) ? approval_timeout_task(s, e)
							     : schedule_task(s, e, sn);
		if (at > 0 && (s->next_due_wall == 0 || at < s->next_due_wall))
			s->next_due_wall = at;
	}
}

/* ---- the queue: account gates and maxRunning (gate.h) ------------------------ */

static const char *env_get(const char *name)
{
	return getenv(name);
}

static struct task_list_entry *entry_find(struct sv *s, int64_t id)
{
	size_t lo = 0, hi = s->list.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->list.entries[mid].id == id)
			return &s->list.entries[mid];
		if (s->list.entries[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int unqueue_fn(struct task *t, void *userdata, struct rv_error **err)
{
	(void)userdata;
	(void)err;
	if (!jsonutil_get_obj(task_json(t), "queued") || resume_in_flight(t, NULL))
		return TASK_UPDATE_SKIP;
	json_object_object_del(task_json(t), "queued");
	return 0;
}

/* Start a queued task.  Its `queued` goes once the start is over: started,
 * or failed for good (it stays NEW with the reason, for `rover restart`,
 * instead of failing again on every pass).  An engine that cannot be
 * reached keeps it queued, tried again after the engine's backoff. */
static void start_queued(struct sv *s, struct task_list_entry *e, struct seen *sn, bool probe,
			 const char *label)
{
	const struct supervise_opts *o = s->o;
	struct resume_opts ro = {.mode = RESUME_START, .image = o->image, .observed = true};
	struct resume_outcome out;
	_cleanup_error_ struct rv_error *err = NULL;
	int r = resume_task(o->project, o->store, e->id, &ro, &out, &err);
	s->need_status = true;
	if (r == 0 && out.result == RESUME_ALREADY_RESUMING) {
		resume_outcome_release(&out);
		return;
	}
	if (r == 0 && out.result == RESUME_FAILED && rv_error_is_transient(err) && sn) {
		sn->engine_failures++;
		sn->not_before_ms =
			timeutil_now_ms() + supervise_reconnect_delay_ms(sn->engine_failures);
		emit(s, SUPERVISE_QUEUE, e->id,
		     "task %lld: the engine is unreachable (%s); it stays queued", (long long)e->id,
		     rv_error_msg(err));
		replace_task(e, TAKE_PTR(out.task));
		resume_outcome_release(&out);
		return;
	}
	_cleanup_error_ struct rv_error *uerr = NULL;
	struct task *fresh = NULL;
	if (task_store_update(o->store, e->id, unqueue_fn, NULL, &fresh, &uerr) == 0) {
		task_free(out.task);
		out.task = fresh;
	} else {
		task_free(fresh);
	}
	if (sn)
		sn->engine_failures = 0;
	if (r < 0 || out.result != RESUME_OK) {
		emit(s, SUPERVISE_QUEUE, e->id, "task %lld: could not start it from the queue: %s",
		     (long long)e->id, rv_error_msg(err));
	} else {
		emit(s, SUPERVISE_QUEUE, e->id, "task %lld: started from the queue%s%s%s: container %.12s",
		     (long long)e->id, probe ? " (probe for " : "", probe ? label : "",
		     probe ? ")" : "", out.container_id ? out.container_id : "?");
	}
	if (r == 0)
		replace_task(e, TAKE_PTR(out.task));
	resume_outcome_release(&out);
}

/* Anything for the queue to do?  Without gates, queued tasks or retries it
 * takes no lock and reads no file. */
static bool queue_wanted(const struct sv *s)
{
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task *t = s->list.entries[i].task;
		if (t && (retry_eligible(t) || admit_queued(t)))
			return true;
	}
	_cleanup_free_ char *path = fileio_join(s->o->store->dir, GATE_FILE);
	return fileio_exists(path);
}

static void queue_pass(struct sv *s)
{
	const struct supervise_opts *o = s->o;
	if (!queue_wanted(s))
		return;
	_cleanup_error_ struct rv_error *err = NULL;
	struct gate_policy gp;
	if (gate_policy_init(&gp, env_get, &err) < 0) {
		warn_task(s, 0, rv_error_msg(err));
		gate_policy_init(&gp, NULL, NULL);
		rv_error_free(TAKE_PTR(err));
	}
	_cleanup_close_ int fd = -1;
	if (gate_queue_lock(o->store->dir, &fd, &err) < 0) {
		warn_task(s, 0, rv_error_msg(err));
		return;
	}
	struct gate_table gates = {0};
	if (gate_table_load(o->store->dir, &gates, &err) < 0) {
		warn_task(s, 0, rv_error_msg(err));
		rv_error_free(TAKE_PTR(err));
	}
	bool gates_changed = false;
	int64_t now = timeutil_now_ms();
	size_t n = 0;
	bool windows_on[WINDOWS_MAX];
	windows_active_now(&o->project->settings.pause_windows, now, windows_on);
	struct admit_engines eng;
	admit_engine_limits(&o->project->settings, &s->list, &eng);
	struct queue_item *items = xcalloc(s->list.n + 1, sizeof(*items));
	char **keys = xcalloc(s->list.n + 1, sizeof(*keys));
	char **labels = xcalloc(s->list.n + 1, sizeof(*labels));
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task *t = s->list.entries[i].task;
		if (!t)
			continue;
		bool retry = retry_eligible(t);
		if (!retry && (!admit_queued(t) || resume_in_flight(t, NULL)))
			continue;
		/* A pause window covering it starts nothing of it (window_pass
		 * wakes the loop at the window's end). */
		if (window_of(s, windows_on, t))
			continue;
		char *key = NULL, *label = NULL;
		admit_account_of_task(t, &key, &label);
		bool due = true;
		if (retry) {
			/* A limit with a reset time closes the account's gate. */
			int64_t reset = checkpoint_reset_at(o->store, t, now, NULL);
			if (reset > now &&
			    gate_close(&gates, key, label, reset, t->id, task_error(t), now)) {
				gates_changed = true;
				char hhmm[TIMEUTIL_ISO_LEN];
				emit(s, SUPERVISE_GATE, t->id,
				     "%s: limited until %s (task %lld hit the limit); its tasks wait, "
				     "then go one at a time",
				     label, timeutil_format_hhmm(reset, hhmm), (long long)t->id);
			}
			struct retry_decision d;
			retry_decide(t, &o->policy, now, 0, 0, &d);
			struct seen *sn = seen_find(s, t->id);
			if (d.action != RETRY_FIRE && d.action != RETRY_WAIT &&
			    d.action != RETRY_SCHEDULE) {
				free(key);
				free(label);
				continue;
			}
			due = d.action == RETRY_FIRE && sn && sn->due;
		}
		if (!retry) {
			/* a queued start the engine refused waits for its backoff */
			struct seen *qs = seen_find(s, t->id);
			due = !(qs && qs->not_before_ms > now);
			if (!due && (s->next_due_wall == 0 || qs->not_before_ms < s->next_due_wall))
				s->next_due_wall = qs->not_before_ms;
		}
		items[n] = (struct queue_item){.id = t->id, .account = key, .due = due};
		admit_item_engine(&eng, t, &items[n]);
		keys[n] = key;
		labels[n] = label;
		n++;
	}
	/* Gates nobody waits for any more open again. */
	for (size_t g = gates.n; g-- > 0;) {
		size_t waiting = 0;
		for (size_t i = 0; i < n; i++)
			waiting += !strcmp(items[i].account, gates.v[g].account);
		_cleanup_free_ char *label = xstrdup(gates.v[g].label);
		if (gate_expire(&gates, gates.v[g].account, &gp, now, waiting)) {
			gates_changed = true;
			emit(s, SUPERVISE_GATE, 0, "%s: limit reset, nothing waits any more: open",
			     label);
		}
	}
	int max_running = o->project->settings.max_running;
	int running = admit_count_running(&s->list, NULL);
	int64_t wake = queue_plan(items, n, &gates, &gp, max_running, running, now);
	for (size_t i = 0; i < n; i++)
		if (items[i].why == QUEUE_START && gate_find(&gates, items[i].account))
			gates_changed = true;
	if (gates_changed && gate_table_save(o->store->dir, &gates, &err) < 0) {
		warn_task(s, 0, rv_error_msg(err));
		rv_error_free(TAKE_PTR(err));
	}
	for (size_t i = 0; i < n && !s->stop; i++) {
		const struct queue_item *it = &items[i];
		struct task_list_entry *e = entry_find(s, it->id);
		if (!e || !e->task || it->why == QUEUE_NOT_DUE)
			continue;
		const char *label = it->account;
		/* queue_plan sorted the items; each keeps its own key string. */
		for (size_t k = 0; k < n; k++)
			if (keys[k] == it->account)
				label = labels[k];
		const struct gate *g = gate_find(&gates, it->account);
		struct seen *sn = seen_find(s, it->id);
		bool retry = retry_eligible(e->task);
		if (it->why == QUEUE_START) {
			if (sn)
				sn->held[0] = '\0';
			bool given_back = false;
			if (!retry) {
				start_queued(s, e, sn, it->probe, label);
			} else {
				struct retry_decision d;
				retry_decide(e->task, &o->policy, timeutil_now_ms(), 0, 0, &d);
				given_back = d.action == RETRY_FIRE && sn && fire(s, e, sn, &d);
			}
			/* The stagger counts from when the container started, not
			 * from the plan: a slow start must not eat the next wait. */
			struct gate *gm = gate_find(&gates, it->account);
			if (!gm)
				continue;
			if (it->probe && gm->probe_task == it->id)
				gm->probe_at_ms = given_back ? 0 : timeutil_now_ms();
			else if (!it->probe && !given_back)
				gm->last_release_ms = timeutil_now_ms();
			/* A probe that never reached the provider: the next one
			 * probes. */
			if (given_back && it->probe)
				gm->probe_task = 0;
			if (gate_table_save(o->store->dir, &gates, &err) < 0) {
				warn_task(s, 0, rv_error_msg(err));
				rv_error_free(TAKE_PTR(err));
			}
			continue;
		}
		const char *kind = NULL;
		task_get_engine(e->task, &kind, NULL);
		_cleanup_free_ char *msg =
			it->why != QUEUE_SLOTS ? queue_why_text(it->why, g ? g->label : label, it->at_ms, 0)
			: it->group_full       ? queue_why_text(it->why, kind, 0, it->group_max)
					       : queue_why_text(it->why, NULL, 0, max_running);
		if (!retry) {
			if (admit_set_queued(o->store, it->id, it, msg, &err) < 0) {
				warn_task(s, it->id, rv_error_msg(err));
				rv_error_free(TAKE_PTR(err));
			}
			continue;
		}
		if (sn && strncmp(sn->held, msg, sizeof(sn->held) - 1) != 0) {
			snprintf(sn->held, sizeof(sn->held), "%s", msg);
			emit(s, SUPERVISE_QUEUE, it->id, "task %lld: auto-retry waits: %s",
			     (long long)it->id, msg);
		}
	}
	if (wake > 0 && (s->next_due_wall == 0 || wake < s->next_due_wall))
		s->next_due_wall = wake;
	for (size_t i = 0; i < n; i++) {
		free(keys[i]);
		free(labels[i]);
	}
	free(keys);
	free(labels);
	free(items);
	gate_table_release(&gates);
}

/* What this scheduler found scheduled when it took over: retries, gates,
 * the queue - one line each kind, once. */
static void announce_schedule(struct sv *s)
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
		emit(s, SUPERVISE_SCHEDULER, t->id, "scheduled: task %lld: auto-retry %lld at %s",
		     (long long)t->id, (long long)ar.count + 1,
		     timeutil_format_hhmm(ar.next_retry_at_ms, hhmm));
	}
	struct gate_table g = {0};
	(void)gate_table_load(s->o->store->dir, &g, NULL);
	for (size_t i = 0; i < g.n; i++)
		emit(s, SUPERVISE_SCHEDULER, 0, "scheduled: %s: limited until %s", g.v[i].label,
		     timeutil_format_hhmm(g.v[i].until_ms, hhmm));
	emit(s, SUPERVISE_SCHEDULER, 0,
	     "scheduled: %zu auto-retr%s, %zu account gate%s, %zu queued task%s (maxRunning %d, "
	     "stallSeconds %lld)",
	     retries, retries == 1 ? "y" : "ies", g.n, g.n == 1 ? "" : "s", queued,
	     queued == 1 ? "" : "s", s->o->project->settings.max_running,
	     (long long)s->o->project->settings.stall_seconds);
	gate_table_release(&g);
}

/* ---- stalls ---------------------------------------------------------------------- */

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
static int64_t status_time(struct json_object *st, const char *key, int64_t now)
{
	int64_t ms = 0;
	const char *v = st ? jsonutil_get_str(st, key) : NULL;
	if (!v || !timeutil_parse_iso(v, &ms))
		return 0;
	return ms > now ? now : ms;
}

static void stall_pass(struct sv *s)
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
		_cleanup_free_ char *sp =
			task_store_iteration_file(o->store, t->id, task_iterations(t), TASK_FILE_STATUS);
		_cleanup_json_ struct json_object *st = NULL;
		(void)iterfile_read_json(sp, &st, NULL);
		/* Progress: a status change, output seen by the heartbeat, or
		 * the container's start. */
		int64_t updated = status_time(st, "updatedAt", now);
		int64_t output = status_time(st, "outputAt", now);
		int64_t beat = status_time(st, "heartbeatAt", now);
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
		struct task *fresh = NULL;
		int r = task_store_update(o->store, t->id, stall_fn, &c, &fresh, &err);
		if (r < 0) {
			warn_task(s, t->id, rv_error_msg(err));
			continue;
		}
		if (r == TASK_UPDATE_SKIP) {
			task_free(fresh);
			continue;
		}
		replace_task(e, fresh);
		t = e->task;
		cid = task_container_id(t);
		struct engine *eng = NULL;
		if (launch_engine_for_task(t, &eng, &err) == 0)
			r = engine_container_kill(eng, cid, SIGTERM, &err);
		else
			r = -1;
		engine_free(eng);
		char a[TIMEUTIL_ISO_LEN], b[TIMEUTIL_ISO_LEN];
		const char *how = beat > progress ? "the runner is alive (heartbeat at %s), its step "
						    "printed nothing since %s"
						  : "no heartbeat from the runner since %s%s";
		_cleanup_free_ char *why = beat > progress
						   ? xasprintf(how, timeutil_format_hhmm(beat, a),
							       timeutil_format_hhmm(progress, b))
						   : xasprintf(how, timeutil_format_hhmm(progress, a), "");
		if (r < 0)
			emit(s, SUPERVISE_STALL, t->id,
			     "task %lld: no progress for %llds (%s); could not send SIGTERM: %s",
			     (long long)t->id, (long long)((now - progress) / 1000), why,
			     rv_error_msg(err));
		else
			emit(s, SUPERVISE_STALL, t->id,
			     "task %lld: no progress for %llds (%s): SIGTERM sent, it pauses as "
			     "'stalled' and is retried",
			     (long long)t->id, (long long)((now - progress) / 1000), why);
	}
}

/* ---- engine streams ---------------------------------------------------------- */

static int on_engine_event(void *userdata, const struct engine_event *ev, struct rv_error **err)
{
	(void)err;
	struct sv *s = userdata;
	if (strcmp(ev->action, "die") != 0 && strcmp(ev->action, "destroy") != 0 &&
	    strcmp(ev->action, "remove") != 0)
		return 0;
	s->engine_event = true;
	if (!ev->id || !*ev->id)
		return 0;
	for (size_t i = 0; i < s->n_exits; i++)
		if (!strcmp(s->exits[i].container_id, ev->id))
			return 0;
	if (s->n_exits == SUPERVISE_MAX_PENDING_EXITS) {
		free(s->exits[0].container_id);
		memmove(s->exits, s->exits + 1, (s->n_exits - 1) * sizeof(s->exits[0]));
		s->n_exits--;
	}
	s->exits[s->n_exits++] = (struct exit_seen){.container_id = xstrdup(ev->id),
						    .since_mono = timeutil_mono_ms()};
	s->recheck_delay_ms = SUPERVISE_RECHECK_FIRST_MS;
	return 0;
}

/* After a full pass: drop the exits whose task is settled (or unknown) and
 * plan another look at the others. */
static void exits_check(struct sv *s)
{
	int64_t mono = timeutil_mono_ms();
	size_t k = 0;
	for (size_t i = 0; i < s->n_exits; i++) {
		bool pending = false;
		for (size_t j = 0; j < s->list.n && !pending; j++) {
			const struct task *t = s->list.entries[j].task;
			const char *cid = t ? task_container_id(t) : NULL;
			pending = cid && task_status_is_running(task_status(t)) &&
				  !strcmp(cid, s->exits[i].container_id);
		}
		if (pending && mono - s->exits[i].since_mono < SUPERVISE_RECHECK_FOR_MS)
			s->exits[k++] = s->exits[i];
		else
			free(s->exits[i].container_id);
	}
	s->n_exits = k;
	if (k == 0) {
		s->next_recheck_mono = 0;
		return;
	}
	s->next_recheck_mono = mono + s->recheck_delay_ms;
	s->recheck_delay_ms *= 2;
}

static void stream_close(struct stream *st)
{
	st->ev = engine_events_free(st->ev);
	st->engine = engine_free(st->engine);
}

static void stream_open(struct sv *s, struct stream *st)
{
	_cleanup_error_ struct rv_error *err = NULL;
	_cleanup_free_ char *label = xasprintf("rover.store=%s", s->o->store->dir);
	const char *const actions[] = {"die", "destroy", "remove", NULL};
	const char *const labels[] = {label, NULL};
	struct engine_events_filter f = {.actions = actions, .labels = labels};
	/* Only an endpoint the user configured: uri comes from a record. */
	int r = engine_open_recorded(st->task_id, st->uri, &st->engine, &err);
	if (r == 0)
		r = engine_events_open(st->engine, &f, on_engine_event, s, &st->ev, &err);
	if (r < 0) {
		stream_close(st);
		st->failures++;
		st->retry_mono = timeutil_mono_ms() + supervise_reconnect_delay_ms(st->failures);
		if (st->failures == 1)
			emit(s, SUPERVISE_ENGINE, 0,
			     "engine %s: no event stream (%s); retrying, with full checks every %ds",
			     st->uri, rv_error_msg(err), SUPERVISE_FALLBACK_MS / 1000);
		return;
	}
	if (st->failures > 0)
		emit(s, SUPERVISE_ENGINE, 0, "engine %s: event stream is back", st->uri);
	st->failures = 0;
	/* Anything that exited before the stream existed is found by listing. */
	s->need_full = true;
}

static void stream_lost(struct sv *s, struct stream *st, const struct rv_error *err)
{
	stream_close(st);
	st->failures++;
	st->retry_mono = timeutil_mono_ms() + supervise_reconnect_delay_ms(st->failures);
	emit(s, SUPERVISE_ENGINE, 0, "engine %s: event stream lost (%s); reconnecting", st->uri,
	     rv_error_msg(err));
	s->need_full = true;
}

/* Open streams for endpoints newly in use; mark the others unwanted. */
static void streams_sync(struct sv *s)
{
	for (size_t i = 0; i < s->n_streams; i++)
		s->streams[i].wanted = false;
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task *t = s->list.entries[i].task;
		const char *uri = NULL;
		if (!t || !(task_status_is_running(task_status(t)) || retry_eligible(t)) ||
		    !task_get_engine(t, NULL, &uri) ||
		    !uri || !*uri)
			continue;
		struct stream *st = NULL;
		for (size_t k = 0; k < s->n_streams && !st; k++)
			if (!strcmp(s->streams[k].uri, uri))
				st = &s->streams[k];
		if (!st) {
			s->streams = xrealloc(s->streams, (s->n_streams + 1) * sizeof(*s->streams));
			st = &s->streams[s->n_streams++];
			*st = (struct stream){.uri = xstrdup(uri), .task_id = (long long)t->id};
			stream_open(s, st);
		}
		st->wanted = true;
	}
	/* Unused endpoints are dropped, so a dead old engine is not retried
	 * for ever. */
	size_t k = 0;
	for (size_t i = 0; i < s->n_streams; i++) {
		if (s->streams[i].wanted) {
			s->streams[k++] = s->streams[i];
		} else {
			stream_close(&s->streams[i]);
			free(s->streams[i].uri);
		}
	}
	s->n_streams = k;
}

static bool streams_all_up(const struct sv *s)
{
	for (size_t i = 0; i < s->n_streams; i++)
		if (!s->streams[i].ev)
			return false;
	return true;
}

/* ---- a pass -------------------------------------------------------------------- */

static void view(struct sv *s)
{
	if (!s->o->on_view)
		return;
	struct supervise_view v = {.tasks = &s->list,
				   .scheduler = s->lock_fd >= 0,
				   .engine_ok = streams_all_up(s),
				   .now_ms = timeutil_now_ms()};
	_cleanup_free_ char *role = NULL;
	if (!v.scheduler && supervise_scheduler_info(s->o->store->dir, &v.scheduler_pid, &role))
		v.scheduler_role = role;
	s->o->on_view(s->o->userdata, &v);
	s->next_view_mono = s->o->view_interval_ms > 0
				    ? timeutil_mono_ms() + s->o->view_interval_ms
				    : 0;
}

static void try_lock(struct sv *s)
{
	if (s->lock_fd >= 0 || s->o->no_engine)
		return;
	s->next_lock_mono = timeutil_mono_ms() + SUPERVISE_LOCK_RETRY_MS;
	_cleanup_error_ struct rv_error *err = NULL;
	if (supervise_lock_try(s->o->store->dir, &s->lock_fd, &err) < 0) {
		warn_task(s, 0, rv_error_msg(err));
		return;
	}
	if (s->lock_fd >= 0) {
		write_info(s->o, s->draining);
		s->announced_other = false;
		s->announced_schedule = false;
		emit(s, SUPERVISE_SCHEDULER, 0,
		     "this process schedules auto-retries for %s (up to %d attempts per task)",
		     s->o->store->dir, s->o->policy.max);
		s->need_full = true;
		return;
	}
	if (!s->announced_other) {
		s->announced_other = true;
		pid_t pid = 0;
		_cleanup_free_ char *role = NULL;
		if (supervise_scheduler_info(s->o->store->dir, &pid, &role))
			emit(s, SUPERVISE_SCHEDULER, 0,
			     "auto-retries are scheduled by process %d (rover %s); this one only "
			     "watches",
			     (int)pid, role ? role : "supervise");
		else
			emit(s, SUPERVISE_SCHEDULER, 0,
			     "auto-retries are scheduled by another process; this one only watches");
	}
}

static void on_hook(void *userdata, int64_t task_id, const char *msg)
{
	struct sv *s = userdata;
	struct supervise_event ev = {.kind = SUPERVISE_HOOK, .task_id = task_id, .message = msg};
	emit_ev(s, &ev);
}

static void pass(struct sv *s, bool full)
{
	const struct supervise_opts *o = s->o;
	s->need_status = false;
	if (full) {
		s->need_full = false;
		s->next_full_mono = timeutil_mono_ms() +
				    (streams_all_up(s) && s->watch ? SUPERVISE_FULL_INTERVAL_MS
								   : SUPERVISE_FALLBACK_MS);
	}
	task_list_release(&s->list);
	_cleanup_error_ struct rv_error *err = NULL;
	if (task_store_list(o->store, &s->list, &err) < 0) {
		warn_task(s, 0, rv_error_msg(err));
		return;
	}
	if (full && !o->no_engine && s->lock_fd >= 0 && recover_pass(s)) {
		task_list_release(&s->list);
		if (task_store_list(o->store, &s->list, &err) < 0) {
			warn_task(s, 0, rv_error_msg(err));
			return;
		}
	}
	observe_tasks(o->store, &s->list, full && !o->no_engine ? 0 : OBSERVE_STATUS_ONLY,
		      on_observe, s);
	diff_and_carry(s);
	flush_warnings(s);
	if (full)
		exits_check(s);
	if (s->draining && !o->no_engine) {
		drain_pass(s);
	} else if (s->lock_fd >= 0 && !o->no_engine) {
		schedule_pass(s);
		window_pass(s); /* after schedule_pass, which resets next_due_wall */
		queue_pass(s);
		stall_pass(s);
		announce_schedule(s);
	}
	/* The scheduler alone runs hooks: one process, so each fires once. */
	if (s->lock_fd >= 0 && o->hooks)
		hooks_dispatch(o->store, o->hooks, on_hook, s);
	if (!o->no_engine)
		streams_sync(s);
	view(s);
}

/* ---- the loop -------------------------------------------------------------------- */

static int64_t min_pos(int64_t a, int64_t b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/* Milliseconds until the nearest deadline (-1: none). */
static int timeout_ms(struct sv *s)
{
	if (s->need_full || s->need_status || s->engine_event)
		return 0;
	int64_t mono = timeutil_mono_ms(), wall = timeutil_now_ms();
	int64_t d = 0;
	d = min_pos(d, s->next_full_mono - mono <= 0 ? 1 : s->next_full_mono - mono);
	if (s->next_view_mono > 0)
		d = min_pos(d, s->next_view_mono - mono <= 0 ? 1 : s->next_view_mono - mono);
	if (s->lock_fd < 0 && !s->o->no_engine)
		d = min_pos(d, s->next_lock_mono - mono <= 0 ? 1 : s->next_lock_mono - mono);
	if (s->next_recheck_mono > 0)
		d = min_pos(d, s->next_recheck_mono - mono <= 0 ? 1 : s->next_recheck_mono - mono);
	if (s->next_due_wall > 0 && s->lock_fd >= 0)
		d = min_pos(d, s->next_due_wall - wall <= 0 ? 1 : s->next_due_wall - wall);
	for (size_t i = 0; i < s->n_streams; i++)
		if (!s->streams[i].ev)
			d = min_pos(d, s->streams[i].retry_mono - mono <= 0
					       ? 1
					       : s->streams[i].retry_mono - mono);
	if (d <= 0)
		return -1;
	return d > INT_MAX ? INT_MAX : (int)d;
}

static void start_draining(struct sv *s)
{
	s->draining = true;
	s->need_full = true;
	s->next_due_wall = 0;
	if (s->lock_fd >= 0)
		write_info(s->o, true);
	emit(s, SUPERVISE_DRAIN, 0,
	     "drain mode: running tasks pause after their current step; nothing new starts, "
	     "no auto-retry fires (rover resume --all brings them back)");
}

static void handle_signal(struct sv *s)
{
	struct signalfd_siginfo si;
	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			s->stop = true;
		else if (si.ssi_signo == SIGUSR1 && !s->draining)
			start_draining(s);
	}
}

/* Wait for the next thing to do. */
static void wait_once(struct sv *s)
{
	struct pollfd fds[2] = {{.fd = s->sigfd, .events = POLLIN}};
	unsigned n = 1;
	if (s->watch)
		fds[n++] = (struct pollfd){.fd = watch_fd(s->watch), .events = POLLIN};
	int t = timeout_ms(s);
	struct stream *first = NULL;
	size_t up = 0;
	for (size_t i = 0; i < s->n_streams; i++)
		if (s->streams[i].ev) {
			up++;
			if (!first)
				first = &s->streams[i];
		}
	if (up > 1 && (t < 0 || t > 100))
		t = 100;
	if (first) {
		_cleanup_error_ struct rv_error *err = NULL;
		int r = engine_events_poll(first->ev, fds, n, t, &err);
		if (r < 0)
			stream_lost(s, first, err);
		for (size_t i = 0; i < s->n_streams; i++) {
			struct stream *st = &s->streams[i];
			if (st == first || !st->ev)
				continue;
			_cleanup_error_ struct rv_error *e2 = NULL;
			if (engine_events_poll(st->ev, NULL, 0, 0, &e2) < 0)
				stream_lost(s, st, e2);
		}
	} else {
		if (poll(fds, n, t) < 0 && errno != EINTR)
			fds[0].revents = fds[1].revents = 0;
	}
	if (fds[0].revents & POLLIN)
		handle_signal(s);
	if (s->watch && (fds[1].revents & POLLIN)) {
		unsigned f = watch_drain(s->watch);
		if (f & WATCH_OVERFLOW)
			s->need_full = true;
		if (f & WATCH_CHANGED)
			s->need_status = true;
		if (f & WATCH_FAILED) {
			emit(s, SUPERVISE_WARNING, 0,
			     "file watch stopped; checking the status files every %ds",
			     SUPERVISE_FALLBACK_MS / 1000);
			s->watch = watch_stop(s->watch);
		}
	}
}

static void run_due(struct sv *s)
{
	int64_t mono = timeutil_mono_ms(), wall = timeutil_now_ms();
	for (size_t i = 0; i < s->n_streams; i++)
		if (!s->streams[i].ev && s->streams[i].retry_mono <= mono)
			stream_open(s, &s->streams[i]);
	if (s->lock_fd < 0 && s->next_lock_mono <= mono)
		try_lock(s);
	if (s->engine_event) {
		s->engine_event = false;
		s->need_full = true;
	}
	if (s->next_full_mono <= mono ||
	    (s->next_recheck_mono > 0 && s->next_recheck_mono <= mono))
		s->need_full = true;
	if (s->lock_fd >= 0 && s->next_due_wall > 0 && s->next_due_wall <= wall)
		s->need_status = true;
	if (s->next_view_mono > 0 && s->next_view_mono <= mono)
		s->need_status = true;
	if (s->need_full)
		pass(s, true);
	else if (s->need_status)
		pass(s, false);
}

int supervise_run(const struct supervise_opts *o, struct rv_error **err)
{
	struct sv s = {.o = o, .sigfd = -1, .lock_fd = -1, .first_pass = true, .need_full = true};
	int r = fileio_mkdir_p(o->store->tasks_dir, 0755, err);
	if (r < 0)
		return r;
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1); /* drain mode */
	/* Blocked before the watch thread starts, so only the signalfd gets them. */
	if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
		return rv_error_errno(err, errno, "cannot block signals");
	s.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.sigfd < 0) {
		r = rv_error_errno(err, errno, "cannot create a signalfd");
		sigprocmask(SIG_SETMASK, &old, NULL);
		return r;
	}
	_cleanup_error_ struct rv_error *werr = NULL;
	if (watch_start(o->store->tasks_dir, &s.watch, &werr) < 0)
		emit(&s, SUPERVISE_WARNING, 0, "no file watch (%s); checking the status files every %ds",
		     rv_error_msg(werr), SUPERVISE_FALLBACK_MS / 1000);
	emit(&s, SUPERVISE_STARTED, 0, "rover %s: watching %s (pid %d)",
	     o->role ? o->role : "supervise", o->store->dir, (int)getpid());
	try_lock(&s);
	if (o->drain)
		start_draining(&s);
	while (!s.stop) {
		run_due(&s);
		if (s.stop)
			break;
		wait_once(&s);
	}
	emit(&s, SUPERVISE_STOPPING, 0, "rover %s: stopping", o->role ? o->role : "supervise");
	if (s.lock_fd >= 0) {
		pid_t pid = 0;
		if (supervise_scheduler_info(o->store->dir, &pid, NULL) && pid == getpid()) {
			_cleanup_free_ char *info = fileio_join(o->store->dir, SUPERVISE_INFO_FILE);
			unlink(info);
		}
		close(s.lock_fd);
	}
	for (size_t i = 0; i < s.n_streams; i++) {
		stream_close(&s.streams[i]);
		free(s.streams[i].uri);
	}
	free(s.streams);
	seen_free_all(s.seen, s.n_seen);
	for (size_t i = 0; i < s.n_exits; i++)
		free(s.exits[i].container_id);
	flush_warnings(&s);
	free(s.last_warning);
	task_list_release(&s.list);
	s.watch = watch_stop(s.watch);
	close(s.sigfd);
	/* Signals that arrived meanwhile stay pending and would fire on
	 * unblocking; they were handled, so drop them. */
	struct timespec zero = {0, 0};
	while (sigtimedwait(&mask, NULL, &zero) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}
