#include "pause.h"

#include <signal.h>
#include <stddef.h>

#include "common/cleanup.h"

struct transition {
	enum pause_state next;
	unsigned actions;
	enum pause_reason reason; /* set when the machine had none yet */
};

/* The table is laid out by hand, one row per line: */
/* clang-format off */
#define STAY(s) {s, PAUSE_ACT_NONE, PAUSE_REASON_NONE}

/* The whole protocol.  Rows: state; columns: event. */
static const struct transition table[PAUSE__STATES][PAUSE__EVENTS] = {
	[PAUSE_RUNNING] = {
		[PAUSE_EV_SIGTERM] = {PAUSE_INTERRUPTING, PAUSE_ACT_FORWARD_SIGNAL | PAUSE_ACT_ARM_GRACE, PAUSE_REASON_SIGNAL},
		[PAUSE_EV_SIGINT] = {PAUSE_INTERRUPTING, PAUSE_ACT_FORWARD_SIGNAL | PAUSE_ACT_ARM_GRACE, PAUSE_REASON_SIGNAL},
		[PAUSE_EV_DRAIN] = {PAUSE_DRAINING, PAUSE_ACT_NONE, PAUSE_REASON_USER},
		[PAUSE_EV_RETRYABLE] = {PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE, PAUSE_REASON_RETRYABLE},
		[PAUSE_EV_STEP_ENDED] = STAY(PAUSE_RUNNING),
		[PAUSE_EV_GRACE_EXPIRED] = STAY(PAUSE_RUNNING),
		[PAUSE_EV_SAVED] = STAY(PAUSE_RUNNING),
		[PAUSE_EV_SAVE_FAILED] = STAY(PAUSE_RUNNING),
		[PAUSE_EV_BREAKPOINT] = {PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE, PAUSE_REASON_APPROVAL},
		[PAUSE_EV_BUDGET] = {PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE, PAUSE_REASON_BUDGET},
	},
	/* Entered between steps only, and left at once by the step-ended that
	 * follows (runner.c must_stop()); its other cells are never reached. */
	[PAUSE_DRAINING] = {
		[PAUSE_EV_SIGTERM] = {PAUSE_INTERRUPTING, PAUSE_ACT_FORWARD_SIGNAL | PAUSE_ACT_ARM_GRACE, PAUSE_REASON_NONE},
		[PAUSE_EV_SIGINT] = {PAUSE_INTERRUPTING, PAUSE_ACT_FORWARD_SIGNAL | PAUSE_ACT_ARM_GRACE, PAUSE_REASON_NONE},
		[PAUSE_EV_DRAIN] = STAY(PAUSE_DRAINING),
		[PAUSE_EV_RETRYABLE] = {PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE, PAUSE_REASON_NONE},
		[PAUSE_EV_STEP_ENDED] = {PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE, PAUSE_REASON_NONE},
		[PAUSE_EV_GRACE_EXPIRED] = STAY(PAUSE_DRAINING),
		[PAUSE_EV_SAVED] = STAY(PAUSE_DRAINING),
		[PAUSE_EV_SAVE_FAILED] = STAY(PAUSE_DRAINING),
		[PAUSE_EV_BREAKPOINT] = STAY(PAUSE_DRAINING),
		[PAUSE_EV_BUDGET] = STAY(PAUSE_DRAINING),
	},
	[PAUSE_INTERRUPTING] = {
		/* A second SIGTERM changes nothing: the grace timer already runs. */
		[PAUSE_EV_SIGTERM] = STAY(PAUSE_INTERRUPTING),
		/* A second SIGINT (Ctrl+C twice) means "now". */
		[PAUSE_EV_SIGINT] = {PAUSE_EXITING, PAUSE_ACT_KILL_GROUP | PAUSE_ACT_EXIT_NOW, PAUSE_REASON_NONE},
		[PAUSE_EV_DRAIN] = STAY(PAUSE_INTERRUPTING),
		[PAUSE_EV_RETRYABLE] = {PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE, PAUSE_REASON_NONE},
		[PAUSE_EV_STEP_ENDED] = {PAUSE_CHECKPOINTING, PAUSE_ACT_SAVE, PAUSE_REASON_NONE},
		[PAUSE_EV_GRACE_EXPIRED] = {PAUSE_INTERRUPTING, PAUSE_ACT_KILL_GROUP, PAUSE_REASON_NONE},
		[PAUSE_EV_SAVED] = STAY(PAUSE_INTERRUPTING),
		[PAUSE_EV_SAVE_FAILED] = STAY(PAUSE_INTERRUPTING),
		[PAUSE_EV_BREAKPOINT] = STAY(PAUSE_INTERRUPTING),
		[PAUSE_EV_BUDGET] = STAY(PAUSE_INTERRUPTING),
	},
	[PAUSE_CHECKPOINTING] = {
		/* Saving takes milliseconds; let it finish. */
		[PAUSE_EV_SIGTERM] = STAY(PAUSE_CHECKPOINTING),
		[PAUSE_EV_SIGINT] = STAY(PAUSE_CHECKPOINTING),
		[PAUSE_EV_DRAIN] = STAY(PAUSE_CHECKPOINTING),
		[PAUSE_EV_RETRYABLE] = STAY(PAUSE_CHECKPOINTING),
		[PAUSE_EV_STEP_ENDED] = STAY(PAUSE_CHECKPOINTING),
		[PAUSE_EV_GRACE_EXPIRED] = STAY(PAUSE_CHECKPOINTING),
		[PAUSE_EV_SAVED] = {PAUSE_EXITING, PAUSE_ACT_EXIT_PAUSED, PAUSE_REASON_NONE},
		/* Exit 1, never 2: a supervisor must not resume from a checkpoint
		 * that does not hold what this run did. */
		[PAUSE_EV_SAVE_FAILED] = {PAUSE_EXITING, PAUSE_ACT_EXIT_FAILED, PAUSE_REASON_NONE},
		[PAUSE_EV_BREAKPOINT] = STAY(PAUSE_CHECKPOINTING),
		[PAUSE_EV_BUDGET] = STAY(PAUSE_CHECKPOINTING),
	},
	[PAUSE_EXITING] = {
		[PAUSE_EV_SIGTERM] = STAY(PAUSE_EXITING),
		[PAUSE_EV_SIGINT] = STAY(PAUSE_EXITING),
		[PAUSE_EV_DRAIN] = STAY(PAUSE_EXITING),
		[PAUSE_EV_RETRYABLE] = STAY(PAUSE_EXITING),
		[PAUSE_EV_STEP_ENDED] = STAY(PAUSE_EXITING),
		[PAUSE_EV_GRACE_EXPIRED] = STAY(PAUSE_EXITING),
		[PAUSE_EV_SAVED] = STAY(PAUSE_EXITING),
		[PAUSE_EV_SAVE_FAILED] = STAY(PAUSE_EXITING),
		[PAUSE_EV_BREAKPOINT] = STAY(PAUSE_EXITING),
		[PAUSE_EV_BUDGET] = STAY(PAUSE_EXITING),
	},
};
/* clang-format on */

