/* Unit tests for supervisor/lib/retry: who is retried, when, how often, and
 * the crash-recovery decision - all with an injected clock and random number. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/timeutil.h"
#include "supervisor/lib/retry.h"

#define T0 1795000000000LL /* a fixed "now" */
#define MIN_MS (60 * 1000LL)

static struct retry_policy policy(int max, int64_t base, int64_t cap)
{
	struct project_retry pr = {.max = max, .base_seconds = base, .cap_seconds = cap};
	struct retry_policy p;
	retry_policy_init(&p, &pr);
	return p;
}

/* A task paused for `reason` at paused_at. */
static struct task *paused_task(enum task_pause_reason reason, int64_t paused_at)
{
	struct task *t = NULL;
	assert_int_equal(task_new(7, "t", "d", paused_at - 1000, &t, NULL), 0);
	assert_int_equal(
		task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, paused_at - 500, NULL),
		0);
	assert_int_equal(task_set_status(t, TASK_PAUSED, "limit", reason, paused_at, NULL), 0);
	return t;
}

static void set_retry(struct task *t, int64_t count, int64_t next, int64_t last)
{
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	ar.count = count;
	ar.next_retry_at_ms = next;
	ar.last_attempt_at_ms = last;
	task_set_auto_retry(t, &ar);
}

static struct task_auto_retry get_retry(const struct task *t)
{
	struct task_auto_retry ar;
	task_get_auto_retry(t, &ar);
	return ar;
}

static void test_policy_defaults_and_reset_window(void **state)
{
	(void)state;
	struct retry_policy p = policy(5, 60, 3600);
	assert_int_equal(p.max, 5);
	assert_int_equal(p.backoff.base_seconds, 60);
	assert_int_equal(p.reset_min_ms, 2 * MIN_MS);
	assert_int_equal(p.reset_max_ms, 9 * MIN_MS);
	assert_int_equal(retry_policy_set_reset_window(&p, NULL, NULL), 0);
	assert_int_equal(retry_policy_set_reset_window(&p, "", NULL), 0);
	assert_int_equal(p.reset_min_ms, 2 * MIN_MS);
	assert_int_equal(retry_policy_set_reset_window(&p, "1-3", NULL), 0);
	assert_int_equal(p.reset_min_ms, 1000);
	assert_int_equal(p.reset_max_ms, 3000);
	assert_int_equal(retry_policy_set_reset_window(&p, "0", NULL), 0);
	assert_int_equal(p.reset_min_ms, 0);
	assert_int_equal(p.reset_max_ms, 0);
	static const char *const bad[] = {"3-1",   "x",     "1-",       "-1",
					  "1-2-3", "1 - 2", "99999999", "1-100000"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_error_ struct rv_error *err = NULL;
		assert_int_equal(retry_policy_set_reset_window(&p, bad[i], &err), -EINVAL);
		assert_non_null(strstr(err->msg, "ROVER_RETRY_RESET_WINDOW"));
		/* unchanged on failure */
		assert_int_equal(p.reset_min_ms, 0);
		assert_int_equal(p.reset_max_ms, 0);
	}
}

static void test_only_retryable_pauses_are_eligible(void **state)
{
	(void)state;
	static const struct {
		enum task_pause_reason reason;
		bool eligible;
	} rows[] = {
		{TASK_PAUSE_RETRYABLE_ERROR, true},
		{TASK_PAUSE_USER, false},
		{TASK_PAUSE_SIGNAL, false},
		{TASK_PAUSE_ORPHAN, false},
	};
	struct retry_policy p = policy(5, 60, 3600);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct task *t = paused_task(rows[i].reason, T0);
		assert_int_equal(retry_eligible(t), rows[i].eligible);
		struct retry_decision d;
		retry_decide(t, &p, T0, 0, 0, &d);
		assert_int_equal(d.action, rows[i].eligible ? RETRY_SCHEDULE : RETRY_NONE);
		task_free(t);
	}
	/* FAILED (also "stopped by user") and active tasks are never retried. */
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	assert_int_equal(task_set_status(t, TASK_FAILED, "x", TASK_PAUSE_NONE, T0, NULL), 0);
	assert_false(retry_eligible(t));
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, T0, NULL), 0);
	assert_false(retry_eligible(t));
	struct retry_decision d;
	retry_decide(t, &p, T0, 0, 0, &d);
	assert_int_equal(d.action, RETRY_NONE);
	task_free(t);
}

