/*
 * taskwait.h - `rover wait`: block until tasks leave the running states,
 * without polling, and tell how they ended.
 *
 * Running (waited on), by the record (lifecycle.md):
 *   - IN_PROGRESS, ITERATING: a container runs or is starting;
 *   - NEW without an `error`, created less than TASKWAIT_CREATING_MS ago: a
 *     `rover task` is creating it right now (an older one was left by a
 *     creation that died before it could say so: it counts as FAILED, and
 *     the next `rover list` settles it);
 *   - PAUSED for a retryable error while a scheduler runs for the store
 *     (`rover supervise` or `list --watch`: supervise_scheduler_info) and
 *     the task has retries left (autoRetry.count < the policy's max): an
 *     auto-retry will continue it.  With no scheduler alive nothing will,
 *     so such a task counts as PAUSED.
 * Settled: COMPLETED (and MERGED, PUSHED, which follow it), FAILED, NEW
 * with an `error` (its container could not start: FAILED for the exit
 * status), and every other PAUSED.
 *
 * How a change is learned (taskwait_run), as the supervisor loop does
 * (supervise.h), without its scheduling:
 *   - the task files: watch.h (inotify on the store's directories); a
 *     status.json or description.json change re-reads the waited tasks and
 *     applies their status files (observe.h, OBSERVE_STATUS_ONLY);
 *   - the container's end when the runner could not say it (killed,
 *     removed): the engine's event stream of each endpoint the running
 *     tasks use (die, destroy), which triggers a full observation (status
 *     files and containers: the orphan verdicts of observe.h), again after
 *     25 ms doubling for 3 s (the engine's listing may lag its own event);
 *   - a full observation every TASKWAIT_FULL_INTERVAL_MS anyway, and every
 *     TASKWAIT_FALLBACK_MS while an event stream cannot be opened or the
 *     file watch could not start (a warning through report says so).
 * Nothing is scheduled, resumed or started here.
 *
 * Exit status (taskwait_exit_code; rover(1) EXIT STATUS):
 *     0    every task COMPLETED (or MERGED/PUSHED)
 *     1    the wait itself failed (a task missing or deleted, the store
 *          unreadable)
 *     2    usage error
 *     3    at least one task FAILED (or could not start)
 *     4    at least one task PAUSED, none FAILED
 *     124  the timeout passed with a task still running (as timeout(1))
 */
#ifndef ROVER_TASKWAIT_H
#define ROVER_TASKWAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/task_store.h"

#define TASKWAIT_FULL_INTERVAL_MS 30000
#define TASKWAIT_CREATING_MS (5 * 60 * 1000)
#define TASKWAIT_FALLBACK_MS 5000
#define TASKWAIT_RECHECK_FIRST_MS 25
#define TASKWAIT_RECHECK_FOR_MS 3000

#define TASKWAIT_EXIT_COMPLETED 0
#define TASKWAIT_EXIT_ERROR 1
#define TASKWAIT_EXIT_FAILED 3
#define TASKWAIT_EXIT_PAUSED 4
#define TASKWAIT_EXIT_TIMEOUT 124

enum taskwait_state {
	TASKWAIT_RUNNING = 0,
	TASKWAIT_COMPLETED,
	TASKWAIT_PAUSED,
	TASKWAIT_FAILED,
};

/* "running", "completed", "paused", "failed". */
const char *taskwait_state_name(enum taskwait_state s);

/* Pure: the state of t at now_ms (epoch; see top); scheduler_alive tells
 * whether a process schedules retries for the store, retry_max is the
 * policy's budget. */
enum taskwait_state taskwait_classify(const struct task *t, bool scheduler_alive, int retry_max,
				      int64_t now_ms);

/* Pure: the exit status for n states (see top); timed_out when the
 * deadline passed (then any RUNNING state gives 124). */
int taskwait_exit_code(const enum taskwait_state *states, size_t n, bool timed_out);

struct taskwait_progress {
	size_t running;        /* tasks still running */
	size_t n;              /* tasks waited on */
	int64_t first_running; /* the id of one of them, 0: none */
	const char *status;    /* its status ("IN_PROGRESS"; borrowed) */
	int64_t elapsed_ms;
};

struct taskwait_opts {
	const struct task_store *store;
	const int64_t *ids;
	size_t n;
	int64_t timeout_ms; /* < 0: wait for ever; 0: look once */
	int retry_max;      /* the project's retry policy max */
	/* Called about every progress_interval_ms (> 0) while tasks run. */
	int progress_interval_ms;
	void (*on_progress)(void *userdata, const struct taskwait_progress *p);
	/* observe's reports (warnings, status changes); NULL: silent. */
	void (*report)(void *userdata, const char *level, int64_t task_id, const char *msg);
	void *userdata;
};

struct taskwait_result {
	struct task **tasks;         /* n records as last seen, owned */
	enum taskwait_state *states; /* n */
	size_t n;
	bool timed_out;
};

/* Wait as described at the top.  0 with *ret filled when every task
 * settled or the timeout passed; -errno when the wait itself failed (a
 * task missing: -ENOENT naming it).  *ret is released on
 * failure. */
int taskwait_run(const struct taskwait_opts *o, struct taskwait_result *ret, struct rv_error **err);
void taskwait_result_release(struct taskwait_result *r);

#endif
