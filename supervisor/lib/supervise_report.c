/* supervise_report.c - events and the listing for the loop's caller; see
 * supervise_report.h. */
#define _GNU_SOURCE
#include "supervise_report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/supervise_lock.h"
#include "supervisor/lib/supervise_streams.h"

void sv_emit(struct sv *s, enum supervise_event_kind kind, int64_t id, const char *fmt, ...)
{
	if (!s->o->on_event)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	struct supervise_event ev = {.kind = kind,
				     .time_ms = timeutil_now_ms(),
				     .task_id = id,
				     .message = msg ? msg : ""};
	s->o->on_event(s->o->userdata, &ev);
}

void sv_emit_ev(struct sv *s, struct supervise_event *ev)
{
	if (!s->o->on_event)
		return;
	ev->time_ms = timeutil_now_ms();
	s->o->on_event(s->o->userdata, ev);
}

struct seen *sv_seen_find(struct sv *s, int64_t id)
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

void sv_seen_free_all(struct seen *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].last_warning);
	free(v);
}

void sv_warn(struct sv *s, int64_t id, const char *msg)
{
	struct seen *e = id > 0 ? sv_seen_find(s, id) : NULL;
	char **last = e ? &e->last_warning : id <= 0 ? &s->last_warning : NULL;
	if (last && *last && !strcmp(*last, msg))
		return;
	if (last) {
		free(*last);
		*last = xstrdup(msg);
	}
	struct supervise_event ev = {.kind = SUPERVISE_WARNING, .task_id = id, .message = msg};
	sv_emit_ev(s, &ev);
}

const char *sv_provider_of(const struct task *t)
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
					 from && *from ? from : "new", to, reason,
					 sv_provider_of(t), error ? ": " : "", error ? error : "");
		return xasprintf("task %lld: %s -> %s (%s)%s%s", (long long)t->id,
				 from && *from ? from : "new", to, reason ? reason : "paused",
				 error ? ": " : "", error ? error : "");
	}
	if (s == TASK_FAILED)
		return xasprintf("task %lld: %s -> %s%s%s", (long long)t->id,
				 from && *from ? from : "new", to, error ? ": " : "",
				 error ? error : "");
	return xasprintf("task %lld: %s -> %s", (long long)t->id, from && *from ? from : "new", to);
}

/* observe's reports arrive before the status diff; a "marked as FAILED" is a
 * status change the diff reports itself, so they wait until then. */
void sv_report_on_observe(void *userdata, const char *level, int64_t id, const char *msg)
{
	struct sv *s = userdata;
	if (strcmp(level, "warn") != 0)
		return;
	s->warnings = xrealloc(s->warnings, (s->n_warnings + 1) * sizeof(*s->warnings));
	s->warnings[s->n_warnings++] = (struct pending_warning){.id = id, .msg = xstrdup(msg)};
}

void sv_report_flush_warnings(struct sv *s)
{
	for (size_t i = 0; i < s->n_warnings; i++) {
		struct seen *e = sv_seen_find(s, s->warnings[i].id);
		if (!e || !e->changed)
			sv_warn(s, s->warnings[i].id, s->warnings[i].msg);
		free(s->warnings[i].msg);
	}
	free(s->warnings);
	s->warnings = NULL;
	s->n_warnings = 0;
}

static void emit_removed(struct sv *s, const struct seen *old)
{
	if (s->first_pass)
		return;
	_cleanup_free_ char *m = xasprintf("task %lld: removed", (long long)old->id);
	struct supervise_event ev = {.kind = SUPERVISE_STATUS,
				     .task_id = old->id,
				     .from = task_status_name(old->status),
				     .to = "",
				     .message = m};
	sv_emit_ev(s, &ev);
}

/* Compare the status of e with what cur remembers; report and remember. */
static void diff_one(struct sv *s, struct seen *cur, const struct task_list_entry *e)
{
	cur->changed = false;
	if (!e->task)
		return;
	enum task_status st = task_status(e->task);
	if (!s->first_pass && cur->status != st) {
		cur->changed = true;
		const char *from =
			cur->status == TASK__STATUS_MAX ? "" : task_status_name(cur->status);
		_cleanup_free_ char *m = supervise_status_message(e->task, from);
		struct supervise_event ev = {.kind = SUPERVISE_STATUS,
					     .task_id = e->id,
					     .from = from,
					     .to = task_status_name(st),
					     .message = m};
		sv_emit_ev(s, &ev);
	}
	cur->status = st;
}

/* Whether the seen array has exactly the ids of the listing. */
static bool same_ids(const struct sv *s)
{
	if (s->n_seen != s->list.n)
		return false;
	for (size_t i = 0; i < s->n_seen; i++)
		if (s->seen[i].id != s->list.entries[i].id)
			return false;
	return true;
}

/* Report what changed since the last pass and carry the per-task state
 * over (both lists are sorted by id).  Only the entries at focus (indexes
 * into s->list, ascending; NULL: all) may have changed. */
void sv_report_diff(struct sv *s, const size_t *focus, size_t n_focus)
{
	if (focus && same_ids(s)) {
		/* The usual pass: nothing came or went, the seen array stays. */
		for (size_t i = 0; i < s->n_seen; i++)
			s->seen[i].changed = false;
		for (size_t k = 0; k < n_focus; k++)
			diff_one(s, &s->seen[focus[k]], &s->list.entries[focus[k]]);
		s->first_pass = false;
		return;
	}
	struct seen *next = xcalloc(s->list.n ? s->list.n : 1, sizeof(*next));
	size_t n = 0, j = 0, k = 0;
	for (size_t i = 0; i < s->list.n; i++) {
		const struct task_list_entry *e = &s->list.entries[i];
		while (j < s->n_seen && s->seen[j].id < e->id) {
			emit_removed(s, &s->seen[j]);
			free(s->seen[j].last_warning);
			j++;
		}
		struct seen *old = j < s->n_seen && s->seen[j].id == e->id ? &s->seen[j++] : NULL;
		struct seen *cur = &next[n++];
		if (old)
			*cur = *old; /* takes last_warning */
		else
			*cur = (struct seen){.id = e->id, .status = TASK__STATUS_MAX};
		while (focus && k < n_focus && focus[k] < i)
			k++;
		if (!focus || !old || (k < n_focus && focus[k] == i))
			diff_one(s, cur, e);
		else
			cur->changed = false;
	}
	for (; j < s->n_seen; j++) {
		emit_removed(s, &s->seen[j]);
		free(s->seen[j].last_warning);
	}
	free(s->seen);
	s->seen = next;
	s->n_seen = n;
	s->first_pass = false;
}

void sv_report_view(struct sv *s)
{
	if (!s->o->on_view)
		return;
	struct supervise_view v = {.tasks = &s->list,
				   .scheduler = s->lock_fd >= 0,
				   .engine_ok = sv_streams_all_up(s),
				   .now_ms = timeutil_now_ms()};
	_cleanup_free_ char *role = NULL;
	if (!v.scheduler && supervise_scheduler_info(s->o->store->dir, &v.scheduler_pid, &role))
		v.scheduler_role = role;
	s->o->on_view(s->o->userdata, &v);
	s->next_view_mono =
		s->o->view_interval_ms > 0 ? timeutil_mono_ms() + s->o->view_interval_ms : 0;
}

void sv_report_on_hook(void *userdata, int64_t task_id, const char *msg)
{
	struct sv *s = userdata;
	struct supervise_event ev = {.kind = SUPERVISE_HOOK, .task_id = task_id, .message = msg};
	sv_emit_ev(s, &ev);
}