static void test_due_from_reset_time(void **state)
{
	(void)state;
	struct retry_policy p = policy(5, 60, 3600);
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	int64_t reset = T0 + 3600 * 1000LL;
	/* reset + 2 min .. reset + 9 min, picked by rnd */
	assert_int_equal(retry_due_at(t, &p, T0, reset, 0), reset + 2 * MIN_MS);
	assert_int_equal(retry_due_at(t, &p, T0, reset, UINT32_MAX), reset + 9 * MIN_MS);
	int64_t mid = retry_due_at(t, &p, T0, reset, UINT32_MAX / 2);
	assert_true(mid > reset + 5 * MIN_MS && mid < reset + 6 * MIN_MS);
	/* a reset time long past: now, never in the past */
	assert_int_equal(retry_due_at(t, &p, T0, T0 - 3600 * 1000LL, UINT32_MAX), T0);
	/* the count does not matter with a known reset time */
	set_retry(t, 4, 0, 0);
	assert_int_equal(retry_due_at(t, &p, T0, reset, 0), reset + 2 * MIN_MS);
	/* a test window */
	assert_int_equal(retry_policy_set_reset_window(&p, "1-2", NULL), 0);
	assert_int_equal(retry_due_at(t, &p, T0, T0 + 1000, 0), T0 + 2000);
	assert_int_equal(retry_due_at(t, &p, T0, T0 + 1000, UINT32_MAX), T0 + 3000);
	task_free(t);
}

static void test_due_from_backoff(void **state)
{
	(void)state;
	struct retry_policy p = policy(5, 60, 600);
	/* Paused at T0; the supervisor looks at T0 + 10 s: the delay counts
	 * from the pause. */
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	int64_t now = T0 + 10000;
	/* attempt 0: 30..60 s after the pause (equal jitter) */
	assert_int_equal(retry_due_at(t, &p, now, 0, 0), T0 + 30000);
	assert_int_equal(retry_due_at(t, &p, now, 0, UINT32_MAX), T0 + 60000);
	/* attempt 2: 120..240 s */
	set_retry(t, 2, 0, 0);
	assert_int_equal(retry_due_at(t, &p, now, 0, 0), T0 + 120000);
	assert_int_equal(retry_due_at(t, &p, now, 0, UINT32_MAX), T0 + 240000);
	/* attempt 5 and beyond: capped at 600 s */
	set_retry(t, 5, 0, 0);
	assert_int_equal(retry_due_at(t, &p, now, 0, UINT32_MAX), T0 + 600000);
	set_retry(t, 999999, 0, 0);
	assert_int_equal(retry_due_at(t, &p, now, 0, UINT32_MAX), T0 + 600000);
	/* a later attempt (a failed start) is the base, not the old pause */
	set_retry(t, 1, 0, T0 + 50000);
	assert_int_equal(retry_due_at(t, &p, T0 + 60000, 0, 0), T0 + 50000 + 60000);
	/* a base in the future (clock stepped back) counts from now */
	assert_int_equal(retry_due_at(t, &p, T0 + 20000, 0, 0), T0 + 20000 + 60000);
	/* the supervisor started long after: due now, not in the past */
	set_retry(t, 0, 0, 0);
	assert_int_equal(retry_due_at(t, &p, T0 + 3600 * 1000LL, 0, UINT32_MAX),
			 T0 + 3600 * 1000LL);
	task_free(t);
}

