/*
 * task.h - one task record: `description.json` (schema 1.6, the TypeScript rover's,
 * section A.3, plus our `engine`, `pauseReason` and `autoRetry`).
 *
 * The record is kept as the json-c object read from disk, so fields this
 * version does not know (written by a newer rover, or by the TypeScript
 * rover) survive every rewrite; typed accessors read and write the fields we
 * use.  The JSON Schema is schemas/description.schema.json.
 *
 * Loading validates (task_parse / task_load):
 *   - the file is one JSON object (empty, truncated or garbage: -EBADMSG);
 *   - `version` "1.x": x == 6 is current; x > 6 (a newer minor, additive by
 *     definition) is read as is and written back with its version; x < 6, or
 *     no `version` at all, is migrated (docs/design/store-layout.md: defaults filled
 *     in, status mapped case-insensitively, unknown status -> NEW, legacy
 *     `dockerHost` moved into `sandboxMetadata`, version set to "1.6").  Any
 *     other major version is refused with -ENOTSUP, a version that is not a
 *     "major.minor" string with -EBADMSG;
 *   - `id` is an integer > 0 and equals the id of the directory it was read
 *     from (expected_id; 0 skips that check); `status` is one of the enum;
 *     every field we use has its type (strings, or null where optional;
 *     `iterations` >= 1, `restartCount` >= 0, `engine.kind` docker|podman,
 *     `pauseReason` one of its enum, `autoRetry` counts >= 0).
 * Every error is -EBADMSG (or -ENOTSUP) with a message that starts with the
 * file's path in quotes.  Nothing on disk changes when loading fails.
 *
 * Status changes go through task_set_status(), which refuses what the table
 * below forbids and applies the side effects below in one place.
 *
 * Transition table (task_transition_allowed(from, to)); a status may always
 * be re-entered (a refresh), which re-applies its side effects:
 *
 *   from \ to     NEW  IN_PROG  ITER  PAUSED  COMPL  FAILED  MERGED  PUSHED
 *   NEW            .     y       -      -       -      y       -       -
 *   IN_PROGRESS    y     .       y      y       y      y       -       -
 *   ITERATING      y     y       .      y       y      y       -       -
 *   PAUSED         -     y       -      .       -      y       -       -
 *   COMPLETED      -     -       -      -       .      -       y       y
 *   FAILED         -     y       -      -       -      .       -       -
 *   MERGED         -     -       -      -       -      -       .       y
 *   PUSHED         -     -       -      -       -      -       y       .
 *
 * Why: PAUSED and FAILED leave only through IN_PROGRESS (resume or restart),
 * so a stale `running` in status.json can never flip them back to ITERATING
 * (a flaw of the TypeScript rover), and COMPLETED never becomes active again except by
 * task_restart(), which is allowed from every status but MERGED and PUSHED
 * (the command checks the rest: a live container, a checkpoint to keep).
 * IN_PROGRESS/ITERATING -> NEW is a failed first start; -> PAUSED/FAILED/
 * COMPLETED is the runner's result or the orphan detector's verdict.
 * PAUSED -> FAILED is `rover stop`.  MERGED/PUSHED need COMPLETED.
 *
 * Side effects (every entry sets lastStatusCheck = now):
 *   NEW          clears error, pausedAt
 *   IN_PROGRESS  sets startedAt if absent; clears error, pausedAt
 *   ITERATING    sets lastIterationAt; clears error, pausedAt
 *   PAUSED       sets pausedAt, pauseReason (required), error = the given
 *                one or cleared; failedAt and completedAt untouched
 *   COMPLETED    sets completedAt; clears pausedAt; error untouched; resets
 *                autoRetry.count to 0 (the retry budget is per success)
 *   FAILED       sets failedAt; clears pausedAt; error = given or cleared
 *   MERGED/PUSHED sets completedAt if absent; clears pausedAt
 * and, ours: leaving PAUSED removes pauseReason and autoRetry.nextRetryAt
 * (nothing is scheduled for a task that is not paused); entering a status
 * that is not running removes pauseRequested (the host's pause request, used
 * up); task_restart() removes approvals (a run from the start asks its
 * breakpoints again); any status but NEW and IN_PROGRESS removes `queued`
 * (gate.h: the task waited in the start queue; kept through the start so
 * that a start that dies goes back into the queue, and removed by the
 * supervisor once it started); entering PAUSED with reason signal or orphan
 * while `stallRequest` names the task's current container makes the reason
 * `stalled` (the supervisor sent that SIGTERM because the task made no
 * progress, supervise.c), and any other status than IN_PROGRESS/ITERATING
 * drops `stallRequest`.
 *
 * Ownership: a struct task owns its json object; borrowed strings returned by
 * accessors live until that field is changed or the task is freed.
 */
