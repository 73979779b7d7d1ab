/*
 * supervise_state.h - the state of one supervisor loop (supervise.h), shared
 * by the modules the loop is made of.  Internal: nothing outside
 * supervisor/lib/supervise*.c includes it.
 *
 * The modules, each with its header:
 *   supervise.c          the loop: one poll() over every descriptor, the
 *                        deadlines, a pass (list, observe, report, schedule);
 *   supervise_lock.c     the scheduler lock and .supervisor.json;
 *   supervise_report.c   events for on_event/on_view: the status diff,
 *                        warnings said once, the listing;
 *   supervise_retry.c    auto-retries: schedule, fire, give up, recover
 *                        resumes that died half-way, breakpoint timeouts;
 *   supervise_queue.c    the queue: account gates, maxRunning, queued starts;
 *   supervise_pauses.c   pauses the supervisor asks for: drain mode, pause
 *                        windows, stalls;
 *   supervise_streams.c  the engine event streams and the exits they report.
 *
 * A pass visits only the tasks that need it (its focus, chosen in
 * supervise.c): those the listing re-read since the last pass
 * (task_live_take_changed: the file watch named them, or this process
 * wrote them), those whose last seen status needs watching whatever the
 * files say (NEW, IN_PROGRESS, ITERATING: observed, counted by the queue;
 * PAUSED while this process schedules: their retries, windows, gates and
 * breakpoint timeouts are timed from them), and new ones.  The status each
 * task had at the last pass is kept in its struct seen, so choosing costs
 * no JSON.  Every task is visited on the first pass, when the listing read
 * everything (no watch, an overflow, the listing's own safety net), when
 * this process becomes or stops being the scheduler, and every
 * SUPERVISE_ALL_INTERVAL_MS.  The steps of a pass see the focus as
 * s->list; the report diff and the view get the whole listing.
 *
 * One struct sv lives on supervise_run's stack for the whole run; every
 * function here gets it and runs on the loop's thread.  s->list is the
 * listing of the current pass: a function that rewrites a task replaces
 * its entry (sv_replace_task) so later steps of the pass see the record as
 * written.  Resumes are the slow part of a pass (each starts a container):
 * a pass starts at most SUPERVISE_MAX_RESUMES_PER_TURN of them
 * (sv_resume_take), and the loop comes back for the rest once it has
 * looked at its descriptors, so a signal or an engine event is never kept
 * waiting behind a long queue.
 */
#ifndef ROVER_SUPERVISE_STATE_H
#define ROVER_SUPERVISE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supervisor/lib/supervise.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

struct engine;
struct engine_events;
struct watch;

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
	bool changed; /* its status changed in this pass */
	bool gave_up_reported;
	int64_t not_before_ms; /* wall: no auto-resume before (after a busy/failed one) */
	char *last_warning;
	bool due;            /* this pass: its retry is due (fired by the queue pass) */
	int engine_failures; /* auto-retries in a row that found the engine down */
	char held[200];      /* why its due retry waits, as last reported */
};

struct sv {
	const struct supervise_opts *o;
	int sigfd;
	struct watch *watch;
	int lock_fd;
	bool announced_other;
	pid_t seen_scheduler; /* the other scheduler last shown (0: none known) */
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
	} * warnings;
	size_t n_warnings;
	char *last_warning; /* of warnings about no task in particular */
	struct task_list list;
	bool stop;
	bool draining;           /* drain mode: pause running tasks, start nothing */
	bool announced_schedule; /* said what is scheduled, once per scheduler term */
	int resumes_left;        /* this turn's budget of resumes (sv_resume_take) */
	/* The focus of this pass (supervise.c): the indexes in s->list of the
	 * tasks it visits, ascending.  While the steps of the pass run,
	 * s->list holds only those entries (focus_enter/leave, supervise.c). */
	size_t *focus_at;
	size_t n_focus;
	bool focus_scheduler;  /* lock_fd >= 0 when the focus was chosen */
	bool need_all;         /* the next pass visits every task */
	int64_t next_all_mono; /* the safety net: every task, this often */
};

/* Count one resume against this turn's budget: false (and the loop comes
 * back at once) when it is spent. */
static inline bool sv_resume_take(struct sv *s)
{
	if (s->resumes_left <= 0) {
		s->need_status = true;
		return false;
	}
	s->resumes_left--;
	return true;
}

#endif