static void test_decide_schedule_wait_fire(void **state)
{
	(void)state;
	struct retry_policy p = policy(3, 10, 100);
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	struct retry_decision d;
	retry_decide(t, &p, T0, 0, 0, &d);
	assert_int_equal(d.action, RETRY_SCHEDULE);
	assert_int_equal(d.at_ms, T0 + 5000);
	assert_int_equal(d.attempt, 1);
	assert_int_equal(d.max, 3);

	assert_true(retry_apply_schedule(t, &p, T0, 0, 0));
	struct task_auto_retry ar = get_retry(t);
	assert_int_equal(ar.next_retry_at_ms, T0 + 5000);
	assert_int_equal(ar.max, 3);
	assert_int_equal(ar.count, 0);
	/* scheduled once: a second pass (another rnd) changes nothing */
	assert_false(retry_apply_schedule(t, &p, T0 + 1, 0, UINT32_MAX));
	assert_int_equal(get_retry(t).next_retry_at_ms, T0 + 5000);

	retry_decide(t, &p, T0 + 4999, 0, 0, &d);
	assert_int_equal(d.action, RETRY_WAIT);
	assert_int_equal(d.at_ms, T0 + 5000);
	assert_false(retry_apply_attempt(t, &p, T0 + 4999)); /* not due */
	assert_int_equal(get_retry(t).count, 0);

	retry_decide(t, &p, T0 + 5000, 0, 0, &d);
	assert_int_equal(d.action, RETRY_FIRE);
	assert_true(retry_apply_attempt(t, &p, T0 + 5000));
	ar = get_retry(t);
	assert_int_equal(ar.count, 1);
	assert_int_equal(ar.last_attempt_at_ms, T0 + 5000);
	assert_int_equal(ar.next_retry_at_ms, 0);
	/* the same firing cannot count twice (a second supervisor re-checking
	 * the record under the task lock) */
	assert_false(retry_apply_attempt(t, &p, T0 + 5001));
	assert_int_equal(get_retry(t).count, 1);
	task_free(t);
}

/* Resume -> re-pause cycles keep counting until the budget is spent. */
static void test_budget_across_repauses(void **state)
{
	(void)state;
	struct retry_policy p = policy(3, 1, 1);
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	int64_t now = T0;
	for (int attempt = 1; attempt <= 3; attempt++) {
		struct retry_decision d;
		retry_decide(t, &p, now, 0, 0, &d);
		assert_int_equal(d.action, RETRY_SCHEDULE);
		assert_int_equal(d.attempt, attempt);
		assert_true(retry_apply_schedule(t, &p, now, 0, 0));
		now = get_retry(t).next_retry_at_ms;
		assert_true(retry_apply_attempt(t, &p, now));
		/* the resume marks it IN_PROGRESS; the agent pauses again */
		assert_int_equal(
			task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, now, NULL), 0);
		assert_int_equal(get_retry(t).next_retry_at_ms, 0);
		now += 1000;
		assert_int_equal(task_set_status(t, TASK_PAUSED, "limit again",
						 TASK_PAUSE_RETRYABLE_ERROR, now, NULL),
				 0);
		assert_int_equal(get_retry(t).count, attempt);
	}
	struct retry_decision d;
	retry_decide(t, &p, now + 3600 * 1000LL, 0, 0, &d);
	assert_int_equal(d.action, RETRY_GIVE_UP);
	assert_false(retry_apply_schedule(t, &p, now, 0, 0));
	assert_false(retry_apply_attempt(t, &p, now + 3600 * 1000LL));
	/* give-up leaves nothing scheduled and the budget recorded, which is
	 * what list_view_needs_person() reads */
	assert_false(retry_apply_give_up(t, &p, now)); /* already so */
	struct task_auto_retry ar = get_retry(t);
	assert_int_equal(ar.count, 3);
	assert_int_equal(ar.max, 3);
	assert_int_equal(ar.next_retry_at_ms, 0);
	task_free(t);
}

