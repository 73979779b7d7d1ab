/*
 * orphan.h - the orphan detector's verdict on an active task whose
 * container exited, vanished or never got recorded, when its status.json
 * (reconcile.h) did not say how the run ended.
 *
 * orphan_decide() is the decision table (docs/design/lifecycle.md, "Orphan
 * decision table"), a pure function of what was observed; orphan_apply()
 * writes its verdict into the task.  Observation (engine calls, lock checks)
 * is the caller's business (observe.h, taskops.h), so every row is
 * unit-tested without an engine.
 */
#ifndef ROVER_ORPHAN_H
#define ROVER_ORPHAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/task.h"

/* A task without a container id this long after its (re)start is failed. */
#define ORPHAN_STARTUP_TIMEOUT_MS (5 * 60 * 1000)

enum orphan_container {
	ORPHAN_CONTAINER_UNKNOWN, /* the engine could not be asked */
	ORPHAN_CONTAINER_MISSING, /* the engine says there is no such container */
	ORPHAN_CONTAINER_ALIVE,   /* created, running, restarting, paused */
	ORPHAN_CONTAINER_EXITED,  /* exited, dead, stopped, removing */
};

struct orphan_observation {
	enum task_status status; /* after reconcile_from_status() */
	bool has_container_id;
	bool resume_lock_held; /* a resume is starting it right now */
	int64_t started_ms;    /* lastRestartAt / startedAt / runningAt, whichever is latest */
	int64_t now_ms;
	enum orphan_container container;
	int exit_code;
	bool oom_killed;
	/* The runner's last "rover-agent: ..." line on the container's output
	 * (without the prefix), or NULL: with a status file it could not write
	 * (full disk), this is the only account of why it exited. */
	const char *runner_said;
};

enum orphan_action { ORPHAN_KEEP, ORPHAN_MARK_COMPLETED, ORPHAN_MARK_PAUSED, ORPHAN_MARK_FAILED };

struct orphan_verdict {
	enum orphan_action action;
	char *message; /* for PAUSED/FAILED: the task's error; newly allocated or NULL */
};

/* The decision table; see docs/design/lifecycle.md. */
void orphan_decide(const struct orphan_observation *obs, struct orphan_verdict *ret);
void orphan_verdict_release(struct orphan_verdict *v);

/* Write the verdict into t (status, error, pauseReason orphan, exitCode).
 * *ret_changed tells whether anything changed. */
int orphan_apply(struct task *t, const struct orphan_verdict *v, int exit_code, int64_t now_ms,
		 bool *ret_changed, struct rv_error **err);

/* "running", "created", "restarting" and Docker's "paused" are alive. */
enum orphan_container orphan_container_from_state(const char *state);

#endif
