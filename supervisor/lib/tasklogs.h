/*
 * tasklogs.h - `rover logs`: a task iteration's container output, each
 * container's once, optionally followed across the containers a resume or
 * an auto-retry starts for it.
 *
 * Sources, in order, for iteration n:
 *   1. container.log (launch.h: the output of containers of the iteration
 *      saved when they were seen finishing, replaced or removed; each framed
 *      by a header and a trailer line naming the container);
 *   2. the iteration's container on the engine (the recorded one for the
 *      current iteration, else the newest labelled rover.iteration=n) -
 *      unless container.log already holds it whole (its trailer is there):
 *      `rover list`, `inspect` or the supervisor save a finished container's
 *      output and leave the container, and printing both showed every line
 *      twice.
 *
 * Selection (logsel.h): `since_ms` drops saved containers saved before it
 * (their lines carry no time) and is passed to the engine for the live one
 * (whole seconds); `tail` keeps the last N lines of the whole.  With follow
 * and tail, the last N lines are shown (the live container's counted by a
 * first read), then the container is followed from there.
 *
 * Follow: a container is followed until it exits, not until the engine
 * closes its stream (engine_logs.h; with --tail on the first container,
 * until the engine closes it).  After a container ends the task is re-read
 * and observed (observe.h: its end classified, its output saved) and,
 * while it stays in iteration n, followed on:
 *   - IN_PROGRESS / ITERATING: into its (next) container as soon as one is
 *     recorded (a resume replaces the container: the name stays, the id
 *     changes), waiting on the store's file watch (watch.h) meanwhile;
 *   - PAUSED for a retryable error with an automatic retry still in the
 *     budget (retry.h) while a scheduler runs (`rover supervise`, `rover
 *     list --watch`: supervise_scheduler_info): waiting for the retry;
 * and returns when the task is in any other state (COMPLETED, FAILED,
 * PAUSED by a person or out of retries or with nobody to retry it, NEW,
 * MERGED, PUSHED), when it moves to another iteration, or when it is
 * deleted - after a last read of container.log.
 *
 * Files under the iteration directory are read through iterfile.h only.
 */
#ifndef ROVER_TASKLOGS_H
#define ROVER_TASKLOGS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/engine_logs.h"
#include "supervisor/lib/observe.h"
#include "supervisor/lib/retry.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

struct tasklogs_opts {
	int64_t iteration; /* 0: the current one */
	bool follow;
	int64_t tail;                      /* last N lines; < 0: all */
	int64_t since_ms;                  /* 0: everything */
	const struct retry_policy *policy; /* follow: NULL, a PAUSED task is never waited for */
	observe_report_fn report;          /* follow: observation warnings and what it waits
					      for, one line each (NULL: silent) */
	void *report_userdata;
};

enum tasklogs_container {
	TASKLOGS_NONE,  /* the iteration has no container (never started) */
	TASKLOGS_LIVE,  /* the container's output was read from the engine */
	TASKLOGS_SAVED, /* the container exists, its output was all in container.log */
	TASKLOGS_GONE,  /* the container no longer exists */
};

struct tasklogs_result {
	bool had_saved;                    /* container.log had something */
	enum tasklogs_container container; /* the last container looked at */
	unsigned followed;                 /* containers read from the engine */
	char *saved_refused;               /* container.log was not a regular file: why */
	struct task *task;                 /* follow: the record at the end, or NULL; owned */
};

/* n > task_iterations(t) or < 0: -EINVAL.  fn gets the saved output as
 * ENGINE_STREAM_STDOUT and the container's streams as they are.  With an
 * engine error, what could be shown was shown and the error says what is
 * missing. */
int tasklogs_show(const struct task_store *st, const struct task *t, const struct tasklogs_opts *o,
		  engine_log_fn fn, void *userdata, struct tasklogs_result *ret,
		  struct rv_error **err);
void tasklogs_result_release(struct tasklogs_result *r);

#endif
