/*
 * pause.h - the runner's pause protocol as one state machine.
 *
 * States: RUNNING (steps execute), DRAINING (a pause was requested through the
 * drain file: finish the current step, then pause), INTERRUPTING (SIGTERM or
 * SIGINT was forwarded to the step's process group: wait for it to end, or
 * kill it when the grace runs out), CHECKPOINTING (saving the checkpoint and
 * the paused status), EXITING (nothing more happens).
 *
 * The table is the only decider.  The runner feeds events (signals through
 * pause_feed_signal(), the drain file, a step ending, the grace deadline, a
 * retryable error, a breakpoint, the budget, the outcome of the checkpoint
 * save) to pause_machine_handle(), which moves the machine and returns the
 * actions to carry out (a bit set); the runner acts on those bits and asks
 * pause_machine_stopping(), never the state itself.  Who feeds what:
 *   spawn.c   signals and the grace deadline while a step runs; it forwards
 *             the signal, arms the grace, kills the group, stops at once;
 *   runner.c  signals and the drain file between steps, step-ended after
 *             every step, retryable/breakpoint/budget where a step ends so,
 *             saved/save-failed after the one checkpoint save of a pause
 *             (PAUSE_ACT_SAVE), and exits 2 or 1 as the answer says.
 * The machine does no I/O; tests/unit/test_pause.c checks every cell the
 * runner reaches.  docs/design/signals.md draws the table.
 */
#ifndef ROVER_PAUSE_H
#define ROVER_PAUSE_H

enum pause_state {
	PAUSE_RUNNING,
	PAUSE_DRAINING,
	PAUSE_INTERRUPTING,
	PAUSE_CHECKPOINTING,
	PAUSE_EXITING,
	PAUSE__STATES
};

enum pause_event {
	PAUSE_EV_SIGTERM,
	PAUSE_EV_SIGINT,
	PAUSE_EV_DRAIN,         /* <output>/.pause-requested appeared */
	PAUSE_EV_RETRYABLE,     /* a step failed with a retryable error */
	PAUSE_EV_STEP_ENDED,    /* the running step ended (or none was running) */
	PAUSE_EV_GRACE_EXPIRED, /* the forwarded signal's grace ran out */
	PAUSE_EV_SAVED,         /* checkpoint and paused status written */
	PAUSE_EV_SAVE_FAILED,   /* the checkpoint could not be written */
	PAUSE_EV_BREAKPOINT,    /* a breakpoint step was reached without approval */
	PAUSE_EV_BUDGET,        /* the cost budget is spent: no agent step starts */
	PAUSE__EVENTS
};

enum pause_action {
	PAUSE_ACT_NONE = 0,
	PAUSE_ACT_FORWARD_SIGNAL = 1 << 0, /* send the signal to the step's group */
	PAUSE_ACT_ARM_GRACE = 1 << 1,      /* start the grace deadline */
	PAUSE_ACT_KILL_GROUP = 1 << 2,     /* SIGKILL the step's group */
	PAUSE_ACT_SAVE = 1 << 3,           /* save checkpoint + paused status */
	PAUSE_ACT_EXIT_PAUSED = 1 << 4,    /* exit 2 */
	PAUSE_ACT_EXIT_FAILED = 1 << 5,    /* exit 1: the pause could not be saved */
	PAUSE_ACT_EXIT_NOW = 1 << 6,       /* second SIGINT: stop without waiting */
};

/* Why the run pauses; the first cause wins (a drain escalated by SIGTERM is
 * still a user pause). */
enum pause_reason {
	PAUSE_REASON_NONE,
	PAUSE_REASON_RETRYABLE,
	PAUSE_REASON_SIGNAL,
	PAUSE_REASON_USER,
	PAUSE_REASON_APPROVAL, /* waiting at a breakpoint: never auto-retried */
	PAUSE_REASON_BUDGET,   /* the cost budget is spent: never auto-retried */
};

struct pause_machine {
	enum pause_state state;
	enum pause_reason reason;
	int signo; /* the first signal received, 0 if none */
};

/* RUNNING, no reason. */
void pause_machine_init(struct pause_machine *pm);

/* Apply one event; returns the pause_action bits to carry out. */
unsigned pause_machine_handle(struct pause_machine *pm, enum pause_event ev);

/* Apply a signal: SIGTERM, SIGHUP and SIGQUIT are the SIGTERM event (an
 * engine's stop, a closed terminal and a quit key all ask for a saved
 * pause), SIGINT is SIGINT.  Any other signal changes nothing
 * (PAUSE_ACT_NONE).  The one place signals become pause events. */
unsigned pause_feed_signal(struct pause_machine *pm, int signo);

/* True once a pause has been decided (the run must not start another step). */
int pause_machine_stopping(const struct pause_machine *pm);

const char *pause_state_name(enum pause_state s);
const char *pause_event_name(enum pause_event e);
/* "retryable_error", "signal", "user", "approval", or NULL for none. */
const char *pause_reason_name(enum pause_reason r);

#endif
