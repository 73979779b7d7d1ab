/*
 * shell.h - `rover shell`: a shell (or any command) in a task's workspace,
 * inside a NEW container of the task's image, attached to the caller's
 * terminal through the engine API (engine_attach.h).
 *
 * The container is confined and mounted as the task's own (launch.h,
 * hardening.h): the workspace read-write at /workspace (the working
 * directory), in a git project the project's object directory read-only at
 * its own path, the same user, capabilities, no-new-privileges, limits and
 * network mode.  It gets nothing else: not the iteration directory (the
 * runner's files), not the runner, not the agent's credentials or login
 * copies - only HOME (when rover picked the user) and TERM.
 *     name    rover-shell-<id>-<8 random hex>
 *     labels  rover.task=<id>, rover.store=<store dir>, rover.shell=1 (no
 *             rover.iteration: it is never taken for the task's own
 *             container; `rover delete` removes it with the task's), and
 *             rover.shell.owner=<boot id>:<pid>:<start ticks> of the rover
 *             that runs the session
 *     reaping before each new one: shell containers of the store that
 *             have exited, or whose owner ran on this boot and is gone (a
 *             rover killed with SIGKILL cannot remove its own)
 *     command o->cmd, default /bin/sh, as the entrypoint (the image's own
 *             entrypoint and command are not run)
 *
 * A shell beside a running agent is allowed (the TypeScript rover allows it
 * too): both work in the same files, which is the user's call; the caller
 * says so.  Nothing of the task record is changed.
 *
 * Calling sequence:
 *     shell_start(p, st, t, &opts, &s, &err);   created, attached, started
 *     poll(engine_attach_fd(shell_attach(s))) ... engine_attach_read/_write
 *     shell_resize(s, rows, cols, &err);        on SIGWINCH (tty only)
 *     shell_finish(s, &exit_code, &err);        after the stream ended
 *     or shell_remove(s, &err);                 ended early (a signal)
 *     shell_free(s);                            removes the container if
 *                                               still there (any path)
 */
#ifndef ROVER_SHELL_H
#define ROVER_SHELL_H

#include <stdbool.h>

#include "common/error.h"
#include "supervisor/lib/engine_attach.h"
#include "supervisor/lib/project.h"
#include "supervisor/lib/task.h"
#include "supervisor/lib/task_store.h"

#define SHELL_DEFAULT_COMMAND "/bin/sh"
/* How long shell_finish waits for the container to be seen stopped after
 * its stream ended. */
#define SHELL_FINISH_TIMEOUT_MS 15000L

struct shell_opts {
	const char *image;      /* NULL: the task's agentImage, else the project's */
	const char *const *cmd; /* argv; NULL: SHELL_DEFAULT_COMMAND */
	bool tty;               /* a terminal in the container (the caller's is one) */
	const char *term;       /* TERM to pass, or NULL */
};

struct shell;

/* Check the task's workspace (the record's path, task_store_check_record;
 * gone: -ENOENT saying resume or restart re-creates it), pick the image
 * (none: -EINVAL), reach the task's engine, create the container (image
 * missing: -ENOENT naming it and the engine), attach, start (a command that
 * is not in the image fails here, the container removed).  *ret only on
 * success. */
int shell_start(const struct project *p, const struct task_store *st, const struct task *t,
		const struct shell_opts *o, struct shell **ret, struct rv_error **err);

struct engine_attach *shell_attach(struct shell *s);
const char *shell_container_name(const struct shell *s);
const char *shell_image(const struct shell *s);

/* The container's terminal size. */
int shell_resize(struct shell *s, unsigned rows, unsigned cols, struct rv_error **err);

/* After the stream ended: wait (SHELL_FINISH_TIMEOUT_MS) for the
 * container to stop, its exit code into *ret_exit_code, and remove it. */
int shell_finish(struct shell *s, int *ret_exit_code, struct rv_error **err);

/* Remove the container, killed if it runs (tried twice).  Gone already: 0. */
int shell_remove(struct shell *s, struct rv_error **err);

/* shell_remove (errors ignored) unless done, and free.  NULL-safe; returns NULL. */
struct shell *shell_free(struct shell *s);

#endif