#ifndef ROVER_TASK_H
#define ROVER_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"

#define TASK_SCHEMA_VERSION "1.6"
#define TASK_SCHEMA_MAJOR 1
#define TASK_SCHEMA_MINOR 6
#define TASK_DESCRIPTION_FILE "description.json"
#define TASK_BACKUP_SUFFIX ".backup"
/* A description.json is a few KiB; refuse anything absurd before parsing. */
#define TASK_MAX_FILE_BYTES (4u * 1024u * 1024u)

enum task_status {
	TASK_NEW,
	TASK_IN_PROGRESS,
	TASK_ITERATING,
	TASK_PAUSED,
	TASK_COMPLETED,
	TASK_FAILED,
	TASK_MERGED,
	TASK_PUSHED,
	TASK__STATUS_MAX,
};

enum task_pause_reason {
	TASK_PAUSE_NONE, /* not paused, or no reason recorded */
	TASK_PAUSE_RETRYABLE_ERROR,
	TASK_PAUSE_SIGNAL,
	TASK_PAUSE_USER,
	TASK_PAUSE_ORPHAN,
	TASK_PAUSE_APPROVAL, /* at a breakpoint: rover approve / reject (approval.h) */
	TASK_PAUSE_OPERATOR, /* rover pause --all: rover resume --all brings it back */
	TASK_PAUSE_DRAIN,    /* the supervisor's drain mode: likewise */
	TASK_PAUSE_STALLED,  /* the supervisor stopped a task that made no progress */
	TASK_PAUSE_WINDOW,   /* a pause window began (windows.h): resumed at its end */
	TASK_PAUSE_BUDGET,   /* the cost budget is spent (budgetUsd): never auto-retried */
	TASK__PAUSE_MAX,
};

struct task {
	int64_t id;
	struct json_object *obj; /* the whole record, owned */
};

/* Persisted retry state (`autoRetry`).  Absent fields read as 0 / NULL. */
struct task_auto_retry {
	int64_t count;              /* attempts made since the last success/manual resume */
	int64_t max;                /* budget recorded when scheduled */
	int64_t next_retry_at_ms;   /* epoch ms, 0: nothing scheduled */
	int64_t last_attempt_at_ms; /* epoch ms, 0: never */
	const char *provider;       /* borrowed; NULL: unknown */
};

/* "PAUSED"; NULL for an out-of-range value. */
const char *task_status_name(enum task_status s);
/* Exact, upper-case names only (the on-disk enum). */
bool task_status_parse(const char *s, enum task_status *ret);
/* NEW, IN_PROGRESS, ITERATING: a container is, or is about to be, running. */
bool task_status_is_active(enum task_status s);
/* IN_PROGRESS, ITERATING: the task's container should be running now, so its
 * status file and container are live (refresh and orphan detection apply). */
bool task_status_is_running(enum task_status s);
/* "retryable_error"; NULL for TASK_PAUSE_NONE. */
const char *task_pause_reason_name(enum task_pause_reason r);
bool task_pause_reason_parse(const char *s, enum task_pause_reason *ret);

bool task_transition_allowed(enum task_status from, enum task_status to);

/* A fresh NEW record: version, id, uuid (random v4), title, description,
 * inputs {}, status NEW, createdAt = lastStatusCheck = now, iterations 1,
 * workflowName "swe", worktreePath "", branchName "".  Set the rest with the
 * setters.  title must not be empty (-EINVAL). */
int task_new(int64_t id, const char *title, const char *description, int64_t now_ms,
	     struct task **ret, struct rv_error **err);

/* Validate (and migrate in memory) a parsed record; obj is taken over even
 * on failure.  path names the file in messages.  *ret_migrated (may be NULL)
 * tells whether an older version was migrated, so that the caller can keep a
 * backup and save. */
int task_from_json(struct json_object *obj, int64_t expected_id, const char *path,
		   struct task **ret, bool *ret_migrated, struct rv_error **err);

/* As task_from_json, from the file's bytes. */
int task_parse(const char *buf, size_t len, int64_t expected_id, const char *path,
	       struct task **ret, bool *ret_migrated, struct rv_error **err);

/* Read path.  Missing file: -ENOENT.  With persist_migration, a migrated
 * record is saved after the original bytes were copied to path + ".backup"
 * (both atomically); the caller must hold the task's update lock then
 * (task_store does).  Without it, the migration stays in memory. */
