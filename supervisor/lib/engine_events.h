/*
 * engine_events.h - the engine's container event stream (GET /events), read
 * on a connection of its own and polled together with the caller's file
 * descriptors, so a supervisor learns of container exits within a second.
 *
 * Calling sequence:
 *     struct engine_events *ev = NULL;
 *     const char *const actions[] = {"die", NULL};
 *     const char *const labels[] = {"rover.store=/x/.rover", NULL};
 *     struct engine_events_filter f = {.actions = actions, .labels = labels};
 *     engine_events_open(e, &f, on_event, ctx, &ev, &err);
 *     for (;;) {
 *             struct pollfd fds[] = {{.fd = sigfd, .events = POLLIN}};
 *             int n = engine_events_poll(ev, fds, 1, 1000, &err);   (calls on_event)
 *             if (n < 0) ... the stream is over: free it, reopen with since_ms
 *                            set to the last event time, then list + inspect
 *             if (fds[0].revents) ...
 *     }
 *     engine_events_free(ev);
 *
 * Engine differences handled here (Docker 20.10 and Podman 4.3, as Debian 12
 * ships them):
 * - Podman 4.3 matches nothing with the filter event=die; its name is "died".
 *   A filter action "die" asks Podman for "died" as well.  Every parsed event
 *   reports Docker's action name ("die").
 * - The exit code is Actor.Attributes.exitCode (Docker, Podman >= 4.4) or
 *   containerExitCode (Podman); it is taken only from die events (Podman
 *   puts containerExitCode "0" on every event).
 * - Podman may send no HTTP headers until the first event: nothing here
 *   waits for headers; the transfer runs inside a curl multi handle.
 * - A subscription is only in force once the engine has registered it, a
 *   moment after the request is sent.  The stream therefore asks for events
 *   since the time of the open call (both engines replay from their history),
 *   so a container started after engine_events_open returns is never missed.
 *   Docker keeps only 256 events and none across a restart: after a restart
 *   list and inspect instead (engine_container_list).
 */
#ifndef ROVER_ENGINE_EVENTS_H
#define ROVER_ENGINE_EVENTS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "engine.h"

/* Longest event line accepted. */
#define ENGINE_EVENTS_MAX_LINE (1024u * 1024u)
/* Most extra descriptors engine_events_poll takes. */
#define ENGINE_EVENTS_MAX_EXTRA_FDS 16
/* since_ms value: only events after the engine registered the request. */
#define ENGINE_EVENTS_SINCE_NONE (-1)

struct engine_event {
	char *type;         /* "container" */
	char *action;       /* Docker's name: "die" (also for Podman's "died"), "start", ... */
	char *id;           /* Actor.ID */
	char *name;         /* container name (Attributes.name), or NULL */
	char *image;        /* Attributes.image, or NULL */
	bool has_exit_code; /* die events only */
	int exit_code;
	int64_t time_ns; /* timeNano, else time * 1e9; 0 when absent, not
			       positive, or too large for int64 nanoseconds */
	/* Actor.Attributes: the container's labels, with name, image, exitCode... */
	struct engine_label *attrs;
	size_t n_attrs;
};

/* Pure: parse one event (one JSON line, at most ENGINE_EVENTS_MAX_LINE bytes,
 * JSON nested at most 32 deep) of either engine.  Not an object, or no
 * Action/status: -EPROTO.  Numbers from the engine are range-checked before
 * any arithmetic (time, exit codes). */
int engine_event_parse(const char *json, size_t len, struct engine_event *ret,
		       struct rv_error **err);
void engine_event_release(struct engine_event *ev);
/* An attribute (label) of the event, or NULL. */
const char *engine_event_attr(const struct engine_event *ev, const char *key);

struct engine_events_filter {
	const char *const *actions;    /* Docker names: "die", "start", "oom", "destroy"...;
					  NULL: every container event */
	const char *const *labels;     /* "key" or "key=value"; all must match */
	const char *const *containers; /* ids or names; any may match */
	int64_t since_ms;              /* 0: since the open call (see top); > 0: replay
					  from this epoch time; ENGINE_EVENTS_SINCE_NONE */
};

/* Pure: the query string ("since=...&filters=...") for the filter on an
 * engine of kind, with now_ms as the time of the call. */
char *engine_events_query(const struct engine_events_filter *f, enum engine_kind kind,
			  int64_t now_ms);

/* Gets each event; the event and its strings live only during the call.
 * Return < 0 (setting *err) to end the stream: engine_events_poll then
 * returns that code. */
typedef int (*engine_event_fn)(void *userdata, const struct engine_event *ev,
			       struct rv_error **err);

struct engine_events;

/* Open a stream of container events (type=container) on a new connection to
 * e's endpoint.  Returns once the request is sent, without waiting for the
 * engine's headers; a refused connection fails here (-ECONNREFUSED), an
 * engine error (HTTP status) may show only at the first poll. */
int engine_events_open(struct engine *e, const struct engine_events_filter *filter,
		       engine_event_fn fn, void *userdata, struct engine_events **ret,
		       struct rv_error **err);

/* Wait up to timeout_ms (< 0: until something happens) for events or for
 * one of the extra descriptors (at most ENGINE_EVENTS_MAX_EXTRA_FDS, their
 * revents filled in), calling fn for each event that arrived.  Returns the
 * number of events delivered, or -errno when the stream is over: the engine
 * closed it (-ECONNRESET, as when the engine restarts), an HTTP error, a bad
 * event (-EPROTO) or fn's code.  When events came and then the end in one
 * call, the count is returned and the end by the next call.  Once over, it
 * stays over (same code). */
int engine_events_poll(struct engine_events *s, struct pollfd *extra, unsigned n_extra,
		       int timeout_ms, struct rv_error **err);

/* For a caller that owns the event loop (supervise.h): the descriptors the
 * stream waits on, written to fds (at most max), and in *ret_timeout_ms how
 * long the caller may wait before calling engine_events_dispatch even when
 * none of them is ready (-1: no limit; 0: at once, as when the stream is
 * over and dispatch must say so).  libcurl names its sockets through
 * curl_multi_fdset, which cannot name a descriptor >= FD_SETSIZE: while no
 * descriptor can be named the limit is ENGINE_EVENTS_BLIND_MS.  Returns the
 * number written. */
#define ENGINE_EVENTS_BLIND_MS 100
unsigned engine_events_pollfds(struct engine_events *s, struct pollfd *fds, unsigned max,
			       int *ret_timeout_ms);

/* Read what arrived, without waiting, calling fn for each event: the
 * counterpart of engine_events_pollfds, called after the caller's poll()
 * (whatever it reported: it is cheap when nothing came).  Returns as
 * engine_events_poll. */
int engine_events_dispatch(struct engine_events *s, struct rv_error **err);

/* NULL-safe; returns NULL. */
struct engine_events *engine_events_free(struct engine_events *s);
static inline void engine_events_freep(struct engine_events **s)
{
	engine_events_free(*s);
}
#define _cleanup_engine_events_ __attribute__((cleanup(engine_events_freep)))

#endif
