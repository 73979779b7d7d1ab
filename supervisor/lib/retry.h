/*
 * retry.h - the auto-retry policy (docs/design/retry-policy.md), as pure functions
 * of a task record, the policy, the clock value and a random number.  Nothing
 * here reads a clock, a random source or the environment, and only
 * retry_read_reset_at() reads a file (through iterfile.h); the
 * supervisor loop (supervise.c) and the resume helper (resume.c) pass them in
 * and persist what these functions change through task_store_update().
 * docs/design/retry-policy.md has the reasons; the state lives in
 * description.json `autoRetry` {count, max, nextRetryAt, provider,
 * lastAttemptAt} (task.h).
 *
 * Per pass of the scheduler, for each task, retry_decide() says:
 *   NONE      not a candidate: only PAUSED with pauseReason retryable_error
 *             or stalled is
 *   GIVE_UP   the budget is spent (count >= max, or max 0: auto-retry off):
 *             nothing is scheduled; a person must run `rover resume <id>`
 *   SCHEDULE  nothing scheduled yet: persist nextRetryAt = at
 *   WAIT      scheduled for `at`, not due yet
 *   FIRE      due: resume it (resume.c, auto mode), which records the attempt
 *             (count + 1, lastAttemptAt) in the same write that marks the
 *             task IN_PROGRESS
 * The count survives re-pauses (a resumed task that pauses again keeps it);
 * only COMPLETED (task.c) and a manual resume (task_auto_retry_reset) reset it.
 *
 * When the next attempt is due (retry_due_at):
 *   known provider reset time R (checkpoint `resetAt`):
 *       max(now, R + reset window), the window picked by rnd inside
 *       [reset_min_ms, reset_max_ms] (default 2..9 minutes);
 *   unknown: max(now, base + backoff_delay_ms(count)), base = the later of
 *       pausedAt and lastAttemptAt (else now): exponential from baseSeconds,
 *       doubling to capSeconds, with jitter (backoff.h).
 *
 * Crash recovery (retry_recover_decide): a resume records `resumeInFlight`
 * (resume.h) in the same write that marks the task IN_PROGRESS and removes it
 * in the write that records the new container (or restores the old status).
 * A task still IN_PROGRESS/ITERATING with that marker and no container id,
 * whose resume lock is not held, is a resume that died half-way; the engine
 * then decides: a container of the iteration created since the marker is
 * adopted (started first if it never was), else the resume is rolled back as
 * if it never happened (for an auto-retry the attempt is given back and fired
 * again at once).  So a supervisor killed at any point neither loses nor
 * repeats an attempt.
 */
#ifndef ROVER_RETRY_H
#define ROVER_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "supervisor/lib/backoff.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task.h"

/* Default window after a provider's reset time: 2-9 minutes. */
#define RETRY_RESET_MIN_MS BACKOFF_RESET_MIN_MS
#define RETRY_RESET_MAX_MS BACKOFF_RESET_MAX_MS
/* Longest window accepted from ROVER_RETRY_RESET_WINDOW. */
#define RETRY_RESET_WINDOW_LIMIT_S (24 * 3600)
/* An auto-retry that found the task being resumed by someone else waits
 * this long before it is due again (the other resume decides meanwhile). */
#define RETRY_BUSY_DEFER_MS 10000
/* A provider reset time comes from a container-written file (checkpoint or
 * status `resetAt`): it is believed only between RETRY_RESET_FLOOR_MS
 * (2000-01-01) and now + RETRY_RESET_HORIZON_MS; outside, or unparsable, it
 * is unknown (normal backoff) and the ignored value is reported. */
#define RETRY_RESET_HORIZON_MS (7LL * 24 * 3600 * 1000)
#define RETRY_RESET_FLOOR_MS 946684800000LL

enum retry_reset_check {
	RETRY_RESET_NONE,       /* no value */
	RETRY_RESET_OK,         /* *ret_ms is the time */
	RETRY_RESET_TOO_FAR,    /* more than 7 days ahead */
	RETRY_RESET_TOO_OLD,    /* before 2000 */
	RETRY_RESET_UNPARSABLE, /* not an RFC 3339 time */
};

/* Judge a `resetAt` text against now_ms.  *ret_ms is written only for OK. */
enum retry_reset_check retry_reset_check(const char *text, int64_t now_ms, int64_t *ret_ms);

/* "reset time <text> ignored: more than 7 days ahead" (newly allocated), or
 * NULL for NONE and OK.  Control characters in text are escaped. */
char *retry_reset_note(enum retry_reset_check c, const char *text);

/* The provider reset time of an iteration: `resetAt` of its checkpoint
 * (else of its status file), both read through iterfile.h (never followed,
 * never blocked on) and judged by retry_reset_check().  0: unknown.
 * *ret_note (may be NULL) gets retry_reset_note() of an ignored value. */