int task_load(const char *path, int64_t expected_id, bool persist_migration, struct task **ret,
	      struct rv_error **err);

/* Validate, then write atomically and durably (pretty, 2-space indent). */
int task_save(const struct task *t, const char *path, struct rv_error **err);

/* The checks of loading, on the record in memory (path names it). */
int task_validate(const struct task *t, const char *path, struct rv_error **err);

/* NULL-safe. */
void task_free(struct task *t);
static inline void task_freep(struct task **t)
{
	task_free(*t);
}
/* A task freed when it goes out of scope (common/cleanup.h). */
#define _cleanup_task_ __attribute__((cleanup(task_freep)))

/* A deep copy of t (to try a change without touching the original). */
struct task *task_dup(const struct task *t);

/* Status and transitions. */
enum task_status task_status(const struct task *t);

/* Change the status (see the table and side effects above).  error is the
 * message for FAILED/PAUSED (NULL or "": cleared; ignored for other states);
 * reason is required for PAUSED (-EINVAL without one), ignored otherwise.
 * A forbidden transition: -EPERM "task 7 cannot go from COMPLETED to
 * ITERATING", and t is unchanged. */
int task_set_status(struct task *t, enum task_status to, const char *error,
		    enum task_pause_reason reason, int64_t now_ms, struct rv_error **err);

/* `rover restart`: restartCount + 1, lastRestartAt = now, then IN_PROGRESS
 * with its side effects.  -EPERM from MERGED or PUSHED; -ERANGE (t
 * unchanged) when restartCount is negative or already INT64_MAX. */
int task_restart(struct task *t, int64_t now_ms, struct rv_error **err);

/* `rover iterate`: iterations + 1, lastIterationAt = now, then IN_PROGRESS
 * with its side effects.  Only from a finished task (COMPLETED, FAILED,
 * MERGED, PUSHED): -EPERM otherwise; -ERANGE when iterations cannot grow.
 * t is unchanged on failure.  (The table above forbids COMPLETED ->
 * IN_PROGRESS for status files; a person asking for more work is not one.) */
int task_iterate(struct task *t, int64_t now_ms, struct rv_error **err);

/* The task's cost budget ("budgetUsd", set by rover task/resume --budget),
 * else project_default (0: none). */
double task_budget_usd(const struct task *t, double project_default);

/* Fields.  Getters return NULL / false / 0 when the field is absent or null. */
const char *task_get_str(const struct task *t, const char *key);
/* NULL deletes the key. */
void task_set_str(struct task *t, const char *key, const char *val);
bool task_get_int(const struct task *t, const char *key, int64_t *ret);
void task_set_int(struct task *t, const char *key, int64_t val);
/* An ISO-8601 field as epoch ms; false when absent or unparsable. */
bool task_get_time(const struct task *t, const char *key, int64_t *ret_ms);
/* ms < 0 deletes the key. */
void task_set_time(struct task *t, const char *key, int64_t ms);

const char *task_title(const struct task *t);        /* "" when absent */
int64_t task_iterations(const struct task *t);       /* >= 1 */
const char *task_container_id(const struct task *t); /* NULL when none */
const char *task_error(const struct task *t);        /* NULL when none */
enum task_pause_reason task_pause_reason(const struct task *t);

/* engine {kind, endpoint}: false when absent; either out pointer may be NULL. */
bool task_get_engine(const struct task *t, const char **ret_kind, const char **ret_endpoint);
void task_set_engine(struct task *t, const char *kind, const char *endpoint);

/* containerEnd: how the task's container ended, as the engine said when
 * rover saw it end (observe.c), so showing a task that no longer runs never
 * needs the engine.  Kept only for the container it names: the getter
 * returns NULL (borrowed otherwise) unless its id is the record's
 * containerId.  The setter takes the engine's fields and the time seen;
 * Podman's "stopped" (exited, not yet cleaned up) is recorded as "exited". */
struct json_object *task_container_end(const struct task *t);
void task_set_container_end(struct task *t, const char *id, const char *name, const char *state,
			    int exit_code, bool oom_killed, int64_t seen_ms);

/* autoRetry: the getter fills *ret (zeros when absent). */
void task_get_auto_retry(const struct task *t, struct task_auto_retry *ret);
/* Replace the fields of autoRetry (0 times and a NULL provider are left out);
 * fields of autoRetry this version does not know are kept. */
void task_set_auto_retry(struct task *t, const struct task_auto_retry *ar);
/* Manual resume: count back to 0, nothing scheduled. */
void task_auto_retry_reset(struct task *t);

/* The record itself, borrowed (for --json output). */
struct json_object *task_json(const struct task *t);

#endif
