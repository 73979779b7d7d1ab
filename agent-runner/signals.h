/*
 * signals.h - the runner's signals and children, read from one signalfd.
 *
 * signals_init() blocks SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGCHLD, opens a
 * non-blocking close-on-exec signalfd for them, makes the runner a child
 * subreaper when it is not PID 1 (so orphaned grandchildren are still reaped
 * by us), and reaps once (children that exited before the fd existed).
 * Nothing runs in a signal handler: the event loops poll signals_fd().
 *
 * Children must call signals_child_reset() between fork and exec, so the agent
 * tool starts with the default dispositions and an empty mask.
 */
#ifndef ROVER_SIGNALS_H
#define ROVER_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct signals {
	int fd;
	sigset_t saved_mask;
};

int signals_init(struct signals *s, struct rv_error **err);
void signals_release(struct signals *s);

static inline int signals_fd(const struct signals *s)
{
	return s->fd;
}

/* Next pending signal number, or 0 when none is pending (never blocks). */
int signals_next(struct signals *s);

/* Reap every exited child (waitpid(-1, WNOHANG) until none).  When `want` was
 * among them, store its wait status in *ret_status and return true. */
bool signals_reap(pid_t want, int *ret_status);

/* In a forked child before exec: default dispositions, the mask saved at init. */
void signals_child_reset(const struct signals *s);

/* Wait until the monotonic deadline (ms) or a signal other than SIGCHLD;
 * reaps on SIGCHLD.  Returns the signal number, or 0 at the deadline. */
int signals_wait_until(struct signals *s, int64_t deadline_mono_ms);

#endif
