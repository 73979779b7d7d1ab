/* Unit tests for supervisor/lib/orphan: the container states and every row
 * of the orphan decision table, and how a verdict is written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/cleanup.h"
#include "supervisor/lib/orphan.h"

#define T0 1795000000000LL

static struct task *task_in(enum task_status s)
{
	struct task *t = NULL;
	assert_int_equal(task_new(3, "t", "d", T0 - 10000, &t, NULL), 0);
	if (s == TASK_NEW)
		return t;
	assert_int_equal(
		task_set_status(t, TASK_IN_PROGRESS, NULL, TASK_PAUSE_NONE, T0 - 9000, NULL), 0);
	switch (s) {
	case TASK_IN_PROGRESS:
		break;
	case TASK_PAUSED:
		assert_int_equal(
			task_set_status(t, s, "limit", TASK_PAUSE_RETRYABLE_ERROR, T0 - 8000, NULL),
			0);
		break;
	case TASK_MERGED:
		assert_int_equal(
			task_set_status(t, TASK_COMPLETED, NULL, TASK_PAUSE_NONE, T0 - 8000, NULL),
			0);
		assert_int_equal(task_set_status(t, s, NULL, TASK_PAUSE_NONE, T0 - 7000, NULL), 0);
		break;
	default:
		assert_int_equal(
			task_set_status(t, s, "old error", TASK_PAUSE_NONE, T0 - 8000, NULL), 0);
	}
	return t;
}

/* ---- orphan_container_from_state ----------------------------------------------- */

static void test_container_states(void **state)
{
	(void)state;
	static const struct {
		const char *state;
		enum orphan_container want;
	} rows[] = {
		{"running", ORPHAN_CONTAINER_ALIVE},    {"created", ORPHAN_CONTAINER_ALIVE},
		{"restarting", ORPHAN_CONTAINER_ALIVE}, {"paused", ORPHAN_CONTAINER_ALIVE},
		{"Running", ORPHAN_CONTAINER_ALIVE},    {"configured", ORPHAN_CONTAINER_ALIVE},
		{"exited", ORPHAN_CONTAINER_EXITED},    {"dead", ORPHAN_CONTAINER_EXITED},
		{"removing", ORPHAN_CONTAINER_EXITED},  {"stopped", ORPHAN_CONTAINER_EXITED},
		{NULL, ORPHAN_CONTAINER_UNKNOWN},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		assert_int_equal(orphan_container_from_state(rows[i].state), rows[i].want);
}

/* ---- orphan_decide -------------------------------------------------------------- */

static struct orphan_observation obs_base(void)
{
	return (struct orphan_observation){.status = TASK_ITERATING,
					   .has_container_id = true,
					   .started_ms = T0 - 60000,
					   .now_ms = T0,
					   .container = ORPHAN_CONTAINER_EXITED};
}

static void decide(const struct orphan_observation *o, enum orphan_action want,
		   const char *msg_part)
{
	struct orphan_verdict v;
	orphan_decide(o, &v);
	assert_int_equal(v.action, want);
	if (msg_part) {
		assert_non_null(v.message);
		assert_non_null(strstr(v.message, msg_part));
	} else if (want == ORPHAN_KEEP || want == ORPHAN_MARK_COMPLETED) {
		assert_null(v.message);
	}
	orphan_verdict_release(&v);
	assert_null(v.message);
}

static void test_orphan_inactive_tasks_are_never_touched(void **state)
{
	(void)state;
	static const enum task_status s[] = {TASK_NEW,       TASK_PAUSED, TASK_FAILED,
					     TASK_COMPLETED, TASK_MERGED, TASK_PUSHED};
	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		struct orphan_observation o = obs_base();
		o.status = s[i];
		o.container = ORPHAN_CONTAINER_MISSING;
		decide(&o, ORPHAN_KEEP, NULL);
		o.container = ORPHAN_CONTAINER_EXITED;
		o.exit_code = 137;
		decide(&o, ORPHAN_KEEP, NULL);
	}
}

static void test_orphan_both_active_states_are_checked(void **state)
{
	(void)state;
	struct orphan_observation o = obs_base();
	o.container = ORPHAN_CONTAINER_MISSING;
	o.status = TASK_IN_PROGRESS;
	decide(&o, ORPHAN_MARK_FAILED, "gone");
	o.status = TASK_ITERATING;
	decide(&o, ORPHAN_MARK_FAILED, "gone");
}

static void test_orphan_resume_lock_held_keeps(void **state)
{
	(void)state;
	struct orphan_observation o = obs_base();
	o.resume_lock_held = true;
	o.container = ORPHAN_CONTAINER_MISSING;
	decide(&o, ORPHAN_KEEP, NULL);
	o.has_container_id = false;
	o.started_ms = T0 - ORPHAN_STARTUP_TIMEOUT_MS * 2;
	decide(&o, ORPHAN_KEEP, NULL);
}

static void test_orphan_alive_and_unknown_keep(void **state)
{
	(void)state;
	struct orphan_observation o = obs_base();
	o.container = ORPHAN_CONTAINER_ALIVE; /* running, created, restarting, Docker paused */
	decide(&o, ORPHAN_KEEP, NULL);
	o.container = orphan_container_from_state("paused");
	o.exit_code = 0; /* Docker reports 0 for a paused container */
	decide(&o, ORPHAN_KEEP, NULL);
	o.container = ORPHAN_CONTAINER_UNKNOWN; /* the engine could not be asked */
	decide(&o, ORPHAN_KEEP, NULL);
}

static void test_orphan_missing_fails(void **state)
{
	(void)state;
	struct orphan_observation o = obs_base();
	o.container = ORPHAN_CONTAINER_MISSING;
	decide(&o, ORPHAN_MARK_FAILED, "Container is gone");
}