static void test_give_up_records_the_budget(void **state)
{
	(void)state;
	struct retry_policy p = policy(2, 60, 600);
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	/* scheduled under an older, larger budget; the policy now says 2 */
	set_retry(t, 2, T0 + 1000, T0 - 5000);
	struct retry_decision d;
	retry_decide(t, &p, T0, 0, 0, &d);
	assert_int_equal(d.action, RETRY_GIVE_UP);
	assert_true(retry_apply_give_up(t, &p, T0));
	struct task_auto_retry ar = get_retry(t);
	assert_int_equal(ar.max, 2);
	assert_int_equal(ar.next_retry_at_ms, 0);
	assert_int_equal(ar.count, 2);
	/* auto-retry off (max 0): give up at once */
	struct retry_policy off = policy(0, 60, 600);
	struct task *t2 = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	retry_decide(t2, &off, T0, 0, 0, &d);
	assert_int_equal(d.action, RETRY_GIVE_UP);
	assert_false(retry_apply_schedule(t2, &off, T0, 0, 0));
	task_free(t2);
	task_free(t);
	/* a hand-edited record's count INT64_MAX: give up, no overflow (UBSan) */
	t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	set_retry(t, INT64_MAX, 0, 0);
	retry_decide(t, &p, T0, 0, 0, &d);
	assert_int_equal(d.action, RETRY_GIVE_UP);
	assert_int_equal(d.attempt, INT_MAX);
	task_free(t);
}

static void test_budget_resets_on_completed_and_manual_resume(void **state)
{
	(void)state;
	struct retry_policy p = policy(3, 60, 600);
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	set_retry(t, 3, 0, T0);
	/* manual resume */
	task_auto_retry_reset(t);
	assert_int_equal(get_retry(t).count, 0);
	struct retry_decision d;
	retry_decide(t, &p, T0, 0, 0, &d);
	assert_int_equal(d.action, RETRY_SCHEDULE);
	/* success */
	set_retry(t, 2, T0 + 5, T0);
	assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, T0, NULL), 0);
	assert_int_equal(task_set_status(t, TASK_COMPLETED, NULL, TASK_PAUSE_NONE, T0, NULL), 0);
	assert_int_equal(get_retry(t).count, 0);
	task_free(t);
}

static void test_undo_attempt(void **state)
{
	(void)state;
	struct retry_policy p = policy(3, 60, 600);
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	set_retry(t, 2, 0, T0);
	retry_undo_attempt(t, T0 + 10);
	struct task_auto_retry ar = get_retry(t);
	assert_int_equal(ar.count, 1);
	assert_int_equal(ar.next_retry_at_ms, T0 + 10);
	struct retry_decision d;
	retry_decide(t, &p, T0 + 10, 0, 0, &d);
	assert_int_equal(d.action, RETRY_FIRE);
	assert_int_equal(d.attempt, 2); /* the same attempt again, not a new one */
	set_retry(t, 0, 0, 0);
	retry_undo_attempt(t, T0);
	assert_int_equal(get_retry(t).count, 0);
	task_free(t);
}