int64_t retry_read_reset_at(const char *checkpoint_path, const char *status_path, int64_t now_ms,
			    char **ret_note);

/* Record (note != NULL) or clear the ignored reset time in the record:
 * autoRetry.resetAtIgnored.  True when the record changed. */
bool retry_set_reset_note(struct task *t, const char *note);

struct retry_policy {
	int max; /* attempts across re-pauses; 0: auto-retry off */
	struct backoff_policy backoff;
	int64_t reset_min_ms; /* window after a known reset time */
	int64_t reset_max_ms;
};

/* The project's settings (project.h) with the default reset window. */
void retry_policy_init(struct retry_policy *p, const struct project_retry *settings);

/* Apply a reset window "MIN-MAX" in seconds (ROVER_RETRY_RESET_WINDOW, e.g.
 * "1-2"; a single number N means N-N).  NULL or "" keeps the current one.
 * Bad text or MIN > MAX or MAX > RETRY_RESET_WINDOW_LIMIT_S: -EINVAL naming
 * the variable, and p is unchanged. */
int retry_policy_set_reset_window(struct retry_policy *p, const char *spec, struct rv_error **err);

/* PAUSED with pauseReason retryable_error or stalled. */
bool retry_eligible(const struct task *t);

enum retry_action {
	RETRY_NONE,
	RETRY_GIVE_UP,
	RETRY_SCHEDULE,
	RETRY_WAIT,
	RETRY_FIRE,
};

struct retry_decision {
	enum retry_action action;
	int64_t at_ms; /* SCHEDULE: when to persist; WAIT/FIRE: the scheduled time */
	int attempt;   /* the attempt the next firing makes (count + 1) */
	int max;       /* the budget applied (the policy's) */
};

/* The due time of the next attempt (see top).  reset_at_ms <= 0: unknown. */
int64_t retry_due_at(const struct task *t, const struct retry_policy *p, int64_t now_ms,
		     int64_t reset_at_ms, uint32_t rnd);

/* What to do with t now (see top).  reset_at_ms and rnd only matter for
 * SCHEDULE. */
void retry_decide(const struct task *t, const struct retry_policy *p, int64_t now_ms,
		  int64_t reset_at_ms, uint32_t rnd, struct retry_decision *ret);

/* Mutations for task_store_update() callbacks; each re-decides on the record
 * as it is on disk and returns true when it changed t.
 *   schedule: a SCHEDULE decision is persisted (nextRetryAt, max, provider
 *             kept);
 *   give_up:  for a GIVE_UP decision, max is recorded as the policy's and
 *             nextRetryAt removed, so `rover list` (list_view_needs_person)
 *             tells a person to resume;
 *   attempt:  a FIRE decision becomes an attempt: count + 1, lastAttemptAt =
 *             now, nextRetryAt removed (the caller marks IN_PROGRESS in the
 *             same write).  false when it is not due (any more). */
bool retry_apply_schedule(struct task *t, const struct retry_policy *p, int64_t now_ms,
			  int64_t reset_at_ms, uint32_t rnd);
bool retry_apply_give_up(struct task *t, const struct retry_policy *p, int64_t now_ms);
bool retry_apply_attempt(struct task *t, const struct retry_policy *p, int64_t now_ms);

/* Give an attempt back that never started a container (crash recovery, or
 * the task turned out to be resumed by someone else): count - 1 (not below
 * 0) and due again at due_ms. */
void retry_undo_attempt(struct task *t, int64_t due_ms);

/* ---- crash recovery ------------------------------------------------------ */

struct retry_recover_obs {
	bool in_flight;   /* resumeInFlight is recorded */
	int64_t since_ms; /* when that resume marked the task */
	enum task_status status;
	bool has_container_id;
	bool lock_held;        /* a live process holds the resume lock */
	bool engine_known;     /* the engine answered the container listing */
	bool container_exists; /* a container of this task's iteration exists */
	int64_t container_created_ms;
	bool container_never_started; /* its state is "created" */
};

enum retry_recover_action {
	RECOVER_NONE,     /* no resume in flight */
	RECOVER_WAIT,     /* a resume runs right now, or the engine cannot tell */
	RECOVER_CLEAR,    /* the resume finished; only the marker is left: drop it */
	RECOVER_ADOPT,    /* its container exists: record it */
	RECOVER_START,    /* its container was created, never started: start, record */
	RECOVER_ROLLBACK, /* no container: restore the status before the resume */
};

enum retry_recover_action retry_recover_decide(const struct retry_recover_obs *o);

const char *retry_action_name(enum retry_action a);
const char *retry_recover_action_name(enum retry_recover_action a);

#endif
