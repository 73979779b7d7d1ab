#define _GNU_SOURCE
#include "taskwait.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/engine_events.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/supervise.h"
#include "supervisor/lib/watch.h"

const char *taskwait_state_name(enum taskwait_state s)
{
	switch (s) {
	case TASKWAIT_RUNNING:
		return "running";
	case TASKWAIT_COMPLETED:
		return "completed";
	case TASKWAIT_PAUSED:
		return "paused";
	case TASKWAIT_FAILED:
		return "failed";
	}
	return "unknown";
}

enum taskwait_state taskwait_classify(const struct task *t, bool scheduler_alive, int retry_max,
				      int64_t now_ms)
{
	switch (task_status(t)) {
	case TASK_IN_PROGRESS:
	case TASK_ITERATING:
		return TASKWAIT_RUNNING;
	case TASK_NEW: {
		const char *e = task_get_str(t, "error");
		int64_t created = 0;
		if (e && *e)
			return TASKWAIT_FAILED;
		if (task_get_time(t, "createdAt", &created) &&
		    now_ms - created >= TASKWAIT_CREATING_MS)
			return TASKWAIT_FAILED;
		return TASKWAIT_RUNNING;
	}
	case TASK_PAUSED: {
		if (!scheduler_alive || !retry_eligible(t))
			return TASKWAIT_PAUSED;
		struct task_auto_retry ar;
		task_get_auto_retry(t, &ar);
		return ar.count < retry_max ? TASKWAIT_RUNNING : TASKWAIT_PAUSED;
	}
	case TASK_COMPLETED:
	case TASK_MERGED:
	case TASK_PUSHED:
		return TASKWAIT_COMPLETED;
	default:
		return TASKWAIT_FAILED;
	}
}

int taskwait_exit_code(const enum taskwait_state *states, size_t n, bool timed_out)
{
	bool running = false, failed = false, paused = false;
	for (size_t i = 0; i < n; i++) {
		running |= states[i] == TASKWAIT_RUNNING;
		failed |= states[i] == TASKWAIT_FAILED;
		paused |= states[i] == TASKWAIT_PAUSED;
	}
	if (running && timed_out)
		return TASKWAIT_EXIT_TIMEOUT;
	if (running) /* not settled and no timeout: the caller's mistake */
		return TASKWAIT_EXIT_ERROR;
	if (failed)
		return TASKWAIT_EXIT_FAILED;
	if (paused)
		return TASKWAIT_EXIT_PAUSED;
	return TASKWAIT_EXIT_COMPLETED;
}

void taskwait_result_release(struct taskwait_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->tasks && i < r->n; i++)
		task_free(r->tasks[i]);
	free(r->tasks);
	free(r->states);
	*r = (struct taskwait_result){0};
}

/* ---- the loop ------------------------------------------------------------- */

struct stream {
	char *uri;
	struct engine *engine;
	struct engine_events *ev;
};

struct tw {
	const struct taskwait_opts *o;
	struct taskwait_result *res;
	struct stream *streams;
	size_t n_streams;
	bool stream_failed; /* an endpoint without a stream: full passes more often */
	bool container_event;
};

static int on_engine_event(void *userdata, const struct engine_event *ev, struct rv_error **err)
{
	(void)ev;
	(void)err;
	struct tw *w = userdata;
	w->container_event = true;
	return 0;
}

static void stream_drop(struct stream *st)
{
	st->ev = engine_events_free(st->ev);
	st->engine = engine_free(st->engine);
}

/* An event stream for each endpoint a running task uses (opened once;
 * one that failed is tried again at the next full pass). */