/* Every row of the crash-recovery decision. */
static void test_recover_decide_table(void **state)
{
	(void)state;
	const int64_t since = T0;
	struct retry_recover_obs base = {.in_flight = true,
					 .since_ms = since,
					 .status = TASK_IN_PROGRESS,
					 .engine_known = true};
	struct retry_recover_obs o;

	o = base;
	o.in_flight = false;
	assert_int_equal(retry_recover_decide(&o), RECOVER_NONE);

	o = base; /* a live resume holds the lock: never touch it */
	o.lock_held = true;
	o.container_exists = true;
	o.container_created_ms = since + 1000;
	assert_int_equal(retry_recover_decide(&o), RECOVER_WAIT);

	o = base; /* finished: container recorded */
	o.has_container_id = true;
	assert_int_equal(retry_recover_decide(&o), RECOVER_CLEAR);

	static const enum task_status settled[] = {TASK_PAUSED, TASK_FAILED, TASK_COMPLETED,
						   TASK_NEW};
	for (size_t i = 0; i < ARRAY_SIZE(settled); i++) {
		o = base;
		o.status = settled[i];
		assert_int_equal(retry_recover_decide(&o), RECOVER_CLEAR);
	}

	o = base; /* the engine cannot be asked: wait, decide nothing */
	o.engine_known = false;
	assert_int_equal(retry_recover_decide(&o), RECOVER_WAIT);

	o = base; /* killed before the container was created */
	assert_int_equal(retry_recover_decide(&o), RECOVER_ROLLBACK);

	o = base; /* only the previous run's container is there */
	o.container_exists = true;
	o.container_created_ms = since - 60000;
	assert_int_equal(retry_recover_decide(&o), RECOVER_ROLLBACK);

	o = base; /* created, killed before start */
	o.container_exists = true;
	o.container_created_ms = since + 200;
	o.container_never_started = true;
	assert_int_equal(retry_recover_decide(&o), RECOVER_START);

	o = base; /* started, killed before it was recorded */
	o.container_exists = true;
	o.container_created_ms = since + 200;
	assert_int_equal(retry_recover_decide(&o), RECOVER_ADOPT);

	o = base; /* created in the marker's second (whole-second creation times) */
	o.container_exists = true;
	o.container_created_ms = (since / 1000) * 1000;
	assert_int_equal(retry_recover_decide(&o), RECOVER_ADOPT);

	o = base; /* ITERATING: the new container already wrote "running" */
	o.status = TASK_ITERATING;
	o.container_exists = true;
	o.container_created_ms = since + 200;
	assert_int_equal(retry_recover_decide(&o), RECOVER_ADOPT);

	assert_string_equal(retry_recover_action_name(RECOVER_ROLLBACK), "rollback");
	assert_string_equal(retry_action_name(RETRY_GIVE_UP), "give_up");
}

/* The whole protocol, crashing after each step of an auto-retry: the count
 * equals the containers started, whatever the crash point. */
static void test_crash_points_neither_lose_nor_repeat(void **state)
{
	(void)state;
	struct retry_policy p = policy(5, 1, 1);
	for (int crash = 0; crash <= 3; crash++) {
		struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
		int64_t now = T0;
		int started = 0;
		assert_true(retry_apply_schedule(t, &p, now, 0, 0));
		now = get_retry(t).next_retry_at_ms;
		/* step 1: one write = attempt recorded + IN_PROGRESS + marker */
		if (crash >= 1) {
			assert_true(retry_apply_attempt(t, &p, now));
			assert_int_equal(task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE,
							 now, NULL),
					 0);
		}
		/* step 2: the container is created (and started) */
		if (crash >= 2)
			started++;
		/* step 3: recorded (marker gone) */
		bool recorded = crash >= 3;
		/* restart: recovery */
		struct retry_recover_obs o = {.in_flight = crash >= 1 && !recorded,
					      .since_ms = now,
					      .status = task_status(t),
					      .has_container_id = recorded,
					      .engine_known = true,
					      .container_exists = crash >= 2,
					      .container_created_ms = now};
		enum retry_recover_action a = retry_recover_decide(&o);
		if (a == RECOVER_ROLLBACK) {
			assert_int_equal(task_set_status(t, TASK_PAUSED, "limit",
							 TASK_PAUSE_RETRYABLE_ERROR, now, NULL),
					 0);
			retry_undo_attempt(t, now);
		}
		/* then the scheduler carries on: fire if still paused */
		struct retry_decision d;
		retry_decide(t, &p, now, 0, 0, &d);
		if (d.action == RETRY_FIRE) {
			assert_true(retry_apply_attempt(t, &p, now));
			started++;
		}
		assert_int_equal(started, 1);
		assert_int_equal(get_retry(t).count, 1);
		task_free(t);
	}
}

#define DAY_MS (24 * 3600 * 1000LL)

