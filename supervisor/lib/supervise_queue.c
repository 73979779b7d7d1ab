/* supervise_queue.c - account gates, maxRunning and queued starts; see
 * supervise_queue.h. */
#define _GNU_SOURCE
#include "supervise_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "supervisor/lib/admit.h"
#include "supervisor/lib/gate.h"
#include "supervisor/lib/resume.h"
#include "supervisor/lib/supervise_pauses.h"
#include "supervisor/lib/supervise_report.h"
#include "supervisor/lib/supervise_retry.h"

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
		sv_emit(s, SUPERVISE_QUEUE, e->id,
			"task %lld: the engine is unreachable (%s); it stays queued",
			(long long)e->id, rv_error_msg(err));
		sv_replace_task(e, TAKE_PTR(out.task));
		resume_outcome_release(&out);
		return;
	}
	_cleanup_error_ struct rv_error *uerr = NULL;
	_cleanup_task_ struct task *fresh = NULL;
	if (task_store_update(o->store, e->id, unqueue_fn, NULL, &fresh, &uerr) == 0) {
		task_free(out.task);
		out.task = TAKE_PTR(fresh);
	}
	if (sn)
		sn->engine_failures = 0;
	if (r < 0 || out.result != RESUME_OK) {
		sv_emit(s, SUPERVISE_QUEUE, e->id,
			"task %lld: could not start it from the queue: %s", (long long)e->id,
			rv_error_msg(err));
	} else {
		sv_emit(s, SUPERVISE_QUEUE, e->id,
			"task %lld: started from the queue%s%s%s: container %.12s",
			(long long)e->id, probe ? " (probe for " : "", probe ? label : "",
			probe ? ")" : "", out.container_id ? out.container_id : "?");
	}
	if (r == 0)
		sv_replace_task(e, TAKE_PTR(out.task));
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

void sv_queue_pass(struct sv *s)
{
	const struct supervise_opts *o = s->o;
	if (!queue_wanted(s))
		return;
	_cleanup_error_ struct rv_error *err = NULL;
	struct gate_policy gp;
	if (gate_policy_init(&gp, env_get, &err) < 0) {
		sv_warn(s, 0, rv_error_msg(err));
		gate_policy_init(&gp, NULL, NULL);
		rv_error_free(TAKE_PTR(err));
	}
	_cleanup_close_ int fd = -1;
	if (gate_queue_lock(o->store->dir, &fd, &err) < 0) {
		sv_warn(s, 0, rv_error_msg(err));
		return;
	}
	struct gate_table gates = {0};
	if (gate_table_load(o->store->dir, &gates, &err) < 0) {
		sv_warn(s, 0, rv_error_msg(err));
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
		if (sv_window_of(s, windows_on, t))
			continue;
		char *key = NULL, *label = NULL;
		admit_account_of_task(t, &key, &label);
		bool due = true;
		if (retry) {
			/* A limit with a reset time closes the account's gate. */
			int64_t reset = sv_checkpoint_reset_at(o->store, t, now, NULL);
			if (reset > now &&
			    gate_close(&gates, key, label, reset, t->id, task_error(t), now)) {
				gates_changed = true;
				char hhmm[TIMEUTIL_ISO_LEN];
				sv_emit(s, SUPERVISE_GATE, t->id,
					"%s: limited until %s (task %lld hit the limit); its tasks wait, "
					"then go one at a time",
					label, timeutil_format_hhmm(reset, hhmm), (long long)t->id);
			}
			struct retry_decision d;
			retry_decide(t, &o->policy, now, 0, 0, &d);
			struct seen *sn = sv_seen_find(s, t->id);
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
			struct seen *qs = sv_seen_find(s, t->id);
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
			sv_emit(s, SUPERVISE_GATE, 0,
				"%s: limit reset, nothing waits any more: open", label);
		}
	}
	int max_running = o->project->settings.max_running;
	int running = admit_count_running(&s->list, NULL);
	int64_t wake = queue_plan(items, n, &gates, &gp, max_running, running, now);
	for (size_t i = 0; i < n; i++)
		if (items[i].why == QUEUE_START && gate_find(&gates, items[i].account))
			gates_changed = true;
	if (gates_changed && gate_table_save(o->store->dir, &gates, &err) < 0) {
		sv_warn(s, 0, rv_error_msg(err));
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
		struct seen *sn = sv_seen_find(s, it->id);
		bool retry = retry_eligible(e->task);
		if (it->why == QUEUE_START) {
			/* Past this turn's budget: planned again in the next pass. */
			if (!sv_resume_take(s))
				continue;
			if (sn)
				sn->held[0] = '\0';
			bool given_back = false;
			if (!retry) {
				start_queued(s, e, sn, it->probe, label);
			} else {
				struct retry_decision d;
				retry_decide(e->task, &o->policy, timeutil_now_ms(), 0, 0, &d);
				given_back =
					d.action == RETRY_FIRE && sn && sv_retry_fire(s, e, sn, &d);
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
				sv_warn(s, 0, rv_error_msg(err));
				rv_error_free(TAKE_PTR(err));
			}
			continue;
		}
		const char *kind = NULL;
		task_get_engine(e->task, &kind, NULL);
		_cleanup_free_ char *msg =
			it->why != QUEUE_SLOTS
				? queue_why_text(it->why, g ? g->label : label, it->at_ms, 0)
			: it->group_full ? queue_why_text(it->why, kind, 0, it->group_max)
					 : queue_why_text(it->why, NULL, 0, max_running);
		if (!retry) {
			if (admit_set_queued(o->store, it->id, it, msg, &err) < 0) {
				sv_warn(s, it->id, rv_error_msg(err));
				rv_error_free(TAKE_PTR(err));
			}
			continue;
		}
		if (sn && strncmp(sn->held, msg, sizeof(sn->held) - 1) != 0) {
			snprintf(sn->held, sizeof(sn->held), "%s", msg);
			sv_emit(s, SUPERVISE_QUEUE, it->id, "task %lld: auto-retry waits: %s",
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
