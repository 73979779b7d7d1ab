/* Unit tests for agent-runner/pause: the whole pause protocol table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>

#include "agent-runner/pause.h"

static struct pause_machine fresh(void)
{
	struct pause_machine pm;
	pause_machine_init(&pm);
	return pm;
}

static void test_pause_sigterm_forwards_then_saves_then_exits_2(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_false(pause_machine_stopping(&pm));
	unsigned a = pause_machine_handle(&pm, PAUSE_EV_SIGTERM);
	assert_int_equal(a, PAUSE_ACT_FORWARD_SIGNAL | PAUSE_ACT_ARM_GRACE);
	assert_int_equal(pm.state, PAUSE_INTERRUPTING);
	assert_int_equal(pm.reason, PAUSE_REASON_SIGNAL);
	assert_int_equal(pm.signo, SIGTERM);
	assert_true(pause_machine_stopping(&pm));
	/* a second SIGTERM changes nothing */
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SIGTERM), PAUSE_ACT_NONE);
	assert_int_equal(pm.state, PAUSE_INTERRUPTING);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_STEP_ENDED), PAUSE_ACT_SAVE);
	assert_int_equal(pm.state, PAUSE_CHECKPOINTING);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SAVED), PAUSE_ACT_EXIT_PAUSED);
	assert_int_equal(pm.state, PAUSE_EXITING);
	assert_string_equal(pause_reason_name(pm.reason), "signal");
}

static void test_pause_grace_expiry_kills_group(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	pause_machine_handle(&pm, PAUSE_EV_SIGINT);
	assert_int_equal(pm.signo, SIGINT);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_GRACE_EXPIRED), PAUSE_ACT_KILL_GROUP);
	assert_int_equal(pm.state, PAUSE_INTERRUPTING);
}

static void test_pause_second_sigint_exits_now(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	pause_machine_handle(&pm, PAUSE_EV_SIGINT);
	unsigned a = pause_machine_handle(&pm, PAUSE_EV_SIGINT);
	assert_true(a & PAUSE_ACT_EXIT_NOW);
	assert_true(a & PAUSE_ACT_KILL_GROUP);
	assert_int_equal(pm.state, PAUSE_EXITING);
}

static void test_pause_save_failure_exits_1_not_2(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_RETRYABLE), PAUSE_ACT_SAVE);
	assert_int_equal(pm.reason, PAUSE_REASON_RETRYABLE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SAVE_FAILED), PAUSE_ACT_EXIT_FAILED);
	assert_int_equal(pm.state, PAUSE_EXITING);
}

static void test_pause_drain_waits_for_step_and_keeps_user_reason(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_DRAIN), PAUSE_ACT_NONE);
	assert_int_equal(pm.state, PAUSE_DRAINING);
	assert_true(pause_machine_stopping(&pm));
	/* escalation by SIGTERM (rover pause --timeout) is still a user pause */
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SIGTERM),
			 PAUSE_ACT_FORWARD_SIGNAL | PAUSE_ACT_ARM_GRACE);
	assert_int_equal(pm.reason, PAUSE_REASON_USER);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_STEP_ENDED), PAUSE_ACT_SAVE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SAVED), PAUSE_ACT_EXIT_PAUSED);
	assert_string_equal(pause_reason_name(pm.reason), "user");
}

static void test_pause_drain_then_step_end(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	pause_machine_handle(&pm, PAUSE_EV_DRAIN);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_STEP_ENDED), PAUSE_ACT_SAVE);
	assert_int_equal(pm.state, PAUSE_CHECKPOINTING);
}

static void test_pause_breakpoint_saves_with_approval_reason(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_BREAKPOINT), PAUSE_ACT_SAVE);
	assert_int_equal(pm.state, PAUSE_CHECKPOINTING);
	assert_string_equal(pause_reason_name(pm.reason), "approval");
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SAVED), PAUSE_ACT_EXIT_PAUSED);
	/* a breakpoint while a pause is already decided changes nothing */
	pm = fresh();
	pause_machine_handle(&pm, PAUSE_EV_DRAIN);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_BREAKPOINT), PAUSE_ACT_NONE);
	assert_int_equal(pm.reason, PAUSE_REASON_USER);
	assert_string_equal(pause_event_name(PAUSE_EV_BREAKPOINT), "breakpoint");
}

static void test_pause_running_ignores_noise(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_STEP_ENDED), PAUSE_ACT_NONE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_GRACE_EXPIRED), PAUSE_ACT_NONE);
	assert_int_equal(pm.state, PAUSE_RUNNING);
	assert_null(pause_reason_name(pm.reason));
}

static void test_pause_signals_during_checkpointing_are_ignored(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	pause_machine_handle(&pm, PAUSE_EV_RETRYABLE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SIGINT), PAUSE_ACT_NONE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SIGTERM), PAUSE_ACT_NONE);
	assert_int_equal(pm.state, PAUSE_CHECKPOINTING);
	assert_int_equal(pm.signo, 0);
	assert_int_equal(pm.reason, PAUSE_REASON_RETRYABLE);
}

static void test_pause_exiting_is_terminal(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	pause_machine_handle(&pm, PAUSE_EV_RETRYABLE);
	pause_machine_handle(&pm, PAUSE_EV_SAVED);
	for (int ev = 0; ev < PAUSE__EVENTS; ev++) {
		assert_int_equal(pause_machine_handle(&pm, (enum pause_event)ev), PAUSE_ACT_NONE);
		assert_int_equal(pm.state, PAUSE_EXITING);
	}
	assert_string_equal(pause_state_name(PAUSE_DRAINING), "draining");
	assert_string_equal(pause_event_name(PAUSE_EV_SAVE_FAILED), "save-failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_sigterm_forwards_then_saves_then_exits_2),
		cmocka_unit_test(test_pause_breakpoint_saves_with_approval_reason),
		cmocka_unit_test(test_pause_grace_expiry_kills_group),
		cmocka_unit_test(test_pause_second_sigint_exits_now),
		cmocka_unit_test(test_pause_save_failure_exits_1_not_2),
		cmocka_unit_test(test_pause_drain_waits_for_step_and_keeps_user_reason),
		cmocka_unit_test(test_pause_drain_then_step_end),
		cmocka_unit_test(test_pause_running_ignores_noise),
		cmocka_unit_test(test_pause_signals_during_checkpointing_are_ignored),
		cmocka_unit_test(test_pause_exiting_is_terminal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
