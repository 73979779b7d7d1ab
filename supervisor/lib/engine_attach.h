/*
 * engine_attach.h - a container's stdin, stdout and stderr over one
 * hijacked connection (engine_http.h: engine_http_upgrade):
 *     POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1
 * with "Connection: Upgrade", "Upgrade: tcp".  Docker 20.10 and Podman 4.3
 * both answer "101 UPGRADED" and both take an attach to a container that is
 * created but not started yet, which is how nothing of its first output is
 * lost: attach, then start.
 *
 * The container must have been created with open_stdin (engine.h).  With
 * tty the output is the terminal's raw stream (reported as stdout); without,
 * frames that engine_logs.h's demultiplexer splits into stdout and stderr.
 * Closing stdin (engine_attach_close_stdin) is end of file for the
 * container's stdin on both engines when there is no tty; with a tty,
 * Docker ends the whole stream on it and Podman ignores it, so an
 * interactive caller sends the terminal's end-of-file character instead.
 *
 * Calling sequence:
 *     engine_container_create(e, &spec{.open_stdin, .tty}, &id, &err);
 *     engine_attach_open(e, id, tty, &a, &err);
 *     engine_container_start(e, id, &err);
 *     poll(engine_attach_fd(a)): engine_attach_read / engine_attach_write
 *     ... until engine_attach_read returns 0 (the container's output ended)
 *     engine_attach_free(a);
 * The attach has a connection of its own: e stays usable meanwhile (start,
 * resize, wait).
 */
#ifndef ROVER_ENGINE_ATTACH_H
#define ROVER_ENGINE_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "engine.h"
#include "engine_logs.h"

struct engine_attach;

/* Attach to container id (created or running).  No such container:
 * -ENOENT; the engine's other refusals as engine.h.  *ret only on success. */
int engine_attach_open(struct engine *e, const char *id, bool tty, struct engine_attach **ret,
		       struct rv_error **err);

/* The socket to poll (POLLIN for output, POLLOUT when a write said -EAGAIN). */
int engine_attach_fd(const struct engine_attach *a);

/* Read what has come and hand it to fn: 1 when something was handed on, 0
 * at the end of the stream, -EAGAIN when nothing is there now; fn's code
 * when it stops; -EPROTO for a broken frame. */
int engine_attach_read(struct engine_attach *a, engine_log_fn fn, void *userdata,
		       struct rv_error **err);

/* Write to the container's stdin what the socket takes now: 0 with
 * *ret_n > 0, or -EAGAIN. */
int engine_attach_write(struct engine_attach *a, const char *data, size_t len, size_t *ret_n,
			struct rv_error **err);

/* End of file on the container's stdin (see top for a tty). */
int engine_attach_close_stdin(struct engine_attach *a, struct rv_error **err);

/* NULL-safe; returns NULL. */
struct engine_attach *engine_attach_free(struct engine_attach *a);

#endif
