/*
 * spawn.h - run one step's process and wait for it inside the runner's event
 * loop.
 *
 * The child runs in its own process group (so a forwarded signal reaches the
 * tool and everything it started), with stdin from /dev/null and stdout and
 * stderr on pipes.  The loop polls the pipes and the signalfd with the step
 * deadline and the grace deadline as its timeout:
 *   - output is copied to the runner's own stdout/stderr (the container log)
 *     and the last `capture_cap` bytes of each stream are kept;
 *   - signals are fed to the pause machine (pause_feed_signal()), and so is
 *     the end of the grace it armed (PAUSE_EV_GRACE_EXPIRED); the actions it
 *     returns (forward the signal to the group, arm the grace deadline,
 *     SIGKILL the group, exit now) are carried out here;
 *   - at the step timeout the group gets SIGTERM, then SIGKILL after the grace;
 *   - SIGCHLD reaps every exited child, not only ours (PID 1 duty).
 * When the step's main process exits, whatever it left running in its group is
 * killed, and the pipes are drained (at most 2 s).
 */
#ifndef ROVER_SPAWN_H
#define ROVER_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent-runner/pause.h"
#include "agent-runner/signals.h"
#include "common/error.h"

struct spawn_opts {
	char *const *argv;  /* argv[0] is looked up on PATH */
	const char *cwd;    /* NULL: inherit */
	int timeout_s;      /* 0: none */
	int grace_s;        /* between a forwarded signal and SIGKILL */
	size_t capture_cap; /* bytes kept of each stream (the tail) */
	bool tee;           /* copy output to our stdout/stderr */
	char *const *env;   /* "NAME=value" added to the child's environment, or NULL */
	/* Called every heartbeat_ms while the step runs (0: never), output
	 * telling whether it printed anything since the last call. */
	int heartbeat_ms;
	void (*heartbeat)(void *userdata, bool output);
	void *heartbeat_ud;
};

struct spawn_result {
	int exit_code;      /* exit status, or 128 + signal; 127 when exec failed */
	bool timed_out;     /* the step's timeout killed it */
	bool exit_now;      /* the pause machine asked to stop at once */
	char *out;          /* captured tail of stdout, NUL-terminated */
	char *err;          /* captured tail of stderr */
	size_t out_dropped; /* bytes dropped from the head of stdout */
	size_t err_dropped;
	int64_t duration_ms;
};

/* Run to completion.  Fails only when the process could not be started at all
 * (pipe/fork failure); a failing step is a successful call with its exit code. */
int spawn_run(const struct spawn_opts *opts, struct signals *sig, struct pause_machine *pm,
	      struct spawn_result *ret, struct rv_error **err);

void spawn_result_release(struct spawn_result *r);

#endif
