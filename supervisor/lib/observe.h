/*
 * observe.h - bring the active tasks of a store in line with reality, the way
 * `rover list`, `inspect`, `resume` and the supervisor loop all need it:
 *
 *   1. refresh each active task (IN_PROGRESS, ITERATING) from its iteration's
 *      status.json (reconcile_from_status);
 *   2. orphan detection for those still active: ONE container listing per
 *      engine endpoint (labels rover.store=<store>), each task checked on the
 *      endpoint it was started on; an inspect only for exited containers
 *      (for the exit code and OOMKilled); a task whose resume lock is held is
 *      skipped; the verdict of orphan_decide() is written under the task's
 *      lock after re-reading it, so a concurrent change is never overwritten.
 *
 * Engine trouble never fails the observation: those tasks are left as they
 * are and a warning says why.  Warnings and status changes are reported
 * through the callback (NULL: silent), one line each.
 */
#ifndef ROVER_OBSERVE_H
#define ROVER_OBSERVE_H

#include <stdbool.h>

#include "common/error.h"
#include "supervisor/lib/task_store.h"

enum observe_flags {
	OBSERVE_STATUS_ONLY = 1 << 0, /* step 1 only: no engine calls */
};

/* level: "warn" or "info"; msg is one line. */
typedef void (*observe_report_fn)(void *userdata, const char *level, int64_t task_id,
				  const char *msg);

/* Observe every task of the list; entries are replaced with the records as
 * written.  Returns how many tasks changed. */
int observe_tasks(const struct task_store *st, struct task_list *list, unsigned flags,
		  observe_report_fn report, void *userdata);

/* The engines one pass over a store asks: one container listing per
 * endpoint, taken on first use and shared by every task of the pass. */
struct observe_engines;
struct observe_engines *observe_engines_new(void);
void observe_engines_free(struct observe_engines *e);

/* observe_tasks with the listings of engines (NULL: its own). */
int observe_tasks_with(const struct task_store *st, struct task_list *list, unsigned flags,
		       struct observe_engines *engines, observe_report_fn report, void *userdata);

/* For a running task whose record and status file did not change since it
 * was last observed with no change (list_cache.h): would observe_tasks leave
 * it as it is?  1 when its container (on endpoint, NULL or "": discovered) is
 * alive, or when the engine cannot tell (then the warning observe_tasks gives
 * is reported); 0 when it must be observed for real: its container exited or
 * is gone, or it recorded none.  Costs no file access but the engine's one
 * listing per pass (and, for the warning, a look for a resume lock relative
 * to tasks_dfd, the store's tasks/ directory; -1: by path). */
int observe_unchanged_running(const struct task_store *st, struct observe_engines *e, int tasks_dfd,
			      int64_t id, int64_t iteration, const char *container_id,
			      const char *endpoint, observe_report_fn report, void *userdata);

/* Observe one task (*t is replaced when it changed). */
int observe_task(const struct task_store *st, struct task **t, unsigned flags,
		 observe_report_fn report, void *userdata);

#endif