static void test_orphan_exit_codes(void **state)
{
	(void)state;
	static const struct {
		int code;
		bool oom;
		enum orphan_action want;
		const char *msg;
	} rows[] = {
		{0, false, ORPHAN_MARK_COMPLETED, NULL},
		{2, false, ORPHAN_MARK_PAUSED, "exited 2"},
		{137, false, ORPHAN_MARK_FAILED, "SIGKILL"},
		{137, true, ORPHAN_MARK_FAILED, "out of memory"},
		{143, false, ORPHAN_MARK_FAILED, "SIGTERM"},
		{1, false, ORPHAN_MARK_FAILED, "code 1"},
		{125, false, ORPHAN_MARK_FAILED, "code 125"},
		{-1, false, ORPHAN_MARK_FAILED, "code -1"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct orphan_observation o = obs_base();
		o.exit_code = rows[i].code;
		o.oom_killed = rows[i].oom;
		decide(&o, rows[i].want, rows[i].msg);
	}
}

static void test_orphan_no_container_id_startup_timeout(void **state)
{
	(void)state;
	struct orphan_observation o = obs_base();
	o.has_container_id = false;
	o.container = ORPHAN_CONTAINER_UNKNOWN;
	o.started_ms = T0 - ORPHAN_STARTUP_TIMEOUT_MS + 1; /* still starting */
	decide(&o, ORPHAN_KEEP, NULL);
	o.started_ms = T0 - ORPHAN_STARTUP_TIMEOUT_MS; /* 5 minutes: give up */
	decide(&o, ORPHAN_MARK_FAILED, "startup did not complete");
	o.started_ms = 0; /* no time recorded at all: nothing to judge by */
	decide(&o, ORPHAN_KEEP, NULL);
	o.started_ms = T0 - ORPHAN_STARTUP_TIMEOUT_MS * 10;
	o.status = TASK_IN_PROGRESS;
	decide(&o, ORPHAN_MARK_FAILED, "startup did not complete");
}

static void test_orphan_apply(void **state)
{
	(void)state;
	struct {
		enum orphan_action action;
		const char *message;
		int exit_code;
		enum task_status want;
		const char *exec;
	} rows[] = {
		{ORPHAN_MARK_COMPLETED, NULL, 0, TASK_COMPLETED, "completed"},
		{ORPHAN_MARK_PAUSED, "exited 2", 2, TASK_PAUSED, "paused"},
		{ORPHAN_MARK_FAILED, "killed", 137, TASK_FAILED, "failed"},
		{ORPHAN_MARK_FAILED, "gone", -1, TASK_FAILED, "failed"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct task *t = task_in(TASK_ITERATING);
		struct orphan_verdict v = {.action = rows[i].action,
					   .message = rows[i].message ? xstrdup(rows[i].message)
								      : NULL};
		bool changed = false;
		assert_int_equal(orphan_apply(t, &v, rows[i].exit_code, T0, &changed, NULL), 0);
		assert_true(changed);
		assert_int_equal(task_status(t), rows[i].want);
		assert_string_equal(task_get_str(t, "executionStatus"), rows[i].exec);
		int64_t code = -99;
		bool has = task_get_int(t, "exitCode", &code);
		if (rows[i].exit_code >= 0) {
			assert_true(has);
			assert_int_equal(code, rows[i].exit_code);
		} else {
			assert_false(has);
		}
		if (rows[i].want == TASK_PAUSED) {
			/* an orphan pause is never auto-retried */
			assert_int_equal(task_pause_reason(t), TASK_PAUSE_ORPHAN);
		}
		if (rows[i].message)
			assert_string_equal(task_error(t), rows[i].message);
		orphan_verdict_release(&v);
		task_free(t);
	}
	/* KEEP changes nothing */
	struct task *t = task_in(TASK_ITERATING);
	struct orphan_verdict keep = {.action = ORPHAN_KEEP};
	bool changed = true;
	assert_int_equal(orphan_apply(t, &keep, 0, T0, &changed, NULL), 0);
	assert_false(changed);
	assert_int_equal(task_status(t), TASK_ITERATING);
	task_free(t);
}

/* A runner that could not write status.json (full disk) said why on its
 * output: that reason is the task's error, not "exited unexpectedly". */
static void test_orphan_runner_said_why(void **state)
{
	(void)state;
	struct orphan_observation o = obs_base();
	o.exit_code = 1;
	decide(&o, ORPHAN_MARK_FAILED, "exited unexpectedly with code 1");
	o.runner_said = "cannot save checkpoint: No space left on device";
	decide(&o, ORPHAN_MARK_FAILED,
	       "runner exited 1: cannot save checkpoint: No space left on device");
	/* codes with their own meaning keep it */
	o.exit_code = 137;
	decide(&o, ORPHAN_MARK_FAILED, "SIGKILL");
	o.exit_code = 0;
	decide(&o, ORPHAN_MARK_COMPLETED, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_states),
		cmocka_unit_test(test_orphan_inactive_tasks_are_never_touched),
		cmocka_unit_test(test_orphan_both_active_states_are_checked),
		cmocka_unit_test(test_orphan_resume_lock_held_keeps),
		cmocka_unit_test(test_orphan_alive_and_unknown_keep),
		cmocka_unit_test(test_orphan_missing_fails),
		cmocka_unit_test(test_orphan_exit_codes),
		cmocka_unit_test(test_orphan_no_container_id_startup_timeout),
		cmocka_unit_test(test_orphan_apply),
		cmocka_unit_test(test_orphan_runner_said_why),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
