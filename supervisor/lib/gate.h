/*
 * gate.h - provider-aware admission: the account gate, the start queue and
 * the release stagger (docs/design/retry-policy.md, "Account gate and
 * queue").
 *
 * An *account* is an agent tool plus the credential its container gets:
 * tasks that share both share a provider limit.  The credential is never
 * stored: gate_account_of() keeps the first 12 hex digits of SHA-256 over
 * the credential variable's name, value and the tool's base-URL variable
 * (key "claude:3f2a9c01b2e4", shown "claude (key …b2e4)").  Without a
 * credential the account is the tool alone ("claude").
 *
 * A *gate* is closed for an account when one of its tasks paused on a
 * provider limit that named a reset time R (gate_close).  Until R nothing of
 * that account starts: no queued task, no auto-retry (gate_check: CLOSED).
 * From R on, one task goes first, the *probe* (PROBE); the others follow
 * one at a time, the first probe_wait after the probe and then stagger
 * apart (STAGGER until then, RELEASE when one may go).  A probe that hits
 * the limit again closes the gate again with the new reset time, and the
 * probe starts over.  Once R has passed, the probe's wait is over and no
 * work of the account waits any more, the gate is removed (gate_expire).
 *
 * The *queue*: queue_plan() takes every piece of work that wants to start a
 * container (a NEW task recorded as queued, a due auto-retry), in creation
 * order (task id), and says which may start now: the account's gate must
 * let it (each admission moves the gate: the second of an account in the
 * same plan waits for the stagger) and, with max_running > 0, a slot must be
 * free (running + started so far < max_running), and so must one of its
 * engine's when that has a limit (group_max).  A task blocked by its gate
 * does not hold back a later task of another account; a task blocked for a
 * slot holds back every later one that needs the same slot (slots are
 * served in creation order).
 * Waiting items get a 1-based position among the waiting.
 *
 * Everything above is pure: the clock is a parameter and nothing reads the
 * environment (gate_account_of takes a lookup function).  The table lives
 * in <store>/gates.json (gate_table_load/gate_table_save: atomic, durable),
 * written only with the queue lock held (gate_queue_lock: flock on
 * <store>/.queue.lock, which also serialises admissions: whoever counts
 * free slots starts its containers before another process counts).
 */
#ifndef ROVER_GATE_H
#define ROVER_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define GATE_FILE "gates.json"
#define GATE_LOCK_FILE ".queue.lock"
#define GATE_DEFAULT_PROBE_WAIT_S 60
#define GATE_DEFAULT_STAGGER_S 30
/* A reset time further ahead is not believed (as retry.h). */
#define GATE_HORIZON_MS (7LL * 24 * 3600 * 1000)
#define GATE_MAX_ENTRIES 256

/* The credential variables per tool, in the order the CLIs prefer them. */
typedef const char *(*gate_getenv_fn)(const char *name);

/* *ret_key: "claude" or "claude:<12 hex>"; *ret_label: "claude" or
 * "claude (key …<4 hex>)" / "(token …)".  tool NULL or "": "claude" (the
 * runner's default).  Both newly allocated. */
void gate_account_of(const char *tool, gate_getenv_fn get, char **ret_key, char **ret_label);

struct gate {
	char *account;    /* key */
	char *label;      /* for people */
	char *reason;     /* the limit's message (may be NULL) */
	int64_t until_ms; /* the provider's reset time */
	int64_t closed_at_ms;
	int64_t task_id;    /* the task that hit the limit */
	int64_t probe_task; /* 0: no probe yet */
	int64_t probe_at_ms;
	int64_t last_release_ms;
};

struct gate_table {
	struct gate *v;
	size_t n;
};

struct gate_policy {
	int64_t probe_wait_ms; /* after the probe, before the next one goes */
	int64_t stagger_ms;    /* between the later ones */
};

/* Defaults, then ROVER_GATE_PROBE_SECONDS / ROVER_GATE_STAGGER_SECONDS
 * (decimal, 0..86400) when get finds them; bad text: -EINVAL naming it. */
