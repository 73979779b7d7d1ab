/* Unit tests for agent-runner/pause: every cell of the table the runner
 * reaches (spawn.c while a step runs, runner.c between steps and when it
 * saves), the paths through it the runner takes, and the signal mapping. */
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

struct cell {
	enum pause_state state;
	enum pause_event ev;
	enum pause_state next;
	unsigned actions;
};

#define FWD_GRACE (PAUSE_ACT_FORWARD_SIGNAL | PAUSE_ACT_ARM_GRACE)

/* The cells production feeds, and who feeds them.  A cell not listed here
 * is never reached (see pause.h for why); its table entry is defensive. */
static const struct cell used[] = {
	/* spawn.c (a step runs) and runner.c feed_signal() (between steps) */
	{PAUSE_RUNNING, PAUSE_EV_SIGTERM, PAUSE_INTERRUPTING, FWD_GRACE},
	{PAUSE_RUNNING, PAUSE_EV_SIGINT, PAUSE_INTERRUPTING, FWD_GRACE},
	{PAUSE_INTERRUPTING, PAUSE_EV_SIGTERM, PAUSE_INTERRUPTING, PAUSE_ACT_NONE},
	{PAUSE_INTERRUPTING, PAUSE_EV_SIGINT, PAUSE_EXITING,
	 PAUSE_ACT_KILL_GROUP | PAUSE_ACT_EXIT_NOW},
	{PAUSE_EXITING, PAUSE_EV_SIGTERM, PAUSE_EXITING, PAUSE_ACT_NONE},
	{PAUSE_EXITING, PAUSE_EV_SIGINT, PAUSE_EXITING, PAUSE_ACT_NONE},
	/* spawn.c: the grace armed by PAUSE_ACT_ARM_GRACE ran out */
	{PAUSE_INTERRUPTING, PAUSE_EV_GRACE_EXPIRED, PAUSE_INTERRUPTING, PAUSE_ACT_KILL_GROUP},
	{PAUSE_EXITING, PAUSE_EV_GRACE_EXPIRED, PAUSE_EXITING, PAUSE_ACT_NONE},
	/* runner.c poll_pause_requests(): the drain file, between steps */
	{PAUSE_RUNNING, PAUSE_EV_DRAIN, PAUSE_DRAINING, PAUSE_ACT_NONE},
	/* runner.c must_stop() after every step, finish_paused() before saving */
	{PAUSE_RUNNING, PAUSE_EV_STEP_ENDED, PAUSE_RUNNING, PAUSE_ACT_NONE},
	{PAUSE_DRAINING, PAUSE_EV_STEP_ENDED, PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE},
	{PAUSE_INTERRUPTING, PAUSE_EV_STEP_ENDED, PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE},
	{PAUSE_CHECKPOINTING, PAUSE_EV_STEP_ENDED, PAUSE_CHECKPOINTING, PAUSE_ACT_NONE},
	/* runner.c: a step ends in a retryable error, a breakpoint, the budget */
	{PAUSE_RUNNING, PAUSE_EV_RETRYABLE, PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE},
	{PAUSE_RUNNING, PAUSE_EV_BREAKPOINT, PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE},
	{PAUSE_RUNNING, PAUSE_EV_BUDGET, PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE},
	/* runner.c finish_paused(): the outcome of the one save */
	{PAUSE_CHECKPOINTING, PAUSE_EV_SAVED, PAUSE_EXITING, PAUSE_ACT_EXIT_PAUSED},
	{PAUSE_CHECKPOINTING, PAUSE_EV_SAVE_FAILED, PAUSE_EXITING, PAUSE_ACT_EXIT_FAILED},
};

static void test_pause_every_used_cell(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		struct pause_machine pm = fresh();
		pm.state = used[i].state;
		unsigned a = pause_machine_handle(&pm, used[i].ev);
		if (a != used[i].actions || pm.state != used[i].next)
			fail_msg("%s + %s: got %s with actions %#x, want %s with %#x",
				 pause_state_name(used[i].state), pause_event_name(used[i].ev),
				 pause_state_name(pm.state), a, pause_state_name(used[i].next),
				 used[i].actions);
	}
}

/* spawn.c's path: SIGTERM mid-step is forwarded, the grace runs out, the
 * group is killed, the step ends, the save works: exit 2, reason signal. */
static void test_pause_sigterm_grace_kill_save_exit_2(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_false(pause_machine_stopping(&pm));
	assert_int_equal(pause_feed_signal(&pm, SIGTERM), FWD_GRACE);
	assert_true(pause_machine_stopping(&pm));
	assert_int_equal(pm.signo, SIGTERM);
	assert_int_equal(pause_feed_signal(&pm, SIGTERM), PAUSE_ACT_NONE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_GRACE_EXPIRED), PAUSE_ACT_KILL_GROUP);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_STEP_ENDED), PAUSE_ACT_SAVE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SAVED), PAUSE_ACT_EXIT_PAUSED);
	assert_string_equal(pause_reason_name(pm.reason), "signal");
}

