/*
 * status.h - the iteration's status.json (schemas/status.schema.json), written atomically
 * on every change: durably (fileio_write_atomic) for what a recovery reads,
 * without fsync (fileio_write_atomic_volatile) for a running task's
 * progress - update() with "running" - and its heartbeat.
 *
 * Fields: taskId, status (initializing|running|completed|failed|paused),
 * currentStep, progress (0-100), startedAt, updatedAt, completedAt?, error?,
 * provider?, plus ours: pauseReason? and resetAt? (ISO) when paused
 * (breakpoint? too, the step id, for pauseReason "approval"), and
 * exitCode? once the runner knows how it will exit, and usage? (tokens and
 * dollars the agent CLIs reported, per step and in total), and the
 * heartbeat: heartbeatAt? (the runner is alive and a step runs) and
 * outputAt? (the last heartbeat that saw the step print something).
 * Operations follow A.6: update() clears provider; complete() sets 100 and
 * completedAt and clears error/provider; fail() sets 100, error and
 * completedAt; pause() keeps progress, sets error, provider, pauseReason.
 * A save failure is returned (the runner logs it and carries on, except for
 * the very first write, which aborts the run with exit 1); the change stays
 * in memory and goes out with the next successful save.
 *
 * Details: every operation sets updatedAt; a NULL step keeps currentStep;
 * progress is clamped to 0-100; an empty or NULL error clears it; error and
 * step texts are made valid UTF-8 and capped at STATUS_MAX_TEXT bytes (tail
 * kept).  complete() writes exitCode 0 and fail() exitCode 1; update()
 * removes exitCode, and pause() writes the one it is given (the runner
 * saves its checkpoint first, so a pause carries 2 only once that is on
 * disk; -1 leaves exitCode out).  update() and the others
 * also remove pauseReason and resetAt, which describe a pause only.
 * status_file_create() replaces the file but keeps keys it does not know;
 * a file that does not parse is replaced whole.
 *
 * The reader, status_parse(), is the host's: the one place the supervisor
 * takes fields out of a status.json (which it reads through
 * supervisor/lib/iterfile.h, as the container wrote it).
 */
#ifndef ROVER_STATUS_H
#define ROVER_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define STATUS_MAX_TEXT (16u * 1024u)

struct status_file;

/* Create and write the initial status ("initializing", step). */
int status_file_create(const char *path, const char *task_id, const char *step,
		       struct status_file **ret, struct rv_error **err);
struct status_file *status_file_free(struct status_file *sf);
static inline void status_file_freep(struct status_file **sf)
{
	status_file_free(*sf);
}
#define _cleanup_status_file_ __attribute__((cleanup(status_file_freep)))

int status_file_update(struct status_file *sf, const char *status, const char *step, int progress,
		       const char *error, struct rv_error **err);
int status_file_complete(struct status_file *sf, const char *step, struct rv_error **err);
int status_file_fail(struct status_file *sf, const char *step, const char *error,
		     struct rv_error **err);
int status_file_pause(struct status_file *sf, const char *step, const char *error,
		      const char *provider, const char *pause_reason, int64_t reset_at_ms,
		      int exit_code, struct rv_error **err);

/* The heartbeat of a running step (STATUS_HEARTBEAT_DEFAULT_S apart, or
 * ROVER_HEARTBEAT_SECONDS): heartbeatAt = now, and outputAt = now when the
 * step printed since the last one.  updatedAt is left alone (it dates the
 * last status change), so the supervisor can tell a silent step (heartbeat
 * moves, outputAt does not) from a hung runner (nothing moves). */
#define STATUS_HEARTBEAT_DEFAULT_S 10
int status_file_heartbeat(struct status_file *sf, bool output, struct rv_error **err);

/* Set the run's cost and usage ({"inputTokens", ..., "costUsd", "steps":
 * {stepId: {...}}}, adapters.h; a reference is taken; NULL removes it).  Not
 * saved by itself: it goes out with the next operation, and every operation
 * keeps it (a pause, a failure and a completion all report what was spent). */
struct json_object;
void status_file_set_usage(struct status_file *sf, struct json_object *usage);

/* The id of the breakpoint step a pause with reason "approval" waits at
 * (key "breakpoint"; NULL removes it).  Call before status_file_pause(), so
 * that the paused status carries it from its first version; every other
 * operation removes it.  The host only shows it
 * and checks it against the task's own workflow: it never trusts it. */
void status_file_set_breakpoint(struct status_file *sf, const char *step_id);

/* The step last written (borrowed). */
const char *status_file_current_step(const struct status_file *sf);

/* ---- reading ---- */

/* What a status.json document says.  Every field is a claim of the
 * container's: missing or mistyped ones read as NULL, false or 0, so a
 * file can only say less, never make the reader fail.  Strings and usage
 * are borrowed from the document. */
struct status_view {
	const char *status; /* initializing|running|completed|failed|paused, unchecked */
	const char *current_step;
	const char *error;
	const char *provider;
	const char *pause_reason;
	const char *breakpoint;
	struct json_object *usage; /* an object, or NULL */
	bool has_progress;
	int64_t progress;
	bool has_exit_code;
	int64_t exit_code;
	/* ISO times as ms since the epoch; 0 when missing or unparsable (never
	 * clamped: the caller judges them against its clock). */
	int64_t updated_at_ms;
	int64_t heartbeat_at_ms;
	int64_t output_at_ms;
};

/* Fill *ret from doc (NULL reads as an empty document). */
void status_parse(struct json_object *doc, struct status_view *ret);

#endif
