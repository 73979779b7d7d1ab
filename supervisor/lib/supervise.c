/* supervise.c - the supervisor loop: one poll() over every descriptor and
 * the deadlines, and a pass; see supervise.h (the modules it is made of:
 * supervise_state.h). */
#define _GNU_SOURCE
#include "supervise.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/timeutil.h"
#include "supervisor/lib/hooks.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/supervise_lock.h"
#include "supervisor/lib/supervise_pauses.h"
#include "supervisor/lib/supervise_queue.h"
#include "supervisor/lib/supervise_report.h"
#include "supervisor/lib/supervise_retry.h"
#include "supervisor/lib/supervise_state.h"
#include "supervisor/lib/supervise_streams.h"
#include "supervisor/lib/task_live.h"
#include "supervisor/lib/watch.h"

/* Whether a task last seen in status st is visited by every pass
 * (supervise_state.h). */
static bool status_watched(const struct sv *s, enum task_status st)
{
	if (st == TASK_NEW || task_status_is_running(st))
		return true;
	return st == TASK_PAUSED && s->lock_fd >= 0 && !s->o->no_engine;
}

/* Choose the focus of this pass over s->list (sorted by id). */
static void focus_choose(struct sv *s, bool all)
{
	_cleanup_free_ int64_t *ids = NULL;
	size_t n_ids = 0;
	if (s->o->store->live && task_live_take_changed(s->o->store->live, &ids, &n_ids))
		all = true;
	if (!s->o->store->live || s->first_pass || s->focus_scheduler != (s->lock_fd >= 0))
		all = true;
	s->focus_scheduler = s->lock_fd >= 0;
	free(s->focus_at);
	s->focus_at = xmalloc((s->list.n ? s->list.n : 1) * sizeof(*s->focus_at));
	s->n_focus = 0;
	size_t j = 0, k = 0;
	for (size_t i = 0; i < s->list.n; i++) {
		int64_t id = s->list.entries[i].id;
		bool in = all;
		if (!in) {
			while (k < n_ids && ids[k] < id)
				k++;
			in = k < n_ids && ids[k] == id;
		}
		if (!in) {
			while (j < s->n_seen && s->seen[j].id < id)
				j++;
			in = j == s->n_seen || s->seen[j].id != id ||
			     status_watched(s, s->seen[j].status);
		}
		if (in)
			s->focus_at[s->n_focus++] = i;
	}
}

/* Let the steps of the pass see only the focus as s->list; returns the
 * whole listing, for focus_leave. */
static struct task_list focus_enter(struct sv *s)
{
	struct task_list whole = s->list;
	struct task_list f = {.entries = xcalloc(s->n_focus ? s->n_focus : 1, sizeof(*f.entries)),
			      .n = s->n_focus};
	for (size_t k = 0; k < s->n_focus; k++)
		f.entries[k] = whole.entries[s->focus_at[k]];
	s->list = f;
	return whole;
}

/* Back to the whole listing, with the entries the steps replaced. */
static void focus_leave(struct sv *s, struct task_list whole)
{
	for (size_t k = 0; k < s->n_focus; k++)
		whole.entries[s->focus_at[k]] = s->list.entries[k];
	free(s->list.entries);
	s->list = whole;
}

/* s->list up to date: patched from the store's model when it has one
 * (only the tasks re-read change), else read again. */
static bool list_store(struct sv *s)
{
	_cleanup_error_ struct rv_error *err = NULL;
	int r;
	if (s->o->store->live) {
		r = task_live_list_update(s->o->store->live, s->o->store, &s->list, &err);
	} else {
		task_list_release(&s->list);
		r = task_store_list(s->o->store, &s->list, &err);
	}
	if (r < 0) {
		sv_warn(s, 0, rv_error_msg(err));
		return false;
	}
	return true;
}

/* One pass over the focus (supervise_state.h); full: the containers are
 * checked too (observe.h), not only the status files. */
