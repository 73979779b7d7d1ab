/*
 * launch.h - start the container of a task's current iteration.
 *
 * The container (docs/design/isolation.md, hardening.md):
 *   name    rover-task-<id>-<iteration>
 *   labels  rover.task=<id>, rover.iteration=<n>, rover.store=<store dir>
 *   mounts  the static rover-agent, read-only, at /rover-agent (the
 *           entrypoint, so it is PID 1 and receives the engine's signals);
 *           the workspace at /workspace; the iteration dir at /output; the
 *           task's workflow.yml, read-only, at /workflow.yml; in a git
 *           project, the project's object directory, read-only, at its
 *           own path (the workspace repository borrows its objects; the
 *           project's .git itself is never mounted: isolation.md)
 *   command /rover-agent run /workflow.yml --output /output --task-id <id>
 *           --status-file /output/status.json --inputs-json
 *           /output/inputs.json --workdir /workspace --agent-tool <tool>
 *           [--agent-model M] [--checkpoint /output/checkpoint.json]
 *   user    hardening.h: the caller's uid:gid, or 1000:1000 when rover runs
 *           as root (the workspace and iteration dir are given to it first);
 *           HOME=/tmp for a numeric user
 *   confinement  hardening.h: all capabilities dropped, no-new-privileges,
 *           pids, memory (no swap) and CPU limits; stop signal SIGTERM with a
 *           timeout longer than the runner's grace, so a stop gives it time
 *           to save.
 * Earlier containers of this iteration of this store (found by label, never
 * by name: another project's task of the same id has the same name) are
 * removed first - after their output has been appended to container.log.
 * When the name is taken by another store's container, ours is named
 * rover-task-<id>-<n>-<first 8 hex of SHA-256(store dir)>.
 *
 * The runner binary is $ROVER_AGENT_BIN, else `rover-agent` beside the
 * running `rover`.  The network mode is $ROVER_NETWORK (e.g. "none"), else
 * the engine's default.
 */
#ifndef ROVER_LAUNCH_H
#define ROVER_LAUNCH_H

#include <stdbool.h>

#include "common/error.h"
#include "supervisor/lib/engine.h"
#include "supervisor/lib/hardening.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

/* Grace given to the runner by `rover stop` and the container's StopTimeout. */
#define LAUNCH_STOP_TIMEOUT_S 30

struct launch_opts {
	const char *image;     /* required */
	const char *workspace; /* host path mounted at /workspace */
	/* The git project whose object directory the workspace borrows
	 * (mounted read-only at its own path); NULL outside git. */
	const char *project_root;
	bool resume;                /* pass --checkpoint when checkpoint.json exists */
	bool allow_workflow_change; /* pass --allow-workflow-change (rover resume) */
	double budget_usd;          /* > 0: pass --budget-usd (the task's, else the project's) */
	/* The task was made by this process a moment ago, so no earlier
	 * container of its iteration can exist: the lookup by label that makes
	 * room for one is skipped, and done only if the name turns out taken
	 * (a store made again after its id counter was lost). */
	bool fresh;
};

/* The confinement hl (hardening.h) and the agent's user, set on a
 * container's spec: every container rover makes for a task (its run, a
 * `rover shell`) is confined alike. */
void launch_confine(struct engine_create_spec *spec, const struct hardening_launch *hl);

/* Create and start the container; on success *ret_id is its id (caller frees)
 * and t records containerId, engine {kind, endpoint}, executionStatus
 * "running" and runningAt (the caller saves t). */
int launch_container(struct engine *e, const struct task_store *st, struct task *t,
		     const struct launch_opts *o, char **ret_id, struct rv_error **err);

/* The container name of an iteration: "rover-task-7-1" (newly allocated). */
char *launch_container_name(int64_t id, int64_t iteration);

/* Append the output of container `ref` (id or name) to the iteration's
 * container.log, under a header line "==== container <full id>, saved <time>
 * ====" written with the first byte of output.  A container whose output is
 * already there is not saved again; a missing container is not an error. */
int launch_save_logs(struct engine *e, const struct task_store *st, int64_t id, int64_t iteration,
		     const char *ref, struct rv_error **err);
/* The same, and what the engine said of the container (its inspect, taken
 * before the save) in *ret_seen: the caller releases it
 * (engine_container_info_release); its id is NULL when the engine was not
 * asked or the container is gone. */
int launch_save_logs_seen(struct engine *e, const struct task_store *st, int64_t id,
			  int64_t iteration, const char *ref,
			  struct engine_container_info *ret_seen, struct rv_error **err);

/* Save the logs, then remove the container (force).  Missing: success. */
int launch_remove_container(struct engine *e, const struct task_store *st, int64_t id,
			    int64_t iteration, const char *ref, struct rv_error **err);

/* Path of the runner binary to mount (newly allocated), or an error when it
 * cannot be found. */
int launch_agent_binary(char **ret, struct rv_error **err);

/* The engine a task runs on: its stored endpoint (so later commands use the
 * endpoint it was started on), else discovery. */
int launch_engine_for_task(const struct task *t, struct engine **ret, struct rv_error **err);

#endif
