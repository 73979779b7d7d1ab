/*
 * taskops_shared.h - what the operations of taskops.h share: the engine
 * they open, how an exit is judged, small comparisons.  Internal to
 * supervisor/lib/taskops*.c.
 */
#ifndef ROVER_TASKOPS_SHARED_H
#define ROVER_TASKOPS_SHARED_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

/* Engine calls of these commands: a dead engine is reported quickly, a slow
 * one (Podman under load) still gets time. */
#define OPS_CONNECT_MS 5000L
#define OPS_REQUEST_MS 30000L
/* status.json is small; an old one kept for a rollback is capped. */
#define STATUS_MAX_BYTES (1024u * 1024u)

/* The task's id as printf wants it. */
static inline long long taskops_lid(const struct task *t)
{
	return (long long)t->id;
}

/* Equal strings, NULL and "" being the same. */
bool taskops_same_str(const char *a, const char *b);

/* Container ids that match, one possibly a prefix of the other (engines
 * report full ids, records may hold short ones); empty never matches. */
bool taskops_id_matches(const char *a, const char *b);

/* The engine the task was started on (launch_engine_for_task), with the
 * operations' timeouts.  verb names the operation in the error. */
int taskops_open_engine(const struct task *t, const char *verb, struct engine **ret,
			struct rv_error **err);

/* Whether the task's iteration n has a checkpoint.json. */
bool taskops_has_checkpoint(const struct task_store *st, int64_t id, int64_t n);

/* Apply the iteration's status.json (the runner's own word) to t; a status
 * file that cannot be read leaves t as it is: the exit code still decides. */
void taskops_refresh_from_status(const struct task_store *st, struct task *t, int64_t now_ms);

/* The orphan detector's verdict for an active task whose container exited
 * with exit_code (-1: the container is gone), applied to t. */
int taskops_classify_exit(struct task *t, int exit_code, int64_t now_ms, struct rv_error **err);

#endif