void pause_machine_init(struct pause_machine *pm)
{
	pm->state = PAUSE_RUNNING;
	pm->reason = PAUSE_REASON_NONE;
	pm->signo = 0;
}

unsigned pause_machine_handle(struct pause_machine *pm, enum pause_event ev)
{
	if ((unsigned)pm->state >= PAUSE__STATES || (unsigned)ev >= PAUSE__EVENTS)
		return PAUSE_ACT_NONE;
	const struct transition *t = &table[pm->state][ev];
	if (pm->reason == PAUSE_REASON_NONE && t->reason != PAUSE_REASON_NONE)
		pm->reason = t->reason;
	if (pm->signo == 0 && (ev == PAUSE_EV_SIGTERM || ev == PAUSE_EV_SIGINT) &&
	    pm->state != PAUSE_EXITING && pm->state != PAUSE_CHECKPOINTING)
		pm->signo = ev == PAUSE_EV_SIGTERM ? SIGTERM : SIGINT;
	pm->state = t->next;
	return t->actions;
}

/* -1 for a signal the machine does not take. */
static int signal_event(int signo)
{
	switch (signo) {
	case SIGTERM:
	case SIGHUP:
	case SIGQUIT:
		return PAUSE_EV_SIGTERM;
	case SIGINT:
		return PAUSE_EV_SIGINT;
	default:
		return -1;
	}
}

unsigned pause_feed_signal(struct pause_machine *pm, int signo)
{
	int ev = signal_event(signo);
	return ev < 0 ? PAUSE_ACT_NONE : pause_machine_handle(pm, (enum pause_event)ev);
}

int pause_machine_stopping(const struct pause_machine *pm)
{
	return pm->state != PAUSE_RUNNING;
}

const char *pause_state_name(enum pause_state s)
{
	static const char *const names[] = {"running", "draining", "interrupting", "checkpointing",
					    "exiting"};
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

const char *pause_event_name(enum pause_event e)
{
	static const char *const names[] = {"SIGTERM",    "SIGINT",        "drain", "retryable",
					    "step-ended", "grace-expired", "saved", "save-failed",
					    "breakpoint", "budget"};
	return (unsigned)e < ARRAY_SIZE(names) ? names[e] : "?";
}

const char *pause_reason_name(enum pause_reason r)
{
	switch (r) {
	case PAUSE_REASON_RETRYABLE:
		return "retryable_error";
	case PAUSE_REASON_SIGNAL:
		return "signal";
	case PAUSE_REASON_USER:
		return "user";
	case PAUSE_REASON_APPROVAL:
		return "approval";
	case PAUSE_REASON_BUDGET:
		return "budget";
	default:
		return NULL;
	}
}