static void test_pause_second_sigint_exits_now(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_int_equal(pause_feed_signal(&pm, SIGINT), FWD_GRACE);
	assert_int_equal(pm.signo, SIGINT);
	assert_int_equal(pause_feed_signal(&pm, SIGINT), PAUSE_ACT_KILL_GROUP | PAUSE_ACT_EXIT_NOW);
	/* the grace deadline may still fire: nothing more to do */
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_GRACE_EXPIRED), PAUSE_ACT_NONE);
	assert_int_equal(pm.signo, SIGINT);
}

/* SIGHUP and SIGQUIT count as SIGTERM; other signals change nothing. */
static void test_pause_feed_signal_mapping(void **state)
{
	(void)state;
	static const int as_term[] = {SIGTERM, SIGHUP, SIGQUIT};
	for (size_t i = 0; i < 3; i++) {
		struct pause_machine pm = fresh();
		assert_int_equal(pause_feed_signal(&pm, as_term[i]), FWD_GRACE);
		assert_int_equal(pm.signo, SIGTERM);
		assert_int_equal(pm.reason, PAUSE_REASON_SIGNAL);
	}
	static const int ignored[] = {SIGCHLD, SIGUSR1, SIGPIPE, 0};
	for (size_t i = 0; i < 4; i++) {
		struct pause_machine pm = fresh();
		assert_int_equal(pause_feed_signal(&pm, ignored[i]), PAUSE_ACT_NONE);
		assert_int_equal(pm.state, PAUSE_RUNNING);
		assert_int_equal(pm.signo, 0);
	}
}

static void test_pause_retryable_save_failure_exits_1(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_RETRYABLE), PAUSE_ACT_SAVE);
	assert_string_equal(pause_reason_name(pm.reason), "retryable_error");
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_STEP_ENDED), PAUSE_ACT_NONE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SAVE_FAILED), PAUSE_ACT_EXIT_FAILED);
}

/* runner.c's drain: seen between steps, the step-ended that follows saves. */
static void test_pause_drain_then_step_end_is_a_user_pause(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_DRAIN), PAUSE_ACT_NONE);
	assert_true(pause_machine_stopping(&pm));
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_STEP_ENDED), PAUSE_ACT_SAVE);
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_SAVED), PAUSE_ACT_EXIT_PAUSED);
	assert_string_equal(pause_reason_name(pm.reason), "user");
	assert_int_equal(pm.signo, 0);
}

static void test_pause_breakpoint_and_budget_reasons(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_BREAKPOINT), PAUSE_ACT_SAVE);
	assert_string_equal(pause_reason_name(pm.reason), "approval");
	pm = fresh();
	assert_int_equal(pause_machine_handle(&pm, PAUSE_EV_BUDGET), PAUSE_ACT_SAVE);
	assert_string_equal(pause_reason_name(pm.reason), "budget");
	assert_string_equal(pause_event_name(PAUSE_EV_BREAKPOINT), "breakpoint");
	assert_string_equal(pause_event_name(PAUSE_EV_GRACE_EXPIRED), "grace-expired");
	assert_string_equal(pause_state_name(PAUSE_DRAINING), "draining");
}

/* The first signal is remembered; none is recorded once the save began. */
static void test_pause_signals_while_checkpointing_are_not_recorded(void **state)
{
	(void)state;
	struct pause_machine pm = fresh();
	pause_machine_handle(&pm, PAUSE_EV_RETRYABLE);
	assert_int_equal(pause_feed_signal(&pm, SIGINT), PAUSE_ACT_NONE);
	assert_int_equal(pm.state, PAUSE_CHECKPOINTING);
	assert_int_equal(pm.signo, 0);
	assert_int_equal(pm.reason, PAUSE_REASON_RETRYABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_every_used_cell),
		cmocka_unit_test(test_pause_sigterm_grace_kill_save_exit_2),
		cmocka_unit_test(test_pause_second_sigint_exits_now),
		cmocka_unit_test(test_pause_feed_signal_mapping),
		cmocka_unit_test(test_pause_retryable_save_failure_exits_1),
		cmocka_unit_test(test_pause_drain_then_step_end_is_a_user_pause),
		cmocka_unit_test(test_pause_breakpoint_and_budget_reasons),
		cmocka_unit_test(test_pause_signals_while_checkpointing_are_not_recorded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