int gate_policy_init(struct gate_policy *p, gate_getenv_fn get, struct rv_error **err);

void gate_table_release(struct gate_table *t);
struct gate *gate_find(const struct gate_table *t, const char *account);

/* Close (or keep closed) account's gate until until_ms.  Does nothing and
 * returns false when until_ms is not after now, not within GATE_HORIZON_MS,
 * or not later than the gate's current reset time; else the gate starts
 * over (no probe yet) and true. */
bool gate_close(struct gate_table *t, const char *account, const char *label, int64_t until_ms,
		int64_t task_id, const char *reason, int64_t now_ms);

enum gate_verdict {
	GATE_OPEN,    /* no gate */
	GATE_CLOSED,  /* before the reset: *ret_at = the reset time */
	GATE_PROBE,   /* may go, as the probe */
	GATE_STAGGER, /* released, but not this one yet: *ret_at */
	GATE_RELEASE, /* may go */
};

enum gate_verdict gate_check(const struct gate *g, const struct gate_policy *p, int64_t now_ms,
			     int64_t *ret_at);
/* Record that task id was let through g (the probe, or a release). */
void gate_admitted(struct gate *g, int64_t id, int64_t now_ms);

/* Remove the gate of account when its reset has passed, its probe's wait is
 * over (or there was none) and waiting == 0.  True when removed. */
bool gate_expire(struct gate_table *t, const char *account, const struct gate_policy *p,
		 int64_t now_ms, size_t waiting);

/* ---- the queue ------------------------------------------------------------- */

enum queue_why {
	QUEUE_START,   /* start it now */
	QUEUE_GATE,    /* its account is limited until at_ms */
	QUEUE_STAGGER, /* its account is being released; its turn at at_ms */
	QUEUE_SLOTS,   /* maxRunning containers run already */
	QUEUE_NOT_DUE, /* a retry not due yet: not planned */
};

struct queue_item {
	int64_t id;
	const char *account;
	bool due; /* false: a scheduled retry (counts as waiting for its gate) */
	/* A second limit, the item's engine (maxRunning per engine): items of
	 * one engine share *group_running, which a START increments. */
	int group_max; /* <= 0: none */
	int *group_running;
	/* results */
	enum queue_why why;
	bool probe;      /* START as its gate's probe */
	int64_t at_ms;   /* GATE, STAGGER */
	int position;    /* 1-based among the waiting; 0 for START and NOT_DUE */
	bool group_full; /* SLOTS because of its engine's limit */
};

/* Plan (see top).  items are sorted by id here; gates is updated for every
 * START (gate_admitted).  max_running <= 0: no limit.  Returns the earliest
 * at_ms of a waiting item (0: none). */
int64_t queue_plan(struct queue_item *items, size_t n, struct gate_table *gates,
		   const struct gate_policy *p, int max_running, int running, int64_t now_ms);

/* "queued" reason names: "gate", "stagger", "maxRunning". */
const char *queue_why_name(enum queue_why w);

/* One line for people: "claude (key …3f2a): limited until 14:00",
 * "claude (key …3f2a): released one at a time, next at 14:02", "waiting for
 * a free slot (maxRunning 2)", with an engine's limit (label = the engine)
 * "waiting for a free docker slot (maxRunning 2)".  Newly allocated. */
char *queue_why_text(enum queue_why w, const char *label, int64_t at_ms, int max_running);

/* ---- persistence --------------------------------------------------------------- */

/* Read <store>/gates.json (missing: empty table).  A file that does not
 * parse is reported (-EBADMSG naming it) and *ret is empty. */
int gate_table_load(const char *store_dir, struct gate_table *ret, struct rv_error **err);
/* Write it atomically and durably (an empty table removes the file). */
int gate_table_save(const char *store_dir, const struct gate_table *t, struct rv_error **err);

/* flock(LOCK_EX) on <store>/.queue.lock (O_CLOEXEC); *ret_fd to close. */
int gate_queue_lock(const char *store_dir, int *ret_fd, struct rv_error **err);

#endif
