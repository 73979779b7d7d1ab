/*
 * admit.h - the store side of gate.h: which account a task is, how many
 * containers of the store run, and whether a new task starts now or waits
 * in the queue (`rover task`, via create.h).  The supervisor's queue pass
 * (supervise.c) uses the same pieces.
 *
 * A waiting task is a NEW task with `queued` in description.json:
 *     "queued": {"reason": "gate"|"stagger"|"maxRunning", "message": "claude
 *                (key …3f2a): limited until 14:00", "position": 3,
 *                "since": ISO, "account": "claude:…"}
 * (docs/design/lifecycle.md).  It is removed when the task leaves NEW
 * (task.c), i.e. when its container is started.
 *
 * The account of a task is recorded when it is created (`account`
 * {"key", "label"}, from the creating process's environment: the
 * credential its container gets); a record without one is computed from
 * this process's environment and the task's agent tool.
 */
#ifndef ROVER_ADMIT_H
#define ROVER_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/gate.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task_store.h"

/* Recorded or computed (see top); both newly allocated. */
void admit_account_of_task(const struct task *t, char **ret_key, char **ret_label);
/* Record t's account (computed from its agent and the environment) in t,
 * for the caller to save: `rover task` does it as it creates the record. */
void admit_set_account(struct task *t);

/* The `queued` object of a NEW task, else NULL (borrowed). */
struct json_object *admit_queued(const struct task *t);

/* Tasks whose container runs or is being started: IN_PROGRESS, ITERATING,
 * and NEW with a start in flight; kind non-NULL: only those recorded on
 * that engine kind. */
int admit_count_running(const struct task_list *l, const char *kind);

/* maxRunning per engine kind (project.h): the limits and the counts. */
struct admit_engines {
	const char *kind[2];
	int max[2];
	int running[2];
};
void admit_engine_limits(const struct project_settings *ps, const struct task_list *l,
			 struct admit_engines *ret);
/* Point it->group_max/group_running at the limit of t's engine, if any. */
void admit_item_engine(struct admit_engines *e, const struct task *t, struct queue_item *it);

/* Record (or refresh) `queued` for a waiting item; no write when nothing
 * changed but `since`. */
int admit_set_queued(const struct task_store *st, int64_t id, const struct queue_item *it,
		     const char *message, struct rv_error **err);

struct admit_result {
	bool start;  /* start it now */
	int lock_fd; /* >= 0: the queue lock, held until the start is done */
	enum queue_why why;
	int position;
	char *message; /* why it waits */
};

/* For `rover task`: task id was just created NEW, its account recorded
 * (admit_set_account).  Under the queue lock plans it with the queued tasks (gate.h); queued:
 * records `queued`.  A START keeps the lock (ret->lock_fd) when maxRunning
 * is set, so that no other process counts the slot as free before the
 * container is marked.  Fails only when the store cannot be read or
 * written (the caller then starts the task as without a queue). */
int admit_new_task(const struct project *p, const struct task_store *st, int64_t id,
		   struct admit_result *ret, struct rv_error **err);
void admit_result_release(struct admit_result *r);

#endif