static void pass(struct sv *s, bool full)
{
	const struct supervise_opts *o = s->o;
	int64_t mono = timeutil_mono_ms();
	bool all = s->need_all || mono >= s->next_all_mono;
	s->need_status = false;
	s->need_all = false;
	s->resumes_left = SUPERVISE_MAX_RESUMES_PER_TURN;
	if (full) {
		s->need_full = false;
		s->next_full_mono =
			mono + (sv_streams_all_up(s) && s->watch ? SUPERVISE_FULL_INTERVAL_MS
								 : SUPERVISE_FALLBACK_MS);
	}
	if (all)
		s->next_all_mono = mono + SUPERVISE_ALL_INTERVAL_MS;
	if (!list_store(s)) {
		s->need_all = all;
		return;
	}
	focus_choose(s, all);
	struct task_list whole;
	if (full && !o->no_engine && s->lock_fd >= 0) {
		whole = focus_enter(s);
		bool recovered = sv_retry_recover_pass(s); /* running tasks only */
		focus_leave(s, whole);
		if (recovered) {
			if (!list_store(s)) {
				s->need_all = true;
				return;
			}
			all = true; /* rare: a resume settled; look at everything */
			focus_choose(s, all);
		}
	}
	if (s->n_focus == s->list.n)
		all = true;
	whole = focus_enter(s);
	observe_tasks(o->store, &s->list, full && !o->no_engine ? 0 : OBSERVE_STATUS_ONLY,
		      sv_report_on_observe, s);
	focus_leave(s, whole);
	sv_report_diff(s, all ? NULL : s->focus_at, s->n_focus);
	sv_report_flush_warnings(s);
	whole = focus_enter(s);
	if (full)
		sv_exits_check(s);
	if (s->draining && !o->no_engine) {
		sv_pauses_drain(s);
	} else if (s->lock_fd >= 0 && !o->no_engine) {
		sv_retry_schedule_pass(s);
		sv_pauses_window(s); /* after schedule_pass, which resets next_due_wall */
		sv_queue_pass(s);
		sv_pauses_stall(s);
		if (all)
			sv_retry_announce(s);
	}
	/* The scheduler alone runs hooks: one process, so each fires once. */
	if (s->lock_fd >= 0 && o->hooks)
		hooks_dispatch(o->store, o->hooks, sv_report_on_hook, s);
	if (!o->no_engine)
		sv_streams_sync(s, all);
	focus_leave(s, whole);
	sv_report_view(s);
}

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
	d = min_pos(d, s->next_all_mono - mono <= 0 ? 1 : s->next_all_mono - mono);
	if (s->next_view_mono > 0)
		d = min_pos(d, s->next_view_mono - mono <= 0 ? 1 : s->next_view_mono - mono);
	if (s->lock_fd < 0 && !s->o->no_engine)
		d = min_pos(d, s->next_lock_mono - mono <= 0 ? 1 : s->next_lock_mono - mono);
	if (s->next_recheck_mono > 0)
		d = min_pos(d, s->next_recheck_mono - mono <= 0 ? 1 : s->next_recheck_mono - mono);
	if (s->next_due_wall > 0 && s->lock_fd >= 0)
		d = min_pos(d, s->next_due_wall - wall <= 0 ? 1 : s->next_due_wall - wall);
	int64_t reopen = sv_streams_next_retry(s);
	if (reopen > 0)
		d = min_pos(d, reopen - mono <= 0 ? 1 : reopen - mono);
	if (d <= 0)
		return -1;
	return d > INT_MAX ? INT_MAX : (int)d;
}