/* resetAt comes from a container-written file: judged on an injected clock. */
static void test_reset_horizon(void **state)
{
	(void)state;
	int64_t ms = -1;
	char iso[TIMEUTIL_ISO_LEN];
	assert_int_equal(retry_reset_check(NULL, T0, &ms), RETRY_RESET_NONE);
	assert_int_equal(retry_reset_check("", T0, &ms), RETRY_RESET_NONE);
	assert_int_equal(retry_reset_check("9999-12-31T23:59:59Z", T0, &ms), RETRY_RESET_TOO_FAR);
	assert_int_equal(retry_reset_check("1999-12-31T23:59:59Z", T0, &ms), RETRY_RESET_TOO_OLD);
	assert_int_equal(retry_reset_check("tomorrow", T0, &ms), RETRY_RESET_UNPARSABLE);
	assert_int_equal(ms, -1); /* not written */
	/* exactly 7 days ahead is believed, a second more is not */
	timeutil_format_iso(T0 + 7 * DAY_MS, iso);
	assert_int_equal(retry_reset_check(iso, T0, &ms), RETRY_RESET_OK);
	assert_int_equal(ms, T0 + 7 * DAY_MS);
	timeutil_format_iso(T0 + 7 * DAY_MS + 1000, iso);
	assert_int_equal(retry_reset_check(iso, T0, &ms), RETRY_RESET_TOO_FAR);
	/* a past reset time is fine (due at once) */
	timeutil_format_iso(T0 - DAY_MS, iso);
	assert_int_equal(retry_reset_check(iso, T0, &ms), RETRY_RESET_OK);

	_cleanup_free_ char *note = retry_reset_note(RETRY_RESET_TOO_FAR, "9999-12-31T23:59:59Z");
	assert_string_equal(note, "reset time 9999-12-31T23:59:59Z ignored: more than 7 days "
				  "ahead; the normal backoff is used");
	_cleanup_free_ char *esc = retry_reset_note(RETRY_RESET_UNPARSABLE, "\x1b[2J");
	assert_null(strchr(esc, 0x1b));
	assert_null(retry_reset_note(RETRY_RESET_OK, "x"));

	/* retry_due_at never trusts an absurd value even if handed one */
	struct retry_policy p = policy(5, 60, 3600);
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	int64_t year9999 = 253402300799000LL;
	int64_t backoff = retry_due_at(t, &p, T0, 0, 0);
	assert_int_equal(retry_due_at(t, &p, T0, year9999, 0), backoff);
	assert_true(backoff < T0 + DAY_MS);

	/* the note is recorded once: a second identical note changes nothing */
	assert_true(retry_set_reset_note(t, note));
	assert_false(retry_set_reset_note(t, note));
	assert_true(retry_set_reset_note(t, NULL));
	assert_false(retry_set_reset_note(t, NULL));
	task_free(t);
}

/* Scheduling is idempotent: after one SCHEDULE the next passes WAIT, so the
 * supervisor does not rewrite the record on every pass. */
static void test_absurd_reset_scheduled_once(void **state)
{
	(void)state;
	struct retry_policy p = policy(5, 60, 3600);
	struct task *t = paused_task(TASK_PAUSE_RETRYABLE_ERROR, T0);
	int64_t year9999 = 253402300799000LL;
	assert_true(retry_apply_schedule(t, &p, T0, year9999, 0));
	struct task_auto_retry ar = get_retry(t);
	assert_true(ar.next_retry_at_ms > T0 && ar.next_retry_at_ms < T0 + DAY_MS);
	for (int pass = 1; pass < 5; pass++)
		assert_false(retry_apply_schedule(t, &p, T0 + pass * 1000, year9999, 0));
	task_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_defaults_and_reset_window),
		cmocka_unit_test(test_only_retryable_pauses_are_eligible),
		cmocka_unit_test(test_due_from_reset_time),
		cmocka_unit_test(test_due_from_backoff),
		cmocka_unit_test(test_reset_horizon),
		cmocka_unit_test(test_absurd_reset_scheduled_once),
		cmocka_unit_test(test_decide_schedule_wait_fire),
		cmocka_unit_test(test_budget_across_repauses),
		cmocka_unit_test(test_give_up_records_the_budget),
		cmocka_unit_test(test_budget_resets_on_completed_and_manual_resume),
		cmocka_unit_test(test_undo_attempt),
		cmocka_unit_test(test_recover_decide_table),
		cmocka_unit_test(test_crash_points_neither_lose_nor_repeat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