static void streams_sync(struct tw *w)
{
	w->stream_failed = false;
	_cleanup_free_ char *label = layout_label(LAYOUT_LABEL_STORE, w->o->store->dir);
	const char *const actions[] = {"die", "destroy", "remove", NULL};
	const char *const labels[] = {label, NULL};
	struct engine_events_filter f = {.actions = actions, .labels = labels};
	for (size_t i = 0; i < w->res->n; i++) {
		const struct task *t = w->res->tasks[i];
		const char *uri = NULL;
		if (w->res->states[i] != TASKWAIT_RUNNING || !task_get_engine(t, NULL, &uri) ||
		    !uri || !*uri)
			continue;
		struct stream *st = NULL;
		for (size_t k = 0; k < w->n_streams && !st; k++)
			if (!strcmp(w->streams[k].uri, uri))
				st = &w->streams[k];
		if (!st) {
			w->streams = xrealloc(w->streams, (w->n_streams + 1) * sizeof(*w->streams));
			st = &w->streams[w->n_streams++];
			*st = (struct stream){.uri = xstrdup(uri)};
		}
		if (st->ev)
			continue;
		/* Only an endpoint the user configured: uri comes from a record. */
		int r = engine_open_recorded((long long)t->id, uri, &st->engine, NULL);
		if (r == 0)
			r = engine_events_open(st->engine, &f, on_engine_event, w, &st->ev, NULL);
		if (r < 0) {
			stream_drop(st);
			w->stream_failed = true;
		}
	}
}

/* Re-read every waited task and observe it; classify.  full: also ask the
 * engine about containers (orphan verdicts). */
static int pass(struct tw *w, bool full, struct rv_error **err)
{
	const struct taskwait_opts *o = w->o;
	pid_t pid = 0;
	_cleanup_free_ char *role = NULL;
	bool scheduler = supervise_scheduler_info(o->store->dir, &pid, &role);
	for (size_t i = 0; i < w->res->n; i++) {
		if (w->res->states[i] != TASKWAIT_RUNNING && w->res->tasks[i])
			continue; /* settled stays settled for this wait */
		struct task *t = NULL;
		int r = task_store_load_id(o->store, o->ids[i], &t, err);
		if (r < 0)
			return r == -ENOENT
				       ? rv_error_wrap(err, "task %lld was deleted while waiting",
						       (long long)o->ids[i])
				       : r;
		if (task_status_is_running(task_status(t)))
			observe_task(o->store, &t, full ? 0 : OBSERVE_STATUS_ONLY, o->report,
				     o->userdata);
		task_free(w->res->tasks[i]);
		w->res->tasks[i] = t;
		w->res->states[i] =
			taskwait_classify(t, scheduler, o->retry_max, timeutil_now_ms());
	}
	return 0;
}

static size_t count_running(const struct taskwait_result *r, size_t *first)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->states[i] == TASKWAIT_RUNNING) {
			if (n == 0)
				*first = i;
			n++;
		}
	return n;
}