static void start_draining(struct sv *s)
{
	s->draining = true;
	s->need_full = s->need_all = true;
	s->next_due_wall = 0;
	if (s->lock_fd >= 0)
		sv_info_write(s->o, true);
	sv_emit(s, SUPERVISE_DRAIN, 0,
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

/* Most descriptors the loop polls: the signalfd, the file watch and the
 * engine streams' (one or two each). */
#define SUPERVISE_MAX_POLLFDS 64

/* Wait for the next thing to do: one poll() over every descriptor the loop
 * owns (the signalfd, the file watch, every engine stream's connection),
 * until the nearest deadline; then read whatever is ready. */
static void wait_once(struct sv *s)
{
	struct pollfd fds[SUPERVISE_MAX_POLLFDS] = {{.fd = s->sigfd, .events = POLLIN}};
	unsigned n = 1;
	int watch_at = -1;
	if (s->watch) {
		watch_at = (int)n;
		fds[n++] = (struct pollfd){.fd = watch_fd(s->watch), .events = POLLIN};
	}
	int t = timeout_ms(s);
	n += sv_streams_pollfds(s, fds + n, SUPERVISE_MAX_POLLFDS - n, &t);
	if (poll(fds, n, t) < 0)
		for (unsigned i = 0; i < n; i++)
			fds[i].revents = 0; /* EINTR: look again at the deadlines */
	/* Cheap when nothing came: each stream reads what it has. */
	sv_streams_dispatch(s);
	if (fds[0].revents & POLLIN)
		handle_signal(s);
	if (watch_at > 0 && s->watch && (fds[watch_at].revents & POLLIN)) {
		unsigned f = watch_drain(s->watch);
		if (f & WATCH_OVERFLOW)
			s->need_full = s->need_all = true;
		if (f & WATCH_CHANGED)
			s->need_status = true;
		if (f & WATCH_FAILED) {
			sv_emit(s, SUPERVISE_WARNING, 0,
				"file watch stopped; checking the status files every %ds",
				SUPERVISE_FALLBACK_MS / 1000);
			s->watch = watch_stop(s->watch);
			s->need_all = true;
		}
	}
}

static void run_due(struct sv *s)
{
	int64_t mono = timeutil_mono_ms(), wall = timeutil_now_ms();
	sv_streams_open_due(s, mono);
	if (s->lock_fd < 0 && s->next_lock_mono <= mono)
		sv_lock_try_take(s);
	if (s->engine_event) {
		s->engine_event = false;
		s->need_full = true;
	}
	if (s->next_full_mono <= mono || (s->next_recheck_mono > 0 && s->next_recheck_mono <= mono))
		s->need_full = true;
	if (s->lock_fd >= 0 && s->next_due_wall > 0 && s->next_due_wall <= wall)
		s->need_status = true;
	if (s->next_view_mono > 0 && s->next_view_mono <= mono)
		s->need_status = true;
	if (s->next_all_mono <= mono)
		s->need_all = s->need_status = true;
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
		sv_emit(&s, SUPERVISE_WARNING, 0,
			"no file watch (%s); checking the status files every %ds",
			rv_error_msg(werr), SUPERVISE_FALLBACK_MS / 1000);
	sv_emit(&s, SUPERVISE_STARTED, 0, "rover %s: watching %s (pid %d)",
		o->role ? o->role : "supervise", o->store->dir, (int)getpid());
	sv_lock_try_take(&s);
	if (o->drain)
		start_draining(&s);
	while (!s.stop) {
		run_due(&s);
		if (s.stop)
			break;
		wait_once(&s);
	}
	sv_emit(&s, SUPERVISE_STOPPING, 0, "rover %s: stopping", o->role ? o->role : "supervise");
	if (s.lock_fd >= 0) {
		pid_t pid = 0;
		if (supervise_scheduler_info(o->store->dir, &pid, NULL) && pid == getpid()) {
			_cleanup_free_ char *info = fileio_join(o->store->dir, SUPERVISE_INFO_FILE);
			unlink(info);
		}
		close(s.lock_fd);
	}
	sv_streams_free(&s);
	sv_seen_free_all(s.seen, s.n_seen);
	for (size_t i = 0; i < s.n_exits; i++)
		free(s.exits[i].container_id);
	sv_report_flush_warnings(&s);
	free(s.last_warning);
	task_list_release(&s.list);
	free(s.focus_at);
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