static int64_t min_deadline(int64_t a, int64_t b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

int taskwait_run(const struct taskwait_opts *o, struct taskwait_result *ret, struct rv_error **err)
{
	struct taskwait_result res = {
		.tasks = xcalloc(o->n ? o->n : 1, sizeof(*res.tasks)),
		.states = xcalloc(o->n ? o->n : 1, sizeof(*res.states)),
		.n = o->n,
	};
	struct tw w = {.o = o, .res = &res};
	struct watch *wt = NULL;
	int64_t start = timeutil_mono_ms();
	int64_t deadline = o->timeout_ms >= 0 ? start + o->timeout_ms : 0;
	/* The watch first: a change between the first read and the watch
	 * would otherwise be missed. */
	int r = 0;
	for (size_t i = 0; i < o->n && r >= 0; i++) {
		struct task *t = NULL;
		r = task_store_load_id(o->store, o->ids[i], &t, err);
		task_free(t);
	}
	if (r >= 0) {
		/* Without the watch (the inotify limit reached) status files are
		 * still read at every full pass, as often as without a stream. */
		_cleanup_error_ struct rv_error *werr = NULL;
		if (watch_start(o->store->tasks_dir, &wt, &werr) < 0 && o->report) {
			_cleanup_free_ char *msg = xasprintf(
				"cannot watch the task files (%s); checking every %d s instead",
				rv_error_msg(werr), TASKWAIT_FALLBACK_MS / 1000);
			o->report(o->userdata, "warn", 0, msg);
		}
	}
	if (r >= 0)
		r = pass(&w, true, err);
	int64_t next_full = 0, recheck_at = 0, recheck_until = 0, recheck_step = 0;
	int64_t next_progress = o->progress_interval_ms > 0 ? start + o->progress_interval_ms : 0;
	size_t first = 0;
	while (r >= 0 && count_running(&res, &first) > 0) {
		int64_t now = timeutil_mono_ms();
		if (deadline && now >= deadline) {
			res.timed_out = true;
			break;
		}
		if (next_full == 0 || now >= next_full) {
			streams_sync(&w);
			bool fallback = w.stream_failed || w.n_streams == 0 || !wt;
			next_full =
				now + (fallback ? TASKWAIT_FALLBACK_MS : TASKWAIT_FULL_INTERVAL_MS);
		}
		int64_t wake = min_deadline(deadline, next_full);
		wake = min_deadline(wake, recheck_at);
		wake = min_deadline(wake, next_progress);
		int timeout = wake > now ? (int)(wake - now) : 0;
		/* poll() ignores a negative descriptor: no watch, only timeouts */
		struct pollfd fd = {.fd = wt ? watch_fd(wt) : -1, .events = POLLIN};
		struct stream *block_on = NULL;
		for (size_t i = 0; i < w.n_streams && !block_on; i++)
			if (w.streams[i].ev)
				block_on = &w.streams[i];
		/* Several endpoints: block on one, look at the others often. */
		if (w.n_streams > 1 && timeout > 100)
			timeout = 100;
		w.container_event = false;
		if (block_on) {
			_cleanup_error_ struct rv_error *se = NULL;
			if (engine_events_poll(block_on->ev, &fd, 1, timeout, &se) < 0) {
				stream_drop(block_on);
				next_full = 0; /* a full pass now, and the stream again */
			}
		} else {
			fd.revents = 0;
			if (poll(&fd, 1, timeout) < 0 && errno != EINTR) {
				r = rv_error_errno(err, errno, "cannot wait for the task files");
				break;
			}
		}
		for (size_t i = 0; i < w.n_streams; i++) {
			if (!w.streams[i].ev || &w.streams[i] == block_on)
				continue;
			if (engine_events_poll(w.streams[i].ev, NULL, 0, 0, NULL) < 0) {
				stream_drop(&w.streams[i]);
				next_full = 0;
			}
		}
		now = timeutil_mono_ms();
		bool files = false;
		if (wt && (fd.revents & POLLIN)) {
			unsigned flags = watch_drain(wt);
			files = flags & (WATCH_CHANGED | WATCH_OVERFLOW);
			if (flags & WATCH_FAILED) {
				r = rv_error_set(err, EIO, "the watch on '%s' stopped",
						 o->store->tasks_dir);
				break;
			}
		}
		bool full = false;
		if (w.container_event) {
			/* The engine's listing may lag its own event. */
			full = true;
			recheck_step = TASKWAIT_RECHECK_FIRST_MS;
			recheck_at = now + recheck_step;
			recheck_until = now + TASKWAIT_RECHECK_FOR_MS;
		} else if (recheck_at && now >= recheck_at) {
			full = true;
			recheck_step *= 2;
			recheck_at = now + recheck_step < recheck_until ? now + recheck_step : 0;
		}
		if (next_full && now >= next_full)
			full = true;
		if (full || files)
			r = pass(&w, full, err);
		if (next_progress && now >= next_progress && o->on_progress) {
			size_t fi = 0;
			size_t n_run = count_running(&res, &fi);
			struct taskwait_progress p = {
				.running = n_run,
				.n = res.n,
				.first_running = n_run ? res.tasks[fi]->id : 0,
				.status = n_run ? task_status_name(task_status(res.tasks[fi])) : "",
				.elapsed_ms = now - start,
			};
			if (n_run)
				o->on_progress(o->userdata, &p);
			next_progress = now + o->progress_interval_ms;
		}
	}
	for (size_t i = 0; i < w.n_streams; i++) {
		stream_drop(&w.streams[i]);
		free(w.streams[i].uri);
	}
	free(w.streams);
	watch_stop(wt);
	if (r < 0) {
		taskwait_result_release(&res);
		return r;
	}
	*ret = res;
	return 0;
}
